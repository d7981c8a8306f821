import assert from 'node:assert/strict';
import type { AnomalyEvent, DecisionContext, DelegationEvent, IncidentEvent } from '@sliceguard/core';
import type { AgentFacts } from '../src/index.js';
import { defaultDecisionEngine } from '../src/index.js';

const facts = (over: Partial<AgentFacts['knowledge']['monitoring']> = {}): AgentFacts => ({
  agent: { agentId: 'd:x', level: 'nf', domain: 'd', parentId: 'd:p' },
  topology: {
    parentId: 'd:p',
    children: [
      { agentId: 'd:ran', id: 'ran', level: 'subslice', kind: 'ran' },
      { agentId: 'd:cn', id: 'cn', level: 'subslice', kind: 'cn' },
    ],
    nfs: [
      { id: 'amf', agentId: 'd:amf', type: 'amf', kind: 'cnf', replicas: { min: 1, max: 4, initial: 1 } },
      { id: 'smf', agentId: 'd:smf', type: 'smf', kind: 'cnf', replicas: { min: 1, max: 4, initial: 1 } },
      { id: 'upf', agentId: 'd:upf', type: 'upf', kind: 'cnf', replicas: { min: 1, max: 4, initial: 1 } },
    ],
  },
  knowledge: { state: 'active', monitoring: { mode: 'aggregate', granularity: 'aggregate', samplingPeriodMs: 1000, metrics: [], ...over } },
});
const ctx = (agentId: string, level: DecisionContext['level'], now: number, f = facts()): DecisionContext => ({ agentId, level, now, facts: f as unknown as Record<string, unknown> });

const anomaly = (severity: number, sources: string[], metric = 'http_requests_per_s'): AnomalyEvent => ({
  type: 'anomaly',
  id: `a-${severity}-${sources.length}`,
  at: 0,
  source: 'd:web',
  target: 'web',
  severity,
  correlationId: 'c1',
  level: 'nf',
  evidence: { detector: 't', score: 9, threshold: 5, contributors: [{ metric, share: 1 }], window: { start: 0, end: 0 }, indicators: sources.map((value) => ({ kind: 'source', value })) },
});

describe('agents: built-in decision rules', () => {
  it('NF: blocks severe heavy hitters, rate-limits milder ones, refines coarse anomalies, dismisses fortuitous ones', async () => {
    const de = defaultDecisionEngine('nf');
    const [block] = await de.decide(anomaly(0.9, ['1.2.3.4']), ctx('d:web', 'nf', 0));
    assert.deepEqual(
      block.actions.map((a) => `${a.type}:${a.params.source ?? a.params.kind}`),
      ['block:1.2.3.4', 'escalate:volumetric'],
    );
    assert.ok(block.actions[0].expiresAt! > 0);
    const [limit] = await de.decide({ ...anomaly(0.5, ['5.6.7.8']), id: 'x2', correlationId: 'c2' }, ctx('d:web', 'nf', 0));
    assert.equal(limit.actions[0].type, 'rate_limit');
    assert.equal(limit.actions[0].params.rps, 20);
    const [refine] = await de.decide({ ...anomaly(0.5, []), correlationId: 'c3' }, ctx('d:web', 'nf', 0));
    assert.equal(refine.policyId, 'builtin-nf-refine-monitoring');
    assert.deepEqual(refine.actions[0].params, { mode: 'per_flow' });
    const [dismiss] = await de.decide({ ...anomaly(0.5, []), correlationId: 'c4' }, ctx('d:web', 'nf', 0, facts({ mode: 'per_flow', granularity: 'per_flow' })));
    assert.equal(dismiss.policyId, 'builtin-nf-dismiss-fortuitous');
    const [signaling] = await de.decide({ ...anomaly(0.3, [], 'rrc_setup_rate'), correlationId: 'c5' }, ctx('d:web', 'nf', 0));
    assert.deepEqual(signaling.actions.map((a) => a.type), ['escalate']);
    assert.equal(signaling.actions[0].params.kind, 'signaling_surge');
  });

  it('cools down per incident: the same rule for the same correlation id is recorded as blocked', async () => {
    const de = defaultDecisionEngine('nf', { cooldownMs: 60_000 });
    await de.decide(anomaly(0.9, ['1.2.3.4']), ctx('d:web', 'nf', 1000));
    const [again] = await de.decide(anomaly(0.9, ['1.2.3.4']), ctx('d:web', 'nf', 30_000));
    assert.equal(again.blocked?.by, 'cooldown');
    const [later] = await de.decide(anomaly(0.9, ['1.2.3.4']), ctx('d:web', 'nf', 62_000));
    assert.equal(later.blocked, undefined);
  });

  it('sub-slice escalates correlated incidents; slice delegates a signaling DDoS to the CN sub-slice', async () => {
    const inc = (level: 'subslice' | 'slice', source: string, kind: string, children: string[], severity = 0.5): IncidentEvent => ({
      type: 'incident',
      id: `i-${kind}-${children.length}`,
      at: 0,
      source,
      target: 'x',
      severity,
      correlationId: `c-${kind}-${children.length}`,
      level,
      kind,
      children,
      evidence: { detector: 'c', score: 1, threshold: 1, contributors: [], window: { start: 0, end: 0 } },
    });
    const ss = defaultDecisionEngine('subslice');
    assert.deepEqual(await ss.decide(inc('subslice', 'd:ran', 'signaling_surge', ['a']), ctx('d:ran', 'subslice', 0)), [], 'one NF is not enough');
    const [esc] = await ss.decide(inc('subslice', 'd:ran', 'signaling_surge', ['a', 'b']), ctx('d:ran', 'subslice', 0));
    assert.equal(esc.actions[0].params.kind, 'signaling_ddos');
    const slice = defaultDecisionEngine('slice');
    const [del] = await slice.decide(inc('slice', 'd:s', 'signaling_ddos', ['x']), ctx('d:s', 'slice', 0));
    assert.deepEqual(
      del.actions.map((a) => `${a.type}:${a.target}:${a.params.action ?? a.params.kind}`),
      ['delegate:d:cn:scale_out', 'escalate:d:s:signaling_ddos'],
    );
  });

  it('carries out delegations, fanning nfTypes out to the matching NFs', async () => {
    const cn = defaultDecisionEngine('subslice');
    const d: DelegationEvent = { type: 'delegation', id: 'del1', at: 0, source: 'd:s', target: 'cn', severity: 0.7, action: 'scale_out', params: { nfTypes: ['amf', 'smf'], count: 1, deadlineMs: 30_000 }, deadline: 30_000, from: 'd:s' };
    const [dec] = await cn.decide(d, ctx('d:cn', 'subslice', 0));
    assert.deepEqual(
      dec.actions.map((a) => `${a.type}:${a.target}:${a.params.count}`),
      ['scale_out:amf:1', 'scale_out:smf:1'],
    );
    assert.equal(dec.actions[0].params.deadlineMs, undefined, 'coordination parameters are not passed to actuators');
    assert.equal(dec.actions[0].params.holdMs, 600_000, 'the MANO autoscaler is held off the NFs just scaled');
  });
});
