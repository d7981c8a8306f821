import type {
  ActionOutcome,
  AgentLevel,
  Clock,
  Decision,
  DecisionEngine,
  Logger,
  SecurityEvent,
  TimerHandle,
  TrustView,
} from '@sliceguard/core';
import { silentLogger } from '@sliceguard/core';
import { InvalidLoopConfigError, InvalidTransitionError, LoopTerminatedError } from './errors.js';
import type { Knowledge } from './knowledge.js';
import type { LifecycleTransition, LoopState } from './lifecycle.js';
import { LOOP_TRANSITIONS } from './lifecycle.js';
import type { LoopMetrics } from './metrics.js';
import type {
  AnalyticsEngine,
  EnforcementService,
  MonitoredSample,
  MonitoringConfig,
  MonitoringSystem,
  StageContext,
} from './stages.js';
import { MONITORING_GRANULARITIES } from './stages.js';

export const STAGES = ['ms', 'ae', 'de', 'es'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageTiming {
  count: number;
  totalMs: number;
  maxMs: number;
  lastMs: number;
  errors: number;
}

export interface LoopQueueOptions {
  /** Telemetry samples waiting for analysis; beyond it the oldest is dropped (default 256). */
  telemetry?: number;
  /** Reports and events waiting; beyond it new ones are refused (default 1024). */
  events?: number;
}

export interface LoopOptions {
  id: string;
  level: AgentLevel;
  clock: Clock;
  knowledge: Knowledge;
  /** Periodic collection; optional (higher loops are fed by their children's reports). */
  ms?: MonitoringSystem;
  ae: AnalyticsEngine;
  de: DecisionEngine;
  es: EnforcementService;
  /** Defaults: samplingPeriodMs 1000, granularity 'aggregate', all metrics. */
  monitoring?: Partial<MonitoringConfig>;
  queues?: LoopQueueOptions;
  /** Enforcements running at once; the analysis pipeline waits beyond it (default 8). */
  maxConcurrentEnforcements?: number;
  /** Record one sample in knowledge every N samples (default 1; 0 = never). */
  historyEvery?: number;
  /** Facts handed to the DE with every decision (topology entity, loop state…). */
  facts?: () => Record<string, unknown>;
  trust?: TrustView;
  logger?: Logger;
  metrics?: LoopMetrics;
  /** Time source for stage timings (default performance.now: real CPU time, even on a simulated clock). */
  timer?: () => number;
}

/** Everything a loop tells its owner, as a tagged union. */
export type LoopNotice =
  | { type: 'event'; event: SecurityEvent; origin: 'analytics' | 'input' }
  | { type: 'decision'; decision: Decision; event: SecurityEvent }
  | { type: 'outcome'; decision: Decision; outcomes: ActionOutcome[] }
  | { type: 'transition'; transition: LifecycleTransition }
  | { type: 'reconfigured'; config: MonitoringConfig; reason: string }
  | { type: 'dropped'; queue: 'telemetry' | 'events'; reason: string }
  | { type: 'error'; stage: Stage; error: unknown };

export type LoopListener = (notice: LoopNotice) => void;

export interface LoopStats {
  id: string;
  level: AgentLevel;
  state: LoopState;
  monitoring: MonitoringConfig;
  ticks: number;
  ticksSkipped: number;
  samples: number;
  reports: number;
  events: number;
  decisions: number;
  outcomes: number;
  telemetryDropped: number;
  eventsRefused: number;
  discardedOnTerminate: number;
  queued: { telemetry: number; events: number };
  enforcementsInFlight: number;
  stages: Record<Stage, StageTiming>;
}

export interface Loop {
  readonly id: string;
  readonly level: AgentLevel;
  readonly state: LoopState;
  readonly monitoring: Readonly<MonitoringConfig>;
  activate(reason: string, by?: string): Promise<LifecycleTransition>;
  deactivate(reason: string, by?: string): Promise<LifecycleTransition>;
  /** active|inactive → updating → (back to where it was); `apply` runs while updating. */
  update(apply: () => void | Promise<void>, reason: string, by?: string): Promise<LifecycleTransition>;
  /** Final: stops the tick, lets running enforcements finish, discards (and counts) queued input. */
  terminate(reason: string, by?: string): Promise<LifecycleTransition>;
  /** Changes monitoring while running (sampling period, granularity, metrics); recorded. */
  reconfigure(patch: Partial<MonitoringConfig>, reason: string, by?: string): Promise<MonitoringConfig>;
  /** Queues a sample for analysis; false when the loop is not accepting input. */
  pushTelemetry(sample: MonitoredSample): boolean;
  /** Queues a child's / peer's report for the AE; false when refused (counted). */
  pushReport(report: SecurityEvent): boolean;
  /** Queues an event straight for the DE (delegations, management, SSLA…); false when refused. */
  pushEvent(event: SecurityEvent): boolean;
  /**
   * Like pushEvent, but the caller learns why it was refused, or gets a promise of the decisions
   * and outcomes once every decision taken on the event has been enforced (delegations use it).
   */
  submit(event: SecurityEvent): Submission;
  /** Runs one monitoring tick now (also what the period timer calls). */
  tick(): Promise<void>;
  on(listener: LoopListener): () => void;
  /** Resolves once the queues are empty and no enforcement is running. */
  idle(): Promise<void>;
  stats(): LoopStats;
}

/** What became of one submitted event: its decisions and, once enforced, their outcomes. */
export interface EventResult {
  event: SecurityEvent;
  decisions: Decision[];
  outcomes: ActionOutcome[];
}

export type Submission = { accepted: true; result: Promise<EventResult> } | { accepted: false; reason: string };

type Item =
  | { kind: 'telemetry'; sample: MonitoredSample }
  | { kind: 'report'; event: SecurityEvent }
  | { kind: 'event'; event: SecurityEvent; done?: (result: EventResult) => void }
  | { kind: 'tick' };

const DEFAULT_MONITORING: MonitoringConfig = { samplingPeriodMs: 1000, granularity: 'aggregate' };

export function validateMonitoringConfig(config: MonitoringConfig): MonitoringConfig {
  if (!(Number.isFinite(config.samplingPeriodMs) && config.samplingPeriodMs > 0)) {
    throw new InvalidLoopConfigError(`samplingPeriodMs must be a positive number of ms, got ${String(config.samplingPeriodMs)}`, {
      field: 'samplingPeriodMs',
    });
  }
  if (!(MONITORING_GRANULARITIES as readonly string[]).includes(config.granularity)) {
    throw new InvalidLoopConfigError(
      `granularity must be one of ${MONITORING_GRANULARITIES.join(', ')}, got ${String(config.granularity)}`,
      { field: 'granularity' },
    );
  }
  if (config.metrics !== undefined) {
    if (!Array.isArray(config.metrics) || config.metrics.some((m) => typeof m !== 'string' || m.length === 0)) {
      throw new InvalidLoopConfigError('metrics must be a list of non-empty metric names (or left out for all)', { field: 'metrics' });
    }
  }
  const out: MonitoringConfig = { samplingPeriodMs: config.samplingPeriodMs, granularity: config.granularity };
  if (config.metrics !== undefined) out.metrics = Object.freeze([...config.metrics]);
  return Object.freeze(out);
}

const positiveInt = (value: number | undefined, fallback: number, field: string, min = 1): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new InvalidLoopConfigError(`${field} must be an integer ≥ ${min}, got ${String(v)}`, { field });
  return v;
};

