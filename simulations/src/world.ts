import type { Rng } from '@sliceguard/core';
import type { Topology, TopologyNf } from '@sliceguard/topology';
import { type CapacityView, capacityOf, type TrafficGate } from './control.js';
import type { SimulationEngine } from './engine.js';
import { InvalidSimulationOptionsError, UnknownNfError } from './errors.js';
import { createNfModel, type FlowStat, type FlowTable, type LegitStats, type ModelOverrides, type NfModel, topFlows } from './models/index.js';
import { type Flow, scaleFlow, type TrafficGenerator } from './traffic.js';

/** A monitoring sample as the NF agent's simulation collector hands it over (mape's MonitoredSample). */
export interface FeedSample {
  at: number;
  values: Readonly<Record<string, number>>;
  flows?: readonly FlowStat[];
}

/** What the simulated NFs expose to monitoring: the "simulation's metric feed" collector reads this. */
export interface MetricFeed {
  /** NF ids in the feed. */
  nfs(): readonly string[];
  /** Metric names the NF exposes (its topology `metrics`). */
  metrics(nf: string): readonly string[];
  /**
   * Metrics averaged over the last `windowMs` (default: one tick) at the current simulated time;
   * with `perFlow`, the top flows (by rate, connections and bytes) of the last tick as well.
   */
  sample(nf: string, options?: { windowMs?: number; perFlow?: boolean; metrics?: readonly string[] }): FeedSample;
}

export interface WorldOptions {
  engine: SimulationEngine;
  topology: Topology;
  gate: TrafficGate;
  capacity: CapacityView;
  generators: readonly TrafficGenerator[];
  /** Tick of the traffic models. Default 1000 ms. */
  tickMs?: number;
  /** History kept per NF for windowed samples. Default 10 min. */
  historyMs?: number;
  noise?: number;
  modelOverrides?: Readonly<Record<string, ModelOverrides>>;
}

interface NfRuntime {
  spec: TopologyNf;
  domain: string;
  slice: string;
  subslice: string;
  model: NfModel;
  rng: Rng;
  history: { at: number; metrics: Record<string, number> }[];
  lastFlows?: FlowTable;
  lastLatencyMs: number;
}

/** Ground truth of one tick at one NF, for the report (never shown to agents). */
export interface TickTruth {
  at: number;
  legit: LegitStats;
  /** Attack requests (or packets, procedures) per second offered and admitted. */
  attackOffered: number;
  attackAdmitted: number;
  /** Legitimate traffic removed by gates / VSFs / isolation (benign collateral), per second. */
  legitFiltered: number;
}

export type TruthListener = (nf: string, truth: TickTruth, metrics: Readonly<Record<string, number>>) => void;

/**
 * The simulated network: one model per NF of the topology, traffic generators at entry NFs, and
 * forwarding along service chains (HTTP) and control / user planes (RAN → AMF → SMF, RAN → TN → UPF).
 * Every tick, each NF's inbound flows pass the TrafficGate (blocks, rate limits, vFirewall rules) and
 * isolation, then its model; the model's forwards feed the next NFs in the same tick.
 */
export class World implements MetricFeed {
  readonly tickMs: number;
  private readonly nfsById = new Map<string, NfRuntime>();
  private readonly order: string[];
  private readonly historyTicks: number;
  private readonly listeners: TruthListener[] = [];
  private timer?: { cancel(): void };
  private ticks = 0;

  constructor(private readonly options: WorldOptions) {
    this.tickMs = options.tickMs ?? 1000;
    this.historyTicks = Math.max(2, Math.ceil((options.historyMs ?? 600_000) / this.tickMs));
    for (const domain of options.topology.domains) {
      for (const slice of domain.slices) {
        for (const ss of slice.subslices) {
          if (ss.definedIn !== slice.id) continue;
          for (const nf of ss.nfs) {
            if (this.nfsById.has(nf.id)) {
              throw new InvalidSimulationOptionsError(`NF id "${nf.id}" appears in two domains; the simulator needs NF ids unique across the topology`, { nf: nf.id });
            }
            const rng = options.engine.fork(`nf:${domain.id}:${nf.id}`);
            const model = createNfModel({ nf, rng, noise: options.noise }, options.modelOverrides?.[nf.id]);
            this.nfsById.set(nf.id, { spec: nf, domain: domain.id, slice: slice.id, subslice: ss.id, model, rng, history: [], lastLatencyMs: 0 });
          }
        }
      }
    }
    for (const g of options.generators) for (const t of g.targets) if (!this.nfsById.has(t)) throw new UnknownNfError(t, [...this.nfsById.keys()]);
    this.order = this.topologicalOrder();
  }

