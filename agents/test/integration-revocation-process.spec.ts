import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock } from '@sliceguard/core';
import { connectNatsBus, REVOCATIONS_TOPIC } from '@sliceguard/bus';
import type { NatsBus } from '@sliceguard/bus';
import { createDomainAuthority, TrustStore, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { edgeTopologyYaml, type NatsServerHandle, startNatsServer, waitUntil } from '@sliceguard/test-utils';
import type { TrustTransitionEvent } from '@sliceguard/trust';
import type { DomainAgent, RunningAgent } from '../src/index.js';
import { runAgentProcess } from '../src/index.js';

const TOPOLOGY = edgeTopologyYaml(['id: web, type: web, kind: cnf']);

const until = (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> => waitUntil(check, { timeoutMs, what, intervalMs: 25 });

describe('integration: a domain agent process with the root key publishes trust revocations', function () {
  this.timeout(30_000);
  let nats: NatsServerHandle;
  let dir: string;
  let watch: NatsBus | undefined;
  const authority = createDomainAuthority('d1');
  const credentialIds = new Map<string, string>();

  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'sg-revoke-'));
    writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
    writeKeyFile(join(dir, 'root.key'), authority.keyPair);
    writeFileSync(join(dir, 'roots.json'), JSON.stringify([{ domain: 'd1', publicKey: authority.publicKeyHex }]));
    // The layout `sliceguard up` writes: <dir>/agents/<agent>/agent.{key,cred}
    for (const [name, claims] of [
      ['tsm', { agentId: 'd1:tsm', level: 'domain' }],
      ['web', { agentId: 'd1:web', level: 'nf', slice: 's1', subslice: 'edge1', nf: 'web' }],
      ['edge1', { agentId: 'd1:edge1', level: 'subslice', slice: 's1', subslice: 'edge1' }],
    ] as const) {
      const id = authority.issue(claims);
      mkdirSync(join(dir, 'agents', name), { recursive: true });
      writeKeyFile(join(dir, 'agents', name, 'agent.key'), id.keyPair);
      writeCredentialFile(join(dir, 'agents', name, 'agent.cred'), id.credential);
      writeFileSync(join(dir, 'agents', name, 'roots.json'), JSON.stringify([{ domain: 'd1', publicKey: authority.publicKeyHex }]));
      credentialIds.set(claims.agentId, id.credential.id);
    }
    const observer = authority.issue({ agentId: 'd1:observer', level: 'domain' });
    watch = await connectNatsBus({ servers: nats.url, identity: observer, trustStore: new TrustStore({ roots: [{ domain: 'd1', publicKey: authority.publicKeyHex }] }), clock: systemClock(), logger: silentLogger() });
  });
  after(async () => {
    await watch?.close().catch(() => {});
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = (): Promise<RunningAgent> =>
    runAgentProcess({
      topologyFile: join(dir, 'topology.yaml'),
      agentId: 'd1:tsm',
      nats: nats.url,
      keyFile: join(dir, 'agents', 'tsm', 'agent.key'),
      credentialFile: join(dir, 'agents', 'tsm', 'agent.cred'),
      dataDir: join(dir, 'agents', 'tsm'),
      rootKeyFile: join(dir, 'root.key'),
      credentialsDir: join(dir, 'agents'),
      coordination: { heartbeatMs: 0 },
      logLevel: 'silent',
    });
  const event = (subject: string): TrustTransitionEvent => ({ subject, score: 0.05, reason: 'test', from: 'quarantined', to: 'revoked' }) as unknown as TrustTransitionEvent;

  it('signs cumulative lists with a sequence that survives a restart', async () => {
    const lists: { seq: number; revoked: string[] }[] = [];
    const sub = watch!.subscribe(`sg.d1._sys.${REVOCATIONS_TOPIC}`, (m) => {
      lists.push(m.json() as { seq: number; revoked: string[] });
    });
    let running = await start();
    await (running.agent as DomainAgent).revoke('d1:web', event('d1:web'));
    await until('the first list', () => lists.length === 1);
    assert.deepEqual(lists[0], { ...lists[0], seq: 1, revoked: [credentialIds.get('d1:web')] });
    await running.stop();

    running = await start();
    await (running.agent as DomainAgent).revoke('d1:edge1', event('d1:edge1'));
    await until('the second list', () => lists.length === 2);
    assert.equal(lists[1].seq, 2, 'the sequence continues after a restart (receivers would refuse a stale one)');
    assert.deepEqual([...lists[1].revoked].sort(), [credentialIds.get('d1:web'), credentialIds.get('d1:edge1')].sort());
    // An agent without a credential file cannot be mapped: recorded as such, nothing published.
    await (running.agent as DomainAgent).revoke('d1:s1', event('d1:s1'));
    const decisions = await running.agent.knowledge.query('decision');
    assert.ok(JSON.stringify(decisions).includes('revocation_without_credential'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(lists.length, 2);
    await running.stop();
    sub.unsubscribe();
  });
});
