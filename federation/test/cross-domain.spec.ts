import assert from 'node:assert/strict';
import { memoryKv } from '@sliceguard/core';
import { createDomainAuthority, type DomainAuthority, TrustStore } from '@sliceguard/identity';
import {
  bridgeCrossDomain,
  combineDomainModels,
  type Coordinator,
  createCoordinator,
  createDomainGossip,
  createFederatedClient,
  type DomainGossip,
  type DomainModel,
  type FederatedClient,
  fedAvg,
  InvalidFederationOptionsError,
} from '../src/index.js';
import { fixedTrust, initialWeights, smallModel, syntheticRows, waitFor } from './support/fixtures.js';
import { memoryBus, memoryNetwork, principal } from './support/memory-bus.js';

const MODEL = 'streamer';

describe('combineDomainModels', () => {
  const layout = [{ name: 'w', shape: [2], offset: 0, length: 2 }];
  const remote = (domain: string, values: number[], samples: number): DomainModel => ({
    domain,
    model: MODEL,
    version: 2,
    samples,
    weights: { layout, values: Float32Array.from(values) },
    from: `${domain}:fl`,
    at: 0,
  });

  it('weights by samples and trust, and skips incompatible or distrusted models', () => {
    const local = { domain: 'd1', from: 'd1:fl', weights: { layout, values: Float32Array.from([0, 0]) }, samples: 100 };
    const plain = combineDomainModels(local, [remote('d2', [4, 8], 300)]);
    assert.deepEqual([...plain.weights.values], [3, 6]); // 300/400 of (4, 8)
    const trusted = combineDomainModels(local, [remote('d2', [4, 8], 300), remote('d3', [100, 100], 100)], { trust: fixedTrust({ 'd2:fl': 1 / 3 }, ['d3:fl']) });
    assert.deepEqual([...trusted.weights.values], [2, 4]); // d2 counts 100, d3 quarantined
    assert.deepEqual(trusted.parts.map((p) => [p.domain, p.weight]), [['d1', 0.5], ['d2', 0.5]]);
    const odd = remote('d4', [1, 2, 3], 10);
    odd.weights.layout = [{ name: 'w', shape: [3], offset: 0, length: 3 }];
    assert.deepEqual([...combineDomainModels(local, [odd]).weights.values], [0, 0]);
  });
});

