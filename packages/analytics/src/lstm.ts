import type { FlatWeights, Logger, Rng, TrainableModel, WeightTensorLayout } from '@sliceguard/core';
import { layoutsEqual, seededRng, silentLogger, throwIfAborted } from '@sliceguard/core';
import type { BackendName, BackendPreference, Tf } from './backend.js';
import { loadTf } from './backend.js';
import { InvalidOptionsError, ModelShapeError, NotTrainedError } from './errors.js';
import { LstmNetwork } from './network.js';
import type { ScoreBaselineOptions, ScoreBaselineState } from './baseline.js';
import { fitScoreBaseline } from './baseline.js';
import type { ScalerKind } from './preprocess.js';
import { Scaler, scaleRows, slidingWindows } from './preprocess.js';
import type { Threshold, ThresholdOptions } from './threshold.js';
import { calibrateThreshold } from './threshold.js';

type Tensor3D = import('@tensorflow/tfjs').Tensor3D;
type Optimizer = import('@tensorflow/tfjs').Optimizer;

/** Architecture and preprocessing of an LSTM autoencoder; saved with the model as its topology. */
export interface LstmAutoencoderConfig {
  /** Metric names in feature order. */
  metrics: string[];
  /** Window length in samples. Default 30. */
  window: number;
  /** Units of the stacked encoder LSTMs; the last one is the latent size. Default [32]. */
  encoderUnits: number[];
  /** Units of the decoder LSTMs. Default: the encoder units reversed. */
  decoderUnits: number[];
  /** Adam learning rate. Default 1e-3. */
  learningRate: number;
  /** Per-metric scaler kind. Default 'minmax'. */
  scaler: ScalerKind;
  /** Seed of the initial weights and of the training shuffle order (unless an rng is injected). Default 1. */
  seed: number;
}

export type LstmAutoencoderInit = Pick<LstmAutoencoderConfig, 'metrics'> & Partial<Omit<LstmAutoencoderConfig, 'metrics'>>;

export interface TrainOptions {
  /** Default 30 (the paper). */
  epochs?: number;
  /** Default 50 (the paper). */
  batchSize?: number;
  /** Fraction of the windows, taken from the end (a held-out time span), for validation. Default 0.2. */
  validationSplit?: number;
  /** Stop after this many epochs without improvement of the validation (or training) loss; 0 disables. Default 5. */
  patience?: number;
  /** Smallest loss decrease that counts as improvement. Default 1e-4. */
  minDelta?: number;
  /** Step between training windows. Default 1. */
  stride?: number;
  /** Train on at most this many windows, evenly spaced over the series (subsampling large sets). Default: all. */
  maxWindows?: number;
  /** Shuffle the training windows each epoch. Default true. */
  shuffle?: boolean;
  /** Shuffle order. Default: the model's own stream seeded from config.seed (training is reproducible). */
  rng?: Rng;
  signal?: AbortSignal;
  onEpoch?: (epoch: number, logs: { loss: number; valLoss?: number; seconds: number }) => void;
}

export interface TrainingMetadata {
  trainedAt: string;
  backend: BackendName;
  rows: number;
  windows: number;
  epochs: number;
  epochsRun: number;
  batchSize: number;
  validationSplit: number;
  stride: number;
  finalLoss: number;
  finalValLoss?: number;
  history: { loss: number; valLoss?: number }[];
  seconds: number;
}

export interface CreateModelOptions {
  backend?: BackendPreference;
  logger?: Logger;
}

/**
 * How a window's per-metric reconstruction errors become its score.
 * - `mae` (default, the paper): the mean absolute error over the window and all metrics.
 * - `normalized`: each metric's error divided by that metric's mean error on the training windows
 *   (so a metric that is hard to reconstruct even in normal operation does not dominate, and one
 *   that is normally reconstructed well counts when it deviates), then averaged over metrics; a
 *   score of 1 is the typical training error. The divisor is floored at `floor` × the mean of the
 *   metrics' training errors, so no metric weighs more than 1/floor times an average one.
 */
