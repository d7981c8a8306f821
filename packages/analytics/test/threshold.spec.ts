import assert from 'node:assert/strict';
import { seededRng } from '@sliceguard/core';
import { calibrateThreshold, fitGpd, InvalidOptionsError, quantileOf, restoreThreshold } from '../src/index.js';

function exponential(n: number, scale: number, seed = 1): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => -scale * Math.log(1 - rng.next()));
}

describe('analytics: thresholds', () => {
  it('p99 is the 99th percentile of the training scores (linear interpolation)', () => {
    const scores = Array.from({ length: 101 }, (_, i) => i);
    const t = calibrateThreshold(scores, { method: 'p99' });
    assert.equal(t.value(), 99);
    assert.equal(t.adaptive, false);
    assert.deepEqual(t.observe(99.5), { threshold: 99, anomalous: true });
    assert.deepEqual(t.observe(50), { threshold: 99, anomalous: false });
    assert.equal(quantileOf([1, 2, 3, 4], 0.5), 2.5);
  });

  it('POT fits the tail: on exponential scores it lands near the true (1 − risk) quantile', () => {
    const scale = 2;
    const scores = exponential(50_000, scale);
    const t = calibrateThreshold(scores, { method: 'pot', potLevel: 0.98, risk: 1e-3 });
    const truth = -scale * Math.log(1e-3); // 13.8
    assert.ok(Math.abs(t.value() - truth) / truth < 0.1, `pot ${t.value()} vs ${truth}`);
    const gpd = fitGpd(exponential(20_000, 3, 2));
    assert.ok(Math.abs(gpd.shape) < 0.05 && Math.abs(gpd.scale - 3) < 0.15, JSON.stringify(gpd));
  });

  it('SPOT and rolling adapt to normal scores, never to anomalous ones, and survive save/restore bit-exactly', () => {
    for (const method of ['spot', 'rolling'] as const) {
      const train = exponential(5_000, 1, 3);
      const t = calibrateThreshold(train, { method, rollingWindow: 500 });
      assert.equal(t.adaptive, true);
      const start = t.value();
      assert.equal(t.observe(start * 10).anomalous, true);
      assert.equal(t.value(), start, 'an anomalous score does not move the threshold');
      // the normal level doubles: the threshold follows
      for (const s of exponential(3_000, 2, 4)) t.observe(Math.min(s, t.value() * 0.999));
      assert.ok(t.value() > start * 1.3, `${method}: ${start} → ${t.value()}`);
      const restored = restoreThreshold(JSON.parse(JSON.stringify(t.toJSON())));
      assert.deepEqual(restored.toJSON(), t.toJSON());
      for (const s of [0.5, 3, 7, 100]) assert.deepEqual(restored.observe(s), t.observe(s));
      assert.ok(Object.is(restored.value(), t.value()));
    }
  });

  it('rejects bad options and states', () => {
    assert.throws(() => calibrateThreshold([], {}), /at least one/);
    assert.throws(() => calibrateThreshold([1, Number.NaN], {}), /not finite/);
    assert.throws(() => calibrateThreshold([1, 2], { quantile: 1.5 }), InvalidOptionsError);
    assert.throws(() => calibrateThreshold([1, 2], { method: 'magic' as 'p99' }), /unknown threshold method/);
    assert.throws(() => restoreThreshold({ method: 'spot', value: 1, calibratedOn: 1 }), /peaks/);
  });
});
