import assert from 'node:assert/strict';
import type { Bus, FlatWeights, KeyValueStore } from '@sliceguard/core';
import { memoryKv } from '@sliceguard/core';
import {
  type AnnounceHeader,
  type ClientEvent,
  type Coordinator,
  type CoordinatorOptions,
  createCoordinator,
  createFederatedClient,
  decodeAnnounce,
  decodeGlobal,
  encodeAnnounce,
  encodeGlobal,
  encodeUpdate,
  encodeWeightsMessage,
  type FederatedClient,
  fedAvg,
  flSubject,
  PersistenceError,
  RoundInProgressError,
  trustWeighted,
} from '../src/index.js';
import { fixedTrust, initialWeights, recordingSink, smallModel, syntheticRows, waitFor } from './support/fixtures.js';
import { memoryBus, memoryNetwork, type MemoryNetwork, principal } from './support/memory-bus.js';

const D = 'd1';
const MODEL = 'streamer';

interface Harness {
  net: MemoryNetwork;
  coordinator: Coordinator;
  clients: FederatedClient[];
  events: Map<string, ClientEvent[]>;
  stop(): Promise<void>;
}

async function harness(n: number, overrides: Partial<CoordinatorOptions> = {}, kv: KeyValueStore = memoryKv()): Promise<Harness> {
  const net = memoryNetwork();
  const coordinator = createCoordinator({
    bus: memoryBus(net, principal(`${D}:fl`, 'coordinator')),
    domain: D,
    kv,
    models: [{ name: MODEL, initial: initialWeights(), aggregator: fedAvg() }],
    minClients: 2,
    roundTimeoutMs: 2000,
    ...overrides,
  });
  await coordinator.start();
  const clients: FederatedClient[] = [];
  const events = new Map<string, ClientEvent[]>();
  for (let i = 0; i < n; i++) {
    const id = `${D}:nf${i}`;
    const log: ClientEvent[] = [];
    events.set(id, log);
    const rows = syntheticRows(64, id, i * 0.05);
    const client = createFederatedClient({ bus: memoryBus(net, principal(id, 'nf')), domain: D, model: MODEL, trainable: smallModel(), data: () => rows });
    client.onEvent((e) => log.push(e));
    await client.start();
    clients.push(client);
  }
  await waitFor(() => coordinator.clients(MODEL).length === n, 2000, 'joins');
  // newcomers get the head broadcast shortly after joining; rounds need it installed
  const head = coordinator.head(MODEL)?.version ?? 0;
  await waitFor(() => clients.every((c) => c.installedVersion === head), 2000, 'head installed');
  return {
    net,
    coordinator,
    clients,
    events,
    async stop() {
      for (const c of clients) await c.stop();
      await coordinator.stop();
    },
  };
}

/** A hand-driven participant: joins, waits for an announcement, sends whatever a test wants. */
async function rogue(net: MemoryNetwork, id: string): Promise<{ bus: Bus; announce: () => Promise<{ header: AnnounceHeader; weights: FlatWeights }> }> {
  const bus = memoryBus(net, principal(id, 'nf'));
  const queue: Array<{ header: AnnounceHeader; weights: FlatWeights }> = [];
  // announcements carry no weights: the base model is the latest global broadcast
  let base: FlatWeights | undefined;
  bus.subscribe(flSubject(D, MODEL, 'global'), (msg) => {
    base = decodeGlobal(msg.data).weights;
  });
  bus.subscribe(flSubject(D, MODEL, 'announce'), (msg) => {
    queue.push(decodeAnnounce(msg.data));
  });
  await bus.publishJson(flSubject(D, MODEL, 'join'), { type: 'join', model: MODEL, samples: 10 });
  return {
    bus,
    async announce() {
      await waitFor(() => queue.length > 0 && base !== undefined, 3000, `announcement and base model for ${id}`);
      return { header: queue.shift()!.header, weights: base! };
    },
  };
}

function update(header: AnnounceHeader, weights: FlatWeights, patch: Partial<{ round: number; baseVersion: number; samples: number }> = {}): Uint8Array {
  return encodeUpdate({ model: MODEL, round: header.round, baseVersion: header.version, samples: 10, loss: 0.1, ...patch }, weights);
}

function nudged(weights: FlatWeights, by: number): FlatWeights {
  return { layout: weights.layout, values: weights.values.map((v, i) => v + (i % 2 === 0 ? by : -by)) };
}

