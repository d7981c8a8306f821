import type { FlatWeights, TrainableModel } from '@sliceguard/core';
import { InvalidFederationOptionsError } from './errors.js';
import { createDenseAutoencoder } from './models/dense-autoencoder.js';

/**
 * The detectors the federation evaluation can train: the package's dense row autoencoder (fast, the
 * stand-in) or the analytics LSTM autoencoder (the detector the system ships), behind one interface.
 */
export const EVAL_MODEL_KINDS = ['dense', 'lstm'] as const;
export type EvalModelKind = (typeof EVAL_MODEL_KINDS)[number];

export interface EvalModelSpec {
  kind: EvalModelKind;
  /** Dense: encoder widths (decoder mirrored). Default [32, 8]. */
  hidden?: number[];
  /** LSTM: window length in samples. Default 10. */
  window?: number;
  /** LSTM: encoder units (decoder mirrored). Default 16. */
  units?: number;
  /** Adam learning rate. Default: dense 0.003, LSTM 0.001 (the analytics default). */
  learningRate?: number;
  /** Mini-batch size of local and central training. Default: dense 64, LSTM 50 (the paper). */
  batchSize?: number;
}

export interface ResolvedEvalModelSpec {
  kind: EvalModelKind;
  hidden: number[];
  window: number;
  units: number;
  learningRate: number;
  batchSize: number;
}

export function resolveEvalModelSpec(spec: EvalModelSpec = { kind: 'dense' }): ResolvedEvalModelSpec {
  if (!(EVAL_MODEL_KINDS as readonly string[]).includes(spec.kind)) {
    throw new InvalidFederationOptionsError(`unknown evaluation model "${spec.kind}"; expected one of ${EVAL_MODEL_KINDS.join(', ')}`, { model: spec.kind });
  }
  const lstm = spec.kind === 'lstm';
  const r: ResolvedEvalModelSpec = {
    kind: spec.kind,
    hidden: spec.hidden ?? [32, 8],
    window: spec.window ?? 10,
    units: spec.units ?? 16,
    learningRate: spec.learningRate ?? (lstm ? 0.001 : 0.003),
    batchSize: spec.batchSize ?? (lstm ? 50 : 64),
  };
  if (!(Number.isInteger(r.window) && r.window >= 2) || !(Number.isInteger(r.units) && r.units >= 1) || !(r.learningRate > 0) || !(Number.isInteger(r.batchSize) && r.batchSize >= 1)) {
    throw new InvalidFederationOptionsError('evaluation model: window ≥ 2, units ≥ 1, learningRate > 0 and batchSize ≥ 1 are required', { ...r });
  }
  return r;
}

/** A trainable detector as the evaluation uses it: flat weights, fit, and anomaly scores. */
export interface EvalModel extends TrainableModel {
  readonly kind: EvalModelKind;
  readonly parameters: number;
  /** Rows the model needs before it scores (LSTM: the window; dense: 1). */
  readonly window: number;
  /**
   * One score per row: the dense model scores the row; the LSTM scores the window ending at that row,
   * and the first window − 1 rows take the first window's score (as analytics' evaluation does).
   */
  rowScores(rows: Float32Array[]): Promise<Float32Array>;
  /** The scores a threshold is calibrated on: one per training row (dense) or per training window (LSTM). */
  calibrationScores(rows: Float32Array[]): Promise<Float32Array>;
  dispose(): void;
}

export interface CreateEvalModelOptions {
  metrics: string[];
  seed: number;
  /**
   * Rows the LSTM's min-max scaler is fitted on: the union of the clients' training rows, i.e. the
   * per-metric min and max that the clients would share (every client and the central model use the
   * same scaler, so their weights live in one input space). Ignored by the dense model.
   */
  scalerRows: Float32Array[];
}

export async function createEvalModel(spec: ResolvedEvalModelSpec, options: CreateEvalModelOptions): Promise<EvalModel> {
  if (spec.kind === 'dense') {
    const m = createDenseAutoencoder({ inputs: options.metrics.length, hidden: spec.hidden, learningRate: spec.learningRate, batchSize: spec.batchSize, seed: options.seed });
    return {
      kind: 'dense',
      parameters: m.parameters,
      window: 1,
      getWeights: () => m.getWeights(),
      setWeights: (w: FlatWeights) => m.setWeights(w),
      fit: (rows, o) => m.fit(rows, o),
      evaluate: (rows) => m.evaluate(rows),
      rowScores: async (rows) => m.scores(rows),
      calibrationScores: async (rows) => m.scores(rows),
      dispose: () => {},
    };
  }
  // loaded only when asked for: TensorFlow.js is heavy
  const { LstmAutoencoder } = await import('@sliceguard/analytics');
  const m = await LstmAutoencoder.create({ metrics: options.metrics, window: spec.window, encoderUnits: [spec.units], learningRate: spec.learningRate, seed: options.seed });
  m.scaler.fit(options.scalerRows);
  const batchSize = spec.batchSize;
  return {
    kind: 'lstm',
    parameters: m.parameterCount,
    window: spec.window,
    getWeights: () => m.getWeights(),
    setWeights: (w: FlatWeights) => m.setWeights(w),
    fit: (rows, o) => m.fit(rows, { batchSize, ...o }),
    evaluate: (rows) => m.evaluate(rows),
    rowScores: async (rows) => {
      const { scores, count } = await m.scoreRows(rows);
      return padWindowScores(scores, count, rows.length, spec.window);
    },
    calibrationScores: async (rows) => (await m.scoreRows(rows)).scores,
    dispose: () => m.dispose(),
  };
}

/** Window k ends at row k + window − 1; rows before the first complete window take its score. */
export function padWindowScores(scores: Float32Array, count: number, rows: number, window: number): Float32Array {
  const out = new Float32Array(rows);
  if (count === 0) return out.fill(Number.NaN);
  for (let i = 0; i < rows; i++) out[i] = scores[Math.max(0, i - window + 1)];
  return out;
}