/**
 * Creates a closed loop in state `instantiated`. Bus handlers only ever call the push methods,
 * which are O(1) and never wait for a stage: a slow stage makes telemetry queue up (the oldest is
 * dropped and counted) and events be refused (counted, and the caller learns it from `false`).
 */
export function createLoop(options: LoopOptions): Loop {
  const { id, level, clock, knowledge, ms, ae, de, es } = options;
  const logger = (options.logger ?? silentLogger()).child({ loop: id });
  const metrics = options.metrics;
  const timer = options.timer ?? (() => performance.now());
  const telemetryCap = positiveInt(options.queues?.telemetry, 256, 'queues.telemetry');
  const eventsCap = positiveInt(options.queues?.events, 1024, 'queues.events');
  const maxEnforcements = positiveInt(options.maxConcurrentEnforcements, 8, 'maxConcurrentEnforcements');
  const historyEvery = positiveInt(options.historyEvery, 1, 'historyEvery', 0);
  let monitoring = validateMonitoringConfig({ ...DEFAULT_MONITORING, ...(options.monitoring ?? {}) });

  let state: LoopState = 'instantiated';
  const telemetry: MonitoredSample[] = [];
  const events: Item[] = [];
  let tickPending = false;
  let pumping = false;
  let collecting = false;
  let interval: TimerHandle | undefined;
  const enforcements = new Set<Promise<void>>();
  const idleWaiters: (() => void)[] = [];
  const listeners = new Set<LoopListener>();
  const stages = Object.fromEntries(STAGES.map((s) => [s, { count: 0, totalMs: 0, maxMs: 0, lastMs: 0, errors: 0 }])) as Record<
    Stage,
    StageTiming
  >;
  const counters = {
    ticks: 0,
    ticksSkipped: 0,
    samples: 0,
    reports: 0,
    events: 0,
    decisions: 0,
    outcomes: 0,
    telemetryDropped: 0,
    eventsRefused: 0,
    discardedOnTerminate: 0,
  };

  const notify = (notice: LoopNotice): void => {
    for (const l of listeners) {
      try {
        l(notice);
      } catch (error) {
        logger.warn({ err: error }, 'loop listener threw');
      }
    }
  };

  const timed = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
    const t0 = timer();
    try {
      return await fn();
    } catch (error) {
      stages[stage].errors++;
      metrics?.stageErrors.inc({ level, stage });
      throw error;
    } finally {
      const ms = timer() - t0;
      const s = stages[stage];
      s.count++;
      s.totalMs += ms;
      s.lastMs = ms;
      if (ms > s.maxMs) s.maxMs = ms;
      metrics?.stageSeconds.observe({ level, stage }, ms / 1000);
    }
  };

  const ctx = (): StageContext => ({ loopId: id, now: clock.now() });
  const accepting = (): boolean => state === 'active' || state === 'updating';

  const checkIdle = (): void => {
    if (pumping || enforcements.size > 0) return;
    // Queued input only counts while the loop is active: an inactive loop holds it until reactivated.
    if (state === 'active' && (telemetry.length > 0 || events.length > 0)) return;
    for (const w of idleWaiters.splice(0)) w();
  };

  const startTimer = (): void => {
    stopTimer();
    interval = clock.setInterval(() => {
      void loop.tick();
    }, monitoring.samplingPeriodMs);
  };
  const stopTimer = (): void => {
    if (interval) clock.clearInterval(interval);
    interval = undefined;
  };

  const enforce = (decision: Decision): Promise<ActionOutcome[]> =>
    timed('es', () => es.enforce(decision))
      .then(async (outcomes) => {
        counters.outcomes += outcomes.length;
        for (const o of outcomes) de.recordOutcome?.(o);
        await knowledge.record('outcome', { decisionId: decision.id, eventId: decision.eventId, outcomes }, clock.now());
        notify({ type: 'outcome', decision, outcomes });
        return outcomes;
      })
      .catch((error: unknown): ActionOutcome[] => {
        logger.error({ err: error, decision: decision.id }, 'enforcement failed');
        notify({ type: 'error', stage: 'es', error });
        const now = clock.now();
        return decision.actions.map((a) => ({
          id: a.id,
          type: a.type,
          target: a.target,
          status: 'failed' as const,
          detail: `enforcement threw: ${error instanceof Error ? error.message : String(error)}`,
          at: now,
        }));
      });

  /** Decides on an event and starts enforcing; resolves with the decisions and their outcomes' promise. */
  const decide = async (event: SecurityEvent): Promise<{ decisions: Decision[]; enforced: Promise<ActionOutcome[][]> }> => {
    const started: Promise<ActionOutcome[]>[] = [];
    let decisions: Decision[];
    try {
      decisions = await timed('de', () =>
        de.decide(event, { agentId: id, level, now: clock.now(), facts: options.facts?.(), trust: options.trust }),
      );
    } catch (error) {
      logger.error({ err: error, event: event.id }, 'decision engine failed');
      notify({ type: 'error', stage: 'de', error });
      return { decisions: [], enforced: Promise.resolve([]) };
    }
    for (const decision of decisions) {
      counters.decisions++;
      metrics?.decisions.inc({ level, blocked: decision.blocked ? 'true' : 'false' });
      await knowledge.record('decision', decision, clock.now());
      notify({ type: 'decision', decision, event });
      if (decision.blocked || decision.actions.length === 0) continue;
      while (enforcements.size >= maxEnforcements) await Promise.race(enforcements);
      const run = enforce(decision);
      started.push(run);
      const p: Promise<void> = run.then(
        () => {
          enforcements.delete(p);
          checkIdle();
        },
      );
      enforcements.add(p);
    }
    return { decisions, enforced: Promise.all(started) };
  };

  const analyze = async (stage: 'ae', fn: () => Promise<SecurityEvent[]>): Promise<SecurityEvent[]> => {
    try {
      return await timed(stage, fn);
    } catch (error) {
      logger.error({ err: error }, 'analytics engine failed');
      notify({ type: 'error', stage, error });
      return [];
    }
  };

  const processItem = async (item: Item): Promise<void> => {
    let produced: SecurityEvent[] = [];
    switch (item.kind) {
      case 'telemetry': {
        counters.samples++;
        if (historyEvery > 0 && counters.samples % historyEvery === 0) {
          await knowledge.record('history', item.sample, item.sample.at);
        }
        if (ae.analyzeSample) produced = await analyze('ae', () => ae.analyzeSample!(item.sample, ctx()));
        break;
      }
      case 'report': {
        counters.reports++;
        await knowledge.record('event', item.event, clock.now());
        if (ae.analyzeReport) produced = await analyze('ae', () => ae.analyzeReport!(item.event, ctx()));
        break;
      }
      case 'tick': {
        tickPending = false;
        if (ae.tick) produced = await analyze('ae', () => ae.tick!(ctx()));
        break;
      }
      case 'event': {
        await knowledge.record('event', item.event, clock.now());
        counters.events++;
        metrics?.events.inc({ type: item.event.type, level, origin: 'input' });
        metrics?.iterations.inc({ level, input: 'event' });
        notify({ type: 'event', event: item.event, origin: 'input' });
        const { decisions, enforced } = await decide(item.event);
        const done = item.done;
        if (done) void enforced.then((lists) => done({ event: item.event, decisions, outcomes: lists.flat() }));
        return;
      }
    }
    metrics?.iterations.inc({ level, input: item.kind });
    for (const event of produced) {
      counters.events++;
      metrics?.events.inc({ type: event.type, level, origin: 'analytics' });
      await knowledge.record('incident', event, clock.now());
      notify({ type: 'event', event, origin: 'analytics' });
      await decide(event);
    }
  };

  const pump = (): void => {
    if (pumping || state !== 'active') return;
    pumping = true;
    void (async () => {
      try {
        // Events first: a delegation must not wait behind a backlog of telemetry.
        while (state === 'active' && (events.length > 0 || telemetry.length > 0)) {
          const item: Item = events.length > 0 ? events.shift()! : { kind: 'telemetry', sample: telemetry.shift()! };
          try {
            await processItem(item);
          } catch (error) {
            logger.error({ err: error, item: item.kind }, 'loop item failed');
            notify({ type: 'error', stage: 'ae', error });
          }
        }
      } finally {
        pumping = false;
        checkIdle();
      }
    })();
  };

  const refuse = (reason: string): string => {
    counters.eventsRefused++;
    metrics?.eventsRefused.inc({ level, reason });
    notify({ type: 'dropped', queue: 'events', reason });
    return reason;
  };

  /** Returns undefined when queued, else why it was refused. */
  const enqueueEvent = (item: Item): string | undefined => {
    if (!accepting()) return refuse(`loop ${id} is ${state}`);
    if (events.length >= eventsCap) return refuse(`loop ${id} input queue is full (${eventsCap})`);
    events.push(item);
    pump();
    return undefined;
  };

  const transition = async (to: LoopState, reason: string, by: string): Promise<LifecycleTransition> => {
    const from = state;
    if (!LOOP_TRANSITIONS[from].includes(to)) throw new InvalidTransitionError(id, from, to, LOOP_TRANSITIONS[from]);
    state = to;
    const record: LifecycleTransition = { loopId: id, from, to, reason, by, at: clock.now() };
    metrics?.transitions.inc({ level, to });
    if (to === 'active') startTimer();
    else stopTimer();
    await knowledge.record('lifecycle', record, record.at);
    logger.info({ from, to, reason, by }, 'loop transition');
    notify({ type: 'transition', transition: record });
    if (to === 'active') pump();
    return record;
  };

  const loop: Loop = {
    id,
    level,
    get state() {
      return state;
    },
    get monitoring() {
      return monitoring;
    },
    activate: (reason, by = 'self') => transition('active', reason, by),
    deactivate: (reason, by = 'self') => transition('inactive', reason, by),
    async update(apply, reason, by = 'self') {
      const back = state;
      if (back !== 'active' && back !== 'inactive') {
        throw new InvalidTransitionError(id, state, 'updating', LOOP_TRANSITIONS[state]);
      }
      await transition('updating', reason, by);
      try {
        await apply();
      } catch (error) {
        await transition(back, `update failed: ${error instanceof Error ? error.message : String(error)}`, by);
        throw error;
      }
      return transition(back, `update applied: ${reason}`, by);
    },
    async terminate(reason, by = 'self') {
      const record = await transition('terminated', reason, by);
      const discarded = telemetry.length + events.length;
      counters.discardedOnTerminate += discarded;
      // Submitters waiting on a discarded event learn that nothing was decided.
      for (const item of events) if (item.kind === 'event' && item.done) item.done({ event: item.event, decisions: [], outcomes: [] });
      telemetry.length = 0;
      events.length = 0;
      tickPending = false;
      await Promise.allSettled([...enforcements]);
      await ms?.close?.();
      checkIdle();
      return record;
    },
    async reconfigure(patch, reason, by = 'self') {
      if (state === 'terminated') throw new LoopTerminatedError(id, 'reconfigure');
      const next = validateMonitoringConfig({ ...monitoring, ...patch });
      await ms?.configure(next);
      ae.configure?.(next);
      const periodChanged = next.samplingPeriodMs !== monitoring.samplingPeriodMs;
      monitoring = next;
      if (periodChanged && state === 'active') startTimer();
      await knowledge.record('config', { config: next, reason, by }, clock.now());
      notify({ type: 'reconfigured', config: next, reason });
      return next;
    },
    pushTelemetry(sample) {
      if (!accepting()) return false;
      if (telemetry.length >= telemetryCap) {
        telemetry.shift();
        counters.telemetryDropped++;
        metrics?.telemetryDropped.inc({ level });
        notify({ type: 'dropped', queue: 'telemetry', reason: 'queue full (oldest dropped)' });
      }
      telemetry.push(sample);
      pump();
      return true;
    },
    pushReport: (report) => enqueueEvent({ kind: 'report', event: report }) === undefined,
    pushEvent: (event) => enqueueEvent({ kind: 'event', event }) === undefined,
    submit(event) {
      let done!: (result: EventResult) => void;
      const result = new Promise<EventResult>((resolve) => {
        done = resolve;
      });
      const refused = enqueueEvent({ kind: 'event', event, done });
      return refused === undefined ? { accepted: true, result } : { accepted: false, reason: refused };
    },
    async tick() {
      if (state !== 'active') return;
      counters.ticks++;
      if (ae.tick && !tickPending) {
        tickPending = true;
        events.push({ kind: 'tick' });
        pump();
      }
      if (!ms) return;
      if (collecting) {
        // The previous collection is still running: skip rather than pile up scrapes.
        counters.ticksSkipped++;
        return;
      }
      collecting = true;
      try {
        const samples = await timed('ms', () => ms.collect(ctx()));
        for (const s of samples) loop.pushTelemetry(s);
      } catch (error) {
        logger.warn({ err: error }, 'monitoring collection failed');
        notify({ type: 'error', stage: 'ms', error });
      } finally {
        collecting = false;
      }
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    stats() {
      return {
        id,
        level,
        state,
        monitoring,
        ...counters,
        queued: { telemetry: telemetry.length, events: events.length },
        enforcementsInFlight: enforcements.size,
        stages: Object.fromEntries(STAGES.map((s) => [s, { ...stages[s] }])) as Record<Stage, StageTiming>,
      };
    },
  };
  Promise.resolve(ms?.configure(monitoring)).catch((error: unknown) => {
    logger.error({ err: error }, 'initial monitoring configuration failed');
    notify({ type: 'error', stage: 'ms', error });
  });
  ae.configure?.(monitoring);
  return loop;
}
