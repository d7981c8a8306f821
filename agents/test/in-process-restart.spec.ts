import assert from 'node:assert/strict';
import type { Bus } from '@sliceguard/core';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork, localBus } from '@sliceguard/bus';
import type { AgentIdentity } from '@sliceguard/identity';
import { examplePath, loadTopology } from '@sliceguard/topology';
import { startTopologyInProcess } from '../src/index.js';
import { driveGnbs, run } from './helpers.js';

describe('agents: startTopologyInProcess with a bus factory, and restart(agentId)', function () {
  this.timeout(30_000);

  it('builds every bus with the factory, and a restarted agent keeps its identity, knowledge and feed', async () => {
    const clock = new SimulatedClock(1_800_000_000_000);
    const rng = seededRng(5);
    const network = createLocalNetwork();
    const made: { agentId: string; identity: AgentIdentity; bus: Bus }[] = [];
    const topo = await startTopologyInProcess({
      topology: await loadTopology(examplePath('embb-5g')),
      // no `network`: every bus comes from the factory
      busFactory: (spec, identity, trustStore) => {
        const bus = localBus({ network, identity, trustStore, clock });
        made.push({ agentId: spec.agentId, identity, bus });
        return Promise.resolve(bus);
      },
      clock,
      rng,
      policies: 'builtin',
      coordination: { heartbeatMs: 0 },
      mano: { autoscaler: false },
    });
    try {
      await topo.ready();
      assert.equal(made.length, topo.agents.size);
      for (const { agentId, bus } of made) assert.equal(topo.buses.get(agentId), bus);

      const before = topo.agent('gnb-1')!;
      const feed = topo.feed('gnb-1');
      await before.knowledge.record('coordination', { what: 'before-restart' }, clock.now());
      await assert.rejects(topo.restart('mno:tsm'), /domain agent/);
      await assert.rejects(topo.restart('mno:nope'), /no agent mno:nope/);

      const after = await topo.restart('mno:gnb-1');
      assert.notEqual(after, before);
      assert.equal(topo.agent('gnb-1'), after);
      assert.equal(topo.agents.get('mno:gnb-1'), after);
      assert.equal(made.length, topo.agents.size + 1, 'one new bus for the restarted agent');
      const [first, second] = made.filter((m) => m.agentId === 'mno:gnb-1');
      assert.equal(second.identity, first.identity, 'same identity');
      assert.equal(topo.buses.get('mno:gnb-1'), second.bus);
      assert.equal(topo.feed('gnb-1'), feed, 'the same push feed');
      const kept = await after.knowledge.query<{ what: string }>('coordination');
      assert.ok(kept.some((r) => r.value.what === 'before-restart'), 'knowledge kept');

      // the new loop announces itself and the domain agent activates it; it reads the same feed
      await run(clock, 1000, 250);
      await topo.ready();
      assert.equal(after.loop.state, 'active');
      await driveGnbs(topo, clock, rng, ['gnb-1'], 5, undefined);
      assert.ok(after.loop.stats().samples >= 1, 'the restarted loop reads the feed');
    } finally {
      await topo.stop();
    }
    await assert.rejects(topo.restart('mno:gnb-1'), /stopped/);
  });

  it('needs a network or a bus factory', async () => {
    await assert.rejects(
      startTopologyInProcess({ topology: await loadTopology(examplePath('embb-5g')), clock: new SimulatedClock(0), rng: seededRng(1) }),
      (e: Error & { code?: string }) => e.code === 'AGENT_ERR_CONFIG' && /network.*busFactory/.test(e.message),
    );
  });
});
