/**
 * Base class of every error sliceguard throws on purpose. `code` is stable and documented
 * (docs/errors.md); `details` says where (file, line, field, subject…) so a user can fix the input.
 */
export class SliceguardError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

export class InvalidInputError extends SliceguardError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('CORE_ERR_INVALID_INPUT', message, { details, cause });
  }
}

export class AbortedError extends SliceguardError {
  constructor(message = 'operation aborted', cause?: unknown) {
    super('CORE_ERR_ABORTED', message, { cause });
  }
}

export class TimeoutError extends SliceguardError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CORE_ERR_TIMEOUT', message, { details });
  }
}

/** Throws AbortedError when the signal has fired; call at the top of every async I/O method. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError('operation aborted', signal.reason);
}