describe('coordinator and client (in-memory bus)', function () {
  this.timeout(20000);

  it('runs a round: announce, local training, updates, aggregation, signed global installed by every client', async () => {
    const installs: number[] = [];
    const h = await harness(3);
    try {
      for (const c of h.clients) c.onEvent((e) => e.type === 'installed' && installs.push(e.version));
      const report = await h.coordinator.runRound(MODEL);
      assert.equal(report.outcome, 'published');
      assert.equal(report.version, 2);
      assert.deepEqual(report.accepted.length, 3);
      assert.deepEqual(report.rejected, []);
      assert.deepEqual(report.dropped, []);
      await waitFor(() => h.clients.every((c) => c.installedVersion === 2), 3000, 'installs');
      const head = h.coordinator.head(MODEL)!;
      assert.equal(head.version, 2);
      assert.notDeepEqual([...head.weights.values], [...initialWeights().values]);
      // a second round builds on version 2
      const second = await h.coordinator.runRound(MODEL);
      assert.equal(second.baseVersion, 2);
      assert.equal(second.version, 3);
      const history = await h.coordinator.history(MODEL);
      assert.deepEqual(history.map((r) => r.round), [2, 1]);
    } finally {
      await h.stop();
    }
  });

  it('seeds version 1 from one client when no initial model is configured', async () => {
    const h = await harness(2, { models: [{ name: MODEL, aggregator: fedAvg() }] });
    try {
      assert.equal(h.coordinator.head(MODEL), undefined);
      const report = await h.coordinator.runRound(MODEL);
      assert.equal(report.outcome, 'published');
      assert.equal(report.version, 1);
      assert.equal(report.selected.length, 1);
      await waitFor(() => h.clients.every((c) => c.installedVersion === 1), 3000, 'installs');
    } finally {
      await h.stop();
    }
  });

  it('selects a fraction of live clients with a minimum, and drops stragglers at the deadline', async () => {
    const h = await harness(4, { fraction: 0.5, minClients: 2, roundTimeoutMs: 400 });
    try {
      const r = await h.coordinator.runRound(MODEL);
      assert.equal(r.selected.length, 2);
      await h.clients[0].stop(); // a failed client: still counted as live until its TTL runs out
      const quorum = await h.coordinator.runRound(MODEL);
      assert.equal(quorum.selected.length, 2);
      if (quorum.selected.includes(`${D}:nf0`)) {
        assert.deepEqual(quorum.dropped, [`${D}:nf0`]);
        assert.equal(quorum.outcome, 'failed'); // 1 accepted < minClients 2
      } else {
        assert.equal(quorum.outcome, 'published');
      }
    } finally {
      await h.stop();
    }
  });

  it('publishes with the minimum when a selected client never answers', async () => {
    const h = await harness(2, { minClients: 2, roundTimeoutMs: 500 });
    const silent = await rogue(h.net, `${D}:silent`);
    try {
      await waitFor(() => h.coordinator.clients(MODEL).length === 3, 2000, 'silent join');
      const report = await h.coordinator.runRound(MODEL);
      await silent.announce();
      assert.equal(report.outcome, 'published');
      assert.deepEqual(report.dropped, [`${D}:silent`]);
      assert.equal(report.accepted.length, 2);
      assert.equal(h.coordinator.stats().dropped, 1);
    } finally {
      await h.stop();
    }
  });

  it('fails a round without enough live clients and publishes nothing', async () => {
    const h = await harness(1, { minClients: 2 });
    try {
      const report = await h.coordinator.runRound(MODEL);
      assert.equal(report.outcome, 'failed');
      assert.match(report.reason ?? '', /1 live client/);
      assert.equal(h.coordinator.head(MODEL)!.version, 1);
    } finally {
      await h.stop();
    }
  });

  it('rejects every kind of bad update with a reason, counts it and reports it to the trust sink', async () => {
    const sink = recordingSink();
    const net = memoryNetwork();
    const quarantine: string[] = [];
    const coordinator = createCoordinator({
      bus: memoryBus(net, principal(`${D}:fl`, 'coordinator')),
      domain: D,
      kv: memoryKv(),
      models: [{ name: MODEL, initial: initialWeights(), aggregator: fedAvg() }],
      minClients: 2,
      roundTimeoutMs: 1500,
      maxDeltaNorm: 50,
      maxNormRatio: 5,
      trustSink: sink,
      trustView: fixedTrust({}, quarantine),
    });
    await coordinator.start();
    const ids = ['good1', 'good2', 'good3', 'dup', 'oldver', 'shape', 'nan', 'samples', 'huge', 'ratio', 'garbage', 'future', 'quarantined'];
    const actors = new Map<string, Awaited<ReturnType<typeof rogue>>>();
    for (const id of ids) actors.set(id, await rogue(net, `${D}:${id}`));
    try {
      await waitFor(() => coordinator.clients(MODEL).length === ids.length, 2000, 'joins');
      const running = coordinator.runRound(MODEL);
      const announcements = new Map<string, { header: AnnounceHeader; weights: FlatWeights }>();
      for (const [id, a] of actors) announcements.set(id, await a.announce());
      const { header, weights } = announcements.get('good1')!;
      assert.equal(header.selected.length, ids.length); // everyone live is selected with fraction 1
      // joins after the selection, and one selected client is quarantined during the round
      const outsider = await rogue(net, `${D}:outsider`);
      quarantine.push(`${D}:quarantined`);
      const send = (id: string, data: Uint8Array): Promise<void> => actors.get(id)!.bus.publish(flSubject(D, MODEL, 'update'), data);
      await send('good1', update(header, nudged(weights, 0.01)));
      await send('good2', update(header, nudged(weights, 0.012)));
      await send('good3', update(header, nudged(weights, 0.011)));
      await send('dup', update(header, nudged(weights, 0.01)));
      await send('dup', update(header, nudged(weights, 0.01)));
      await send('oldver', update(header, weights, { baseVersion: 0 }));
      await send('shape', encodeUpdate({ model: MODEL, round: header.round, baseVersion: header.version, samples: 10, loss: 0 }, { layout: weights.layout.slice(0, 1), values: weights.values.slice(0, weights.layout[0].length) }));
      const bad = new Float32Array(weights.values);
      bad[3] = Number.NaN;
      await send('nan', update(header, { layout: weights.layout, values: bad }));
      await send('samples', update(header, weights, { samples: 0 }));
      await send('huge', update(header, nudged(weights, 100)));
      await send('ratio', update(header, nudged(weights, 0.5)));
      await send('garbage', new Uint8Array([1, 2, 3, 4, 5]));
      await send('future', update(header, weights, { round: header.round + 5 }));
      await send('quarantined', update(header, nudged(weights, 0.01)));
      await outsider.bus.publish(flSubject(D, MODEL, 'update'), update(header, weights, { round: header.round }));
      const report = await running;
      // after the round closed: a late update
      await send('good1', update(header, nudged(weights, 0.01)));
      await waitFor(() => coordinator.stats().rejected.late === 1, 2000, 'late rejection');

      const reasons = Object.fromEntries(report.rejected.map((r) => [r.clientId.split(':')[1], r.reason]));
      assert.deepEqual(reasons, {
        dup: 'duplicate',
        oldver: 'wrong_version',
        shape: 'wrong_shape',
        nan: 'non_finite',
        samples: 'bad_samples',
        huge: 'norm_exceeded',
        ratio: 'norm_exceeded',
        garbage: 'malformed',
        future: 'unknown_round',
        outsider: 'not_selected',
        quarantined: 'untrusted',
      });
      assert.equal(report.outcome, 'published');
      assert.deepEqual(report.accepted.map((a) => a.split(':')[1]).sort(), ['dup', 'good1', 'good2', 'good3']);
      const stats = coordinator.stats();
      assert.equal(stats.rejected.late, 1);
      assert.equal(stats.rejected.duplicate, 1);
      assert.equal(stats.rejected.malformed, 1);
      const negatives = sink.evidence.filter((e) => e.negative > 0 && e.attribute === 'fl_quality').map((e) => e.subject.split(':')[1]);
      for (const id of ['dup', 'oldver', 'shape', 'nan', 'samples', 'huge', 'ratio', 'garbage', 'future', 'outsider', 'good1']) assert.ok(negatives.includes(id), `evidence for ${id}`);
      assert.ok(!sink.evidence.some((e) => e.subject.endsWith(':quarantined') && e.negative > 0 && e.reason?.includes('untrusted')));
      assert.ok(sink.evidence.some((e) => e.subject === `${D}:good2` && e.positive > 0.5), 'honest update rewarded');
    } finally {
      await coordinator.stop();
    }
  });

  it('rejects updates that raise the validation loss on the coordinator-held set', async () => {
    const sink = recordingSink();
    const net = memoryNetwork();
    const coordinator = createCoordinator({
      bus: memoryBus(net, principal(`${D}:fl`, 'coordinator')),
      domain: D,
      kv: memoryKv(),
      models: [{ name: MODEL, initial: initialWeights(), aggregator: fedAvg(), validation: { model: smallModel(), rows: syntheticRows(50, 'validation'), tolerance: 0.1 } }],
      minClients: 1,
      roundTimeoutMs: 1500,
      trustSink: sink,
    });
    await coordinator.start();
    const good = await rogue(net, `${D}:good`);
    const bad = await rogue(net, `${D}:bad`);
    try {
      await waitFor(() => coordinator.clients(MODEL).length === 2, 2000, 'joins');
      const running = coordinator.runRound(MODEL);
      const { header, weights } = await good.announce();
      await bad.announce();
      await good.bus.publish(flSubject(D, MODEL, 'update'), update(header, weights));
      const poisoned = { layout: weights.layout, values: weights.values.map((v) => -3 * v) };
      await bad.bus.publish(flSubject(D, MODEL, 'update'), update(header, poisoned));
      const report = await running;
      assert.deepEqual(report.rejected.map((r) => [r.clientId, r.reason]), [[`${D}:bad`, 'validation_loss']]);
      assert.deepEqual(report.accepted, [`${D}:good`]);
    } finally {
      await coordinator.stop();
    }
  });

  it('weights aggregation by the trust view', async () => {
    const net = memoryNetwork();
    const coordinator = createCoordinator({
      bus: memoryBus(net, principal(`${D}:fl`, 'coordinator')),
      domain: D,
      kv: memoryKv(),
      models: [{ name: MODEL, initial: initialWeights(), aggregator: trustWeighted() }],
      minClients: 2,
      roundTimeoutMs: 1500,
      trustView: fixedTrust({ [`${D}:a`]: 1, [`${D}:b`]: 0 }),
    });
    await coordinator.start();
    const a = await rogue(net, `${D}:a`);
    const b = await rogue(net, `${D}:b`);
    try {
      await waitFor(() => coordinator.clients(MODEL).length === 2, 2000, 'joins');
      const running = coordinator.runRound(MODEL);
      const { header, weights } = await a.announce();
      await b.announce();
      const wa = nudged(weights, 0.01);
      await a.bus.publish(flSubject(D, MODEL, 'update'), update(header, wa));
      await b.bus.publish(flSubject(D, MODEL, 'update'), update(header, nudged(weights, -0.01)));
      const report = await running;
      assert.deepEqual(report.contributors, [`${D}:a`]);
      assert.deepEqual([...coordinator.head(MODEL)!.weights.values], [...wa.values]);
    } finally {
      await coordinator.stop();
    }
  });

  it('refuses a second concurrent round of the same model', async () => {
    const h = await harness(2, { roundTimeoutMs: 300 });
    const silent = await rogue(h.net, `${D}:silent`);
    try {
      await waitFor(() => h.coordinator.clients(MODEL).length === 3, 2000, 'joins');
      const first = h.coordinator.runRound(MODEL);
      await assert.rejects(h.coordinator.runRound(MODEL), RoundInProgressError);
      await silent.announce();
      await first;
    } finally {
      await h.stop();
    }
  });

  it('resumes after a crash during aggregation from the last committed version, never half-published', async () => {
    const inner = memoryKv();
    let failWrites = false;
    const flaky: KeyValueStore = {
      ...inner,
      get: (k) => inner.get(k),
      entries: (r) => inner.entries(r),
      put: async (k, v) => {
        if (failWrites) throw new Error('disk gone');
        return inner.put(k, v);
      },
      batch: async (ops) => {
        if (failWrites) throw new Error('disk gone');
        return inner.batch(ops);
      },
    };
    const h = await harness(2, { roundTimeoutMs: 800 }, flaky);
    const globals: number[] = [];
    h.net.subs.add({ pattern: flSubject(D, MODEL, 'global'), handler: (m) => void globals.push(decodeGlobal(m.data).header.version), closed: false });
    try {
      assert.equal((await h.coordinator.runRound(MODEL)).version, 2);
      await waitFor(() => globals.includes(2), 2000, 'v2 published');
      // round 2 collects (a silent client keeps it open), then the store dies at commit: the crash
      const silent = await rogue(h.net, `${D}:silent`);
      await waitFor(() => h.coordinator.clients(MODEL).length === 3, 2000, 'silent join');
      const running = h.coordinator.runRound(MODEL);
      await silent.announce();
      await waitFor(() => [0, 1].every((i) => h.events.get(`${D}:nf${i}`)!.some((e) => e.type === 'trained' && e.round === 2)), 3000, 'round 2 training');
      failWrites = true;
      await assert.rejects(running, /disk gone/);
      assert.ok(!globals.includes(3), 'no version 3 was published');
      await h.stop();
      failWrites = false;

      // a new coordinator process on the same store
      const net2 = memoryNetwork();
      const globals2: number[] = [];
      net2.subs.add({ pattern: flSubject(D, MODEL, 'global'), handler: (m) => void globals2.push(decodeGlobal(m.data).header.version), closed: false });
      const c2 = createCoordinator({
        bus: memoryBus(net2, principal(`${D}:fl`, 'coordinator')),
        domain: D,
        kv: inner,
        models: [{ name: MODEL, initial: initialWeights(), aggregator: fedAvg() }],
        minClients: 1,
        roundTimeoutMs: 1500,
      });
      await c2.start();
      const client = createFederatedClient({ bus: memoryBus(net2, principal(`${D}:nf0`, 'nf')), domain: D, model: MODEL, trainable: smallModel(), data: () => syntheticRows(32, 'x') });
      try {
      assert.equal(c2.head(MODEL)!.version, 2);
      await waitFor(() => globals2.includes(2), 2000, 'head republished');
      const history = await c2.history(MODEL);
      assert.equal(history[0].round, 2);
      assert.equal(history[0].outcome, 'aborted');
      await client.start();
      await waitFor(() => client.installedVersion === 2 && c2.clients(MODEL).length === 1, 2000, 'client on v2 (newcomer gets the head)');
      const next = await c2.runRound(MODEL);
      assert.equal(next.round, 3);
      assert.equal(next.version, 3);
      } finally {
        await client.stop();
        await c2.stop();
      }
    } finally {
      await h.stop();
    }
  });

  it('a client that missed the global model sits the round out and gets the head re-broadcast', async () => {
    const h = await harness(2, { roundTimeoutMs: 600, minClients: 1 });
    try {
      assert.equal((await h.coordinator.runRound(MODEL)).version, 2);
      await waitFor(() => h.clients.every((c) => c.installedVersion === 2), 3000, 'installs');
      // a late client: its only global so far is whatever arrives after it joins
      const late = createFederatedClient({ bus: memoryBus(h.net, principal(`${D}:late`, 'nf')), domain: D, model: MODEL, trainable: smallModel(), data: () => syntheticRows(30, 'late'), heartbeatMs: 100_000 });
      const events: ClientEvent[] = [];
      late.onEvent((e) => events.push(e));
      await late.start();
      await waitFor(() => late.installedVersion === 2, 3000, 'newcomer gets the head');
      await late.stop();
      assert.ok(events.some((e) => e.type === 'installed' && e.version === 2));
    } finally {
      await h.stop();
    }
  });

  it('versions models per NF type independently', async () => {
    const net = memoryNetwork();
    const coordinator = createCoordinator({
      bus: memoryBus(net, principal(`${D}:fl`, 'coordinator')),
      domain: D,
      kv: memoryKv(),
      models: [
        { name: 'streamer', initial: initialWeights(), aggregator: fedAvg() },
        { name: 'gnb', initial: initialWeights(), aggregator: fedAvg() },
      ],
      minClients: 1,
      roundTimeoutMs: 2000,
    });
    await coordinator.start();
    const clients: FederatedClient[] = [];
    try {
      for (const [i, model] of ['streamer', 'gnb', 'gnb'].entries()) {
        const rows = syntheticRows(30, `${model}${i}`);
        const c = createFederatedClient({ bus: memoryBus(net, principal(`${D}:${model}${i}`, 'nf')), domain: D, model, trainable: smallModel(), data: () => rows });
        await c.start();
        clients.push(c);
      }
      await waitFor(() => coordinator.clients('streamer').length === 1 && coordinator.clients('gnb').length === 2, 2000, 'joins per model');
      await waitFor(() => clients.every((c) => c.installedVersion === 1), 2000, 'heads installed');
      const g1 = await coordinator.runRound('gnb');
      const g2 = await coordinator.runRound('gnb');
      assert.deepEqual([g1.version, g2.version, g2.accepted.length], [2, 3, 2]);
      assert.equal(coordinator.head('streamer')!.version, 1);
      await waitFor(() => clients[1].installedVersion === 3 && clients[2].installedVersion === 3, 2000, 'gnb clients on v3');
      assert.equal(clients[0].installedVersion, 1, 'the streamer client never installs a gnb model');
      assert.equal((await coordinator.runRound('streamer')).version, 2);
    } finally {
      for (const c of clients) await c.stop();
      await coordinator.stop();
    }
  });

  it('reports a store whose head points to a missing version', async () => {
    const kv = memoryKv();
    await kv.put('fl/streamer/head', new TextEncoder().encode('{"version":7,"round":3}'));
    const c = createCoordinator({ bus: memoryBus(memoryNetwork(), principal(`${D}:fl`, 'coordinator')), domain: D, kv, models: [{ name: MODEL }] });
    await assert.rejects(c.start(), PersistenceError);
  });
});

