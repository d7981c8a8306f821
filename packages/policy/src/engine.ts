import {
  type ActionOutcome,
  type ActionRequest,
  type AgentLevel,
  type Clock,
  type Counter,
  type Decision,
  type DecisionContext,
  type DecisionEngine,
  type Histogram,
  type Logger,
  type MetricsRegistry,
  type SecurityEvent,
  silentLogger,
} from '@sliceguard/core';
import { normalize } from './cel.js';
import { actionsContradict } from './conflicts.js';
import type { CoordinationVerdict, LoopCoordinator } from './coordinator.js';
import { PolicyOptionsError } from './errors.js';
import type { LoopScope, ParamTemplate, Policy, PolicySet, PolicyTrigger } from './model.js';
import type { PolicyStore } from './store.js';

export interface PolicyEngineOptions {
  /** A fixed set, a live store (changes apply to the next event), or a getter. */
  policies: PolicySet | PolicyStore | (() => PolicySet);
  clock: Clock;
  /** Where the loop sits; `level` and `agentId` default to the DecisionContext's. */
  scope?: LoopScope;
  /** Shared by the engines of one domain for run-time coordination between loops. */
  coordinator?: LoopCoordinator;
  logger?: Logger;
  metrics?: MetricsRegistry;
  /** Condition / template errors kept for inspection. Default 100. */
  maxErrors?: number;
}

export interface PolicyEvaluationFailure {
  policyId: string;
  eventId: string;
  message: string;
  at: number;
}

export interface PolicyEngineStats {
  events: number;
  evaluations: number;
  decisions: number;
  blocked: number;
  errors: number;
}

export interface PolicyEngine extends DecisionEngine {
  recordOutcome(outcome: ActionOutcome): void;
  stats(): PolicyEngineStats;
  errors(): readonly PolicyEvaluationFailure[];
  /** Version of the policy set the last decision used. */
  readonly version: number;
}

interface Metrics {
  decisions: Counter;
  errors: Counter;
  latency: Histogram;
}

const KNOWN_INDICATORS = ['source', 'path', 'signaling', 'metric'];
const SCALE = new Set(['scale_out', 'scale_in']);
/** Action types `actionsContradict` can pair. */
const CONTRADICTABLE = new Set(['scale_out', 'scale_in', 'block', 'allow', 'rate_limit', 'deploy_vsf', 'remove_vsf']);

function isStore(x: PolicyEngineOptions['policies']): x is PolicyStore {
  return typeof (x as PolicyStore).current === 'function';
}

/**
 * The Decision Engine of a loop: ECA policies over the events the loop sees. Policies are tried in
 * priority order (then id); a matching policy yields a decision whose actions are checked by the
 * guards (cooldown, frequency, bounds), by higher-priority decisions on the same event, and by the
 * domain's loop coordinator. Whatever a guard stops comes back as a decision with `blocked` set.
 */
