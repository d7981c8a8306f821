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
const coordinatorScript = fileURLToPath(new URL('./support/coordinator-process.js', import.meta.url));

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

  it('a coordinator process SIGKILLed mid-round resumes from LevelDB: the round is aborted, never published', async () => {
    const authority = createDomainAuthority(D);
    const roots = [{ domain: D, publicKey: authority.publicKeyHex }];
    const fl = authority.issue({ agentId: `${D}:fl`, level: 'coordinator' });
    writeKeyFile(join(dir, 'fl.key'), fl.keyPair);
    writeCredentialFile(join(dir, 'fl.cred.json'), fl.credential);
    const dataDir = join(dir, 'crash-coordinator');
    type Msg = { type: string; report?: { round: number; outcome: string; version?: number }; version?: number; history?: Array<{ round: number; outcome: string }>; clients?: string[] };
    const start = (): { child: ChildProcess; inbox: Msg[] } => {
      const inbox: Msg[] = [];
      const child = fork(coordinatorScript, [JSON.stringify({ url: server.url, keyFile: join(dir, 'fl.key'), credentialFile: join(dir, 'fl.cred.json'), roots, dataDir })], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      child.on('message', (m) => inbox.push(m as Msg));
      children.push(child);
      return { child, inbox };
    };
    const ask = async (c: { child: ChildProcess; inbox: Msg[] }, type: string, reply: string): Promise<Msg> => {
      const before = c.inbox.filter((m) => m.type === reply).length;
      c.child.send({ type });
      await waitFor(() => c.inbox.filter((m) => m.type === reply).length > before, 20000, reply);
      return c.inbox.filter((m) => m.type === reply).at(-1)!;
    };
    // one real client (own process) and one that joins but never answers, keeping round 2 open
    const events: ChildEvent[] = [];
    const placement = { domain: D, slice: 's1', subslice: 'edge', nf: 'nfa' };
    const scopes = [...defaultScopes('nf', placement), `sg.${D}._fl.*.join`, `sg.${D}._fl.*.update`];
    const nf = authority.issue({ agentId: `${D}:nfa`, level: 'nf', ...placement, scopes });
    writeKeyFile(join(dir, 'nfa.key'), nf.keyPair);
    writeCredentialFile(join(dir, 'nfa.cred.json'), nf.credential);
    const clientChild = fork(clientScript, [JSON.stringify({ url: server.url, keyFile: join(dir, 'nfa.key'), credentialFile: join(dir, 'nfa.cred.json'), roots, domain: D, model: MODEL, rows: 40, shift: 0 })], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    clientChild.on('message', (m) => events.push(m as ChildEvent));
    children.push(clientChild);
    const silentIdentity = authority.issue({ agentId: `${D}:silent`, level: 'nf', domain: D, slice: 's1', subslice: 'edge', nf: 'silent', scopes: [...defaultScopes('nf', { domain: D, slice: 's1', subslice: 'edge', nf: 'silent' }), `sg.${D}._fl.*.join`] });
    const silent = await connectNatsBus({ servers: server.url, identity: silentIdentity, trustStore: authority.trustStore() });
    const heartbeat = setInterval(() => void silent.publishJson(`sg.${D}._fl.${MODEL}.join`, { type: 'join', model: MODEL, installedVersion: 99 }).catch(() => {}), 300);
    try {
      const first = start();
      await waitFor(() => first.inbox.some((m) => m.type === 'ready'), 20000, 'coordinator ready');
      await waitFor(() => events.some((e) => e.type === 'installed' && e.version === 1), 20000, 'client on v1');
      let status = await ask(first, 'status', 'status');
      for (let i = 0; i < 100 && (status.clients?.length ?? 0) < 2; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = await ask(first, 'status', 'status');
      }
      assert.equal(status.clients?.length, 2);
      // the silent client is behind (it says version 99… but never trains): round 1 closes at its deadline with the real client
      const r1 = await ask(first, 'round', 'report');
      assert.equal(r1.report?.outcome, 'published');
      assert.equal(r1.report?.version, 2);
      await waitFor(() => events.some((e) => e.type === 'installed' && e.version === 2), 20000, 'client on v2');
      // round 2: the real client answers at once, the silent one keeps the round open; crash now
      first.child.send({ type: 'round' });
      await waitFor(() => events.some((e) => e.type === 'trained' && e.round === 2), 20000, 'round 2 update sent');
      first.child.kill('SIGKILL');
      await waitFor(() => first.child.signalCode === 'SIGKILL', 5000, 'coordinator killed');
      assert.ok(!first.inbox.some((m) => m.type === 'report' && m.report?.round === 2));

      const second = start();
      await waitFor(() => second.inbox.some((m) => m.type === 'ready'), 20000, 'restarted coordinator ready');
      status = await ask(second, 'status', 'status');
      assert.equal(status.version, 2);
      assert.deepEqual(status.history?.slice(0, 2).map((h) => [h.round, h.outcome]), [[2, 'aborted'], [1, 'published']]);
      for (let i = 0; i < 100 && (status.clients?.length ?? 0) < 2; i++) {
        await new Promise((r) => setTimeout(r, 200)); // join heartbeats reach the new process
        status = await ask(second, 'status', 'status');
      }
      const r3 = await ask(second, 'round', 'report');
      assert.equal(r3.report?.round, 3);
      assert.equal(r3.report?.outcome, 'published');
      assert.equal(r3.report?.version, 3);
      await waitFor(() => events.some((e) => e.type === 'installed' && e.version === 3), 20000, 'client on v3');
      assert.ok(!events.some((e) => e.type === 'installed' && (e.version ?? 0) > 3));
      second.child.send({ type: 'stop' });
    } finally {
      clearInterval(heartbeat);
      await silent.close();
      if (clientChild.connected) clientChild.send({ type: 'stop' });
    }
  });
});
