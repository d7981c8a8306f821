import assert from 'node:assert/strict';
import type {
  ActionOutcome,
  Actuator,
  AnomalyEvent,
  Counter,
  Decision,
  DecisionEngine,
  Gauge,
  Histogram,
  MetricsRegistry,
  SecurityEvent,
} from '@sliceguard/core';
import { memoryKv, SimulatedClock } from '@sliceguard/core';
import type { AnalyticsEngine, LoopNotice, MonitoredSample, MonitoringConfig, MonitoringSystem } from '../src/index.js';
import { actuatorEnforcement, createLoop, createLoopMetrics, InvalidLoopConfigError, openKnowledge } from '../src/index.js';

function anomaly(at: number, value: number): AnomalyEvent {
  return {
    type: 'anomaly',
    id: `a-${at}`,
    at,
    source: 'd:nf1',
    target: 'nf1',
    severity: 0.9,
    level: 'nf',
    evidence: { detector: 'threshold', score: value, threshold: 10, contributors: [{ metric: 'rps', share: 1 }], window: { start: at, end: at } },
  };
}

/** AE double: anomalous when rps > 10. */
const thresholdAe: AnalyticsEngine = {
  name: 'threshold',
  async analyzeSample(sample) {
    return (sample.values.rps ?? 0) > 10 ? [anomaly(sample.at, sample.values.rps)] : [];
  },
};

/** DE double: rate-limit on anomalies, act on delegations. */
const rateLimitDe: DecisionEngine = {
  async decide(event: SecurityEvent, context) {
    if (event.type !== 'anomaly' && event.type !== 'delegation') return [];
    return [
      {
        id: `dec-${event.id}`,
        eventId: event.id,
        reason: 'test rule',
        at: context.now,
        actions: [{ id: `act-${event.id}`, type: 'rate_limit', target: event.target, params: { rps: 5 }, requestedBy: context.agentId, at: context.now }],
      } satisfies Decision,
    ];
  },
};

function recordingActuator(clock: SimulatedClock, delayMs = 0): Actuator & { calls: string[] } {
  const calls: string[] = [];
  return {
    name: 'rec',
    handles: ['rate_limit'],
    calls,
    async execute(req) {
      calls.push(req.id);
      if (delayMs > 0) await clock.sleep(delayMs);
      return { id: req.id, type: req.type, target: req.target, status: 'succeeded', at: clock.now() } satisfies ActionOutcome;
    },
  };
}

/** An MS double over a queue of values; records the configurations it got. */
function queueMs(values: number[]): MonitoringSystem & { configs: MonitoringConfig[] } {
  const configs: MonitoringConfig[] = [];
  return {
    name: 'queue',
    configs,
    async collect(ctx) {
      const v = values.shift();
      return v === undefined ? [] : [{ at: ctx.now, values: { rps: v } }];
    },
    configure(config) {
      configs.push(config);
    },
  };
}

