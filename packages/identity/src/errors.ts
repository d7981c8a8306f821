import { SliceguardError } from '@sliceguard/core';

/** Stable error codes of @sliceguard/identity (docs/identity.md lists them with fixes). */
export const IDENTITY_ERROR_CODES = [
  'IDENTITY_ERR_INVALID_KEY',
  'IDENTITY_ERR_INVALID_CREDENTIAL',
  'IDENTITY_ERR_CREDENTIAL_REJECTED',
  'IDENTITY_ERR_INVALID_REVOCATIONS',
  'IDENTITY_ERR_KEY_FILE_MISSING',
  'IDENTITY_ERR_KEY_FILE_UNREADABLE',
  'IDENTITY_ERR_KEY_FILE_MALFORMED',
  'IDENTITY_ERR_KEY_FILE_PERMISSIONS',
  'IDENTITY_ERR_FILE_EXISTS',
  'IDENTITY_ERR_FILE_MISSING',
  'IDENTITY_ERR_FILE_MALFORMED',
] as const;
export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];

export class IdentityError extends SliceguardError {
  constructor(code: IdentityErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** A key, signature or seed of the wrong size or encoding. */
export class InvalidKeyError extends IdentityError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('IDENTITY_ERR_INVALID_KEY', message, { details, cause });
  }
}

/** Credential claims or a credential document that is structurally invalid. */
export class InvalidCredentialError extends IdentityError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('IDENTITY_ERR_INVALID_CREDENTIAL', message, { details, cause });
  }
}

/** A well-formed credential that does not pass verification (unknown root, expired, revoked…). */
export class CredentialRejectedError extends IdentityError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('IDENTITY_ERR_CREDENTIAL_REJECTED', message, { details });
  }
}

export class InvalidRevocationListError extends IdentityError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('IDENTITY_ERR_INVALID_REVOCATIONS', message, { details, cause });
  }
}

/** Key-file problems: always carry `path`, and a `hint` on how to fix it. */
export class KeyFileError extends IdentityError {
  readonly path: string;
  constructor(
    code: Extract<IdentityErrorCode, `IDENTITY_ERR_KEY_FILE_${string}` | 'IDENTITY_ERR_FILE_EXISTS' | `IDENTITY_ERR_FILE_${string}`>,
    message: string,
    details: Record<string, unknown> & { path: string },
    cause?: unknown,
  ) {
    super(code, message, { details, cause });
    this.path = details.path;
  }
}
