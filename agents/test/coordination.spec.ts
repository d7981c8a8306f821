import assert from 'node:assert/strict';
import type { ActionRequest, IncidentEvent } from '@sliceguard/core';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork } from '@sliceguard/bus';
import type { AgentSpec } from '@sliceguard/topology';
import { examplePath, loadTopology } from '@sliceguard/topology';
import type { CoordinationNotice, DelegationMessage, InProcessTopology } from '../src/index.js';
import { PROTOCOL_VERSION, startTopologyInProcess } from '../src/index.js';
import { run, settle } from './helpers.js';

async function start(clock: SimulatedClock, include?: (s: AgentSpec) => boolean): Promise<InProcessTopology> {
  const topo = await startTopologyInProcess({
    topology: await loadTopology(examplePath('embb-5g')),
    network: createLocalNetwork(),
    clock,
    rng: seededRng(11),
    policies: 'builtin',
    coordination: { heartbeatMs: 0, ackTimeoutMs: 1000, maxAttempts: 3 },
    mano: { autoscaler: false, delays: { scale: 500 } },
    ...(include ? { include } : {}),
  });
  await topo.ready();
  return topo;
}

function watch(topo: InProcessTopology, id: string): CoordinationNotice[] {
  const list: CoordinationNotice[] = [];
  topo.agents.get(id)!.coordinator.on((n) => list.push(n));
  return list;
}

const incident = (source: string, at: number): IncidentEvent => ({
  type: 'incident',
  id: `inc-${at}`,
  at,
  source,
  target: 'embb',
  severity: 0.8,
  correlationId: 'corr-1',
  level: 'slice',
  kind: 'signaling_ddos',
  children: [],
  evidence: { detector: 't', score: 1, threshold: 1, contributors: [], window: { start: at - 5000, end: at } },
});

const request = (type: 'escalate' | 'delegate', target: string, params: Record<string, unknown>, at: number): ActionRequest => ({
  id: `act-${type}-${at}`,
  type,
  target,
  params,
  requestedBy: 'test',
  at,
});

