import type { Agent, CoordinationNotice } from '@sliceguard/agents';
import type { Clock } from '@sliceguard/core';
import type { Recorder } from './recorder.js';

interface Sent {
  kind: 'escalation' | 'delegation';
  id: string;
  correlationId: string;
  from: string;
  to: string;
  at: number;
  deadline?: number;
  attempts: number;
}

export interface LedgerCounts {
  escalations: { sent: number; received: number };
  delegations: { sent: number; received: number; answered: number };
  /** Copies sent beyond the first (retries after a missing acknowledgement). */
  retries: number;
  lost: string[];
}

/** The part of a coordination notice the ledger counts, as plain JSON (it crosses process boundaries). */
export interface LedgerNotice {
  type: 'escalation_sent' | 'delegation_sent' | 'escalation_received' | 'delegation_received' | 'delegation_answered';
  id: string;
  correlationId?: string;
  from?: string;
  to?: string;
  deadline?: number;
  /** When the notice was given (the agent's clock). */
  at: number;
}

/** The ledger's view of an agent's coordination notice (undefined for the kinds it does not count). */
export function ledgerNotice(n: CoordinationNotice, at: number): LedgerNotice | undefined {
  if (n.type === 'escalation_sent' || n.type === 'delegation_sent') {
    const m = n.message as { id: string; correlationId: string; from: string; to: string; deadline?: number };
    return { type: n.type, id: m.id, correlationId: m.correlationId, from: m.from, to: m.to, ...(m.deadline !== undefined ? { deadline: m.deadline } : {}), at };
  }
  if (n.type === 'escalation_received' || n.type === 'delegation_received') return { type: n.type, id: n.message.id, at };
  if (n.type === 'delegation_answered') return { type: n.type, id: n.message.delegationId, at };
  return undefined;
}

export interface CoordinationLedger {
  /** Also counts this agent's notices (a restarted agent). */
  watch(agent: Agent): void;
  /** Counts one notice given elsewhere (an agent in another process). */
  record(notice: LedgerNotice): void;
  counts(): LedgerCounts;
  /** Writes the counts (and one `lost message: …` note per lost message) to the recorder and detaches. */
  report(recorder: Recorder): LedgerCounts;
}

/**
 * Counts every escalation, delegation and delegation outcome at both ends, per message id and
 * correlation id, from the agents' coordination notices: what a sender sent against what its
 * addressee received (any attempt), and, for delegations, whether the outcome came back. A message
 * sent at least `graceMs` before the end that never arrived is lost — whatever the transport did
 * (a broker crash drops what it held; the coordination layer's retries must make up for it).
 */
export function coordinationLedger(agents: Iterable<Agent>, clock: Clock, graceMs = 30_000): CoordinationLedger {
  const sent = new Map<string, Sent>();
  const received = new Set<string>();
  const answered = new Set<string>();
  let retries = 0;
  const detach: (() => void)[] = [];
  const onSent = (kind: Sent['kind'], m: { id: string; correlationId: string; from: string; to: string; deadline?: number }, at: number) => {
    const key = `${kind}:${m.id}`;
    const prev = sent.get(key);
    if (prev) {
      prev.attempts++;
      retries++;
      return;
    }
    sent.set(key, { kind, id: m.id, correlationId: m.correlationId, from: m.from, to: m.to, at, ...(m.deadline !== undefined ? { deadline: m.deadline } : {}), attempts: 1 });
  };
  const record = (n: LedgerNotice) => {
    const m = { id: n.id, correlationId: n.correlationId ?? n.id, from: n.from ?? '?', to: n.to ?? '?', ...(n.deadline !== undefined ? { deadline: n.deadline } : {}) };
    if (n.type === 'escalation_sent') onSent('escalation', m, n.at);
    else if (n.type === 'delegation_sent') onSent('delegation', m, n.at);
    else if (n.type === 'escalation_received') received.add(`escalation:${n.id}`);
    else if (n.type === 'delegation_received') received.add(`delegation:${n.id}`);
    else if (n.type === 'delegation_answered') answered.add(n.id);
  };
  const watch = (agent: Agent) => {
    detach.push(
      agent.coordinator.on((n: CoordinationNotice) => {
        const l = ledgerNotice(n, clock.now());
        if (l) record(l);
      }),
    );
  };
  for (const agent of agents) watch(agent);
  const counts = (): LedgerCounts => {
    const cutoff = clock.now() - graceMs;
    const c: LedgerCounts = { escalations: { sent: 0, received: 0 }, delegations: { sent: 0, received: 0, answered: 0 }, retries, lost: [] };
    for (const [key, s] of sent) {
      const got = received.has(key);
      if (s.kind === 'escalation') {
        c.escalations.sent++;
        if (got) c.escalations.received++;
      } else {
        c.delegations.sent++;
        if (got) c.delegations.received++;
        if (answered.has(s.id)) c.delegations.answered++;
      }
      if (s.at > cutoff) continue;
      const what = `${s.kind} ${s.id} (correlation ${s.correlationId}) from ${s.from} to ${s.to}, ${s.attempts} attempt(s)`;
      if (!got) c.lost.push(`${what}: never received`);
      else if (s.kind === 'delegation' && !answered.has(s.id) && (s.deadline ?? 0) <= clock.now()) c.lost.push(`${what}: received, its outcome never came back`);
    }
    return c;
  };
  return {
    watch,
    record,
    counts,
    report(recorder) {
      for (const d of detach) d();
      const c = counts();
      recorder.note(
        `coordination ledger: escalations ${c.escalations.sent} sent / ${c.escalations.received} received; delegations ${c.delegations.sent} sent / ${c.delegations.received} received / ${c.delegations.answered} outcomes back; ${c.retries} retried copies; ${c.lost.length} lost`,
      );
      for (const l of c.lost) recorder.note(`lost message: ${l}`);
      return c;
    },
  };
}
