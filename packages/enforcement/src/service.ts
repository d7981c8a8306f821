import {
  ACTION_TYPES,
  type ActionOutcome,
  type ActionRequest,
  type ActionType,
  type Actuator,
  type Clock,
  type Counter,
  type Decision,
  decodeJson,
  encodeJson,
  type KeyValueStore,
  type Logger,
  type MetricsRegistry,
  silentLogger,
  type TimerHandle,
} from '@sliceguard/core';
import { EnforcementOptionsError } from './errors.js';
import { isUndoable, outcomeOf } from './interface.js';

export interface RepeatOffenderOptions {
  /** Each earlier expiring action of the same type on the same target/source within memoryMs multiplies the duration by this. Default 2 (1 = off); `params.repeatFactor` overrides per action. */
  factor?: number;
  /** Longest escalated duration. Default 24 h. */
  maxDurationMs?: number;
  /** How long an earlier offence counts. Default 24 h. */
  memoryMs?: number;
  /** Action types that escalate. Default block, rate_limit. */
  types?: readonly ActionType[];
}

export interface EnforcementServiceOptions {
  actuators: readonly Actuator[];
  clock: Clock;
  logger?: Logger;
  metrics?: MetricsRegistry;
  repeatOffenders?: RepeatOffenderOptions;
  /** Outcomes remembered in memory for idempotency. Default 10,000 (oldest dropped first). */
  maxOutcomes?: number;
  /**
   * Persists outcomes (idempotency across restarts) and pending expiries under `enforcement/`;
   * `restore()` re-arms the expiries after a restart.
   */
  kv?: KeyValueStore;
}

export interface ScheduledExpiry {
  id: string;
  type: ActionType;
  target: string;
  expiresAt: number;
  /** How many earlier offences escalated the duration. */
  repeats: number;
}

/**
 * The Enforcement Service of a loop: dispatches each action to the actuator for its type,
 * idempotent by action id (the same id gets the first outcome, also while it is still running),
 * and undoes expiring actions on the clock, escalating durations for repeat offenders.
 */
export interface EnforcementService {
  execute(request: ActionRequest, options?: { signal?: AbortSignal }): Promise<ActionOutcome>;
  /** Executes a decision's actions in order; a blocked decision yields `blocked` outcomes and executes nothing. */
  enforce(decision: Decision, options?: { signal?: AbortSignal }): Promise<ActionOutcome[]>;
  outcome(id: string): ActionOutcome | undefined;
  scheduled(): ScheduledExpiry[];
  onOutcome(listener: (outcome: ActionOutcome, request: ActionRequest) => void): () => void;
  /** Re-arms expiries persisted in `kv` (undoing at once those already due). Returns how many. */
  restore(): Promise<number>;
  /** Cancels pending expiries (their actions stay in force; with `kv` they survive for restore). */
  stop(): void;
}

interface PersistedExpiry {
  request: ActionRequest;
  outcome: ActionOutcome;
  repeats: number;
}

const OUTCOME_PREFIX = 'enforcement/outcome/';
const EXPIRY_PREFIX = 'enforcement/expiry/';