export type ScoreMode = 'mae' | 'normalized';
export const SCORE_MODES: readonly ScoreMode[] = ['mae', 'normalized'];

export interface ScoreOptions {
  mode: ScoreMode;
  /** `normalized`: floor of a metric's divisor as a fraction of the mean training error. Default 0.1. */
  floor?: number;
  /**
   * Relative score (see baseline.ts): judge score / median of the last `window` normal scores
   * instead of the score itself. Off when absent. Used by `calibrate` / `trainLstmAutoencoder`.
   */
  baseline?: ScoreBaselineOptions;
}

/** Saved with the model. */
export type ScoringState = { mode: 'mae' } | { mode: 'normalized'; floor: number; divisors: number[] };

export interface WindowScores {
  /** One reconstruction error (MAE over the window) per window. */
  scores: Float32Array;
  /** Per window, mean absolute error of each metric [count, features]. */
  perMetric: Float32Array;
  count: number;
}

export function resolveConfig(init: LstmAutoencoderInit): LstmAutoencoderConfig {
  const metrics = [...(init.metrics ?? [])];
  if (metrics.length === 0) throw new InvalidOptionsError('metrics must list at least one metric', { option: 'metrics' });
  if (new Set(metrics).size !== metrics.length) throw new InvalidOptionsError('metric names must be unique', { option: 'metrics' });
  const window = init.window ?? 30;
  if (!Number.isInteger(window) || window < 2) throw new InvalidOptionsError(`window must be an integer >= 2, got ${window}`, { option: 'window' });
  const encoderUnits = [...(init.encoderUnits ?? [32])];
  const decoderUnits = [...(init.decoderUnits ?? [...encoderUnits].reverse())];
  for (const [name, units] of [
    ['encoderUnits', encoderUnits],
    ['decoderUnits', decoderUnits],
  ] as const) {
    if (units.length === 0 || !units.every((u) => Number.isInteger(u) && u > 0)) throw new InvalidOptionsError(`${name} must be a non-empty list of positive integers`, { option: name });
  }
  const learningRate = init.learningRate ?? 1e-3;
  if (!(learningRate > 0)) throw new InvalidOptionsError(`learningRate must be > 0, got ${learningRate}`, { option: 'learningRate' });
  return { metrics, window, encoderUnits, decoderUnits, learningRate, scaler: init.scaler ?? 'minmax', seed: init.seed ?? 1 };
}

/**
 * The LSTM autoencoder of the paper's proof of concept: encoder LSTM(s) → latent vector → repeated
 * over the window → decoder LSTM(s) → per-step dense reconstruction, trained with MAE on windows of
 * normal behaviour. A window's anomaly score is its mean absolute reconstruction error; each metric's
 * share of that error says why a window is anomalous.
 *
 * Implements core TrainableModel: weights travel as one flat Float32Array (FlatWeights) with a
 * stable layout, which is what federated averaging exchanges.
 */
export class LstmAutoencoder implements TrainableModel {
  readonly config: Readonly<LstmAutoencoderConfig>;
  readonly backend: BackendName;
  readonly scaler: Scaler;
  threshold: Threshold | undefined;
  metadata: TrainingMetadata | undefined;
  /** How per-metric errors become a window score (see ScoreMode); set by fitScoring or loadModel. */
  scoring: ScoringState = { mode: 'mae' };
  /**
   * The relative-score baseline fitted on the training scores (undefined: scores are judged as they
   * are). Verdicts and thresholds are then in relative units; each agent starts from a copy.
   */
  baseline: ScoreBaselineState | undefined;
  private readonly tf: Tf;
  private readonly net: LstmNetwork;
  /** Adam, kept across train/fit calls (its moments persist like a compiled Keras model's). */
  private readonly optimizer: Optimizer;
  private readonly logger: Logger;
  private readonly layoutCache: WeightTensorLayout[];
  /** Default shuffle stream, seeded from config.seed. */
  private readonly shuffleRng: Rng;
  private disposed = false;

