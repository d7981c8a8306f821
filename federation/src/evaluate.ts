import { join } from 'node:path';
import type { TrustSink, TrustView } from '@sliceguard/core';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { createTrustManager } from '@sliceguard/trust';
import { aggregatorFromSpec } from './aggregators.js';
import { type LabeledDataset, loadLabeledDataset } from './data.js';
import { InvalidFederationOptionsError } from './errors.js';
import { detectionScores, quantile } from './metrics.js';
import { createDenseAutoencoder, type DenseAutoencoder } from './models/dense-autoencoder.js';
import { directionEvidence, REJECT_EVIDENCE, type ScreenedUpdate, screenRound } from './screening.js';
import { allFinite, l2Norm } from './weights.js';

/**
 * The reproducible evaluation of issue 8: federated vs centrally trained detector, and poisoning
 * (sign flipping, scaling, random, backdoor) at 10–40 % malicious clients against every defence.
 * Runs in one process on a simulated clock; the round logic (round-level screening, aggregators,
 * trust evidence) is the coordinator's own code, the transport is left out.
 */
export const ATTACKS = ['sign-flip', 'scaled', 'random', 'backdoor'] as const;
export type AttackKind = (typeof ATTACKS)[number];

export interface Defense {
  name: string;
  /** Aggregator spec (aggregatorFromSpec). */
  aggregator: string;
  /** Round-level screening (norm ratio vs the round median). */
  screening: boolean;
  /** A trust manager (@sliceguard/trust) fed with the coordinator's fl_quality evidence. */
  trust: boolean;
}

export const DEFAULT_DEFENSES: readonly Defense[] = [
  { name: 'fedavg', aggregator: 'fedavg', screening: false, trust: false },
  { name: 'median', aggregator: 'median', screening: false, trust: false },
  { name: 'trimmed-mean(0.3)', aggregator: 'trimmed-mean:0.3', screening: false, trust: false },
  { name: 'multi-krum', aggregator: 'multi-krum', screening: false, trust: false },
  { name: 'clip+fedavg', aggregator: 'clip+fedavg', screening: false, trust: false },
  { name: 'trust-weighted', aggregator: 'trust', screening: true, trust: true },
  { name: 'robust+trust', aggregator: 'trust-filter+clip+median', screening: true, trust: true },
];

export interface DatasetGroup {
  name: string;
  /** Data sets with the same metrics (directories under dataDir). */
  datasets: string[];
}

export const DEFAULT_GROUPS: readonly DatasetGroup[] = [
  { name: 'smd', datasets: ['machine-1-6', 'machine-2-1'] },
  { name: 'asd', datasets: ['omi-1', 'omi-2', 'omi-3'] },
];

