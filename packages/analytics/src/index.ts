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
export type { StatisticalDetector, StatisticalDetectorOptions, StatisticalVerdict } from './statistical.js';
export { createStatisticalDetector } from './statistical.js';
