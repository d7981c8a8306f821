import assert from 'node:assert/strict';
import { seededRng } from '@sliceguard/core';
import { calibrateThreshold, DEFAULT_BASELINE_WINDOW, fitScoreBaseline, ModelShapeError, restoreScoreBaseline } from '../src/index.js';

/** Reconstruction-error-like scores: positive, noisy around `level` (spread ∝ level). */
function errors(n: number, seed: number, level: number): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => level * (1 + 0.1 * Math.abs(rng.normal())));
}

function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)] + s[Math.ceil(m)]) / 2;
}

describe('analytics: relative score (score baseline)', () => {
  it('relative training scores: warm start over the first window, then the trailing median of earlier scores', () => {
    const train = errors(300, 1, 0.05);
    const { state, relative } = fitScoreBaseline(train, { window: 100 });
    assert.equal(state.window, 100);
    assert.equal(state.adaptAfter, 50, 'default adaptAfter = window / 2');
    const first = median(train.slice(0, 100));
    for (const k of [0, 50, 99]) assert.ok(Object.is(relative[k], train[k] / first), `warm start k=${k}`);
    for (const k of [100, 150, 299]) assert.ok(Math.abs(relative[k] - train[k] / median(train.slice(k - 100, k))) < 1e-15, `trailing k=${k}`);
    assert.deepEqual(state.history, train.slice(200), 'the streaming state starts from the last window of training scores');
    assert.equal(fitScoreBaseline(train).state.window, DEFAULT_BASELINE_WINDOW);
    assert.throws(() => fitScoreBaseline(train, { window: 2 }), /window must be an integer >= 3/);
    assert.throws(() => fitScoreBaseline([0.1, Number.NaN]), /not finite/);
  });

  it('absorbs a lasting level shift of the normal error, still flags a short spike, and keeps the spike out of the baseline', () => {
    const W = 200;
    const train = errors(2000, 2, 0.05);
    const { state, relative } = fitScoreBaseline(train, { window: W });
    const threshold = calibrateThreshold(relative, { method: 'p99' });
    const plain = calibrateThreshold(train, { method: 'p99' });
    // test: 300 normal, then the normal error doubles for good (drift), then a 5-window spike ×3 on top
    const test = [...errors(300, 3, 0.05), ...errors(1200, 4, 0.1)];
    for (let k = 1200; k < 1205; k++) test[k] *= 3;
    const baseline = restoreScoreBaseline(state);
    const flags: boolean[] = [];
    const baselines: number[] = [];
    for (const raw of test) {
      const { anomalous } = threshold.observe(baseline.relative(raw));
      baselines.push(baseline.value());
      baseline.observe(raw, anomalous);
      flags.push(anomalous);
    }
    const count = (from: number, to: number): number => flags.slice(from, to).filter(Boolean).length;
    assert.ok(count(0, 300) <= 15, `few alarms before the shift: ${count(0, 300)}`);
    assert.ok(count(300, 310) === 10, 'the shift is flagged when it happens');
    // the run of W/2 flagged windows is admitted; the median reaches the new level about half a window later
    assert.ok(count(300 + W, 1200) <= 0.03 * (900 - W), `absorbed after about one window: ${count(300 + W, 1200)} alarms in ${900 - W}`);
    assert.equal(count(1200, 1205), 5, 'the spike on the new level is flagged');
    assert.ok(count(1210, 1500) <= 15, `few alarms after the spike: ${count(1210, 1500)}`);
    assert.ok(baselines[1199] > 0.09 && baselines[1199] < 0.12, `baseline at the new level: ${baselines[1199]}`);
    assert.ok(Math.abs(baselines[1206] - baselines[1199]) < 0.005, 'the spike did not move the baseline');
    assert.ok(!baseline.toJSON().history.some((v) => v > 0.25), 'no spike score entered the baseline');
    // without the baseline, the training threshold flags the whole drifted period
    const plainFlags = test.map((raw) => plain.observe(raw).anomalous);
    assert.ok(plainFlags.slice(300 + W, 1200).every(Boolean), 'plain scores: every drifted window is an alarm');
  });

  it('restores its state bit-exactly: a restored copy continues exactly like the original, and a malformed state is rejected', () => {
    const train = errors(500, 5, 0.05);
    const { state } = fitScoreBaseline(train, { window: 50, adaptAfter: 10 });
    const a = restoreScoreBaseline(state);
    const test = errors(400, 6, 0.05);
    for (let k = 100; k < 104; k++) test[k] *= 5; // a pending run, cut in the middle below
    const th = 1.5;
    for (let k = 0; k < 102; k++) a.observe(test[k], a.relative(test[k]) > th);
    const saved = JSON.parse(JSON.stringify(a.toJSON()));
    assert.equal(saved.run, 2);
    assert.equal(saved.pending.length, 2);
    const b = restoreScoreBaseline(saved);
    assert.deepEqual(b.toJSON(), a.toJSON());
    for (let k = 102; k < 400; k++) {
      const ra = a.relative(test[k]);
      const rb = b.relative(test[k]);
      assert.ok(Object.is(ra, rb), `k=${k}`);
      a.observe(test[k], ra > th);
      b.observe(test[k], rb > th);
    }
    assert.deepEqual(b.toJSON(), a.toJSON());
    assert.ok(state.history.length === 50 && state.run === 0, 'the fitted state is not mutated by its copies');
    assert.throws(() => restoreScoreBaseline({ ...saved, history: [] }), ModelShapeError);
    assert.throws(() => restoreScoreBaseline({ ...saved, floor: 0 }), ModelShapeError);
    assert.throws(() => restoreScoreBaseline({ ...saved, history: [0.1, Number.NaN] }), ModelShapeError);
  });
});
