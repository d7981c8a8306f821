import { deepStrictEqual, equal } from 'node:assert/strict';
import type { ActionOutcome, Decision } from '@sliceguard/core';
import { decisionsFromRepositories, incidentsFromRepository, type RecordSource } from '../src/index.js';

/** A sorted in-memory source with the store Repository's query semantics. */
function source<T extends { id: string }>(items: T[], timeOf: (t: T) => number, partitionOf?: (t: T) => string): RecordSource<T> {
  return {
    get: async (id) => items.find((i) => i.id === id),
    async *values(q = {}) {
      let xs = [...items].sort((a, b) => timeOf(a) - timeOf(b));
      if (q.since !== undefined) xs = xs.filter((x) => timeOf(x) >= q.since!);
      if (q.partition !== undefined) xs = xs.filter((x) => partitionOf?.(x) === q.partition);
      if (q.reverse) xs.reverse();
      yield* xs.slice(0, q.limit ?? xs.length);
    },
  };
}

describe('repository adapters', () => {
  it('incidentsFromRepository lists newest first with a status filter and limit', async () => {
    const repo = source(
      [1, 2, 3, 4, 5].map((n) => ({ id: `i${n}`, openedAt: n, status: n % 2 ? 'open' : 'resolved' })),
      (i) => i.openedAt,
    );
    const p = incidentsFromRepository(repo);
    deepStrictEqual((await p.list({ limit: 2 })).map((i) => i.id), ['i5', 'i4']);
    deepStrictEqual((await p.list({ limit: 2, status: 'open' })).map((i) => i.id), ['i5', 'i3']);
    deepStrictEqual((await p.list({ limit: 10, status: 'resolved', since: 3 })).map((i) => i.id), ['i4']);
    equal((await p.get('i2'))?.status, 'resolved');
  });

  it('decisionsFromRepositories joins outcomes by action id and filters by event', async () => {
    const decision = (n: number, eventId: string): Decision => ({
      id: `d${n}`,
      eventId,
      reason: 'r',
      at: n,
      actions: [{ id: `a${n}`, type: 'block', target: 'x', params: {}, requestedBy: 'me', at: n }],
    });
    const outcome: ActionOutcome = { id: 'a2', type: 'block', target: 'x', status: 'succeeded', at: 3 };
    const p = decisionsFromRepositories(
      source([decision(1, 'e1'), decision(2, 'e2'), decision(3, 'e1')], (d) => d.at, (d) => d.eventId),
      source([outcome], (o) => o.at),
    );
    deepStrictEqual((await p.list({ limit: 5, eventId: 'e1' })).map((d) => d.id), ['d3', 'd1']);
    deepStrictEqual((await p.get('d2'))?.outcomes, [outcome]);
    deepStrictEqual((await p.get('d1'))?.outcomes, []);
  });
});
