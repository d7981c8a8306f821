import type {
  ActionOutcome,
  Actuator,
  AgentLevel,
  Bus,
  Clock,
  DecisionEngine,
  IdGenerator,
  KeyValueStore,
  Logger,
  Rng,
  SecurityEvent,
  StreamingDetector,
  TrustSink,
  TrustView,
} from '@sliceguard/core';
import { idGenerator, memoryKv, seededRng, silentLogger } from '@sliceguard/core';
import { createEnforcementService, monitoringActuator, notifyActuator } from '@sliceguard/enforcement';
import type { MonitoringControl } from '@sliceguard/enforcement';
import type { AnalyticsEngine, EnforcementService, Knowledge, KnowledgeRetention, Loop, LoopMetrics, LoopQueueOptions, MonitoringConfig } from '@sliceguard/mape';
import { createLoop, openKnowledge } from '@sliceguard/mape';
import type { AgentSpec } from '@sliceguard/topology';
import { createRatingReporter, reportEvidence } from '@sliceguard/trust';
import { correlator } from './analytics/correlator.js';
import type { CorrelatorOptions } from './analytics/correlator.js';
import { detectorAnalytics } from './analytics/nf-analytics.js';
import type { DetectorAnalyticsOptions } from './analytics/nf-analytics.js';
import type { Collector } from './collectors/collector.js';
import { collectorMonitoring } from './collectors/collector.js';
import type { CoordinationOptions, Coordinator } from './coordination/coordinator.js';
import { createCoordinator, monitoringPatch } from './coordination/coordinator.js';
import type { ControlMessage } from './coordination/messages.js';
import type { AgentFacts, ChildFact, NfFact } from './decision/facts.js';
import { AgentConfigError } from './errors.js';

export type LoopLevel = AgentLevel;

export interface AgentOptions {
  spec: AgentSpec;
  /** Every agent of the topology by id (see `agentDirectory`). */
  directory: ReadonlyMap<string, AgentSpec>;
  bus: Bus;
  clock: Clock;
  /** The decision engine (policies, or `defaultDecisionEngine`); see `resolveDecisionEngine`. */
  decisionEngine: DecisionEngine;
  rng?: Rng;
  ids?: IdGenerator;
  logger?: Logger;
  loopMetrics?: LoopMetrics;
  /** Knowledge store (default memoryKv; LevelDB via @sliceguard/store's openLevelKv in a process). */
  kv?: KeyValueStore;
  retention?: Partial<KnowledgeRetention>;
  /** Record one monitoring sample in knowledge every N (default 1; 0 = never). */
  historyEvery?: number;
  /** Local actuators (simulated MANO, traffic filter, webhook…); monitoring and notify are added when missing. */
  actuators?: readonly Actuator[];
  /** Replaces the local enforcement service built from `actuators`. */
  enforcement?: EnforcementService;
  /** NF agents: where samples come from (default: none — the agent must be given one). */
  collector?: Collector;
  /** NF agents: the detector (statistical baseline or LSTM). */
  detector?: StreamingDetector;
  nfAnalytics?: Partial<Omit<DetectorAnalyticsOptions, 'agentId' | 'target' | 'detector' | 'ids'>>;
  /** Higher levels: correlation settings. */
  correlation?: Partial<Pick<CorrelatorOptions, 'k' | 'windowMs' | 'minSharedIndicator' | 'reemitMs'>>;
  monitoring?: Partial<MonitoringConfig>;
  queues?: LoopQueueOptions;
  coordination?: CoordinationOptions;
  trust?: TrustView;
  trustSink?: TrustSink;
  /** Extra facts for the decision engine (e.g. `resources` from the MANO for policy bounds). */
  extraFacts?: () => Record<string, unknown>;
  /** Signed peer ratings (delegations answered on time, escalations acknowledged); false: off. Default every 30 s. */
  ratings?: false | { intervalMs?: number };
  /** Called for lifecycle commands after the loop applied them (e.g. exit the process on terminate). */
  onControl?: (command: ControlMessage) => void | Promise<void>;
}

