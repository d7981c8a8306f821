import assert from 'node:assert/strict';
import { type Decision, memoryKv, SimulatedClock, type TrustView } from '@sliceguard/core';
import { describe, it } from 'mocha';
import {
  createLoopCoordinator,
  createPolicyEngine,
  loadPolicies,
  openPolicyStore,
  PolicyConflictError,
  PolicyValidationError,
  parsePolicies,
} from '../src/index.js';
import { anomaly, delegation, fixture, incident, management } from './helpers.js';

const policies = (yaml: string) => parsePolicies([{ text: yaml, file: 'test.yaml' }]);
const nf = (now: number, facts: Record<string, unknown> = {}) => ({ agentId: 'd:nf1', level: 'nf' as const, now, facts });
const enforced = (ds: Decision[]) => ds.filter((d) => !d.blocked);
const blocked = (ds: Decision[]) => ds.filter((d) => d.blocked);

describe('policy engine: evaluation', () => {
  it('selects by scope and trigger, evaluates CEL over event, facts, trust and time, renders templates and forEach', async () => {
    const clock = new SimulatedClock(1_000);
    const set = policies(`
policies:
  - id: limit-sources
    scope: { level: nf, nfType: streamer }
    on: { event: anomaly, minSeverity: 0.4, indicator: source }
    when: trust(event.source) > 0.5 && knowledge.baselineRps > 10 && now - event.at < ms('1m')
    do:
      - action: rate_limit
        forEach: indicators.source
        params: { source: '\${item}', rps: '\${knowledge.baselineRps / 2}', note: 'from \${agent.id} #\${index}' }
        expiresIn: 10m
  - id: other-nf-type
    scope: { nfType: amf }
    on: anomaly
    do: [ { action: notify } ]
  - id: subslice-only
    scope: { level: subslice }
    on: anomaly
    do: [ { action: notify } ]
`);
    const trust: TrustView = { score: (id) => (id === 'd:nf1' ? 0.9 : 0.1), weight: () => 1, isQuarantined: () => false };
    const engine = createPolicyEngine({ policies: set, clock, scope: { nfType: 'streamer' } });
    const event = anomaly({ at: 1_000, source: 'd:nf1', sources: ['10.0.0.1', '10.0.0.2', '10.0.0.1'] });
    const ds = await engine.decide(event, { ...nf(2_000, { knowledge: { baselineRps: 40 } }), trust });
    assert.equal(ds.length, 1);
    assert.equal(ds[0].policyId, 'limit-sources');
    assert.deepEqual(
      ds[0].actions.map((a) => [a.id, a.type, a.target, a.params.source, a.params.rps, a.params.note, a.expiresAt]),
      [
        [`${event.id}/limit-sources/0.0`, 'rate_limit', 'nf1', '10.0.0.1', 20, 'from d:nf1 #0', 602_000],
        [`${event.id}/limit-sources/0.1`, 'rate_limit', 'nf1', '10.0.0.2', 20, 'from d:nf1 #1', 602_000],
      ],
    );
    // low trust in the reporting loop: the condition is false
    const low = await engine.decide({ ...event, id: 'x', source: 'd:other' }, { ...nf(2_000, { knowledge: { baselineRps: 40 } }), trust });
    assert.deepEqual(low, []);
  });

  it('uses contribution() and per-event-type selectors', async () => {
    const clock = new SimulatedClock();
    const set = policies(`
policies:
  - id: slowloris
    on: { event: anomaly, metric: open_connections }
    when: contribution('open_connections') >= 0.5
    do: [ { action: update_config, params: { headerTimeoutMs: 5000 } } ]
  - id: delegated
    on: { event: delegation, action: scale_out, from: 'd:slice' }
    do: [ { action: scale_out, target: '\${event.params.nf}' } ]
  - id: on-scale
    on: { event: management, kind: scale }
    when: event.details.replicas >= 3
    do: [ { action: notify } ]
`);
    const engine = createPolicyEngine({ policies: set, clock });
    const hit = await engine.decide(anomaly({ contributors: [['open_connections', 0.7], ['cpu_usage', 0.3]] }), nf(0));
    assert.deepEqual(hit.map((d) => d.policyId), ['slowloris']);
    const miss = await engine.decide(anomaly({ contributors: [['open_connections', 0.2], ['http_requests_per_s', 0.8]] }), nf(0));
    assert.deepEqual(miss, []);
    const d = await engine.decide(delegation({ params: { nf: 'amf' } }), { agentId: 'd:cn', level: 'subslice', now: 0 });
    assert.equal(d[0].actions[0].target, 'amf');
    assert.deepEqual(await engine.decide(delegation({ from: 'd:other', params: { nf: 'amf' } }), { agentId: 'd:cn', level: 'subslice', now: 0 }), []);
    const trustEvent = { id: 't1', type: 'trust' as const, at: 0, source: 'd:tsm', target: 'd:nf7', severity: 0.8, subject: 'd:nf7', from: 'trusted', to: 'quarantine', score: 0.1, reason: 'bad reports' };
    const quarantine = parsePolicies([{ text: `policies:\n  - id: q\n    on: { event: trust, to: quarantine, subject: [d:nf7] }\n    do: [ { action: quarantine, target: "\${event.subject}" } ]\n` }]);
    const tEngine = createPolicyEngine({ policies: quarantine, clock });
    assert.equal((await tEngine.decide(trustEvent, nf(0)))[0].actions[0].target, 'd:nf7');
    assert.deepEqual(await tEngine.decide({ ...trustEvent, to: 'reduce_weight' }, nf(0)), []);
    assert.deepEqual(await tEngine.decide({ ...trustEvent, subject: 'd:nf8' }, nf(0)), []);
    assert.equal((await engine.decide(management('scale', { replicas: 3 }), nf(0))).length, 1);
    assert.equal((await engine.decide(management('scale', { replicas: 2 }), nf(0))).length, 0);
  });

  it('templates see the current event in contribution() and trust(), also without a condition', async () => {
    const clock = new SimulatedClock();
    const set = policies(`
policies:
  - id: share
    on: anomaly
    do: [ { action: notify, params: { share: "\${contribution('cpu_usage')}", trust: "\${trust(event.source)}" } } ]
`);
    const engine = createPolicyEngine({ policies: set, clock });
    const trust: TrustView = { score: (id) => (id === 'd:a' ? 0.25 : 0.75), weight: () => 1, isQuarantined: () => false };
    const [a] = await engine.decide(anomaly({ source: 'd:a', contributors: [['cpu_usage', 0.6]] }), { ...nf(0), trust });
    const [b] = await engine.decide(anomaly({ source: 'd:b', contributors: [['cpu_usage', 0.1]] }), { ...nf(0), trust });
    assert.deepEqual([a.actions[0].params.share, a.actions[0].params.trust], [0.6, 0.25]);
    assert.deepEqual([b.actions[0].params.share, b.actions[0].params.trust], [0.1, 0.75]);
  });

  it('keeps priority order across policies that select a target and those that do not', async () => {
    const clock = new SimulatedClock();
    const set = policies(`
policies:
  - { id: any-low, on: anomaly, priority: 1, do: [ { action: notify } ] }
  - { id: nf1-mid, on: { event: anomaly, target: nf1 }, priority: 5, do: [ { action: notify } ] }
  - { id: any-high, on: anomaly, priority: 9, do: [ { action: notify } ] }
  - { id: nf2-top, on: { event: anomaly, target: [nf2, nf3] }, priority: 20, do: [ { action: notify } ] }
`);
    const engine = createPolicyEngine({ policies: set, clock });
    assert.deepEqual((await engine.decide(anomaly({ target: 'nf1' }), nf(0))).map((d) => d.policyId), ['any-high', 'nf1-mid', 'any-low']);
    assert.deepEqual((await engine.decide(anomaly({ target: 'nf3' }), nf(0))).map((d) => d.policyId), ['nf2-top', 'any-high', 'any-low']);
    assert.deepEqual((await engine.decide(anomaly({ target: 'nf9' }), nf(0))).map((d) => d.policyId), ['any-high', 'any-low']);
  });

  it('returns a policy-error decision (not a silent drop) when a condition fails at run time', async () => {
    const clock = new SimulatedClock();
    const set = policies(`
policies:
  - id: needs-fact
    on: anomaly
    when: knowledge.load > 0.5
    do: [ { action: notify } ]
  - id: bad-target
    on: anomaly
    do: [ { action: scale_out, target: '\${event.severity}' } ]
  - id: not-boolean
    on: anomaly
    when: event.target
    do: [ { action: notify } ]
`);
    const engine = createPolicyEngine({ policies: set, clock });
    const ds = await engine.decide(anomaly(), nf(0));
    assert.deepEqual(
      ds.map((d) => [d.policyId, d.blocked?.by]),
      [
        ['needs-fact', 'policy-error'],
        ['not-boolean', 'policy-error'],
        ['bad-target', 'policy-error'],
      ],
    );
    assert.match(ds[1].blocked!.reason, /condition gave string, not a boolean/);
    assert.match(ds[0].blocked!.reason, /No such key: load/);
    assert.match(ds[2].blocked!.reason, /target evaluated to 0.5/);
    assert.equal(engine.stats().errors, 3);
    assert.equal(engine.errors().length, 3);
  });
});

