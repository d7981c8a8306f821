import { fromUtf8, sortableNumber, utf8 } from '@sliceguard/core';
import type { Clock } from '@sliceguard/core';
import type { Database, Transaction } from './database.js';
import { type Encoding, jsonEncoding } from './encoding.js';
import { StoreDecodeError, StoreInvalidRecordError, StoreOptionsError } from './errors.js';

export interface RetentionOptions {
  /** Keep at most this many records (oldest pruned first, except protected ones). Default: unbounded. */
  maxRecords?: number;
  /** Prune records whose time is older than now - maxAgeMs (needs a clock). Default: unbounded. */
  maxAgeMs?: number;
  /** Run the age sweep every N writes (default 64); `prune()` runs it on demand. */
  pruneEvery?: number;
}

export interface RepositoryOptions<T> {
  /** Key prefix (bucket), unique per KeyValueStore: lowercase letters, digits, `_` or `-`. */
  prefix: string;
  encoding?: Encoding<T>;
  idOf(value: T): string;
  /** Clock ms that orders records (and ages them for retention). */
  timeOf(value: T): number;
  /** Optional secondary index (agent, subject, policy id) for `list({ partition })`. */
  partitionOf?(value: T): string | undefined;
  retention?: RetentionOptions;
  /** Records for which this returns true are never pruned (open incidents, pending delegations). */
  protect?(value: T): boolean;
  clock?: Clock;
}

export interface ListQuery {
  /** Only records with time >= since. */
  since?: number;
  /** Only records with time < until. */
  until?: number;
  partition?: string;
  /** Newest first. */
  reverse?: boolean;
  limit?: number;
}

const PREFIX_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const TIME_WIDTH = 16;

/** Key component escaping: ids may contain `:` and `/` (agent ids, subjects). */
function enc(s: string): string {
  return encodeURIComponent(s);
}

