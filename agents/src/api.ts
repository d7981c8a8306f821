import type { ActionOutcome, Decision } from '@sliceguard/core';
import type { AgentProviders, DecisionView, IncidentView, LoopStatus, TrustScoreView } from '@sliceguard/api';
import type { TrustManager } from '@sliceguard/trust';
import type { Agent } from './agent.js';
import { monitoringPatch } from './coordination/coordinator.js';
import { AgentConfigError } from './errors.js';

/** The HTTP API's view of an agent: status, readiness, incidents, decisions, loop control, trust. */
export function agentProviders(
  agent: Agent,
  options: { startedAt: number; trustManager?: TrustManager; busConnected?: () => boolean; /** NF agents with a trainable detector: its state (model version, buffer, threshold). */ learning?: () => object },
): AgentProviders {
  const loopStatus = (): LoopStatus => {
    const s = agent.loop.stats();
    return {
      agentId: agent.id,
      level: agent.level,
      lifecycle: s.state,
      iteration: s.ticks,
      stageTimings: Object.fromEntries(
        Object.entries(s.stages).map(([k, v]) => [k, { count: v.count, lastMs: v.lastMs, meanMs: v.count > 0 ? v.totalMs / v.count : 0, maxMs: v.maxMs }]),
      ),
      config: {
        ...s.monitoring,
        queued: s.queued,
        telemetryDropped: s.telemetryDropped,
        eventsRefused: s.eventsRefused,
        coordination: agent.coordinator.stats(),
        ...(options.learning ? { learning: options.learning() } : {}),
      },
    };
  };
  const checkLoop = (loopId: string): void => {
    if (loopId !== agent.id) throw new AgentConfigError(`this agent runs loop ${agent.id}, not ${loopId}`, { loopId });
  };
  const outcomesOf = async (decision: Decision): Promise<ActionOutcome[]> => {
    const recs = await agent.knowledge.query<{ decisionId?: string; outcomes?: ActionOutcome[] }>('outcome', { since: decision.at });
    return recs.filter((r) => r.value.decisionId === decision.id).flatMap((r) => r.value.outcomes ?? []);
  };
  const trustView = (m: TrustManager, id: string): TrustScoreView => ({
    agentId: id,
    score: m.score(id),
    weight: m.weight(id),
    quarantined: m.isQuarantined(id),
    status: m.status(id),
  });
  const providers: AgentProviders = {
    status: {
      status: () => ({ agentId: agent.id, role: 'agent', startedAt: options.startedAt, loops: [loopStatus()], domain: agent.spec.domain }),
    },
    readiness: {
      async readiness() {
        const bus = options.busConnected?.() ?? true;
        const active = agent.loop.state === 'active';
        return { ready: bus && active, checks: { bus: { ok: bus }, loop: { ok: active, detail: agent.loop.state } } };
      },
    },
    incidents: {
      async list(q) {
        const recs = await agent.knowledge.query<IncidentView & { at: number }>('incident', { reverse: true, limit: q.limit, ...(q.since !== undefined ? { since: q.since } : {}) });
        return recs.map((r) => r.value);
      },
      async get(id) {
        return (await agent.knowledge.query<IncidentView>('incident')).find((r) => r.value.id === id)?.value;
      },
    },
    decisions: {
      async list(q) {
        const recs = await agent.knowledge.query<Decision>('decision', { reverse: true, limit: q.limit, ...(q.since !== undefined ? { since: q.since } : {}) });
        return recs.map((r) => r.value).filter((d) => q.eventId === undefined || d.eventId === q.eventId);
      },
      async get(id) {
        const d = (await agent.knowledge.query<Decision>('decision')).find((r) => r.value.id === id)?.value;
        return d ? ({ ...d, outcomes: await outcomesOf(d) } satisfies DecisionView) : undefined;
      },
    },
    loops: {
      async activate(loopId, by) {
        checkLoop(loopId);
        await agent.loop.activate('operator request', by.id);
        return loopStatus();
      },
      async deactivate(loopId, reason, by) {
        checkLoop(loopId);
        await agent.loop.deactivate(reason ?? 'operator request', by.id);
        return loopStatus();
      },
      async reconfigure(loopId, change, by) {
        checkLoop(loopId);
        await agent.loop.reconfigure(
          monitoringPatch({
            ...(change.samplingMs !== undefined ? { samplingPeriodMs: change.samplingMs } : {}),
            ...(change.granularity !== undefined ? { granularity: change.granularity } : {}),
            ...(change.metrics !== undefined ? { metrics: change.metrics } : {}),
          }),
          'operator request',
          by.id,
        );
        return loopStatus();
      },
    },
  } as AgentProviders;
  if (options.trustManager) {
    const m = options.trustManager;
    providers.trust = {
      async scores() {
        return m.list().map((s) => trustView(m, (s as { agentId: string }).agentId));
      },
      async score(id) {
        return m.list().some((s) => (s as { agentId: string }).agentId === id) ? trustView(m, id) : undefined;
      },
    };
  }
  return providers;
}

