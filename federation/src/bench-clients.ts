/**
 * Child process of the federation benchmark: hosts N federated clients with a zero-cost model, so
 * the coordinator's process measures only its own work. Argument: JSON
 * `{ url, clients, parameters, authoritySeed }`; reports `{ type: 'ready' }` and
 * `{ type: 'installed', version, count }` over IPC; exits on `{ type: 'stop' }`.
 */
import type { Bus } from '@sliceguard/core';
import { fromHex } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import { createDomainAuthority, defaultScopes, generateKeyPair } from '@sliceguard/identity';
import { instantModel } from './bench-model.js';
import { createFederatedClient, type FederatedClient } from './client.js';

interface Args {
  url: string;
  clients: number;
  parameters: number;
  authoritySeed: string;
  offset?: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as Args;
  const authority = createDomainAuthority('bench', { keyPair: generateKeyPair(fromHex(args.authoritySeed)) });
  const trustStore = authority.trustStore();
  const installed = new Map<number, number>();
  const buses: Bus[] = [];
  const clients: FederatedClient[] = [];
  const rows = [new Float32Array(1)];
  for (let i = 0; i < args.clients; i++) {
    const k = (args.offset ?? 0) + i;
    const placement = { domain: 'bench', slice: 's', subslice: 'edge', nf: `nf${k}` };
    const identity = authority.issue({ agentId: `bench:nf${k}`, level: 'nf', ...placement, scopes: [...defaultScopes('nf', placement), 'sg.bench._fl.*.join', 'sg.bench._fl.*.update'] });
    const bus = await connectNatsBus({ servers: args.url, identity, trustStore });
    buses.push(bus);
    const client = createFederatedClient({ bus, domain: 'bench', model: 'm', trainable: instantModel(args.parameters, k + 1), data: () => rows, heartbeatMs: 1000 });
    client.onEvent((e) => {
      if (e.type !== 'installed') return;
      const count = (installed.get(e.version) ?? 0) + 1;
      installed.set(e.version, count);
      process.send?.({ type: 'installed', version: e.version, count });
    });
    await client.start();
    clients.push(client);
  }
  process.send?.({ type: 'ready' });
  process.on('message', async (m: { type: string }) => {
    if (m.type !== 'stop') return;
    for (const c of clients) await c.stop();
    for (const b of buses) await b.close();
    process.exit(0);
  });
}

await main();
