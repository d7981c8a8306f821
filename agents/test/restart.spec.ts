import assert from 'node:assert/strict';
import type { KeyValueStore } from '@sliceguard/core';
import { memoryKv, SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork } from '@sliceguard/bus';
import type { AgentSpec } from '@sliceguard/topology';
import { examplePath, loadTopology } from '@sliceguard/topology';
import { startTopologyInProcess } from '../src/index.js';
import { run, settle } from './helpers.js';

describe('agents: unsettled escalations survive a restart (knowledge in-flight entries)', function () {
  this.timeout(30_000);
  it('an escalation pending when the NF agent stops is resent by the next run and acknowledged', async () => {
    const clock = new SimulatedClock(9_000_000);
    const stores = new Map<string, KeyValueStore>();
    // A store that outlives the agent (as LevelDB does): closing it keeps the data.
    const kvFactory = (spec: AgentSpec): KeyValueStore => {
      let kv = stores.get(spec.agentId);
      if (!kv) stores.set(spec.agentId, (kv = { ...memoryKv(), close: async () => {} }));
      return kv;
    };
    const topology = await loadTopology(examplePath('embb-5g'));
    const common = { topology, clock, policies: 'builtin' as const, kvFactory, coordination: { heartbeatMs: 0, ackTimeoutMs: 1000, maxAttempts: 5 }, mano: { autoscaler: false as const } };
    const first = await startTopologyInProcess({ ...common, network: createLocalNetwork(), rng: seededRng(1), include: (s) => s.agentId !== 'mno:embb-ran' });
    await first.ready();
    const gnb = first.agents.get('mno:gnb-1')!;
    void gnb.coordinator.escalate({ id: 'act-1', type: 'escalate', target: 'mno:gnb-1', params: { kind: 'signaling_surge' }, requestedBy: 'test', at: clock.now() });
    await settle();
    await run(clock, 1500, 250); // sent twice, nobody answers
    const pending = await gnb.knowledge.listInFlight<{ type: string; message: { id: string } }>();
    assert.equal(pending.length, 1);
    const escalationId = pending[0].value.message.id;
    await first.stop();

    const second = await startTopologyInProcess({ ...common, network: createLocalNetwork(), rng: seededRng(2) });
    try {
      await second.ready();
      await settle();
      await run(clock, 3000, 250);
      const ran = second.agents.get('mno:embb-ran')!;
      const received = await ran.knowledge.query<{ what: string; id?: string; accepted?: boolean }>('coordination');
      assert.ok(
        received.some((r) => r.value.what === 'escalation_received' && r.value.id === escalationId && r.value.accepted === true),
        'the parent took the resent escalation (after refusing it while it was not active yet, if it came too early)',
      );
      const gnb2 = second.agents.get('mno:gnb-1')!;
      const milestones = (await gnb2.knowledge.query<{ what: string; id?: string }>('coordination')).filter((r) => r.value.id === escalationId).map((r) => r.value.what);
      assert.ok(milestones.includes('in_flight_after_restart'));
      assert.ok(milestones.includes('escalation_acknowledged'));
      assert.deepEqual(await gnb2.knowledge.listInFlight(), [], 'settled after the restart');
    } finally {
      await second.stop();
    }
  });
});
