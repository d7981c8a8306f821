import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bus } from '@sliceguard/core';
import { seededRng, systemClock } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import { createDomainAuthority, readKeyFile, TrustStore } from '@sliceguard/identity';
import { NF_CATALOGUE } from '@sliceguard/topology';
import { type NatsServerHandle, startNatsServer, waitUntil } from '@sliceguard/test-utils';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'packages/cli/bin/sliceguard.js');
const POLICY = join(ROOT, 'topology/examples/policies/embb.yaml');

interface Seen {
  subject: string;
  sender: string;
  body: Record<string, unknown>;
  at: number;
}

const NFS: { id: string; type: keyof typeof NF_CATALOGUE; subslice: string }[] = [
  { id: 'gnb-1', type: 'gnb', subslice: 'ran' },
  { id: 'gnb-2', type: 'gnb', subslice: 'ran' },
  { id: 'gnb-3', type: 'gnb', subslice: 'ran' },
  { id: 'amf', type: 'amf', subslice: 'cn' },
  { id: 'smf', type: 'smf', subslice: 'cn' },
];

function topologyYaml(port: number): string {
  const nf = (n: (typeof NFS)[number]) =>
    `              - { id: ${n.id}, type: ${n.type}, ${n.type === 'gnb' ? 'kind: pnf' : 'replicas: { min: 1, max: 4, initial: 1 }'}, exporter: { url: "http://127.0.0.1:${port}/metrics/${n.id}" } }`;
  return `version: 1
domains:
  - id: mno
    slices:
      - id: embb
        policies: [${JSON.stringify(POLICY)}]
        subslices:
          - id: embb-ran
            kind: ran
            nfs:
${NFS.filter((n) => n.subslice === 'ran').map(nf).join('\n')}
          - id: embb-cn
            kind: cn
            nfs:
${NFS.filter((n) => n.subslice === 'cn').map(nf).join('\n')}
`;
}

