import type { ActionOutcome, Decision } from '@sliceguard/core';
import type { DecisionsProvider, DecisionView, IncidentsProvider, IncidentView } from './providers.js';

/**
 * The part of a store repository the adapters read (`@sliceguard/store`'s Repository has it); typed
 * structurally so the api package does not depend on the store.
 */
export interface RecordSource<T> {
  get(id: string): Promise<T | undefined>;
  values(query?: { since?: number; until?: number; partition?: string; reverse?: boolean; limit?: number }): AsyncIterable<T>;
}

/** Serves /v1/incidents from an incidents repository (newest first, status filter applied while reading). */
export function incidentsFromRepository(repo: RecordSource<IncidentView>): IncidentsProvider {
  return {
    async list({ status, since, limit }) {
      const out: IncidentView[] = [];
      for await (const i of repo.values({ since, reverse: true, limit: status === undefined ? limit : undefined })) {
        if (status !== undefined && i.status !== status) continue;
        out.push(i);
        if (out.length >= limit) break;
      }
      return out;
    },
    get: (id) => repo.get(id),
  };
}

/**
 * Serves /v1/decisions from the decisions repository (partitioned by eventId) joined with the
 * outcomes repository (outcome id = action request id).
 */
export function decisionsFromRepositories(decisions: RecordSource<Decision>, outcomes?: RecordSource<ActionOutcome>): DecisionsProvider {
  const withOutcomes = async (d: Decision): Promise<DecisionView> => {
    if (!outcomes) return d;
    const found: ActionOutcome[] = [];
    for (const a of d.actions) {
      const o = await outcomes.get(a.id);
      if (o) found.push(o);
    }
    return { ...d, outcomes: found };
  };
  return {
    async list({ since, limit, eventId }) {
      const out: DecisionView[] = [];
      for await (const d of decisions.values({ since, reverse: true, limit, partition: eventId })) out.push(await withOutcomes(d));
      return out;
    },
    async get(id) {
      const d = await decisions.get(id);
      return d ? withOutcomes(d) : undefined;
    },
  };
}
