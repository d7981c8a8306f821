import { InvalidOptionsError, InvalidSampleError, ModelShapeError } from './errors.js';
import { insertSorted, quantileSorted, removeSorted } from './threshold.js';

/**
 * Relative score: a drift-robust transform of a detector's window score.
 *
 * relative = score / baseline, where the baseline is the median of the last `window` *normal*
 * window scores of the same stream (causal: the window being judged is not in its own baseline).
 * A slow or lasting change of the normal error level (the test period reconstructing worse than the
 * training period overall) moves the baseline with it, so the relative score stays near 1, while a
 * short burst of error stands out against the recent level.
 *
 * Why a ratio: a reconstruction error is a non-negative magnitude whose mean and spread both scale
 * with the noise of the input (a mean of absolute deviations of noise of scale σ has mean and
 * standard deviation ∝ σ), so when normal operation gets noisier, score / level keeps its
 * distribution while score − level does not. An additive offset is compressed by the ratio (fewer
 * alarms, not more).
 *
 * Anomalous windows stay out of the baseline (an attack does not become the reference), but a run of
 * `adaptAfter` consecutive flagged windows is a new regime: the whole run is admitted, and the rest
 * of the run with it. Default adaptAfter = window / 2, the median's breakdown point: a run shorter
 * than half the window could not carry a plain rolling median to its level either, a longer one
 * would — so excluding shorter runs keeps every anomaly of less than half a window out of the
 * reference, and a lasting level shift is absorbed after about half a window (the same delay as a
 * plain rolling median).
 *
 * Default window 1,440 windows: one day at 1-minute sampling, a whole diurnal cycle, so the median
 * is the typical error of a full day whatever the time of day (chosen from that, not from results).
 *
 * Calibration: the training scores are assumed normal (the premise of training on them), so every
 * training score enters the baseline; the first `window` training windows are divided by the median
 * of the first `window` scores (a warm start), later ones by the trailing median. The threshold is
 * calibrated on these relative training scores, and the streaming state starts from the last
 * `window` training scores.
 */
export const DEFAULT_BASELINE_WINDOW = 1440;

export interface ScoreBaselineOptions {
  /** Normal window scores in the rolling median. Default 1,440 (one day at 1-minute sampling). */
  window?: number;
  /** Consecutive flagged windows after which a run is admitted into the baseline. Default window / 2. */
  adaptAfter?: number;
}

/** Saved with the model; every agent starts from a copy. All numbers are JSON doubles (bit-exact). */
export interface ScoreBaselineState {
  window: number;
  adaptAfter: number;
  /** Smallest divisor: 1e-3 × the median training score (a guard against dividing by ~0). */
  floor: number;
  /** Admitted raw scores, oldest first (at most `window`). */
  history: number[];
  /** Raw scores of the current run of flagged windows, not yet admitted (oldest first). */
  pending: number[];
  /** Length of the current run of flagged windows. */
  run: number;
  calibratedOn: number;
}

export interface ScoreBaseline {
  /** The current divisor: the median of the admitted scores, at least `floor`. */
  value(): number;
  /** score / value(). */
  relative(score: number): number;
  /** Learns from a judged window: its raw score and whether it was flagged. */
  observe(score: number, anomalous: boolean): void;
  toJSON(): ScoreBaselineState;
}

export interface FittedBaseline {
  state: ScoreBaselineState;
  /** The relative training scores (the threshold is calibrated on these). */
  relative: Float64Array;
}

export function resolveBaselineOptions(options: ScoreBaselineOptions = {}): { window: number; adaptAfter: number } {
  const window = options.window ?? DEFAULT_BASELINE_WINDOW;
  if (!Number.isInteger(window) || window < 3) throw new InvalidOptionsError(`score baseline window must be an integer >= 3, got ${window}`, { option: 'window' });
  const adaptAfter = options.adaptAfter ?? Math.floor(window / 2);
  if (!Number.isInteger(adaptAfter) || adaptAfter < 1) throw new InvalidOptionsError(`score baseline adaptAfter must be an integer >= 1, got ${adaptAfter}`, { option: 'adaptAfter' });
  return { window, adaptAfter };
}

