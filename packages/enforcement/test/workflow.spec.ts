import assert from 'node:assert/strict';
import {
  type ActionRequest,
  type AnomalyEvent,
  type Decision,
  type IncidentEvent,
  type SecurityEvent,
  SimulatedClock,
  silentLogger,
} from '@sliceguard/core';
import { createLoopCoordinator, createPolicyEngine, createSslaManager, loadPolicies } from '@sliceguard/policy';
import { describe, it } from 'mocha';
import {
  callbackActuator,
  createEnforcementService,
  createMonitoringRegistry,
  createSimulatedMano,
  createTrafficFilter,
  monitoringActuator,
  notifyActuator,
} from '../src/index.js';

const examples = new URL('../../../../topology/examples/policies/', import.meta.url).pathname;

/**
 * The volumetric DoS workflow of the second source paper, end to end at library level, with the
 * vCDN example policies: coarse (aggregate) statistics → anomaly → the policy asks for per-flow
 * statistics → per-flow analysis names heavy hitters (confirm → block) or none (a flash crowd:
 * dismissed, monitoring back to aggregate). The traffic model obeys the traffic filter; a small
 * analyzer stands in for the analytics engine.
 */
async function runVcdnScenario(kind: 'attack' | 'flash_crowd') {
  const clock = new SimulatedClock(0);
  const target = 'streamer';
  const policies = await loadPolicies([`${examples}vcdn.yaml`]);
  const engine = createPolicyEngine({ policies, clock, scope: { agentId: 'edge:streamer', level: 'nf', nfType: 'streamer', slice: 'vcdn', subslice: 'vcdn-edge', subsliceKind: 'edge' } });
  const filter = createTrafficFilter({ clock });
  const monitoring = createMonitoringRegistry({ mode: 'aggregate', samplingPeriodMs: 10_000 });
  const notes: ActionRequest[] = [];
  const escalations: ActionRequest[] = [];
  const service = createEnforcementService({
    clock,
    actuators: [
      filter,
      monitoringActuator({ clock, control: monitoring }),
      notifyActuator({ clock, logger: silentLogger(), sink: (r) => notes.push(r) }),
      callbackActuator({ name: 'coordination', handles: ['escalate', 'delegate'], clock, handler: (r) => void escalations.push(r) }),
    ],
  });
  const ssla = createSslaManager({ clock, spec: { timeToDetectMs: 20_000, timeToMitigateMs: 60_000 }, target, source: 'edge:streamer' });
  const decisions: Decision[] = [];
  const events: SecurityEvent[] = [];

  // traffic: 50 regular clients at 1 req/s; from t=65 s either 5 bots at 300 req/s or 600 new clients at 1 req/s
  const onset = 65_000;
  const flows = (t: number): Array<{ source: string; rps: number; malicious: boolean }> => {
    const out = Array.from({ length: 50 }, (_, i) => ({ source: `198.51.100.${i}`, rps: 1, malicious: false }));
    if (t >= onset) {
      if (kind === 'attack') for (let i = 0; i < 5; i++) out.push({ source: `203.0.113.${i}`, rps: 300, malicious: true });
      else for (let i = 0; i < 600; i++) out.push({ source: `192.0.2.${i % 250}-${Math.floor(i / 250)}`, rps: 1, malicious: false });
    }
    return out;
  };
  let window: Array<Map<string, number>> = [];
  let lastSample = 0;
  let seq = 0;
  const admittedLog: Array<{ t: number; malicious: number; benign: number }> = [];

  const analyze = (now: number): AnomalyEvent | undefined => {
    const config = monitoring.current(target)!;
    const perSource = new Map<string, number>();
    for (const second of window) for (const [s, r] of second) perSource.set(s, (perSource.get(s) ?? 0) + r / window.length);
    window = [];
    const total = [...perSource.values()].reduce((a, b) => a + b, 0);
    if (total < 3 * 50) return undefined; // baseline 50 req/s
    const base: Omit<AnomalyEvent, 'evidence' | 'severity'> = { id: `ev-${++seq}`, type: 'anomaly', at: now, source: 'edge:streamer', target, level: 'nf' };
    const evidence = (indicators: string[]) => ({
      detector: config.mode === 'per_flow' ? 'per-flow-heavy-hitters' : 'aggregate-volume',
      score: total / 50,
      threshold: 3,
      contributors: [{ metric: 'http_requests_per_s', share: 1 }],
      window: { start: now - config.samplingPeriodMs, end: now },
      indicators: indicators.map((value) => ({ kind: 'source', value })),
    });
    if (config.mode === 'aggregate') return { ...base, severity: 0.5, evidence: evidence([]) };
    // per-flow: a heavy hitter sends > 20x the median per-source rate
    const rates = [...perSource.values()].sort((a, b) => a - b);
    const median = rates[Math.floor(rates.length / 2)];
    const heavy = [...perSource].filter(([, r]) => r > 20 * median).map(([s]) => s);
    const heavyShare = heavy.reduce((a, s) => a + perSource.get(s)!, 0) / total;
    return { ...base, severity: heavy.length ? Math.min(1, 0.5 + heavyShare / 2) : 0.3, evidence: evidence(heavy) };
  };

  for (let t = 1_000; t <= 240_000; t += 1_000) {
    await clock.runUntil(t);
    let malicious = 0;
    let benign = 0;
    const second = new Map<string, number>();
    for (const f of flows(t)) {
      const admitted = f.rps * filter.admittedFraction(target, f.source, '/live/index.m3u8', f.rps, t);
      if (admitted > 0) second.set(f.source, admitted);
      if (f.malicious) malicious += admitted;
      else benign += admitted;
    }
    admittedLog.push({ t, malicious, benign });
    window.push(second);
    if (t === onset) ssla.recordOnset('incident-1', onset);
    const period = monitoring.current(target)!.samplingPeriodMs;
    if (t - lastSample < period) continue;
    lastSample = t;
    const event = analyze(t);
    if (!event) continue;
    events.push(event);
    if (event.evidence.indicators?.length || kind === 'attack') ssla.recordDetection('incident-1', t);
    const ds = await engine.decide(event, { agentId: 'edge:streamer', level: 'nf', now: t, facts: { knowledge: { monitoring: monitoring.current(target) } } });
    decisions.push(...ds);
    for (const d of ds) {
      const outs = await service.enforce(d);
      if (outs.some((o) => o.status === 'succeeded' && (o.type === 'block' || o.type === 'rate_limit'))) ssla.recordMitigation('incident-1', clock.now());
    }
  }
  service.stop();
  ssla.stop();
  return { decisions, events, filter, monitoring, notes, escalations, admittedLog, ssla, onset };
}

