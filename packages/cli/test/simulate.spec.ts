import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '@sliceguard/test-utils';
import { run } from './helpers.js';

describe('cli: simulate', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-sim-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--list shows every scenario with one line each', async () => {
    const r = await run('simulate', '--list');
    assert.equal(r.code, 0);
    for (const name of ['vcdn-ddos', 'signaling-storm', 'progressive-dos', 'flash-crowd', 'fl-poisoning', 'rogue-agent', 'broker-failover', 'multi-domain']) {
      assert.match(r.out, new RegExp(`^${name} `, 'm'));
    }
    const json = JSON.parse((await run('simulate', '--list', '--json')).out) as { name: string }[];
    assert.ok(json.length >= 8);
  });

  it('runs a short scenario, prints progress lines and the summary, writes the report', async () => {
    const out = join(dir, 'fc');
    const r = await run('simulate', 'flash-crowd', '--short', '--seed', '3', '--out', out, '--no-loops');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /flash-crowd: 100%/);
    assert.match(r.out, /PASS {2}no benign traffic mitigated/);
    assert.ok(existsSync(join(out, 'report.json')) && existsSync(join(out, 'report.html')));
  });

  it('rejects an unknown scenario and a bad seed', async () => {
    const r = await run('simulate', 'nope', '--quiet');
    assert.equal(r.code, 1);
    assert.match(r.err, /SIM_ERR_UNKNOWN_SCENARIO/);
    const s = await run('simulate', 'flash-crowd', '--seed', 'abc');
    assert.equal(s.code, 1);
    assert.match(s.err, /--seed/);
    const rt = await run('simulate', 'flash-crowd', '--realtime', 'fast', '--quiet');
    assert.equal(rt.code, 1);
    assert.match(rt.err, /--realtime must be a positive speed, got "fast"/);
    const n = await run('simulate', 'flash-crowd', '--nats', 'http://x', '--quiet');
    assert.equal(n.code, 1);
    assert.match(n.err, /--nats: "http:\/\/x" is not a NATS URL/);
  });

  it('--processes: rejects a count that is not a whole number ≥ 1, a run without --nats, and --no-loops', async () => {
    for (const bad of ['0', '-2', '1.5', 'two']) {
      const r = await run('simulate', 'signaling-storm', '--short', '--quiet', '--nats', 'nats://127.0.0.1:1', '--processes', bad);
      assert.equal(r.code, 1, bad);
      assert.match(r.err, new RegExp(`--processes must be a whole number ≥ 1, got "${bad.replace('.', '\\.')}"`), r.err);
    }
    const noNats = await run('simulate', 'signaling-storm', '--short', '--quiet', '--processes', '2');
    assert.equal(noNats.code, 1);
    assert.match(noNats.err, /--processes spreads the agents over processes that talk over NATS: give --nats URL as well/);
    const noLoops = await run('simulate', 'signaling-storm', '--short', '--quiet', '--nats', 'nats://127.0.0.1:1', '--processes', '2', '--no-loops');
    assert.equal(noLoops.code, 1);
    assert.match(noLoops.err, /--processes .* cannot be combined with --no-loops/);
  });

  it('--processes 2: SIGINT ends the run and every agents host exits', async function () {
    this.timeout(120_000);
    const server = await startNatsServer();
    try {
      const bin = fileURLToPath(new URL('../../bin/sliceguard.js', import.meta.url));
      const cli = spawn(process.execPath, [bin, 'simulate', 'signaling-storm', '--short', '--nats', server.url, '--processes', '2', '--realtime', '20', '--out', join(dir, 'int')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      cli.stdout.resume();
      const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
      // the run is under way once the first progress line is out (10 % of the simulated time)
      await new Promise<void>((resolve, reject) => {
        cli.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          if (/signaling-storm: \d+%/.test(err)) resolve();
        });
        void exited.then(() => reject(new Error(`the CLI exited before any progress: ${err}`)));
      });
      const hosts = execFileSync('ps', ['-o', 'pid=', '--ppid', String(cli.pid)]).toString().trim().split(/\s+/).map(Number);
      assert.equal(hosts.length, 2, `two agents hosts under the CLI: ${hosts.join(', ')}`);
      cli.kill('SIGINT');
      const code = await exited;
      assert.notEqual(code, 0);
      assert.match(err, /interrupted by SIGINT/);
      for (const pid of hosts) assert.throws(() => process.kill(pid, 0), /ESRCH/, `host pid ${pid} exited`);
    } finally {
      await server.stop();
    }
  });

  it('--nats runs the agents over a real nats-server', async function () {
    this.timeout(120_000);
    const server = await startNatsServer();
    try {
      // paced to the wall clock (here 100× real time) over the real broker
      const r = await run('simulate', 'signaling-storm', '--short', '--quiet', '--json', '--nats', server.url, '--realtime', '100', '--out', join(dir, 'nats'));
      assert.equal(r.code, 0, r.err);
      const summary = JSON.parse(r.out) as { checks: { name: string; pass: boolean }[]; wallMs: number };
      assert.ok(summary.checks.every((c) => c.pass), JSON.stringify(summary.checks));
      const report = JSON.parse(readFileSync(join(dir, 'nats', 'report.json'), 'utf8')) as { notes: string[]; simulatedS: number };
      assert.ok(summary.wallMs >= (report.simulatedS * 1000) / 100 - 50, `a paced run takes at least simulated/100 (${summary.wallMs} ms for ${report.simulatedS} s)`);
      assert.ok(report.notes.some((x) => x.startsWith(`brokers: nats-server at ${server.url}`)), report.notes.join('\n'));
    } finally {
      await server.stop();
    }
  });
});
