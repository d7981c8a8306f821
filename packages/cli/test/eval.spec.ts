import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLstmDetector, loadModel } from '@sliceguard/analytics';
import { seededRng } from '@sliceguard/core';
import { run } from './helpers.js';

/** Two periodic metrics; the test part has an injected level shift on `rt` at rows 60..69. */
function dataset(): { train: string; test: string; labels: string; uni: string; uniTest: string } {
  const rng = seededRng(11);
  const row = (t: number, shift: number): string => `${t * 60},${(10 + 5 * Math.sin(t / 5) + rng.normal(0, 0.2)).toFixed(4)},${(1 + 0.5 * Math.cos(t / 5) + rng.normal(0, 0.02) + shift).toFixed(4)}`;
  const train = ['timestamp,cpu,rt', ...Array.from({ length: 200 }, (_, t) => row(t, 0))].join('\n');
  const test = ['timestamp,cpu,rt', ...Array.from({ length: 100 }, (_, t) => row(200 + t, t >= 60 && t < 70 ? 3 : 0))].join('\n');
  const labels = ['label', ...Array.from({ length: 100 }, (_, t) => (t >= 60 && t < 70 ? 1 : 0))].join('\n');
  const uni = ['value', ...Array.from({ length: 200 }, (_, t) => (Math.sin(t / 5) + rng.normal(0, 0.05)).toFixed(4))].join('\n');
  const uniTest = ['value', ...Array.from({ length: 100 }, (_, t) => (Math.sin((200 + t) / 5) + rng.normal(0, 0.05) + (t >= 60 && t < 70 ? 4 : 0)).toFixed(4))].join('\n');
  return { train, test, labels, uni, uniTest };
}