describe('progressive DoS workflow (coarse → finer → confirm → mitigate, or dismiss)', () => {
  it('an HTTP flood: aggregate anomaly, per-flow monitoring, heavy hitters blocked, benign traffic untouched', async () => {
    const r = await runVcdnScenario('attack');
    const policyTrail = r.decisions.filter((d) => !d.blocked).map((d) => `${d.at / 1000}s:${d.policyId}`);
    // 1) coarse statistics raise an anomaly without sources; the policy asks for per-flow statistics
    assert.equal(r.decisions[0].policyId, 'vcdn-nf-refine-monitoring', policyTrail.join(' '));
    assert.equal(r.events[0].at, 70_000, 'first aggregate sample after the onset');
    // 2) per-flow statistics confirm the attack and name the 5 bots; they are blocked and the incident escalated
    const block = r.decisions.find((d) => d.policyId === 'vcdn-nf-block-sources' && !d.blocked);
    assert.ok(block, policyTrail.join(' '));
    assert.deepEqual(
      block.actions.filter((a) => a.type === 'block').map((a) => a.params.source).sort(),
      ['203.0.113.0', '203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'],
    );
    assert.equal(r.escalations.length, 1);
    assert.equal(r.escalations[0].params.kind, 'http_flood');
    assert.equal(r.filter.rules('streamer').filter((x) => x.action === 'block').length, 5);
    // 3) the attack traffic is gone, benign traffic is intact
    const after = r.admittedLog.filter((x) => x.t > block.at);
    assert.ok(after.every((x) => x.malicious === 0 && x.benign === 50));
    assert.ok(r.admittedLog.some((x) => x.t > r.onset && x.t < block.at && x.malicious === 1_500), 'the attack was real before mitigation');
    assert.ok(!r.notes.some((n) => n.params.classification === 'fortuitous'));
    // 4) SSLA: detected within 20 s, mitigated within 60 s of detection
    const report = r.ssla.report();
    assert.equal(report.incidents[0].timeToDetectMs, 5_000);
    assert.ok(report.incidents[0].timeToMitigateMs! <= 2_000, JSON.stringify(report.incidents[0]));
    assert.equal(report.compliant, true);
  });

  it('a benign flash crowd: aggregate anomaly, per-flow statistics find no heavy hitter, classified fortuitous and dismissed', async () => {
    const r = await runVcdnScenario('flash_crowd');
    assert.equal(r.decisions[0].policyId, 'vcdn-nf-refine-monitoring');
    const dismissed = r.decisions.find((d) => d.policyId === 'vcdn-nf-dismiss-flash-crowd');
    assert.ok(dismissed, r.decisions.map((d) => d.policyId).join(' '));
    assert.equal(r.notes[0].params.classification, 'fortuitous');
    assert.deepEqual(r.filter.rules(), [], 'no source was blocked or rate limited');
    assert.ok(!r.decisions.some((d) => ['vcdn-nf-block-sources', 'vcdn-nf-rate-limit-sources'].includes(d.policyId!)));
    assert.ok(r.admittedLog.filter((x) => x.t > r.onset).every((x) => x.benign === 650), 'every legitimate request admitted');
    assert.equal(r.monitoring.current('streamer')?.mode, 'aggregate', 'monitoring went back to aggregate statistics');
  });
});