  private constructor(tf: Tf, backend: BackendName, config: LstmAutoencoderConfig, logger: Logger) {
    this.tf = tf;
    this.backend = backend;
    this.config = Object.freeze({ ...config, metrics: [...config.metrics], encoderUnits: [...config.encoderUnits], decoderUnits: [...config.decoderUnits] });
    this.net = new LstmNetwork(tf, { features: config.metrics.length, window: config.window, encoderUnits: config.encoderUnits, decoderUnits: config.decoderUnits });
    this.optimizer = tf.train.adam(config.learningRate);
    this.logger = logger;
    this.scaler = new Scaler(config.metrics, config.scaler);
    this.layoutCache = this.net.layout;
    this.shuffleRng = seededRng(`lstm-ae:shuffle:${config.seed}`);
  }

  /** Builds an untrained model (weights initialised from config.seed). Loads TensorFlow.js on first use. */
  static async create(init: LstmAutoencoderInit, options: CreateModelOptions = {}): Promise<LstmAutoencoder> {
    const config = resolveConfig(init);
    const logger = options.logger ?? silentLogger();
    const { tf, backend } = await loadTf({ backend: options.backend, logger });
    const m = new LstmAutoencoder(tf, backend, config, logger);
    m.setWeights(initialWeights(m.layoutCache, config.seed));
    return m;
  }

  get metrics(): readonly string[] {
    return this.config.metrics;
  }

  get window(): number {
    return this.config.window;
  }

  /** The layout of getWeights(); equal layouts ⇔ interchangeable weights. */
  get layout(): readonly WeightTensorLayout[] {
    return this.layoutCache;
  }

  get parameterCount(): number {
    return this.layoutCache.reduce((n, l) => n + l.length, 0);
  }

  getWeights(): FlatWeights {
    this.assertLive();
    const values = this.net.read();
    return { layout: this.layoutCache.map((l) => ({ ...l, shape: [...l.shape] })), values };
  }

  setWeights(weights: FlatWeights): void {
    this.assertLive();
    if (!weights || !Array.isArray(weights.layout) || !(weights.values instanceof Float32Array)) {
      throw new ModelShapeError('weights must be { layout, values: Float32Array }', {});
    }
    if (!layoutsEqual(weights.layout, this.layoutCache)) {
      throw new ModelShapeError(`weights do not fit this model: ${describeLayoutMismatch(this.layoutCache, weights.layout)}`, {
        expected: this.layoutCache.map((l) => `${l.name}[${l.shape.join('x')}]`).join(' '),
        got: weights.layout.map((l) => `${l.name}[${l.shape.join('x')}]`).join(' '),
      });
    }
    const total = this.parameterCount;
    if (weights.values.length !== total) throw new ModelShapeError(`weights hold ${weights.values.length} values, the layout needs ${total}`, {});
    for (let i = 0; i < weights.values.length; i++) {
      if (!Number.isFinite(weights.values[i])) throw new ModelShapeError(`weight ${i} is not finite (${weights.values[i]})`, { index: i });
    }
    this.net.assign(weights.values);
  }

  /**
   * TrainableModel.fit: trains on raw rows (metric order). Fits the scaler first if it is not fitted
   * yet (a federated deployment should share one scaler: see docs/analytics.md). Returns the final
   * training loss and the number of windows trained on.
   */
  async fit(rows: Float32Array[], options: { epochs: number; batchSize?: number; signal?: AbortSignal }): Promise<{ loss: number; samples: number }> {
    const meta = await this.train(rows, { epochs: options.epochs, batchSize: options.batchSize, signal: options.signal, validationSplit: 0, patience: 0 });
    return { loss: meta.finalLoss, samples: meta.windows };
  }

  /** TrainableModel.evaluate: mean reconstruction error (MAE) over the sliding windows of raw rows (whatever the score mode). */
  async evaluate(rows: Float32Array[]): Promise<number> {
    const { scores, count } = await this.scoreRows(rows, true);
    if (count === 0) throw new InvalidOptionsError(`evaluate needs at least ${this.window} rows, got ${rows.length}`, { rows: rows.length });
    let sum = 0;
    for (let i = 0; i < count; i++) sum += scores[i];
    return sum / count;
  }

