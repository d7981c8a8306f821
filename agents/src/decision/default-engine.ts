import type {
  ActionRequest,
  ActionType,
  AgentLevel,
  Clock,
  Decision,
  DecisionContext,
  DecisionEngine,
  DelegationEvent,
  IdGenerator,
  IncidentEvent,
  SecurityEvent,
} from '@sliceguard/core';
import { ACTION_TYPES, idGenerator, seededRng } from '@sliceguard/core';
import { reportKind } from '../analytics/correlator.js';
import type { AgentFacts } from './facts.js';

export interface DefaultDecisionEngineOptions {
  /** Default: a generator seeded with the level (ids are unique per engine, not across engines). */
  ids?: IdGenerator;
  /** Only used for defaults; decisions take their time from the DecisionContext. Default: system clock. */
  clock?: Clock;
  /** A rule does not fire again for the same correlation id within this time (default 60 s). */
  cooldownMs?: number;
  /** Rate limit applied to heavy-hitter sources (requests/s, default 20). */
  rateLimitRps?: number;
  /** How long blocks and rate limits last (default 10 min). */
  mitigationTtlMs?: number;
  /** Deadline given to delegations (default 30 s). */
  delegationDeadlineMs?: number;
}

/** What an incident kind becomes when a sub-slice escalates it (the slice's vocabulary). */
export const ESCALATED_KIND: Readonly<Record<string, string>> = {
  signaling_surge: 'signaling_ddos',
  volumetric: 'volumetric_ddos',
  connection_exhaustion: 'slow_dos',
};

const LOCAL_ACTIONS = new Set<ActionType>(ACTION_TYPES.filter((a) => a !== 'escalate' && a !== 'delegate'));
/** Actions the MANO carries out on an NF (never on a sub-slice or slice id). */
const NF_ACTIONS = new Set<ActionType>(['scale_out', 'scale_in', 'deploy_vsf', 'remove_vsf', 'isolate']);

type Rule = (event: SecurityEvent, ctx: DecisionContext, facts: AgentFacts | undefined) => { rule: string; reason: string; actions: Omit<ActionRequest, 'id' | 'requestedBy' | 'at'>[] } | undefined;

/**
 * Built-in ECA rules used when no policy file applies; they mirror the example policies
 * (topology/examples/policies): NF loops refine monitoring, rate-limit / block heavy hitters and
 * escalate; sub-slice loops escalate correlated incidents (≥ 2 children or severity ≥ 0.7); slice
 * loops delegate — a signaling DDoS to the CN sub-slice (scale out AMF and SMF), floods to the
 * reporting sub-slice (deploy a vFirewall) — and report to the domain; every loop carries out
 * delegations it receives.
 */
