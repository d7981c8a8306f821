import assert from 'node:assert/strict';
import type { DecisionContext, DelegationEvent } from '@sliceguard/core';
import { createSimulatedMano } from '@sliceguard/enforcement';
import { SimulatedClock } from '@sliceguard/core';
import type { AgentFacts } from '../src/index.js';
import { defaultDecisionEngine } from '../src/index.js';

const edgeFacts: AgentFacts = {
  agent: { agentId: 'd:vcdn-edge', level: 'subslice', domain: 'd', parentId: 'd:s', subslice: 'vcdn-edge', subsliceKind: 'edge' },
  topology: {
    parentId: 'd:s',
    children: [
      { agentId: 'd:cache-1', id: 'cache-1', level: 'nf', type: 'cdn_cache' },
      { agentId: 'd:cache-2', id: 'cache-2', level: 'nf', type: 'cdn_cache' },
    ],
    nfs: [
      { id: 'cache-1', agentId: 'd:cache-1', type: 'cdn_cache', kind: 'cnf', replicas: { min: 1, max: 4, initial: 1 } },
      { id: 'cache-2', agentId: 'd:cache-2', type: 'cdn_cache', kind: 'cnf', replicas: { min: 1, max: 4, initial: 1 } },
    ],
  },
  knowledge: { state: 'active', monitoring: { mode: 'aggregate', granularity: 'aggregate', samplingPeriodMs: 1000, metrics: [] } },
};
const ctx = (level: DecisionContext['level'], f: AgentFacts): DecisionContext => ({ agentId: f.agent.agentId, level, now: 0, facts: f as unknown as Record<string, unknown> });

describe('integration: delegated NF actions target NFs, not sub-slices', () => {
  it('a deploy_vsf delegated to a sub-slice fans out to its NFs, and the MANO carries it out', async () => {
    const d: DelegationEvent = {
      type: 'delegation',
      id: 'del-vsf',
      at: 0,
      source: 'd:s',
      target: 'vcdn-edge',
      severity: 0.8,
      action: 'deploy_vsf',
      params: { vsf: 'vfirewall', deadlineMs: 30_000 },
      deadline: 30_000,
      from: 'd:s',
    };
    const [dec] = await defaultDecisionEngine('subslice').decide(d, ctx('subslice', edgeFacts));
    assert.deepEqual(
      dec.actions.map((a) => `${a.type}:${a.target}:${a.params.vsf}`),
      ['deploy_vsf:cache-1:vfirewall', 'deploy_vsf:cache-2:vfirewall'],
    );
    assert.equal(dec.actions[0].params.deadlineMs, undefined);

    // The MANO manages NFs: the sub-slice id is refused, the fanned-out NF ids are carried out.
    const clock = new SimulatedClock(0);
    const mano = createSimulatedMano({ clock, nfs: edgeFacts.topology.nfs.map((n) => ({ id: n.id, type: n.type, replicas: { ...n.replicas } })), autoscaler: false, delays: { vsfDeploy: 0 } });
    const run = async (target: string) => {
      const p = mano.execute({ id: `a-${target}`, type: 'deploy_vsf', target, params: { vsf: 'vfirewall' }, requestedBy: 'd:vcdn-edge', at: 0 });
      clock.advance(10);
      return p;
    };
    const onSubslice = await run('vcdn-edge');
    assert.notEqual(onSubslice.status, 'succeeded', 'the MANO must refuse a sub-slice id (it manages NFs)');
    for (const a of dec.actions) assert.equal((await run(a.target)).status, 'succeeded', `deploy_vsf on ${a.target}`);
    mano.stop();
  });

  it('an NF loop keeps a delegated action on its own NF', async () => {
    const nfFacts: AgentFacts = { ...edgeFacts, agent: { agentId: 'd:cache-1', level: 'nf', domain: 'd', nf: 'cache-1', nfType: 'cdn_cache' }, topology: { children: [], nfs: [edgeFacts.topology.nfs[0]!] } };
    const d: DelegationEvent = { type: 'delegation', id: 'del-nf', at: 0, source: 'd:vcdn-edge', target: 'cache-1', severity: 0.8, action: 'deploy_vsf', params: { vsf: 'vids' }, deadline: 30_000, from: 'd:vcdn-edge' };
    const [dec] = await defaultDecisionEngine('nf').decide(d, ctx('nf', nfFacts));
    assert.deepEqual(dec.actions.map((a) => `${a.type}:${a.target}`), ['deploy_vsf:cache-1']);
  });
});
