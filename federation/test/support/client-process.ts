/**
 * A federated client in its own process, for the integration tests: connects to NATS with its own
 * identity files, trains a small dense autoencoder on synthetic rows and reports events to the
 * parent over IPC. Arguments: JSON `{ url, keyFile, credentialFile, roots: [{domain, publicKey}],
 * domain, model, rows, shift, slowMs }`.
 */
import { connectNatsBus } from '@sliceguard/bus';
import { readCredentialFile, readKeyFile, TrustStore } from '@sliceguard/identity';
import { createFederatedClient } from '../../src/index.js';
import { smallModel, syntheticRows } from './fixtures.js';

interface Args {
  url: string;
  keyFile: string;
  credentialFile: string;
  roots: Array<{ domain: string; publicKey: string }>;
  domain: string;
  model: string;
  rows: number;
  shift: number;
  slowMs?: number;
}

const args = JSON.parse(process.argv[2]) as Args;
const send = (m: unknown): void => {
  process.send?.(m);
};

const identity = { keyPair: readKeyFile(args.keyFile), credential: readCredentialFile(args.credentialFile) };
const bus = await connectNatsBus({ servers: args.url, identity, trustStore: new TrustStore({ roots: args.roots }) });
const model = smallModel();
const fit = model.fit.bind(model);
model.fit = async (rows, options) => {
  send({ type: 'training', agentId: identity.credential.claims.agentId });
  if (args.slowMs) await new Promise((r) => setTimeout(r, args.slowMs));
  return fit(rows, options);
};
const rows = syntheticRows(args.rows, identity.credential.claims.agentId, args.shift);
const client = createFederatedClient({ bus, domain: args.domain, model: args.model, trainable: model, data: () => rows, heartbeatMs: 500 });
client.onEvent((e) => send({ ...e, agentId: identity.credential.claims.agentId, error: e.type === 'failed' ? e.error.message : undefined }));
await client.start();
send({ type: 'ready', agentId: identity.credential.claims.agentId });
process.on('message', async (m: { type: string }) => {
  if (m.type === 'stop') {
    await client.stop();
    await bus.drain();
    process.exit(0);
  }
});