describe('policy engine: guards', () => {
  it('cooldown blocks re-firing per target until it is over', async () => {
    const clock = new SimulatedClock();
    const engine = createPolicyEngine({
      clock,
      policies: policies(`
policies:
  - id: cd
    on: anomaly
    do: [ { action: notify } ]
    guards: { cooldown: 30s }
`),
    });
    assert.equal(enforced(await engine.decide(anomaly(), nf(0))).length, 1);
    const second = await engine.decide(anomaly(), nf(10_000));
    assert.equal(second[0].blocked?.by, 'guard:cooldown');
    assert.equal(second[0].actions.length, 1, 'the blocked decision keeps its actions');
    assert.equal(enforced(await engine.decide(anomaly({ target: 'nf2' }), nf(10_000))).length, 1, 'other target is independent');
    assert.equal(enforced(await engine.decide(anomaly(), nf(30_000))).length, 1);
  });

  it('frequency limit allows N per sliding window', async () => {
    const clock = new SimulatedClock();
    const engine = createPolicyEngine({
      clock,
      policies: policies(`
policies:
  - id: freq
    on: anomaly
    do: [ { action: notify } ]
    guards: { frequency: { count: 2, window: 1m }, per: policy }
`),
    });
    const at = async (t: number, target = 'nf1') => (await engine.decide(anomaly({ target }), nf(t)))[0];
    assert.equal((await at(0)).blocked, undefined);
    assert.equal((await at(10_000, 'nf2')).blocked, undefined);
    assert.equal((await at(20_000, 'nf3')).blocked?.by, 'guard:frequency');
    assert.equal((await at(60_001)).blocked, undefined, 'the first firing left the window');
    assert.equal((await at(60_002)).blocked?.by, 'guard:frequency');
  });

  it('bounds clamp scale counts and block at the limit, tracking outcomes and facts', async () => {
    const clock = new SimulatedClock();
    const engine = createPolicyEngine({
      clock,
      policies: policies(`
policies:
  - id: out
    on: { event: delegation, action: scale_out }
    do: [ { action: scale_out, target: amf, params: { count: 3 } } ]
    guards: { bounds: { resource: replicas, min: 1, max: 4 } }
  - id: in
    on: { event: delegation, action: scale_in }
    do: [ { action: scale_in, target: amf, params: { count: 5 } } ]
    guards: { bounds: { resource: replicas, min: 1, max: 4 } }
`),
    });
    const ctx = (facts?: Record<string, unknown>) => ({ agentId: 'd:cn', level: 'subslice' as const, now: 0, facts });
    // unknown replicas: passes bounds on to the actuator
    let [d] = await engine.decide(delegation(), ctx());
    assert.deepEqual([d.actions[0].params.count, d.actions[0].params.min, d.actions[0].params.max], [3, 1, 4]);
    // facts say 2: clamp to 2
    [d] = await engine.decide(delegation(), ctx({ resources: { amf: { replicas: 2 } } }));
    assert.equal(d.actions[0].params.count, 2);
    // facts say 4: blocked
    [d] = await engine.decide(delegation(), ctx({ resources: { amf: { replicas: 4 } } }));
    assert.equal(d.blocked?.by, 'guard:bounds');
    assert.match(d.blocked!.reason, /at the max 4/);
    // outcome-reported state is used when facts are absent, and reserved by allowed actions
    engine.recordOutcome({ id: 'x', type: 'scale_out', target: 'amf', status: 'succeeded', result: { replicas: 3 }, at: 0 });
    [d] = await engine.decide(delegation(), ctx());
    assert.equal(d.actions[0].params.count, 1);
    [d] = await engine.decide(delegation(), ctx());
    assert.equal(d.blocked?.by, 'guard:bounds', 'the previous decision already took the last replica');
    [d] = await engine.decide(delegation({ action: 'scale_in' }), ctx());
    assert.equal(d.actions[0].params.count, 3, 'scale in clamps to min 1 from 4');
  });

  it('resolves a statically resolved conflict at run time: the lower priority is blocked, not lost', async () => {
    const clock = new SimulatedClock();
    const set = await loadPolicies([fixture('conflict-resolved.yaml')]);
    const engine = createPolicyEngine({ policies: set, clock });
    const ds = await engine.decide(anomaly({ severity: 0.6 }), nf(0));
    assert.deepEqual(enforced(ds).map((d) => [d.policyId, d.actions[0].params.rps]), [['strict-limit', 10]]);
    assert.deepEqual(blocked(ds).map((d) => [d.policyId, d.blocked?.by]), [['gentle-limit', 'policy:strict-limit']]);
    // below the strict policy's severity only the gentle one fires
    const low = await engine.decide(anomaly({ severity: 0.4 }), nf(0));
    assert.deepEqual(low.map((d) => [d.policyId, d.blocked]), [['gentle-limit', undefined]]);
  });
});