export function defaultDecisionEngine(level: AgentLevel, given: DefaultDecisionEngineOptions = {}): DecisionEngine & { readonly level: AgentLevel } {
  const options = { ...given, ids: given.ids ?? idGenerator(seededRng(`builtin:${level}`), level) };
  const cooldownMs = options.cooldownMs ?? 60_000;
  const rps = options.rateLimitRps ?? 20;
  const ttl = options.mitigationTtlMs ?? 10 * 60_000;
  const deadlineMs = options.delegationDeadlineMs ?? 30_000;
  const lastFired = new Map<string, number>();

  const sources = (event: SecurityEvent): string[] =>
    ((event as { evidence?: { indicators?: { kind: string; value: string }[] } }).evidence?.indicators ?? [])
      .filter((i) => i.kind === 'source')
      .map((i) => i.value);

  const delegationRule: Rule = (event, ctx, facts) => {
    if (event.type !== 'delegation') return undefined;
    const d = event as DelegationEvent;
    const action = d.action as ActionType;
    if (!LOCAL_ACTIONS.has(action)) return undefined;
    const nfTypes = Array.isArray(d.params.nfTypes) ? (d.params.nfTypes as string[]) : undefined;
    if (nfTypes && facts) {
      const targets = facts.topology.nfs.filter((nf) => nfTypes.includes(nf.type));
      if (targets.length === 0) return undefined;
      const { nfTypes: _omit, deadlineMs: _d, action: _a, ...rest } = d.params;
      // Hold the MANO's own autoscaler off what the security loop just scaled (10 min unless told).
      const params = (action === 'scale_out' || action === 'scale_in') && rest.holdMs === undefined ? { ...rest, holdMs: 600_000 } : rest;
      return {
        rule: 'builtin-delegated-action',
        reason: `delegated by ${d.from}: ${action} on ${targets.map((t) => t.id).join(', ')}`,
        actions: targets.map((t) => ({ type: action, target: t.id, params: { ...params } })),
      };
    }
    const { deadlineMs: _d, action: _a, ...params } = d.params;
    // The MANO manages NFs, not sub-slices or slices: an NF action delegated to a higher loop
    // without nfTypes applies to every NF under it (like scale actions fan out by nfTypes).
    const nfs = facts?.topology.nfs ?? [];
    if (NF_ACTIONS.has(action) && ctx.level !== 'nf' && nfs.length > 0 && !nfs.some((nf) => nf.id === d.target)) {
      return {
        rule: 'builtin-delegated-action',
        reason: `delegated by ${d.from}: ${action} on ${nfs.map((t) => t.id).join(', ')} (the NFs of ${d.target})`,
        actions: nfs.map((t) => ({ type: action, target: t.id, params: { ...params } })),
      };
    }
    return { rule: 'builtin-delegated-action', reason: `delegated by ${d.from}: ${action} on ${d.target}`, actions: [{ type: action, target: d.target, params }] };
  };

  const nfRules: Rule[] = [
    (event, ctx, facts) => {
      if (event.type !== 'anomaly' || event.source !== ctx.agentId) return undefined;
      const kind = reportKind(event);
      const src = sources(event);
      const mode = facts?.knowledge.monitoring.mode ?? 'aggregate';
      const escalate = { type: 'escalate' as const, target: ctx.agentId, params: { kind, reason: `${kind} anomaly at ${event.target}` } };
      if (src.length > 0) {
        const severe = event.severity >= 0.8;
        return {
          rule: severe ? 'builtin-nf-block-sources' : 'builtin-nf-rate-limit-sources',
          reason: `${src.length} heavy-hitter source(s) behind a ${kind} anomaly`,
          actions: [
            ...src.map((s) => ({
              type: severe ? ('block' as const) : ('rate_limit' as const),
              target: event.target,
              params: severe ? { source: s } : { source: s, rps },
              expiresAt: ctx.now + ttl,
            })),
            escalate,
          ],
        };
      }
      const trafficKind = kind === 'volumetric' || kind === 'connection_exhaustion';
      if (mode === 'per_flow' && trafficKind) {
        // Finer statistics name no offending source: a fortuitous event (flash crowd), not an attack.
        return {
          rule: 'builtin-nf-dismiss-fortuitous',
          reason: `per-flow statistics show no heavy hitter behind the ${kind} anomaly: fortuitous event`,
          actions: [
            { type: 'notify', target: event.target, params: { classification: 'fortuitous', kind } },
            { type: 'reconfigure_monitoring', target: ctx.agentId, params: { mode: 'aggregate' } },
          ],
        };
      }
      if (mode === 'aggregate' && trafficKind) {
        return {
          rule: 'builtin-nf-refine-monitoring',
          reason: `coarse ${kind} anomaly without sources: switch to per-flow statistics`,
          actions: [{ type: 'reconfigure_monitoring', target: ctx.agentId, params: { mode: 'per_flow' } }, escalate],
        };
      }
      return { rule: 'builtin-nf-escalate', reason: `${kind} anomaly the NF cannot judge alone`, actions: [escalate] };
    },
    delegationRule,
  ];

  const subsliceRules: Rule[] = [
    (event, ctx) => {
      if (event.type !== 'incident' || event.source !== ctx.agentId) return undefined;
      const inc = event as IncidentEvent;
      if (inc.children.length < 2 && inc.severity < 0.7) return undefined;
      const kind = ESCALATED_KIND[inc.kind] ?? inc.kind;
      return {
        rule: 'builtin-subslice-escalate',
        reason: `${inc.children.length} child report(s) correlated into ${kind}`,
        actions: [{ type: 'escalate', target: ctx.agentId, params: { kind, reason: `${inc.children.length} NFs correlated (${inc.kind})` } }],
      };
    },
    delegationRule,
  ];

  const sliceRules: Rule[] = [
    (event, ctx, facts) => {
      if (event.type !== 'incident' || event.source !== ctx.agentId) return undefined;
      const inc = event as IncidentEvent & { reporters?: string[] };
      const children = facts?.topology.children ?? [];
      const actions: Omit<ActionRequest, 'id' | 'requestedBy' | 'at'>[] = [];
      if (/signaling/.test(inc.kind)) {
        for (const cn of children.filter((c) => c.kind === 'cn')) {
          actions.push({
            type: 'delegate',
            target: cn.agentId,
            params: { action: 'scale_out', nfTypes: ['amf', 'smf'], count: 1, deadlineMs },
          });
        }
      } else if (/volumetric|flood|slow_dos|connection/.test(inc.kind)) {
        for (const reporter of inc.reporters ?? []) {
          actions.push({ type: 'delegate', target: reporter, params: { action: 'deploy_vsf', vsf: 'vfirewall', deadlineMs } });
        }
      }
      if (ctx.level === 'slice' && facts?.agent.parentId) {
        actions.push({ type: 'escalate', target: ctx.agentId, params: { kind: inc.kind, reason: `slice incident ${inc.kind}` } });
      }
      if (actions.length === 0) return undefined;
      return { rule: 'builtin-slice-delegate', reason: `slice incident ${inc.kind} from ${(inc.reporters ?? []).join(', ')}`, actions };
    },
    delegationRule,
  ];

  const domainRules: Rule[] = [
    (event, ctx) => {
      if (event.type !== 'incident' && event.type !== 'ssla_violation' && !(event.type === 'management' && /failed/.test(event.kind))) return undefined;
      if (event.type === 'incident' && event.source !== ctx.agentId) return undefined;
      return {
        rule: 'builtin-domain-notify',
        reason: `${event.type} recorded by the domain`,
        actions: [{ type: 'notify', target: event.target, params: { event: event.type, kind: (event as { kind?: string }).kind ?? event.type, severity: event.severity } }],
      };
    },
  ];

  const failureRule: Rule = (event) => {
    if (event.type !== 'management' || !/failed/.test(event.kind) || level === 'domain') return undefined;
    return {
      rule: 'builtin-coordination-failure',
      reason: `coordination failure: ${event.kind}`,
      actions: [{ type: 'notify', target: event.target, params: { kind: event.kind, details: event.details } }],
    };
  };

  const table: Record<AgentLevel, Rule[]> = {
    nf: [...nfRules, failureRule],
    subslice: [...subsliceRules, failureRule],
    slice: [...sliceRules, failureRule],
    domain: domainRules,
  };

  return {
    level,
    async decide(event, ctx) {
      const facts = ctx.facts as AgentFacts | undefined;
      const out: Decision[] = [];
      for (const rule of table[level]) {
        const fired = rule(event, ctx, facts);
        if (!fired) continue;
        const key = `${fired.rule}|${event.correlationId ?? event.id}`;
        const last = lastFired.get(key);
        const decision: Decision = {
          id: options.ids.next('dec'),
          eventId: event.id,
          policyId: fired.rule,
          reason: fired.reason,
          at: ctx.now,
          actions: fired.actions.map((a) => ({ ...a, id: options.ids.next('act'), requestedBy: ctx.agentId, policyId: fired.rule, at: ctx.now })),
        };
        // Delegations are always carried out; other rules cool down per incident.
        if (event.type !== 'delegation' && last !== undefined && ctx.now - last < cooldownMs) {
          decision.blocked = { by: 'cooldown', reason: `${fired.rule} fired for ${event.correlationId ?? event.id} ${ctx.now - last} ms ago (cooldown ${cooldownMs} ms)` };
        } else {
          lastFired.set(key, ctx.now);
          if (lastFired.size > 10_000) lastFired.delete(lastFired.keys().next().value as string);
        }
        out.push(decision);
      }
      return out;
    },
  };
}