/** Fits the baseline on training window scores (in time order) and returns their relative scores. */
export function fitScoreBaseline(trainingScores: ArrayLike<number>, options: ScoreBaselineOptions = {}): FittedBaseline {
  const { window, adaptAfter } = resolveBaselineOptions(options);
  const n = trainingScores.length;
  if (n === 0) throw new InvalidSampleError('the score baseline needs at least one training score', {});
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(trainingScores[i])) throw new InvalidSampleError(`training score ${i} is not finite (${trainingScores[i]})`, { index: i });
  }
  const all = Float64Array.from(trainingScores).sort();
  const floor = Math.max(1e-3 * quantileSorted(all, 0.5), Number.MIN_VALUE);
  const warm = Math.min(window, n);
  const history: number[] = [];
  const sorted: number[] = [];
  for (let i = 0; i < warm; i++) {
    history.push(trainingScores[i]);
    insertSorted(sorted, trainingScores[i]);
  }
  const relative = new Float64Array(n);
  const start = Math.max(quantileSorted(sorted, 0.5), floor);
  for (let k = 0; k < warm; k++) relative[k] = trainingScores[k] / start;
  for (let k = warm; k < n; k++) {
    relative[k] = trainingScores[k] / Math.max(quantileSorted(sorted, 0.5), floor);
    history.push(trainingScores[k]);
    insertSorted(sorted, trainingScores[k]);
    removeSorted(sorted, history.shift() as number);
  }
  return { state: { window, adaptAfter, floor, history, pending: [], run: 0, calibratedOn: n }, relative };
}

/** Checks a saved baseline state (ModelShapeError when malformed). */
export function checkBaselineState(saved: ScoreBaselineState, where = 'score baseline'): ScoreBaselineState {
  const finiteList = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (
    !saved ||
    !Number.isInteger(saved.window) ||
    saved.window < 3 ||
    !Number.isInteger(saved.adaptAfter) ||
    saved.adaptAfter < 1 ||
    !(saved.floor > 0) ||
    !finiteList(saved.history) ||
    saved.history.length === 0 ||
    saved.history.length > saved.window ||
    !finiteList(saved.pending) ||
    saved.pending.length > saved.adaptAfter ||
    !Number.isInteger(saved.run) ||
    saved.run < saved.pending.length
  ) {
    throw new ModelShapeError(`${where} is malformed: needs window, adaptAfter, a positive floor, 1..window finite history scores and a pending run`, { where });
  }
  return structuredClone(saved);
}

/** A live baseline from its saved state (each agent gets its own). */
export function restoreScoreBaseline(saved: ScoreBaselineState): ScoreBaseline {
  const state = checkBaselineState(saved);
  const sorted = [...state.history].sort((a, b) => a - b);
  const admit = (score: number): void => {
    state.history.push(score);
    insertSorted(sorted, score);
    if (state.history.length > state.window) removeSorted(sorted, state.history.shift() as number);
  };
  const value = (): number => Math.max(quantileSorted(sorted, 0.5), state.floor);
  return {
    value,
    relative: (score) => score / value(),
    observe(score, anomalous) {
      if (!Number.isFinite(score)) return;
      if (!anomalous) {
        state.run = 0;
        state.pending = [];
        admit(score);
        return;
      }
      state.run++;
      if (state.run < state.adaptAfter) {
        state.pending.push(score);
      } else if (state.run === state.adaptAfter) {
        // a run this long is a new regime: it enters the baseline, and the rest of it as it comes
        for (const s of state.pending) admit(s);
        state.pending = [];
        admit(score);
      } else admit(score);
    },
    toJSON: () => structuredClone(state),
  };
}