describe('policy engine: run-time coordination between loops', () => {
  const yaml = `
policies:
  - id: nf-scale-out
    scope: { level: nf }
    on: anomaly
    priority: 10
    do: [ { action: scale_out } ]
  - id: nf-rate-limit
    scope: { level: nf }
    on: incident
    priority: 10
    do: [ { action: rate_limit, params: { rps: 50 } } ]
  - id: subslice-scale-in
    scope: { level: subslice }
    on: { event: incident, kind: overprovisioned }
    priority: 5
    do: [ { action: scale_in } ]
  - id: subslice-vfirewall
    scope: { level: subslice }
    on: { event: incident, kind: http_flood }
    priority: 50
    do: [ { action: deploy_vsf, params: { vsf: vfirewall } } ]
    guards: { blocks: { levels: [nf], window: 5m } }
  - id: subslice-scale-out
    scope: { level: subslice }
    on: { event: incident, kind: surge }
    priority: 20
    do: [ { action: scale_out } ]
`;
  const setup = () => {
    const clock = new SimulatedClock();
    const coordinator = createLoopCoordinator({ clock, windowMs: 60_000 });
    const set = policies(yaml);
    const nfEngine = createPolicyEngine({ policies: set, clock, coordinator, scope: { agentId: 'd:nf1', level: 'nf' } });
    const ssEngine = createPolicyEngine({ policies: set, clock, coordinator, scope: { agentId: 'd:edge', level: 'subslice' } });
    const ss = { agentId: 'd:edge', level: 'subslice' as const, now: 0 };
    return { clock, coordinator, nfEngine, ssEngine, ss };
  };

  it('a loop whose policy blocks NF loops holds the target for the window', async () => {
    const { clock, coordinator, nfEngine, ssEngine, ss } = setup();
    const [fw] = await ssEngine.decide(incident({ kind: 'http_flood' }), ss);
    assert.equal(fw.blocked, undefined);
    await clock.advance(60_000);
    const [limited] = await nfEngine.decide(incident({ kind: 'other' }), nf(clock.now()));
    assert.equal(limited.blocked?.by, 'loop:d:edge/subslice-vfirewall');
    assert.match(limited.blocked!.reason, /blocks nf loops/);
    assert.equal(coordinator.records({ blockedOnly: true }).length, 1);
    await clock.advance(240_001);
    const [later] = await nfEngine.decide(incident({ kind: 'other' }), nf(clock.now()));
    assert.equal(later.blocked, undefined, 'after the window the NF loop may act again');
  });

  it('contradicting actions of two loops on one target: the later, lower-priority one is blocked', async () => {
    const { clock, nfEngine, ssEngine, ss } = setup();
    const [out] = await nfEngine.decide(anomaly(), nf(0));
    assert.equal(out.blocked, undefined);
    await clock.advance(30_000);
    const [back] = await ssEngine.decide(incident({ kind: 'overprovisioned' }), { ...ss, now: clock.now() });
    assert.equal(back.blocked?.by, 'loop:d:nf1/nf-scale-out');
    assert.match(back.blocked!.reason, /scale_direction/);
    await clock.advance(30_001);
    const [afterWindow] = await ssEngine.decide(incident({ kind: 'overprovisioned' }), { ...ss, now: clock.now() });
    assert.equal(afterWindow.blocked, undefined);
  });

  it('a duplicate scale-out by a second loop within the window is blocked', async () => {
    const { nfEngine, ssEngine, ss } = setup();
    await nfEngine.decide(anomaly(), nf(0));
    const [dup] = await ssEngine.decide(incident({ kind: 'surge' }), ss);
    assert.equal(dup.blocked?.by, 'loop:d:nf1/nf-scale-out');
    assert.match(dup.blocked!.reason, /duplicate scale_out/);
  });
});

