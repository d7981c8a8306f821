import assert from 'node:assert/strict';
import {
  childrenSubject,
  decodeJson,
  encodeJson,
  loopScope,
  loopSubject,
  memoryKv,
  SimulatedClock,
  seededRng,
  subjectMatches,
} from '../src/index.js';

describe('core: SimulatedClock', () => {
  it('fires timers in time order, intervals repeatedly, and skips cancelled ones', async () => {
    const clock = new SimulatedClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(cancelled);
    const iv = clock.setInterval(() => fired.push(`i@${clock.now()}`), 8);
    await clock.advance(25);
    clock.clearInterval(iv);
    await clock.advance(100);
    assert.deepEqual(fired, ['i@1008', 'a@1010', 'i@1016', 'b@1020', 'i@1024']);
    assert.equal(clock.now(), 1125);
  });

  it('lets promise chains started by a timer finish before the next timer', async () => {
    const clock = new SimulatedClock();
    const log: string[] = [];
    clock.setTimeout(async () => {
      await Promise.resolve();
      await Promise.resolve();
      log.push('first done');
    }, 1);
    clock.setTimeout(() => log.push('second'), 2);
    await clock.advance(5);
    assert.deepEqual(log, ['first done', 'second']);
  });

  it('sleep resolves on advance and rejects on abort', async () => {
    const clock = new SimulatedClock();
    let woke = false;
    const p = clock.sleep(50).then(() => {
      woke = true;
    });
    await clock.advance(49);
    assert.equal(woke, false);
    await clock.advance(1);
    await p;
    assert.equal(woke, true);
    const ac = new AbortController();
    const q = clock.sleep(10, ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(q, /stop/);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('core: seededRng', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const c = seededRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
    for (const x of xs) assert.ok(x >= 0 && x < 1);
  });

  it('normal() has roughly zero mean and unit variance', () => {
    const r = seededRng('n');
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    assert.ok(Math.abs(s / n) < 0.05);
    assert.ok(Math.abs(s2 / n - 1) < 0.05);
  });
});

describe('core: subjects', () => {
  const placement = { domain: 'op-a', slice: 'embb', subslice: 'ran', nf: 'gnb-1' };
  it('mirrors the topology and scopes each loop to its own prefix', () => {
    assert.equal(loopSubject('nf', placement, 'escalate'), 'sg.op-a.embb.ran.gnb-1.escalate');
    assert.equal(loopSubject('subslice', placement, 'delegate'), 'sg.op-a.embb.ran._.delegate');
    assert.equal(loopSubject('domain', placement, 'control'), 'sg.op-a._._._.control');
    assert.equal(loopScope('slice', placement), 'sg.op-a.embb.>');
    assert.equal(loopScope('domain', placement), 'sg.op-a.>');
    assert.equal(loopScope('nf', placement), 'sg.op-a.embb.ran.gnb-1.>');
    assert.equal(childrenSubject('subslice', placement, 'escalate'), 'sg.op-a.embb.ran.*.escalate');
  });

  it('matches NATS wildcards', () => {
    assert.ok(subjectMatches('sg.a.>', 'sg.a.b.c'));
    assert.ok(!subjectMatches('sg.a.>', 'sg.a'));
    assert.ok(subjectMatches('sg.*.b', 'sg.x.b'));
    assert.ok(!subjectMatches('sg.*.b', 'sg.x.y.b'));
    assert.ok(!subjectMatches('sg.a.b', 'sg.a.b.c'));
    assert.ok(subjectMatches(loopScope('slice', placement), loopSubject('nf', placement, 'anomaly')));
    assert.ok(!subjectMatches(loopScope('nf', placement), loopSubject('subslice', placement, 'delegate')));
  });

  it('refuses ids that would break the subject scheme', () => {
    assert.throws(() => loopSubject('nf', { ...placement, nf: 'gnb.1' }, 'anomaly'), /cannot be used in a subject/);
    assert.throws(() => loopSubject('nf', { ...placement, nf: '*' }, 'anomaly'), /cannot be used in a subject/);
  });
});

describe('core: memoryKv', () => {
  it('orders keys, honours ranges, reverse, limit and atomic batches', async () => {
    const kv = memoryKv();
    await kv.batch([
      { type: 'put', key: 'b', value: encodeJson(2) },
      { type: 'put', key: 'a', value: encodeJson(1) },
      { type: 'put', key: 'c', value: encodeJson(3) },
    ]);
    await kv.del('c');
    const all: string[] = [];
    for await (const [k] of kv.entries()) all.push(k);
    assert.deepEqual(all, ['a', 'b']);
    const rev: number[] = [];
    for await (const [, v] of kv.entries({ gte: 'a', reverse: true, limit: 1 })) rev.push(decodeJson<number>(v));
    assert.deepEqual(rev, [2]);
    assert.equal(await kv.get('c'), undefined);
  });
});
