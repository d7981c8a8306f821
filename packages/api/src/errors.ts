import { SliceguardError } from '@sliceguard/core';

/**
 * The API's stable error codes and their HTTP status. Every error response has one shape:
 *   { "error": { "code": "API_ERR_…", "message": "…", "details": { … }, "requestId": "req-1" } }
 * Errors thrown by providers (SliceguardError subclasses of other packages) keep their own code.
 */
export const API_ERRORS = {
  API_ERR_VALIDATION: 400,
  API_ERR_BAD_JSON: 400,
  API_ERR_UNAUTHORIZED: 401,
  API_ERR_FORBIDDEN: 403,
  API_ERR_NOT_FOUND: 404,
  API_ERR_ROUTE_NOT_FOUND: 404,
  API_ERR_FEATURE_UNAVAILABLE: 404,
  API_ERR_CONFLICT: 409,
  API_ERR_PAYLOAD_TOO_LARGE: 413,
  API_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  API_ERR_REJECTED: 422,
  API_ERR_RATE_LIMITED: 429,
  API_ERR_INTERNAL: 500,
  API_ERR_NOT_READY: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends SliceguardError {
  readonly statusCode: number;
  constructor(code: ApiErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details, cause });
    this.statusCode = API_ERRORS[code];
  }
}

/** Providers throw this when the thing asked for does not exist (→ 404 API_ERR_NOT_FOUND). */
export class NotFoundError extends ApiError {
  constructor(what: string, id: string) {
    super('API_ERR_NOT_FOUND', `${what} ${JSON.stringify(id)} not found`, { [what]: id });
  }
}

/** Providers throw this when the request conflicts with current state (→ 409 API_ERR_CONFLICT). */
export class ConflictError extends ApiError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('API_ERR_CONFLICT', message, details);
  }
}

export class FeatureUnavailableError extends ApiError {
  constructor(feature: string) {
    super('API_ERR_FEATURE_UNAVAILABLE', `this agent does not expose ${feature} (the feature is not configured on this agent or coordinator)`, {
      feature,
    });
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; requestId?: string };
}

/**
 * HTTP status for errors thrown by providers: the API's own codes map by table; other
 * SliceguardErrors map by their code (…NOT_FOUND → 404, …CONFLICT → 409, CORE_ERR_INVALID_INPUT and
 * …INVALID… → 400, anything else the domain refused → 422).
 */
export function statusOf(error: SliceguardError): number {
  if (error instanceof ApiError) return error.statusCode;
  const c = error.code;
  if (c.endsWith('NOT_FOUND')) return 404;
  if (c.includes('CONFLICT')) return 409;
  if (c === 'CORE_ERR_INVALID_INPUT' || c.includes('_INVALID')) return 400;
  if (c === 'CORE_ERR_TIMEOUT') return 504;
  return 422;
}
