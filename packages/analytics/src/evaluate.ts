import type { Logger } from '@sliceguard/core';
import { silentLogger, throwIfAborted } from '@sliceguard/core';
import type { BackendName, BackendPreference } from './backend.js';
import type { ScoreBaseline, ScoreBaselineOptions, ScoreBaselineState } from './baseline.js';
import { restoreScoreBaseline } from './baseline.js';
import type { MetricsTable } from './csv.js';
import { InvalidOptionsError, InvalidSampleError } from './errors.js';
import type { LstmAutoencoderInit, ScoreOptions, TrainingMetadata, TrainOptions } from './lstm.js';
import { LstmAutoencoder } from './lstm.js';
import { loadModel, saveModel } from './persistence.js';
import type { DetectionReport } from './scoring.js';
import { detectionReport } from './scoring.js';
import type { StatisticalDetectorOptions } from './statistical.js';
import { createStatisticalDetector } from './statistical.js';
import type { Threshold, ThresholdMethod, ThresholdOptions } from './threshold.js';
import { calibrateThreshold } from './threshold.js';

export type DetectorKind = 'lstm-ae' | 'statistical';
export const DETECTOR_KINDS: readonly DetectorKind[] = ['lstm-ae', 'statistical'];

export interface EvaluationOptions {
  detector?: DetectorKind;
  threshold?: ThresholdOptions;
  /** More threshold methods scored on the same training and test scores (reported in `alternatives`). */
  extraThresholds?: ThresholdOptions[];
  /** LSTM architecture (metrics come from the training file). */
  model?: Omit<LstmAutoencoderInit, 'metrics'>;
  train?: TrainOptions;
  /** LSTM score mode, fitted on the training rows (default: the model's own — 'mae' for a new model). */
  score?: ScoreOptions;
  /**
   * LSTM relative score (see baseline.ts): options to fit it on the training scores, `null` to judge
   * plain scores; undefined: `score.baseline` if given, else the model's own (none for a new model;
   * a saved model keeps its baseline under another `score` mode unless this is `null`).
   */
  scoreBaseline?: ScoreBaselineOptions | null;
  statistical?: Omit<StatisticalDetectorOptions, 'metrics' | 'threshold'>;
  backend?: BackendPreference;
  /** Save the trained LSTM model (with scaler and threshold) to this directory. */
  saveModelDir?: string;
  /** Evaluate a saved LSTM model instead of training one (its threshold is re-calibrated on the training rows). */
  loadModelDir?: string;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface EvaluationResult {
  detector: DetectorKind;
  /** TensorFlow.js backend (LSTM only). */
  backend: BackendName | null;
  metrics: string[];
  threshold: { method: ThresholdMethod; adaptive: boolean; initial: number; final: number };
  report: DetectionReport;
  /** The same scores judged with each of `extraThresholds`. */
  alternatives: { threshold: { method: ThresholdMethod; adaptive: boolean; initial: number; final: number }; report: DetectionReport }[];
  trainRows: number;
  testRows: number;
  /** Test windows scored (rows − window + 1 for the LSTM, rows for the baseline). */
  testWindows: number;
  /** Fitting the model on the training rows (seconds). */
  trainingSeconds: number;
  /** Scoring the training rows to set the threshold (seconds). */
  calibrationSeconds: number;
  inferenceMsPerWindow: number;
  /** The first rows before a complete window take the first window's score (LSTM). */
  paddedRows: number;
  /** Set when a saved model was evaluated (trainingSeconds is then the saved model's training time). */
  loadedFrom?: string;
  training?: TrainingMetadata;
  config: Record<string, unknown>;
  /** Per test row. */
  scores: Float64Array;
  thresholds: Float64Array;
  flags: Uint8Array;
}

function sameColumns(train: MetricsTable, test: MetricsTable): void {
  if (train.metrics.join('\u0000') !== test.metrics.join('\u0000')) {
    throw new InvalidSampleError(`${test.file} has columns [${test.metrics.join(', ')}] but ${train.file} has [${train.metrics.join(', ')}]; both need the same metric columns in the same order`, {
      train: train.file,
      test: test.file,
    });
  }
}

/**
 * Trains a detector on the training table, sets its threshold from the training scores only, scores
 * the test table and measures detection quality against the labels.
 */
export async function evaluateDetector(train: MetricsTable, test: MetricsTable, labels: Uint8Array, options: EvaluationOptions = {}): Promise<EvaluationResult> {
  const detector = options.detector ?? 'lstm-ae';
  if (!DETECTOR_KINDS.includes(detector)) throw new InvalidOptionsError(`unknown detector "${String(detector)}"; use ${DETECTOR_KINDS.join(' or ')}`, { option: 'detector' });
  sameColumns(train, test);
  if (labels.length !== test.rows.length) throw new InvalidSampleError(`${labels.length} labels for ${test.rows.length} test rows`, {});
  const logger = options.logger ?? silentLogger();
  throwIfAborted(options.signal);
  return detector === 'lstm-ae' ? evaluateLstm(train, test, labels, options, logger) : evaluateStatistical(train, test, labels, options, logger);
}

async function evaluateLstm(train: MetricsTable, test: MetricsTable, labels: Uint8Array, options: EvaluationOptions, logger: Logger): Promise<EvaluationResult> {
  const model = options.loadModelDir
    ? await loadModel(options.loadModelDir, { backend: options.backend, logger, expectMetrics: train.metrics })
    : await LstmAutoencoder.create({ ...options.model, metrics: train.metrics }, { backend: options.backend, logger });
  try {
    const w = model.window;
    if (test.rows.length < w) throw new InvalidSampleError(`${test.file} has ${test.rows.length} rows, fewer than the window (${w})`, { file: test.file });
    const t0 = performance.now();
    const training = options.loadModelDir ? model.metadata : await model.train(train.rows, { ...options.train, signal: options.signal });
    const t1 = performance.now();
    const { scores: rawTrainScores } = options.score ? await model.fitScoring(train.rows, options.score) : await model.scoreRows(train.rows);
    const baselineOptions = options.scoreBaseline === undefined ? (options.score?.baseline ?? model.baselineOptions()) : (options.scoreBaseline ?? undefined);
    // the threshold is calibrated on the training scores as judged: relative ones with a baseline
    const trainScores = model.fitBaseline(rawTrainScores, baselineOptions);
    const baselineState = model.baseline;
    const freshBaseline = (): ScoreBaseline | undefined => (baselineState ? restoreScoreBaseline(baselineState) : undefined);
    const threshold = calibrateThreshold(trainScores, options.threshold);
    model.threshold = threshold;
    const t2 = performance.now();
    const initial = threshold.value();
    const { scores: windowScores, count } = await model.scoreRows(test.rows);
    const t3 = performance.now();
    if (options.saveModelDir) await saveModel(model, options.saveModelDir);
    // window k ends at row k + w − 1; the first w − 1 rows take the first window's verdict
    const rowOf = (row: number): number => Math.max(0, row - w + 1);
    const { scores, thresholds, flags } = judge(windowScores, test.rows.length, rowOf, threshold, freshBaseline());
    const n = test.rows.length;
    const alternatives = (options.extraThresholds ?? []).map((opts) => {
      const t = calibrateThreshold(trainScores, opts);
      const start = t.value();
      const j = judge(windowScores, n, rowOf, t, freshBaseline());
      return { threshold: { method: t.method, adaptive: t.adaptive, initial: start, final: t.value() }, report: detectionReport(labels, j.flags, j.scores) };
    });
    return {
      detector: 'lstm-ae',
      backend: model.backend,
      metrics: [...train.metrics],
      threshold: { method: threshold.method, adaptive: threshold.adaptive, initial, final: threshold.value() },
      report: detectionReport(labels, flags, scores),
      alternatives,
      trainRows: train.rows.length,
      testRows: n,
      testWindows: count,
      trainingSeconds: options.loadModelDir ? (training?.seconds ?? 0) : (t1 - t0) / 1000,
      calibrationSeconds: (t2 - t1) / 1000,
      inferenceMsPerWindow: (t3 - t2) / count,
      paddedRows: w - 1,
      ...(options.loadModelDir ? { loadedFrom: options.loadModelDir } : {}),
      training,
      config: { model: { ...model.config, metrics: undefined }, train: { ...options.train, signal: undefined }, threshold: options.threshold ?? {}, score: { mode: model.scoring.mode, ...(model.scoring.mode === 'normalized' ? { floor: model.scoring.floor } : {}) }, scoreBaseline: baselineSummary(baselineState) },
      scores,
      thresholds,
      flags,
    };
  } finally {
    model.dispose();
  }
}

function baselineSummary(state: ScoreBaselineState | undefined): { window: number; adaptAfter: number; floor: number; initial: number } | null {
  if (!state) return null;
  return { window: state.window, adaptAfter: state.adaptAfter, floor: state.floor, initial: restoreScoreBaseline(state).value() };
}

async function evaluateStatistical(train: MetricsTable, test: MetricsTable, labels: Uint8Array, options: EvaluationOptions, logger: Logger): Promise<EvaluationResult> {
  if (options.scoreBaseline) throw new InvalidOptionsError('the relative score (score baseline) applies to the lstm-ae detector; the statistical baseline keeps its own rolling baseline', { option: 'scoreBaseline' });
  const statOptions = { ...options.statistical, metrics: train.metrics };
  const t0 = performance.now();
  // pass 1: the detector's scores on the training rows set the threshold
  const probe = createStatisticalDetector(statOptions);
  const trainScores: number[] = [];
  train.rows.forEach((row, i) => {
    const v = probe.pushSync({ at: i, values: toValues(train.metrics, row) });
    if (v) trainScores.push(v.score);
  });
  if (trainScores.length === 0) throw new InvalidSampleError(`${train.file}: too few rows to warm the baseline up (${train.rows.length})`, { file: train.file });
  const threshold = calibrateThreshold(trainScores, options.threshold);
  const initial = threshold.value();
  // pass 2: the same detector with the calibrated threshold (it keeps anomalous samples out of its
  // baseline), replayed over the training rows, then over the test rows
  const detector = createStatisticalDetector({ ...statOptions, threshold: Math.max(initial, Number.MIN_VALUE) });
  for (let i = 0; i < train.rows.length; i++) detector.pushSync({ at: i, values: toValues(train.metrics, train.rows[i]) });
  const t1 = performance.now();
  const n = test.rows.length;
  const rawScores = new Float64Array(n);
  const offset = train.rows.length;
  for (let i = 0; i < n; i++) {
    const v = detector.pushSync({ at: offset + i, values: toValues(test.metrics, test.rows[i]) });
    rawScores[i] = v?.score ?? 0;
  }
  const t2 = performance.now();
  const { scores, thresholds, flags } = judge(rawScores, n, (row) => row, threshold);
  const alternatives = (options.extraThresholds ?? []).map((opts) => {
    const t = calibrateThreshold(trainScores, opts);
    const start = t.value();
    const j = judge(rawScores, n, (row) => row, t);
    return { threshold: { method: t.method, adaptive: t.adaptive, initial: start, final: t.value() }, report: detectionReport(labels, j.flags, j.scores) };
  });
  logger.info({ detector: detector.name, threshold: initial }, 'analytics: statistical baseline evaluated');
  return {
    detector: 'statistical',
    backend: null,
    metrics: [...train.metrics],
    threshold: { method: threshold.method, adaptive: threshold.adaptive, initial, final: threshold.value() },
    report: detectionReport(labels, flags, scores),
    alternatives,
    trainRows: train.rows.length,
    testRows: n,
    testWindows: n,
    trainingSeconds: (t1 - t0) / 1000,
    calibrationSeconds: 0,
    inferenceMsPerWindow: (t2 - t1) / n,
    paddedRows: 0,
    config: { statistical: { ...options.statistical }, threshold: options.threshold ?? {} },
    scores,
    thresholds,
    flags,
  };
}

/**
 * Judges window scores in time order with a threshold (adaptive ones update as they go) and maps
 * them to rows: row r takes window rowOf(r)'s score and verdict. With a baseline, each score is
 * judged relative to it and the baseline learns from the verdict — the streaming scorer's order.
 */
function judge(
  windowScores: ArrayLike<number>,
  rows: number,
  rowOf: (row: number) => number,
  threshold: Threshold,
  baseline?: ScoreBaseline,
): { scores: Float64Array; thresholds: Float64Array; flags: Uint8Array } {
  const wScores = new Float64Array(windowScores.length);
  const wThresholds = new Float64Array(windowScores.length);
  const wFlags = new Uint8Array(windowScores.length);
  for (let k = 0; k < windowScores.length; k++) {
    const raw = windowScores[k];
    const score = baseline ? baseline.relative(raw) : raw;
    const { threshold: th, anomalous } = threshold.observe(score);
    baseline?.observe(raw, anomalous);
    wScores[k] = score;
    wThresholds[k] = th;
    wFlags[k] = anomalous ? 1 : 0;
  }
  const scores = new Float64Array(rows);
  const thresholds = new Float64Array(rows);
  const flags = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const k = rowOf(r);
    scores[r] = wScores[k];
    thresholds[r] = wThresholds[k];
    flags[r] = wFlags[k];
  }
  return { scores, thresholds, flags };
}

function toValues(metrics: readonly string[], row: Float64Array): Record<string, number> {
  const values: Record<string, number> = {};
  for (let j = 0; j < metrics.length; j++) values[metrics[j]] = row[j];
  return values;
}

/** One CSV line per test row: timestamp (or row index), score, threshold, anomalous (0/1). */
export function scoresCsv(result: EvaluationResult, test: MetricsTable): string {
  const head = test.timestamps ? 'timestamp' : 'row';
  const lines = [`${head},score,threshold,anomalous`];
  for (let i = 0; i < result.scores.length; i++) {
    const key = test.timestamps ? csvCell(test.timestamps[i]) : String(i);
    lines.push(`${key},${result.scores[i]},${result.thresholds[i]},${result.flags[i]}`);
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