  /** Trains on raw rows (finite values in metric order); fits the scaler when not fitted. */
  async train(rows: readonly ArrayLike<number>[], options: TrainOptions = {}): Promise<TrainingMetadata> {
    this.assertLive();
    const epochs = options.epochs ?? 30;
    const batchSize = options.batchSize ?? 50;
    const validationSplit = options.validationSplit ?? 0.2;
    const patience = options.patience ?? 5;
    const minDelta = options.minDelta ?? 1e-4;
    const stride = options.stride ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new InvalidOptionsError(`epochs must be a positive integer, got ${epochs}`, { option: 'epochs' });
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionsError(`batchSize must be a positive integer, got ${batchSize}`, { option: 'batchSize' });
    if (!(validationSplit >= 0 && validationSplit < 1)) throw new InvalidOptionsError(`validationSplit must be in [0, 1), got ${validationSplit}`, { option: 'validationSplit' });
    if (!Number.isInteger(patience) || patience < 0) throw new InvalidOptionsError(`patience must be a non-negative integer, got ${patience}`, { option: 'patience' });
    throwIfAborted(options.signal);
    if (!this.scaler.fitted) this.scaler.fit(rows);
    const f = this.metrics.length;
    const scaled = scaleRows(this.scaler, rows);
    let { data, count } = slidingWindows(scaled, rows.length, f, this.window, stride);
    if (options.maxWindows !== undefined && count > options.maxWindows) {
      ({ data, count } = subsampleWindows(data, count, this.window * f, options.maxWindows));
    }
    const needed = validationSplit > 0 ? 2 : 1;
    if (count < needed) throw new InvalidOptionsError(`training needs at least ${this.window + needed - 1} rows for window ${this.window}, got ${rows.length}`, { rows: rows.length });
    const w = this.window;
    const span = w * f;
    // Keras semantics: the validation windows are the last fraction (a held-out time span), the
    // rest is shuffled every epoch and cut into batches (the last one may be smaller)
    const trainCount = validationSplit > 0 ? Math.floor(count * (1 - validationSplit)) : count;
    if (trainCount < 1 || trainCount === count && validationSplit > 0) {
      throw new InvalidOptionsError(`validationSplit ${validationSplit} leaves no training or no validation windows of ${count}`, { option: 'validationSplit' });
    }
    const rng = options.rng ?? this.shuffleRng;
    const shuffle = options.shuffle ?? true;
    const order = Int32Array.from({ length: trainCount }, (_, i) => i);
    const batch = new Float32Array(Math.min(batchSize, trainCount) * span);
    const history: { loss: number; valLoss?: number }[] = [];
    const started = performance.now();
    const signal = options.signal;
    let best = Number.POSITIVE_INFINITY;
    let sinceBest = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      if (shuffle) {
        for (let i = trainCount - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          const tmp = order[i];
          order[i] = order[j];
          order[j] = tmp;
        }
      }
      let lossSum = 0;
      for (let from = 0; from < trainCount; from += batchSize) {
        const n = Math.min(batchSize, trainCount - from);
        timeMajor(data, order, from, n, w, f, batch);
        const x = this.tf.tensor3d(batch.subarray(0, n * span), [w, n, f]);
        try {
          lossSum += this.net.trainStep(this.optimizer, x) * n;
        } finally {
          x.dispose();
        }
        // yield to the event loop between batches (timers, abort signals, other agents)
        if ((from / batchSize) % 8 === 7) await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal?.aborted) break;
      }
      if (signal?.aborted) break;
      const loss = lossSum / trainCount;
      const valLoss = trainCount < count ? this.meanLoss(data, trainCount, count) : undefined;
      history.push(valLoss === undefined ? { loss } : { loss, valLoss });
      const seconds = (performance.now() - epochStart) / 1000;
      options.onEpoch?.(epoch, { loss, valLoss, seconds });
      this.logger.debug({ epoch, loss, valLoss, seconds }, 'analytics: epoch');
      if (!Number.isFinite(loss)) break;
      // early stopping on the validation loss (training loss without a validation split)
      const monitored = valLoss ?? loss;
      if (monitored < best - minDelta) {
        best = monitored;
        sinceBest = 0;
      } else if (patience > 0 && ++sinceBest >= patience) break;
    }
    throwIfAborted(signal);
    const last = history[history.length - 1];
    if (!last || !Number.isFinite(last.loss)) {
      throw new InvalidOptionsError('training diverged (loss is not finite); lower the learning rate or check the input scaling', { history });
    }
    const meta: TrainingMetadata = {
      trainedAt: new Date().toISOString(),
      backend: this.backend,
      rows: rows.length,
      windows: count,
      epochs,
      epochsRun: history.length,
      batchSize,
      validationSplit,
      stride,
      finalLoss: last.loss,
      finalValLoss: last.valLoss,
      history,
      seconds: (performance.now() - started) / 1000,
    };
    this.metadata = meta;
    this.logger.info({ windows: count, epochsRun: meta.epochsRun, loss: meta.finalLoss, valLoss: meta.finalValLoss, seconds: meta.seconds }, 'analytics: LSTM autoencoder trained');
    return meta;
  }

  /**
   * Scores already-scaled windows [count, window, features] in one inference call per `chunk`
   * windows (default 4096, bounding memory): the batched path that serves many agents at once.
   */
  async scoreWindows(data: Float32Array, count: number, chunk = 4096, raw = false): Promise<WindowScores> {
    this.assertLive();
    const f = this.metrics.length;
    const w = this.window;
    if (data.length !== count * w * f) throw new ModelShapeError(`windows hold ${data.length} values, expected ${count}×${w}×${f}`, {});
    const scores = new Float32Array(count);
    const perMetric = new Float32Array(count * f);
    const tf = this.tf;
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const [errT, scoreT] = tf.tidy(() => {
        const x = tf.transpose(tf.tensor3d(data.subarray(start * w * f, (start + n) * w * f), [n, w, f]), [1, 0, 2]) as Tensor3D; // time-major
        const err = tf.mean(tf.abs(tf.sub(x, this.net.reconstruct(x))), 0); // [n, f]
        return [err, tf.mean(err, 1)];
      });
      try {
        perMetric.set((await errT.data()) as Float32Array, start * f);
        scores.set((await scoreT.data()) as Float32Array, start);
      } finally {
        errT.dispose();
        scoreT.dispose();
      }
    }
    if (!raw && this.scoring.mode === 'normalized') normalizeScores(perMetric, scores, this.scoring.divisors);
    return { scores, perMetric, count };
  }

  /**
   * Sets the score mode; `normalized` fits its per-metric divisors on these rows (training data,
   * never test data). Returns the scores of the rows under the new mode (for threshold calibration).
   */
  async fitScoring(trainingRows: readonly ArrayLike<number>[], options: ScoreOptions): Promise<WindowScores> {
    if (!SCORE_MODES.includes(options.mode)) throw new InvalidOptionsError(`unknown score mode "${String(options.mode)}"; use ${SCORE_MODES.join(' or ')}`, { option: 'score' });
    const floor = options.floor ?? 0.1;
    if (!(floor > 0 && floor <= 1)) throw new InvalidOptionsError(`score floor must be in (0, 1], got ${floor}`, { option: 'floor' });
    const scored = await this.scoreRows(trainingRows, true);
    if (options.mode === 'mae') {
      this.scoring = { mode: 'mae' };
      return scored;
    }
    const f = this.metrics.length;
    const mean = new Float64Array(f);
    for (let i = 0; i < scored.count; i++) for (let j = 0; j < f; j++) mean[j] += scored.perMetric[i * f + j];
    let overall = 0;
    for (let j = 0; j < f; j++) overall += (mean[j] /= Math.max(1, scored.count)) / f;
    const divisors = Array.from(mean, (m) => Math.max(m, floor * overall, Number.MIN_VALUE));
    this.scoring = { mode: 'normalized', floor, divisors };
    normalizeScores(scored.perMetric, scored.scores, divisors);
    this.logger.info({ mode: 'normalized', floor, minDivisor: Math.min(...divisors), maxDivisor: Math.max(...divisors) }, 'analytics: score normalisation fitted');
    return scored;
  }

  /** Scales raw rows, cuts every sliding window (stride 1) and scores them; window k ends at row k + window − 1. */
  async scoreRows(rows: readonly ArrayLike<number>[], raw = false): Promise<WindowScores> {
    if (!this.scaler.fitted) throw new NotTrainedError('the model has no fitted scaler: train it or load a saved model');
    const scaled = scaleRows(this.scaler, rows);
    const { data, count } = slidingWindows(scaled, rows.length, this.metrics.length, this.window, 1);
    return this.scoreWindows(data, count, 4096, raw);
  }

  /**
   * Calibrates this model's threshold on the scores of the training rows (never on test data);
   * with `score`, fits the score mode on the same rows first.
   */
  async calibrate(trainingRows: readonly ArrayLike<number>[], options: ThresholdOptions = {}, score?: ScoreOptions): Promise<Threshold> {
    const { scores } = score ? await this.fitScoring(trainingRows, score) : await this.scoreRows(trainingRows);
    // with score options, they say whether there is a baseline; without, the model keeps its own (refitted on these rows)
    const calibration = this.fitBaseline(scores, score ? score.baseline : this.baselineOptions());
    this.threshold = calibrateThreshold(calibration, options);
    this.logger.info({ method: this.threshold.method, value: this.threshold.value(), windows: scores.length }, 'analytics: threshold calibrated');
    return this.threshold;
  }

  /** The options of the model's relative-score baseline, or undefined when it has none. */
  baselineOptions(): ScoreBaselineOptions | undefined {
    return this.baseline ? { window: this.baseline.window, adaptAfter: this.baseline.adaptAfter } : undefined;
  }

  /**
   * Fits the relative-score baseline on training window scores (time order, this model's score
   * mode) and returns the scores a threshold must be calibrated on: the relative ones, or the
   * scores themselves when `options` is undefined (which removes the baseline).
   */
  fitBaseline(trainingScores: ArrayLike<number>, options: ScoreBaselineOptions | undefined): ArrayLike<number> {
    if (!options) {
      this.baseline = undefined;
      return trainingScores;
    }
    const { state, relative } = fitScoreBaseline(trainingScores, options);
    this.baseline = state;
    this.logger.info({ window: state.window, adaptAfter: state.adaptAfter, initial: state.history.length }, 'analytics: relative-score baseline fitted');
    return relative;
  }

  /** Releases the tensors held by the model. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
    this.optimizer.dispose();
  }

  /** Mean window MAE of windows [from, to) of already-scaled window data (validation loss). */
  private meanLoss(data: Float32Array, from: number, to: number, chunk = 1024): number {
    const tf = this.tf;
    const w = this.window;
    const f = this.metrics.length;
    let sum = 0;
    for (let start = from; start < to; start += chunk) {
      const n = Math.min(chunk, to - start);
      const t = tf.tidy(() => {
        const x = tf.transpose(tf.tensor3d(data.subarray(start * w * f, (start + n) * w * f), [n, w, f]), [1, 0, 2]) as Tensor3D;
        return tf.sum(tf.abs(tf.sub(x, this.net.reconstruct(x))));
      });
      try {
        sum += (t.dataSync() as Float32Array)[0];
      } finally {
        t.dispose();
      }
    }
    return sum / ((to - from) * w * f);
  }

  private assertLive(): void {
    if (this.disposed) throw new NotTrainedError('the model was disposed');
  }
}

