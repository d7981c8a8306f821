import type { Clock, Logger, MetricsRegistry, SecurityEvent } from '@sliceguard/core';
import type { AuditEntry, DelegationRecord, DurableChange, DurableSnapshot, IncidentRecord, LifecycleState, SliceguardStore } from '@sliceguard/store';
import { DurableState } from '@sliceguard/store';
import type { TrustManager } from '@sliceguard/trust';
import type { Agent } from './agent.js';
import type { DelegationMessage } from './coordination/messages.js';

export interface DurabilityOptions {
  agent: Agent;
  store: SliceguardStore;
  clock: Clock;
  logger: Logger;
  /** The domain agent's trust manager: its transitions are audited. */
  trustManager?: TrustManager;
  /** When given, `sliceguard_incidents_open{level}` follows the open incidents. */
  metrics?: MetricsRegistry;
}

export interface Durability {
  readonly durable: DurableState;
  /** What the previous run committed (read once, before the agent starts). */
  readonly recovered: DurableSnapshot;
  /** Resolves when every commit and audit record issued so far is written. */
  flush(): Promise<void>;
  detach(): void;
}

/**
 * Crash-critical state and the audit log of one agent process, over its store:
 * - `DurableState` records incidents (open → escalated → resolved), delegations (outgoing pending →
 *   done / failed / rejected; incoming accepted → done) and the loop state (lifecycle, monitoring
 *   configuration, iteration), each change with its audit record in one atomic batch;
 * - decisions, action outcomes, trust transitions and monitoring changes go to the audit log.
 * The coordination layer's own write-ahead entries (mape Knowledge in-flight records, in the same
 * LevelDB) are what is written before an escalation is published or a delegation accepted; the
 * records here mirror them for recovery, the API and the audit trail.
 */
