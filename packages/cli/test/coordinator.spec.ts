import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectNatsBus } from '@sliceguard/bus';
import { createDenseAutoencoder, createFederatedClient, type FederatedClient } from '@sliceguard/federation';
import { createDomainAuthority, defaultScopes, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { type NatsServerHandle, startNatsServer, waitUntil } from '@sliceguard/test-utils';
import { LstmAutoencoder, saveModel } from '@sliceguard/analytics';
import { federatedLstm } from '@sliceguard/agents';
import { run } from './helpers.js';

const CLI = resolve(fileURLToPath(new URL('../../bin/sliceguard.js', import.meta.url)));

/**
 * `sliceguard coordinator --domain D … --model gnb --stop-on-stdin-close` as a child process (how `up`
 * runs it), with a fresh coordinator credential of D's authority written under `dir`.
 */
function coordinatorChild(dir: string, domain: string, natsUrl: string, extra: string[] = []) {
  const authority = createDomainAuthority(domain);
  const fl = authority.issue({ agentId: `${domain}:fl`, level: 'coordinator' });
  const key = join(dir, `${domain}-fl.key`);
  const credential = join(dir, `${domain}-fl.cred.json`);
  writeKeyFile(key, fl.keyPair);
  writeCredentialFile(credential, fl.credential);
  const args = ['coordinator', '--domain', domain, '--nats', natsUrl, '--key', key, '--credential', credential, '--model', 'gnb'];
  const start = (more: string[]) => {
    const child = spawn(process.execPath, [CLI, ...args, '--data-dir', join(dir, `${domain}-fl`), ...more, '--stop-on-stdin-close'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const running = () =>
      waitUntil(() => new RegExp(`coordinator ${domain}:fl running`).test(err) || child.exitCode !== null, { timeoutMs: 20_000, what: () => `the coordinator running\n${err}` }).then(() => {
        if (child.exitCode !== null) throw new Error(`coordinator exited early: ${err}`);
      });
    return { child, exited, running, err: () => err };
  };
  return { authority, args, start: () => start(extra), startWith: start };
}

describe('sliceguard coordinator', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let dir: string;

  before(async () => {
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'sg-coord-cli-'));
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('explains its options', async () => {
    const r = await run('coordinator', '--help');
    assert.equal(r.code, 0);
    for (const flag of ['--domain', '--nats', '--key', '--credential', '--data-dir', '--model', '--aggregator', '--p2p-peer']) assert.match(r.out, new RegExp(flag));
  });

  it('reports missing or bad input with an error code', async () => {
    const missing = await run('coordinator', '--nats', server.url);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /error CORE_ERR_INVALID_INPUT: coordinator: --domain is required/);
    const a = createDomainAuthority('d1');
    const nf = a.issue({ agentId: 'd1:nf1', level: 'nf', slice: 's', subslice: 'edge', nf: 'nf1' });
    writeKeyFile(join(dir, 'nf.key'), nf.keyPair);
    writeCredentialFile(join(dir, 'nf.cred.json'), nf.credential);
    const wrongLevel = await run('coordinator', '--domain', 'd1', '--nats', server.url, '--key', join(dir, 'nf.key'), '--credential', join(dir, 'nf.cred.json'), '--data-dir', join(dir, 'x'), '--model', 'streamer');
    assert.equal(wrongLevel.code, 1);
    assert.match(wrongLevel.err, /FED_ERR_INVALID_OPTIONS: credential of d1:nf1 is a nf credential/);
    const badSpec = await run('coordinator', 'evaluate', '--groups', 'nope');
    assert.equal(badSpec.code, 1);
    assert.match(badSpec.err, /unknown group\(s\) nope/);
    const badModel = await run('coordinator', 'evaluate', '--groups', 'sim', '--model', 'svm');
    assert.equal(badModel.code, 1);
    assert.match(badModel.err, /--model must be one of dense, lstm, got "svm"/);
    const badFraction = await run('coordinator', 'evaluate', '--groups', 'sim', '--fractions', '0.3,1.5');
    assert.equal(badFraction.code, 1);
    assert.match(badFraction.err, /--fractions must lie in \(0, 1\)/);
    const badNumber = await run('coordinator', 'evaluate', '--groups', 'sim', '--rows', 'many');
    assert.equal(badNumber.code, 1);
    assert.match(badNumber.err, /--rows must be a number, got "many"/);
  });

  it('evaluate runs the same evaluation as evaluate-main (several seeds, the sim group), --json and --out', async () => {
    const out = join(dir, 'eval.json');
    const r = await run('coordinator', 'evaluate', '--groups', 'sim', '--sim-nfs', '3', '--clients', '3', '--rounds', '1', '--comparison-only', '--seeds', '1,2', '--json', '--out', out);
    const report = JSON.parse(r.out) as {
      model: { kind: string };
      groups: { group: string; clients: unknown[]; comparison: { runs: { seed: number }[]; rounds: number } }[];
      checks: { group: string; check: string; pass: boolean }[];
    };
    assert.equal(report.model.kind, 'dense');
    assert.deepEqual(report.groups.map((g) => g.group), ['sim']);
    assert.equal(report.groups[0].clients.length, 3);
    assert.deepEqual(report.groups[0].comparison.runs.map((x) => x.seed), [1, 2], 'one comparison run per seed');
    assert.equal(report.groups[0].comparison.rounds, 1);
    assert.ok(report.checks.length > 0);
    // the exit code follows the computed checks
    assert.equal(r.code, report.checks.some((c) => !c.pass) ? 1 : 0, r.err);
    const written = JSON.parse(readFileSync(out, 'utf8')) as { run: { command: string; wallSeconds: number }; checks: unknown[] };
    assert.match(written.run.command, /^sliceguard coordinator evaluate .*--groups sim/);
    assert.deepEqual(written.checks, report.checks);
  });

  it('runs rounds over NATS with LevelDB state, then shows them with status', async () => {
    const authority = createDomainAuthority('d1');
    const coordinator = authority.issue({ agentId: 'd1:fl', level: 'coordinator' });
    writeKeyFile(join(dir, 'fl.key'), coordinator.keyPair);
    writeCredentialFile(join(dir, 'fl.cred.json'), coordinator.credential);
    const clients: FederatedClient[] = [];
    const buses = [];
    for (let i = 0; i < 2; i++) {
      const placement = { domain: 'd1', slice: 's1', subslice: 'edge', nf: `nf${i}` };
      const identity = authority.issue({ agentId: `d1:nf${i}`, level: 'nf', ...placement, scopes: [...defaultScopes('nf', placement), 'sg.d1._fl.*.join', 'sg.d1._fl.*.update'] });
      const bus = await connectNatsBus({ servers: server.url, identity, trustStore: authority.trustStore() });
      buses.push(bus);
      const rows = Array.from({ length: 40 }, (_, k) => Float32Array.from({ length: 4 }, (_, j) => 0.3 + 0.1 * Math.sin(k + j + i)));
      const client = createFederatedClient({
        bus,
        domain: 'd1',
        model: 'streamer',
        trainable: createDenseAutoencoder({ inputs: 4, hidden: [3, 2], seed: 5 }),
        data: () => rows,
        heartbeatMs: 200,
      });
      await client.start();
      clients.push(client);
    }
    const dataDir = join(dir, 'coordinator-data');
    try {
      const r = await run(
        'coordinator', '--domain', 'd1', '--nats', server.url, '--key', join(dir, 'fl.key'), '--credential', join(dir, 'fl.cred.json'),
        '--data-dir', dataDir, '--model', 'streamer', '--rounds', '2', '--min-clients', '2', '--round-timeout', '5000', '--log-level', 'silent', '--json',
      );
      assert.equal(r.code, 0, r.err);
      const reports = r.out.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(reports.map((x) => [x.round, x.outcome, x.version]), [[1, 'published', 1], [2, 'published', 2]]);
      assert.equal(reports[1].accepted.length, 2);
      const status = await run('coordinator', 'status', dataDir, 'streamer', '--json');
      assert.equal(status.code, 0, status.err);
      const s = JSON.parse(status.out);
      assert.equal(s.head.version, 2);
      assert.deepEqual(s.rounds.map((x: { round: number }) => x.round), [2, 1]);
    } finally {
      for (const c of clients) await c.stop();
      for (const b of buses) await b.drain();
    }
  });

  it('stops cleanly when its stdin closes (--stop-on-stdin-close, how `up` runs it)', async () => {
    const c = coordinatorChild(dir, 'd3', server.url).start();
    await c.running();
    c.child.stdin.end();
    assert.equal(await c.exited, 0, c.err());
  });

  it('--initial MODEL=DIR: version 1 is a saved LSTM, and clients install it with its scaler', async () => {
    const metrics = ['rrc_setup_rate', 'cpu_usage'];
    const config = { metrics, window: 4, encoderUnits: [3], seed: 5 };
    const saved = await LstmAutoencoder.create(config, { backend: 'cpu' });
    const local = await LstmAutoencoder.create({ ...config, seed: 9 }, { backend: 'cpu' });
    const coordinator = coordinatorChild(dir, 'd4', server.url);
    const { authority, args } = coordinator;
    const wrong = await run(...args, '--data-dir', join(dir, 'fl4-bad'), '--initial', `amf=${join(dir, 'lstm')}`);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /--initial names model amf, which is not a --model \(gnb\)/);
    const bus = await connectNatsBus({ servers: server.url, identity: authority.issue({ agentId: 'd4:g1', level: 'nf', slice: 's', subslice: 'ran', nf: 'g1' }), trustStore: authority.trustStore() });
    const client = createFederatedClient({ bus, domain: 'd4', model: 'gnb', trainable: federatedLstm(local), data: () => [] });
    await saved.fit(Array.from({ length: 20 }, (_, i) => Float32Array.from([40 + i, 0.2 + 0.01 * (i % 3)])), { epochs: 1 });
    await saveModel(saved, join(dir, 'lstm'));
    const { child, exited, err } = coordinator.startWith(['--initial', `gnb=${join(dir, 'lstm')}`]);
    try {
      await client.start();
      await waitUntil(() => client.installedVersion === 1 || child.exitCode !== null, { timeoutMs: 20_000, what: () => `version 1 installed\n${err()}` });
      assert.equal(client.installedVersion, 1, err());
      assert.deepEqual(local.scaler.toJSON().offset, saved.scaler.toJSON().offset.map((x) => Math.fround(x)));
      assert.deepEqual(local.scaler.toJSON().scale, saved.scaler.toJSON().scale.map((x) => Math.fround(x)));
      assert.deepEqual([...local.getWeights().values], [...saved.getWeights().values]);
    } finally {
      child.stdin.end();
      await client.stop();
      await bus.drain();
      saved.dispose();
      local.dispose();
    }
    assert.equal(await exited, 0, err());
  });

  it('exits when its broker is gone before it is told to stop (the NATS connection is closed, not drained)', async () => {
    const own = await startNatsServer();
    const { child, exited, running, err } = coordinatorChild(dir, 'd5', own.url).start();
    try {
      await running();
      await own.stop();
      await new Promise((r) => setTimeout(r, 300));
      child.stdin.end();
      // bounded, so that a coordinator that hangs fails the test and is killed instead of holding mocha open
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 15 s after its stdin closed'), 15_000))]);
      assert.equal(code, 0, err());
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await own.stop().catch(() => {});
    }
  });
});
