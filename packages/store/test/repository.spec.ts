import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { join } from 'node:path';
import { type KeyValueStore, memoryKv, SimulatedClock } from '@sliceguard/core';
import { Database } from '../src/database.js';
import { openLevelKv } from '../src/level-kv.js';
import type { IncidentRecord, ModelCheckpointRecord } from '../src/records.js';
import { Repository } from '../src/repository.js';
import { createStore } from '../src/store.js';
import { tempDir } from './helpers.js';

interface Rec {
  id: string;
  at: number;
  owner?: string;
  keep?: boolean;
  n?: number;
}

function repo(kv: KeyValueStore, retention = {}, clock = new SimulatedClock(0)): Repository<Rec> {
  return new Repository<Rec>(new Database(kv, { clock }), {
    prefix: 'rec',
    idOf: (r) => r.id,
    timeOf: (r) => r.at,
    partitionOf: (r) => r.owner,
    protect: (r) => r.keep === true,
    retention,
  });
}

function incident(id: string, openedAt: number, status: IncidentRecord['status'] = 'open'): IncidentRecord {
  return {
    id,
    agentId: 'd1:amf-1',
    level: 'nf',
    kind: 'signaling_ddos',
    target: 'amf-1',
    severity: 0.7,
    status,
    openedAt,
    updatedAt: openedAt,
    events: [],
    decisionIds: [],
    actionIds: [],
  };
}

for (const [name, make] of [
  ['memoryKv', async () => ({ kv: memoryKv() as KeyValueStore, cleanup: async () => {} })],
  [
    'LevelDB',
    async () => {
      const t = tempDir();
      return { kv: (await openLevelKv(join(t.dir, 'db'))) as KeyValueStore, cleanup: t.cleanup };
    },
  ],
] as const) {
  describe(`Repository over ${name}`, () => {
    let kv: KeyValueStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ kv, cleanup } = await make()));
    afterEach(async () => {
      await kv.close();
      await cleanup();
    });

    it('puts, gets, updates (moving in time order) and deletes by id', async () => {
      const r = repo(kv);
      await r.put({ id: 'a:1/x', at: 5, n: 1 });
      await r.put({ id: 'b', at: 3 });
      deepStrictEqual(await r.get('a:1/x'), { id: 'a:1/x', at: 5, n: 1 });
      deepStrictEqual((await r.list()).map((x) => x.id), ['b', 'a:1/x']);
      await r.put({ id: 'b', at: 9, n: 2 });
      deepStrictEqual((await r.list()).map((x) => x.id), ['a:1/x', 'b']);
      equal(await r.count(), 2);
      equal(await r.delete('b'), true);
      equal(await r.delete('b'), false);
      equal(await r.get('b'), undefined);
      equal(await r.count(), 1);
    });

    it('lists by time window, partition, newest first and limit', async () => {
      const r = repo(kv);
      await r.putMany([
        { id: '1', at: 10, owner: 'x' },
        { id: '2', at: 20, owner: 'y' },
        { id: '3', at: 30, owner: 'x' },
        { id: '4', at: 40, owner: 'x' },
      ]);
      deepStrictEqual((await r.list({ since: 20, until: 40 })).map((x) => x.id), ['2', '3']);
      deepStrictEqual((await r.list({ partition: 'x' })).map((x) => x.id), ['1', '3', '4']);
      deepStrictEqual((await r.latest(2, 'x')).map((x) => x.id), ['4', '3']);
      // moving a record to another partition removes it from the old one
      await r.put({ id: '3', at: 30, owner: 'y' });
      deepStrictEqual((await r.list({ partition: 'x' })).map((x) => x.id), ['1', '4']);
      deepStrictEqual((await r.list({ partition: 'y' })).map((x) => x.id), ['2', '3']);
    });

    it('enforces maxRecords oldest first, never pruning protected records', async () => {
      const r = repo(kv, { maxRecords: 3 });
      await r.put({ id: 'p', at: 1, keep: true });
      for (let i = 0; i < 10; i++) await r.put({ id: `r${i}`, at: 10 + i, owner: 'o' });
      equal(await r.count(), 3);
      deepStrictEqual((await r.list()).map((x) => x.id), ['p', 'r8', 'r9']);
      // pruned records leave no index entries behind
      deepStrictEqual((await r.list({ partition: 'o' })).map((x) => x.id), ['r8', 'r9']);
      equal(await r.has('r0'), false);
      let keys = 0;
      for await (const _ of kv.entries()) keys++;
      equal(keys, 3 + 3 + 2); // 3 primaries, 3 id indexes, 2 partition entries
    });

    it('prunes by age with the clock', async () => {
      const clock = new SimulatedClock(0);
      const r = repo(kv, { maxAgeMs: 100, pruneEvery: 1000 }, clock);
      for (let i = 0; i < 10; i++) await r.put({ id: `r${i}`, at: i * 20 });
      await clock.advance(200);
      equal(await r.prune(), 5); // at 0..80 are older than 200 - 100
      deepStrictEqual((await r.list()).map((x) => x.at), [100, 120, 140, 160, 180]);
      equal(await r.count(), 5);
    });

    it('keeps counts, indexes and retention exact under concurrent writers', async () => {
      const r = repo(kv, { maxRecords: 50 });
      await Promise.all(Array.from({ length: 200 }, (_, i) => r.put({ id: `c${i}`, at: 1000 + (i % 37), owner: `o${i % 3}` })));
      await Promise.all(Array.from({ length: 40 }, (_, i) => r.put({ id: `c${199 - i}`, at: 5000 + i })));
      equal(await r.count(), 50);
      equal(await repo(kv).count(), 50);
      const listed = await r.list();
      equal(listed.length, 50);
      let partitioned = 0;
      for (const o of ['o0', 'o1', 'o2']) partitioned += (await r.list({ partition: o })).length;
      equal(partitioned, 10, 'the 40 records rewritten without an owner left their partitions');
      for (const v of listed) deepStrictEqual(await r.get(v.id), v);
    });

    it('counts correctly after reopening over the same store', async () => {
      const r = repo(kv);
      await r.putMany([
        { id: '1', at: 1 },
        { id: '2', at: 2 },
      ]);
      equal(await repo(kv).count(), 2);
    });

    it('refuses records without id or with a bad time, and writes nothing', async () => {
      const r = repo(kv);
      await rejects(r.put({ id: '', at: 1 }), { code: 'STORE_ERR_INVALID_RECORD' });
      await rejects(r.putMany([{ id: 'ok', at: 1 }, { id: 'bad', at: Number.NaN }]), { code: 'STORE_ERR_INVALID_RECORD' });
      equal(await r.count(), 0);
      equal((await r.list()).length, 0);
    });
  });
}