describe('cross-domain federation over libp2p (loopback)', function () {
  this.timeout(30000);

  interface Domain {
    authority: DomainAuthority;
    coordinator: Coordinator;
    gossip: DomainGossip;
    clients: FederatedClient[];
  }

  async function domain(name: string, authority: DomainAuthority, trustStore: TrustStore, shift: number): Promise<Domain> {
    const net = memoryNetwork();
    const coordinator = createCoordinator({
      bus: memoryBus(net, principal(`${name}:fl`, 'coordinator', name)),
      domain: name,
      kv: memoryKv(),
      models: [{ name: MODEL, initial: initialWeights(), aggregator: fedAvg() }],
      minClients: 2,
      roundTimeoutMs: 3000,
    });
    await coordinator.start();
    const clients: FederatedClient[] = [];
    for (let i = 0; i < 2; i++) {
      const id = `${name}:nf${i}`;
      const rows = syntheticRows(40 + 20 * i, id, shift);
      const c = createFederatedClient({ bus: memoryBus(net, principal(id, 'nf', name)), domain: name, model: MODEL, trainable: smallModel(), data: () => rows });
      await c.start();
      clients.push(c);
    }
    await waitFor(() => coordinator.clients(MODEL).length === 2 && clients.every((c) => c.installedVersion === 1), 3000, `${name} joins`);
    const identity = authority.issue({ agentId: `${name}:fl`, level: 'coordinator' });
    const gossip = createDomainGossip({ domain: name, identity, trustStore });
    return { authority, coordinator, gossip, clients };
  }

  it('exchanges signed models between two domains and combines them by samples', async () => {
    const a1 = createDomainAuthority('d1');
    const a2 = createDomainAuthority('d2');
    const stranger = createDomainAuthority('d3');
    const trust = (): TrustStore => new TrustStore({ roots: [{ domain: 'd1', publicKey: a1.publicKeyHex }, { domain: 'd2', publicKey: a2.publicKeyHex }] });
    const d1 = await domain('d1', a1, trust(), 0);
    const d2 = await domain('d2', a2, trust(), 0.1);
    const intruder = createDomainGossip({ domain: 'd3', identity: stranger.issue({ agentId: 'd3:fl', level: 'coordinator' }), trustStore: new TrustStore({ roots: [{ domain: 'd3', publicKey: stranger.publicKeyHex }] }) });
    const gossips = [d1.gossip, d2.gossip, intruder];
    try {
      await d1.gossip.start();
      await d2.gossip.start();
      await intruder.start();
      assert.match(d1.gossip.peerId, /^12D3KooW/);
      await d2.gossip.dial(d1.gossip.multiaddrs()[0]);
      await intruder.dial(d1.gossip.multiaddrs()[0]);
      await intruder.dial(d2.gossip.multiaddrs()[0]);
      await waitFor(() => d1.gossip.partners().length === 2 && d2.gossip.partners().length === 2, 10000, 'gossip mesh');
      const received = new Map<string, DomainModel[]>([['d1', []], ['d2', []]]);
      d1.gossip.onModel((m) => received.get('d1')!.push(m));
      d2.gossip.onModel((m) => received.get('d2')!.push(m));
      const b1 = bridgeCrossDomain({ coordinator: d1.coordinator, gossip: d1.gossip, domain: 'd1' });
      const b2 = bridgeCrossDomain({ coordinator: d2.coordinator, gossip: d2.gossip, domain: 'd2' });

      const r1 = await d1.coordinator.runRound(MODEL);
      const r2 = await d2.coordinator.runRound(MODEL);
      assert.equal(r1.version, 2);
      assert.equal(r2.version, 2);
      const local1 = d1.coordinator.head(MODEL)!;
      await waitFor(() => d1.coordinator.head(MODEL)!.version === 3 && d2.coordinator.head(MODEL)!.version === 3, 10000, 'cross-domain versions');
      const h1 = d1.coordinator.head(MODEL)!;
      const h2 = d2.coordinator.head(MODEL)!;
      assert.equal(h1.header.aggregator, 'cross-domain');
      assert.equal(h2.header.aggregator, 'cross-domain');
      // both domains combined the same two round models (100 and 100 samples): same weights
      for (let i = 0; i < h1.weights.values.length; i++) assert.ok(Math.abs(h1.weights.values[i] - h2.weights.values[i]) < 1e-6, `weight ${i}`);
      const fromD1 = received.get('d2')![0];
      assert.equal(fromD1.domain, 'd1');
      assert.equal(fromD1.from, 'd1:fl');
      assert.equal(fromD1.samples, r1.accepted.length > 0 ? 100 : 0);
      assert.deepEqual([...fromD1.weights.values], [...local1.weights.values]);
      assert.deepEqual(Object.keys(fromD1).sort(), ['at', 'domain', 'from', 'model', 'samples', 'version', 'weights']);
      // local clients got the combined model
      await waitFor(() => d1.clients.every((c) => c.installedVersion === 3), 5000, 'd1 clients on v3');

      // an untrusted domain's coordinator, and a replay of an old version, are rejected
      await intruder.publishModel({ model: MODEL, version: 9, samples: 1000, weights: initialWeights() });
      await d2.gossip.publishModel({ model: MODEL, version: 2, samples: 100, weights: initialWeights() });
      await waitFor(() => d1.gossip.stats().rejected.credential >= 1 && d1.gossip.stats().rejected.replayed >= 1, 5000, 'rejections');
      assert.equal(d1.coordinator.head(MODEL)!.version, 3);
      b1.stop();
      b2.stop();
    } finally {
      for (const g of gossips) await g.stop();
      for (const d of [d1, d2]) {
        for (const c of d.clients) await c.stop();
        await d.coordinator.stop();
      }
    }
  });

  it('refuses a non-coordinator identity', () => {
    const a = createDomainAuthority('d1');
    assert.throws(
      () => createDomainGossip({ domain: 'd1', identity: a.issue({ agentId: 'd1:nf1', level: 'nf', slice: 's', subslice: 'ran', nf: 'nf1' }), trustStore: a.trustStore() }),
      InvalidFederationOptionsError,
    );
  });
});
