import type { Sample, StreamingDetector, Verdict } from '@sliceguard/core';
import { InvalidOptionsError, InvalidSampleError } from './errors.js';

/**
 * The baseline detector: per-metric deviation from a rolling baseline, no training, no TensorFlow.
 *
 * - `robust-z` (default): z = |x − median| / (1.4826 · MAD) over the last `window` accepted values.
 * - `ewma`: z = |x − mean| / std with an exponentially weighted mean and variance
 *   (alpha = 2 / (window + 1) unless given).
 *
 * The sample's score aggregates the per-metric z values (`max` by default, or `rms`) and each
 * metric's share of the summed z is reported as a contributor.
 *
 * Missing and NaN handling (documented contract): a metric that is absent from a sample or is not
 * a finite number is skipped for that sample — it neither contributes to the score nor enters the
 * baseline — and is listed in the verdict's `missing`. With `missing: 'error'` such a sample is
 * rejected with ANALYTICS_ERR_INVALID_INPUT instead. A sample in which no metric is usable yields
 * no verdict. Timestamps must not go backwards.
 */
export interface StatisticalDetectorOptions {
  /** Metric names, in feature order. Required, non-empty, unique. */
  metrics: readonly string[];
  /** Default 'robust-z'. */
  method?: 'robust-z' | 'ewma';
  /** Rolling baseline length in samples (robust-z) or EWMA span. Default 120. */
  window?: number;
  /** Values a metric needs in its baseline before it is scored. Default min(30, window). */
  warmup?: number;
  /** Score above which a sample is anomalous, in z units. Default 5. */
  threshold?: number;
  /** How per-metric z values combine into the score. Default 'max'. */
  aggregate?: 'max' | 'rms';
  /** EWMA smoothing factor in (0, 1]. Default 2 / (window + 1). */
  alpha?: number;
  /** Absolute floor of the per-metric scale (avoids division by ~0 on flat metrics). Default 1e-6. */
  minScale?: number;
  /** Relative floor of the scale, times |baseline centre|. Default 1e-3. */
  relativeMinScale?: number;
  /**
   * Floor the scale at this multiple of the metric's noise level, the mean absolute difference
   * between consecutive values over the detector's whole history. A metric that sits on one value for
   * a full window (MAD = 0, common with quantised or idle metrics) otherwise turns the smallest step
   * into an enormous z. 0 disables. Default 1.
   */
  noiseFloor?: number;
  /** Floor the scale at this fraction of the metric's observed range (max − min over the whole history). 0 disables. Default 0.01. */
  rangeFloor?: number;
  /**
   * Anomalous samples are kept out of the baseline so an attack does not become "normal"; after this
   * many consecutive anomalous samples they are admitted again (a lasting level shift becomes the new
   * normal). Default = window. Use Infinity to never admit them.
   */
  adaptAfter?: number;
  /** At most this many contributors in a verdict. Default 5. */
  maxContributors?: number;
  /** Default 'skip' (see above). */
  missing?: 'skip' | 'error';
  /** Detector name in verdicts and evidence. Default 'statistical-<method>'. */
  name?: string;
}

export interface StatisticalVerdict extends Verdict {
  /** Per-metric z values of the metrics scored in this sample. */
  zScores: Record<string, number>;
  /** Metrics absent or not finite in this sample. */
  missing: string[];
}

export interface StatisticalDetector extends StreamingDetector {
  readonly threshold: number;
  push(sample: Sample): Promise<StatisticalVerdict | undefined>;
  /** Synchronous variant of push (the detector does no I/O); used by batch evaluation. */
  pushSync(sample: Sample): StatisticalVerdict | undefined;
  /** Samples seen, samples that produced a verdict, metric values skipped as missing. */
  stats(): { samples: number; verdicts: number; missingValues: number };
}

