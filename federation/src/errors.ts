import { SliceguardError } from '@sliceguard/core';

/**
 * Stable error codes of @sliceguard/federation (docs/federation.md lists them).
 * Every class keeps its `cause` and says where the problem is in `details`.
 */
export const FEDERATION_ERROR_CODES = {
  invalidOptions: 'FED_ERR_INVALID_OPTIONS',
  layoutMismatch: 'FED_ERR_LAYOUT_MISMATCH',
  decode: 'FED_ERR_DECODE',
  noUpdates: 'FED_ERR_NO_UPDATES',
  unknownModel: 'FED_ERR_UNKNOWN_MODEL',
  roundInProgress: 'FED_ERR_ROUND_IN_PROGRESS',
  notStarted: 'FED_ERR_NOT_STARTED',
  persistence: 'FED_ERR_PERSISTENCE',
  gossip: 'FED_ERR_GOSSIP',
  data: 'FED_ERR_DATA',
} as const;

export class FederationError extends SliceguardError {}

export class InvalidFederationOptionsError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(FEDERATION_ERROR_CODES.invalidOptions, message, { details, cause });
  }
}

export class LayoutMismatchError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(FEDERATION_ERROR_CODES.layoutMismatch, message, { details });
  }
}

export class WeightsDecodeError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(FEDERATION_ERROR_CODES.decode, message, { details, cause });
  }
}

export class NoUpdatesError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(FEDERATION_ERROR_CODES.noUpdates, message, { details });
  }
}

export class UnknownModelError extends FederationError {
  constructor(model: string, known: readonly string[]) {
    super(FEDERATION_ERROR_CODES.unknownModel, `no federated model named "${model}"; known: ${known.join(', ') || '(none)'}`, {
      details: { model, known },
    });
  }
}

export class RoundInProgressError extends FederationError {
  constructor(model: string, round: number) {
    super(FEDERATION_ERROR_CODES.roundInProgress, `a round of model "${model}" is already running (round ${round}); wait for it`, {
      details: { model, round },
    });
  }
}

export class NotStartedError extends FederationError {
  constructor(what: string) {
    super(FEDERATION_ERROR_CODES.notStarted, `${what} is not started; call start() first`, { details: { what } });
  }
}

export class PersistenceError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(FEDERATION_ERROR_CODES.persistence, message, { details, cause });
  }
}

export class GossipError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(FEDERATION_ERROR_CODES.gossip, message, { details, cause });
  }
}

export class FederationDataError extends FederationError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(FEDERATION_ERROR_CODES.data, message, { details, cause });
  }
}