describe('signaling-DDoS flow (eMBB): RAN escalates → slice delegates → CN scales out, coordinated with the MANO', () => {
  it('scales AMF and SMF out within bounds while the MANO autoscaler is held off', async () => {
    const clock = new SimulatedClock(0);
    const policies = await loadPolicies([`${examples}embb.yaml`]);
    const coordinator = createLoopCoordinator({ clock });
    const mano = createSimulatedMano({
      clock,
      nfs: [
        { id: 'amf', type: 'amf', replicas: { min: 1, max: 4, initial: 1 } },
        { id: 'smf', type: 'smf', replicas: { min: 1, max: 4, initial: 1 } },
        { id: 'upf', type: 'upf', replicas: { min: 2, max: 6, initial: 2 } },
      ],
      delays: { scale: 5_000 },
      autoscaler: { periodMs: 10_000, cooldownMs: 0 },
    });
    mano.start();
    const engineFor = (agentId: string, level: 'nf' | 'subslice' | 'slice', extra: Record<string, string> = {}) =>
      createPolicyEngine({ policies, clock, coordinator, scope: { agentId, level, domain: 'mno', slice: 'embb', ...extra } });
    const gnb = engineFor('mno:gnb-1', 'nf', { nfType: 'gnb', subsliceKind: 'ran' });
    const ran = engineFor('mno:embb-ran', 'subslice', { subsliceKind: 'ran' });
    const slice = engineFor('mno:embb', 'slice');
    const cn = engineFor('mno:embb-cn', 'subslice', { subsliceKind: 'cn' });
    const topology = {
      ran: { children: [1, 2, 3].map((i) => ({ agentId: `mno:gnb-${i}`, kind: 'gnb' })) },
      slice: { children: [{ agentId: 'mno:embb-ran', kind: 'ran' }, { agentId: 'mno:embb-cn', kind: 'cn' }] },
      cn: { nfs: [{ id: 'amf', type: 'amf' }, { id: 'smf', type: 'smf' }, { id: 'upf', type: 'upf' }] },
    };
    const service = createEnforcementService({ clock, actuators: [mano] });

    // 1) a gNB sees a mild signaling anomaly and escalates
    const a: AnomalyEvent = {
      id: 'gnb-1-a', type: 'anomaly', at: 0, source: 'mno:gnb-1', target: 'gnb-1', severity: 0.3, level: 'nf',
      evidence: { detector: 'lstm-ae', score: 1.3, threshold: 1, contributors: [{ metric: 'rrc_setup_rate', share: 0.5 }, { metric: 'attach_rate', share: 0.2 }], window: { start: 0, end: 1 } },
    };
    const [esc] = await gnb.decide(a, { agentId: 'mno:gnb-1', level: 'nf', now: 0 });
    assert.equal(esc.actions[0].type, 'escalate');
    // 2) the RAN sub-slice correlates 3 gNBs and reports a signaling DDoS to the slice, asking for finer RAN monitoring
    const inc: IncidentEvent = { id: 'ran-inc', type: 'incident', at: 0, source: 'mno:embb-ran', target: 'embb-ran', severity: 0.6, level: 'subslice', kind: 'signaling_surge', children: ['gnb-1-a', 'gnb-2-a', 'gnb-3-a'], evidence: a.evidence };
    const [ranDecision] = await ran.decide(inc, { agentId: 'mno:embb-ran', level: 'subslice', now: 0, facts: { topology: topology.ran } });
    assert.deepEqual(ranDecision.actions.map((x) => `${x.type}:${x.target}`), ['escalate:embb-ran', 'reconfigure_monitoring:mno:gnb-1', 'reconfigure_monitoring:mno:gnb-2', 'reconfigure_monitoring:mno:gnb-3']);
    // 3) the slice loop delegates scale-out to the CN sub-slice loop
    const sliceIncident: IncidentEvent = { ...inc, id: 'slice-inc', source: 'mno:embb', target: 'embb', level: 'slice', kind: String(ranDecision.actions[0].params.kind) };
    const [del] = await slice.decide(sliceIncident, { agentId: 'mno:embb', level: 'slice', now: 0, facts: { topology: topology.slice } });
    assert.deepEqual([del.actions[0].type, del.actions[0].target], ['delegate', 'mno:embb-cn']);
    // 4) the CN loop scales out AMF and SMF (not UPF), holding the autoscaler off for 10 minutes
    const delegation: SecurityEvent = { id: 'cn-del', type: 'delegation', at: 0, source: 'mno:embb', target: 'embb-cn', severity: 0.6, action: 'scale_out', params: del.actions[0].params, deadline: 30_000, from: 'mno:embb' };
    const [scale] = await cn.decide(delegation, { agentId: 'mno:embb-cn', level: 'subslice', now: 0, facts: { topology: topology.cn } });
    assert.deepEqual(scale.actions.map((x) => `${x.type}:${x.target}:${x.params.max}`), ['scale_out:amf:4', 'scale_out:smf:4']);
    const done = service.enforce(scale); // ordered: AMF, then SMF, 5 s each on the MANO
    await clock.advance(10_000);
    const outs = await done;
    assert.deepEqual(outs.map((o) => [o.status, o.result?.replicas]), [['succeeded', 2], ['succeeded', 2]]);
    for (const o of outs) cn.recordOutcome(o);
    // 5) a repeated delegation within the cooldown is refused and recorded as blocked
    const [again] = await cn.decide({ ...delegation, id: 'cn-del-2' }, { agentId: 'mno:embb-cn', level: 'subslice', now: clock.now(), facts: { topology: topology.cn } });
    assert.equal(again.blocked?.by, 'guard:cooldown');
    // 6) the MANO sees low utilisation (the storm is absorbed) but may not scale in while held
    mano.reportUtilisation('amf', 0.1);
    await clock.advance(300_000);
    assert.equal(mano.state('amf').replicas, 2);
    assert.ok(mano.autoscalerStats().deferred > 0);
    await clock.advance(310_000);
    assert.equal(mano.state('amf').replicas, 1, 'after the hold the MANO optimises again');
    mano.stop();
    service.stop();
  });
});