describe('policy store: live changes, versions, persistence', () => {
  const A = 'policies:\n  - id: a\n    on: anomaly\n    do: [ { action: notify, params: { v: 1 } } ]\n';
  const A2 = 'policies:\n  - id: a\n    on: anomaly\n    do: [ { action: notify, params: { v: 2 } } ]\n';
  const B = 'policies:\n  - id: b\n    on: anomaly\n    do: [ { action: scale_out } ]\n';
  const B_CONFLICT = 'policies:\n  - id: c\n    on: anomaly\n    do: [ { action: scale_in } ]\n';

  it('adds, replaces and removes policies while an engine runs; every change is versioned and persisted', async () => {
    const clock = new SimulatedClock(5_000);
    const kv = memoryKv();
    const store = await openPolicyStore({ clock, kv });
    const engine = createPolicyEngine({ policies: store, clock });
    assert.deepEqual(await engine.decide(anomaly(), nf(0)), []);
    await store.upsert([{ text: A, file: 'a.yaml' }]);
    assert.equal((await engine.decide(anomaly(), nf(0)))[0].actions[0].params.v, 1);
    await clock.advance(1_000);
    await store.upsert([{ text: A2, file: 'a.yaml' }], { reason: 'tighten' });
    assert.equal((await engine.decide(anomaly(), nf(0)))[0].actions[0].params.v, 2);
    assert.equal(engine.version, 2);
    await store.upsert([{ text: B, file: 'b.yaml' }]);
    await assert.rejects(store.upsert([{ text: B_CONFLICT, file: 'c.yaml' }]), PolicyConflictError);
    await assert.rejects(store.upsert([{ text: 'policies: [ { id: x } ]', file: 'x.yaml' }]), PolicyValidationError);
    assert.equal(store.version, 3, 'refused changes leave the set as it was');
    await store.remove(['a']);
    assert.deepEqual((await engine.decide(anomaly(), nf(0))).map((d) => d.policyId), ['b']);
    assert.deepEqual(
      store.history().map((c) => [c.version, c.op, c.policyIds.join(), c.at]),
      [
        [1, 'load', 'a', 5_000],
        [2, 'replace', 'a', 6_000],
        [3, 'add', 'b', 6_000],
        [4, 'remove', 'a', 6_000],
      ],
    );
    await assert.rejects(store.remove(['nope']), /no policy with id "nope"/);

    const reopened = await openPolicyStore({ clock, kv });
    assert.equal(reopened.version, 4);
    assert.deepEqual(reopened.current().policies.map((p) => p.id), ['b']);
    assert.equal(reopened.history().length, 4);
    assert.equal(reopened.history()[1].reason, 'tighten');
    const again = createPolicyEngine({ policies: reopened, clock });
    assert.equal((await again.decide(anomaly(), nf(0)))[0].actions[0].type, 'scale_out');
  });
});
