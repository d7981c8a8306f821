import type { KeyValueStore, KvOperation } from '@sliceguard/core';
import { decodeJson, encodeJson, sortableNumber } from '@sliceguard/core';
import { KnowledgeError } from './errors.js';

/**
 * The K of MAPE-K: what a loop saw, raised, decided and got back, over a core KeyValueStore
 * (memoryKv in simulations, LevelDB through @sliceguard/store in a deployed agent).
 *
 * Layout: `<kind>/<at, 16 digits>/<seq, 10 digits>` → JSON, so each kind is a time-ordered range;
 * `inflight/<id>` → JSON for delegations and escalations not settled yet. Retention is a maximum
 * number of records per kind; the oldest record of a kind is deleted in the same batch that writes
 * a new one, so a long-running agent's store stays bounded.
 */
export const KNOWLEDGE_KINDS = [
  'history', // monitoring samples / summaries
  'event', // reports received from children, peers or the parent
  'incident', // anomalies and incidents this loop raised
  'decision', // decisions of the DE (including blocked ones)
  'outcome', // action outcomes and delegation answers
  'lifecycle', // lifecycle transitions
  'config', // monitoring / loop reconfigurations
  'coordination', // escalation and delegation milestones (sent, acknowledged, retried, failed)
] as const;
export type KnowledgeKind = (typeof KNOWLEDGE_KINDS)[number];

export type KnowledgeRetention = Record<KnowledgeKind, number>;

/** Defaults: enough to explain the last hours of a busy NF without growing without bound. */
export const DEFAULT_RETENTION: Readonly<KnowledgeRetention> = Object.freeze({
  history: 512,
  event: 2000,
  incident: 1000,
  decision: 1000,
  outcome: 1000,
  lifecycle: 200,
  config: 200,
  coordination: 2000,
});

export interface KnowledgeRecord<T = unknown> {
  kind: KnowledgeKind;
  at: number;
  seq: number;
  value: T;
}

export interface KnowledgeQuery {
  /** Inclusive lower bound on `at`. */
  since?: number;
  /** Inclusive upper bound on `at`. */
  until?: number;
  /** Newest first when true. */
  reverse?: boolean;
  limit?: number;
}

export interface KnowledgeOptions {
  kv: KeyValueStore;
  /** Maximum records kept per kind (0 keeps none); missing kinds use DEFAULT_RETENTION. */
  retention?: Partial<KnowledgeRetention>;
  /** Maximum unsettled in-flight entries (default 10,000): beyond it `putInFlight` throws. */
  maxInFlight?: number;
}

export interface KnowledgeStats {
  retained: Record<KnowledgeKind, number>;
  written: Record<KnowledgeKind, number>;
  pruned: Record<KnowledgeKind, number>;
  inFlight: number;
}

export interface Knowledge {
  record<T>(kind: KnowledgeKind, value: T, at: number): Promise<KnowledgeRecord<T> | undefined>;
  query<T = unknown>(kind: KnowledgeKind, query?: KnowledgeQuery): Promise<KnowledgeRecord<T>[]>;
  /** Delegations / escalations in flight, keyed by their id; survive restarts with a LevelDB store. */
  putInFlight<T>(id: string, value: T): Promise<void>;
  getInFlight<T = unknown>(id: string): Promise<T | undefined>;
  deleteInFlight(id: string): Promise<void>;
  listInFlight<T = unknown>(): Promise<{ id: string; value: T }[]>;
  stats(): KnowledgeStats;
  close(): Promise<void>;
}

const zeroCounts = (): Record<KnowledgeKind, number> =>
  Object.fromEntries(KNOWLEDGE_KINDS.map((k) => [k, 0])) as Record<KnowledgeKind, number>;

const IN_FLIGHT = 'inflight/';

function keyOf(kind: KnowledgeKind, at: number, seq: number): string {
  return `${kind}/${sortableNumber(at)}/${sortableNumber(seq, 10)}`;
}

