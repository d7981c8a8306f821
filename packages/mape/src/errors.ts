import { SliceguardError } from '@sliceguard/core';

/** Stable error codes of the loop kernel (docs/mape.md). */
export const MAPE_ERROR_CODES = {
  invalidTransition: 'MAPE_ERR_INVALID_TRANSITION',
  invalidConfig: 'MAPE_ERR_INVALID_CONFIG',
  terminated: 'MAPE_ERR_TERMINATED',
  knowledge: 'MAPE_ERR_KNOWLEDGE',
} as const;

export class MapeError extends SliceguardError {}

/** A lifecycle command that the current state does not allow (e.g. activate a terminated loop). */
export class InvalidTransitionError extends MapeError {
  constructor(loopId: string, from: string, to: string, allowed: readonly string[]) {
    super(
      MAPE_ERROR_CODES.invalidTransition,
      `loop ${loopId} cannot go from "${from}" to "${to}"; from "${from}" it may go to: ${allowed.length > 0 ? allowed.join(', ') : 'nothing (final state)'}`,
      { details: { loopId, from, to, allowed } },
    );
  }
}

/** A bad loop / monitoring configuration value; says which field and what is accepted. */
export class InvalidLoopConfigError extends MapeError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(MAPE_ERROR_CODES.invalidConfig, message, { details });
  }
}

export class LoopTerminatedError extends MapeError {
  constructor(loopId: string, operation: string) {
    super(MAPE_ERROR_CODES.terminated, `loop ${loopId} is terminated; ${operation} is no longer possible (instantiate a new loop)`, {
      details: { loopId, operation },
    });
  }
}

export class KnowledgeError extends MapeError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(MAPE_ERROR_CODES.knowledge, message, { details, cause });
  }
}