export interface Agent {
  readonly id: string;
  readonly level: LoopLevel;
  readonly spec: AgentSpec;
  readonly loop: Loop;
  readonly knowledge: Knowledge;
  readonly coordinator: Coordinator;
  readonly decisionEngine: DecisionEngine;
  /** The loop is instantiated; the domain agent activates it (or call `loop.activate`). */
  start(): Promise<void>;
  /** Stops timers and subscriptions, deactivates an active loop, closes knowledge. Idempotent. */
  stop(): Promise<void>;
  /** Facts the decision engine currently sees. */
  facts(): AgentFacts;
}

const LOOP_LEVELS: readonly string[] = ['nf', 'subslice', 'slice', 'domain'];

/** The topology's agents by id, as every agent needs it to find children, siblings and subjects. */
export function agentDirectory(specs: readonly AgentSpec[]): Map<string, AgentSpec> {
  return new Map(specs.map((s) => [s.agentId, s]));
}

function entityId(spec: AgentSpec): string {
  return spec.nf?.id ?? spec.subslice?.id ?? spec.slice ?? spec.domain;
}

function childFact(spec: AgentSpec): ChildFact {
  const f: ChildFact = { agentId: spec.agentId, id: entityId(spec), level: spec.level as AgentLevel };
  if (spec.subslice && spec.level === 'subslice') f.kind = spec.subslice.kind;
  if (spec.nf) f.type = spec.nf.type;
  return f;
}

/** NFs under a loop (itself for an NF loop), from the directory. */
function nfsUnder(spec: AgentSpec, directory: ReadonlyMap<string, AgentSpec>): NfFact[] {
  const out: NfFact[] = [];
  const visit = (s: AgentSpec): void => {
    if (s.nf) out.push({ id: s.nf.id, agentId: s.agentId, type: s.nf.type, kind: s.nf.kind, replicas: { ...s.nf.replicas } });
    for (const c of s.childIds) {
      const child = directory.get(c);
      if (child) visit(child);
    }
  };
  visit(spec);
  return out;
}

/** Wraps an engine so that a fallback (the built-in rules) decides when the primary has nothing. */
export function withFallback(primary: DecisionEngine, fallback: DecisionEngine): DecisionEngine {
  return {
    async decide(event, context) {
      const decisions = await primary.decide(event, context);
      return decisions.length > 0 ? decisions : fallback.decide(event, context);
    },
    recordOutcome(outcome: ActionOutcome) {
      primary.recordOutcome?.(outcome);
      fallback.recordOutcome?.(outcome);
    },
  };
}