export interface FederationEvaluationOptions {
  /** Directory holding the data sets (…/shared/data/server-metrics). */
  dataDir: string;
  groups?: DatasetGroup[];
  /** Clients per group, dealt round-robin over its data sets; each gets one contiguous segment. Default 10. */
  clients?: number;
  /** Each client trains on the most recent rows of its segment. Default 1000. */
  rowsPerClient?: number;
  rounds?: number;
  localEpochs?: number;
  hidden?: number[];
  learningRate?: number;
  attacks?: AttackKind[];
  fractions?: number[];
  defenses?: Defense[];
  /** Upper bound on epochs / rounds of the converged federated-vs-central comparison. Default 40; 0 skips it. */
  maxConvergenceRounds?: number;
  /** Run only the converged federated-vs-central comparison (no fixed-round runs, no poisoning). */
  convergenceOnly?: boolean;
  /** Quantile of training scores used as the threshold (the paper's 99th percentile). Default 0.99. */
  thresholdQuantile?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface F1Summary {
  /** Point-wise F1 per data set (no adjustment), and their mean. */
  f1: Record<string, number>;
  meanF1: number;
  /** Point-adjusted F1 per data set, and their mean. */
  f1PointAdjusted: Record<string, number>;
  meanF1PointAdjusted: number;
}

export interface PoisoningCell {
  attack: AttackKind;
  fraction: number;
  attackers: number;
  /** Defence name → global-model F1 after the last round. */
  f1: Record<string, F1Summary>;
}

export interface GroupReport {
  group: string;
  datasets: string[];
  clients: Array<{ id: string; dataset: string; rows: number }>;
  central: F1Summary;
  /**
   * Federated (FedAvg) vs central, both trained to convergence on the same rows with a label-free
   * stopping rule: stop when the training loss (on the pooled client rows) improved by less than 1 %
   * over the last 2 epochs / rounds, or after `maxConvergenceRounds`.
   */
  converged?: { central: F1Summary; centralEpochs: number; centralLoss: number; federated: F1Summary; federatedRounds: number; federatedLoss: number };
  /** Clean federated run per defence. */
  clean: Record<string, F1Summary>;
  poisoning: PoisoningCell[];
  seconds: number;
}

export interface FederationEvaluationReport {
  model: { kind: 'dense-autoencoder'; inputsByGroup: Record<string, number>; hidden: number[]; parametersByGroup: Record<string, number> };
  settings: Required<Omit<FederationEvaluationOptions, 'log' | 'groups' | 'defenses' | 'dataDir'>> & { groups: DatasetGroup[]; defenses: Defense[] };
  groups: GroupReport[];
  checks: Array<{ group: string; check: string; pass: boolean; detail: string }>;
}

interface SimClient {
  id: string;
  dataset: string;
  rows: Float32Array[];
  /** Anomalous rows the attacker wants to go unnoticed (backdoor): its own machine's attack traffic. */
  attackRows: Float32Array[];
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export async function evaluateFederation(options: FederationEvaluationOptions): Promise<FederationEvaluationReport> {
  const settings = {
    clients: options.clients ?? 10,
    rowsPerClient: options.rowsPerClient ?? 1000,
    rounds: options.rounds ?? 10,
    localEpochs: options.localEpochs ?? 1,
    hidden: options.hidden ?? [32, 8],
    learningRate: options.learningRate ?? 0.003,
    attacks: options.attacks ?? [...ATTACKS],
    fractions: options.fractions ?? [0.1, 0.2, 0.3, 0.4],
    thresholdQuantile: options.thresholdQuantile ?? 0.99,
    maxConvergenceRounds: options.maxConvergenceRounds ?? 40,
    convergenceOnly: options.convergenceOnly ?? false,
    seed: options.seed ?? 42,
    groups: options.groups ?? [...DEFAULT_GROUPS],
    defenses: options.defenses ?? [...DEFAULT_DEFENSES],
  };
  if (!(settings.clients >= 2) || !(settings.rounds >= 1)) {
    throw new InvalidFederationOptionsError('evaluation needs at least 2 clients and 1 round', { clients: settings.clients, rounds: settings.rounds });
  }
  const log = options.log ?? (() => {});
  const report: FederationEvaluationReport = {
    model: { kind: 'dense-autoencoder', inputsByGroup: {}, hidden: settings.hidden, parametersByGroup: {} },
    settings,
    groups: [],
    checks: [],
  };

  for (const group of settings.groups) {
    const t0 = performance.now();
    const datasets: LabeledDataset[] = [];
    for (const name of group.datasets) datasets.push(await loadLabeledDataset(join(options.dataDir, name), name));
    const inputs = datasets[0].metrics.length;
    for (const ds of datasets) {
      if (ds.metrics.length !== inputs) {
        throw new InvalidFederationOptionsError(`group ${group.name}: ${ds.name} has ${ds.metrics.length} metrics, ${datasets[0].name} ${inputs}`, { group: group.name });
      }
    }
    const clients = partition(datasets, settings.clients, settings.rowsPerClient);
    const newModel = (): DenseAutoencoder =>
      createDenseAutoencoder({ inputs, hidden: settings.hidden, learningRate: settings.learningRate, seed: settings.seed });
    const model = newModel();
    report.model.inputsByGroup[group.name] = inputs;
    report.model.parametersByGroup[group.name] = model.parameters;
    const initial = model.getWeights();

    const score = (values: Float32Array): F1Summary => {
      model.setWeights({ layout: initial.layout, values });
      const f1: Record<string, number> = {};
      const pa: Record<string, number> = {};
      for (const ds of datasets) {
        // each client recalibrates on its own recent data; per machine that is the union of its clients' rows
        const own = clients.filter((c) => c.dataset === ds.name).flatMap((c) => c.rows);
        const threshold = quantile(model.scores(own), settings.thresholdQuantile);
        const s = detectionScores(model.scores(ds.test), ds.labels, threshold);
        f1[ds.name] = round4(s.f1);
        pa[ds.name] = round4(s.f1PointAdjusted);
      }
      return {
        f1,
        meanF1: round4(mean(Object.values(f1))),
        f1PointAdjusted: pa,
        meanF1PointAdjusted: round4(mean(Object.values(pa))),
      };
    };

    // centrally trained reference: the same rows pooled, the same number of passes over them
    model.setWeights(initial);
    const pooled = clients.flatMap((c) => c.rows);
    await model.fit(pooled, { epochs: settings.rounds * settings.localEpochs });
    const central = score(model.getWeights().values);
    log(`${group.name}: central F1 ${central.meanF1} (PA ${central.meanF1PointAdjusted})`);

    const run = async (defense: Defense, attack: AttackKind | undefined, malicious: Set<string>): Promise<F1Summary> => {
      const rng = seededRng(`${settings.seed}:${defense.name}:${attack}:${malicious.size}`);
      const clock = new SimulatedClock(1_700_000_000_000);
      const trust = defense.trust ? await createTrustManager({ clock, defaults: { evaluateIntervalMs: 0 } }) : undefined;
      const sink: TrustSink | undefined = trust;
      const view: TrustView | undefined = trust;
      const aggregator = aggregatorFromSpec(defense.aggregator);
      let global: Float32Array = new Float32Array(initial.values);
      for (let r = 0; r < settings.rounds; r++) {
        const updates: ScreenedUpdate[] = [];
        for (const c of clients) {
          const evil = attack !== undefined && malicious.has(c.id);
          let values: Float32Array;
          if (evil && attack === 'random') {
            values = global.map((g) => g + rng.normal(0, 0.5));
          } else {
            model.setWeights({ layout: initial.layout, values: global });
            const rows = evil && attack === 'backdoor' ? [...c.rows, ...c.attackRows, ...c.attackRows] : c.rows;
            await model.fit(rows, { epochs: evil && attack === 'backdoor' ? 2 * settings.localEpochs : settings.localEpochs });
            values = model.getWeights().values;
            if (evil) values = poison(attack as AttackKind, values, global, clients.length / malicious.size);
          }
          if (!allFinite(values)) continue; // the per-message check rejects it
          updates.push({ clientId: c.id, values, samples: c.rows.length, deltaNorm: l2Norm(values, global) });
        }
        let kept = updates;
        if (defense.screening) {
          const screened = screenRound(updates, { maxNormRatio: 10, trustView: view });
          kept = screened.kept;
          for (const x of screened.rejected) {
            if (REJECT_EVIDENCE[x.reason] > 0) sink?.record({ subject: x.clientId, attribute: 'fl_quality', positive: 0, negative: REJECT_EVIDENCE[x.reason], source: 'coordinator', at: clock.now(), reason: x.reason });
          }
        }
        if (kept.length === 0) continue;
        let next: Float32Array;
        try {
          next = aggregator.aggregate(kept, { global, trust: view }).values;
        } catch {
          continue; // e.g. everyone distrusted: the coordinator publishes nothing this round
        }
        if (sink) {
          for (const e of directionEvidence(kept, next, global)) {
            sink.record({ subject: e.clientId, attribute: 'fl_quality', positive: e.positive, negative: e.negative, source: 'coordinator', at: clock.now() });
          }
        }
        global = next;
        await clock.advance(60_000);
      }
      trust?.stop();
      return score(global);
    };

    let converged: GroupReport['converged'];
    if (settings.maxConvergenceRounds > 0) {
      const plateau = (losses: number[]): boolean => {
        const n = losses.length;
        return n >= 3 && losses[n - 3] - losses[n - 1] < 0.01 * losses[n - 3];
      };
      model.setWeights(initial);
      const centralLosses: number[] = [];
      while (centralLosses.length < settings.maxConvergenceRounds && !plateau(centralLosses)) {
        await model.fit(pooled, { epochs: 1 });
        centralLosses.push(await model.evaluate(pooled));
      }
      const centralConverged = score(model.getWeights().values);
      let global: Float32Array = new Float32Array(initial.values);
      const fedLosses: number[] = [];
      const fedavg = aggregatorFromSpec('fedavg');
      while (fedLosses.length < settings.maxConvergenceRounds && !plateau(fedLosses)) {
        const updates = [];
        for (const c of clients) {
          model.setWeights({ layout: initial.layout, values: global });
          await model.fit(c.rows, { epochs: settings.localEpochs });
          updates.push({ clientId: c.id, values: model.getWeights().values, samples: c.rows.length });
        }
        global = fedavg.aggregate(updates).values;
        model.setWeights({ layout: initial.layout, values: global });
        fedLosses.push(await model.evaluate(pooled));
      }
      converged = {
        central: centralConverged,
        centralEpochs: centralLosses.length,
        centralLoss: round4(centralLosses.at(-1) ?? Number.NaN),
        federated: score(global),
        federatedRounds: fedLosses.length,
        federatedLoss: round4(fedLosses.at(-1) ?? Number.NaN),
      };
      log(
        `${group.name}: converged central F1 ${converged.central.meanF1} (${converged.centralEpochs} epochs, loss ${converged.centralLoss}) vs federated ${converged.federated.meanF1} (${converged.federatedRounds} rounds, loss ${converged.federatedLoss})`,
      );
    }
    if (settings.convergenceOnly) {
      const g: GroupReport = {
        group: group.name,
        datasets: group.datasets,
        clients: clients.map((c) => ({ id: c.id, dataset: c.dataset, rows: c.rows.length })),
        central,
        converged,
        clean: {},
        poisoning: [],
        seconds: Math.round((performance.now() - t0) / 100) / 10,
      };
      report.groups.push(g);
      report.checks.push(...checksOf(g, []));
      continue;
    }

    const clean: Record<string, F1Summary> = {};
    for (const d of settings.defenses) {
      clean[d.name] = await run(d, undefined, new Set());
      log(`${group.name}: clean ${d.name} F1 ${clean[d.name].meanF1} (PA ${clean[d.name].meanF1PointAdjusted})`);
    }
    const order = seededRng(`${settings.seed}:attackers`);
    const ids = clients.map((c) => c.id);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = order.int(i + 1);
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const poisoning: PoisoningCell[] = [];
    for (const attack of settings.attacks) {
      for (const fraction of settings.fractions) {
        const attackers = Math.max(1, Math.round(fraction * clients.length));
        const malicious = new Set(ids.slice(0, attackers));
        const cell: PoisoningCell = { attack, fraction, attackers, f1: {} };
        for (const d of settings.defenses) cell.f1[d.name] = await run(d, attack, malicious);
        poisoning.push(cell);
        log(`${group.name}: ${attack} ${Math.round(fraction * 100)}% → ${settings.defenses.map((d) => `${d.name} ${cell.f1[d.name].meanF1}`).join(', ')}`);
      }
    }
    const g: GroupReport = {
      group: group.name,
      datasets: group.datasets,
      clients: clients.map((c) => ({ id: c.id, dataset: c.dataset, rows: c.rows.length })),
      central,
      converged,
      clean,
      poisoning,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    report.groups.push(g);
    report.checks.push(...checksOf(g, settings.defenses));
  }
  return report;
}

/** What malicious clients send instead of their honest update (documented in docs/federation.md). */
function poison(attack: AttackKind, trained: Float32Array, global: Float32Array, boost: number): Float32Array {
  const out = new Float32Array(global.length);
  const factor: Record<Exclude<AttackKind, 'random'>, number> = {
    'sign-flip': -4, // reverse and amplify the honest direction
    scaled: 10, // boost the honest update tenfold
    backdoor: boost, // model replacement: scale by n / attackers so the backdoor survives averaging
  };
  const f = factor[attack as Exclude<AttackKind, 'random'>];
  for (let i = 0; i < out.length; i++) out[i] = global[i] + f * (trained[i] - global[i]);
  return out;
}

/** Deals `n` clients round-robin over the data sets; each takes the recent end of one contiguous segment. */
function partition(datasets: LabeledDataset[], n: number, rowsPerClient: number): SimClient[] {
  const perDataset = datasets.map((_, k) => Math.floor(n / datasets.length) + (k < n % datasets.length ? 1 : 0));
  const clients: SimClient[] = [];
  datasets.forEach((ds, k) => {
    const count = perDataset[k];
    const segment = Math.floor(ds.train.length / count);
    const attackRows = ds.test.filter((_, i) => ds.labels[i] === 1);
    for (let j = 0; j < count; j++) {
      const end = (j + 1) * segment;
      const start = Math.max(j * segment, end - rowsPerClient);
      clients.push({ id: `eval:${ds.name}-c${j}`, dataset: ds.name, rows: ds.train.slice(start, end), attackRows: attackRows.slice(0, Math.min(attackRows.length, rowsPerClient)) });
    }
  });
  return clients;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

function checksOf(g: GroupReport, defenses: readonly Defense[]): FederationEvaluationReport['checks'] {
  const checks: FederationEvaluationReport['checks'] = [];
  if (g.converged) {
    const gap = Math.abs(g.converged.federated.meanF1 - g.converged.central.meanF1);
    checks.push({
      group: g.group,
      check: 'federated vs central F1 within 0.02 (both trained to convergence)',
      pass: gap <= 0.02,
      detail: `federated ${g.converged.federated.meanF1} (${g.converged.federatedRounds} rounds), central ${g.converged.central.meanF1} (${g.converged.centralEpochs} epochs), gap ${gap.toFixed(4)}`,
    });
  }
  const fedavgClean = g.clean.fedavg?.meanF1;
  if (fedavgClean !== undefined) {
    const gap = Math.abs(fedavgClean - g.central.meanF1);
    checks.push({ group: g.group, check: 'federated (FedAvg) vs central F1 within 0.02 at the fixed round budget', pass: gap <= 0.02, detail: `federated ${fedavgClean}, central ${g.central.meanF1}, gap ${gap.toFixed(4)}` });
    for (const d of defenses.filter((x) => x.trust)) {
      const worst = g.poisoning
        .filter((c) => c.fraction <= 0.3 + 1e-9)
        .map((c) => ({ c, f1: c.f1[d.name]?.meanF1 ?? Number.NaN }))
        .sort((a, b) => a.f1 - b.f1)[0];
      if (!worst) continue;
      const drop = fedavgClean - worst.f1;
      checks.push({
        group: g.group,
        check: `${d.name}: F1 within 0.05 of the clean FedAvg run for every attack up to 30 %`,
        pass: drop <= 0.05,
        detail: `worst ${worst.f1} (${worst.c.attack} ${Math.round(worst.c.fraction * 100)} %), clean ${fedavgClean}, drop ${drop.toFixed(4)}`,
      });
    }
    const collapse = g.poisoning.map((c) => ({ c, drop: fedavgClean - (c.f1.fedavg?.meanF1 ?? fedavgClean) })).sort((a, b) => b.drop - a.drop)[0];
    if (collapse) {
      checks.push({
        group: g.group,
        check: 'plain FedAvg degrades under poisoning (visible in the same table)',
        pass: collapse.drop > 0.05,
        detail: `largest FedAvg drop ${collapse.drop.toFixed(4)} (${collapse.c.attack} ${Math.round(collapse.c.fraction * 100)} %)`,
      });
    }
  }
  return checks;
}

/** A compact text table of one group's poisoning results (mean point-wise F1). */
export function poisoningTable(g: GroupReport, metric: 'meanF1' | 'meanF1PointAdjusted' = 'meanF1'): string {
  const names = Object.keys(g.clean);
  const head = `| attack | attackers | ${names.join(' | ')} |`;
  const sep = `|---|---|${names.map(() => '---').join('|')}|`;
  const clean = `| none (clean) | 0 | ${names.map((n) => g.clean[n][metric].toFixed(3)).join(' | ')} |`;
  const rows = g.poisoning.map(
    (c) => `| ${c.attack} | ${Math.round(c.fraction * 100)} % (${c.attackers}) | ${names.map((n) => c.f1[n][metric].toFixed(3)).join(' | ')} |`,
  );
  return [head, sep, clean, ...rows].join('\n');
}
