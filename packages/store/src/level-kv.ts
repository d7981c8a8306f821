import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KeyValueStore, KvOperation, KvRange } from '@sliceguard/core';
import { Level } from 'level';
import { StoreClosedError, StoreCorruptedError, StoreError, StoreLockedError, StoreUnwritableError, STORE_ERROR_CODES } from './errors.js';

export interface LevelKvOptions {
  /** Create the directory and database when missing (default true). */
  createIfMissing?: boolean;
  /**
   * fsync every write (default false). Without it a write survives a process crash (kill -9: the
   * data is in the OS page cache once the call resolves) but not a power loss or kernel crash.
   */
  sync?: boolean;
}

export const defaultLevelKvOptions: Required<LevelKvOptions> = Object.freeze({ createIfMissing: true, sync: false });

/** A KeyValueStore on LevelDB, with extras used by the store's own tooling. */
export interface LevelKeyValueStore extends KeyValueStore {
  readonly dir: string;
  /** Approximate bytes on disk for keys in [gte, lt) (LevelDB's own estimate; 0 until compacted). */
  approximateSize(gte: string, lt: string): Promise<number>;
  /** Forces a compaction of [gte, lt) so that deletions give their space back. */
  compact(gte?: string, lt?: string): Promise<void>;
}

function errorCode(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string; message?: string } } | undefined;
  return e?.cause?.code ?? e?.code;
}

function classifyOpenError(dir: string, error: unknown): StoreError {
  const code = errorCode(error);
  const message = String((error as { cause?: { message?: string } })?.cause?.message ?? (error as Error)?.message ?? '');
  if (code === 'LEVEL_LOCKED' || /lock/i.test(message)) return new StoreLockedError(dir, error);
  if (code === 'LEVEL_CORRUPTION' || /corrupt/i.test(message)) return new StoreCorruptedError(dir, error);
  if (/permission|read-only|EACCES|EROFS/i.test(message)) return new StoreUnwritableError(dir, error);
  if (/does not exist/i.test(message)) {
    return new StoreError(STORE_ERROR_CODES.open, `no database in ${dir} (createIfMissing is off)`, { cause: error, details: { dir } });
  }
  if (/IO error|Invalid argument|not a directory|CURRENT/i.test(message)) return new StoreCorruptedError(dir, error);
  return new StoreError(STORE_ERROR_CODES.open, `cannot open the database in ${dir}: ${message}`, { cause: error, details: { dir } });
}

function checkDirectory(dir: string, createIfMissing: boolean): void {
  try {
    if (createIfMissing) mkdirSync(dir, { recursive: true });
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT' && !createIfMissing) {
      throw new StoreError(STORE_ERROR_CODES.open, `data directory ${dir} does not exist`, { cause, details: { dir } });
    }
    throw new StoreUnwritableError(dir, cause);
  }
}

/**
 * Opens (creating when needed) a LevelDB database in `dir` and returns it as a core KeyValueStore.
 * Errors say what to do: STORE_ERR_LOCKED (another process holds it), STORE_ERR_UNWRITABLE,
 * STORE_ERR_CORRUPTED.
 */
export async function openLevelKv(dir: string, options: LevelKvOptions = {}): Promise<LevelKeyValueStore> {
  const opts = { ...defaultLevelKvOptions, ...options };
  const path = resolve(dir);
  checkDirectory(path, opts.createIfMissing);
  const db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open({ createIfMissing: opts.createIfMissing, errorIfExists: false });
  } catch (error) {
    throw classifyOpenError(path, error);
  }
  const writeOptions = { sync: opts.sync };
  let closed = false;
  const ensureOpen = (what: string): void => {
    if (closed) throw new StoreClosedError(what);
  };
  const toView = (v: Uint8Array): Uint8Array => (Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v);
  return {
    dir: path,
    async get(key) {
      ensureOpen(`get ${key}`);
      const v = await db.get(key);
      return v === undefined ? undefined : toView(v);
    },
    async put(key, value) {
      ensureOpen(`put ${key}`);
      await db.put(key, value, writeOptions);
    },
    async del(key) {
      ensureOpen(`del ${key}`);
      await db.del(key, writeOptions);
    },
    async batch(operations: KvOperation[]) {
      ensureOpen('batch');
      if (operations.length === 0) return;
      await db.batch(
        operations.map((op) => (op.type === 'put' ? { type: 'put' as const, key: op.key, value: op.value } : { type: 'del' as const, key: op.key })),
        writeOptions,
      );
    },
    async *entries(range: KvRange = {}) {
      ensureOpen('entries');
      const it = db.iterator({ ...range, limit: range.limit ?? -1 });
      try {
        for await (const [k, v] of it) yield [k, toView(v)] as [string, Uint8Array];
      } finally {
        await it.close();
      }
    },
    async approximateSize(gte, lt) {
      ensureOpen('approximateSize');
      const fn = (db as unknown as { approximateSize(a: string, b: string): Promise<number> }).approximateSize;
      return fn.call(db, gte, lt);
    },
    async compact(gte = '', lt = '\uffff') {
      ensureOpen('compact');
      const fn = (db as unknown as { compactRange(a: string, b: string): Promise<void> }).compactRange;
      await fn.call(db, gte, lt);
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
