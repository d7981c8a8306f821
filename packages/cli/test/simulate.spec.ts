import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