interface MetricState {
  /** robust-z: the window in arrival order (ring) and the same values kept sorted. */
  ring: Float64Array;
  sorted: Float64Array;
  head: number;
  count: number;
  // noise level (mean |x_t − x_{t−1}|) and range over every finite value seen
  previous: number;
  lo: number;
  hi: number;
  absDiffSum: number;
  diffs: number;
  // ewma
  mean: number;
  variance: number;
  seen: number;
}

const MAD_TO_SIGMA = 1.4826;

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < 1) throw new InvalidOptionsError(`${name} must be a positive integer, got ${String(v)}`, { option: name });
  return x;
}

/** Creates the statistical baseline detector (see StatisticalDetectorOptions for the contract). */
export function createStatisticalDetector(options: StatisticalDetectorOptions): StatisticalDetector {
  const metrics = [...(options.metrics ?? [])];
  if (metrics.length === 0) throw new InvalidOptionsError('metrics must list at least one metric name', { option: 'metrics' });
  const dup = metrics.find((m, i) => metrics.indexOf(m) !== i);
  if (dup !== undefined) throw new InvalidOptionsError(`metric "${dup}" is listed twice`, { option: 'metrics', metric: dup });
  const method = options.method ?? 'robust-z';
  if (method !== 'robust-z' && method !== 'ewma') throw new InvalidOptionsError(`method must be 'robust-z' or 'ewma', got ${String(method)}`, { option: 'method' });
  const window = positiveInt('window', options.window, 120);
  const warmup = positiveInt('warmup', options.warmup, Math.min(30, window));
  if (method === 'robust-z' && warmup > window) throw new InvalidOptionsError(`warmup (${warmup}) cannot exceed window (${window})`, { option: 'warmup' });
  const threshold = options.threshold ?? 5;
  if (!(threshold > 0) || !Number.isFinite(threshold)) throw new InvalidOptionsError(`threshold must be a positive finite number, got ${threshold}`, { option: 'threshold' });
  const aggregate = options.aggregate ?? 'max';
  if (aggregate !== 'max' && aggregate !== 'rms') throw new InvalidOptionsError(`aggregate must be 'max' or 'rms', got ${String(aggregate)}`, { option: 'aggregate' });
  const alpha = options.alpha ?? 2 / (window + 1);
  if (!(alpha > 0 && alpha <= 1)) throw new InvalidOptionsError(`alpha must be in (0, 1], got ${alpha}`, { option: 'alpha' });
  const minScale = options.minScale ?? 1e-6;
  const relativeMinScale = options.relativeMinScale ?? 1e-3;
  if (!(minScale > 0) || !(relativeMinScale >= 0)) throw new InvalidOptionsError('minScale must be > 0 and relativeMinScale >= 0', { option: 'minScale' });
  const noiseFloor = options.noiseFloor ?? 1;
  if (!(noiseFloor >= 0) || !Number.isFinite(noiseFloor)) throw new InvalidOptionsError(`noiseFloor must be a finite number >= 0, got ${noiseFloor}`, { option: 'noiseFloor' });
  const rangeFloor = options.rangeFloor ?? 0.01;
  if (!(rangeFloor >= 0) || !Number.isFinite(rangeFloor)) throw new InvalidOptionsError(`rangeFloor must be a finite number >= 0, got ${rangeFloor}`, { option: 'rangeFloor' });
  const adaptAfter = options.adaptAfter ?? window;
  if (!(adaptAfter >= 1)) throw new InvalidOptionsError(`adaptAfter must be >= 1, got ${adaptAfter}`, { option: 'adaptAfter' });
  const maxContributors = positiveInt('maxContributors', options.maxContributors, 5);
  const missingPolicy = options.missing ?? 'skip';
  if (missingPolicy !== 'skip' && missingPolicy !== 'error') throw new InvalidOptionsError(`missing must be 'skip' or 'error', got ${String(missingPolicy)}`, { option: 'missing' });
  const name = options.name ?? `statistical-${method}`;

  const states: MetricState[] = [];
  const times = new Float64Array(window);
  let timeHead = 0;
  let timeCount = 0;
  let lastAt = Number.NEGATIVE_INFINITY;
  let anomalyRun = 0;
  let samples = 0;
  let verdicts = 0;
  let missingValues = 0;

  const reset = (): void => {
    states.length = 0;
    for (let i = 0; i < metrics.length; i++) {
      const size = method === 'robust-z' ? window : 0;
      states.push({ ring: new Float64Array(size), sorted: new Float64Array(size), head: 0, count: 0, previous: Number.NaN, lo: Number.POSITIVE_INFINITY, hi: Number.NEGATIVE_INFINITY, absDiffSum: 0, diffs: 0, mean: 0, variance: 0, seen: 0 });
    }
    timeHead = 0;
    timeCount = 0;
    lastAt = Number.NEGATIVE_INFINITY;
    anomalyRun = 0;
    samples = 0;
    verdicts = 0;
    missingValues = 0;
  };
  reset();

  const floorScale = (s: MetricState, scale: number, centre: number): number => {
    const noise = s.diffs > 0 ? (noiseFloor * s.absDiffSum) / s.diffs : 0;
    const range = s.hi > s.lo ? rangeFloor * (s.hi - s.lo) : 0;
    return Math.max(scale, noise, range, minScale + relativeMinScale * Math.abs(centre));
  };

  /** z of x against metric state, or undefined while the metric is warming up. */
  const zOf = (s: MetricState, x: number): number | undefined => {
    if (method === 'robust-z') {
      if (s.count < warmup) return undefined;
      const n = s.count;
      const med = sortedMedian(s.sorted, n);
      let scale = MAD_TO_SIGMA * medianAbsoluteDeviation(s.sorted, n, med);
      if (scale === 0) {
        // more than half the window is one value: fall back to the mean absolute deviation (×√(π/2))
        let sum = 0;
        for (let i = 0; i < n; i++) sum += Math.abs(s.sorted[i] - med);
        scale = (sum / n) * 1.2533;
      }
      return Math.abs(x - med) / floorScale(s, scale, med);
    }
    if (s.seen < warmup) return undefined;
    return Math.abs(x - s.mean) / floorScale(s, Math.sqrt(s.variance), s.mean);
  };

  const observeNoise = (s: MetricState, x: number): void => {
    if (!Number.isNaN(s.previous)) {
      s.absDiffSum += Math.abs(x - s.previous);
      s.diffs++;
    }
    s.previous = x;
    if (x < s.lo) s.lo = x;
    if (x > s.hi) s.hi = x;
  };

  const learn = (s: MetricState, x: number): void => {
    if (method === 'robust-z') {
      if (s.count === window) removeSorted(s.sorted, s.count--, s.ring[s.head]);
      insertSorted(s.sorted, s.count, x);
      s.ring[s.head] = x;
      s.head = (s.head + 1) % window;
      if (s.count < window) s.count++;
    } else if (s.seen === 0) {
      s.mean = x;
      s.variance = 0;
      s.seen = 1;
    } else {
      const d = x - s.mean;
      s.mean += alpha * d;
      s.variance = (1 - alpha) * (s.variance + alpha * d * d);
      s.seen++;
    }
  };

  const pushSync = (sample: Sample): StatisticalVerdict | undefined => {
    if (!sample || typeof sample.at !== 'number' || !Number.isFinite(sample.at)) {
      throw new InvalidSampleError('sample.at must be a finite clock time in ms', { at: sample?.at });
    }
    if (sample.at < lastAt) {
      throw new InvalidSampleError(`sample time ${sample.at} is before the previous sample (${lastAt}); push samples in time order`, { at: sample.at, previous: lastAt });
    }
    const values = sample.values ?? {};
    const missing: string[] = [];
    const xs = new Float64Array(metrics.length);
    for (let i = 0; i < metrics.length; i++) {
      const v = values[metrics[i]];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        missing.push(metrics[i]);
        xs[i] = Number.NaN;
      } else xs[i] = v;
    }
    if (missing.length > 0 && missingPolicy === 'error') {
      throw new InvalidSampleError(`sample at ${sample.at} lacks a finite value for ${missing.join(', ')}`, { at: sample.at, metrics: missing });
    }
    lastAt = sample.at;
    samples++;
    missingValues += missing.length;
    times[timeHead] = sample.at;
    timeHead = (timeHead + 1) % window;
    if (timeCount < window) timeCount++;

    const zScores: Record<string, number> = {};
    const zs: { metric: string; z: number }[] = [];
    for (let i = 0; i < metrics.length; i++) {
      if (Number.isNaN(xs[i])) continue;
      const z = zOf(states[i], xs[i]);
      if (z === undefined) continue;
      zScores[metrics[i]] = z;
      zs.push({ metric: metrics[i], z });
    }
    let verdict: StatisticalVerdict | undefined;
    if (zs.length > 0) {
      let score = 0;
      let sum = 0;
      if (aggregate === 'max') {
        for (const { z } of zs) score = Math.max(score, z);
      } else {
        for (const { z } of zs) score += z * z;
        score = Math.sqrt(score / zs.length);
      }
      for (const { z } of zs) sum += z;
      const contributors = zs
        .filter(({ z }) => z > 0)
        .sort((a, b) => b.z - a.z)
        .slice(0, maxContributors)
        .map(({ metric, z }) => ({ metric, share: z / sum }));
      const oldest = timeCount < window ? times[0] : times[timeHead];
      verdict = {
        at: sample.at,
        score,
        threshold,
        anomalous: score > threshold,
        contributors,
        window: { start: oldest, end: sample.at },
        zScores,
        missing,
      };
      verdicts++;
    }
    // noise level and range see every value (after scoring it), anomalous or not
    for (let i = 0; i < metrics.length; i++) if (!Number.isNaN(xs[i])) observeNoise(states[i], xs[i]);
    const anomalous = verdict?.anomalous ?? false;
    anomalyRun = anomalous ? anomalyRun + 1 : 0;
    if (!anomalous || anomalyRun >= adaptAfter) {
      for (let i = 0; i < metrics.length; i++) if (!Number.isNaN(xs[i])) learn(states[i], xs[i]);
    }
    return verdict;
  };

  return {
    name,
    metrics,
    threshold,
    push: async (sample) => pushSync(sample),
    pushSync,
    reset,
    stats: () => ({ samples, verdicts, missingValues }),
  };
}

