import { SliceguardError } from '@sliceguard/core';

/** Stable error codes of @sliceguard/enforcement (documented in docs/enforcement.md). */
export const ENFORCEMENT_ERROR_CODES = {
  options: 'ENFORCEMENT_ERR_OPTIONS',
  unknownTarget: 'ENFORCEMENT_ERR_UNKNOWN_TARGET',
  invalidParams: 'ENFORCEMENT_ERR_INVALID_PARAMS',
  webhook: 'ENFORCEMENT_ERR_WEBHOOK',
} as const;

export class EnforcementError extends SliceguardError {}

/** A factory got options it cannot work with (duplicate actuator for a type, missing clock…). */
export class EnforcementOptionsError extends EnforcementError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ENFORCEMENT_ERROR_CODES.options, message, { details });
  }
}

/** An action's parameters are missing or out of range; the outcome is `rejected` with this message. */
export class InvalidActionParamsError extends EnforcementError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ENFORCEMENT_ERROR_CODES.invalidParams, message, { details });
  }
}

export class UnknownTargetError extends EnforcementError {
  constructor(target: string, what: string) {
    super(ENFORCEMENT_ERROR_CODES.unknownTarget, `unknown ${what} "${target}"`, { details: { target } });
  }
}

export class WebhookError extends EnforcementError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(ENFORCEMENT_ERROR_CODES.webhook, message, { details, cause });
  }
}
