import { type Bus, type FlatWeights, loopScope, memoryKv, type TrainableModel } from '@sliceguard/core';
import { type createLocalNetwork, localBus } from '@sliceguard/bus';
import { type Coordinator, createCoordinator, createDenseAutoencoder, createFederatedClient, type FederatedClient } from '@sliceguard/federation';
import type { InProcessTopology } from '@sliceguard/agents';
import type { TrustStore } from '@sliceguard/identity';
import type { AgentSpec } from '@sliceguard/topology';
import { SimulationRunError } from './errors.js';
import type { SecurityLayerContext } from './layer.js';

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

export interface FederationRig {
  poison(nf: string, state: PoisonState): string;
  /** Resolves once no local training is in flight. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Federated training of one dense autoencoder per NF type (with at least two NFs of that type) per
 * domain: the domain's coordinator (`<domain>:fl`) runs a round every minute with update validation
 * on a coordinator-held set of normal samples, and each NF of the type is a client training on its
 * own recent normal samples. Round reports (accepted / rejected updates) and the global model's
 * validation loss go to the recorder.
 */
export async function startFederation(ctx: SecurityLayerContext, sim: InProcessTopology, network: LocalNetwork, trustStore: TrustStore): Promise<FederationRig> {
  const { engine, recorder } = ctx;
  const coordinators: Coordinator[] = [];
  const clients: FederatedClient[] = [];
  const buses: Bus[] = [];
  const poison = new Map<string, PoisonState>();
  const inFlight = new Set<Promise<unknown>>();
  const tracked = (model: TrainableModel): TrainableModel => ({
    ...model,
    getWeights: () => model.getWeights(),
    setWeights: (w) => model.setWeights(w),
    evaluate: (rows) => model.evaluate(rows),
    fit(rows, options) {
      const p = model.fit(rows, options);
      inFlight.add(p);
      p.then(
        () => inFlight.delete(p),
        () => inFlight.delete(p),
      );
      return p;
    },
  });
  const nfSpecs = sim.specs.filter((s) => s.nf);
  const rowsOf = (nf: string, metrics: readonly string[], from: number, to: number): Float32Array[] =>
    (recorder.series.get(nf) ?? []).filter((p) => p.t > from && p.t <= to && p.attackAdmitted === 0).map((p) => Float32Array.from(metrics.map((m) => scale(p.metrics[m] ?? 0))));

  for (const [domain, res] of sim.resources) {
    const byType = new Map<string, AgentSpec[]>();
    for (const s of nfSpecs.filter((x) => x.domain === domain)) byType.set(s.nf!.type, [...(byType.get(s.nf!.type) ?? []), s]);
    const types = [...byType].filter(([, specs]) => specs.length >= 2);
    if (types.length === 0) continue;
    const coordinatorBus = localBus({
      network,
      identity: res.authority.issue({ agentId: `${domain}:fl`, level: 'coordinator', scopes: [`sg.${domain}._fl.>`] }),
      trustStore,
      clock: engine.clock,
    });
    buses.push(coordinatorBus);
    // the coordinator's validation set: normal samples of the first minutes (filled lazily)
    const validation = new Map<string, Float32Array[]>();
    const models = types.map(([type, specs]) => {
      const metrics = specs[0].nf!.metrics;
      const scratch = createDenseAutoencoder({ inputs: metrics.length, hidden: [8, 3], seed: 1 });
      const rows: Float32Array[] = [];
      validation.set(type, rows);
      return { name: type, validation: { model: scratch, rows, tolerance: 0.5 } };
    });
    const coordinator = createCoordinator({
      bus: coordinatorBus,
      domain,
      kv: memoryKv(),
      models,
      clock: engine.clock,
      rng: ctx.rng.fork(`fl-${domain}`),
      logger: ctx.logger,
      ...(res.trust ? { trustSink: res.trust, trustView: res.trust } : {}),
      minClients: 2,
      roundTimeoutMs: 20_000,
      roundIntervalMs: 60_000,
      epochs: 2,
    });
    const evalModels = new Map(types.map(([type, specs]) => [type, createDenseAutoencoder({ inputs: specs[0].nf!.metrics.length, hidden: [8, 3], seed: 1 })]));
    coordinator.onRound((report) => {
      const head = coordinator.head(report.model);
      const rows = validation.get(report.model) ?? [];
      const m = evalModels.get(report.model);
      const finish = (l?: number) =>
        recorder.onFlRound({
          at: engine.now(),
          round: report.round,
          domain: `${domain}/${report.model}`,
          ...(l !== undefined ? { loss: l } : {}),
          accepted: report.accepted.length,
          rejected: report.rejected.length,
          note: `${report.outcome}${report.rejected.length ? `; rejected ${report.rejected.map((r) => `${r.clientId} (${r.reason})`).join(', ')}` : ''}${report.reason ? `; ${report.reason}` : ''}`,
        });
      if (head && m && rows.length > 0) {
        m.setWeights(head.weights);
        m.evaluate(rows).then(
          (l) => finish(l),
          () => finish(),
        );
      } else finish();
    });
    coordinators.push(coordinator);
    // fill the validation sets from the normal phase once it has data
    engine.at(Math.min(ctx.trainingEndMs, 180_000), () => {
      for (const [type, specs] of types) {
        const rows = validation.get(type)!;
        for (const s of specs) rows.push(...rowsOf(s.nf!.id, s.nf!.metrics, 30, engine.elapsed() / 1000));
      }
    });

    for (const [type, specs] of types) {
      for (const spec of specs) {
        const nf = spec.nf!;
        const bus = localBus({
          network,
          identity: res.authority.issue({
            agentId: spec.agentId,
            level: 'nf',
            ...(spec.placement.slice ? { slice: spec.placement.slice } : {}),
            ...(spec.placement.subslice ? { subslice: spec.placement.subslice } : {}),
            nf: nf.id,
            scopes: [loopScope('nf', spec.placement), `sg.${domain}._fl.${type}.>`],
          }),
          trustStore,
          clock: engine.clock,
        });
        buses.push(bus);
        const state: PoisonState = { factor: 1 };
        poison.set(nf.id, state);
        const trainable = tracked(poisonable(createDenseAutoencoder({ inputs: nf.metrics.length, hidden: [8, 3], seed: 1 }), state));
        const client = createFederatedClient({
          bus,
          domain,
          model: type,
          trainable,
          clock: engine.clock,
          logger: ctx.logger,
          minSamples: 10,
          data: () => rowsOf(nf.id, nf.metrics, engine.elapsed() / 1000 - 600, engine.elapsed() / 1000),
        });
        clients.push(client);
      }
    }
  }
  for (const c of clients) await c.start();
  for (const c of coordinators) await c.start();
  if (coordinators.length === 0) recorder.note('federation: no NF type with two or more NFs in a domain; no FL rounds');
  return {
    poison(nf, next) {
      const state = poison.get(nf);
      if (!state) throw new SimulationRunError(`no FL client for NF ${nf}`);
      state.mode = next.mode;
      state.factor = next.factor;
      return `${nf} now sends ${next.mode === 'scale' ? `updates scaled ×${next.factor}` : 'sign-flipped updates'}`;
    },
    async settle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async stop() {
      for (const c of coordinators) await c.stop();
      for (const c of clients) await c.stop();
      for (const b of buses) await b.close();
    },
  };
}
