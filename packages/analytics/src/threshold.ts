import { InvalidOptionsError, InvalidSampleError, ModelShapeError } from './errors.js';

/**
 * Threshold calibration on training scores only (never on test labels).
 * - `p99`: the paper's static threshold, the `quantile` (default 0.99) of the training scores.
 * - `pot`: peaks-over-threshold (extreme value theory): a generalised Pareto tail fitted to the
 *   training scores above their `potLevel` quantile gives the score exceeded with probability `risk`.
 * - `spot`: `pot`, then updated online as in SPOT (Siffer et al., KDD 2017): each new normal score
 *   above the initial level joins the peaks and the tail is refitted, so the threshold follows the
 *   data; scores flagged anomalous never update it.
 * - `rolling`: Q + headroom · (Q − median), Q the `quantile` of the last `rollingWindow` normal
 *   scores (starting from the tail of the training scores). Anomalous scores never enter the window;
 *   the headroom above Q lets a slowly rising normal level lift the threshold (a plain rolling
 *   quantile of normal scores could only ever fall).
 */
export type ThresholdMethod = 'p99' | 'pot' | 'spot' | 'rolling';
export const THRESHOLD_METHODS: readonly ThresholdMethod[] = ['p99', 'pot', 'spot', 'rolling'];

export interface ThresholdOptions {
  method?: ThresholdMethod;
  /** p99 / rolling: the quantile. Default 0.99. */
  quantile?: number;
  /** pot / spot: quantile of the training scores where the tail starts. Default 0.98. */
  potLevel?: number;
  /** pot / spot: probability of a normal score exceeding the threshold. Default 1e-3. */
  risk?: number;
  /** rolling: scores in the window. Default 1000. */
  rollingWindow?: number;
  /** rolling: headroom above the quantile, in units of (quantile − median). Default 0.5. */
  headroom?: number;
}

export interface ThresholdState {
  method: ThresholdMethod;
  value: number;
  quantile?: number;
  potLevel?: number;
  risk?: number;
  /** pot/spot: the initial threshold t, peaks (excesses over t, ascending) and observation count. */
  initial?: number;
  peaks?: number[];
  observations?: number;
  gpd?: { shape: number; scale: number };
  /** rolling: the window, oldest first. */
  window?: number[];
  rollingWindow?: number;
  headroom?: number;
  calibratedOn: number;
}

export interface Threshold {
  readonly method: ThresholdMethod;
  /** The current threshold. */
  value(): number;
  /** Judges a score against the current threshold, then (adaptive methods) learns from it if normal. */
  observe(score: number): { threshold: number; anomalous: boolean };
  /** Whether observe() changes the threshold. */
  readonly adaptive: boolean;
  toJSON(): ThresholdState;
}

/** Linear-interpolated quantile (numpy's default) of the values. */
export function quantileOf(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new InvalidSampleError('cannot take a quantile of zero values', {});
  const sorted = Float64Array.from(values).sort();
  return quantileSorted(sorted, q);
}

function rollingValue(sorted: ArrayLike<number>, q: number, headroom: number): number {
  const upper = quantileSorted(sorted, q);
  return upper + headroom * Math.max(0, upper - quantileSorted(sorted, 0.5));
}

/** Linear-interpolated quantile of ascending values (internal; also used by the score baseline). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function checkScores(scores: ArrayLike<number>): void {
  if (scores.length === 0) throw new InvalidSampleError('threshold calibration needs at least one training score', {});
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new InvalidSampleError(`training score ${i} is not finite (${scores[i]})`, { index: i });
  }
}

function inUnit(name: string, v: number): number {
  if (!(v > 0 && v < 1)) throw new InvalidOptionsError(`${name} must be in (0, 1), got ${v}`, { option: name });
  return v;
}

/** Calibrates a threshold on training scores. */
export function calibrateThreshold(trainingScores: ArrayLike<number>, options: ThresholdOptions = {}): Threshold {
  const method = options.method ?? 'p99';
  if (!THRESHOLD_METHODS.includes(method)) throw new InvalidOptionsError(`unknown threshold method "${String(method)}"; use ${THRESHOLD_METHODS.join(', ')}`, { option: 'threshold' });
  checkScores(trainingScores);
  const sorted = Float64Array.from(trainingScores).sort();
  const n = sorted.length;
  if (method === 'p99') {
    const quantile = inUnit('quantile', options.quantile ?? 0.99);
    return restoreThreshold({ method, value: quantileSorted(sorted, quantile), quantile, calibratedOn: n });
  }
  if (method === 'rolling') {
    const quantile = inUnit('quantile', options.quantile ?? 0.99);
    const rollingWindow = options.rollingWindow ?? 1000;
    if (!Number.isInteger(rollingWindow) || rollingWindow < 10) throw new InvalidOptionsError(`rollingWindow must be an integer >= 10, got ${rollingWindow}`, { option: 'rollingWindow' });
    const headroom = options.headroom ?? 0.5;
    if (!(headroom >= 0) || !Number.isFinite(headroom)) throw new InvalidOptionsError(`headroom must be a finite number >= 0, got ${headroom}`, { option: 'headroom' });
    const window = Array.from(trainingScores).slice(-rollingWindow);
    const s = Float64Array.from(window).sort();
    return restoreThreshold({ method, value: rollingValue(s, quantile, headroom), quantile, headroom, window, rollingWindow, calibratedOn: n });
  }
  const potLevel = inUnit('potLevel', options.potLevel ?? 0.98);
  const risk = inUnit('risk', options.risk ?? 1e-3);
  const initial = quantileSorted(sorted, potLevel);
  const peaks: number[] = [];
  for (let i = 0; i < n; i++) if (sorted[i] > initial) peaks.push(sorted[i] - initial);
  const gpd = fitGpd(peaks);
  const value = potQuantile(initial, gpd, risk, n, peaks.length);
  return restoreThreshold({ method, value, potLevel, risk, initial, peaks, observations: n, gpd, calibratedOn: n });
}