describe('cli: eval', function () {
  this.timeout(120_000);
  let dir: string;
  const p = (f: string): string => join(dir, f);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-eval-'));
    const d = dataset();
    await writeFile(p('train.csv'), d.train);
    await writeFile(p('test.csv'), d.test);
    await writeFile(p('labels.csv'), d.labels);
    await writeFile(p('uni.csv'), d.uni);
    await writeFile(p('uni-test.csv'), d.uniTest);
    await writeFile(p('ragged.csv'), 'timestamp,cpu,rt\n0,1,2\n60,1\n');
    await writeFile(p('text.csv'), 'timestamp,cpu,rt\n0,1,2\n60,1,high\n');
    await writeFile(p('short-labels.csv'), 'label\n0\n1\n');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('evaluates the LSTM autoencoder with --json, writes --scores-out with timestamps, and finds the shift', async () => {
    const r = await run('eval', '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--json', '--scores-out', p('scores.csv'), '--window', '10', '--units', '8', '--epochs', '10', '--batch-size', '32', '--backend', 'wasm', '--save-model', p('model'));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.detector, 'lstm-ae');
    assert.equal(j.backend, 'wasm');
    assert.deepEqual(j.metrics, ['cpu', 'rt'], 'the timestamp column is not a feature');
    assert.equal(j.threshold.method, 'p99');
    assert.equal(j.testRows, 100);
    assert.equal(j.testWindows, 91);
    for (const k of ['precision', 'recall', 'f1', 'eventRecall', 'compositeF1', 'rocAuc']) assert.equal(typeof j.report[k], 'number', k);
    assert.equal(typeof j.report.pointAdjusted.f1, 'number');
    assert.ok(j.report.detectedEvents === 1, 'the injected event is detected');
    assert.ok(j.report.rocAuc > 0.8, `ROC-AUC ${j.report.rocAuc}`);
    assert.ok(j.trainingSeconds > 0 && j.inferenceMsPerWindow > 0);
    assert.equal(r.out.trim().startsWith('{'), true, 'stdout holds only the JSON document');
    const lines = (await readFile(p('scores.csv'), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'timestamp,score,threshold,anomalous');
    assert.equal(lines.length, 101);
    assert.match(lines[1], /^12000,[0-9.e-]+,[0-9.e-]+,[01]$/);
    // the saved model evaluates again without training, with another threshold method
    const again = await run('eval', '--model', p('model'), '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--threshold', 'spot', '--json', '--backend', 'wasm');
    assert.equal(again.code, 0, again.err);
    const k = JSON.parse(again.out);
    assert.equal(k.loadedFrom, p('model'));
    assert.equal(k.threshold.method, 'spot');
    assert.equal(k.threshold.adaptive, true);
    assert.equal(k.report.rocAuc, j.report.rocAuc, 'same model, same scores');
    assert.equal(k.config.score.mode, 'mae');
    // the same saved model with the normalised score (divisors fitted on --train), and a bad mode
    const norm = await run('eval', '--model', p('model'), '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--score', 'normalized', '--json', '--backend', 'wasm');
    assert.equal(norm.code, 0, norm.err);
    const n = JSON.parse(norm.out);
    assert.equal(n.config.score.mode, 'normalized');
    assert.equal(n.config.score.floor, 0.1);
    assert.ok(n.report.detectedEvents === 1, 'the injected event is detected with the normalised score too');
    assert.notEqual(n.threshold.initial, k.threshold.initial, 'a different score scale');
    const bad = await run('eval', '--model', p('model'), '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--score', 'max');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--score must be one of mae, normalized/);
  });

  it('--score-baseline: relative scores on a saved model; the model saved with them streams the verdicts of --scores-out', async () => {
    const args = ['eval', '--model', p('model'), '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--backend', 'wasm'];
    const r = await run(...args, '--json', '--score-baseline', '50', '--threshold', 'p99,spot', '--scores-out', p('rel-scores.csv'), '--save-model', p('rel-model'));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.config.scoreBaseline.window, 50);
    assert.equal(j.config.scoreBaseline.adaptAfter, 25);
    assert.ok(j.threshold.initial > 1 && j.threshold.initial < 10, `threshold in relative units: ${j.threshold.initial}`);
    assert.equal(j.report.detectedEvents, 1, 'the 10-row shift (shorter than adaptAfter) is flagged');
    assert.equal(j.alternatives[0].threshold.method, 'spot');
    const lines = (await readFile(p('rel-scores.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    const model = await loadModel(p('rel-model'), { backend: 'wasm' });
    try {
      assert.equal(model.baseline?.window, 50);
      const det = createLstmDetector({ model });
      const rows = (await readFile(p('test.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
      for (let t = 0; t < rows.length; t++) {
        const v = await det.push({ at: rows[t][0] * 1000, values: { cpu: rows[t][1], rt: rows[t][2] } });
        if (t < 9) continue;
        const [, score, threshold, flag] = lines[t];
        assert.ok(v, `a verdict at row ${t}`);
        assert.ok(Math.abs(v.score - Number(score)) <= 1e-5 * Math.max(1, v.score), `row ${t}: streamed ${v.score} vs eval ${score}`);
        assert.equal(v.threshold, Number(threshold));
        assert.equal(v.anomalous ? '1' : '0', flag, `row ${t}`);
      }
    } finally {
      model.dispose();
    }
    // the saved model keeps its baseline unless told otherwise; 0 turns it off; a bare flag is one day of 1-minute windows
    const own = JSON.parse((await run('eval', '--model', p('rel-model'), '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--backend', 'wasm', '--json')).out);
    assert.equal(own.config.scoreBaseline.window, 50);
    assert.equal(own.report.rocAuc, j.report.rocAuc);
    const ownNormalized = JSON.parse((await run('eval', '--model', p('rel-model'), '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--backend', 'wasm', '--json', '--score', 'normalized')).out);
    assert.equal(ownNormalized.config.score.mode, 'normalized');
    assert.equal(ownNormalized.config.scoreBaseline.window, 50, 'another score mode keeps the saved baseline');
    const off = JSON.parse((await run(...args, '--json', '--score-baseline', '0')).out);
    assert.equal(off.config.scoreBaseline, null);
    const day = await run(...args, '--score-baseline');
    assert.equal(day.code, 0, day.err);
    assert.match(day.out, /relative score: window score \/ median of the last 1440 normal window scores/);
    const tooSmall = await run(...args, '--score-baseline', '2');
    assert.equal(tooSmall.code, 1);
    assert.match(tooSmall.err, /--score-baseline must be 0 \(off\) or a window of at least 3/);
    const stat = await run('eval', '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--detector', 'statistical', '--score-baseline', '50');
    assert.equal(stat.code, 1);
    assert.match(stat.err, /applies to the lstm-ae detector/);
  });

  it('evaluates the statistical baseline on univariate data (no timestamp: row index in --scores-out)', async () => {
    const r = await run('eval', '--train', p('uni.csv'), '--test', p('uni-test.csv'), '--labels', p('labels.csv'), '--detector', 'statistical', '--threshold', 'pot,p99,rolling', '--scores-out', p('uni-scores.csv'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /detector statistical on 1 metric/);
    assert.match(r.out, /threshold pot/);
    assert.match(r.out, /with threshold p99 \(/);
    assert.match(r.out, /with threshold rolling \(/);
    assert.match(r.out, /point-adjusted/);
    assert.match(r.out, /ROC-AUC/);
    const lines = (await readFile(p('uni-scores.csv'), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'row,score,threshold,anomalous');
    assert.match(lines[1], /^0,/);
    assert.match(lines[100], /^99,/);
  });

  it('malformed input: ragged rows, non-numeric cells and label count mismatch give the file and line', async () => {
    const ragged = await run('eval', '--train', p('ragged.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--detector', 'statistical');
    assert.equal(ragged.code, 1);
    assert.match(ragged.err, /error ANALYTICS_ERR_CSV: .*ragged\.csv:3: row has 2 cells, the header has 3/);
    const text = await run('eval', '--train', p('train.csv'), '--test', p('text.csv'), '--labels', p('labels.csv'), '--detector', 'statistical');
    assert.equal(text.code, 1);
    assert.match(text.err, /text\.csv:3: column "rt" holds "high", which is not a number/);
    const labels = await run('eval', '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('short-labels.csv'), '--detector', 'statistical');
    assert.equal(labels.code, 1);
    assert.match(labels.err, /short-labels\.csv:3: fewer labels than rows: 2 labels for 100 data rows/);
    const bad = await run('eval', '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--threshold', 'p42');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--threshold must be one of p99, pot, spot, rolling/);
  });

  it('keeps stdout pure JSON on the CPU backend (no tfjs banner) in a real process', () => {
    const bin = new URL('../../bin/sliceguard.js', import.meta.url).pathname;
    const stdout = execFileSync(
      process.execPath,
      [bin, 'eval', '--train', p('train.csv'), '--test', p('test.csv'), '--labels', p('labels.csv'), '--json', '--backend', 'cpu', '--window', '5', '--units', '4', '--epochs', '1', '--max-train-windows', '50'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const j = JSON.parse(stdout);
    assert.equal(j.backend, 'cpu');
    assert.equal(stdout.trim().startsWith('{'), true);
  });
});
