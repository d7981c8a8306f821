import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRng } from '@sliceguard/core';
import { DEFAULT_DEFENSES, checksOf, evaluateFederation, type F1Summary, type GroupReport, meanOfSummaries, SIM_GROUP, sd } from '../src/evaluate.js';
import { padWindowScores, resolveEvalModelSpec } from '../src/evaluate-models.js';
import { simulateNfDatasets } from '../src/evaluate-sim.js';

const f1 = (meanF1: number, meanF1PointAdjusted = meanF1): F1Summary => ({ f1: { a: meanF1 }, meanF1, f1PointAdjusted: { a: meanF1PointAdjusted }, meanF1PointAdjusted });

/** A group report with chosen numbers: the checks must follow from them. */
function constructed(o: { central: number; federated: number; matched?: number; clean: number; robust30: number; robust40: number; fedavgWorst: number }): GroupReport {
  const central = f1(o.central);
  const federated = f1(o.federated);
  const matched = o.matched === undefined ? undefined : f1(o.matched);
  const cell = (attack: 'sign-flip' | 'scaled', fraction: number, robust: number, fedavg: number) => ({
    attack,
    fraction,
    attackers: Math.round(fraction * 10),
    f1: { fedavg: f1(fedavg), 'robust+trust': f1(robust) },
  });
  return {
    group: 'g',
    datasets: ['a'],
    clients: [],
    comparison: {
      rounds: 4,
      localEpochs: 2,
      centralEpochs: 8,
      runs: [{ seed: 1, central, federated, centralLoss: 0.1, federatedLoss: 0.2, ...(matched ? { centralMatched: { epochs: 3, loss: 0.19, f1: matched } } : {}) }],
      central,
      federated,
      gap: o.federated - o.central,
      gapPointAdjusted: o.federated - o.central,
      gapSd: 0,
      ...(matched ? { centralMatched: matched, matchedGap: o.federated - o.matched!, matchedGapPointAdjusted: 0, matchedGapSd: 0 } : {}),
    },
    central,
    clean: { fedavg: f1(o.clean), 'robust+trust': f1(o.clean) },
    poisoning: [cell('sign-flip', 0.1, o.clean, o.clean), cell('sign-flip', 0.3, o.robust30, o.fedavgWorst), cell('scaled', 0.4, o.robust40, o.clean)],
    seconds: 0,
  };
}

const defenses = DEFAULT_DEFENSES.filter((d) => d.name === 'fedavg' || d.name === 'robust+trust');
const byName = (checks: ReturnType<typeof checksOf>) => ({
  budget: checks.find((c) => c.check.startsWith('federated (FedAvg) vs central'))!,
  matched: checks.find((c) => c.check.startsWith('federated (FedAvg) vs loss-matched'))!,
  robust: checks.find((c) => c.check.startsWith('robust+trust'))!,
  collapse: checks.find((c) => c.check.startsWith('plain FedAvg'))!,
});