/** Median of the first n entries of an ascending array. */
function sortedMedian(a: Float64Array, n: number): number {
  const mid = n >> 1;
  return n % 2 === 1 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
}

/**
 * Median of |a[i] − centre| over the first n entries of an ascending array, in O(n/2): the
 * deviations left and right of the centre are two ascending runs, merged up to the middle rank.
 */
function medianAbsoluteDeviation(a: Float64Array, n: number, centre: number): number {
  let j = lowerBound(a, n, centre);
  let i = j - 1;
  const target = n >> 1;
  let previous = 0;
  let current = 0;
  for (let r = 0; r <= target; r++) {
    previous = current;
    const left = i >= 0 ? centre - a[i] : Number.POSITIVE_INFINITY;
    const right = j < n ? a[j] - centre : Number.POSITIVE_INFINITY;
    if (left <= right) {
      current = left;
      i--;
    } else {
      current = right;
      j++;
    }
  }
  return n % 2 === 1 ? current : (previous + current) / 2;
}

/** First index in a[0..n) whose value is >= x. */
function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(a: Float64Array, n: number, x: number): void {
  const at = lowerBound(a, n, x);
  a.copyWithin(at + 1, at, n);
  a[at] = x;
}

function removeSorted(a: Float64Array, n: number, x: number): void {
  const at = lowerBound(a, n, x);
  a.copyWithin(at, at + 1, n);
}
