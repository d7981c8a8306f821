import assert from 'node:assert/strict';
import { LstmAutoencoder } from '@sliceguard/analytics';
import { memoryKv } from '@sliceguard/core';
import { createCoordinator, createFederatedClient, type FederatedClient, fedAvg } from '../src/index.js';
import { syntheticRows, waitFor } from './support/fixtures.js';
import { memoryBus, memoryNetwork, principal } from './support/memory-bus.js';

const METRICS = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];

describe('a federated round with the analytics LSTM autoencoder (the target model)', function () {
  this.timeout(60000);

  it('trains, aggregates and installs LSTM-AE weights through the coordinator', async () => {
    const make = (): Promise<LstmAutoencoder> => LstmAutoencoder.create({ metrics: METRICS, window: 4, encoderUnits: [4], seed: 3 });
    const initialModel = await make();
    const initial = initialModel.getWeights();
    const net = memoryNetwork();
    const coordinator = createCoordinator({
      bus: memoryBus(net, principal('d1:fl', 'coordinator')),
      domain: 'd1',
      kv: memoryKv(),
      models: [{ name: 'streamer', initial, aggregator: fedAvg() }],
      minClients: 2,
      roundTimeoutMs: 30000,
    });
    await coordinator.start();
    const clients: FederatedClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const model = await make();
        const rows = syntheticRows(40, `lstm${i}`, i * 0.05);
        const client = createFederatedClient({ bus: memoryBus(net, principal(`d1:nf${i}`, 'nf')), domain: 'd1', model: 'streamer', trainable: model, data: () => rows });
        await client.start();
        clients.push(client);
      }
      await waitFor(() => clients.every((c) => c.installedVersion === 1), 5000, 'version 1 installed');
      const report = await coordinator.runRound('streamer');
      assert.equal(report.outcome, 'published');
      assert.equal(report.accepted.length, 2);
      await waitFor(() => clients.every((c) => c.installedVersion === 2), 5000, 'version 2 installed');
      const head = coordinator.head('streamer')!;
      assert.equal(head.weights.values.length, initial.values.length);
      assert.notDeepEqual([...head.weights.values.slice(0, 20)], [...initial.values.slice(0, 20)]);
    } finally {
      for (const c of clients) await c.stop();
      await coordinator.stop();
    }
  });
});