export async function attachDurability(options: DurabilityOptions): Promise<Durability> {
  const { agent, store, clock, logger } = options;
  const id = agent.id;
  const durable = new DurableState(store, id);
  const recovered = await durable.recover();
  const audit = store.audit;
  const onAuditError = (error: unknown, e: AuditEntry): void => logger.error({ err: error, kind: e.kind }, 'audit append failed');
  const record = (e: AuditEntry): void => audit?.record(e, onAuditError);
  let chain: Promise<void> = Promise.resolve();
  const commit = (change: DurableChange): void => {
    const c = audit ? change : { ...change, audit: [] };
    chain = chain.then(() => durable.commit(c)).catch((error: unknown) => logger.error({ err: error }, 'durable commit failed'));
  };

  const incidents = new Map<string, IncidentRecord>(recovered.openIncidents.map((i) => [i.correlationId ?? i.id, i]));
  const openGauge = options.metrics?.gauge({ name: 'sliceguard_incidents_open', help: 'Incidents currently open', labelNames: ['level'] });
  const updateOpen = (): void => openGauge?.set({ level: agent.level }, incidents.size);
  updateOpen();
  const delegations = new Map<string, DelegationRecord>(recovered.pendingDelegations.map((d) => [d.id, d]));
  let iteration = recovered.loopState?.iteration ?? 0;
  const loopState = (lifecycle: LifecycleState) => {
    const m = agent.loop.monitoring;
    return {
      agentId: id,
      lifecycle,
      config: { granularity: m.granularity, samplingPeriodMs: m.samplingPeriodMs, ...(m.metrics ? { metrics: [...m.metrics] } : {}) },
      iteration,
      updatedAt: clock.now(),
    };
  };
  const incidentOf = (event: SecurityEvent, status: IncidentRecord['status']): IncidentRecord => {
    const key = event.correlationId ?? event.id;
    const prev = incidents.get(key);
    const now = clock.now();
    const next: IncidentRecord = prev
      ? { ...prev, status, updatedAt: now, events: prev.events.some((e) => e.id === event.id) ? prev.events : [...prev.events, event].slice(-20) }
      : {
          id: event.id,
          agentId: id,
          level: agent.level,
          kind: (event as { kind?: string }).kind ?? event.type,
          target: event.target,
          severity: event.severity,
          status,
          openedAt: event.at,
          updatedAt: now,
          ...(event.correlationId ? { correlationId: event.correlationId } : {}),
          events: [event],
          decisionIds: [],
          actionIds: [],
        };
    incidents.set(key, next);
    updateOpen();
    return next;
  };
  const closeIncident = (correlationId: string, success: boolean): void => {
    const inc = incidents.get(correlationId);
    if (!inc) return;
    incidents.delete(correlationId);
    updateOpen();
    const now = clock.now();
    commit({
      incidents: [{ ...inc, status: success ? 'resolved' : 'dismissed', updatedAt: now, resolvedAt: now }],
      audit: [{ kind: 'incident', actor: id, subject: inc.id, data: { status: success ? 'resolved' : 'dismissed', correlationId } }],
    });
  };
  const delegationOf = (m: DelegationMessage, direction: DelegationRecord['direction'], status: DelegationRecord['status']): DelegationRecord => {
    const prev = delegations.get(m.id);
    const r: DelegationRecord = {
      id: m.id,
      direction,
      from: m.from,
      to: m.to,
      action: m.action,
      target: m.target,
      params: m.params,
      deadline: m.deadline,
      status,
      createdAt: prev?.createdAt ?? m.at,
      updatedAt: clock.now(),
      correlationId: m.correlationId,
    };
    if (status === 'pending' || status === 'accepted') delegations.set(m.id, r);
    else delegations.delete(m.id);
    return r;
  };

  const offLoop = agent.loop.on((n) => {
    if (n.type === 'decision') {
      iteration++;
      record({ kind: 'decision', actor: id, subject: n.decision.id, data: n.decision });
    } else if (n.type === 'outcome') record({ kind: 'action', actor: id, subject: n.decision.id, data: n.outcomes });
    else if (n.type === 'transition') {
      commit({ loopState: loopState(n.transition.to), audit: [{ kind: 'lifecycle', actor: n.transition.by, subject: id, data: n.transition }] });
    } else if (n.type === 'reconfigured') {
      commit({ loopState: loopState(agent.loop.state), audit: [{ kind: 'config', actor: id, data: { config: n.config, reason: n.reason } }] });
    } else if (n.type === 'event' && n.event.type === 'incident' && n.event.source === id) {
      const inc = incidentOf(n.event, 'open');
      commit({ incidents: [inc], audit: [{ kind: 'incident', actor: id, subject: inc.id, data: { status: 'open', kind: inc.kind, target: inc.target } }] });
    }
  });
  const offCoordination = agent.coordinator.on((n) => {
    if (n.type === 'escalation_sent') {
      const inc = incidentOf({ ...n.message.event, correlationId: n.message.event.correlationId ?? n.message.correlationId }, 'escalated');
      commit({ incidents: [inc], audit: [{ kind: 'incident', actor: id, subject: inc.id, data: { status: 'escalated', to: n.message.to, escalation: n.message.id } }] });
    } else if (n.type === 'resolution_received') {
      closeIncident(n.message.correlationId, n.message.success ?? false);
    } else if (n.type === 'delegation_sent') {
      const d = delegationOf(n.message, 'outgoing', 'pending');
      commit({ delegations: [d], audit: [{ kind: 'delegation', actor: id, subject: d.id, data: { status: 'pending', to: d.to, action: d.action, deadline: d.deadline } }] });
    } else if (n.type === 'delegation_received' && n.accepted) {
      const d = delegationOf(n.message, 'incoming', 'accepted');
      commit({ delegations: [d], audit: [{ kind: 'delegation', actor: id, subject: d.id, data: { status: 'accepted', from: d.from, action: d.action } }] });
    } else if (n.type === 'delegation_settled') {
      const d = delegationOf(n.message, 'outgoing', n.status);
      commit({ delegations: [d], audit: [{ kind: 'outcome', actor: id, subject: d.id, data: { status: n.status, success: n.success, detail: n.detail ?? null } }] });
      if (n.status === 'done' && n.success) closeIncident(n.message.correlationId, true);
    } else if (n.type === 'incident_outcome') {
      record({ kind: 'outcome', actor: n.message.from, subject: n.message.correlationId, data: { success: n.message.success } });
    } else if (n.type === 'control') {
      record({ kind: 'lifecycle', actor: n.message.from, subject: id, data: { command: n.message.command, reason: n.message.reason, ok: n.ack.ok, state: n.ack.state } });
    }
  });
  const offTrust = options.trustManager?.onTransition((t) => record({ kind: 'trust', actor: id, subject: t.subject, data: { from: t.from, to: t.to, score: t.score, added: t.added, lifted: t.lifted, reason: t.reason } })) ?? (() => {});

  // Monitoring configuration as last committed (the lifecycle itself is driven by the orchestrator).
  const cfg = recovered.loopState?.config as { granularity?: 'aggregate' | 'per_flow'; samplingPeriodMs?: number; metrics?: string[] } | undefined;
  if (cfg && (cfg.granularity || cfg.samplingPeriodMs)) {
    try {
      await agent.loop.reconfigure({ ...(cfg.granularity ? { granularity: cfg.granularity } : {}), ...(cfg.samplingPeriodMs ? { samplingPeriodMs: cfg.samplingPeriodMs } : {}), ...(cfg.metrics ? { metrics: cfg.metrics } : {}) }, 'restored after restart', id);
    } catch (error) {
      logger.warn({ err: error }, 'could not restore the monitoring configuration');
    }
  }
  if (recovered.loopState || recovered.openIncidents.length > 0 || recovered.pendingDelegations.length > 0) {
    logger.info({ lifecycle: recovered.loopState?.lifecycle, incidents: recovered.openIncidents.length, delegations: recovered.pendingDelegations.length }, 'recovered durable state');
    record({ kind: 'lifecycle', actor: id, subject: id, data: { recovered: { lifecycle: recovered.loopState?.lifecycle ?? null, incidents: recovered.openIncidents.map((i) => i.id), delegations: recovered.pendingDelegations.map((d) => d.id) } } });
  }
  return {
    durable,
    recovered,
    async flush() {
      await chain;
      await audit?.flush();
    },
    detach() {
      offLoop();
      offCoordination();
      offTrust();
    },
  };
}