/** Opens knowledge over `kv`, loading the keys already there (so retention and seq continue). */
export async function openKnowledge(options: KnowledgeOptions): Promise<Knowledge> {
  const { kv } = options;
  const retention: KnowledgeRetention = { ...DEFAULT_RETENTION, ...(options.retention ?? {}) };
  for (const kind of KNOWLEDGE_KINDS) {
    const n = retention[kind];
    if (!Number.isInteger(n) || n < 0) {
      throw new KnowledgeError(`retention.${kind} must be a non-negative integer, got ${String(n)}`, { field: `retention.${kind}` });
    }
  }
  const maxInFlight = options.maxInFlight ?? 10_000;
  // Per kind, the retained keys oldest first (keys sort by time, then seq).
  const keys = Object.fromEntries(KNOWLEDGE_KINDS.map((k) => [k, [] as string[]])) as Record<KnowledgeKind, string[]>;
  const heads = zeroCounts();
  const written = zeroCounts();
  const pruned = zeroCounts();
  let seq = 0;
  let inFlight = 0;
  let closed = false;
  for (const kind of KNOWLEDGE_KINDS) {
    for await (const [key] of kv.entries({ gt: `${kind}/`, lt: `${kind}/~` })) {
      keys[kind].push(key);
      const s = Number(key.slice(key.lastIndexOf('/') + 1));
      if (Number.isFinite(s) && s >= seq) seq = s + 1;
    }
  }
  for await (const _ of kv.entries({ gt: IN_FLIGHT, lt: `${IN_FLIGHT}~` })) inFlight++;

  const live = (kind: KnowledgeKind): number => keys[kind].length - heads[kind];
  const ensureOpen = (op: string): void => {
    if (closed) throw new KnowledgeError(`knowledge is closed; cannot ${op}`, { operation: op });
  };

  return {
    async record<T>(kind: KnowledgeKind, value: T, at: number) {
      ensureOpen('record');
      if (!Number.isFinite(at) || at < 0) {
        throw new KnowledgeError(`record time must be a finite clock ms ≥ 0, got ${String(at)}`, { kind, at });
      }
      const limit = retention[kind];
      if (limit === 0) return undefined;
      const record: KnowledgeRecord<T> = { kind, at, seq: seq++, value };
      const key = keyOf(kind, at, record.seq);
      const ops: KvOperation[] = [{ type: 'put', key, value: encodeJson(record) }];
      keys[kind].push(key);
      written[kind]++;
      while (live(kind) > limit) {
        ops.push({ type: 'del', key: keys[kind][heads[kind]] });
        heads[kind]++;
        pruned[kind]++;
      }
      // Compact the FIFO now and then instead of shifting on every write.
      if (heads[kind] > 1024 && heads[kind] > live(kind)) {
        keys[kind] = keys[kind].slice(heads[kind]);
        heads[kind] = 0;
      }
      await kv.batch(ops);
      return record;
    },
    async query<T>(kind: KnowledgeKind, query: KnowledgeQuery = {}) {
      ensureOpen('query');
      const out: KnowledgeRecord<T>[] = [];
      const gte = `${kind}/${sortableNumber(Math.max(0, query.since ?? 0))}`;
      const lt = query.until === undefined ? `${kind}/~` : `${kind}/${sortableNumber(query.until + 1)}`;
      for await (const [key, value] of kv.entries({ gte, lt, reverse: query.reverse, limit: query.limit })) {
        try {
          out.push(decodeJson<KnowledgeRecord<T>>(value));
        } catch (cause) {
          throw new KnowledgeError(`knowledge record ${key} is not valid JSON (corrupted store?)`, { key }, cause);
        }
      }
      return out;
    },
    async putInFlight<T>(id: string, value: T) {
      ensureOpen('putInFlight');
      const key = `${IN_FLIGHT}${id}`;
      const existed = (await kv.get(key)) !== undefined;
      if (!existed && inFlight >= maxInFlight) {
        throw new KnowledgeError(`too many unsettled coordination entries (${inFlight} ≥ maxInFlight ${maxInFlight}); settle or expire some`, {
          id,
          maxInFlight,
        });
      }
      await kv.put(key, encodeJson(value));
      if (!existed) inFlight++;
    },
    async getInFlight<T>(id: string) {
      ensureOpen('getInFlight');
      const v = await kv.get(`${IN_FLIGHT}${id}`);
      return v === undefined ? undefined : decodeJson<T>(v);
    },
    async deleteInFlight(id: string) {
      ensureOpen('deleteInFlight');
      const key = `${IN_FLIGHT}${id}`;
      if ((await kv.get(key)) === undefined) return;
      await kv.del(key);
      inFlight--;
    },
    async listInFlight<T>() {
      ensureOpen('listInFlight');
      const out: { id: string; value: T }[] = [];
      for await (const [key, value] of kv.entries({ gt: IN_FLIGHT, lt: `${IN_FLIGHT}~` })) {
        out.push({ id: key.slice(IN_FLIGHT.length), value: decodeJson<T>(value) });
      }
      return out;
    },
    stats() {
      const retained = zeroCounts();
      for (const kind of KNOWLEDGE_KINDS) retained[kind] = live(kind);
      return { retained, written: { ...written }, pruned: { ...pruned }, inFlight };
    },
    async close() {
      if (closed) return;
      closed = true;
      await kv.close();
    },
  };
}