export function createEnforcementService(options: EnforcementServiceOptions): EnforcementService {
  if (!options?.clock) throw new EnforcementOptionsError('createEnforcementService needs a clock');
  const { clock } = options;
  const logger = (options.logger ?? silentLogger()).child({ module: 'enforcement' });
  const dispatch = new Map<ActionType, Actuator>();
  for (const a of options.actuators ?? []) {
    for (const t of a.handles) {
      if (!(ACTION_TYPES as readonly string[]).includes(t)) throw new EnforcementOptionsError(`actuator ${a.name} handles unknown action type "${t}"`);
      const other = dispatch.get(t);
      if (other) throw new EnforcementOptionsError(`actuators ${other.name} and ${a.name} both handle "${t}"`, { type: t });
      dispatch.set(t, a);
    }
  }
  const repeat = { factor: 2, maxDurationMs: 86_400_000, memoryMs: 86_400_000, types: ['block', 'rate_limit'] as readonly ActionType[], ...options.repeatOffenders };
  const maxOutcomes = options.maxOutcomes ?? 10_000;
  const results = new Map<string, Promise<ActionOutcome>>();
  const settled = new Map<string, ActionOutcome>();
  const offences = new Map<string, number[]>();
  const expiries = new Map<string, { timer: TimerHandle; info: ScheduledExpiry }>();
  const listeners = new Set<(o: ActionOutcome, r: ActionRequest) => void>();
  const counter: Counter | undefined = options.metrics?.counter({
    name: 'sliceguard_enforcement_actions_total',
    help: 'Actions executed by the enforcement service, by type and status',
    labelNames: ['type', 'status'],
  });

  const publish = (o: ActionOutcome, r: ActionRequest): void => {
    counter?.inc({ type: o.type, status: o.status });
    for (const l of listeners) {
      try {
        l(o, r);
      } catch (err) {
        logger.warn({ err: String(err) }, 'outcome listener failed');
      }
    }
  };

  const remember = (id: string, p: Promise<ActionOutcome>): void => {
    results.set(id, p);
    if (results.size > maxOutcomes) {
      const oldest = results.keys().next().value as string;
      results.delete(oldest);
      settled.delete(oldest);
    }
  };

  const offenderKey = (r: ActionRequest): string => `${r.type}|${r.target}|${String(r.params.source ?? '')}|${String(r.params.path ?? '')}`;

  /** The expiry after escalation for repeat offenders (earlier offences of the same kind within memoryMs). */
  const escalate = (request: ActionRequest, now: number): { expiresAt?: number; repeats: number } => {
    if (request.expiresAt === undefined || !repeat.types.includes(request.type)) return { expiresAt: request.expiresAt, repeats: 0 };
    const past = (offences.get(offenderKey(request)) ?? []).filter((t) => now - t < repeat.memoryMs);
    const repeats = past.length;
    const factor = typeof request.params.repeatFactor === 'number' ? request.params.repeatFactor : repeat.factor;
    const base = Math.max(0, request.expiresAt - request.at);
    if (repeats === 0 || !(factor > 1)) return { expiresAt: request.expiresAt, repeats };
    return { expiresAt: now + Math.min(repeat.maxDurationMs, base * factor ** repeats), repeats };
  };

  const scheduleExpiry = (request: ActionRequest, outcome: ActionOutcome, actuator: Actuator, repeats: number): void => {
    if (request.expiresAt === undefined) return;
    const now = clock.now();
    if (repeat.types.includes(request.type)) {
      const key = offenderKey(request);
      offences.set(key, [...(offences.get(key) ?? []).filter((t) => now - t < repeat.memoryMs), now]);
    }
    const expiresAt = request.expiresAt;
    outcome.result = { ...outcome.result, expiresAt, repeats };
    if (!isUndoable(actuator)) return;
    if (options.kv) {
      const record: PersistedExpiry = { request, outcome, repeats };
      options.kv.put(`${EXPIRY_PREFIX}${request.id}`, encodeJson(record)).catch((err) => logger.warn({ action: request.id, err: String(err) }, 'persisting expiry failed'));
    }
    arm(request, outcome, repeats);
  };

  const arm = (request: ActionRequest, outcome: ActionOutcome, repeats: number): void => {
    const actuator = dispatch.get(request.type);
    if (!actuator || !isUndoable(actuator) || request.expiresAt === undefined) return;
    const expiresAt = request.expiresAt;
    const info: ScheduledExpiry = { id: request.id, type: request.type, target: request.target, expiresAt, repeats };
    const timer = clock.setTimeout(() => {
      expiries.delete(request.id);
      actuator
        .undo(request, outcome)
        .then(async (undone) => {
          const expired: ActionOutcome = { ...undone, id: request.id, status: 'expired' };
          settled.set(request.id, expired);
          if (options.kv) {
            await options.kv.batch([
              { type: 'del', key: `${EXPIRY_PREFIX}${request.id}` },
              { type: 'put', key: `${OUTCOME_PREFIX}${request.id}`, value: encodeJson(expired) },
            ]);
          }
          publish(expired, request);
        })
        .catch((err) => logger.warn({ action: request.id, err: String(err) }, 'undo failed'));
    }, Math.max(0, expiresAt - clock.now()));
    expiries.set(request.id, { timer, info });
  };

  const run = async (request: ActionRequest, signal?: AbortSignal): Promise<ActionOutcome> => {
    if (options.kv && typeof request?.id === 'string' && request.id) {
      const stored = await options.kv.get(`${OUTCOME_PREFIX}${request.id}`);
      if (stored) return decodeJson<ActionOutcome>(stored);
    }
    const now = clock.now();
    if (!request || typeof request.id !== 'string' || !request.id || typeof request.target !== 'string' || !request.target) {
      return { id: String(request?.id ?? ''), type: request?.type, target: String(request?.target ?? ''), status: 'rejected', detail: 'action needs a non-empty id and target', at: now };
    }
    if (!request.params || typeof request.params !== 'object') return outcomeOf(request, 'rejected', now, 'action params must be an object');
    if (request.expiresAt !== undefined && request.expiresAt <= now) return outcomeOf(request, 'expired', now, `expired at ${request.expiresAt} before it ran`);
    const actuator = dispatch.get(request.type);
    if (!actuator) return outcomeOf(request, 'rejected', now, `no actuator handles "${request.type}" (configured: ${[...dispatch.keys()].join(', ') || 'none'})`);
    // repeat offenders: the actuator sees the escalated expiry, so its own state expires with it
    const { expiresAt, repeats } = escalate(request, now);
    const effective = expiresAt === request.expiresAt ? request : { ...request, expiresAt };
    let outcome: ActionOutcome;
    try {
      outcome = await actuator.execute(effective, { signal });
    } catch (err) {
      outcome = outcomeOf(request, 'failed', clock.now(), `${actuator.name}: ${(err as Error)?.message ?? String(err)}`);
    }
    if (outcome.status === 'succeeded') scheduleExpiry(effective, outcome, actuator, repeats);
    return outcome;
  };

  const service: EnforcementService = {
    execute(request, opts = {}) {
      const known = results.get(request?.id);
      if (known) return known;
      const p = run(request, opts.signal).then(async (o) => {
        settled.set(request.id, o);
        if (options.kv && request?.id) {
          try {
            await options.kv.put(`${OUTCOME_PREFIX}${request.id}`, encodeJson(o));
          } catch (err) {
            logger.warn({ action: request.id, err: String(err) }, 'persisting outcome failed');
          }
        }
        publish(o, request);
        return o;
      });
      if (request?.id) remember(request.id, p);
      return p;
    },
    async enforce(decision, opts = {}) {
      if (decision.blocked) {
        const outs = decision.actions.map((a) =>
          outcomeOf(a, 'blocked', clock.now(), `${decision.blocked!.by}: ${decision.blocked!.reason}`),
        );
        for (let i = 0; i < outs.length; i++) publish(outs[i], decision.actions[i]);
        return outs;
      }
      const outs: ActionOutcome[] = [];
      for (const a of decision.actions) outs.push(await service.execute(a, opts));
      return outs;
    },
    outcome: (id) => settled.get(id),
    scheduled: () => [...expiries.values()].map((e) => ({ ...e.info })),
    onOutcome(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async restore() {
      if (!options.kv) return 0;
      let n = 0;
      for await (const [, value] of options.kv.entries({ gte: EXPIRY_PREFIX, lt: `${EXPIRY_PREFIX}~` })) {
        const record = decodeJson<PersistedExpiry>(value);
        if (expiries.has(record.request.id)) continue;
        results.set(record.request.id, Promise.resolve(record.outcome));
        settled.set(record.request.id, record.outcome);
        arm(record.request, record.outcome, record.repeats);
        n++;
      }
      return n;
    },
    stop() {
      for (const e of expiries.values()) clock.clearTimeout(e.timer);
      expiries.clear();
    },
  };
  return service;
}
