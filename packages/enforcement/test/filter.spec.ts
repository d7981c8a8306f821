import assert from 'node:assert/strict';
import { type ActionRequest, SimulatedClock } from '@sliceguard/core';
import { describe, it } from 'mocha';
import { createTrafficFilter, sourceMatches } from '../src/index.js';

const req = (over: Partial<ActionRequest>): ActionRequest => ({
  id: 'r1',
  type: 'block',
  target: 'streamer',
  params: {},
  requestedBy: 'edge:streamer',
  at: 0,
  ...over,
});

describe('traffic filter', () => {
  it('matches sources exactly, by prefix and by IPv4 CIDR', () => {
    assert.ok(sourceMatches('10.0.0.1', '10.0.0.1'));
    assert.ok(!sourceMatches('10.0.0.1', '10.0.0.10'));
    assert.ok(sourceMatches('10.0.*', '10.0.7.1'));
    assert.ok(sourceMatches('10.1.0.0/16', '10.1.200.3'));
    assert.ok(!sourceMatches('10.1.0.0/16', '10.2.0.3'));
    assert.ok(sourceMatches('0.0.0.0/0', '192.168.1.1'));
    assert.ok(sourceMatches(undefined, 'anything'));
  });

  it('blocks, allows and rate limits per target/source/path with precedence allow > block > lowest limit', async () => {
    const clock = new SimulatedClock(0);
    const f = createTrafficFilter({ clock });
    assert.equal((await f.execute(req({ id: 'b', type: 'block', params: { source: '10.0.0.0/24' } }))).status, 'succeeded');
    assert.equal((await f.execute(req({ id: 'a', type: 'allow', params: { source: '10.0.0.7' } }))).status, 'succeeded');
    await f.execute(req({ id: 'l1', type: 'rate_limit', params: { path: '/video/*', rps: 50 } }));
    await f.execute(req({ id: 'l2', type: 'rate_limit', params: { path: '/video/live/*', rps: 5 } }));
    assert.equal(f.verdict('streamer', '10.0.0.3', '/').action, 'block');
    assert.equal(f.verdict('streamer', '10.0.0.7', '/').action, 'allow');
    assert.equal(f.verdict('cache', '10.0.0.3', '/').action, 'none', 'rules are per target');
    assert.deepEqual(f.verdict('streamer', '192.0.2.1', '/video/live/a.ts'), { action: 'rate_limit', ruleId: f.verdict('streamer', '192.0.2.1', '/video/live/a.ts').ruleId, rps: 5 });
    assert.equal(f.verdict('streamer', '192.0.2.1', '/video/vod/a.ts').rps, 50);
    assert.equal(f.admittedFraction('streamer', '10.0.0.3', '/', 100), 0);
    assert.equal(f.admittedFraction('streamer', '192.0.2.1', '/video/vod/a.ts', 200), 0.25);
    assert.equal(f.admittedFraction('streamer', '192.0.2.1', '/', 200), 1);
  });

  it('admit() enforces the rate with a token bucket', async () => {
    const clock = new SimulatedClock(0);
    const f = createTrafficFilter({ clock });
    await f.execute(req({ id: 'l', type: 'rate_limit', params: { source: '198.51.100.9', rps: 10 } }));
    let passed = 0;
    for (let ms = 0; ms < 2_000; ms += 10) {
      await clock.advance(10);
      if (f.admit('streamer', '198.51.100.9', '/')) passed++; // 100 requests/s offered
    }
    assert.ok(passed >= 28 && passed <= 31, `~10/s over 2 s plus a burst of 10, got ${passed}`);
    assert.ok(f.admit('streamer', '198.51.100.10', '/'), 'other sources are not limited');
    assert.equal(f.stats().dropped, 200 - passed);
  });

  it('rules expire on the clock and undo removes them; the same request id installs one rule', async () => {
    const clock = new SimulatedClock(0);
    const f = createTrafficFilter({ clock });
    const r = req({ id: 'blk', params: { source: '203.0.113.5' }, expiresAt: 60_000 });
    const first = await f.execute(r);
    const again = await f.execute(r);
    assert.equal(again.result?.ruleId, first.result?.ruleId);
    assert.equal(f.rules().length, 1);
    assert.equal(f.admit('streamer', '203.0.113.5'), false);
    await clock.advance(60_000);
    assert.equal(f.admit('streamer', '203.0.113.5'), true);
    assert.equal(f.rules().length, 0);
    const other = await f.execute(req({ id: 'blk2', params: { source: '203.0.113.6' } }));
    const undone = await f.undo(req({ id: 'blk2', params: { source: '203.0.113.6' } }), other);
    assert.equal(undone.status, 'expired');
    assert.equal(f.admit('streamer', '203.0.113.6'), true);
  });

  it('rejects bad parameters with a clear outcome', async () => {
    const f = createTrafficFilter({ clock: new SimulatedClock() });
    const noRate = await f.execute(req({ type: 'rate_limit', params: { source: '1.2.3.4' } }));
    assert.equal(noRate.status, 'rejected');
    assert.match(noRate.detail!, /positive rps/);
    const noSource = await f.execute(req({ id: 'x', type: 'block', params: {} }));
    assert.match(noSource.detail!, /needs params.source or params.path/);
    const badCidr = await f.execute(req({ id: 'y', type: 'block', params: { source: '10.0.0.0/40' } }));
    assert.match(badCidr.detail!, /invalid source pattern/);
  });

  it('indexes many rules per target and source, expiring them on the clock', async () => {
    const clock = new SimulatedClock(0);
    const f = createTrafficFilter({ clock });
    for (let i = 0; i < 5_000; i++) f.addRule({ target: 'streamer', source: `10.1.${i >> 8}.${i & 255}`, action: 'block', expiresAt: i < 2_500 ? 60_000 : 120_000 });
    f.addRule({ target: '*', source: '172.16.0.0/12', action: 'rate_limit', rps: 5 });
    f.addRule({ target: 'streamer', source: '10.1.0.7', action: 'allow' });
    assert.equal(f.verdict('streamer', '10.1.3.4').action, 'block');
    assert.equal(f.verdict('streamer', '10.1.0.7').action, 'allow');
    assert.equal(f.verdict('cache', '10.1.3.4').action, 'none');
    assert.deepEqual([f.verdict('cache', '172.20.1.1').action, f.verdict('cache', '172.20.1.1').rps], ['rate_limit', 5]);
    await clock.advance(60_000);
    assert.equal(f.verdict('streamer', '10.1.0.100').action, 'none', 'the first half expired');
    assert.equal(f.verdict('streamer', '10.1.19.100').action, 'block');
    assert.equal(f.rules('streamer').length, 2_500 + 2);
    await clock.advance(60_000);
    assert.equal(f.rules('streamer').length, 2);
  });
});
