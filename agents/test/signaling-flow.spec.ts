import assert from 'node:assert/strict';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork } from '@sliceguard/bus';
import { examplePath, loadTopology } from '@sliceguard/topology';
import type { CoordinationNotice, InProcessTopology } from '../src/index.js';
import { startTopologyInProcess } from '../src/index.js';
import { driveGnbs, run } from './helpers.js';

const GNBS = ['gnb-1', 'gnb-2', 'gnb-3'];

for (const policies of ['builtin', 'topology'] as const) {
  describe(`agents: the signaling-DDoS flow in one process (${policies} decisions)`, function () {
    this.timeout(30_000);
    let topo: InProcessTopology;
    const clock = new SimulatedClock(1_700_000_000_000);
    const rng = seededRng(7);
    const notices = new Map<string, CoordinationNotice[]>();

    before(async () => {
      const topology = await loadTopology(examplePath('embb-5g'));
      topo = await startTopologyInProcess({
        topology,
        network: createLocalNetwork(),
        clock,
        rng,
        policies,
        coordination: { heartbeatMs: 0 },
        mano: { autoscaler: false },
      });
      await topo.ready();
      for (const a of topo.agents.values()) {
        const list: CoordinationNotice[] = [];
        notices.set(a.id, list);
        a.coordinator.on((n) => list.push(n));
      }
    });
    after(async () => {
      await topo?.stop();
    });

    it('the domain agent activated every loop over the bus', () => {
      for (const a of topo.agents.values()) assert.equal(a.loop.state, 'active', a.id);
      const sup = topo.domains.get('mno')!.supervisor.loops();
      assert.ok(sup.length >= 9 && sup.every((l) => l.state === 'active'));
    });

    it('RAN anomalies → RAN incident → slice → delegation → CN scale-out → outcome back up', async () => {
      const mano = topo.resources.get('mno')!.mano;
      const before = { amf: mano.state('amf').replicas, smf: mano.state('smf').replicas };
      await driveGnbs(topo, clock, rng, GNBS, 60, undefined);
      await driveGnbs(topo, clock, rng, GNBS, 8, { from: 0, factor: 4 });
      await run(clock, 20_000, 500);
      const types = (id: string) => (notices.get(id) ?? []).map((n) => n.type);
      // hop 1: NF agents escalated
      for (const g of GNBS) assert.ok(types(`mno:${g}`).includes('escalation_acknowledged'), `${g} escalation acknowledged`);
      // hop 2: the RAN sub-slice received them and escalated a correlated incident
      assert.ok(types('mno:embb-ran').filter((t) => t === 'escalation_received').length >= 2);
      assert.ok(types('mno:embb-ran').includes('escalation_acknowledged'), 'RAN incident acknowledged by the slice');
      // hop 3: the slice delegated to the CN sub-slice
      const sent = (notices.get('mno:embb') ?? []).find((n) => n.type === 'delegation_sent');
      assert.ok(sent && sent.type === 'delegation_sent' && sent.message.to === 'mno:embb-cn' && sent.message.action === 'scale_out');
      // hop 4: the CN sub-slice scaled AMF and SMF out through the MANO
      assert.ok(types('mno:embb-cn').includes('delegation_received'));
      assert.equal(mano.state('amf').replicas, before.amf + 1);
      assert.equal(mano.state('smf').replicas, before.smf + 1);
      // hop 5: outcome back up — the slice settled it, the domain heard of it, the reporters were told
      const settled = (notices.get('mno:embb') ?? []).find((n) => n.type === 'delegation_settled');
      assert.ok(settled && settled.type === 'delegation_settled' && settled.status === 'done' && settled.success, JSON.stringify(settled));
      assert.ok(types('mno:tsm').includes('incident_outcome'), 'domain agent got the incident outcome');
      assert.ok(types('mno:embb-ran').includes('resolution_received'), 'RAN sub-slice told of the mitigation');
      assert.ok(
        GNBS.some((g) => types(`mno:${g}`).includes('resolution_received')),
        'NF agents told of the mitigation',
      );
      // knowledge holds the decisions and outcomes at every hop
      for (const id of ['mno:gnb-1', 'mno:embb-ran', 'mno:embb', 'mno:embb-cn']) {
        const k = topo.agents.get(id)!.knowledge;
        assert.ok((await k.query('decision')).length > 0, `${id} recorded decisions`);
        assert.ok((await k.query('outcome')).length > 0, `${id} recorded outcomes`);
      }
      // nothing left in flight
      for (const a of topo.agents.values()) assert.equal(a.coordinator.stats().inFlight, 0, `${a.id} has nothing in flight`);
    });
  });
}
