import { type Bus, type Clock, type FlatWeights, type Logger, loopScope, memoryKv, type Rng, type TrainableModel, type TrustSink, type TrustView } from '@sliceguard/core';
import { type createLocalNetwork, localBus } from '@sliceguard/bus';
import { type Coordinator, createCoordinator, createDenseAutoencoder, createFederatedClient, type FederatedClient } from '@sliceguard/federation';
import type { InProcessTopology } from '@sliceguard/agents';
import type { AgentIdentity, DomainAuthority, TrustStore } from '@sliceguard/identity';
import type { AgentSpec } from '@sliceguard/topology';
import { SimulationRunError } from './errors.js';
import { pendingWork, type SecurityLayerContext } from './layer.js';
import type { FlRoundRow, SeriesPoint } from './recorder.js';

type LocalNetwork = ReturnType<typeof createLocalNetwork>;

/** How a poisoning client corrupts its update: scale the local delta, or flip its sign. */
export interface PoisonState {
  mode?: 'scale' | 'sign-flip';
  factor: number;
}

/** Wraps a model so that, once poisoned, the weights it reports are a corrupted version of its local update. */
export function poisonable(model: TrainableModel, state: PoisonState): TrainableModel {
  let base: FlatWeights | undefined;
  return {
    getWeights() {
      const w = model.getWeights();
      if (!state.mode || !base || base.values.length !== w.values.length) return w;
      const values = new Float32Array(w.values.length);
      const sign = state.mode === 'scale' ? 1 : -1;
      for (let i = 0; i < values.length; i++) values[i] = base.values[i] + sign * state.factor * (w.values[i] - base.values[i]);
      return { layout: w.layout, values };
    },
    setWeights(w) {
      base = { layout: w.layout, values: Float32Array.from(w.values) };
      model.setWeights(w);
    },
    fit: (rows, options) => model.fit(rows, options),
    evaluate: (rows) => model.evaluate(rows),
  };
}

/** Metrics are ≥ 0 and span decades: log-compress them into roughly [0, 1] for the dense autoencoder. */
const scale = (x: number) => Math.log1p(Math.max(0, x)) / 12;

/**
 * An NF's normal samples (no attack traffic admitted) with `from < t ≤ to` (seconds of the run), one
 * log-compressed row per sampling period in `metrics` order: what its FL client trains on and what
 * the coordinator validates on. In a `processes` run the agents hosts read them from the world.
 */
export function flRows(series: readonly SeriesPoint[] | undefined, metrics: readonly string[], from: number, to: number): number[][] {
  return (series ?? []).filter((p) => p.t > from && p.t <= to && p.attackAdmitted === 0).map((p) => metrics.map((m) => scale(p.metrics[m] ?? 0)));
}

/** Simulated seconds of the window an FL client trains on (its NF's last 10 minutes). */
export const FL_DATA_WINDOW_S = 600;
/** The coordinator's validation set: the normal samples from 30 s up to this offset (or the end of training, if earlier). */
export const FL_VALIDATION_UNTIL_MS = 180_000;

/** One model (NF type) federated in a domain: its metrics and the NF agents that are its clients. */
export interface FlModelPlan {
  type: string;
  metrics: readonly string[];
  nfs: readonly AgentSpec[];
}

/** Per domain, the NF types with at least two NFs there: each gets a coordinator model and one client per NF. */
export function federationPlan(specs: readonly AgentSpec[]): Map<string, FlModelPlan[]> {
  const plan = new Map<string, FlModelPlan[]>();
  const byDomain = new Map<string, Map<string, AgentSpec[]>>();
  for (const s of specs) {
    if (!s.nf) continue;
    const types = byDomain.get(s.domain) ?? new Map<string, AgentSpec[]>();
    types.set(s.nf.type, [...(types.get(s.nf.type) ?? []), s]);
    byDomain.set(s.domain, types);
  }
  for (const [domain, types] of byDomain) {
    const models = [...types].filter(([, nfs]) => nfs.length >= 2).map(([type, nfs]) => ({ type, metrics: nfs[0].nf!.metrics, nfs }));
    if (models.length > 0) plan.set(domain, models);
  }
  return plan;
}

/** The domain coordinator's principal (`<domain>:fl`, level coordinator, the domain's FL subjects). */
export function flCoordinatorIdentity(authority: DomainAuthority, domain: string): AgentIdentity {
  return authority.issue({ agentId: `${domain}:fl`, level: 'coordinator', scopes: [`sg.${domain}._fl.>`] });
}