/**
 * Builds one agent of any level from its AgentSpec: the closed loop (MS/AE/DE/ES over knowledge),
 * the coordination layer (escalate / delegate / peer / control over the signed bus) and the
 * enforcement path that carries `escalate` / `delegate` actions through the coordination layer and
 * everything else through the local actuators.
 */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  const { spec, directory, bus, clock } = options;
  if (!LOOP_LEVELS.includes(spec.level)) {
    throw new AgentConfigError(`${spec.agentId} has level ${spec.level}; agents run loops at nf, subslice, slice or domain level`, { agentId: spec.agentId });
  }
  const level = spec.level as LoopLevel;
  const id = spec.agentId;
  const logger = (options.logger ?? silentLogger()).child({ agent: id });
  const ids = options.ids ?? idGenerator(options.rng ?? seededRng(id), id);
  const knowledge = await openKnowledge({ kv: options.kv ?? memoryKv(), ...(options.retention ? { retention: options.retention } : {}) });
  const coordinator = createCoordinator({
    spec,
    directory,
    bus,
    clock,
    knowledge,
    ids,
    logger,
    ...(options.coordination ?? {}),
    ...(options.trustSink ? { trustSink: options.trustSink } : {}),
    ...(options.onControl ? { onControl: options.onControl } : {}),
  });

  // ---- AE and MS per level
  let ms: ReturnType<typeof collectorMonitoring> | undefined;
  let ae: AnalyticsEngine;
  if (level === 'nf') {
    if (!spec.nf) throw new AgentConfigError(`NF agent ${id} has no nf spec`, { agentId: id });
    if (!options.detector) throw new AgentConfigError(`NF agent ${id} needs a detector (e.g. createStatisticalDetector({ metrics }))`, { agentId: id });
    if (!options.collector) throw new AgentConfigError(`NF agent ${id} needs a collector (prometheusCollector, csvReplayCollector or pushFeed)`, { agentId: id });
    ms = collectorMonitoring(options.collector);
    ae = detectorAnalytics({ agentId: id, target: spec.nf.id, detector: options.detector, ids, ...(options.nfAnalytics ?? {}) });
  } else {
    ae = correlator({
      agentId: id,
      level: level as Exclude<AgentLevel, 'nf'>,
      target: entityId(spec),
      children: spec.childIds,
      ids,
      ...(options.trust ? { trust: options.trust } : {}),
      ...(options.correlation ?? {}),
    });
  }

  // ---- facts for the DE
  const children = spec.childIds.map((c) => directory.get(c)).filter((c): c is AgentSpec => c !== undefined).map(childFact);
  const nfs = nfsUnder(spec, directory);
  const agentFact: AgentFacts['agent'] = { agentId: id, level, domain: spec.domain };
  if (spec.slice) agentFact.slice = spec.slice;
  if (spec.subslice) {
    agentFact.subslice = spec.subslice.id;
    agentFact.subsliceKind = spec.subslice.kind;
  }
  if (spec.nf) {
    agentFact.nf = spec.nf.id;
    agentFact.nfType = spec.nf.type;
  }
  if (spec.parentId) agentFact.parentId = spec.parentId;
  let loopRef: Loop | undefined;
  const facts = (): AgentFacts => {
    const m = loopRef?.monitoring;
    const mode = m?.granularity ?? 'aggregate';
    return {
      agent: agentFact,
      topology: { ...(spec.parentId ? { parentId: spec.parentId } : {}), children, nfs },
      knowledge: {
        state: loopRef?.state ?? 'instantiated',
        monitoring: { mode, granularity: mode, samplingPeriodMs: m?.samplingPeriodMs ?? 0, metrics: [...(m?.metrics ?? spec.nf?.metrics ?? [])] },
      },
      ...(options.extraFacts?.() ?? {}),
    };
  };

  // ---- ES: coordination for escalate/delegate, local actuators for the rest
  const ownTargets = new Set([id, entityId(spec)]);
  const monitoringControl: MonitoringControl = {
    current: () => {
      const m = loopRef?.monitoring;
      return m ? { mode: m.granularity, samplingPeriodMs: m.samplingPeriodMs, ...(m.metrics ? { metrics: [...m.metrics] } : {}) } : undefined;
    },
    async configure(_target, change) {
      if (!loopRef) throw new Error('loop not created yet');
      const next = await loopRef.reconfigure(monitoringPatch(change as Record<string, unknown>), 'reconfigure_monitoring action', id);
      return { mode: next.granularity, samplingPeriodMs: next.samplingPeriodMs, ...(next.metrics ? { metrics: [...next.metrics] } : {}) };
    },
  };
  let local = options.enforcement;
  if (!local) {
    const given = options.actuators ?? [];
    const handled = new Set(given.flatMap((a) => a.handles));
    const actuators: Actuator[] = [...given];
    if (!handled.has('reconfigure_monitoring')) actuators.push(monitoringActuator({ clock, control: (target) => (ownTargets.has(target) ? monitoringControl : undefined) }));
    if (!handled.has('notify')) actuators.push(notifyActuator({ clock, logger }));
    local = createEnforcementService({ actuators, clock, logger });
  }
  const recentEvents = new Map<string, SecurityEvent>();
  const es: EnforcementService = {
    async enforce(decision, opts) {
      const event = recentEvents.get(decision.eventId);
      const outcomes: ActionOutcome[] = [];
      for (const action of decision.actions) {
        if (action.type === 'escalate') outcomes.push(await coordinator.escalate(action, event));
        else if (action.type === 'delegate') outcomes.push(await coordinator.delegate(action, event));
        else if (action.type === 'reconfigure_monitoring' && coordinator.childOf(action.target)) {
          outcomes.push(await coordinator.delegate({ ...action, params: { ...action.params, action: 'reconfigure_monitoring' } }, event));
        } else outcomes.push(...(await local!.enforce({ ...decision, actions: [action] }, opts)));
      }
      return outcomes;
    },
  };

  const loop = createLoop({
    id,
    level,
    clock,
    knowledge,
    ...(ms ? { ms } : {}),
    ae,
    de: options.decisionEngine,
    es,
    // NF loops collect their NF's metrics by default ("which metrics" is programmable at run time).
    monitoring: { ...(spec.nf ? { metrics: [...spec.nf.metrics] } : {}), ...(options.monitoring ?? {}) },
    ...(options.queues ? { queues: options.queues } : {}),
    ...(options.historyEvery !== undefined ? { historyEvery: options.historyEvery } : {}),
    facts: () => facts() as unknown as Record<string, unknown>,
    ...(options.trust ? { trust: options.trust } : {}),
    logger,
    ...(options.loopMetrics ? { metrics: options.loopMetrics } : {}),
  });
  loopRef = loop;
  loop.on((n) => {
    if (n.type === 'event') {
      recentEvents.set(n.event.id, n.event);
      if (recentEvents.size > 512) recentEvents.delete(recentEvents.keys().next().value as string);
    }
  });

  // Peer ratings: every delegation this loop sends is answered on time or not; every escalation is
  // acknowledged or not. Published (signed) on sg.<domain>._sys.trust.ratings for the Trust Manager.
  const ratings = options.ratings === false ? undefined : createRatingReporter({ bus, domain: spec.domain, clock, logger, ...(options.ratings?.intervalMs ? { intervalMs: options.ratings.intervalMs } : {}) });
  // Report accuracy: which children escalated under a correlation, confirmed when its mitigation succeeds.
  const reportersOf = new Map<string, Set<string>>();
  coordinator.on((n) => {
    if (n.type === 'delegation_settled') {
      ratings?.observe(n.message.to, n.status === 'done' && n.success && clock.now() <= n.message.deadline);
      if (n.status === 'done' && n.success) confirmReporters(n.message.correlationId);
    } else if (n.type === 'escalation_acknowledged') {
      if (spec.parentId) ratings?.observe(spec.parentId, n.message.status !== 'refused');
      if (n.message.status === 'resolved' && n.message.success) confirmReporters(n.message.correlationId);
    } else if (n.type === 'escalation_failed') {
      if (spec.parentId) ratings?.observe(spec.parentId, false);
    } else if (n.type === 'escalation_received' && n.accepted) {
      const c = n.message.event.correlationId ?? n.message.correlationId;
      const set = reportersOf.get(c) ?? new Set<string>();
      set.add(n.message.from);
      reportersOf.set(c, set);
      if (reportersOf.size > 1024) reportersOf.delete(reportersOf.keys().next().value as string);
    }
  });
  const confirmReporters = (correlationId: string): void => {
    const children = reportersOf.get(correlationId);
    if (!children) return;
    reportersOf.delete(correlationId);
    for (const child of children) {
      // In a process without the domain's trust manager, the confirmation travels as a signed peer rating.
      if (options.trustSink) options.trustSink.record(reportEvidence(child, 'confirmed', id, clock.now(), `incident ${correlationId} confirmed by its mitigation`));
      else ratings?.observe(child, true);
    }
  };

  let started = false;
  let stopped = false;
  return {
    id,
    level,
    spec,
    loop,
    knowledge,
    coordinator,
    decisionEngine: options.decisionEngine,
    facts,
    async start() {
      if (started) return;
      started = true;
      coordinator.attach(loop);
      ratings?.start();
      await coordinator.announceStatus(false);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await ratings?.stop().catch(() => {});
      await coordinator.close();
      if (loop.state === 'active' || loop.state === 'updating') {
        await loop.deactivate('agent stopping', id).catch(() => {});
      }
      // Enforcements still running (e.g. a MANO operation on a clock nobody advances) must not hang stop().
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        t.unref();
        void loop.idle().then(() => {
          clearTimeout(t);
          resolve();
        });
      });
      (local as { stop?: () => void }).stop?.();
      await ms?.close?.();
      await knowledge.close();
    },
  };
}
