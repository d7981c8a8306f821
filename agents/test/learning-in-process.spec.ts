import assert from 'node:assert/strict';
import type { SecurityEvent } from '@sliceguard/core';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork } from '@sliceguard/bus';
import type { ClientEvent, RoundReport } from '@sliceguard/federation';
import { waitUntil } from '@sliceguard/test-utils';
import { examplePath, loadTopology } from '@sliceguard/topology';
import type { InProcessTopology, LearnerEvent } from '../src/index.js';
import { startTopologyInProcess } from '../src/index.js';
import { driveGnbs, run } from './helpers.js';

const GNBS = ['gnb-1', 'gnb-2', 'gnb-3'];

describe('agents: NF agents learn the LSTM federatedly (in process, LocalBus)', function () {
  this.timeout(60_000);
  let topo: InProcessTopology;
  const clock = new SimulatedClock(1_700_000_000_000);
  const rng = seededRng(11);
  const learnerEvents = new Map<string, LearnerEvent[]>();
  const clientEvents = new Map<string, ClientEvent[]>();
  const events = new Map<string, SecurityEvent[]>();

  before(async () => {
    const topology = await loadTopology(examplePath('embb-5g'));
    topo = await startTopologyInProcess({
      topology,
      network: createLocalNetwork(),
      clock,
      rng,
      policies: 'builtin',
      coordination: { heartbeatMs: 0 },
      mano: { autoscaler: false },
      learning: {
        include: (s) => s.nf?.type === 'gnb',
        window: 5,
        units: 4,
        bufferSize: 60,
        minSamples: 20,
        backend: 'cpu',
        coordinator: { minClients: 2, roundTimeoutMs: 600_000 },
      },
    });
    await topo.ready();
    for (const [id, l] of topo.learners) {
      const list: LearnerEvent[] = [];
      learnerEvents.set(id, list);
      l.onEvent((e) => list.push(e));
      const cl: ClientEvent[] = [];
      clientEvents.set(id, cl);
      l.client?.onEvent((e) => cl.push(e));
      const ev: SecurityEvent[] = [];
      events.set(id, ev);
      topo.agents.get(id)!.loop.on((n) => {
        if (n.type === 'event') ev.push(n.event);
      });
    }
  });
  after(async () => {
    await topo?.stop();
  });

  it('runs an FL client per gNB agent and one coordinator for the gnb model; other NF types are not federated', () => {
    assert.deepEqual([...topo.learners.keys()].sort(), GNBS.map((g) => `mno:${g}`));
    for (const l of topo.learners.values()) {
      assert.equal(l.model, 'gnb');
      assert.equal(l.state().mode, 'federated');
      assert.equal(l.state().active, 'baseline');
    }
    assert.deepEqual([...topo.flCoordinators.keys()], ['mno']);
  });

  it('joins once enough normal samples are buffered, seeds version 1, then every client trains, sends an update and installs version 2', async () => {
    const coordinator = topo.flCoordinators.get('mno')!;
    await driveGnbs(topo, clock, rng, GNBS, 10, undefined);
    assert.equal(coordinator.clients('gnb').length, 0, 'no client joins before it holds minSamples normal rows');
    await driveGnbs(topo, clock, rng, GNBS, 20, undefined);
    await waitUntil(() => coordinator.clients('gnb').length === 3, { what: 'three gNB clients joined', timeoutMs: 10_000 });
    for (const l of topo.learners.values()) assert.ok(l.state().bufferedRows >= 20 && l.state().bufferedRows <= 60, `buffer ${l.state().bufferedRows}`);

    const r1: RoundReport = await coordinator.runRound('gnb');
    assert.equal(r1.outcome, 'published', JSON.stringify(r1));
    assert.equal(r1.version, 1);
    assert.equal(r1.aggregator, 'seed');
    await waitUntil(() => [...topo.learners.values()].every((l) => l.state().installedVersion === 1), { what: 'every gNB installed version 1', timeoutMs: 20_000 });

    const r2 = await coordinator.runRound('gnb');
    assert.equal(r2.outcome, 'published', JSON.stringify(r2));
    assert.equal(r2.version, 2);
    assert.deepEqual([...r2.accepted].sort(), GNBS.map((g) => `mno:${g}`));
    assert.deepEqual(r2.rejected, []);
    await waitUntil(() => [...topo.learners.values()].every((l) => l.state().installedVersion === 2), { what: 'every gNB installed version 2', timeoutMs: 20_000 });
    for (const [id, l] of topo.learners) {
      const s = l.state();
      assert.equal(s.active, 'lstm', id);
      assert.ok(s.threshold !== undefined && Number.isFinite(s.threshold) && s.threshold > 0, `${id} threshold ${s.threshold}`);
      assert.ok(s.trained >= 1, `${id} sent ${s.trained} updates`);
      assert.ok(
        clientEvents.get(id)!.some((e) => e.type === 'trained' && e.round === r2.round),
        `${id} trained in round ${r2.round}`,
      );
      const installs = learnerEvents.get(id)!.filter((e) => e.type === 'installed');
      assert.deepEqual(
        installs.map((e) => (e as { version: number }).version),
        [1, 2],
      );
      // recalibrated on its own buffer: each threshold comes from that agent's rows
      assert.ok(installs.every((e) => (e as { rows: number }).rows >= 20));
    }
  });

  it('detects with the federated LSTM: a signaling surge is flagged by the installed model', async () => {
    await driveGnbs(topo, clock, rng, GNBS, 6, { from: 2, factor: 6 });
    const detectorOf = (e: SecurityEvent): string => String((e as { evidence?: { detector?: string } }).evidence?.detector);
    for (const g of GNBS) {
      const flagged = events.get(`mno:${g}`)!.filter((e) => e.type === 'anomaly' && detectorOf(e).startsWith('lstm-ae'));
      assert.ok(flagged.length > 0, `${g}: no anomaly from the LSTM (events: ${events.get(`mno:${g}`)!.map(detectorOf).join(', ')})`);
    }
  });

  it('a restarted gNB agent detects with its stored model at once and rejoins the rounds', async () => {
    const before = topo.learners.get('mno:gnb-2')!.state();
    await topo.restart('mno:gnb-2');
    const learner = topo.learners.get('mno:gnb-2')!;
    const s = learner.state();
    assert.equal(s.active, 'lstm');
    assert.equal(s.installedVersion, 2);
    assert.ok(s.bufferedRows > 0 && s.bufferedRows <= 60);
    assert.ok(s.bufferedRows >= before.bufferedRows - 1, `${s.bufferedRows} rows restored of ${before.bufferedRows}`);
    const coordinator = topo.flCoordinators.get('mno')!;
    // it joined at start (its restored buffer is large enough); the coordinator re-broadcasts the head on the clock
    for (let i = 0; i < 20 && learner.client!.installedVersion !== 2; i++) await run(clock, 500, 250);
    assert.equal(learner.client!.installedVersion, 2, 'the restarted client got the head again');
    const r3 = await coordinator.runRound('gnb');
    assert.equal(r3.outcome, 'published', JSON.stringify(r3));
    assert.ok(r3.accepted.includes('mno:gnb-2'), JSON.stringify(r3));
  });
});