describe('client verification of global models', function () {
  this.timeout(10000);

  async function clientOn(net: MemoryNetwork): Promise<{ client: FederatedClient; events: ClientEvent[]; installs: number[] }> {
    const events: ClientEvent[] = [];
    const installs: number[] = [];
    const client = createFederatedClient({
      bus: memoryBus(net, principal(`${D}:nf1`, 'nf')),
      domain: D,
      model: MODEL,
      trainable: smallModel(),
      data: () => syntheticRows(16, 'c'),
      onInstall: (e) => void installs.push(e.version),
    });
    client.onEvent((e) => events.push(e));
    await client.start();
    return { client, events, installs };
  }

  const header = (version: number) => ({ model: MODEL, version, round: version, contributors: 1, samples: 1, createdAt: 0, aggregator: 'fedavg' });

  it('installs only newer, well-formed models from its domain coordinator, and recalibrates', async () => {
    const net = memoryNetwork();
    const { client, events, installs } = await clientOn(net);
    const coordinatorBus = memoryBus(net, principal(`${D}:fl`, 'coordinator'));
    const impostor = memoryBus(net, principal(`${D}:nf9`, 'nf'));
    const otherDomain = memoryBus(net, principal('d2:fl', 'coordinator', 'd2'));
    const subject = flSubject(D, MODEL, 'global');
    const w = initialWeights();
    try {
      await impostor.publish(subject, encodeGlobal(header(5), w));
      await otherDomain.publish(subject, encodeGlobal(header(5), w));
      await coordinatorBus.publish(subject, encodeGlobal(header(3), w));
      await waitFor(() => client.installedVersion === 3, 2000, 'install v3');
      await coordinatorBus.publish(subject, encodeGlobal(header(2), w));
      await coordinatorBus.publish(subject, encodeGlobal(header(4), { layout: w.layout.slice(0, 2), values: w.values.slice(0, w.layout[1].offset + w.layout[1].length) }));
      const nan = new Float32Array(w.values);
      nan[0] = Number.POSITIVE_INFINITY;
      await coordinatorBus.publish(subject, encodeGlobal(header(4), { layout: w.layout, values: nan }));
      await coordinatorBus.publish(subject, encodeWeightsMessage({ type: 'global' }, new Float32Array(1)));
      await waitFor(() => events.filter((e) => e.type === 'ignored').length === 6, 2000, 'six ignored');
      const reasons = events.flatMap((e) => (e.type === 'ignored' ? [e.reason] : []));
      assert.deepEqual(reasons, ['not_coordinator', 'not_coordinator', 'stale_version', 'layout_mismatch', 'non_finite', 'malformed']);
      assert.equal(client.installedVersion, 3);
      assert.deepEqual(installs, [3]);
    } finally {
      await client.stop();
    }
  });

  it('sits out a round whose base version it lacks and asks for the head with a join', async () => {
    const net = memoryNetwork();
    const { client, events } = await clientOn(net);
    const coordinatorBus = memoryBus(net, principal(`${D}:fl`, 'coordinator'));
    const joins: Array<{ installedVersion?: number }> = [];
    coordinatorBus.subscribe(flSubject(D, MODEL, 'join'), (m) => void joins.push(m.json()));
    const w = initialWeights();
    try {
      await coordinatorBus.publish(
        flSubject(D, MODEL, 'announce'),
        encodeAnnounce({ model: MODEL, round: 4, version: 5, selected: [`${D}:nf1`], deadline: Date.now() + 5000, epochs: 1 }, { layout: w.layout, values: new Float32Array(0) }),
      );
      await waitFor(() => events.some((e) => e.type === 'skipped'), 2000, 'skip');
      await waitFor(() => joins.length > 0, 2000, 'join');
      const skipped = events.find((e) => e.type === 'skipped');
      assert.match(skipped?.type === 'skipped' ? skipped.reason : '', /base version 5 is not installed/);
      assert.equal(joins.at(-1)?.installedVersion, 0);
    } finally {
      await client.stop();
    }
  });
});
