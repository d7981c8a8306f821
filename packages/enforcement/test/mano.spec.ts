import assert from 'node:assert/strict';
import { type ActionRequest, SimulatedClock } from '@sliceguard/core';
import { describe, it } from 'mocha';
import { createSimulatedMano, createTrafficFilter, manoManagementEvent } from '../src/index.js';

let n = 0;
const req = (type: ActionRequest['type'], target: string, params: Record<string, unknown> = {}, requestedBy = 'mno:embb-cn'): ActionRequest => ({
  id: `r${++n}`,
  type,
  target,
  params,
  requestedBy,
  at: 0,
});

const nfs = [
  { id: 'amf', type: 'amf', replicas: { min: 1, max: 4, initial: 1 }, capacityPerReplica: 200 },
  { id: 'smf', type: 'smf', replicas: { min: 1, max: 4, initial: 2 } },
];

describe('simulated MANO', () => {
  it('scales with a delay on the clock, shows the pending operation, and keeps bounds', async () => {
    const clock = new SimulatedClock(0);
    const mano = createSimulatedMano({ clock, nfs, autoscaler: false, delays: { scale: 5_000 } });
    const pending = mano.execute(req('scale_out', 'amf', { count: 2 }));
    await clock.advance(1_000);
    assert.equal(mano.state('amf').replicas, 1);
    assert.equal(mano.state('amf').pending.length, 1);
    await clock.advance(4_000);
    const out = await pending;
    assert.deepEqual([out.status, out.result?.replicas, out.result?.previous], ['succeeded', 3, 1]);
    assert.equal(mano.state('amf').capacity, 600);
    const over = mano.execute(req('scale_out', 'amf', { count: 5 }));
    await clock.advance(5_000);
    assert.equal((await over).result?.replicas, 4, 'clamped to max 4');
    const none = await mano.execute(req('scale_out', 'amf'));
    assert.equal(none.status, 'rejected');
    assert.match(none.detail!, /bounds \[1, 4\]/);
    const bounded = await mano.execute(req('scale_out', 'smf', { max: 2 }));
    assert.equal(bounded.status, 'rejected', 'the policy bound (max 2) is tighter than the NF max');
    assert.equal((await mano.execute(req('scale_out', 'nope'))).status, 'rejected');
    assert.equal((await mano.execute(req('scale_out', 'amf', { count: 0 }))).status, 'rejected');
  });

  it('its autoscaler scales on utilisation but defers scale-in while a security loop holds the NF', async () => {
    const clock = new SimulatedClock(0);
    const mano = createSimulatedMano({ clock, nfs, delays: { scale: 1_000 }, autoscaler: { periodMs: 10_000, cooldownMs: 0 } });
    mano.start();
    // a security loop scales out and holds against scale-in for 2 minutes
    const out = mano.execute(req('scale_out', 'amf', { count: 2, holdMs: 120_000 }, 'mno:embb-cn'));
    await clock.advance(1_000);
    assert.equal((await out).result?.replicas, 3);
    mano.reportUtilisation('amf', 0.1); // the storm's load is not visible yet: the autoscaler wants to scale in
    await clock.advance(60_000);
    assert.equal(mano.state('amf').replicas, 3, 'held: not scaled in');
    assert.ok(mano.autoscalerStats().deferred >= 5);
    const deferred = mano.events().find((e) => e.kind === 'autoscale_deferred' && e.details.heldBy === 'mno:embb-cn');
    assert.ok(deferred);
    const mgmt = manoManagementEvent(deferred, 'mno:mano', 1);
    assert.deepEqual([mgmt.type, mgmt.kind, mgmt.target, mgmt.details.direction], ['management', 'autoscale_deferred', 'amf', 'scale_in']);
    // another loop may not scale it in either
    const other = await mano.execute(req('scale_in', 'amf', {}, 'mno:other'));
    assert.equal(other.status, 'rejected');
    assert.match(other.detail!, /held against scale_in by mno:embb-cn/);
    await clock.advance(70_000);
    assert.ok(mano.state('amf').replicas < 3, 'after the hold the autoscaler scales in');
    mano.reportUtilisation('smf', 0.95);
    await clock.advance(12_000);
    assert.equal(mano.state('smf').replicas, 3, 'high utilisation: scaled out');
    assert.ok(mano.autoscalerStats().scaledOut >= 1);
    mano.stop();
    assert.equal(clock.pendingTimers, 0, 'stop leaves no timers');
  });

  it('deploys a vFirewall whose rules the traffic filter enforces, and removes it', async () => {
    const clock = new SimulatedClock(0);
    const filter = createTrafficFilter({ clock });
    const mano = createSimulatedMano({ clock, nfs: [{ id: 'streamer', replicas: { min: 1, max: 2, initial: 1 } }], autoscaler: false, trafficFilter: filter, delays: { vsfDeploy: 8_000, vsfRemove: 1_000 } });
    const deploying = mano.execute(req('deploy_vsf', 'streamer', { vsf: 'vfirewall', rules: ['10.9.0.1', '10.9.0.2'] }));
    await clock.advance(7_999);
    assert.equal(filter.admit('streamer', '10.9.0.1'), true, 'not deployed yet');
    await clock.advance(1);
    const out = await deploying;
    assert.equal(out.status, 'succeeded');
    assert.equal(filter.admit('streamer', '10.9.0.1'), false);
    assert.equal(mano.state('streamer').vsfs[0].kind, 'vfirewall');
    const same = await mano.execute(req('deploy_vsf', 'streamer', { vsf: 'vfirewall', rules: ['10.9.0.3'] }));
    assert.equal(same.result?.created, false, 'one vfirewall per NF; new rules are merged');
    assert.equal(filter.admit('streamer', '10.9.0.3'), false);
    const removing = mano.undo(req('deploy_vsf', 'streamer', { vsf: 'vfirewall' }), out);
    await clock.advance(1_000);
    assert.equal((await removing).status, 'expired');
    assert.equal(mano.state('streamer').vsfs.length, 0);
    assert.equal(filter.admit('streamer', '10.9.0.1'), true);
    assert.equal((await mano.execute(req('deploy_vsf', 'streamer', { vsf: 'waf' }))).status, 'rejected');
  });

  it('updates configuration and restores it on undo', async () => {
    const clock = new SimulatedClock(0);
    const mano = createSimulatedMano({ clock, nfs: [{ id: 'streamer', replicas: { min: 1, max: 1, initial: 1 }, config: { headerTimeoutMs: 60_000 } }], autoscaler: false, delays: { config: 0 } });
    const r = req('update_config', 'streamer', { headerTimeoutMs: 5_000, maxConnectionsPerSource: 20 });
    const out = await mano.execute(r);
    assert.deepEqual(mano.state('streamer').config, { headerTimeoutMs: 5_000, maxConnectionsPerSource: 20 });
    await mano.undo(r, out);
    assert.deepEqual(mano.state('streamer').config, { headerTimeoutMs: 60_000 });
  });

  it('refuses inconsistent replica specs', () => {
    assert.throws(() => createSimulatedMano({ clock: new SimulatedClock(), nfs: [{ id: 'x', replicas: { min: 3, max: 2, initial: 2 } }] }), /min <= initial <= max/);
  });
});