describe('createStore repositories', () => {
  it('keeps open incidents through retention and prunes resolved ones', async () => {
    const clock = new SimulatedClock(1_000);
    const s = createStore(memoryKv(), { clock, retention: { incidents: { maxRecords: 2 } } });
    await s.incidents.put(incident('open-1', 1));
    for (let i = 0; i < 5; i++) await s.incidents.put(incident(`done-${i}`, 10 + i, 'resolved'));
    deepStrictEqual((await s.incidents.list()).map((i) => i.id), ['open-1', 'done-4']);
  });

  it('stores model checkpoints in a compact binary encoding', async () => {
    const kv = memoryKv();
    const s = createStore(kv, { clock: new SimulatedClock(0) });
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const ck: ModelCheckpointRecord = {
      id: 'lstm-v3',
      modelId: 'lstm',
      version: 3,
      round: 7,
      at: 5,
      weights: { layout: [{ name: 'w', shape: [10, 100], offset: 0, length: 1000 }], values },
      metrics: { loss: 0.25 },
    };
    await s.checkpoints.put(ck);
    const back = await s.checkpoints.get('lstm-v3');
    ok(back);
    deepStrictEqual({ ...back, weights: undefined }, { ...ck, weights: undefined });
    deepStrictEqual(back.weights.layout, ck.weights.layout);
    deepStrictEqual([...back.weights.values], [...values]);
    let bytes = 0;
    for await (const [k, v] of kv.entries({ gte: 'ckpt/t/', lt: 'ckpt/t0' })) bytes += k.length + v.length;
    ok(bytes < 1000 * 4 + 400, `checkpoint takes ${bytes} bytes`);
    deepStrictEqual((await s.checkpoints.latest(1, 'lstm')).map((c) => c.version), [3]);
  });
});