  /** Starts ticking on the engine's clock. */
  start(): void {
    if (this.timer) return;
    this.timer = this.options.engine.every(this.tickMs, () => this.tick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  onTick(listener: TruthListener): void {
    this.listeners.push(listener);
  }

  get tickCount(): number {
    return this.ticks;
  }

  nfs(): readonly string[] {
    return [...this.nfsById.keys()];
  }

  nf(id: string): { spec: TopologyNf; domain: string; slice: string; subslice: string } {
    const r = this.nfsById.get(id);
    if (!r) throw new UnknownNfError(id, [...this.nfsById.keys()]);
    return { spec: r.spec, domain: r.domain, slice: r.slice, subslice: r.subslice };
  }

  metrics(nf: string): readonly string[] {
    return this.runtime(nf).spec.metrics;
  }

  sample(nf: string, options: { windowMs?: number; perFlow?: boolean; metrics?: readonly string[] } = {}): FeedSample {
    const r = this.runtime(nf);
    const now = this.options.engine.now();
    const windowMs = options.windowMs ?? this.tickMs;
    // ticks and loop timers due at the same instant fire in either order: count the tick at the window's edge
    let recent = r.history.filter((h) => h.at >= now - windowMs && h.at <= now);
    if (recent.length === 0 && r.history.length > 0) recent = [r.history[r.history.length - 1]];
    const names = options.metrics ?? r.spec.metrics;
    const values: Record<string, number> = {};
    for (const name of names) {
      if (recent.length === 0 || !r.spec.metrics.includes(name)) continue;
      let sum = 0;
      for (const h of recent) sum += h.metrics[name] ?? 0;
      values[name] = sum / recent.length;
    }
    const sample: FeedSample = { at: now, values };
    if (options.perFlow) sample.flows = r.lastFlows ? topFlows(r.lastFlows.build(), r.lastFlows.keys, 25) : [];
    return sample;
  }

  private runtime(nf: string): NfRuntime {
    const r = this.nfsById.get(nf);
    if (!r) throw new UnknownNfError(nf, [...this.nfsById.keys()]);
    return r;
  }

  /** Resolves a model's forward target to NF ids: a chain id, or a role within the slice. */
  private resolve(from: NfRuntime, to: string): string[] {
    if (this.nfsById.has(to) && to !== from.spec.id) return [to];
    const sameSlice = [...this.nfsById.values()].filter((r) => r.slice === from.slice && r !== from);
    const ofType = (types: string[]) => sameSlice.filter((r) => types.includes(r.spec.type)).map((r) => r.spec.id);
    if (to === 'user-plane') {
      if (from.spec.type === 'router') return ofType(['upf']);
      const routers = ofType(['router']);
      return routers.length > 0 ? routers : ofType(['upf']);
    }
    return ofType([to]);
  }

  private topologicalOrder(): string[] {
    // static successor graph: chains plus the plane roles the models forward to
    const roles: Record<string, string[]> = { gnb: ['amf', 'user-plane'], cu: ['amf', 'user-plane'], du: ['amf', 'user-plane'], amf: ['smf'], router: ['user-plane'] };
    const succ = new Map<string, Set<string>>();
    for (const r of this.nfsById.values()) {
      const next = new Set<string>();
      for (const c of r.spec.chain ?? []) for (const id of this.resolve(r, c)) next.add(id);
      for (const role of roles[r.spec.type] ?? []) for (const id of this.resolve(r, role)) next.add(id);
      succ.set(r.spec.id, next);
    }
    const indegree = new Map([...this.nfsById.keys()].map((k) => [k, 0]));
    for (const next of succ.values()) for (const n of next) indegree.set(n, (indegree.get(n) ?? 0) + 1);
    const queue = [...this.nfsById.keys()].filter((k) => indegree.get(k) === 0);
    const order: string[] = [];
    while (queue.length > 0) {
      const k = queue.shift()!;
      order.push(k);
      for (const n of succ.get(k) ?? []) {
        indegree.set(n, (indegree.get(n) ?? 0) - 1);
        if (indegree.get(n) === 0) queue.push(n);
      }
    }
    // cycles: the rest in file order; their back edges deliver on the next tick
    for (const k of this.nfsById.keys()) if (!order.includes(k)) order.push(k);
    return order;
  }

  private carried = new Map<string, Flow[]>();

  /** One tick of every NF (public for tests; normally driven by start()). */
  tick(): void {
    const now = this.options.engine.now();
    const dtMs = this.tickMs;
    this.ticks++;
    const inbound = new Map<string, Flow[]>([...this.nfsById.keys()].map((k) => [k, [] as Flow[]]));
    for (const [k, flows] of this.carried) inbound.get(k)?.push(...flows);
    this.carried = new Map();
    for (const g of this.options.generators) for (const t of g.targets) inbound.get(t)!.push(...g.flows(t, now, dtMs));
    const done = new Set<string>();
    for (const id of this.order) {
      const r = this.nfsById.get(id)!;
      const cap = capacityOf(this.options.capacity, id);
      const { admitted, attackOffered, attackAdmitted, legitFiltered } = this.admit(r, inbound.get(id) ?? [], cap.isolated);
      const downstream = (r.spec.chain ?? []).map((c) => this.nfsById.get(c)?.lastLatencyMs ?? 0);
      const out = r.model.step({
        now,
        dtMs,
        flows: admitted,
        replicas: cap.replicas,
        config: cap.config,
        downstreamLatencyMs: downstream.length ? Math.max(...downstream) : 0,
      });
      r.lastLatencyMs = out.latencyMs;
      this.options.capacity.reportUtilisation?.(id, out.utilisation);
      r.lastFlows = out.flowStats;
      r.history.push({ at: now, metrics: out.metrics });
      if (r.history.length > this.historyTicks) r.history.splice(0, r.history.length - this.historyTicks);
      done.add(id);
      for (const fwd of out.forward) {
        const targets = this.resolve(r, fwd.to);
        for (const t of targets) {
          const flow = targets.length > 1 ? scaleFlow(fwd.flow, 1 / targets.length) : fwd.flow;
          if (done.has(t)) {
            const list = this.carried.get(t) ?? [];
            list.push(flow);
            this.carried.set(t, list);
          } else {
            inbound.get(t)?.push(flow);
          }
        }
      }
      const truth: TickTruth = { at: now, legit: out.legit, attackOffered, attackAdmitted, legitFiltered };
      for (const l of this.listeners) l(id, truth, out.metrics);
    }
  }

  private admit(r: NfRuntime, flows: Flow[], isolated: boolean) {
    const now = this.options.engine.now();
    const id = r.spec.id;
    const admitted: Flow[] = [];
    let attackOffered = 0;
    let attackAdmitted = 0;
    let legitFiltered = 0;
    for (const f of flows) {
      const v = f.rps + (f.packetsPerS ?? 0) + (f.signaling ? f.signaling.attaches + f.signaling.rrcSetups : 0) + (f.slow ? f.holdConnections : 0);
      if (f.cls === 'attack') attackOffered += v;
      let factor = isolated ? 0 : 1;
      if (factor > 0) {
        const verdict = this.options.gate.verdict(id, f.source, now);
        if (verdict.blocked) factor = 0;
        else if (verdict.rpsLimit !== undefined) {
          const rate = f.rps + (f.packetsPerS ?? 0) + (f.slow ? f.holdConnections : 0);
          if (rate > verdict.rpsLimit) factor = rate > 0 ? verdict.rpsLimit / rate : 1;
        }
      }
      if (f.cls === 'attack') attackAdmitted += v * factor;
      else legitFiltered += v * (1 - factor);
      if (factor <= 0) continue;
      admitted.push(factor === 1 ? f : scaleFlow(f, factor));
    }
    return { admitted, attackOffered, attackAdmitted, legitFiltered };
  }
}
