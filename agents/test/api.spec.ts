import assert from 'node:assert/strict';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { buildAgentApp } from '@sliceguard/api';
import { createLocalNetwork } from '@sliceguard/bus';
import { examplePath, loadTopology } from '@sliceguard/topology';
import { agentProviders, startTopologyInProcess } from '../src/index.js';
import { driveGnbs, run } from './helpers.js';

describe('agents: HTTP API providers (fastify inject, no socket)', function () {
  this.timeout(30_000);
  it('serves status, incidents, decisions and trust of a running agent', async () => {
    const clock = new SimulatedClock(1_800_000_000_000);
    const rng = seededRng(3);
    const topo = await startTopologyInProcess({
      topology: await loadTopology(examplePath('embb-5g')),
      network: createLocalNetwork(),
      clock,
      rng,
      policies: 'builtin',
      coordination: { heartbeatMs: 0 },
      mano: { autoscaler: false },
    });
    try {
      await topo.ready();
      await driveGnbs(topo, clock, rng, ['gnb-1', 'gnb-2', 'gnb-3'], 40, undefined);
      await driveGnbs(topo, clock, rng, ['gnb-1', 'gnb-2', 'gnb-3'], 4, { from: 0, factor: 4 });
      await run(clock, 5000, 500);
      const gnb = topo.agent('gnb-1')!;
      const app = await buildAgentApp({ agentId: gnb.id, providers: agentProviders(gnb, { startedAt: 0 }), clock });
      const status = (await app.inject({ method: 'GET', url: '/v1/status' })).json();
      assert.equal(status.loops[0].agentId, 'mno:gnb-1');
      assert.equal(status.loops[0].lifecycle, 'active');
      assert.ok(status.loops[0].stageTimings.ae.count >= 44);
      const incidents = (await app.inject({ method: 'GET', url: '/v1/incidents?limit=5' })).json();
      assert.ok(incidents.length >= 1 && incidents[0].type === 'anomaly');
      const decisions = (await app.inject({ method: 'GET', url: '/v1/decisions?limit=5' })).json();
      assert.ok(decisions.length >= 1);
      const one = (await app.inject({ method: 'GET', url: `/v1/decisions/${decisions[decisions.length - 1].id}` })).json();
      assert.ok(Array.isArray(one.outcomes) && one.outcomes.length >= 1, JSON.stringify(one));
      const unauth = await app.inject({ method: 'POST', url: '/v1/loops/mno:gnb-1/deactivate', payload: { reason: 'x' } });
      assert.equal(unauth.statusCode, 401, 'loop control needs an authenticated operator');
      await app.close();
      const tsm = topo.domains.get('mno')!;
      const dapp = await buildAgentApp({ agentId: tsm.id, providers: agentProviders(tsm, { startedAt: 0, trustManager: tsm.trustManager! }), clock });
      const trust = (await dapp.inject({ method: 'GET', url: '/v1/trust' })).json();
      assert.ok(trust.some((t: { agentId: string }) => t.agentId === 'mno:gnb-1'));
      await dapp.close();
    } finally {
      await topo.stop();
    }
  });
});