function normalizeScores(perMetric: Float32Array, scores: Float32Array, divisors: readonly number[]): void {
  const f = divisors.length;
  for (let i = 0; i < scores.length; i++) {
    let sum = 0;
    for (let j = 0; j < f; j++) sum += perMetric[i * f + j] /= divisors[j];
    scores[i] = sum / f;
  }
}

/** Copies windows order[from..from+n) of batch-major data [count, w, f] into out as time-major [w, n, f]. */
function timeMajor(data: Float32Array, order: Int32Array, from: number, n: number, w: number, f: number, out: Float32Array): void {
  const span = w * f;
  for (let b = 0; b < n; b++) {
    const src = order[from + b] * span;
    for (let t = 0; t < w; t++) out.set(data.subarray(src + t * f, src + (t + 1) * f), (t * n + b) * f);
  }
}

function describeLayoutMismatch(expected: readonly WeightTensorLayout[], got: readonly WeightTensorLayout[]): string {
  if (expected.length !== got.length) return `${got.length} tensors given, the model has ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const g = got[i];
    if (e.name !== g.name || e.shape.join('x') !== g.shape.join('x') || e.offset !== g.offset || e.length !== g.length) {
      return `tensor ${i} is ${g.name}[${g.shape.join('x')}]@${g.offset}, expected ${e.name}[${e.shape.join('x')}]@${e.offset}`;
    }
  }
  return 'layouts differ';
}

/**
 * Seeded initial weights: Glorot-uniform input kernels, orthogonal recurrent kernels (rows made
 * orthonormal by Gram–Schmidt), zero biases with the LSTM forget-gate bias at 1 (Keras defaults).
 */
export function initialWeights(layout: readonly WeightTensorLayout[], seed: number): FlatWeights {
  const total = layout.reduce((n, l) => n + l.length, 0);
  const values = new Float32Array(total);
  const rng = seededRng(`lstm-ae:${seed}`);
  for (const l of layout) {
    const kind = l.name.split('/').pop();
    const out = values.subarray(l.offset, l.offset + l.length);
    if (kind === 'kernel' && l.shape.length === 2) {
      const limit = Math.sqrt(6 / (l.shape[0] + l.shape[1]));
      for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * limit;
    } else if (kind === 'recurrent_kernel' && l.shape.length === 2) {
      out.set(orthogonalRows(l.shape[0], l.shape[1], rng));
    } else if (kind === 'bias' && (l.name.startsWith('encoder_') || l.name.startsWith('decoder_'))) {
      const units = l.length / 4;
      for (let i = units; i < 2 * units; i++) out[i] = 1; // gates ordered i, f, c, o
    }
  }
  return { layout: layout.map((l) => ({ ...l, shape: [...l.shape] })), values };
}

function orthogonalRows(rows: number, cols: number, rng: ReturnType<typeof seededRng>): Float32Array {
  // rows <= cols for LSTM recurrent kernels [units, 4·units]; Gram–Schmidt on random normal rows
  const m = Array.from({ length: rows }, () => Float64Array.from({ length: cols }, () => rng.normal()));
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += m[i][j] * m[k][j];
      for (let j = 0; j < cols; j++) m[i][j] -= dot * m[k][j];
    }
    let norm = 0;
    for (let j = 0; j < cols; j++) norm += m[i][j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < cols; j++) m[i][j] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(m[i], i * cols);
  return out;
}

function subsampleWindows(data: Float32Array, count: number, span: number, max: number): { data: Float32Array; count: number } {
  if (!Number.isInteger(max) || max < 1) throw new InvalidOptionsError(`maxWindows must be a positive integer, got ${max}`, { option: 'maxWindows' });
  const out = new Float32Array(max * span);
  for (let k = 0; k < max; k++) {
    const src = Math.floor((k * count) / max);
    out.set(data.subarray(src * span, (src + 1) * span), k * span);
  }
  return { data: out, count: max };
}

/** Trains a new LSTM autoencoder on raw rows and calibrates its threshold on the same training rows. */
export async function trainLstmAutoencoder(
  rows: readonly ArrayLike<number>[],
  options: { model: LstmAutoencoderInit; train?: TrainOptions; threshold?: ThresholdOptions; score?: ScoreOptions } & CreateModelOptions,
): Promise<LstmAutoencoder> {
  const model = await LstmAutoencoder.create(options.model, options);
  try {
    await model.train(rows, options.train);
    await model.calibrate(rows, options.threshold, options.score);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
