// The statistical baseline and everything else here load without TensorFlow.js: tfjs is imported
// lazily (loadTf) the first time an LSTM model is created or loaded.
export type { BackendName, BackendPreference, LoadTfOptions, TfRuntime } from './backend.js';
export { BACKEND_NAMES, loadTf } from './backend.js';
export type { FittedBaseline, ScoreBaseline, ScoreBaselineOptions, ScoreBaselineState } from './baseline.js';
export { DEFAULT_BASELINE_WINDOW, fitScoreBaseline, restoreScoreBaseline } from './baseline.js';
export type { MetricsTable, ReadCsvOptions } from './csv.js';
export { parseLabelsCsv, parseMetricsCsv, readLabelsCsv, readMetricsCsv } from './csv.js';
export type { AgentSample, BatchedScorer, ScorerOptions } from './detector.js';
export { createBatchedScorer, createLstmDetector } from './detector.js';
export {
  AnalyticsError,
  BackendError,
  CsvFormatError,
  InvalidOptionsError,
  InvalidSampleError,
  ModelLoadError,
  ModelShapeError,
  NotTrainedError,
} from './errors.js';
export type { DetectorKind, EvaluationOptions, EvaluationResult } from './evaluate.js';
export { DETECTOR_KINDS, evaluateDetector, scoresCsv } from './evaluate.js';
export type { CreateModelOptions, LstmAutoencoderConfig, LstmAutoencoderInit, ScoreMode, ScoreOptions, ScoringState, TrainingMetadata, TrainOptions, WindowScores } from './lstm.js';
export { LstmAutoencoder, SCORE_MODES, trainLstmAutoencoder } from './lstm.js';
export type { LoadModelOptions, ModelManifest } from './persistence.js';
export { loadModel, loadModelFromKv, MODEL_FORMAT, MODEL_FORMAT_VERSION, saveModel, saveModelToKv } from './persistence.js';
export type { FillReport, GapPolicy, ScalerKind, ScalerState } from './preprocess.js';
export { fillGaps, Scaler, scaleRows, slidingWindows } from './preprocess.js';
export type { DetectionReport } from './scoring.js';
export { anomalyEvents, detectionReport, rocAuc } from './scoring.js';
export type { StatisticalDetector, StatisticalDetectorOptions, StatisticalVerdict } from './statistical.js';
export { createStatisticalDetector } from './statistical.js';
export type { Threshold, ThresholdMethod, ThresholdOptions, ThresholdState } from './threshold.js';
export { calibrateThreshold, fitGpd, quantileOf, restoreThreshold, THRESHOLD_METHODS } from './threshold.js';
