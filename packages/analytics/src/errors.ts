import { SliceguardError } from '@sliceguard/core';

/**
 * Stable error codes of the analytics package (documented in docs/analytics.md):
 * - ANALYTICS_ERR_INVALID_OPTIONS: an option is out of range or inconsistent.
 * - ANALYTICS_ERR_INVALID_INPUT: a sample, row or window is malformed (wrong width, NaN where not allowed…).
 * - ANALYTICS_ERR_CSV: a CSV file is malformed (carries file and line).
 * - ANALYTICS_ERR_MODEL_SHAPE: weights, scaler or a saved model do not fit the model's shape.
 * - ANALYTICS_ERR_MODEL_LOAD: a saved model is missing or unreadable.
 * - ANALYTICS_ERR_NOT_TRAINED: a model or threshold is used before it was fitted.
 * - ANALYTICS_ERR_BACKEND: no TensorFlow.js backend could be initialised.
 */
export class AnalyticsError extends SliceguardError {}

export class InvalidOptionsError extends AnalyticsError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ANALYTICS_ERR_INVALID_OPTIONS', message, { details, cause });
  }
}

export class InvalidSampleError extends AnalyticsError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ANALYTICS_ERR_INVALID_INPUT', message, { details, cause });
  }
}

export class CsvFormatError extends AnalyticsError {
  readonly file: string;
  readonly line: number;
  constructor(message: string, details: { file: string; line: number } & Record<string, unknown>, cause?: unknown) {
    super('ANALYTICS_ERR_CSV', `${details.file}:${details.line}: ${message}`, { details, cause });
    this.file = details.file;
    this.line = details.line;
  }
}

export class ModelShapeError extends AnalyticsError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ANALYTICS_ERR_MODEL_SHAPE', message, { details, cause });
  }
}

export class ModelLoadError extends AnalyticsError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ANALYTICS_ERR_MODEL_LOAD', message, { details, cause });
  }
}

export class NotTrainedError extends AnalyticsError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ANALYTICS_ERR_NOT_TRAINED', message, { details });
  }
}

export class BackendError extends AnalyticsError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ANALYTICS_ERR_BACKEND', message, { details, cause });
  }
}