describe('federation evaluation: checks computed from the results', () => {
  it('passes when federated is within 0.02 of central, robust+trust within 0.05 of clean up to 30 %, and FedAvg collapses', () => {
    const c = byName(checksOf(constructed({ central: 0.5, federated: 0.485, matched: 0.49, clean: 0.5, robust30: 0.46, robust40: 0.1, fedavgWorst: 0.05 }), defenses));
    assert.equal(c.budget.pass, true);
    assert.equal(c.matched.pass, true);
    // the 40 % cell (0.1) is outside the target and must not fail it
    assert.equal(c.robust.pass, true, c.robust.detail);
    assert.match(c.robust.detail, /worst 0\.46 \(sign-flip 30 %\)/);
    assert.equal(c.collapse.pass, true);
    assert.match(c.collapse.detail, /largest FedAvg drop 0\.4500 \(sign-flip 30 %\)/);
  });

  it('fails each target when its numbers miss it', () => {
    const c = byName(checksOf(constructed({ central: 0.5, federated: 0.47, matched: 0.53, clean: 0.5, robust30: 0.44, robust40: 0.5, fedavgWorst: 0.48 }), defenses));
    assert.equal(c.budget.pass, false, 'gap 0.03 > 0.02');
    assert.equal(c.matched.pass, false, 'gap −0.06');
    assert.equal(c.robust.pass, false, 'drop 0.06 > 0.05');
    assert.equal(c.collapse.pass, false, 'FedAvg never drops by more than 0.05');
  });

  it('fails the loss-matched check when no central epoch reached the federated loss', () => {
    const c = byName(checksOf(constructed({ central: 0.5, federated: 0.5, clean: 0.5, robust30: 0.5, robust40: 0.5, fedavgWorst: 0.1 }), defenses));
    assert.equal(c.budget.pass, true);
    assert.equal(c.matched.pass, false);
    assert.match(c.matched.detail, /no loss-matched central model for 1 of 1 seeds/);
  });

  it('averages seeds per data set and gives the sample sd', () => {
    assert.equal(sd([1, 2, 3, 4]), Math.sqrt(5 / 3));
    assert.equal(sd([7]), 0);
    const m = meanOfSummaries([
      { f1: { a: 0.2, b: 0.4 }, meanF1: 0.3, f1PointAdjusted: { a: 0.5, b: 0.7 }, meanF1PointAdjusted: 0.6 },
      { f1: { a: 0.4, b: 0.6 }, meanF1: 0.5, f1PointAdjusted: { a: 0.7, b: 0.9 }, meanF1PointAdjusted: 0.8 },
    ]);
    assert.deepEqual(m.f1, { a: 0.3, b: 0.5 });
    assert.equal(m.meanF1, 0.4);
    assert.equal(m.meanF1PointAdjusted, 0.7);
    assert.equal(m.seeds, 2);
    assert.equal(m.sdF1, 0.1414);
  });

  it('aligns LSTM window scores with rows (first rows take the first window) and validates model specs', () => {
    assert.deepEqual([...padWindowScores(Float32Array.from([1, 2, 3]), 3, 5, 3)], [1, 1, 1, 2, 3]);
    assert.ok(Number.isNaN(padWindowScores(new Float32Array(0), 0, 2, 3)[0]));
    assert.equal(resolveEvalModelSpec({ kind: 'lstm' }).learningRate, 0.001);
    assert.throws(() => resolveEvalModelSpec({ kind: 'gru' as 'lstm' }), { code: 'FED_ERR_INVALID_OPTIONS' });
    assert.throws(() => resolveEvalModelSpec({ kind: 'lstm', window: 1 }), { code: 'FED_ERR_INVALID_OPTIONS' });
  });
});

/** Two small labelled data sets with the server-metrics layout: a 4-metric periodic series, anomalies as level shifts. */
function writeTinyData(dir: string): void {
  for (const [k, name] of ['m-a', 'm-b'].entries()) {
    const rng = seededRng(name);
    const row = (i: number, anomalous: boolean) => Array.from({ length: 4 }, (_, j) => (0.4 + 0.2 * Math.sin(i / 7 + j + k) + rng.normal(0, 0.02) + (anomalous ? 0.35 : 0)).toFixed(4)).join(',');
    const header = 'm0,m1,m2,m3';
    const train = [header, ...Array.from({ length: 240 }, (_, i) => row(i, false))];
    const labels = Array.from({ length: 160 }, (_, i) => (i >= 60 && i < 80) || (i >= 120 && i < 130));
    const test = [header, ...labels.map((l, i) => row(i, l))];
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'train.csv'), `${train.join('\n')}\n`);
    writeFileSync(join(dir, name, 'test.csv'), `${test.join('\n')}\n`);
    writeFileSync(join(dir, name, 'test_label.csv'), `label\n${labels.map((l) => (l ? 1 : 0)).join('\n')}\n`);
  }
}