describe('agents: coordination (escalate / delegate) failure paths over the LocalBus', function () {
  this.timeout(30_000);
  const stops: InProcessTopology[] = [];
  afterEach(async () => {
    for (const t of stops.splice(0)) await t.stop();
  });

  it('an escalation nobody acknowledges is retried, then fails into the loop and knowledge — never lost silently', async () => {
    const clock = new SimulatedClock(1_000_000);
    const topo = await start(clock, (s) => s.agentId !== 'mno:embb-ran');
    stops.push(topo);
    const gnb = topo.agents.get('mno:gnb-1')!;
    const notices = watch(topo, 'mno:gnb-1');
    const pending = gnb.coordinator.escalate(request('escalate', 'mno:gnb-1', { kind: 'signaling_surge' }, clock.now()));
    await settle();
    await run(clock, 4000, 250);
    const outcome = await pending;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.detail ?? '', /no acknowledgement from mno:embb-ran after 3 attempts/);
    assert.deepEqual(
      notices.filter((n) => n.type === 'escalation_sent').map((n) => (n.type === 'escalation_sent' ? n.message.attempt : 0)),
      [1, 2, 3],
    );
    assert.ok(notices.some((n) => n.type === 'escalation_failed'));
    await run(clock, 500);
    const coordination = await gnb.knowledge.query<{ what: string }>('coordination');
    assert.ok(coordination.some((r) => r.value.what === 'escalation_failed'));
    const events = await gnb.knowledge.query<{ type: string; kind?: string }>('event');
    assert.ok(events.some((r) => r.value.type === 'management' && r.value.kind === 'escalation_failed'), 'the loop heard of it');
    const decisions = await gnb.knowledge.query<{ policyId?: string }>('decision');
    assert.ok(decisions.some((r) => r.value.policyId === 'builtin-coordination-failure'));
    assert.equal(gnb.coordinator.stats().inFlight, 0);
    assert.deepEqual(await gnb.knowledge.listInFlight(), []);
  });

  it('a delegation that times out is retried, then reported failed and escalated to the parent', async () => {
    const clock = new SimulatedClock(2_000_000);
    const topo = await start(clock, (s) => s.agentId !== 'mno:embb-cn' && s.parentId !== 'mno:embb-cn');
    stops.push(topo);
    const slice = topo.agents.get('mno:embb')!;
    const domainNotices = watch(topo, 'mno:tsm');
    const sliceNotices = watch(topo, 'mno:embb');
    const pending = slice.coordinator.delegate(
      request('delegate', 'mno:embb-cn', { action: 'scale_out', nfTypes: ['amf'], count: 1, deadlineMs: 5000 }, clock.now()),
      incident('mno:embb', clock.now()),
    );
    await settle();
    await run(clock, 6000, 250);
    const outcome = await pending;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.detail ?? '', /no answer from mno:embb-cn within 1000 ms; gave up after 3 attempts/);
    assert.equal(sliceNotices.filter((n) => n.type === 'delegation_sent').length, 3);
    await run(clock, 1000);
    const escalated = domainNotices.find((n) => n.type === 'escalation_received');
    assert.ok(escalated && escalated.type === 'escalation_received', 'the domain agent received the failure');
    assert.equal(escalated.message.escalationKind, 'delegation_failed');
    assert.equal(escalated.message.correlationId, 'corr-1', 'the incident keeps its correlation id');
  });

  it('a delegation to an inactive child is answered rejected (with why) and escalated', async () => {
    const clock = new SimulatedClock(3_000_000);
    const topo = await start(clock);
    stops.push(topo);
    const ack = await topo.domains.get('mno')!.supervisor.command('mno:embb-cn', 'deactivate', 'maintenance window');
    assert.equal(ack.ok, true);
    assert.equal(ack.state, 'inactive');
    const pending = topo.agents.get('mno:embb')!.coordinator.delegate(
      request('delegate', 'mno:embb-cn', { action: 'scale_out', nfTypes: ['amf'], count: 1 }, clock.now()),
      incident('mno:embb', clock.now()),
    );
    await settle();
    const outcome = await pending;
    assert.equal(outcome.status, 'rejected');
    assert.match(outcome.detail ?? '', /loop mno:embb-cn is inactive/);
  });

  it('a repeated delegation (a retry) is executed once and answered again', async () => {
    const clock = new SimulatedClock(4_000_000);
    const topo = await start(clock);
    stops.push(topo);
    const cn = watch(topo, 'mno:embb-cn');
    const slice = watch(topo, 'mno:embb');
    const message: DelegationMessage = {
      v: PROTOCOL_VERSION,
      kind: 'delegation',
      id: 'del-retry-1',
      correlationId: 'corr-r',
      from: 'mno:embb',
      to: 'mno:embb-cn',
      action: 'scale_out',
      target: 'embb-cn',
      params: { nfTypes: ['smf'], count: 1 },
      deadline: clock.now() + 30_000,
      severity: 0.7,
      attempt: 1,
      at: clock.now(),
    };
    const bus = topo.buses.get('mno:embb')!;
    await bus.publishJson('sg.mno.embb.embb-cn._.delegate', message);
    await settle();
    await run(clock, 1000, 100);
    await bus.publishJson('sg.mno.embb.embb-cn._.delegate', { ...message, attempt: 2, at: clock.now() });
    await settle();
    await run(clock, 1000, 100);
    assert.equal(cn.filter((n) => n.type === 'delegation_received').length, 1, 'executed once');
    assert.equal(topo.resources.get('mno')!.mano.state('smf').replicas, 2, 'scaled out once');
    assert.ok(slice.length === 0 || slice.every((n) => n.type !== 'delegation_settled'), 'not one of the slice’s own delegations');
  });

  it('drops delegations and lifecycle commands from the wrong principal; the bus refuses out-of-scope publishing', async () => {
    const clock = new SimulatedClock(5_000_000);
    const topo = await start(clock);
    stops.push(topo);
    const gnb = watch(topo, 'mno:gnb-2');
    const sliceBus = topo.buses.get('mno:embb')!;
    // The slice may publish under its prefix (so on the NF's subjects) but is neither the NF's parent nor the orchestrator.
    await sliceBus.publishJson('sg.mno.embb.embb-ran.gnb-2.delegate', {
      v: 1,
      kind: 'delegation',
      id: 'forged',
      correlationId: 'x',
      from: 'mno:embb',
      to: 'mno:gnb-2',
      action: 'isolate',
      target: 'gnb-2',
      params: {},
      deadline: clock.now() + 1000,
      severity: 1,
      attempt: 1,
      at: clock.now(),
    });
    await sliceBus.publishJson('sg.mno.embb.embb-ran.gnb-2.control', { v: 1, kind: 'control', id: 'c1', from: 'mno:embb', to: 'mno:gnb-2', command: 'terminate', reason: 'forged', at: clock.now() });
    await settle();
    const drops = gnb.filter((n) => n.type === 'dropped').map((n) => (n.type === 'dropped' ? n.reason : ''));
    assert.deepEqual(drops.sort(), ['not_the_orchestrator', 'not_the_parent']);
    assert.equal(topo.agents.get('mno:gnb-2')!.loop.state, 'active');
    // A sibling NF cannot even publish on another NF's channel.
    await assert.rejects(() => topo.buses.get('mno:gnb-1')!.publishJson('sg.mno.embb.embb-ran.gnb-2.delegate', {}), /may not publish on/);
    // Malformed payloads from the right principal are dropped and counted, not delivered.
    await topo.buses.get('mno:embb-ran')!.publishJson('sg.mno.embb.embb-ran.gnb-2.delegate', { v: 1, kind: 'delegation', from: 'mno:embb-ran', at: 1 });
    await settle();
    assert.equal(topo.agents.get('mno:gnb-2')!.coordinator.stats().dropped.malformed, 1);
  });
});

