import { SliceguardError } from '@sliceguard/core';

/** Stable error codes of the trust package (docs/trust.md lists them). */
export const TRUST_ERROR_CODES = {
  invalidEvidence: 'TRUST_ERR_INVALID_EVIDENCE',
  invalidRating: 'TRUST_ERR_INVALID_RATING',
  invalidTla: 'TRUST_ERR_INVALID_TLA',
  invalidOptions: 'TRUST_ERR_INVALID_OPTIONS',
  store: 'TRUST_ERR_STORE',
  corruptState: 'TRUST_ERR_CORRUPT_STATE',
  closed: 'TRUST_ERR_CLOSED',
} as const;

export class TrustError extends SliceguardError {}

/** Evidence handed to `record()` is malformed (non-finite counts, unknown attribute, bad id). */
export class InvalidEvidenceError extends TrustError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(TRUST_ERROR_CODES.invalidEvidence, message, { details });
  }
}

/** A peer rating (from the bus or `rate()`) is malformed. */
export class InvalidRatingError extends TrustError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(TRUST_ERROR_CODES.invalidRating, message, { details });
  }
}

/** A TLA spec cannot be used (negative weight, threshold outside 0..1, …). */
export class InvalidTlaError extends TrustError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(TRUST_ERROR_CODES.invalidTla, message, { details });
  }
}

export class InvalidTrustOptionsError extends TrustError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(TRUST_ERROR_CODES.invalidOptions, message, { details });
  }
}

/** Reading or writing the key-value store failed; `cause` keeps the store's error. */
export class TrustStoreError extends TrustError {
  constructor(message: string, cause: unknown, details: Record<string, unknown> = {}) {
    super(TRUST_ERROR_CODES.store, message, { details, cause });
  }
}

/** A persisted record could not be decoded. */
export class CorruptTrustStateError extends TrustError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(TRUST_ERROR_CODES.corruptState, message, { details, cause });
  }
}

export class TrustClosedError extends TrustError {
  constructor(operation: string) {
    super(TRUST_ERROR_CODES.closed, `trust manager is closed; cannot ${operation}`, { details: { operation } });
  }
}