describe('federation evaluation: small end-to-end runs', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-fed-eval-'));
    writeTinyData(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('dense: two seeds, equal budget, loss-matched central, one poisoning cell; the checks follow the numbers', async () => {
    const report = await evaluateFederation({
      dataDir: dir,
      groups: [{ name: 'tiny', datasets: ['m-a', 'm-b'] }],
      clients: 4,
      rowsPerClient: 100,
      rounds: 2,
      compareRounds: 3,
      compareLocalEpochs: 2,
      seeds: [1, 2],
      attacks: ['scaled'],
      fractions: [0.25],
      defenses: [...defenses],
    });
    const g = report.groups[0];
    const c = g.comparison;
    assert.equal(c.runs.length, 2);
    assert.equal(c.centralEpochs, 6);
    assert.equal(c.gap, Math.round((c.federated.meanF1 - c.central.meanF1) * 10_000) / 10_000);
    assert.equal(c.federated.seeds, 2);
    for (const r of c.runs) {
      assert.ok(r.centralLoss > 0 && r.federatedLoss > 0);
      if (r.centralMatched) assert.ok(r.centralMatched.loss <= r.federatedLoss && r.centralMatched.epochs <= 6);
    }
    assert.deepEqual(g.clients.map((x) => x.rows), [100, 100, 100, 100]);
    assert.equal(g.poisoning.length, 1);
    assert.equal(g.poisoning[0].attackers, 1);
    assert.deepEqual(Object.keys(g.clean), ['fedavg', 'robust+trust']);
    const budget = report.checks.find((x) => x.check.startsWith('federated (FedAvg) vs central'))!;
    assert.equal(budget.pass, Math.abs(c.gap) <= 0.02);
    const robust = report.checks.find((x) => x.check.startsWith('robust+trust'))!;
    assert.equal(robust.pass, g.clean.fedavg.meanF1 - g.poisoning[0].f1['robust+trust'].meanF1 <= 0.05);
    // the level shifts are easy: a trained detector finds them
    assert.ok(c.central.meanF1PointAdjusted > 0.5, `central PA F1 ${c.central.meanF1PointAdjusted}`);
  });

  it('lstm: the analytics LSTM autoencoder trains through the same evaluation (shared scaler, window scores)', async () => {
    const report = await evaluateFederation({
      dataDir: dir,
      groups: [{ name: 'tiny', datasets: ['m-a', 'm-b'] }],
      model: { kind: 'lstm', window: 4, units: 4 },
      clients: 2,
      rowsPerClient: 60,
      rounds: 1,
      seeds: [3],
      comparisonOnly: true,
    });
    assert.equal(report.model.kind, 'lstm');
    // 4 metrics, 4 units: encoder 4·4·4 + 4·4·4 + 16, decoder the same, output 4·4 + 4
    assert.equal(report.model.parametersByGroup.tiny, 2 * (64 + 64 + 16) + 20);
    const c = report.groups[0].comparison;
    assert.ok(c.federated.meanF1 >= 0 && c.federated.meanF1 <= 1 && c.runs[0].federatedLoss > 0);
  });
});

describe('federation evaluation: NF metrics from the simulations', function () {
  this.timeout(120000);

  it('labels a sample anomalous exactly when attack traffic reached its NF during its period', async () => {
    const sim = await simulateNfDatasets({ nfs: 2, seed: 5, trainingMs: 10 * 60_000, testMs: 12 * 60_000, dayMs: 10 * 60_000 });
    assert.deepEqual(
      sim.datasets.map((d) => d.name),
      ['streamer-1', 'streamer-2'],
    );
    for (const ds of sim.datasets) {
      const nf = sim.nfs.find((n) => n.id === ds.name)!;
      assert.equal(nf.attacks.length, 3);
      assert.deepEqual(nf.attacks.map((a) => a.kind).sort(), ['hulk', 'slowloris', 'volumetric-dos']);
      assert.equal(ds.train.length, 10 * 12 - 1);
      assert.equal(ds.test.length, ds.labels.length);
      // the sample at test offset t covers the ticks at whole seconds s with t − 5 < s ≤ t
      const expected = Array.from(ds.labels, (_, i) => {
        const t = (i + 1) * 5 + 0.5 - 5; // the first test sample is taken 0.5 s after the training phase's last
        return nf.attacks.some((a) => Math.floor(t) >= a.startS && Math.floor(t) - 4 < a.endS) ? 1 : 0;
      });
      assert.deepEqual([...ds.labels], expected);
      assert.ok(ds.metrics.includes('http_requests_per_s'));
    }
    // the workloads differ (non-IID clients)
    assert.notEqual(sim.nfs[0].meanRps, sim.nfs[1].meanRps);
  });

  it('runs the sim group through the evaluation (log + federated min-max scaling)', async () => {
    const report = await evaluateFederation({
      dataDir: '/nonexistent',
      groups: [SIM_GROUP],
      sim: { nfs: 2, seed: 5, trainingMs: 10 * 60_000, testMs: 12 * 60_000, dayMs: 10 * 60_000 },
      clients: 2,
      rowsPerClient: 100,
      rounds: 2,
      seeds: [1],
      comparisonOnly: true,
    });
    const g = report.groups[0];
    assert.deepEqual(g.datasets, ['streamer-1', 'streamer-2']);
    assert.equal(g.sim?.nfs.length, 2);
    assert.equal(report.model.inputsByGroup.sim, 8);
    // attacks on NF metrics are loud: even a briefly trained detector finds most of them
    assert.ok(g.comparison.central.meanF1PointAdjusted > 0.5, `central PA F1 ${g.comparison.central.meanF1PointAdjusted}`);
  });
});