export function createPolicyEngine(options: PolicyEngineOptions): PolicyEngine {
  if (!options?.clock) throw new PolicyOptionsError('createPolicyEngine needs a clock');
  if (!options.policies) throw new PolicyOptionsError('createPolicyEngine needs policies (a PolicySet, PolicyStore or getter)');
  const source = options.policies;
  const getSet: () => PolicySet = typeof source === 'function' ? source : isStore(source) ? () => source.current() : () => source;
  const logger = (options.logger ?? silentLogger()).child({ module: 'policy-engine' });
  const maxErrors = options.maxErrors ?? 100;
  const metrics: Metrics | undefined = options.metrics && {
    decisions: options.metrics.counter({
      name: 'sliceguard_policy_decisions_total',
      help: 'Decisions made by the policy engine, by outcome',
      labelNames: ['status'],
    }),
    errors: options.metrics.counter({
      name: 'sliceguard_policy_evaluation_errors_total',
      help: 'Policy conditions or templates that failed to evaluate',
    }),
    latency: options.metrics.histogram({
      name: 'sliceguard_policy_decide_seconds',
      help: 'Time to evaluate policies for one event',
      buckets: [0.00001, 0.0001, 0.001, 0.01, 0.1],
    }),
  };

  const stats: PolicyEngineStats = { events: 0, evaluations: 0, decisions: 0, blocked: 0, errors: 0 };
  const failures: PolicyEvaluationFailure[] = [];
  const firings = new Map<string, number[]>();
  const resources = new Map<string, Record<string, number>>();
  let cacheKey = '';
  let cache = new Map<string, CandidateIndex>();
  let version = 0;

  /** Policies of this loop by event type, in priority order; those selecting `on.target` indexed by target. */
  const candidates = (set: PolicySet, scope: LoopScope): Map<string, CandidateIndex> => {
    const key = `${set.version}|${scope.level}|${scope.agentId}`;
    if (key === cacheKey && set.version === version) return cache;
    const byType = new Map<string, CandidateIndex>();
    const ordered = set.policies.filter((p) => p.enabled && policyAppliesTo(p, scope));
    ordered.sort(byPriority);
    for (const p of ordered) {
      let index = byType.get(p.on.event);
      if (!index) {
        index = { any: [], byTarget: new Map() };
        byType.set(p.on.event, index);
      }
      if (!p.on.target) index.any.push(p);
      else
        for (const t of p.on.target) {
          const list = index.byTarget.get(t);
          if (list) list.push(p);
          else index.byTarget.set(t, [p]);
        }
    }
    if (!options.coordinator) {
      const holding = ordered.filter((p) => p.guards.blocks).map((p) => p.id);
      if (holding.length) logger.warn({ policies: holding }, 'policies with a `blocks` guard need a loop coordinator (createLoopCoordinator) to hold other loops off');
    }
    cacheKey = key;
    cache = byType;
    version = set.version;
    return byType;
  };

  const fail = (policyId: string, eventId: string, err: unknown, at: number): string => {
    const message = (err as Error)?.message?.split('\n')[0] ?? String(err);
    stats.errors++;
    metrics?.errors.inc();
    failures.push({ policyId, eventId, message, at });
    if (failures.length > maxErrors) failures.shift();
    logger.warn({ policyId, eventId, err: message }, 'policy evaluation failed');
    return message;
  };

  const engine: PolicyEngine = {
    get version() {
      return version;
    },
    async decide(event: SecurityEvent, context: DecisionContext): Promise<Decision[]> {
      const started = performance.now();
      stats.events++;
      const now = context.now ?? options.clock.now();
      const scope: LoopScope = {
        ...options.scope,
        level: context.level ?? options.scope?.level,
        agentId: context.agentId ?? options.scope?.agentId,
      };
      const set = getSet();
      const index = candidates(set, scope).get(event.type);
      if (!index) return [];
      const targeted = index.byTarget.get(event.target);
      const list = targeted ? mergeByPriority(index.any, targeted) : index.any;
      if (list.length === 0) return [];
      let activation: Record<string, unknown> | undefined;
      const matched: Policy[] = [];
      const failed: Decision[] = [];
      for (const p of list) {
        if (!triggerMatches(p.on, event)) continue;
        activation ??= buildActivation(event, context, scope, now);
        if (p.when) {
          stats.evaluations++;
          p.runtime.slot.contributions = activation.__contributions as Record<string, number>;
          p.runtime.slot.trust = context.trust;
          try {
            const result = p.when.evaluate(activation);
            if (typeof result !== 'boolean') throw new Error(`condition gave ${result === null ? 'null' : typeof result}, not a boolean`);
            if (!result) continue;
          } catch (err) {
            const message = fail(p.id, event.id, err, now);
            failed.push(errorDecision(event, p, message, now));
            continue;
          }
        }
        matched.push(p);
      }
      const decisions: Decision[] = [...failed];
      // actions already decided for this event, by target (only types that can contradict)
      const taken = new Map<string, Array<{ policy: Policy; action: ActionRequest }>>();
      for (const p of matched) {
        const decisionId = `${event.id}/${p.id}`;
        let actions: ActionRequest[];
        // templates may call contribution() / trust() too: point the policy's CEL slot at this event
        p.runtime.slot.contributions = activation!.__contributions as Record<string, number>;
        p.runtime.slot.trust = context.trust;
        try {
          actions = buildActions(p, event, activation!, decisionId, scope.agentId ?? context.agentId, now);
        } catch (err) {
          decisions.push(errorDecision(event, p, fail(p.id, event.id, err, now), now));
          continue;
        }
        const reason = `policy ${p.id} (priority ${p.priority}) matched ${event.type} ${event.id}`;
        const g = p.guards;
        let times: number[] | undefined;
        let blockedWhole: Decision['blocked'];
        if (g.cooldownMs !== undefined || g.frequency) {
          const key = g.per === 'policy' ? p.id : `${p.id}|${event.target}`;
          const horizon = Math.max(g.cooldownMs ?? 0, g.frequency?.windowMs ?? 0);
          times = (firings.get(key) ?? []).filter((t) => now - t < horizon);
          firings.set(key, times);
          const last = times[times.length - 1];
          if (g.cooldownMs !== undefined && last !== undefined && now - last < g.cooldownMs) {
            blockedWhole = { by: 'guard:cooldown', reason: `policy ${p.id} fired at ${last}; cooldown ${g.cooldownMs} ms not over` };
          } else if (g.frequency) {
            const inWindow = times.filter((t) => now - t < g.frequency!.windowMs).length;
            if (inWindow >= g.frequency.count) {
              blockedWhole = {
                by: 'guard:frequency',
                reason: `policy ${p.id} fired ${inWindow} times in the last ${g.frequency.windowMs} ms (limit ${g.frequency.count})`,
              };
            }
          }
        }
        if (blockedWhole) {
          decisions.push({ id: decisionId, eventId: event.id, policyId: p.id, actions, reason, blocked: blockedWhole, at: now });
          continue;
        }
        const allowed: ActionRequest[] = [];
        let blockedBy: Map<string, { reason: string; actions: ActionRequest[] }> | undefined;
        for (const action of actions) {
          let by: string | undefined;
          let why = '';
          if (SCALE.has(action.type) && g.bounds) {
            const verdict = applyBounds(p, action, context, resources);
            if (verdict) {
              by = 'guard:bounds';
              why = verdict;
            }
          }
          const contradictable = CONTRADICTABLE.has(action.type);
          if (!by && contradictable) {
            const winner = taken.get(action.target)?.find((t) => t.policy.id !== p.id && actionsContradict(t.action, action));
            if (winner) {
              by = `policy:${winner.policy.id}`;
              why = `contradicts ${winner.action.type} on ${action.target} by higher-priority policy ${winner.policy.id}`;
            }
          }
          if (!by && options.coordinator && scope.level) {
            const pending = options.coordinator.arbitrate({
              agentId: scope.agentId ?? context.agentId,
              level: scope.level as AgentLevel,
              policyId: p.id,
              priority: p.priority,
              decisionId,
              action,
              blocks: g.blocks,
            });
            const verdict: CoordinationVerdict = isThenable(pending) ? await pending : pending;
            if (!verdict.allowed) {
              by = `loop:${verdict.by}`;
              why = verdict.reason ?? 'refused by the loop coordinator';
            }
          }
          if (by) {
            blockedBy ??= new Map();
            const entry = blockedBy.get(by) ?? { reason: why, actions: [] };
            entry.actions.push(action);
            blockedBy.set(by, entry);
            continue;
          }
          if (SCALE.has(action.type) && g.bounds) reserve(g.bounds.resource, action, resources);
          allowed.push(action);
          if (contradictable) {
            const list = taken.get(action.target);
            if (list) list.push({ policy: p, action });
            else taken.set(action.target, [{ policy: p, action }]);
          }
        }
        if (allowed.length > 0) {
          times?.push(now);
          decisions.push({ id: decisionId, eventId: event.id, policyId: p.id, actions: allowed, reason, at: now });
        }
        for (const [by, entry] of blockedBy ?? []) {
          decisions.push({
            id: `${decisionId}#blocked:${by}`,
            eventId: event.id,
            policyId: p.id,
            actions: entry.actions,
            reason,
            blocked: { by, reason: entry.reason },
            at: now,
          });
        }
      }
      for (const d of decisions) {
        stats.decisions++;
        if (d.blocked) stats.blocked++;
        metrics?.decisions.inc({ status: d.blocked ? 'blocked' : 'enforced' });
      }
      metrics?.latency.observe(undefined, (performance.now() - started) / 1000);
      return decisions;
    },
    recordOutcome(outcome: ActionOutcome) {
      if (outcome.status !== 'succeeded' || !outcome.result) return;
      const state = resources.get(outcome.target) ?? {};
      for (const [k, v] of Object.entries(outcome.result)) if (typeof v === 'number') state[k] = v;
      resources.set(outcome.target, state);
    },
    stats: () => ({ ...stats }),
    errors: () => [...failures],
  };
  return engine;
}

