/**
 * A coordinator in its own process (NatsBus + LevelDB), for the crash test: answers IPC commands
 * `{ type: 'round' }` (runs a round, replies with its report) and `{ type: 'status' }` (head version
 * and history). Argument: JSON `{ url, keyFile, credentialFile, roots, dataDir }`.
 */
import { connectNatsBus } from '@sliceguard/bus';
import { readCredentialFile, readKeyFile, TrustStore } from '@sliceguard/identity';
import { openLevelKv } from '@sliceguard/store';
import { createCoordinator, fedAvg } from '../../src/index.js';
import { initialWeights } from './fixtures.js';

const args = JSON.parse(process.argv[2]) as { url: string; keyFile: string; credentialFile: string; roots: Array<{ domain: string; publicKey: string }>; dataDir: string };
const identity = { keyPair: readKeyFile(args.keyFile), credential: readCredentialFile(args.credentialFile) };
const bus = await connectNatsBus({ servers: args.url, identity, trustStore: new TrustStore({ roots: args.roots }) });
const kv = await openLevelKv(args.dataDir);
const coordinator = createCoordinator({
  bus,
  domain: 'd1',
  kv,
  models: [{ name: 'streamer', initial: initialWeights(), aggregator: fedAvg() }],
  minClients: 1,
  roundTimeoutMs: 3000,
});
await coordinator.start();
process.on('message', async (m: { type: string }) => {
  if (m.type === 'round') {
    process.send?.({ type: 'round-started' });
    const report = await coordinator.runRound('streamer');
    process.send?.({ type: 'report', report });
  } else if (m.type === 'status') {
    process.send?.({ type: 'status', version: coordinator.head('streamer')?.version, history: await coordinator.history('streamer'), clients: coordinator.clients('streamer') });
  } else if (m.type === 'stop') {
    await coordinator.stop();
    await bus.drain();
    await kv.close();
    process.exit(0);
  }
});
process.send?.({ type: 'ready' });
