import assert from 'node:assert/strict';
import { memoryKv } from '@sliceguard/core';
import { KnowledgeError, openKnowledge } from '../src/index.js';

describe('mape knowledge', () => {
  it('records per kind in time order and queries ranges', async () => {
    const k = await openKnowledge({ kv: memoryKv() });
    await k.record('incident', { n: 2 }, 200);
    await k.record('incident', { n: 1 }, 100);
    await k.record('decision', { n: 9 }, 150);
    await k.record('incident', { n: 3 }, 300);
    const all = await k.query<{ n: number }>('incident');
    assert.deepEqual(
      all.map((r) => r.value.n),
      [1, 2, 3],
    );
    const mid = await k.query<{ n: number }>('incident', { since: 150, until: 300 });
    assert.deepEqual(
      mid.map((r) => r.value.n),
      [2, 3],
    );
    const newest = await k.query<{ n: number }>('incident', { reverse: true, limit: 1 });
    assert.equal(newest[0].value.n, 3);
    assert.equal((await k.query('decision')).length, 1);
  });

  it('keeps at most the retention per kind, pruning the oldest', async () => {
    const kv = memoryKv();
    const k = await openKnowledge({ kv, retention: { history: 3 } });
    for (let i = 0; i < 10; i++) await k.record('history', { i }, 1000 + i);
    const kept = await k.query<{ i: number }>('history');
    assert.deepEqual(
      kept.map((r) => r.value.i),
      [7, 8, 9],
    );
    assert.equal(k.stats().retained.history, 3);
    assert.equal(k.stats().pruned.history, 7);
    assert.equal(k.stats().written.history, 10);
    let n = 0;
    for await (const _ of kv.entries({ gt: 'history/', lt: 'history/~' })) n++;
    assert.equal(n, 3, 'pruned records are deleted from the store');
  });

  it('retention 0 keeps nothing for that kind', async () => {
    const k = await openKnowledge({ kv: memoryKv(), retention: { history: 0 } });
    assert.equal(await k.record('history', { x: 1 }, 1), undefined);
    assert.equal((await k.query('history')).length, 0);
  });

  it('reopening the same store continues retention and sequence numbers', async () => {
    const kv = memoryKv();
    const closeLess = { ...kv, close: async () => {} };
    const a = await openKnowledge({ kv: closeLess, retention: { outcome: 4 } });
    for (let i = 0; i < 3; i++) await a.record('outcome', { i }, 5);
    const b = await openKnowledge({ kv: closeLess, retention: { outcome: 4 } });
    for (let i = 3; i < 6; i++) await b.record('outcome', { i }, 5);
    const kept = await b.query<{ i: number }>('outcome');
    assert.deepEqual(
      kept.map((r) => r.value.i),
      [2, 3, 4, 5],
      'same-ms records written after reopening do not overwrite earlier ones',
    );
  });

  it('tracks in-flight coordination entries with a bound', async () => {
    const k = await openKnowledge({ kv: memoryKv(), maxInFlight: 2 });
    await k.putInFlight('d1', { attempt: 1 });
    await k.putInFlight('d1', { attempt: 2 });
    await k.putInFlight('d2', { attempt: 1 });
    assert.deepEqual(await k.getInFlight('d1'), { attempt: 2 });
    await assert.rejects(() => k.putInFlight('d3', {}), (e: unknown) => e instanceof KnowledgeError && /maxInFlight/.test(e.message));
    await k.deleteInFlight('d1');
    await k.putInFlight('d3', {});
    assert.deepEqual((await k.listInFlight()).map((e) => e.id).sort(), ['d2', 'd3']);
    assert.equal(k.stats().inFlight, 2);
  });

  it('rejects bad retention and bad times with clear errors', async () => {
    await assert.rejects(() => openKnowledge({ kv: memoryKv(), retention: { event: -1 } }), /retention.event must be a non-negative integer/);
    const k = await openKnowledge({ kv: memoryKv() });
    await assert.rejects(() => k.record('event', {}, Number.NaN), /finite clock ms/);
    await k.close();
    await assert.rejects(() => k.record('event', {}, 1), /knowledge is closed/);
  });
});
