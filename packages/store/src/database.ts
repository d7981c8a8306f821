import type { Clock, KeyValueStore, KvOperation } from '@sliceguard/core';
import { WriteLock } from './lock.js';

/**
 * The write side of one KeyValueStore shared by repositories and the audit log: a single write lock
 * (index updates and the audit chain are read-modify-write) and atomic transactions. Everything a
 * transaction stages goes to disk in one `kv.batch`, or nothing does.
 */
export class Database {
  readonly kv: KeyValueStore;
  readonly clock: Clock | undefined;
  private readonly lock = new WriteLock();

  constructor(kv: KeyValueStore, options: { clock?: Clock } = {}) {
    this.kv = kv;
    this.clock = options.clock;
  }

  /**
   * Runs `fn` under the write lock; the operations it stages are written in one atomic batch when it
   * resolves. When `fn` throws or the batch fails, nothing is written and no in-memory state
   * (counts, audit head) changes. Do not call `transaction` again from inside `fn` (it would wait
   * for itself).
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const tx = new Transaction();
      const result = await fn(tx);
      await tx.commit(this.kv);
      return result;
    });
  }
}

export class Transaction {
  readonly operations: KvOperation[] = [];
  /** Staged values by key (undefined = staged deletion), so later stages see earlier ones. */
  private readonly staged = new Map<string, Uint8Array | undefined>();
  private readonly onCommit: Array<() => void> = [];
  private committed = false;

  put(key: string, value: Uint8Array): void {
    this.operations.push({ type: 'put', key, value });
    this.staged.set(key, value);
  }

  del(key: string): void {
    this.operations.push({ type: 'del', key });
    this.staged.set(key, undefined);
  }

  /** Reads through the transaction: staged writes first, then the store. */
  async get(kv: KeyValueStore, key: string): Promise<Uint8Array | undefined> {
    if (this.staged.has(key)) return this.staged.get(key);
    return kv.get(key);
  }

  isStaged(key: string): boolean {
    return this.staged.has(key);
  }

  /** Runs after the batch is durable (in-memory counters, chain heads). */
  afterCommit(fn: () => void): void {
    this.onCommit.push(fn);
  }

  async commit(kv: KeyValueStore): Promise<void> {
    if (this.committed) return;
    this.committed = true;
    await kv.batch(this.operations);
    for (const fn of this.onCommit) fn();
  }
}
