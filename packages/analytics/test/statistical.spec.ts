import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { seededRng } from '@sliceguard/core';
import fc from 'fast-check';
import { createStatisticalDetector, InvalidOptionsError, InvalidSampleError } from '../src/index.js';

const metrics = ['cpu', 'mem', 'rt'];

function normalSample(rng: ReturnType<typeof seededRng>, at: number): { at: number; values: Record<string, number> } {
  return { at, values: { cpu: rng.normal(50, 5), mem: rng.normal(2000, 50), rt: rng.normal(0.1, 0.01) } };
}

describe('analytics: statistical detector', () => {
  for (const method of ['robust-z', 'ewma'] as const) {
    describe(method, () => {
      it('is silent during warm-up, quiet on normal data, and flags a spike naming the metric', async () => {
        const rng = seededRng(7);
        const det = createStatisticalDetector({ metrics, method, window: 100, warmup: 20, threshold: 6 });
        for (let t = 0; t < 20; t++) assert.equal(await det.push(normalSample(rng, t * 1000)), undefined, 'no verdict during warm-up');
        let falseAlarms = 0;
        let verdicts = 0;
        for (let t = 20; t < 501; t++) {
          const v = await det.push(normalSample(rng, t * 1000));
          assert.ok(v, 'a verdict once warm');
          verdicts++;
          if (v.anomalous) falseAlarms++;
        }
        assert.equal(verdicts, 481);
        assert.ok(falseAlarms <= 3, `few false alarms on Gaussian data, got ${falseAlarms}`);
        const spike = normalSample(rng, 501_000);
        spike.values.rt = 0.5; // 40 sigma
        const v = await det.push(spike);
        assert.ok(v?.anomalous, 'spike is anomalous');
        assert.equal(v.contributors[0].metric, 'rt');
        assert.ok(v.contributors[0].share > 0.8, `rt dominates, share ${v.contributors[0].share}`);
        assert.ok(v.score > v.threshold);
        assert.equal(v.threshold, 6);
        const sum = v.contributors.reduce((a, c) => a + c.share, 0);
        assert.ok(sum <= 1 + 1e-9 && sum > 0.99);
        assert.equal(v.window.end, 501_000);
        assert.ok(v.window.start < v.window.end);
      });
    });
  }

  it('keeps an ongoing attack out of the baseline, then adapts to a lasting shift after adaptAfter samples', () => {
    const rng = seededRng(3);
    const det = createStatisticalDetector({ metrics, window: 60, warmup: 30, adaptAfter: 40 });
    for (let t = 0; t < 200; t++) det.pushSync(normalSample(rng, t));
    const flags: boolean[] = [];
    for (let t = 200; t < 400; t++) {
      const s = normalSample(rng, t);
      s.values.cpu += 100; // 20 sigma level shift
      flags.push(det.pushSync(s)?.anomalous ?? false);
    }
    assert.ok(flags.slice(0, 40).every(Boolean), 'the first adaptAfter samples of the shift are all anomalous');
    assert.ok(flags.slice(150).every((f) => !f), 'after adaptation the shift is the new normal');
  });

  it('skips missing and NaN metrics, lists them, and rejects them with missing: error', () => {
    const rng = seededRng(1);
    const det = createStatisticalDetector({ metrics, warmup: 5, window: 10 });
    for (let t = 0; t < 10; t++) det.pushSync(normalSample(rng, t));
    const v = det.pushSync({ at: 10, values: { cpu: 50, mem: Number.NaN } });
    assert.ok(v);
    assert.deepEqual(v.missing, ['mem', 'rt']);
    assert.deepEqual(Object.keys(v.zScores), ['cpu']);
    assert.equal(det.pushSync({ at: 11, values: {} }), undefined, 'no usable metric → no verdict');
    assert.deepEqual(det.stats(), { samples: 12, verdicts: 6, missingValues: 5 });

    const strict = createStatisticalDetector({ metrics, missing: 'error' });
    assert.throws(() => strict.pushSync({ at: 0, values: { cpu: 1, mem: 2, rt: Number.POSITIVE_INFINITY } }), (e: unknown) => {
      assert.ok(e instanceof InvalidSampleError);
      assert.equal(e.code, 'ANALYTICS_ERR_INVALID_INPUT');
      assert.match(e.message, /rt/);
      return true;
    });
  });

  it('rejects samples out of time order and bad options', () => {
    const det = createStatisticalDetector({ metrics: ['x'] });
    det.pushSync({ at: 10, values: { x: 1 } });
    assert.throws(() => det.pushSync({ at: 9, values: { x: 1 } }), InvalidSampleError);
    assert.throws(() => createStatisticalDetector({ metrics: [] }), InvalidOptionsError);
    assert.throws(() => createStatisticalDetector({ metrics: ['a', 'a'] }), /listed twice/);
    assert.throws(() => createStatisticalDetector({ metrics: ['a'], window: 0 }), /window/);
    assert.throws(() => createStatisticalDetector({ metrics: ['a'], window: 10, warmup: 20 }), /warmup/);
    assert.throws(() => createStatisticalDetector({ metrics: ['a'], threshold: Number.NaN }), /threshold/);
  });

  it('handles a flat metric without dividing by zero', () => {
    const det = createStatisticalDetector({ metrics: ['x'], window: 20, warmup: 10 });
    for (let t = 0; t < 20; t++) assert.ok(!(det.pushSync({ at: t, values: { x: 5 } })?.anomalous ?? false));
    const v = det.pushSync({ at: 20, values: { x: 6 } });
    assert.ok(v && Number.isFinite(v.score) && v.anomalous);
  });

  it('floors the scale at the noise level when a quantised metric sits on one value for a whole window', () => {
    const series = (noiseFloor: number): number => {
      const det = createStatisticalDetector({ metrics: ['x'], window: 20, warmup: 10, noiseFloor, rangeFloor: 0, relativeMinScale: 0 });
      // mostly 0.5 with an occasional 0.01 step, then a long flat stretch, then a 0.01 step
      let t = 0;
      for (let i = 0; i < 200; i++) det.pushSync({ at: t++, values: { x: i % 10 === 0 ? 0.51 : 0.5 } });
      for (let i = 0; i < 30; i++) det.pushSync({ at: t++, values: { x: 0.5 } });
      return det.pushSync({ at: t, values: { x: 0.51 } })?.score ?? Number.NaN;
    };
    assert.ok(series(0) > 1000, 'without the floor a one-step change is a huge z');
    assert.ok(series(1) < 10, `with the floor it is an ordinary deviation (${series(1)})`);
  });

  it('robust-z matches a sort-based median/MAD reference', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 12, maxLength: 40 }), (xs) => {
        const w = 10;
        const det = createStatisticalDetector({ metrics: ['x'], window: w, warmup: w, adaptAfter: 1, minScale: 1e-12, relativeMinScale: 0, noiseFloor: 0, rangeFloor: 0 });
        for (let i = 0; i < xs.length; i++) {
          const v = det.pushSync({ at: i, values: { x: xs[i] } });
          if (i < w) continue;
          const base = xs.slice(i - w, i);
          const med = sortedMedian(base);
          let scale = 1.4826 * sortedMedian(base.map((b) => Math.abs(b - med)));
          if (scale === 0) scale = (base.reduce((a, b) => a + Math.abs(b - med), 0) / w) * 1.2533;
          scale = Math.max(scale, 1e-12);
          const expected = Math.abs(xs[i] - med) / scale;
          assert.ok(v);
          assert.ok(Math.abs(v.score - expected) <= 1e-9 * Math.max(1, expected), `score ${v.score} vs ${expected}`);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('does not load TensorFlow when the package is imported', () => {
    // a resolve hook in a child process fails any import of @tensorflow/*
    const hook = `data:text/javascript,${encodeURIComponent('export async function resolve(s, c, n) { if (s.includes("@tensorflow")) throw new Error("TFLOADED " + s); return n(s, c); }')}`;
    const index = new URL('../src/index.js', import.meta.url).href;
    const script = `import { register } from 'node:module'; register(${JSON.stringify(hook)}); const m = await import(${JSON.stringify(index)}); m.createStatisticalDetector({ metrics: ['x'] }); process.stdout.write('ok');`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(out, 'ok');
    // the hook does fire when tfjs is imported, so the check above can fail
    const bad = `import { register } from 'node:module'; register(${JSON.stringify(hook)}); await import('@tensorflow/tfjs');`;
    assert.throws(() => execFileSync(process.execPath, ['--input-type=module', '-e', bad], { encoding: 'utf8', stdio: 'pipe', cwd: new URL('..', import.meta.url) }), /TFLOADED/);
  });
});

function sortedMedian(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
