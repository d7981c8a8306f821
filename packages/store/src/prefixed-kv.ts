import type { KeyValueStore, KvRange } from '@sliceguard/core';
import { StoreOptionsError } from './errors.js';

/**
 * A view of `kv` under a key prefix (e.g. `'k/'`), so components that lay out their own keys
 * (mape Knowledge, trust, policy, federation) can share one agent's LevelDB without collisions.
 * Closing the view does not close `kv` (its owner does).
 */
export function prefixedKv(kv: KeyValueStore, prefix: string): KeyValueStore {
  if (prefix.length === 0 || !prefix.endsWith('/')) {
    throw new StoreOptionsError(`key prefix ${JSON.stringify(prefix)} must be non-empty and end with "/"`, { prefix });
  }
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const map = (range: KvRange): KvRange => {
    const out: KvRange = { reverse: range.reverse, limit: range.limit };
    if (range.gt !== undefined) out.gt = prefix + range.gt;
    else out.gte = prefix + (range.gte ?? '');
    if (range.lt !== undefined) out.lt = prefix + range.lt;
    else if (range.lte !== undefined) out.lte = prefix + range.lte;
    else out.lt = end;
    return out;
  };
  return {
    get: (key) => kv.get(prefix + key),
    put: (key, value) => kv.put(prefix + key, value),
    del: (key) => kv.del(prefix + key),
    batch: (operations) => kv.batch(operations.map((op) => ({ ...op, key: prefix + op.key }))),
    async *entries(range = {}) {
      for await (const [k, v] of kv.entries(map(range))) yield [k.slice(prefix.length), v] as [string, Uint8Array];
    },
    async close() {},
  };
}
