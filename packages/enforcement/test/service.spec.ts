import assert from 'node:assert/strict';
import { type ActionOutcome, type ActionRequest, type Actuator, memoryKv, SimulatedClock } from '@sliceguard/core';
import { describe, it } from 'mocha';
import { callbackActuator, createEnforcementService, createTrafficFilter } from '../src/index.js';

const req = (over: Partial<ActionRequest> = {}): ActionRequest => ({
  id: 'a1',
  type: 'block',
  target: 'streamer',
  params: { source: '10.0.0.1' },
  requestedBy: 'edge:streamer',
  at: 0,
  ...over,
});

describe('enforcement service', () => {
  it('dispatches by action type and is idempotent by id, also while the first call runs', async () => {
    const clock = new SimulatedClock(0);
    let calls = 0;
    const slow: Actuator = {
      name: 'slow',
      handles: ['escalate'],
      async execute(r) {
        calls++;
        await clock.sleep(1_000);
        return { id: r.id, type: r.type, target: r.target, status: 'succeeded', result: { call: calls }, at: clock.now() };
      },
    };
    const svc = createEnforcementService({ clock, actuators: [slow, createTrafficFilter({ clock })] });
    const p1 = svc.execute(req({ id: 'e1', type: 'escalate', params: {} }));
    const p2 = svc.execute(req({ id: 'e1', type: 'escalate', params: {} }));
    await clock.advance(1_000);
    const [o1, o2] = await Promise.all([p1, p2]);
    assert.equal(o1, o2);
    assert.equal(calls, 1);
    assert.equal((await svc.execute(req({ id: 'e1', type: 'escalate', params: {} }))).result?.call, 1);
    assert.equal((await svc.execute(req())).status, 'succeeded');
    const none = await svc.execute(req({ id: 'x', type: 'webhook' }));
    assert.equal(none.status, 'rejected');
    assert.match(none.detail!, /no actuator handles "webhook"/);
  });

  it('turns actuator exceptions into failed outcomes and rejects malformed requests', async () => {
    const clock = new SimulatedClock(0);
    const boom = callbackActuator({ name: 'boom', handles: ['delegate'], clock, handler: () => { throw new Error('peer unreachable'); } });
    const svc = createEnforcementService({ clock, actuators: [boom] });
    const out = await svc.execute(req({ id: 'd', type: 'delegate' }));
    assert.deepEqual([out.status, out.detail], ['failed', 'peer unreachable']);
    assert.equal((await svc.execute(req({ id: '', type: 'delegate' }))).status, 'rejected');
    assert.equal((await svc.execute(req({ id: 'late', type: 'delegate', expiresAt: -1 }))).status, 'expired');
  });

  it('refuses two actuators for one type', () => {
    const clock = new SimulatedClock();
    assert.throws(() => createEnforcementService({ clock, actuators: [createTrafficFilter({ clock }), createTrafficFilter({ clock, name: 'second' })] }), /both handle "block"/);
  });

  it('records a blocked decision as blocked outcomes without executing anything', async () => {
    const clock = new SimulatedClock(0);
    const filter = createTrafficFilter({ clock });
    const svc = createEnforcementService({ clock, actuators: [filter] });
    const seen: ActionOutcome[] = [];
    svc.onOutcome((o) => seen.push(o));
    const outs = await svc.enforce({ id: 'dec', eventId: 'e', actions: [req()], reason: 'r', blocked: { by: 'guard:cooldown', reason: 'too soon' }, at: 0 });
    assert.deepEqual(outs.map((o) => [o.status, o.detail]), [['blocked', 'guard:cooldown: too soon']]);
    assert.equal(filter.rules().length, 0);
    assert.equal(seen.length, 1);
  });

  it('undoes an expiring action on the clock, escalating the duration for repeat offenders', async () => {
    const clock = new SimulatedClock(0);
    const filter = createTrafficFilter({ clock });
    const svc = createEnforcementService({ clock, actuators: [filter], repeatOffenders: { factor: 2 } });
    const expired: ActionOutcome[] = [];
    svc.onOutcome((o) => o.status === 'expired' && expired.push(o));
    const tenMinutes = 600_000;
    const first = await svc.execute(req({ id: 'b1', at: 0, expiresAt: tenMinutes }));
    assert.equal(first.result?.repeats, 0);
    await clock.advance(tenMinutes);
    assert.equal(expired.length, 1);
    assert.equal(filter.admit('streamer', '10.0.0.1'), true, 'unblocked after 10 minutes');
    assert.equal(svc.outcome('b1')?.status, 'expired');
    // second offence: 20 minutes
    const second = await svc.execute(req({ id: 'b2', at: clock.now(), expiresAt: clock.now() + tenMinutes }));
    assert.deepEqual([second.result?.repeats, second.result?.expiresAt], [1, clock.now() + 2 * tenMinutes]);
    await clock.advance(tenMinutes);
    assert.equal(filter.admit('streamer', '10.0.0.1'), false, 'still blocked after 10 minutes');
    await clock.advance(tenMinutes);
    assert.equal(filter.admit('streamer', '10.0.0.1'), true);
    // third: 40 minutes; a different source starts over
    const third = await svc.execute(req({ id: 'b3', at: clock.now(), expiresAt: clock.now() + tenMinutes }));
    assert.equal(third.result?.expiresAt, clock.now() + 4 * tenMinutes);
    const fresh = await svc.execute(req({ id: 'b4', params: { source: '10.0.0.2' }, at: clock.now(), expiresAt: clock.now() + tenMinutes }));
    assert.equal(fresh.result?.repeats, 0);
    assert.equal(svc.scheduled().length, 2);
    svc.stop();
    assert.equal(svc.scheduled().length, 0);
  });
});

describe('enforcement service with a KeyValueStore', () => {
  it('keeps idempotency and pending expiries across a restart', async () => {
    const kv = memoryKv();
    const clock = new SimulatedClock(0);
    const filter = createTrafficFilter({ clock });
    const first = createEnforcementService({ clock, actuators: [filter], kv });
    const out = await first.execute(req({ id: 'persist-1', expiresAt: 600_000 }));
    assert.equal(out.status, 'succeeded');
    first.stop(); // the process goes away; the block stays in force

    const second = createEnforcementService({ clock, actuators: [filter], kv });
    assert.equal(await second.restore(), 1);
    const again = await second.execute(req({ id: 'persist-1', expiresAt: 600_000 }));
    assert.equal(again.result?.ruleId, out.result?.ruleId, 'same id: the first outcome, not a second rule');
    assert.equal(filter.rules().length, 1);
    await clock.advance(600_000);
    assert.equal(filter.admit('streamer', '10.0.0.1'), true, 'the restored expiry undid the block');
    assert.equal(second.outcome('persist-1')?.status, 'expired');
    const third = createEnforcementService({ clock, actuators: [filter], kv });
    assert.equal(await third.restore(), 0, 'nothing left to restore');
    assert.equal((await third.execute(req({ id: 'persist-1' }))).status, 'expired', 'the stored outcome of that id is its expiry');
  });
});
