import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import type { KeyValueStore } from '@sliceguard/core';

/**
 * The KeyValueStore compliance suite (libp2p's interface-compliance-tests habit): every
 * implementation — LevelDB, core memoryKv, anything a package writes — must pass the same cases.
 * `kvComplianceCases` is framework-free; `describeKvCompliance` registers them with mocha.
 */
export interface KvComplianceCase {
  name: string;
  run(kv: KeyValueStore): Promise<void>;
}

export type KvFactory = () => Promise<{ kv: KeyValueStore; cleanup?: () => Promise<void> }>;

const b = (...xs: number[]): Uint8Array => new Uint8Array(xs);

async function collect(kv: KeyValueStore, range?: Parameters<KeyValueStore['entries']>[0]): Promise<Array<[string, number[]]>> {
  const out: Array<[string, number[]]> = [];
  for await (const [k, v] of kv.entries(range)) out.push([k, [...v]]);
  return out;
}

async function seed(kv: KeyValueStore, keys: string[]): Promise<void> {
  await kv.batch(keys.map((key, i) => ({ type: 'put' as const, key, value: b(i) })));
}

export const kvComplianceCases: readonly KvComplianceCase[] = [
  {
    name: 'get of a missing key resolves undefined',
    async run(kv) {
      equal(await kv.get('missing'), undefined);
    },
  },
  {
    name: 'put then get returns the same bytes as a Uint8Array',
    async run(kv) {
      await kv.put('k', b(1, 2, 3, 255));
      const v = await kv.get('k');
      ok(v instanceof Uint8Array);
      deepStrictEqual([...v], [1, 2, 3, 255]);
    },
  },
  {
    name: 'empty and large values round-trip',
    async run(kv) {
      await kv.put('empty', new Uint8Array(0));
      const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
      await kv.put('big', big);
      equal((await kv.get('empty'))?.length, 0);
      const got = await kv.get('big');
      equal(got?.length, big.length);
      ok(got?.every((x, i) => x === i % 251));
    },
  },
  {
    name: 'put overwrites and del removes (del of a missing key is fine)',
    async run(kv) {
      await kv.put('k', b(1));
      await kv.put('k', b(2));
      deepStrictEqual([...((await kv.get('k')) ?? [])], [2]);
      await kv.del('k');
      equal(await kv.get('k'), undefined);
      await kv.del('never-there');
    },
  },
  {
    name: 'batch applies puts and dels in order (the later op on a key wins)',
    async run(kv) {
      await kv.put('gone', b(9));
      await kv.batch([
        { type: 'put', key: 'a', value: b(1) },
        { type: 'put', key: 'b', value: b(2) },
        { type: 'del', key: 'gone' },
        { type: 'put', key: 'c', value: b(3) },
        { type: 'del', key: 'c' },
        { type: 'del', key: 'b' },
        { type: 'put', key: 'b', value: b(4) },
      ]);
      deepStrictEqual(await collect(kv), [
        ['a', [1]],
        ['b', [4]],
      ]);
      await kv.batch([]);
    },
  },
  {
    name: 'entries are in lexicographic key order',
    async run(kv) {
      await seed(kv, ['b', 'a/b', 'a', '0', 'a0', 'B', 'inc/t/0000000000000010/x', 'inc/t/0000000000000009/y']);
      deepStrictEqual(
        (await collect(kv)).map(([k]) => k),
        ['0', 'B', 'a', 'a/b', 'a0', 'b', 'inc/t/0000000000000009/y', 'inc/t/0000000000000010/x'],
      );
    },
  },
  {
    name: 'ranges: gt, gte, lt, lte, reverse and limit',
    async run(kv) {
      await seed(kv, ['a', 'b', 'c', 'd', 'e']);
      const keys = async (r: Parameters<KeyValueStore['entries']>[0]) => (await collect(kv, r)).map(([k]) => k);
      deepStrictEqual(await keys({ gt: 'b', lt: 'e' }), ['c', 'd']);
      deepStrictEqual(await keys({ gte: 'b', lte: 'd' }), ['b', 'c', 'd']);
      deepStrictEqual(await keys({ gte: 'b', reverse: true }), ['e', 'd', 'c', 'b']);
      deepStrictEqual(await keys({ lt: 'd', reverse: true, limit: 2 }), ['c', 'b']);
      deepStrictEqual(await keys({ limit: 0 }), []);
      deepStrictEqual(await keys({ gte: 'x' }), []);
      deepStrictEqual(await keys({ gte: 'prefix/', lt: 'prefix0' }), []);
    },
  },
  {
    name: 'prefix scans with a "/" separator stay inside the prefix',
    async run(kv) {
      await seed(kv, ['dec/t/1', 'dec/t/2', 'dec/i/1', 'decx/t/1', 'dec0', 'de']);
      deepStrictEqual(
        (await collect(kv, { gte: 'dec/t/', lt: 'dec/t0' })).map(([k]) => k),
        ['dec/t/1', 'dec/t/2'],
      );
    },
  },
  {
    name: 'a value read back is not changed by a later write of the same key',
    async run(kv) {
      await kv.put('k', b(1, 2));
      const first = await kv.get('k');
      await kv.put('k', b(3, 4));
      deepStrictEqual([...(first ?? [])], [1, 2]);
    },
  },
  {
    name: 'an iterator stopped early (break) does not block later writes',
    async run(kv) {
      await seed(kv, ['a', 'b', 'c']);
      for await (const [k] of kv.entries()) if (k === 'a') break;
      await kv.put('d', b(4));
      equal((await collect(kv)).length, 4);
    },
  },
];

/** Registers the suite with mocha: `describeKvCompliance('LevelDB', async () => ({ kv, cleanup }))`. */
export function describeKvCompliance(name: string, factory: KvFactory): void {
  describe(`KeyValueStore compliance: ${name}`, () => {
    for (const c of kvComplianceCases) {
      it(c.name, async () => {
        const { kv, cleanup } = await factory();
        try {
          await c.run(kv);
        } finally {
          await kv.close();
          await cleanup?.();
        }
      });
    }
  });
}
