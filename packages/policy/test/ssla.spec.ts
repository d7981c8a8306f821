import assert from 'node:assert/strict';
import { SimulatedClock, type SslaViolationEvent } from '@sliceguard/core';
import { describe, it } from 'mocha';
import { createPolicyEngine, createSslaManager, parsePolicies } from '../src/index.js';

describe('SSLA manager', () => {
  const setup = () => {
    const clock = new SimulatedClock(0);
    const raised: SslaViolationEvent[] = [];
    const ssla = createSslaManager({
      clock,
      spec: { timeToDetectMs: 20_000, timeToMitigateMs: 60_000, availability: 0.99 },
      target: 'vcdn',
      source: 'edge:vcdn',
      onViolation: (e) => raised.push(e),
    });
    return { clock, raised, ssla };
  };

  it('measures time to detect and to mitigate per incident, with no violation when within the SSLA', async () => {
    const { clock, raised, ssla } = setup();
    ssla.recordOnset('inc-1', 0);
    await clock.advance(5_000);
    ssla.recordDetection('inc-1');
    await clock.advance(30_000);
    ssla.recordMitigation('inc-1');
    await clock.advance(120_000);
    assert.deepEqual(raised, []);
    const r = ssla.report();
    assert.deepEqual([r.incidents[0].timeToDetectMs, r.incidents[0].timeToMitigateMs], [5_000, 30_000]);
    assert.equal(r.timeToDetect.withinTarget, 1);
    assert.equal(r.compliant, true);
  });

  it('raises a time-to-detect violation on the clock when detection is late, before the detection arrives', async () => {
    const { clock, raised, ssla } = setup();
    ssla.recordOnset('inc-2', 0);
    await clock.advance(20_000);
    assert.equal(raised.length, 0);
    await clock.advance(5);
    assert.equal(raised.length, 1);
    assert.deepEqual([raised[0].type, raised[0].metric, raised[0].target_value, raised[0].correlationId], ['ssla_violation', 'time_to_detect', 20_000, 'inc-2']);
    await clock.advance(10_000);
    ssla.recordDetection('inc-2');
    assert.equal(raised.length, 1, 'the late detection does not raise it twice');
    assert.equal(ssla.report().incidents[0].timeToDetectMs, 30_005);
  });

  it('raises a time-to-mitigate violation when mitigation comes after the promise', async () => {
    const { clock, raised, ssla } = setup();
    ssla.recordOnset('inc-3', 0);
    ssla.recordDetection('inc-3', 1_000);
    await clock.advance(50_000);
    ssla.recordMitigation('inc-3', 70_000);
    assert.deepEqual(raised.map((e) => [e.metric, e.observed]), [['time_to_mitigate', 69_000]]);
    assert.equal(ssla.report().compliant, false);
    ssla.stop();
  });

  it('tracks availability and raises a violation when it falls below the target', async () => {
    const { clock, raised, ssla } = setup();
    ssla.recordServiceState(true, 0);
    await clock.advance(100_000);
    assert.equal(ssla.checkAvailability(), undefined);
    ssla.recordServiceState(false);
    await clock.advance(2_000);
    ssla.recordServiceState(true);
    const v = ssla.checkAvailability();
    assert.ok(v);
    assert.equal(v.metric, 'availability');
    assert.ok(Math.abs(v.observed - (1 - 2_000 / 102_000)) < 1e-9);
    assert.equal(raised.length, 1);
    assert.equal(ssla.report().availability?.violated, true);
  });

  it('violations are events policies react to', async () => {
    const { clock, raised, ssla } = setup();
    const engine = createPolicyEngine({
      clock,
      policies: parsePolicies([
        {
          text: `
policies:
  - id: ttm
    on: { event: ssla_violation, metric: time_to_mitigate }
    when: event.observed > event.target_value
    do: [ { action: escalate, params: { kind: ssla_violation } } ]
`,
        },
      ]),
    });
    ssla.recordOnset('inc-4', 0);
    ssla.recordDetection('inc-4', 0);
    await clock.advance(60_001);
    assert.equal(raised.length, 1);
    const ds = await engine.decide(raised[0], { agentId: 'edge:vcdn', level: 'slice', now: clock.now() });
    assert.deepEqual(ds.map((d) => [d.policyId, d.actions[0].type, d.actions[0].params.correlationId]), [['ttm', 'escalate', 'inc-4']]);
  });
});