function upper(prefix: string): string {
  // the smallest string greater than every key starting with `prefix` (prefix ends with '/')
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

interface IndexEntry {
  primary: string;
  partition: string | null;
}

/**
 * A typed, prefixed collection of records over a KeyValueStore, in the style of lodestar's
 * Repository. Layout under `<prefix>/`:
 *   t/<time>/<id>              → encoded value (time order; retention walks it oldest first)
 *   i/<id>                     → index entry (where the record sits)
 *   p/<partition>/<time>/<id>  → empty (secondary index, when partitionOf is given)
 * Every write stages all three in one transaction, so the indexes never disagree with the data.
 */
export class Repository<T> {
  readonly prefix: string;
  private readonly db: Database;
  private readonly encoding: Encoding<T>;
  private readonly options: RepositoryOptions<T>;
  private readonly retention: Required<Pick<RetentionOptions, 'pruneEvery'>> & RetentionOptions;
  private readonly clock: Clock | undefined;
  private count_: number | undefined;
  private writesSinceSweep = 0;

  constructor(db: Database, options: RepositoryOptions<T>) {
    if (!PREFIX_PATTERN.test(options.prefix)) {
      throw new StoreOptionsError(`repository prefix ${JSON.stringify(options.prefix)} must match ${PREFIX_PATTERN}`, { prefix: options.prefix });
    }
    const r = options.retention ?? {};
    for (const [name, v] of Object.entries(r)) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
        throw new StoreOptionsError(`retention.${name} of ${options.prefix} must be a positive integer, got ${v}`, { prefix: options.prefix, field: name });
      }
    }
    this.db = db;
    this.prefix = options.prefix;
    this.options = options;
    this.encoding = options.encoding ?? jsonEncoding<T>();
    this.retention = { pruneEvery: 64, ...r };
    this.clock = options.clock ?? db.clock;
    if (this.retention.maxAgeMs !== undefined && !this.clock) {
      throw new StoreOptionsError(`retention.maxAgeMs of ${options.prefix} needs a clock`, { prefix: options.prefix });
    }
  }

  private get tPrefix(): string {
    return `${this.prefix}/t/`;
  }
  private get iPrefix(): string {
    return `${this.prefix}/i/`;
  }
  private pPrefix(partition: string): string {
    return `${this.prefix}/p/${enc(partition)}/`;
  }

  private keysOf(value: T): { id: string; time: number; primary: string; partition: string | null; index: string } {
    const id = this.options.idOf(value);
    const time = this.options.timeOf(value);
    if (typeof id !== 'string' || id.length === 0) {
      throw new StoreInvalidRecordError(`${this.prefix}: record has no id`, { prefix: this.prefix });
    }
    if (!Number.isFinite(time) || time < 0) {
      throw new StoreInvalidRecordError(`${this.prefix}: record ${id} has an invalid time ${time} (need ms >= 0)`, { prefix: this.prefix, id });
    }
    const t = sortableNumber(time, TIME_WIDTH);
    const part = this.options.partitionOf?.(value);
    return {
      id,
      time,
      primary: `${this.tPrefix}${t}/${enc(id)}`,
      partition: part === undefined ? null : `${this.pPrefix(part)}${t}/${enc(id)}`,
      index: `${this.iPrefix}${enc(id)}`,
    };
  }

  private decode(key: string, bytes: Uint8Array): T {
    try {
      return this.encoding.decode(bytes);
    } catch (cause) {
      throw new StoreDecodeError(key, cause);
    }
  }

  private async indexEntry(key: string, tx?: Transaction): Promise<IndexEntry | undefined> {
    const raw = tx ? await tx.get(this.db.kv, key) : await this.db.kv.get(key);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(fromUtf8(raw)) as IndexEntry;
    } catch (cause) {
      throw new StoreDecodeError(key, cause);
    }
  }

  async get(id: string): Promise<T | undefined> {
    const entry = await this.indexEntry(`${this.iPrefix}${enc(id)}`);
    if (!entry) return undefined;
    const bytes = await this.db.kv.get(entry.primary);
    return bytes === undefined ? undefined : this.decode(entry.primary, bytes);
  }

  async has(id: string): Promise<boolean> {
    return (await this.db.kv.get(`${this.iPrefix}${enc(id)}`)) !== undefined;
  }

  /** Number of records (counted once from the index, then kept up to date by writes). */
  async count(): Promise<number> {
    if (this.count_ === undefined) {
      let n = 0;
      for await (const _ of this.db.kv.entries({ gte: this.iPrefix, lt: upper(this.iPrefix) })) n++;
      this.count_ ??= n;
    }
    return this.count_;
  }

  async *values(query: ListQuery = {}): AsyncIterable<T> {
    const base = query.partition === undefined ? this.tPrefix : this.pPrefix(query.partition);
    const gte = query.since === undefined ? base : `${base}${sortableNumber(Math.max(0, query.since), TIME_WIDTH)}`;
    const lt = query.until === undefined ? upper(base) : `${base}${sortableNumber(Math.max(0, query.until), TIME_WIDTH)}`;
    const range = { gte, lt, reverse: query.reverse ?? false, limit: query.limit };
    if (query.partition === undefined) {
      for await (const [k, v] of this.db.kv.entries(range)) yield this.decode(k, v);
      return;
    }
    for await (const [k] of this.db.kv.entries(range)) {
      const rest = k.slice(base.length); // <time>/<id>
      const primary = `${this.tPrefix}${rest}`;
      const bytes = await this.db.kv.get(primary);
      if (bytes !== undefined) yield this.decode(primary, bytes);
    }
  }

  async list(query: ListQuery = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const v of this.values(query)) out.push(v);
    return out;
  }

  /** The newest `n` records, newest first. */
  latest(n: number, partition?: string): Promise<T[]> {
    return this.list({ reverse: true, limit: n, partition });
  }

  put(value: T): Promise<void> {
    return this.db.transaction((tx) => this.stagePut(tx, value));
  }

  putMany(values: readonly T[]): Promise<void> {
    return this.db.transaction(async (tx) => {
      for (const v of values) await this.stagePut(tx, v);
    });
  }

  delete(id: string): Promise<boolean> {
    return this.db.transaction((tx) => this.stageDelete(tx, id));
  }

  /** Applies retention now (max records and max age); returns how many records were pruned. */
  prune(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const base = await this.count();
      return this.stageRetention(tx, base, true);
    });
  }

  /** Stages an insert or update inside a transaction (for atomic multi-repository writes). */
  async stagePut(tx: Transaction, value: T): Promise<void> {
    const k = this.keysOf(value);
    let bytes: Uint8Array;
    try {
      bytes = this.encoding.encode(value);
    } catch (cause) {
      throw new StoreInvalidRecordError(`${this.prefix}: record ${k.id} cannot be encoded: ${(cause as Error).message}`, {
        prefix: this.prefix,
        id: k.id,
      });
    }
    const base = await this.count();
    const existing = await this.indexEntry(k.index, tx);
    if (existing) {
      if (existing.primary !== k.primary) tx.del(existing.primary);
      if (existing.partition !== null && existing.partition !== k.partition) tx.del(existing.partition);
    } else {
      this.stageCount(tx, +1);
    }
    tx.put(k.primary, bytes);
    if (k.partition !== null) tx.put(k.partition, new Uint8Array(0));
    tx.put(k.index, utf8(JSON.stringify({ primary: k.primary, partition: k.partition } satisfies IndexEntry)));
    this.writesSinceSweep++;
    const sweepAge = this.retention.maxAgeMs !== undefined && this.writesSinceSweep >= this.retention.pruneEvery;
    await this.stageRetention(tx, base, sweepAge);
  }

  /** Stages a deletion inside a transaction; resolves false when the id is unknown. */
  async stageDelete(tx: Transaction, id: string): Promise<boolean> {
    const index = `${this.iPrefix}${enc(id)}`;
    const existing = await this.indexEntry(index, tx);
    if (!existing) return false;
    await this.count();
    tx.del(existing.primary);
    if (existing.partition !== null) tx.del(existing.partition);
    tx.del(index);
    this.stageCount(tx, -1);
    return true;
  }

  // pending count deltas of open transactions, so several stages in one transaction add up
  private readonly pending = new WeakMap<Transaction, number>();

  private stageCount(tx: Transaction, delta: number): void {
    const before = this.pending.get(tx);
    this.pending.set(tx, (before ?? 0) + delta);
    if (before === undefined) {
      tx.afterCommit(() => {
        this.count_ = (this.count_ ?? 0) + (this.pending.get(tx) ?? 0);
        this.pending.delete(tx);
      });
    }
  }

  private async stageRetention(tx: Transaction, base: number, sweepAge: boolean): Promise<number> {
    const { maxRecords, maxAgeMs } = this.retention;
    const cutoff = sweepAge && maxAgeMs !== undefined && this.clock ? this.clock.now() - maxAgeMs : undefined;
    if (sweepAge) this.writesSinceSweep = 0;
    let excess = maxRecords === undefined ? 0 : base + (this.pending.get(tx) ?? 0) - maxRecords;
    if (excess <= 0 && cutoff === undefined) return 0;
    let pruned = 0;
    const cutoffKey = cutoff === undefined ? undefined : `${this.tPrefix}${sortableNumber(Math.max(0, cutoff), TIME_WIDTH)}`;
    for await (const [key, bytes] of this.db.kv.entries({ gte: this.tPrefix, lt: upper(this.tPrefix) })) {
      const tooOld = cutoffKey !== undefined && key < cutoffKey;
      if (excess <= 0 && !tooOld) break;
      if (tx.isStaged(key)) continue; // moved or deleted in this transaction already
      const value = this.decode(key, bytes);
      if (this.options.protect?.(value)) continue;
      const k = this.keysOf(value);
      tx.del(key);
      if (k.partition !== null) tx.del(k.partition);
      tx.del(k.index);
      this.stageCount(tx, -1);
      excess--;
      pruned++;
    }
    return pruned;
  }
}