/** A Prometheus exporter for every NF: gauges around a stable level; gNB signaling surges on demand. */
function exporter(state: { surge: boolean }): Server {
  const rng = seededRng('exporter');
  return createServer((req, res) => {
    const id = (req.url ?? '').split('/').pop() ?? '';
    const nf = NFS.find((n) => n.id === id);
    if (!nf) {
      res.writeHead(404).end();
      return;
    }
    const lines: string[] = [];
    for (const m of NF_CATALOGUE[nf.type].metrics) {
      const surging = state.surge && nf.type === 'gnb' && /rrc|attach|signaling/.test(m);
      const v = rng.normal(100, 4) * (surging ? 5 : 1);
      lines.push(`# TYPE ${m} gauge`, `${m} ${v.toFixed(3)}`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
  });
}

const waitFor = (cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> => waitUntil(cond, { timeoutMs, what, intervalMs: 50 });

describe('e2e: signaling-DDoS flow over a real nats-server, one process per agent (sliceguard up)', function () {
  this.timeout(90_000);
  let nats: NatsServerHandle;
  let http: Server;
  let up: ChildProcess | undefined;
  let observer: Bus | undefined;
  let dir: string;
  const state = { surge: false };
  const seen: Seen[] = [];
  let stdout = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-e2e-'));
    nats = await startNatsServer();
    http = exporter(state);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as AddressInfo).port;
    writeFileSync(join(dir, 'topology.yaml'), topologyYaml(port));
  });

  after(async () => {
    await observer?.close();
    if (up && up.exitCode === null) up.kill('SIGKILL');
    await new Promise<void>((r) => http.close(() => r()));
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('NF incidents → sub-slice incident → slice → delegation → CN action → outcome back up; clean shutdown', async () => {
    const t0 = Date.now();
    up = spawn(
      process.execPath,
      [CLI, 'up', join(dir, 'topology.yaml'), '--nats', nats.url, '--data-dir', join(dir, 'data'), '--sampling-ms', '100', '--warmup', '20', '--mano-delay-ms', '200', '--heartbeat-ms', '1000', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    up.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    up.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitFor(() => stdout.includes('ready: all'), 45_000, () => `"ready" from sliceguard up; stdout: ${stdout} stderr: ${stderr}`);
    const started = Date.now() - t0;

    // Observe every hop with an operator identity from the same domain root.
    const authority = createDomainAuthority('mno', { keyPair: readKeyFile(join(dir, 'data/roots/mno.key')) });
    observer = await connectNatsBus({
      servers: nats.url,
      identity: authority.issue({ agentId: 'mno:e2e-observer', level: 'operator' }),
      trustStore: new TrustStore({ roots: [{ domain: 'mno', publicKey: authority.publicKeyHex }] }),
      clock: systemClock(),
    });
    observer.subscribe('sg.mno.>', (m) => {
      if (m.subject.endsWith('.status')) return;
      seen.push({ subject: m.subject, sender: m.sender.agentId, body: m.json<Record<string, unknown>>(), at: Date.now() });
    });
    await observer.flush();
    await new Promise((r) => setTimeout(r, 2500)); // warm-up on normal load (20 samples at 100 ms)
    state.surge = true;
    const find = (pred: (s: Seen) => boolean) => seen.find(pred);
    const done = () =>
      find((s) => s.sender === 'mno:embb-cn' && s.body.kind === 'outcome' && s.body.status === 'done') !== undefined &&
      find((s) => s.sender === 'mno:embb' && s.body.kind === 'incident_outcome') !== undefined &&
      find((s) => s.sender === 'mno:embb' && s.body.kind === 'escalation_ack' && s.body.status === 'resolved') !== undefined;
    await waitFor(done, 15_000, () => `the full chain; seen: ${seen.map((s) => `${s.sender}:${s.body.kind}:${s.body.status ?? ''}`).join(', ')}`);

    // hop 1: RAN NF agents escalated signaling anomalies, and the RAN sub-slice acknowledged them
    const nfEscalations = seen.filter((s) => /^mno:gnb-/.test(s.sender) && s.body.kind === 'escalation');
    assert.ok(new Set(nfEscalations.map((s) => s.sender)).size >= 2, 'at least two gNB agents escalated');
    assert.ok(nfEscalations.every((s) => s.subject === `sg.mno.embb.embb-ran.${s.sender.slice(4)}.escalate`));
    assert.ok(seen.some((s) => s.sender === 'mno:embb-ran' && s.body.kind === 'escalation_ack' && /^mno:gnb-/.test(String(s.body.to))));
    // hop 2: the RAN sub-slice correlated them into an incident and escalated it to the slice
    const ranEscalation = find((s) => s.sender === 'mno:embb-ran' && s.body.kind === 'escalation');
    assert.ok(ranEscalation, 'RAN sub-slice escalated');
    assert.equal(ranEscalation.subject, 'sg.mno.embb.embb-ran._.escalate');
    assert.equal(ranEscalation.body.escalationKind, 'signaling_ddos');
    // hop 3: the slice delegated a scale-out to the CN sub-slice
    const delegation = find((s) => s.sender === 'mno:embb' && s.body.kind === 'delegation');
    assert.ok(delegation, 'slice delegated');
    assert.equal(delegation.subject, 'sg.mno.embb.embb-cn._.delegate');
    assert.equal(delegation.body.action, 'scale_out');
    // hop 4: the CN sub-slice accepted and scaled AMF and SMF out through the MANO actuator
    const answers = seen.filter((s) => s.sender === 'mno:embb-cn' && s.body.kind === 'outcome' && s.body.delegationId === delegation.body.id);
    assert.deepEqual(
      answers.map((a) => a.body.status),
      ['accepted', 'done'],
    );
    const doneMsg = answers[1].body as { success: boolean; outcomes: { type: string; target: string; status: string }[] };
    assert.equal(doneMsg.success, true, JSON.stringify(doneMsg));
    assert.deepEqual(
      doneMsg.outcomes.map((o) => `${o.type}:${o.target}:${o.status}`).sort(),
      ['scale_out:amf:succeeded', 'scale_out:smf:succeeded'],
    );
    // hop 5: the outcome went back up to the domain agent and down to the RAN sub-slice
    const up1 = find((s) => s.sender === 'mno:embb' && s.body.kind === 'incident_outcome');
    assert.equal(up1?.body.to, 'mno:tsm');
    assert.equal(up1?.body.success, true);
    assert.equal(find((s) => s.sender === 'mno:embb' && s.body.kind === 'escalation_ack' && s.body.status === 'resolved')?.body.to, 'mno:embb-ran');
    // correlation: one id from the RAN incident to the delegation and its outcome
    assert.equal(delegation.body.correlationId, ranEscalation.body.correlationId);
    assert.equal(up1?.body.correlationId, ranEscalation.body.correlationId);

    // Clean shutdown on SIGTERM: every agent stops, up exits 0.
    const exit = new Promise<number | null>((r) => up!.once('exit', (code) => r(code)));
    up.kill('SIGTERM');
    const code = await Promise.race([exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    assert.equal(code, 0, `up exit code; stdout: ${stdout}\nstderr: ${stderr}`);
    assert.match(stdout, /stopped: 9 agents\n/);
    assert.doesNotMatch(stdout, /exited with an error/);
    assert.ok(started > 0);
  });
});
