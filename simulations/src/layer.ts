import type { ActionOutcome, ActionRequest, Actuator, Logger, Rng } from '@sliceguard/core';
import { createSimulatedMano, createTrafficFilter, type ManoEvent, type SimulatedMano } from '@sliceguard/enforcement';
import type { AgentSpec, Topology } from '@sliceguard/topology';
import { type CapacityView, filterGate, manoCapacity, type TrafficGate } from './control.js';
import type { SimulationEngine } from './engine.js';
import type { Recorder } from './recorder.js';
import type { MetricFeed } from './world.js';

/** Faults a scenario injects; a layer implements those it supports (the rest are noted as skipped). */
export const FAULT_KINDS = ['agent-crash', 'agent-restart', 'broker-crash', 'stolen-key', 'rogue-agent', 'fl-poisoning'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  /** Offset from the start of the run, ms. */
  atMs: number;
  kind: FaultKind;
  /** Agent id, NF id, broker name… depending on the kind. */
  target: string;
  params?: Record<string, unknown>;
}

export type FaultHandler = (fault: FaultSpec) => Promise<string | undefined>;

export interface SecurityLayerContext {
  engine: SimulationEngine;
  topology: Topology;
  agents: readonly AgentSpec[];
  feed: MetricFeed;
  recorder: Recorder;
  samplingPeriodMs: number;
  /** Offset (ms) at which the normal-only training phase ends and attacks may start. */
  trainingEndMs: number;
  rng: Rng;
  logger: Logger;
  /** The detector the scenario asks for (a layer may override it). */
  detector: 'lstm' | 'statistical';
  /** Whether the MANO runs its own autoscaler. */
  autoscaler: boolean;
  /** Whether the scenario wants federated learning of the NF detectors. */
  federated: boolean;
  /** The scenario's brokers: the LocalBus, or a nats-server cluster the layer starts (see ScenarioDefinition.brokers). */
  brokers: 'local' | 'nats-cluster';
  /** The run's seed (layers that start other processes pass it on). */
  seed?: number | string;
  /** The topology file the scenario was loaded from (layers that start other processes pass it on). */
  topologyFile?: string;
}

/**
 * The closed loops that protect the simulated network. The layer owns the enforcement points the
 * traffic models obey (`gate`, `capacity`) and reports what happens to the recorder.
 */
export interface SecurityLayer {
  readonly name: string;
  readonly gate: TrafficGate;
  readonly capacity: CapacityView;
  start(): Promise<void>;
  /** Called once at the end of the training phase (e.g. to train and install the LSTM detectors). */
  endTraining?(): Promise<void>;
  /**
   * When present, the engine advances in 1 s steps and awaits this between them: wall-clock work the
   * layer started (federated training) completes before simulated time moves on.
   */
  settle?(): Promise<void>;
  /** Periodic sampling of trust scores, bus statistics… (every sampling period). */
  observe?(): void;
  stop(): Promise<void>;
  faults?: Partial<Record<FaultKind, FaultHandler>>;
}

export type SecurityLayerFactory = (ctx: SecurityLayerContext) => Promise<SecurityLayer>;

/** Wraps an actuator so every executed request lands in the recorder. */
export function recordingActuator(actuator: Actuator, recorder: Recorder): Actuator {
  const wrapped: Actuator & { undo?: unknown } = {
    name: actuator.name,
    handles: actuator.handles,
    async execute(request: ActionRequest, options?: { signal?: AbortSignal }): Promise<ActionOutcome> {
      const outcome = await actuator.execute(request, options);
      recorder.onAction(request, outcome);
      return outcome;
    },
  };
  // keep the undo capability (expiring actions) of enforcement actuators
  const undo = (actuator as { undo?: (...a: unknown[]) => Promise<ActionOutcome> }).undo;
  if (typeof undo === 'function') wrapped.undo = undo.bind(actuator);
  return wrapped;
}

/** Records the MANO's own autoscaling decisions (they are not security mitigations). */
export function recordManoEvents(mano: SimulatedMano, recorder: Recorder): () => void {
  return mano.onEvent((e: ManoEvent) => {
    if (e.by !== 'mano:autoscaler') return;
    if (e.kind !== 'scaled') return;
    const type = e.details.direction === 'scale_in' ? 'scale_in' : 'scale_out';
    const id = `autoscale-${e.nf}-${e.at}`;
    const detail = `replicas ${String(e.details.previous)} → ${String(e.details.replicas)}`;
    recorder.onAction({ id, type, target: e.nf, params: {}, requestedBy: e.by, at: e.at }, { id, type, target: e.nf, status: 'succeeded', at: e.at, detail });
  });
}

/**
 * No loops at all: the unprotected baseline. The network still has its MANO (with its own
 * autoscaler) and an empty traffic filter, so the only difference to a protected run is the loops.
 */
export function noSecurityLayer(): SecurityLayerFactory {
  return async (ctx) => {
    const filter = createTrafficFilter({ clock: ctx.engine.clock, name: 'baseline-filter' });
    const nfs = ctx.agents.filter((a) => a.nf).map((a) => ({ id: a.nf!.id, type: a.nf!.type, replicas: { ...a.nf!.replicas } }));
    const mano = createSimulatedMano({ clock: ctx.engine.clock, nfs, trafficFilter: filter, logger: ctx.logger, ...(ctx.autoscaler ? {} : { autoscaler: false as const }) });
    const off = recordManoEvents(mano, ctx.recorder);
    ctx.recorder.note(`security layer: none (unprotected baseline${ctx.autoscaler ? '; the MANO autoscaler still runs' : ''})`);
    return {
      name: 'none',
      gate: filterGate(filter),
      capacity: manoCapacity(mano),
      async start() {
        mano.start();
      },
      async stop() {
        off();
        mano.stop();
      },
    };
  };
}

/**
 * Wall-clock work started at a simulated instant that the engine must wait for before simulated
 * time moves on (a layer's `settle`): `track` registers a promise, `settle` resolves once none is
 * pending (also work that pending work started meanwhile).
 */
export function pendingWork() {
  const pending = new Set<Promise<unknown>>();
  return {
    track<T>(p: Promise<T>): Promise<T> {
      pending.add(p);
      p.then(
        () => pending.delete(p),
        () => pending.delete(p),
      );
      return p;
    },
    async settle(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
