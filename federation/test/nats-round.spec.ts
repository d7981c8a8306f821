import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectNatsBus } from '@sliceguard/bus';
import { createDomainAuthority, defaultScopes, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { openLevelKv } from '@sliceguard/store';
import { type NatsServerHandle, startNatsServer } from '@sliceguard/test-utils';
import { createCoordinator, fedAvg } from '../src/index.js';
import { initialWeights, waitFor } from './support/fixtures.js';

const D = 'd1';
const MODEL = 'streamer';
const clientScript = fileURLToPath(new URL('./support/client-process.js', import.meta.url));

interface ChildEvent {
  type: string;
  agentId: string;
  version?: number;
  round?: number;
}

describe('federated round over a real nats-server with client processes', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let dir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'sg-fl-'));
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes a round with one client killed mid-round, and clients install the signed global model', async () => {
    const authority = createDomainAuthority(D);
    const roots = [{ domain: D, publicKey: authority.publicKeyHex }];
    const coordinatorIdentity = authority.issue({ agentId: `${D}:fl`, level: 'coordinator' });
    const coordinatorBus = await connectNatsBus({ servers: server.url, identity: coordinatorIdentity, trustStore: authority.trustStore() });
    const kv = await openLevelKv(join(dir, 'coordinator'));
    const coordinator = createCoordinator({
      bus: coordinatorBus,
      domain: D,
      kv,
      models: [{ name: MODEL, initial: initialWeights(), aggregator: fedAvg() }],
      minClients: 2,
      roundTimeoutMs: 2500,
    });
    await coordinator.start();
    const events: ChildEvent[] = [];
    const spawn = (i: number, slowMs?: number): ChildProcess => {
      const placement = { domain: D, slice: 's1', subslice: 'edge', nf: `nf${i}` };
      const identity = authority.issue({
        agentId: `${D}:nf${i}`,
        level: 'nf',
        ...placement,
        // NF agents publish their FL joins and updates besides their own loop subjects
        scopes: [...defaultScopes('nf', placement), `sg.${D}._fl.*.join`, `sg.${D}._fl.*.update`],
      });
      const keyFile = join(dir, `nf${i}.key`);
      const credentialFile = join(dir, `nf${i}.cred.json`);
      writeKeyFile(keyFile, identity.keyPair);
      writeCredentialFile(credentialFile, identity.credential);
      const child = fork(clientScript, [JSON.stringify({ url: server.url, keyFile, credentialFile, roots, domain: D, model: MODEL, rows: 60, shift: i * 0.03, slowMs })], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      child.on('message', (m) => events.push(m as ChildEvent));
      children.push(child);
      return child;
    };
    try {
      spawn(0);
      spawn(1);
      const victim = spawn(2, 20000);
      await waitFor(() => coordinator.clients(MODEL).length === 3, 20000, 'three clients joined');
      await waitFor(() => [0, 1, 2].every((i) => events.some((e) => e.type === 'installed' && e.agentId === `${D}:nf${i}` && e.version === 1)), 10000, 'version 1 installed');
      const round = coordinator.runRound(MODEL);
      await waitFor(() => events.some((e) => e.type === 'training' && e.agentId === `${D}:nf2`), 10000, 'victim training');
      victim.kill('SIGKILL');
      const report = await round;
      assert.equal(report.outcome, 'published');
      assert.equal(report.version, 2);
      assert.deepEqual(report.selected, [`${D}:nf0`, `${D}:nf1`, `${D}:nf2`]);
      assert.deepEqual(report.accepted.sort(), [`${D}:nf0`, `${D}:nf1`]);
      assert.deepEqual(report.dropped, [`${D}:nf2`]);
      await waitFor(
        () => [0, 1].every((i) => events.some((e) => e.type === 'installed' && e.agentId === `${D}:nf${i}` && e.version === 2)),
        10000,
        'survivors installed version 2',
      );
      // the published version survives in LevelDB
      assert.equal((await coordinator.history(MODEL))[0].version, 2);
      assert.equal(coordinatorBus.stats().rejected.bad_signature, 0);
    } finally {
      for (const c of children) if (c.connected) c.send({ type: 'stop' });
      await waitFor(() => children.every((c) => c.exitCode !== null || c.signalCode !== null), 10000, 'children exit').catch(() => {
        for (const c of children) c.kill('SIGKILL');
      });
      await coordinator.stop();
      await coordinatorBus.drain();
      await kv.close();
    }
  });
});