function isThenable<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof (x as Promise<T>)?.then === 'function';
}

interface CandidateIndex {
  any: Policy[];
  byTarget: Map<string, Policy[]>;
}

function byPriority(a: Policy, b: Policy): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : 1);
}

/** Merges two lists already in priority order. */
function mergeByPriority(a: Policy[], b: Policy[]): Policy[] {
  if (a.length === 0) return b;
  const out: Policy[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(byPriority(a[i], b[j]) <= 0 ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

function errorDecision(event: SecurityEvent, p: Policy, message: string, at: number): Decision {
  return {
    id: `${event.id}/${p.id}`,
    eventId: event.id,
    policyId: p.id,
    actions: [],
    reason: `policy ${p.id} could not be evaluated`,
    blocked: { by: 'policy-error', reason: message },
    at,
  };
}

/** True when the policy's scope selects this loop (every scope key it sets matches). */
export function policyAppliesTo(p: Policy, loop: LoopScope): boolean {
  const s = p.scope;
  const has = (list: readonly string[] | undefined, v: string | undefined): boolean => !list || (v !== undefined && list.includes(v));
  return (
    has(s.level, loop.level) &&
    has(s.domain, loop.domain) &&
    has(s.slice, loop.slice) &&
    has(s.subslice, loop.subslice) &&
    has(s.subsliceKind, loop.subsliceKind) &&
    has(s.nfType, loop.nfType) &&
    has(s.agent, loop.agentId)
  );
}

/** Checks the `on` selectors against an event (cheap, before any CEL). */
export function triggerMatches(t: PolicyTrigger, event: SecurityEvent): boolean {
  if (t.event !== event.type) return false;
  if (t.minSeverity !== undefined && !(event.severity >= t.minSeverity)) return false;
  if (t.maxSeverity !== undefined && !(event.severity <= t.maxSeverity)) return false;
  if (t.target && !t.target.includes(event.target)) return false;
  if (t.source && !t.source.includes(event.source)) return false;
  const e = event as unknown as Record<string, unknown>;
  if (t.level && !t.level.includes(String(e.level))) return false;
  if (t.kind && !t.kind.includes(String(e.kind))) return false;
  if (t.name && !t.name.includes(String(e.name))) return false;
  if (t.action && !t.action.includes(String(e.action))) return false;
  if (t.to && !t.to.includes(String(e.to))) return false;
  if (t.from && !t.from.includes(String(e.from))) return false;
  if (t.subject && !t.subject.includes(String(e.subject))) return false;
  if (t.metric) {
    if (event.type === 'anomaly' || event.type === 'incident') {
      if (!event.evidence?.contributors?.some((c) => t.metric!.includes(c.metric))) return false;
    } else if (!t.metric.includes(String(e.metric))) return false;
  }
  if (t.indicator) {
    const inds = (event.type === 'anomaly' || event.type === 'incident' ? event.evidence?.indicators : undefined) ?? [];
    if (!inds.some((i) => t.indicator!.includes(i.kind))) return false;
  }
  return true;
}

function buildActivation(event: SecurityEvent, context: DecisionContext, scope: LoopScope, now: number): Record<string, unknown> {
  const indicators: Record<string, string[]> = {};
  for (const k of KNOWN_INDICATORS) indicators[k] = [];
  const contributions: Record<string, number> = {};
  if (event.type === 'anomaly' || event.type === 'incident') {
    for (const i of event.evidence?.indicators ?? []) (indicators[i.kind] ??= []).push(i.value);
    for (const c of event.evidence?.contributors ?? []) contributions[c.metric] = (contributions[c.metric] ?? 0) + c.share;
  }
  for (const k of Object.keys(indicators)) indicators[k] = [...new Set(indicators[k])];
  const facts = (context.facts ?? {}) as Record<string, unknown>;
  return {
    event: stripUndefined(event),
    facts,
    knowledge: (facts.knowledge as Record<string, unknown>) ?? {},
    topology: (facts.topology as Record<string, unknown>) ?? {},
    indicators,
    agent: stripUndefined({ ...scope, id: scope.agentId }),
    now,
    item: null,
    index: 0,
    __contributions: contributions,
  };
}

/** CEL's `has()` treats a present-but-undefined key as present; drop such keys. */
function stripUndefined(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out;
}

function renderParam(p: ParamTemplate, activation: Record<string, unknown>): unknown {
  switch (p.kind) {
    case 'literal':
      return p.value;
    case 'template':
      return normalize(p.template.render(activation));
    case 'list':
      return p.items.map((i) => renderParam(i, activation));
    case 'map':
      return Object.fromEntries(p.entries.map(([k, v]) => [k, renderParam(v, activation)]));
  }
}

function buildActions(
  p: Policy,
  event: SecurityEvent,
  activation: Record<string, unknown>,
  decisionId: string,
  agentId: string,
  now: number,
): ActionRequest[] {
  const out: ActionRequest[] = [];
  p.do.forEach((step, stepIndex) => {
    let items: unknown[] = [undefined];
    if (step.forEach) {
      const list = step.forEach.evaluate(activation);
      if (!Array.isArray(list)) throw new Error(`${step.location.path}.forEach gave ${typeof list}, not a list`);
      items = list;
    }
    items.forEach((item, index) => {
      const act = step.forEach ? { ...activation, item: normalize(item), index } : activation;
      const target = step.target ? step.target.render(act) : event.target;
      if (typeof target !== 'string' || target === '') {
        throw new Error(`${step.location.path}.target evaluated to ${JSON.stringify(target)}, not a non-empty string`);
      }
      // top-level copy: the engine adds fields (eventId, bounds) and literal params are shared
      const params = { ...(renderParam(step.compiledParams, act) as Record<string, unknown>) };
      checkRenderedParams(step.action, params, step.location.path);
      if (step.action === 'escalate' || step.action === 'delegate') {
        params.eventId ??= event.id;
        params.eventType ??= event.type;
        params.correlationId ??= event.correlationId ?? event.id;
        params.severity ??= event.severity;
      }
      if (p.guards.bounds && SCALE.has(step.action)) {
        if (p.guards.bounds.min !== undefined) params.min ??= p.guards.bounds.min;
        if (p.guards.bounds.max !== undefined) params.max ??= p.guards.bounds.max;
      }
      out.push({
        id: `${decisionId}/${stepIndex}${step.forEach ? `.${index}` : ''}`,
        type: step.action,
        target,
        params,
        requestedBy: agentId,
        policyId: p.id,
        expiresAt: step.expiresInMs !== undefined ? now + step.expiresInMs : undefined,
        at: now,
      });
    });
  });
  return out;
}

/** Templated values are only known at run time: check the ones that matter to actuators. */
function checkRenderedParams(action: string, params: Record<string, unknown>, path: string): void {
  const positive = (k: string): void => {
    const v = params[k];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) throw new Error(`${path}.params.${k} evaluated to ${JSON.stringify(v)}, not a positive number`);
  };
  if (action === 'rate_limit') positive('rps');
  if (action === 'scale_out' || action === 'scale_in') positive('count');
  if ((action === 'block' || action === 'allow') && params.source !== undefined && typeof params.source !== 'string') {
    throw new Error(`${path}.params.source evaluated to ${JSON.stringify(params.source)}, not a string`);
  }
}

function currentResource(resource: string, target: string, context: DecisionContext, known: Map<string, Record<string, number>>): number | undefined {
  const facts = context.facts as { resources?: Record<string, Record<string, unknown>> } | undefined;
  const fromFacts = facts?.resources?.[target]?.[resource];
  if (typeof fromFacts === 'number') return fromFacts;
  return known.get(target)?.[resource];
}

/** Clamps a scale action's count to the bounds; returns a reason when nothing is left to do. */
function applyBounds(p: Policy, action: ActionRequest, context: DecisionContext, known: Map<string, Record<string, number>>): string | undefined {
  const b = p.guards.bounds!;
  const current = currentResource(b.resource, action.target, context, known);
  if (current === undefined) return undefined; // unknown: the actuator enforces params.min / params.max
  const count = typeof action.params.count === 'number' ? action.params.count : 1;
  if (action.type === 'scale_out') {
    if (b.max !== undefined && current >= b.max) return `${action.target} has ${current} ${b.resource}, at the max ${b.max}`;
    if (b.max !== undefined && current + count > b.max) action.params.count = b.max - current;
  } else {
    if (b.min !== undefined && current <= b.min) return `${action.target} has ${current} ${b.resource}, at the min ${b.min}`;
    if (b.min !== undefined && current - count < b.min) action.params.count = current - b.min;
  }
  return undefined;
}

/** Counts an allowed scale action against the known state so that a burst of events cannot overshoot. */
function reserve(resource: string, action: ActionRequest, known: Map<string, Record<string, number>>): void {
  const state = known.get(action.target);
  if (!state || typeof state[resource] !== 'number') return;
  const count = typeof action.params.count === 'number' ? action.params.count : 1;
  state[resource] += action.type === 'scale_out' ? count : -count;
}
