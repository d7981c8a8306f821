import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryKv } from '@sliceguard/core';
import {
  calibrateThreshold,
  createBatchedScorer,
  createLstmDetector,
  fitScoreBaseline,
  loadModel,
  loadModelFromKv,
  loadTf,
  LstmAutoencoder,
  ModelLoadError,
  ModelShapeError,
  restoreScoreBaseline,
  saveModel,
  saveModelToKv,
  trainLstmAutoencoder,
} from '../src/index.js';
import { METRICS, normalSeries, valuesOf } from './helpers.js';

const SMALL = { metrics: METRICS, window: 8, encoderUnits: [8], seed: 3 };

describe('analytics: LSTM autoencoder', function () {
  this.timeout(120_000);
  let model: LstmAutoencoder;
  let firstLoss = 0;
  const train = normalSeries(360, 1);

  before(async () => {
    model = await trainLstmAutoencoder(train, {
      model: SMALL,
      backend: 'wasm',
      train: { epochs: 12, batchSize: 32, validationSplit: 0.2, patience: 5, onEpoch: (e, l) => (e === 0 ? (firstLoss = l.loss) : undefined) },
      threshold: { method: 'p99' },
    });
  });
  after(() => model?.dispose());

  it('trains (loss falls), calibrates a p99 threshold and flags injected anomalies naming the metric', async () => {
    assert.equal(model.backend, 'wasm');
    const meta = model.metadata!;
    assert.ok(meta.finalLoss < firstLoss * 0.6, `loss fell from ${firstLoss} to ${meta.finalLoss}`);
    assert.ok(meta.finalValLoss !== undefined);
    const threshold = model.threshold!;
    assert.equal(threshold.method, 'p99');
    const test = normalSeries(200, 99, 360);
    for (let t = 120; t < 130; t++) test[t][2] += 3; // response time jumps by ~60 sigma
    const { scores, perMetric, count } = await model.scoreRows(test);
    assert.equal(count, 200 - 8 + 1);
    const flagged = (k: number): boolean => scores[k] > threshold.value();
    // windows k cover rows k..k+7: those overlapping 120..129 are k = 113..129
    const inAttack = Array.from({ length: 17 }, (_, i) => 113 + i);
    assert.ok(inAttack.filter(flagged).length >= 12, `most windows over the anomaly are flagged (${inAttack.filter(flagged).length}/17)`);
    const normal = Array.from({ length: count }, (_, k) => k).filter((k) => k < 100 || k > 140);
    const falseAlarms = normal.filter(flagged).length;
    assert.ok(falseAlarms / normal.length < 0.08, `few false alarms on normal windows: ${falseAlarms}/${normal.length}`);
    // the response-time metric carries most of the error in the anomalous windows
    const k = 125;
    const rt = perMetric[k * 3 + 2];
    assert.ok(rt > perMetric[k * 3] && rt > perMetric[k * 3 + 1], 'rt is the top contributor');
  });

  it('weights → flat array → weights is the identity, and a wrong shape is a clear error', async () => {
    const w = model.getWeights();
    assert.equal(w.values.length, model.parameterCount);
    assert.deepEqual(
      w.layout.map((l) => l.name),
      ['encoder_0/kernel', 'encoder_0/recurrent_kernel', 'encoder_0/bias', 'decoder_0/kernel', 'decoder_0/recurrent_kernel', 'decoder_0/bias', 'output/kernel', 'output/bias'],
    );
    const other = await LstmAutoencoder.create({ ...SMALL, seed: 4 }, { backend: 'wasm' });
    try {
      assert.notDeepEqual(other.getWeights().values, w.values);
      other.setWeights(w);
      const back = other.getWeights();
      assert.deepEqual(back.layout, w.layout);
      assert.ok(Buffer.from(back.values.buffer).equals(Buffer.from(w.values.buffer)), 'bit-identical weights');
      other.scaler.load(model.scaler);
      const a = await model.scoreRows(train.slice(0, 40));
      const b = await other.scoreRows(train.slice(0, 40));
      assert.deepEqual(b.scores, a.scores);
    } finally {
      other.dispose();
    }
    const wide = await LstmAutoencoder.create({ ...SMALL, encoderUnits: [6] }, { backend: 'wasm' });
    try {
      assert.throws(() => wide.setWeights(w), (e: unknown) => e instanceof ModelShapeError && /encoder_0\/kernel\[3x32\].*expected encoder_0\/kernel\[3x24\]/.test(e.message));
    } finally {
      wide.dispose();
    }
    const bad = { layout: w.layout, values: w.values.slice() };
    bad.values[5] = Number.NaN;
    assert.throws(() => model.setWeights(bad), /not finite/);
  });

  it('persists topology, weights, scaler, threshold and metadata to a directory and a KeyValueStore bit-exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sg-analytics-'));
    try {
      await saveModel(model, dir);
      const loaded = await loadModel(dir, { backend: 'wasm', expectMetrics: METRICS });
      try {
        assert.deepEqual(loaded.config, model.config);
        assert.deepEqual(loaded.scaler.toJSON(), model.scaler.toJSON());
        assert.deepEqual(loaded.threshold?.toJSON(), model.threshold?.toJSON());
        assert.ok(Object.is(loaded.threshold?.value(), model.threshold?.value()));
        assert.deepEqual(loaded.metadata, model.metadata);
        assert.ok(Buffer.from(loaded.getWeights().values.buffer).equals(Buffer.from(model.getWeights().values.buffer)));
        assert.deepEqual((await loaded.scoreRows(train.slice(0, 30))).scores, (await model.scoreRows(train.slice(0, 30))).scores);
      } finally {
        loaded.dispose();
      }
      await assert.rejects(loadModel(dir, { backend: 'wasm', expectMetrics: ['cpu', 'mem'] }), ModelShapeError);
      // a manifest whose architecture disagrees with its weights
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      manifest.config.encoderUnits = [6];
      manifest.config.decoderUnits = [6];
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
      await assert.rejects(loadModel(dir, { backend: 'wasm' }), (e: unknown) => e instanceof ModelShapeError && /layout/.test(e.message));
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(10));
      await assert.rejects(loadModel(dir, { backend: 'wasm' }), (e: unknown) => e instanceof ModelShapeError && /10 bytes/.test(e.message));
      await assert.rejects(loadModel(join(dir, 'nope'), { backend: 'wasm' }), ModelLoadError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const kv = memoryKv();
    await saveModelToKv(model, kv, 'nf-1/model');
    const fromKv = await loadModelFromKv(kv, 'nf-1/model', { backend: 'wasm' });
    try {
      assert.deepEqual(fromKv.scaler.toJSON(), model.scaler.toJSON());
      assert.deepEqual(fromKv.threshold?.toJSON(), model.threshold?.toJSON());
      assert.ok(Buffer.from(fromKv.getWeights().values.buffer).equals(Buffer.from(model.getWeights().values.buffer)));
    } finally {
      fromKv.dispose();
    }
    await assert.rejects(loadModelFromKv(kv, 'other'), ModelLoadError);
  });

  it('normalized score: per-metric errors divided by their mean training error; saved and restored; evaluate stays MAE', async () => {
    const kv = memoryKv();
    await saveModelToKv(model, kv, 'copy');
    const m = await loadModelFromKv(kv, 'copy', { backend: 'wasm' });
    try {
      const raw = await m.scoreRows(train);
      const fitted = await m.fitScoring(train, { mode: 'normalized', floor: 0.1 });
      assert.equal(m.scoring.mode, 'normalized');
      const divisors = m.scoring.mode === 'normalized' ? m.scoring.divisors : [];
      // divisor = mean training error of the metric (floored at 0.1 × their mean)
      const f = METRICS.length;
      const means = METRICS.map((_, j) => raw.scores.reduce((acc, _s, i) => acc + raw.perMetric[i * f + j], 0) / raw.count);
      const overall = means.reduce((a, b) => a + b, 0) / f;
      means.forEach((mu, j) => assert.ok(Math.abs(divisors[j] - Math.max(mu, 0.1 * overall)) <= 1e-6 * Math.max(1, mu), `divisor ${j}`));
      // normalised training scores average 1 when no divisor is floored
      if (means.every((mu) => mu >= 0.1 * overall)) {
        const mean = fitted.scores.reduce((a, b) => a + b, 0) / fitted.count;
        assert.ok(Math.abs(mean - 1) < 1e-3, `mean normalised training score ${mean}`);
      }
      const k = 40;
      for (let j = 0; j < f; j++) assert.ok(Math.abs(fitted.perMetric[k * f + j] - raw.perMetric[k * f + j] / divisors[j]) <= 1e-6 * Math.max(1, fitted.perMetric[k * f + j]));
      const again = await m.scoreRows(train.slice(0, 50));
      assert.deepEqual(again.scores, fitted.scores.slice(0, 50 - 8 + 1));
      // evaluate is the training loss (raw MAE) whatever the score mode
      const rows = train.map((r) => Float32Array.from(r));
      assert.ok(Math.abs((await m.evaluate(rows)) - raw.scores.reduce((a, b) => a + b, 0) / raw.count) < 1e-6);
      const kv2 = memoryKv();
      await saveModelToKv(m, kv2, 'normalized');
      const back = await loadModelFromKv(kv2, 'normalized', { backend: 'wasm' });
      try {
        assert.deepEqual(back.scoring, m.scoring);
        assert.deepEqual((await back.scoreRows(train.slice(0, 50))).scores, again.scores);
      } finally {
        back.dispose();
      }
      await assert.rejects(m.fitScoring(train, { mode: 'nope' as 'mae' }), /score mode/);
    } finally {
      m.dispose();
    }
  });

  it('relative score: threshold on relative training scores, saved and restored bit-exactly, streaming = batched = offline judging per agent', async () => {
    const kv = memoryKv();
    await saveModelToKv(model, kv, 'copy-rel');
    const m = await loadModelFromKv(kv, 'copy-rel', { backend: 'wasm' });
    const dir = await mkdtemp(join(tmpdir(), 'sg-analytics-rel-'));
    try {
      const raw = await m.scoreRows(train);
      const threshold = await m.calibrate(train, { method: 'p99' }, { mode: 'mae', baseline: { window: 60 } });
      const expected = fitScoreBaseline(raw.scores, { window: 60 });
      assert.deepEqual(m.baseline, expected.state);
      assert.equal(m.baseline?.adaptAfter, 30);
      assert.ok(Object.is(threshold.value(), calibrateThreshold(expected.relative, { method: 'p99' }).value()), 'threshold calibrated on the relative training scores');
      // calibrate without score options keeps (refits) the model's own baseline
      await m.calibrate(train, { method: 'p99' });
      assert.deepEqual(m.baseline, expected.state);
      await saveModel(m, dir);
      const loaded = await loadModel(dir, { backend: 'wasm' });
      try {
        assert.deepEqual(loaded.baseline, m.baseline);
        loaded.baseline!.history.forEach((v, i) => assert.ok(Object.is(v, m.baseline!.history[i])));
        assert.ok(Object.is(loaded.threshold?.value(), m.threshold?.value()));
      } finally {
        loaded.dispose();
      }
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      manifest.baseline.history = [];
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
      await assert.rejects(loadModel(dir, { backend: 'wasm' }), (e: unknown) => e instanceof ModelShapeError && /score baseline/.test(e.message));
      // two agents: one normal, one whose cpu gets noisier for good (its error level rises) with a spike later
      const agents = ['steady', 'drift'];
      const series = [normalSeries(160, 31), normalSeries(160, 32, 5)];
      for (let t = 40; t < 160; t++) series[1][t][0] += (series[1][t][0] - 10) * 0.6;
      for (let t = 140; t < 143; t++) series[1][t][2] += 3;
      const batched = createBatchedScorer({ model: m });
      const fromBatch = new Map<string, { score: number; anomalous: boolean; threshold: number }[]>();
      for (let t = 0; t < 160; t++) {
        const verdicts = await batched.pushMany(agents.map((agentId, i) => ({ agentId, sample: { at: t, values: valuesOf(series[i][t]) } })));
        for (const [agentId, list] of verdicts) for (const v of list) fromBatch.set(agentId, [...(fromBatch.get(agentId) ?? []), { score: v.score, anomalous: v.anomalous, threshold: v.threshold }]);
      }
      for (const [i, agentId] of agents.entries()) {
        const det = createLstmDetector({ model: m });
        const streamed: { score: number; anomalous: boolean }[] = [];
        for (let t = 0; t < 160; t++) {
          const v = await det.push({ at: t, values: valuesOf(series[i][t]) });
          if (v) streamed.push(v);
        }
        // offline: the same windows' raw scores judged against a fresh copy of the baseline
        const offline = await m.scoreRows(series[i]);
        const base = restoreScoreBaseline(m.baseline!);
        const th = m.threshold!.value();
        const batch = fromBatch.get(agentId)!;
        assert.equal(streamed.length, offline.count);
        assert.equal(batch.length, offline.count);
        let flagged = 0;
        for (let k = 0; k < offline.count; k++) {
          const rel = base.relative(offline.scores[k]);
          const anomalous = rel > th;
          base.observe(offline.scores[k], anomalous);
          assert.ok(Math.abs(streamed[k].score - rel) <= 1e-5 * Math.max(1, rel), `${agentId} window ${k}: streamed ${streamed[k].score} vs offline ${rel}`);
          assert.ok(Math.abs(batch[k].score - rel) <= 1e-5 * Math.max(1, rel), `${agentId} window ${k}: batched ${batch[k].score} vs offline ${rel}`);
          assert.equal(streamed[k].anomalous, anomalous, `${agentId} window ${k}`);
          assert.equal(batch[k].anomalous, anomalous, `${agentId} window ${k}`);
          assert.equal(batch[k].threshold, th);
          if (anomalous) flagged++;
        }
        if (agentId === 'drift') {
          const k = 141 - 8 + 1; // a window holding the spike
          assert.ok(batch[k].anomalous, 'the spike on the drifted agent is flagged');
          assert.ok(flagged > 0);
        }
      }
    } finally {
      m.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('streaming and batched scoring agree, across interleaved agents', async () => {
    const agents = ['nf-a', 'nf-b', 'nf-c'];
    const series = agents.map((_, i) => normalSeries(24, 10 + i, i * 7));
    series[1][15][0] += 20; // an anomaly for nf-b
    series[1][16][0] += 20;
    const batched = createBatchedScorer({ model });
    const byAgent = new Map<string, { score: number; anomalous: boolean; threshold: number; top: string; start: number; end: number }[]>();
    for (let t = 0; t < 24; t++) {
      const verdicts = await batched.pushMany(agents.map((agentId, i) => ({ agentId, sample: { at: t * 1000, values: valuesOf(series[i][t]) } })));
      for (const [agentId, list] of verdicts) {
        for (const v of list) {
          const entry = { score: v.score, anomalous: v.anomalous, threshold: v.threshold, top: v.contributors[0].metric, start: v.window.start, end: v.window.end };
          byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), entry]);
        }
      }
    }
    const stats = batched.stats();
    assert.equal(stats.windowsScored, 3 * (24 - 8 + 1));
    assert.equal(stats.inferenceCalls, 24 - 8 + 1, 'one inference call per tick for all agents');
    assert.ok(byAgent.get('nf-b')?.some((v) => v.anomalous && v.top === 'cpu'));
    for (const [i, agentId] of agents.entries()) {
      const det = createLstmDetector({ model });
      const streamed: typeof byAgent extends Map<string, infer V> ? V : never = [];
      for (let t = 0; t < 24; t++) {
        const v = await det.push({ at: t * 1000, values: valuesOf(series[i][t]) });
        if (t < 7) assert.equal(v, undefined, 'no verdict before the window is complete');
        if (v) streamed.push({ score: v.score, anomalous: v.anomalous, threshold: v.threshold, top: v.contributors[0].metric, start: v.window.start, end: v.window.end });
      }
      const fromBatch = byAgent.get(agentId) ?? [];
      assert.equal(streamed.length, fromBatch.length);
      streamed.forEach((s, k) => {
        const b = fromBatch[k];
        assert.ok(Math.abs(s.score - b.score) <= 1e-5 * Math.max(1, b.score), `${agentId} window ${k}: ${s.score} vs ${b.score}`);
        assert.equal(s.anomalous, b.anomalous);
        assert.equal(s.threshold, b.threshold);
        assert.equal(s.start, b.start);
        assert.equal(s.end, b.end);
      });
      assert.equal(streamed[0].start, 0);
      assert.equal(streamed[0].end, 7000);
    }
  });

  it('streaming: holds a missing metric at its last value, clears the window after a long gap', async () => {
    const det = createLstmDetector({ model, maxGapMs: 5000 });
    const s = normalSeries(30, 5);
    for (let t = 0; t < 8; t++) await det.push({ at: t * 1000, values: valuesOf(s[t]) });
    const held = await det.push({ at: 8000, values: { cpu: s[8][0], rt: s[8][2] } });
    assert.ok(held, 'a sample missing mem still completes a window (mem held)');
    assert.equal(await det.push({ at: 60_000, values: valuesOf(s[9]) }), undefined, 'a long gap restarts the window');
    assert.equal(det.stats().gapResets, 1);
    const strict = createLstmDetector({ model, gaps: 'error' });
    await assert.rejects(strict.push({ at: 0, values: { cpu: 1, mem: Number.NaN, rt: 1 } }), /mem/);
  });

  it('keeps adaptive threshold state per agent and leaks no tensors', async () => {
    const { tf } = await loadTf({ backend: 'wasm' });
    const { scores } = await model.scoreRows(train);
    const rolling = calibrateThreshold(scores, { method: 'rolling', rollingWindow: 50 });
    const scorer = createBatchedScorer({ model, threshold: rolling });
    const calm = normalSeries(80, 21);
    const busy = normalSeries(80, 22).map((r) => Float64Array.from([r[0] + (r[0] - 10) * 0.5, r[1], r[2]])); // larger swings, still normal-ish
    const before = tf.memory().numTensors;
    const last = new Map<string, number>();
    for (let t = 0; t < 50; t++) {
      const v = await scorer.pushMany([
        { agentId: 'calm', sample: { at: t, values: valuesOf(calm[t]) } },
        { agentId: 'busy', sample: { at: t, values: valuesOf(busy[t]) } },
      ]);
      for (const [id, list] of v) last.set(id, list[list.length - 1].threshold);
    }
    assert.equal(tf.memory().numTensors, before, 'scoring leaves no tensors behind');
    assert.notEqual(last.get('calm'), last.get('busy'), 'each agent adapts its own threshold');
    assert.equal(rolling.value(), calibrateThreshold(scores, { method: 'rolling', rollingWindow: 50 }).value(), 'the template threshold is not mutated');
  });

  it('implements TrainableModel: fit and evaluate on raw rows', async () => {
    const m = await LstmAutoencoder.create(SMALL, { backend: 'wasm' });
    try {
      const rows = train.map((r) => Float32Array.from(r));
      const before = await m.scaler.fit(rows) && (await m.evaluate(rows));
      const r = await m.fit(rows, { epochs: 3, batchSize: 64 });
      assert.equal(r.samples, rows.length - 8 + 1);
      assert.ok(Number.isFinite(r.loss));
      const after = await m.evaluate(rows);
      assert.ok(after < before, `evaluate falls with training: ${before} → ${after}`);
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(m.fit(rows, { epochs: 1, signal: ac.signal }), /abort/);
    } finally {
      m.dispose();
    }
  });
});