describe('agents: lifecycle over the bus (security orchestrator)', function () {
  this.timeout(30_000);
  it('deactivate, reconfigure, update, invalid command and terminate are acknowledged and recorded', async () => {
    const clock = new SimulatedClock(6_000_000);
    const topo = await start(clock);
    try {
      const sup = topo.domains.get('mno')!.supervisor;
      const nf = topo.agents.get('mno:gnb-3')!;
      assert.equal((await sup.command('mno:gnb-3', 'deactivate', 'test')).state, 'inactive');
      const bad = await sup.command('mno:gnb-3', 'deactivate', 'again');
      assert.equal(bad.ok, false);
      assert.match(bad.error ?? '', /cannot go from "inactive" to "inactive"/);
      assert.equal((await sup.command('mno:gnb-3', 'activate', 'back')).state, 'active');
      const rec = await sup.command('mno:gnb-3', 'reconfigure', 'finer monitoring', { mode: 'per_flow', samplingPeriodMs: 200 });
      assert.equal(rec.ok, true);
      assert.deepEqual({ g: nf.loop.monitoring.granularity, p: nf.loop.monitoring.samplingPeriodMs }, { g: 'per_flow', p: 200 });
      const upd = await sup.command('mno:gnb-3', 'update', 'policy v2', { monitoring: { samplingPeriodMs: 500 } });
      assert.equal(upd.ok, true);
      assert.equal(nf.loop.monitoring.samplingPeriodMs, 500);
      const term = await sup.command('mno:gnb-3', 'terminate', 'NF removed');
      assert.equal(term.state, 'terminated');
      const transitions = (await nf.knowledge.query<{ from: string; to: string; by: string }>('lifecycle')).map((r) => `${r.value.from}->${r.value.to}@${r.value.by}`);
      assert.deepEqual(transitions, [
        'instantiated->active@mno:tsm',
        'active->inactive@mno:tsm',
        'inactive->active@mno:tsm',
        'active->updating@mno:tsm',
        'updating->active@mno:tsm',
        'active->terminated@mno:tsm',
      ]);
      await settle();
      assert.equal(sup.loops().find((l) => l.agentId === 'mno:gnb-3')?.state, 'terminated');
      await assert.rejects(() => sup.command('mno:nowhere', 'activate', 'x'), /not a loop of domain mno/);
    } finally {
      await topo.stop();
    }
  });

  it('notices a loop that stops sending heartbeats', async () => {
    const clock = new SimulatedClock(7_000_000);
    const topo = await startTopologyInProcess({
      topology: await loadTopology(examplePath('embb-5g')),
      network: createLocalNetwork(),
      clock,
      rng: seededRng(5),
      policies: 'builtin',
      coordination: { heartbeatMs: 1000 },
      mano: { autoscaler: false },
    });
    try {
      await topo.ready();
      await run(clock, 2000, 250);
      await topo.agents.get('mno:upf')!.stop();
      await run(clock, 5000, 250);
      const sup = topo.domains.get('mno')!.supervisor.loops();
      assert.equal(sup.find((l) => l.agentId === 'mno:upf')?.missing, true);
      assert.ok(sup.filter((l) => l.agentId !== 'mno:upf').every((l) => !l.missing));
      const events = await topo.domains.get('mno')!.knowledge.query<{ kind?: string; target: string }>('event');
      assert.ok(events.some((r) => r.value.kind === 'loop_missing' && r.value.target === 'mno:upf'));
    } finally {
      await topo.stop();
    }
  });
});