/**
 * An NF's FL client principal: the NF agent's id with its loop scope plus `sg.<domain>._fl.<type>.>`
 * (the simulations' NF credentials do not cover the FL subjects).
 */
export function flClientIdentity(authority: DomainAuthority, spec: AgentSpec): AgentIdentity {
  return authority.issue({
    agentId: spec.agentId,
    level: 'nf',
    ...(spec.placement.slice ? { slice: spec.placement.slice } : {}),
    ...(spec.placement.subslice ? { subslice: spec.placement.subslice } : {}),
    nf: spec.nf!.id,
    scopes: [loopScope('nf', spec.placement), `sg.${spec.domain}._fl.${spec.nf!.type}.>`],
  });
}

export interface FederationRig {
  poison(nf: string, state: PoisonState): string;
  /** Resolves once no local training (nor data read or validation) is in flight. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** A round report, as the recorder takes it. */
export type FlRoundReport = Omit<FlRoundRow, 't'> & { at: number };

/**
 * The moving parts of the simulations' federated learning, shared by the one-process layer
 * (startFederation) and the agents hosts of a `processes` run: coordinators (one per domain, one
 * model per NF type) whose round reports and global-model validation loss go to `onRound`, and
 * clients (one per NF, poisonable) training on their NF's recent normal samples. Every local
 * training, data read and validation is tracked so that `settle` can wait for it between engine
 * steps. The rig owns the buses it is given and closes them at `stop`.
 */
export function federationRig(o: { clock: Clock; logger: Logger; onRound: (row: FlRoundReport) => void }) {
  const coordinators: Coordinator[] = [];
  const clients: FederatedClient[] = [];
  const buses: Bus[] = [];
  const poison = new Map<string, PoisonState>();
  const work = pendingWork();
  const track = work.track;
  const tracked = (model: TrainableModel): TrainableModel => ({
    ...model,
    getWeights: () => model.getWeights(),
    setWeights: (w) => model.setWeights(w),
    evaluate: (rows) => model.evaluate(rows),
    fit: (rows, options) => track(model.fit(rows, options)),
  });
  const rig = {
    /**
     * The domain's coordinator on `bus` (`<domain>:fl`): a round every minute, update validation on
     * a coordinator-held set of normal samples (see addValidation), robust aggregation, and the
     * domain's Trust Manager as trust sink and view when given.
     */
    coordinator(c: { bus: Bus; domain: string; models: readonly Pick<FlModelPlan, 'type' | 'metrics'>[]; rng: Rng; trust?: TrustSink & TrustView }) {
      buses.push(c.bus);
      const validation = new Map<string, Float32Array[]>();
      const models = c.models.map(({ type, metrics }) => {
        const rows: Float32Array[] = [];
        validation.set(type, rows);
        return { name: type, validation: { model: createDenseAutoencoder({ inputs: metrics.length, hidden: [8, 3], seed: 1 }), rows, tolerance: 0.5 } };
      });
      const coordinator = createCoordinator({
        bus: c.bus,
        domain: c.domain,
        kv: memoryKv(),
        models,
        clock: o.clock,
        rng: c.rng,
        logger: o.logger,
        ...(c.trust ? { trustSink: c.trust, trustView: c.trust } : {}),
        minClients: 2,
        roundTimeoutMs: 20_000,
        roundIntervalMs: 60_000,
        epochs: 2,
      });
      const evalModels = new Map(c.models.map(({ type, metrics }) => [type, createDenseAutoencoder({ inputs: metrics.length, hidden: [8, 3], seed: 1 })]));
      coordinator.onRound((report) => {
        const head = coordinator.head(report.model);
        const rows = validation.get(report.model) ?? [];
        const m = evalModels.get(report.model);
        const at = o.clock.now();
        const finish = (l?: number) =>
          o.onRound({
            at,
            round: report.round,
            domain: `${c.domain}/${report.model}`,
            ...(l !== undefined ? { loss: l } : {}),
            accepted: report.accepted.length,
            rejected: report.rejected.length,
            note: `${report.outcome}${report.rejected.length ? `; rejected ${report.rejected.map((r) => `${r.clientId} (${r.reason})`).join(', ')}` : ''}${report.reason ? `; ${report.reason}` : ''}`,
          });
        if (head && m && rows.length > 0) {
          m.setWeights(head.weights);
          void track(m.evaluate(rows)).then(
            (l) => finish(l),
            () => finish(),
          );
        } else finish();
      });
      coordinators.push(coordinator);
      return {
        /** Adds normal rows of one model (NF type) to the coordinator's validation set. */
        addValidation(type: string, rows: readonly (readonly number[])[]) {
          const set = validation.get(type);
          if (!set) throw new SimulationRunError(`the ${c.domain} FL coordinator has no model ${type}`);
          for (const r of rows) set.push(Float32Array.from(r));
        },
      };
    },
    /** The FL client of one NF on `bus` (its FL principal): trains on `data` (its recent normal rows) when selected; poisonable. */
    client(c: { bus: Bus; domain: string; type: string; nf: string; metrics: readonly string[]; data: () => number[][] | Promise<number[][]> }) {
      buses.push(c.bus);
      const state: PoisonState = { factor: 1 };
      poison.set(c.nf, state);
      const trainable = tracked(poisonable(createDenseAutoencoder({ inputs: c.metrics.length, hidden: [8, 3], seed: 1 }), state));
      clients.push(
        createFederatedClient({
          bus: c.bus,
          domain: c.domain,
          model: c.type,
          trainable,
          clock: o.clock,
          logger: o.logger,
          minSamples: 10,
          data: () => track(Promise.resolve(c.data())).then((rows) => rows.map((r) => Float32Array.from(r))),
        }),
      );
    },
    /** Starts the clients, then the coordinators. */
    async start() {
      for (const c of clients) await c.start();
      for (const c of coordinators) await c.start();
    },
    get coordinators() {
      return coordinators.length;
    },
    get buses(): readonly Bus[] {
      return buses;
    },
    poison(nf: string, next: PoisonState): string {
      const state = poison.get(nf);
      if (!state) throw new SimulationRunError(`no FL client for NF ${nf}`);
      state.mode = next.mode;
      state.factor = next.factor;
      return `${nf} now sends ${next.mode === 'scale' ? `updates scaled ×${next.factor}` : 'sign-flipped updates'}`;
    },
    settle: () => work.settle(),
    async stop() {
      for (const c of coordinators) await c.stop();
      for (const c of clients) await c.stop();
      for (const b of buses) await b.close();
    },
  };
  return rig;
}

/** The fl-poisoning fault's parameters: `mode` scale (default, ×`factor`, default 50) or sign-flip. */
export function poisonParams(params: Record<string, unknown> | undefined): PoisonState {
  const mode = params?.mode === 'sign-flip' ? 'sign-flip' : 'scale';
  return { mode, factor: Number(params?.factor ?? (mode === 'scale' ? 50 : 1)) };
}

/**
 * Federated training of one dense autoencoder per NF type (with at least two NFs of that type) per
 * domain, all in this process on the LocalBus: the domain's coordinator (`<domain>:fl`) runs a
 * round every minute with update validation on a coordinator-held set of normal samples, and each
 * NF of the type is a client training on its own recent normal samples. Round reports (accepted /
 * rejected updates) and the global model's validation loss go to the recorder.
 */
export async function startFederation(ctx: SecurityLayerContext, sim: InProcessTopology, network: LocalNetwork, trustStore: TrustStore): Promise<FederationRig> {
  const { engine, recorder } = ctx;
  const rig = federationRig({ clock: engine.clock, logger: ctx.logger, onRound: (row) => recorder.onFlRound(row) });
  const plan = federationPlan(sim.specs);
  const elapsedS = () => engine.elapsed() / 1000;
  for (const [domain, models] of plan) {
    const res = sim.resources.get(domain);
    if (!res) continue;
    const bus = (identity: AgentIdentity) => localBus({ network, identity, trustStore, clock: engine.clock });
    const coordinator = rig.coordinator({ bus: bus(flCoordinatorIdentity(res.authority, domain)), domain, models, rng: ctx.rng.fork(`fl-${domain}`), ...(res.trust ? { trust: res.trust } : {}) });
    // the validation sets: normal samples of the first minutes
    engine.at(Math.min(ctx.trainingEndMs, FL_VALIDATION_UNTIL_MS), () => {
      for (const m of models) for (const s of m.nfs) coordinator.addValidation(m.type, flRows(recorder.series.get(s.nf!.id), m.metrics, 30, elapsedS()));
    });
    for (const m of models) {
      for (const spec of m.nfs) {
        const nf = spec.nf!.id;
        rig.client({
          bus: bus(flClientIdentity(res.authority, spec)),
          domain,
          type: m.type,
          nf,
          metrics: m.metrics,
          data: () => flRows(recorder.series.get(nf), m.metrics, elapsedS() - FL_DATA_WINDOW_S, elapsedS()),
        });
      }
    }
  }
  await rig.start();
  if (rig.coordinators === 0) recorder.note('federation: no NF type with two or more NFs in a domain; no FL rounds');
  return rig;
}
