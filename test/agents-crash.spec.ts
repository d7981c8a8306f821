import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncidentEvent } from '@sliceguard/core';
import { silentLogger, systemClock } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import type { NatsBus } from '@sliceguard/bus';
import { createDomainAuthority, TrustStore, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { runAgentProcess } from '@sliceguard/agents';
import type { RunningAgent } from '@sliceguard/agents';
import { DurableState, openStore } from '@sliceguard/store';
import { edgeTopologyYaml, type NatsServerHandle, startNatsServer, waitUntil } from '@sliceguard/test-utils';
import { main } from '@sliceguard/cli';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'packages/cli/bin/sliceguard.js');

const TOPOLOGY = edgeTopologyYaml(['id: web, type: web, kind: cnf, exporter: { url: "http://127.0.0.1:1/metrics" }']);

const until = (what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> => waitUntil(check, { timeoutMs, what, intervalMs: 50 });

/**
 * The agent-level kill -9 test: the slice agent runs as its own `sliceguard agent` process over a
 * real nats-server; the domain agent and the sub-slice agent run in this process. The sub-slice
 * escalates a flood incident, the slice delegates deploy_vsf back to it, the sub-slice is gone (so
 * the delegation stays pending), and the slice process is SIGKILLed. Restarted on the same data
 * directory, it must come back with its incident, its pending delegation (resent with the same id)
 * and its loop state, and its signed audit log must verify.
 */
describe('agents: kill -9 of an agent process mid-incident (real nats-server, real child process)', function () {
  this.timeout(90_000);
  let nats: NatsServerHandle;
  let dir: string;
  let child: ChildProcess | undefined;
  const running: RunningAgent[] = [];
  let watch: NatsBus | undefined;
  const authority = createDomainAuthority('d1');
  let slicePublicKey = '';

  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'sg-crash-'));
    writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
    writeFileSync(join(dir, 'roots.json'), JSON.stringify([{ domain: 'd1', publicKey: authority.publicKeyHex }]));
    for (const [name, claims] of [
      ['tsm', { agentId: 'd1:tsm', level: 'domain' }],
      ['s1', { agentId: 'd1:s1', level: 'slice', slice: 's1' }],
      ['edge1', { agentId: 'd1:edge1', level: 'subslice', slice: 's1', subslice: 'edge1' }],
    ] as const) {
      const id = authority.issue(claims);
      writeKeyFile(join(dir, `${name}.key`), id.keyPair);
      writeCredentialFile(join(dir, `${name}.cred`), id.credential);
      if (name === 's1') slicePublicKey = Buffer.from(id.keyPair.publicKey).toString('hex');
    }
    const observer = authority.issue({ agentId: 'd1:observer', level: 'domain' });
    watch = await connectNatsBus({ servers: nats.url, identity: observer, trustStore: new TrustStore({ roots: [{ domain: 'd1', publicKey: authority.publicKeyHex }] }), clock: systemClock(), logger: silentLogger() });
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    for (const r of running) await r.stop().catch(() => {});
    await watch?.close().catch(() => {});
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const inProcess = (name: string, agentId: string) =>
    runAgentProcess({
      topologyFile: join(dir, 'topology.yaml'),
      agentId,
      nats: nats.url,
      keyFile: join(dir, `${name}.key`),
      credentialFile: join(dir, `${name}.cred`),
      dataDir: join(dir, `data-${name}`),
      policies: 'builtin',
      coordination: { heartbeatMs: 500, ackTimeoutMs: 10_000 },
      logLevel: 'silent',
    });

  const spawnSlice = (log: { text: string }): ChildProcess => {
    const p = spawn(
      process.execPath,
      [
        CLI,
        'agent',
        '--topology',
        join(dir, 'topology.yaml'),
        '--id',
        'd1:s1',
        '--nats',
        nats.url,
        '--key',
        join(dir, 's1.key'),
        '--credential',
        join(dir, 's1.cred'),
        '--data-dir',
        join(dir, 'data-s1'),
        '--policies',
        'builtin',
        '--ack-timeout-ms',
        '10000',
        '--heartbeat-ms',
        '500',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout?.on('data', (d: Buffer) => (log.text += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    return p;
  };

  it('resumes with its incident, pending delegation and loop state; the audit log verifies', async () => {
    const delegations: { id: string; to: string; action: string }[] = [];
    const sub = watch!.subscribe('sg.d1.>', (m) => {
      if (m.sender.agentId !== 'd1:s1') return;
      const body = m.json() as { kind?: string; id?: string; to?: string; action?: string };
      if (body.kind === 'delegation') delegations.push({ id: body.id!, to: body.to!, action: body.action! });
    });

    const first = { text: '' };
    child = spawnSlice(first);
    await until('the slice agent to start', () => /agent d1:s1 running/.test(first.text));
    const edge = await inProcess('edge1', 'd1:edge1');
    running.push(edge);
    const tsm = await inProcess('tsm', 'd1:tsm');
    running.push(tsm);
    const supervisor = () => (tsm.agent as unknown as { supervisor: { loops(): { agentId: string; state: string }[] } }).supervisor;
    await until('the slice and sub-slice loops to be active', () => supervisor().loops().filter((l) => l.agentId !== 'd1:web').every((l) => l.state === 'active'));

    // The sub-slice correlates a flood and escalates it; it then goes away, so the slice's delegation stays pending.
    let acknowledged = false;
    edge.agent.coordinator.on((n) => {
      if (n.type === 'escalation_acknowledged') acknowledged = true;
    });
    const now = Date.now();
    const incident: IncidentEvent = {
      type: 'incident',
      id: 'inc-flood-1',
      at: now,
      source: 'd1:edge1',
      target: 'edge1',
      severity: 0.9,
      level: 'subslice',
      kind: 'volumetric_flood',
      children: ['a-1', 'a-2'],
      correlationId: 'corr-flood-1',
      evidence: { detector: 'test', score: 0.9, threshold: 0.5, contributors: [], window: { start: now - 5000, end: now } },
    };
    assert.ok(edge.agent.loop.pushEvent(incident));
    await until('the escalation to be acknowledged by the slice', () => acknowledged);
    await edge.stop('leaving before the delegation arrives');
    running.splice(running.indexOf(edge), 1);
    await until('the slice to delegate deploy_vsf', () => delegations.length > 0);
    const delegation = delegations[0]!;
    assert.equal(delegation.to, 'd1:edge1');
    assert.equal(delegation.action, 'deploy_vsf');
    // Let the durable mirror records land (the coordination layer's write-ahead entry precedes the publish).
    await new Promise((r) => setTimeout(r, 500));

    child.kill('SIGKILL');
    await new Promise<void>((r) => (child!.exitCode !== null || child!.signalCode !== null ? r() : child!.once('exit', () => r())));
    assert.equal(child.signalCode, 'SIGKILL');

    const second = { text: '' };
    const before = delegations.length;
    child = spawnSlice(second);
    await until('the restarted slice agent to report what it recovered', () => /recovered durable state/.test(second.text));
    const line = second.text.split('\n').find((l) => l.includes('recovered durable state'))!;
    const recovered = JSON.parse(line) as { lifecycle?: string; incidents: number; delegations: number };
    assert.equal(recovered.lifecycle, 'active', 'loop state as committed before the kill');
    assert.ok(recovered.incidents >= 1, `open incident recovered (${line})`);
    assert.equal(recovered.delegations, 1, `pending delegation recovered (${line})`);
    // Nothing acknowledged is lost: the pending delegation is sent again, with the same id.
    await until('the pending delegation to be resent after the restart', () => delegations.slice(before).some((d) => d.id === delegation.id), 30_000);
    await until('the restarted loop to be active again', () => supervisor().loops().some((l) => l.agentId === 'd1:s1' && l.state === 'active'));
    sub.unsubscribe();

    child.kill('SIGTERM');
    await new Promise<void>((r) => (child!.exitCode !== null ? r() : child!.once('exit', () => r())));

    const store = await openStore(join(dir, 'data-s1'), { clock: systemClock() });
    try {
      const snap = await new DurableState(store, 'd1:s1').recover();
      assert.ok(snap.pendingDelegations.some((d) => d.id === delegation.id && d.direction === 'outgoing'), 'the delegation is still pending in the store');
      assert.ok(snap.openIncidents.length >= 1);
    } finally {
      await store.close();
    }
    let out = '';
    let err = '';
    const code = await main(['node', 'sliceguard', 'audit', 'verify', '--data-dir', join(dir, 'data-s1'), '--public-key', slicePublicKey], { out: (t) => (out += t), err: (t) => (err += t) });
    assert.equal(code, 0, `${out}\n${err}`);
    assert.match(out, /audit log OK/);
  });
});
