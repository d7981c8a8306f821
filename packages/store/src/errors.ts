import { SliceguardError } from '@sliceguard/core';

/**
 * Stable error codes of @sliceguard/store (documented in docs/store.md). Every error keeps its
 * `cause` and says where (directory, key, record index) in `details`.
 */
export const STORE_ERROR_CODES = {
  locked: 'STORE_ERR_LOCKED',
  unwritable: 'STORE_ERR_UNWRITABLE',
  corrupted: 'STORE_ERR_CORRUPTED',
  open: 'STORE_ERR_OPEN',
  closed: 'STORE_ERR_CLOSED',
  decode: 'STORE_ERR_DECODE',
  invalidOptions: 'STORE_ERR_INVALID_OPTIONS',
  invalidRecord: 'STORE_ERR_INVALID_RECORD',
  auditBroken: 'STORE_ERR_AUDIT_BROKEN',
  auditSigner: 'STORE_ERR_AUDIT_SIGNER',
} as const;
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[keyof typeof STORE_ERROR_CODES];

export class StoreError extends SliceguardError {
  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** Another process (or another open handle in this one) holds the LevelDB LOCK file. */
export class StoreLockedError extends StoreError {
  constructor(dir: string, cause?: unknown) {
    super(
      STORE_ERROR_CODES.locked,
      `data directory ${dir} is locked by another process (or already open in this one); stop the other agent or use another --data-dir`,
      { cause, details: { dir } },
    );
  }
}

export class StoreUnwritableError extends StoreError {
  constructor(dir: string, cause?: unknown) {
    super(STORE_ERROR_CODES.unwritable, `data directory ${dir} cannot be created or written; check its path and permissions`, {
      cause,
      details: { dir },
    });
  }
}

export class StoreCorruptedError extends StoreError {
  constructor(dir: string, cause?: unknown) {
    super(
      STORE_ERROR_CODES.corrupted,
      `data directory ${dir} holds a corrupted or foreign LevelDB database; move it aside (the agent starts empty) or restore a backup`,
      { cause, details: { dir } },
    );
  }
}

export class StoreClosedError extends StoreError {
  constructor(what: string) {
    super(STORE_ERROR_CODES.closed, `${what}: the store is closed`);
  }
}

export class StoreDecodeError extends StoreError {
  constructor(key: string, cause?: unknown) {
    super(STORE_ERROR_CODES.decode, `record at key ${JSON.stringify(key)} cannot be decoded`, { cause, details: { key } });
  }
}

export class StoreInvalidRecordError extends StoreError {
  constructor(message: string, details: Record<string, unknown>) {
    super(STORE_ERROR_CODES.invalidRecord, message, { details });
  }
}

export class StoreOptionsError extends StoreError {
  constructor(message: string, details: Record<string, unknown>) {
    super(STORE_ERROR_CODES.invalidOptions, message, { details });
  }
}
