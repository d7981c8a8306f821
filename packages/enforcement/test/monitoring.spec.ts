import assert from 'node:assert/strict';
import { type ActionRequest, SimulatedClock } from '@sliceguard/core';
import { describe, it } from 'mocha';
import { createEnforcementService, createMonitoringRegistry, monitoringActuator } from '../src/index.js';

const req = (params: Record<string, unknown>, over: Partial<ActionRequest> = {}): ActionRequest => ({
  id: 'm1',
  type: 'reconfigure_monitoring',
  target: 'streamer',
  params,
  requestedBy: 'edge:streamer',
  at: 0,
  ...over,
});

describe('monitoring reconfiguration actuator', () => {
  it('switches an NF to per-flow statistics and back when the action expires', async () => {
    const clock = new SimulatedClock(0);
    const registry = createMonitoringRegistry({ mode: 'aggregate', samplingPeriodMs: 10_000 });
    const changes: string[] = [];
    registry.onChange((t, c) => changes.push(`${t}:${c.mode}:${c.samplingPeriodMs}`));
    const svc = createEnforcementService({ clock, actuators: [monitoringActuator({ clock, control: registry })] });
    const out = await svc.execute(req({ mode: 'per_flow', samplingPeriodMs: 1_000, metrics: ['http_requests_per_s'] }, { expiresAt: 300_000 }));
    assert.equal(out.status, 'succeeded');
    assert.deepEqual(registry.current('streamer'), { mode: 'per_flow', samplingPeriodMs: 1_000, metrics: ['http_requests_per_s'] });
    assert.deepEqual(registry.current('cache'), { mode: 'aggregate', samplingPeriodMs: 10_000, metrics: undefined });
    await clock.advance(300_000);
    assert.equal(registry.current('streamer')?.mode, 'aggregate');
    assert.deepEqual(changes, ['streamer:per_flow:1000', 'streamer:aggregate:10000']);
  });

  it('rejects invalid changes and unknown targets', async () => {
    const clock = new SimulatedClock(0);
    const registry = createMonitoringRegistry();
    const act = monitoringActuator({ clock, control: (t) => (t === 'streamer' ? registry : undefined) });
    assert.match((await act.execute(req({ mode: 'deep' }))).detail!, /mode must be aggregate or per_flow/);
    assert.match((await act.execute(req({ samplingPeriodMs: 5 }))).detail!, />= 100/);
    assert.match((await act.execute(req({}))).detail!, /needs mode, samplingPeriodMs or metrics/);
    assert.match((await act.execute(req({ mode: 'per_flow' }, { target: 'cache' }))).detail!, /no monitoring control for "cache"/);
  });
});