/**
 * Fits a generalised Pareto distribution to excesses by probability-weighted moments
 * (Hosking & Wallis 1987); falls back to the exponential tail (shape 0) with fewer than 10 peaks
 * or when the moment estimate leaves its valid range.
 */
export function fitGpd(excesses: readonly number[]): { shape: number; scale: number } {
  const n = excesses.length;
  if (n === 0) return { shape: 0, scale: 0 };
  const sorted = [...excesses].sort((a, b) => a - b);
  let b0 = 0;
  let b1 = 0;
  for (let i = 0; i < n; i++) {
    b0 += sorted[i];
    b1 += n > 1 ? (i / (n - 1)) * sorted[i] : 0;
  }
  b0 /= n;
  b1 /= n;
  if (n < 10 || !(b0 > 0)) return { shape: 0, scale: b0 };
  const a0 = b0;
  const a1 = b0 - b1;
  const denom = a0 - 2 * a1;
  if (!(Math.abs(denom) > 1e-15)) return { shape: 0, scale: b0 };
  const k = a0 / denom - 2;
  const scale = (2 * a0 * a1) / denom;
  const shape = -k;
  if (!Number.isFinite(shape) || !(scale > 0) || shape >= 0.5 || shape < -1) return { shape: 0, scale: b0 };
  return { shape, scale };
}

function potQuantile(initial: number, gpd: { shape: number; scale: number }, risk: number, n: number, peakCount: number): number {
  if (peakCount === 0 || !(gpd.scale > 0)) return initial;
  const r = (risk * n) / peakCount;
  const z = Math.abs(gpd.shape) < 1e-9 ? initial - gpd.scale * Math.log(r) : initial + (gpd.scale / gpd.shape) * (r ** -gpd.shape - 1);
  return Number.isFinite(z) ? Math.max(initial, z) : initial;
}

/** Inserts v into ascending a (internal). */
export function insertSorted(a: number[], v: number): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  a.splice(lo, 0, v);
}

/** Removes one v from ascending a, if present (internal). */
export function removeSorted(a: number[], v: number): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  if (a[lo] === v) a.splice(lo, 1);
}

/** Rebuilds a threshold from its saved state (bit-exact: every number is stored as a JSON double). */
export function restoreThreshold(saved: ThresholdState): Threshold {
  if (!saved || !THRESHOLD_METHODS.includes(saved.method) || !Number.isFinite(saved.value)) {
    throw new ModelShapeError('saved threshold is malformed: needs a known method and a finite value', { method: saved?.method });
  }
  const state: ThresholdState = structuredClone(saved);
  const method = state.method;
  if (method === 'p99' || method === 'pot') {
    return { method, adaptive: false, value: () => state.value, observe: (score) => ({ threshold: state.value, anomalous: score > state.value }), toJSON: () => structuredClone(state) };
  }
  if (method === 'spot') {
    if (!Array.isArray(state.peaks) || state.initial === undefined || state.observations === undefined || state.risk === undefined) {
      throw new ModelShapeError('saved spot threshold lacks peaks, initial level, observations or risk', {});
    }
    const peaks = state.peaks;
    return {
      method,
      adaptive: true,
      value: () => state.value,
      observe(score) {
        const threshold = state.value;
        const anomalous = score > threshold;
        if (!anomalous && Number.isFinite(score)) {
          state.observations = (state.observations ?? 0) + 1;
          if (score > (state.initial ?? 0)) {
            insertSorted(peaks, score - (state.initial ?? 0));
            state.gpd = fitGpd(peaks);
          }
          state.value = potQuantile(state.initial ?? 0, state.gpd ?? { shape: 0, scale: 0 }, state.risk ?? 1e-3, state.observations, peaks.length);
        }
        return { threshold, anomalous };
      },
      toJSON: () => structuredClone(state),
    };
  }
  // rolling
  if (!Array.isArray(state.window) || state.quantile === undefined || state.rollingWindow === undefined) {
    throw new ModelShapeError('saved rolling threshold lacks its window, quantile or size', {});
  }
  const window = state.window;
  const sorted = [...window].sort((a, b) => a - b);
  const q = state.quantile;
  const size = state.rollingWindow;
  const headroom = state.headroom ?? 0;
  return {
    method,
    adaptive: true,
    value: () => state.value,
    observe(score) {
      const threshold = state.value;
      const anomalous = score > threshold;
      if (!anomalous && Number.isFinite(score)) {
        window.push(score);
        insertSorted(sorted, score);
        if (window.length > size) removeSorted(sorted, window.shift() as number);
        state.value = rollingValue(sorted, q, headroom);
      }
      return { threshold, anomalous };
    },
    toJSON: () => structuredClone(state),
  };
}
