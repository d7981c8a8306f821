/**
 * The storage contract. packages/store implements it on LevelDB (`level`); `memoryKv()` here backs
 * simulations and unit tests. Keys are strings ordered lexicographically (use fixed-width numbers in
 * keys that must sort by time); values are bytes (use core's encodeJson/decodeJson for JSON).
 */
export interface KvRange {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

export type KvOperation = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  del(key: string): Promise<void>;
  /** Applies all operations atomically. */
  batch(operations: KvOperation[]): Promise<void>;
  entries(range?: KvRange): AsyncIterable<[string, Uint8Array]>;
  close(): Promise<void>;
}

function inRange(key: string, r: KvRange): boolean {
  if (r.gt !== undefined && !(key > r.gt)) return false;
  if (r.gte !== undefined && !(key >= r.gte)) return false;
  if (r.lt !== undefined && !(key < r.lt)) return false;
  if (r.lte !== undefined && !(key <= r.lte)) return false;
  return true;
}

/** An in-memory KeyValueStore with the same ordering semantics as LevelDB. */
export function memoryKv(): KeyValueStore {
  const data = new Map<string, Uint8Array>();
  let sorted: string[] | undefined;
  const keys = (): string[] => {
    sorted ??= [...data.keys()].sort();
    return sorted;
  };
  return {
    async get(key) {
      return data.get(key);
    },
    async put(key, value) {
      if (!data.has(key)) sorted = undefined;
      data.set(key, value);
    },
    async del(key) {
      if (data.delete(key)) sorted = undefined;
    },
    async batch(operations) {
      for (const op of operations) {
        if (op.type === 'put') {
          if (!data.has(op.key)) sorted = undefined;
          data.set(op.key, op.value);
        } else if (data.delete(op.key)) sorted = undefined;
      }
    },
    async *entries(range = {}) {
      const ks = keys().filter((k) => inRange(k, range));
      if (range.reverse) ks.reverse();
      const limit = range.limit ?? Number.POSITIVE_INFINITY;
      let n = 0;
      for (const k of ks) {
        if (n++ >= limit) break;
        const v = data.get(k);
        if (v !== undefined) yield [k, v];
      }
    },
    async close() {},
  };
}

/** Zero-padded decimal for keys that must sort numerically (timestamps, sequence numbers). */
export function sortableNumber(n: number, width = 16): string {
  return Math.trunc(n).toString().padStart(width, '0');
}
