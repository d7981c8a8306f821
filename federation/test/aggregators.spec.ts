import assert from 'node:assert/strict';
import type { TrustView } from '@sliceguard/core';
import fc from 'fast-check';
import {
  type Aggregator,
  aggregatorFromSpec,
  coordinateMedian,
  fedAvg,
  InvalidFederationOptionsError,
  krum,
  LayoutMismatchError,
  multiKrum,
  NoUpdatesError,
  normClipping,
  trimmedMean,
  trustFiltered,
  trustWeighted,
  type WeightedUpdate,
} from '../src/index.js';

function u(clientId: string, values: number[], samples = 1): WeightedUpdate {
  return { clientId, values: Float32Array.from(values), samples };
}

function close(actual: Float32Array, expected: number[], eps = 1e-5): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `index ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}

function trustOf(weights: Record<string, number>, quarantined: string[] = []): TrustView {
  return {
    score: (id) => weights[id] ?? 0.5,
    weight: (id) => weights[id] ?? 1,
    isQuarantined: (id) => quarantined.includes(id),
  };
}

const everyTrust = trustOf({});

const implementations: Record<string, () => Aggregator> = {
  fedavg: () => fedAvg(),
  median: () => coordinateMedian(),
  'trimmed-mean': () => trimmedMean({ trim: 0.2 }),
  krum: () => krum(),
  'multi-krum': () => multiKrum(),
  'clip+fedavg': () => normClipping(fedAvg()),
  'clip(100)+median': () => normClipping(coordinateMedian(), { maxNorm: 100 }),
  'trust-weighted': () => trustWeighted(),
  'trust-filter+median': () => trustFiltered(coordinateMedian()),
};

describe('aggregators: compliance suite', () => {
  for (const [name, make] of Object.entries(implementations)) {
    describe(name, () => {
      const global = Float32Array.from([0, 0, 0]);
      const ctx = { global, trust: everyTrust };

      it('returns the common value when every client sent the same model', () => {
        const same = [0.5, -1, 2];
        const r = make().aggregate([u('a', same, 3), u('b', same, 1), u('c', same, 7), u('d', same, 2), u('e', same, 1)], ctx);
        close(r.values, same);
        assert.ok(r.contributors.length >= 1);
      });

      it('returns the only update when there is one', () => {
        const r = make().aggregate([u('a', [0.1, 0.2, 0.3], 5)], ctx);
        close(r.values, [0.1, 0.2, 0.3]);
        assert.deepEqual(r.contributors, ['a']);
      });

      it('does not depend on the order of updates', () => {
        const ups = [u('a', [1, 2, 3], 2), u('b', [2, 0, 1], 1), u('c', [0, 5, 1], 3), u('d', [4, 4, 4], 1), u('e', [1, 1, 9], 2)];
        const r1 = make().aggregate(ups, ctx);
        const r2 = make().aggregate([...ups].reverse(), ctx);
        close(r2.values, [...r1.values]);
      });

      it('does not mutate its inputs', () => {
        const ups = [u('a', [1, 2, 3]), u('b', [20, 0, 1]), u('c', [0, 5, 1])];
        const copy = ups.map((x) => [...x.values]);
        make().aggregate(ups, ctx);
        for (const [k, x] of ups.entries()) assert.deepEqual([...x.values], copy[k]);
      });

      it('stays inside the bounding box of the updates', () => {
        const ups = [u('a', [1, -2, 3], 2), u('b', [2, 0, 1], 1), u('c', [0, 5, 1], 3), u('d', [4, 4, 4], 1)];
        const r = make().aggregate(ups, { ...ctx, global: Float32Array.from([1, 1, 1]) });
        for (let i = 0; i < 3; i++) {
          const col = ups.map((x) => x.values[i]);
          assert.ok(r.values[i] >= Math.min(...col, 1) - 1e-6 && r.values[i] <= Math.max(...col, 1) + 1e-6, `coordinate ${i}`);
        }
      });

      it('rejects an empty round and mismatched lengths', () => {
        assert.throws(() => make().aggregate([], ctx), NoUpdatesError);
        assert.throws(() => make().aggregate([u('a', [1, 2, 3]), u('b', [1, 2])], ctx), LayoutMismatchError);
      });
    });
  }
});

describe('aggregators: hand-computed results', () => {
  const a = u('a', [1, 2], 1);
  const b = u('b', [3, 4], 1);
  const c = u('c', [5, 0], 2);

  it('fedavg weights by sample count', () => {
    const r = fedAvg().aggregate([a, b, c]);
    close(r.values, [3.5, 1.5]); // (1+3+10)/4, (2+4+0)/4
    assert.deepEqual(r.weights, { a: 0.25, b: 0.25, c: 0.5 });
  });

  it('fedavg ignores zero-sample updates and refuses a round where all are zero', () => {
    close(fedAvg().aggregate([a, u('z', [100, 100], 0)]).values, [1, 2]);
    assert.throws(() => fedAvg().aggregate([u('z', [1, 1], 0)]), NoUpdatesError);
  });

  it('median, odd and even counts', () => {
    close(coordinateMedian().aggregate([a, b, c]).values, [3, 2]);
    close(coordinateMedian().aggregate([a, b, c, u('d', [7, 10])]).values, [4, 3]); // (3+5)/2, (2+4)/2
  });

  it('trimmed mean drops floor(βn) values at each end', () => {
    const d = u('d', [7, 10]);
    const e = u('e', [100, -100]);
    close(trimmedMean({ trim: 0.25 }).aggregate([a, b, c, d]).values, [4, 3]);
    close(trimmedMean({ trim: 0.2 }).aggregate([a, b, c, d, e]).values, [5, 2]); // mean(3,5,7), mean(0,2,4)
    close(trimmedMean({ trim: 0 }).aggregate([a, b]).values, [2, 3]);
    assert.throws(() => trimmedMean({ trim: 0.5 }), InvalidFederationOptionsError);
  });

  // 1-D points 0, 1, 2, 3, 100 with f = 1: each scores the sum of its n − f − 2 = 2 nearest squared
  // distances: 0 → 1+4 = 5, 1 → 1+1 = 2, 2 → 2, 3 → 1+4 = 5, 100 → 97²+98².
  const line = [u('p0', [0], 1), u('p1', [1], 1), u('p2', [2], 3), u('p3', [3], 1), u('p100', [100], 1)];

  it('krum picks the lowest score (earliest on ties)', () => {
    const r = krum({ f: 1 }).aggregate(line);
    close(r.values, [1]);
    assert.deepEqual(r.contributors, ['p1']);
  });

  it('multi-krum averages the m best by sample count', () => {
    const r2 = krum({ f: 1, m: 2 }).aggregate(line);
    close(r2.values, [1.75]); // (1·1 + 2·3) / 4
    assert.deepEqual(r2.contributors, ['p1', 'p2']);
    const rn = multiKrum({ f: 1 }).aggregate(line); // n − f = 4: all but 100
    close(rn.values, [(0 + 1 + 2 * 3 + 3) / 6]);
    assert.deepEqual(rn.contributors, ['p0', 'p1', 'p2', 'p3']);
  });

  it('krum accepts f as a fraction of the round', () => {
    assert.deepEqual(krum({ f: 0.2 }).aggregate(line).contributors, ['p1']); // ⌊0.2·5⌋ = 1
    assert.throws(() => krum({ m: 0 }), InvalidFederationOptionsError);
  });

  it('norm clipping scales deltas above the median norm', () => {
    const global = Float32Array.from([0, 0]);
    const ups = [u('a', [3, 4]), u('b', [0, 1]), u('c', [0, 2])]; // norms 5, 1, 2 → τ = 2
    close(normClipping(fedAvg()).aggregate(ups, { global }).values, [0.4, 4.6 / 3]); // a → (1.2, 1.6)
    close(normClipping(fedAvg(), { maxNorm: 1 }).aggregate(ups, { global }).values, [0.2, 2.8 / 3]);
    assert.throws(() => normClipping(fedAvg()).aggregate(ups), InvalidFederationOptionsError);
    assert.throws(() => normClipping(fedAvg(), { maxNorm: -1 }), InvalidFederationOptionsError);
  });

  it('trust-weighted averaging multiplies samples by trust weight', () => {
    const r = trustWeighted().aggregate([a, u('b', [3, 4], 3)], { trust: trustOf({ a: 1, b: 0.5 }) });
    close(r.values, [2.2, 3.2]); // weights 1 and 1.5
    const zero = trustWeighted().aggregate([a, b], { trust: trustOf({ a: 0, b: 1 }) });
    close(zero.values, [3, 4]);
    assert.deepEqual(zero.contributors, ['b']);
    assert.throws(() => trustWeighted().aggregate([a]), InvalidFederationOptionsError);
    assert.throws(() => trustWeighted().aggregate([a], { trust: trustOf({ a: 0 }) }), NoUpdatesError);
  });

  it('trust filter drops quarantined and zero-weight senders before the inner rule', () => {
    const trust = trustOf({ c: 0 }, ['b']);
    const r = trustFiltered(fedAvg()).aggregate([a, b, c], { trust });
    close(r.values, [1, 2]);
    assert.throws(() => trustFiltered(fedAvg()).aggregate([b, c], { trust }), NoUpdatesError);
    close(trustFiltered(fedAvg()).aggregate([a, b]).values, [2, 3]);
  });

  it('robust rules resist one huge update among honest ones; fedavg does not', () => {
    const honest = [u('h1', [1, 1]), u('h2', [1.1, 0.9]), u('h3', [0.9, 1.1]), u('h4', [1, 1.05]), u('h5', [1.05, 1])];
    const attack = [...honest, u('evil', [1e6, -1e6], 10)];
    const global = Float32Array.from([0, 0]);
    for (const agg of [coordinateMedian(), trimmedMean(), krum(), multiKrum(), normClipping(trimmedMean())]) {
      const r = agg.aggregate(attack, { global });
      assert.ok(Math.abs(r.values[0] - 1) < 0.3 && Math.abs(r.values[1] - 1) < 0.3, `${agg.name}: ${[...r.values]}`);
    }
    assert.ok(fedAvg().aggregate(attack).values[0] > 1000);
    // clipping alone bounds the damage to the median delta norm, even with an inflated sample count
    const clipped = normClipping(fedAvg()).aggregate(attack, { global });
    assert.ok(Math.hypot(clipped.values[0], clipped.values[1]) <= Math.hypot(1.05, 1.0) + 1e-6);
  });
});

describe('aggregatorFromSpec', () => {
  it('parses every rule and nested wrappers', () => {
    assert.equal(aggregatorFromSpec('fedavg').name, 'fedavg');
    assert.equal(aggregatorFromSpec('median').name, 'median');
    assert.equal(aggregatorFromSpec('trimmed-mean:0.1').name, 'trimmed-mean(0.1)');
    assert.equal(aggregatorFromSpec('krum:1').name, 'krum');
    assert.equal(aggregatorFromSpec('multi-krum:1:3').name, 'multi-krum(3)');
    assert.equal(aggregatorFromSpec('trust').name, 'trust-weighted');
    assert.equal(aggregatorFromSpec('trust-filter+clip+median').name, 'trust-filter+clip(median)+median');
    assert.equal(aggregatorFromSpec('clip:2.5+fedavg').name, 'clip(2.5)+fedavg');
  });

  it('explains bad specs', () => {
    assert.throws(() => aggregatorFromSpec('mean'), /unknown aggregator "mean"/);
    assert.throws(() => aggregatorFromSpec('krum:x'), /"x" is not a number/);
    assert.throws(() => aggregatorFromSpec('median+fedavg'), /not a wrapper/);
  });
});

describe('coordinate-wise rules against a sorting reference (property)', () => {
  const reference = (cols: number[][], reduce: (sorted: number[]) => number): number[] =>
    cols[0].map((_, i) => reduce(cols.map((c) => c[i]).sort((a, b) => a - b)));

  it('median and trimmed mean equal the sort-based definitions, ties and even counts included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 ** 31 }), (n, d, seed) => {
        let x = seed;
        const next = (): number => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          return (x % 7) - 3; // small integers: many ties
        };
        const cols = Array.from({ length: n }, () => Array.from({ length: d }, next));
        const ups = cols.map((c, k) => u(`c${k}`, c));
        const med = coordinateMedian().aggregate(ups).values;
        const expectedMed = reference(cols, (s) => (n % 2 ? s[n >> 1] : (s[(n >> 1) - 1] + s[n >> 1]) / 2));
        close(med, expectedMed);
        const cut = Math.min(Math.floor(0.25 * n), (n - 1) >> 1);
        const tm = trimmedMean({ trim: 0.25 }).aggregate(ups).values;
        close(tm, reference(cols, (s) => s.slice(cut, n - cut).reduce((a, b) => a + b, 0) / (n - 2 * cut)));
      }),
      { numRuns: 300 },
    );
  });
});