describe('mape loop', () => {
  it('runs MS → AE → DE → ES on its period and records events, decisions and outcomes', async () => {
    const counted = new Map<string, number>();
    const labelled: MetricsRegistry = {
      counter: (o) =>
        ({
          inc: (labels: Record<string, string | number> = {}, v = 1) => {
            const key = `${o.name}{${Object.entries(labels).map(([k, x]) => `${k}=${x}`).join(',')}}`;
            counted.set(key, (counted.get(key) ?? 0) + v);
          },
        }) as Counter,
      gauge: () => ({ set() {}, inc() {}, dec() {} }) as Gauge,
      histogram: () => ({ observe() {} }) as Histogram,
    };
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    const actuator = recordingActuator(clock);
    const ms = queueMs([1, 2, 50, 3]);
    const loop = createLoop({
      id: 'd:nf1',
      level: 'nf',
      clock,
      knowledge,
      ms,
      ae: thresholdAe,
      de: rateLimitDe,
      es: actuatorEnforcement({ actuators: [actuator], clock }),
      monitoring: { samplingPeriodMs: 100 },
      metrics: createLoopMetrics(labelled),
    });
    const notices: LoopNotice['type'][] = [];
    loop.on((n) => notices.push(n.type));
    await loop.activate('test');
    await clock.advance(400);
    await loop.idle();
    assert.equal(loop.stats().ticks, 4);
    assert.equal(loop.stats().samples, 4);
    assert.deepEqual(actuator.calls, ['act-a-300']);
    assert.equal((await knowledge.query('history')).length, 4);
    assert.equal((await knowledge.query('incident')).length, 1);
    assert.equal((await knowledge.query('decision')).length, 1);
    const outcomes = await knowledge.query<{ outcomes: ActionOutcome[] }>('outcome');
    assert.equal(outcomes[0].value.outcomes[0].status, 'succeeded');
    assert.ok(notices.includes('event') && notices.includes('decision') && notices.includes('outcome'));
    const st = loop.stats().stages;
    assert.equal(st.ms.count, 4);
    assert.equal(st.ae.count, 4);
    assert.equal(st.de.count, 1);
    assert.equal(st.es.count, 1);
    assert.ok(st.ae.totalMs >= 0 && st.ae.maxMs >= st.ae.lastMs - 1e-9);
    assert.equal(counted.get('sliceguard_loop_iterations_total{level=nf,input=telemetry}'), 4);
    assert.equal(counted.get('sliceguard_events_total{type=anomaly,level=nf,origin=analytics}'), 1);
    await loop.terminate('done');
  });

  it('reconfigures the sampling period, granularity and metrics while running', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    const ms = queueMs(Array.from({ length: 100 }, () => 1));
    const loop = createLoop({
      id: 'd:nf1',
      level: 'nf',
      clock,
      knowledge,
      ms,
      ae: thresholdAe,
      de: rateLimitDe,
      es: actuatorEnforcement({ actuators: [], clock }),
      monitoring: { samplingPeriodMs: 1000 },
    });
    await loop.activate('go');
    await clock.advance(3000);
    assert.equal(loop.stats().ticks, 3);
    const cfg = await loop.reconfigure({ samplingPeriodMs: 100, granularity: 'per_flow', metrics: ['rps'] }, 'suspected DoS', 'd:nf1');
    assert.equal(cfg.granularity, 'per_flow');
    await clock.advance(1000);
    assert.equal(loop.stats().ticks, 13, 'ten more ticks at the new 100 ms period');
    assert.deepEqual(ms.configs.at(-1), { samplingPeriodMs: 100, granularity: 'per_flow', metrics: ['rps'] });
    const recorded = await knowledge.query<{ reason: string; config: MonitoringConfig }>('config');
    assert.equal(recorded[0].value.reason, 'suspected DoS');
    await assert.rejects(() => loop.reconfigure({ samplingPeriodMs: 0 }, 'bad'), InvalidLoopConfigError);
    await assert.rejects(() => loop.reconfigure({ granularity: 'fine' as 'aggregate' }, 'bad'), /granularity must be one of aggregate, per_flow/);
    assert.equal(loop.monitoring.samplingPeriodMs, 100, 'a refused reconfiguration changes nothing');
    await loop.deactivate('pause');
    await clock.advance(1000);
    assert.equal(loop.stats().ticks, 13, 'an inactive loop does not tick');
    await loop.terminate('done');
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it('a slow stage never blocks input: oldest telemetry is dropped and counted, events refused when full', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv(), retention: { history: 0 } });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: number[] = [];
    const slowAe: AnalyticsEngine = {
      name: 'slow',
      async analyzeSample(sample) {
        seen.push(sample.values.rps);
        await gate;
        return [];
      },
      async analyzeReport() {
        return [];
      },
    };
    const metricsSeen: Record<string, number> = {};
    const registry: MetricsRegistry = {
      counter: (o) => ({ inc: (_l, v = 1) => (metricsSeen[o.name] = (metricsSeen[o.name] ?? 0) + v) }) as Counter,
      gauge: () => ({ set() {}, inc() {}, dec() {} }) as Gauge,
      histogram: (o) => ({ observe: () => (metricsSeen[o.name] = (metricsSeen[o.name] ?? 0) + 1) }) as Histogram,
    };
    const loop = createLoop({
      id: 'd:nf1',
      level: 'nf',
      clock,
      knowledge,
      ae: slowAe,
      de: rateLimitDe,
      es: actuatorEnforcement({ actuators: [], clock }),
      queues: { telemetry: 3, events: 2 },
      metrics: createLoopMetrics(registry),
    });
    await loop.activate('go');
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) assert.equal(loop.pushTelemetry({ at: i, values: { rps: i } }), true);
    const r1 = loop.pushReport(anomaly(1, 1));
    const r2 = loop.pushReport(anomaly(2, 2));
    const r3 = loop.pushReport(anomaly(3, 3));
    assert.ok(performance.now() - t0 < 50, 'pushes return at once while the AE is stuck');
    assert.deepEqual([r1, r2, r3], [true, true, false]);
    const s = loop.stats();
    assert.equal(s.telemetryDropped, 6, 'sample 0 is being analysed; of 1..9 only the newest 3 stay queued');
    assert.equal(s.eventsRefused, 1);
    assert.equal(metricsSeen.sliceguard_loop_telemetry_dropped_total, 6);
    assert.equal(metricsSeen.sliceguard_loop_events_refused_total, 1);
    release();
    await loop.idle();
    assert.deepEqual(seen, [0, 7, 8, 9]);
    assert.ok((metricsSeen.sliceguard_loop_stage_duration_seconds ?? 0) >= 4);
    assert.equal(metricsSeen.sliceguard_loop_iterations_total, 6, 'four samples and two reports went through the loop');
    assert.equal(metricsSeen.sliceguard_events_total, undefined, 'the AE raised no event');
    await loop.terminate('done');
  });

  it('refuses input while not active and keeps what it already accepted across a deactivation', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    const actuator = recordingActuator(clock);
    const loop = createLoop({
      id: 'd:ss',
      level: 'subslice',
      clock,
      knowledge,
      ae: { name: 'none' },
      de: rateLimitDe,
      es: actuatorEnforcement({ actuators: [actuator], clock }),
    });
    assert.equal(loop.pushEvent(anomaly(1, 50)), false, 'instantiated loops accept nothing');
    await loop.activate('go');
    await loop.deactivate('pause');
    assert.equal(loop.pushEvent(anomaly(2, 50)), false);
    assert.equal(loop.stats().eventsRefused, 2);
    await loop.activate('resume');
    assert.equal(loop.pushEvent(anomaly(3, 50)), true);
    await loop.idle();
    assert.deepEqual(actuator.calls, ['act-a-3']);
    await loop.terminate('done');
    assert.equal(loop.pushEvent(anomaly(4, 50)), false);
  });

  it('enforcement runs beside analysis: a slow actuator does not stop the next sample', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    const actuator = recordingActuator(clock, 5_000);
    const loop = createLoop({
      id: 'd:nf1',
      level: 'nf',
      clock,
      knowledge,
      ae: thresholdAe,
      de: rateLimitDe,
      es: actuatorEnforcement({ actuators: [actuator], clock }),
      maxConcurrentEnforcements: 4,
    });
    await loop.activate('go');
    loop.pushTelemetry({ at: 1, values: { rps: 99 } } satisfies MonitoredSample);
    loop.pushTelemetry({ at: 2, values: { rps: 99 } });
    await new Promise((r) => setImmediate(r));
    assert.equal(loop.stats().samples, 2);
    assert.equal(loop.stats().enforcementsInFlight, 2);
    await clock.advance(5_000);
    await loop.idle();
    assert.equal(loop.stats().outcomes, 2);
    await loop.terminate('done');
  });

  it('records a failing stage and keeps going', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    let n = 0;
    const flakyAe: AnalyticsEngine = {
      name: 'flaky',
      async analyzeSample(s) {
        if (n++ === 0) throw new Error('boom');
        return [anomaly(s.at, 99)];
      },
    };
    const loop = createLoop({ id: 'x', level: 'nf', clock, knowledge, ae: flakyAe, de: rateLimitDe, es: actuatorEnforcement({ actuators: [], clock }) });
    const errors: unknown[] = [];
    loop.on((x) => x.type === 'error' && errors.push(x.error));
    await loop.activate('go');
    loop.pushTelemetry({ at: 1, values: { rps: 1 } });
    loop.pushTelemetry({ at: 2, values: { rps: 1 } });
    await loop.idle();
    assert.equal(errors.length, 1);
    assert.equal(loop.stats().stages.ae.errors, 1);
    const out = await knowledge.query<{ outcomes: ActionOutcome[] }>('outcome');
    assert.equal(out[0].value.outcomes[0].status, 'rejected', 'an action nobody handles is answered rejected');
    assert.match(out[0].value.outcomes[0].detail ?? '', /no actuator handles "rate_limit"/);
    await loop.terminate('done');
  });

  it('submit reports why an event is refused, or the decisions and outcomes once enforced', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    const actuator = recordingActuator(clock, 100);
    const loop = createLoop({ id: 'd:cn', level: 'subslice', clock, knowledge, ae: { name: 'n' }, de: rateLimitDe, es: actuatorEnforcement({ actuators: [actuator], clock }) });
    const refused = loop.submit(anomaly(1, 50));
    assert.equal(refused.accepted, false);
    assert.match(refused.accepted ? '' : refused.reason, /loop d:cn is instantiated/);
    await loop.activate('go');
    const sub = loop.submit(anomaly(2, 50));
    assert.ok(sub.accepted);
    await new Promise((r) => setImmediate(r));
    await clock.advance(100);
    const result = await sub.result;
    assert.equal(result.decisions.length, 1);
    assert.deepEqual(
      result.outcomes.map((o) => o.status),
      ['succeeded'],
    );
    await loop.terminate('done');
  });

  it('validates options', async () => {
    const clock = new SimulatedClock(0);
    const knowledge = await openKnowledge({ kv: memoryKv() });
    const base = { id: 'x', level: 'nf' as const, clock, knowledge, ae: { name: 'n' }, de: rateLimitDe, es: actuatorEnforcement({ actuators: [], clock }) };
    assert.throws(() => createLoop({ ...base, monitoring: { samplingPeriodMs: -1 } }), /samplingPeriodMs must be a positive number/);
    assert.throws(() => createLoop({ ...base, queues: { telemetry: 0 } }), /queues.telemetry must be an integer ≥ 1/);
  });
});
