import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '@sliceguard/core';
import { type NatsServerHandle, startNatsServer, waitUntil } from '@sliceguard/test-utils';

const CLI = resolve(fileURLToPath(new URL('../../bin/sliceguard.js', import.meta.url)));
const METRICS = ['cpu_usage', 'http_requests_per_s', 'http_response_ms'];

/** A Prometheus exporter per NF: gauges around a stable level with noise. */
function exporter(): Server {
  const rng = seededRng('up-fl-exporter');
  return createServer((req, res) => {
    const load = req.url?.endsWith('/s2') ? 1.3 : 1;
    const body = [
      '# TYPE cpu_usage gauge',
      `cpu_usage ${(0.4 * load + rng.normal(0, 0.02)).toFixed(4)}`,
      '# TYPE http_requests_per_s gauge',
      `http_requests_per_s ${(200 * load + rng.normal(0, 10)).toFixed(2)}`,
      '# TYPE http_response_ms gauge',
      `http_response_ms ${(35 + rng.normal(0, 2)).toFixed(2)}`,
      '',
    ].join('\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
}

/** JSON log lines of a file (pino), skipping anything else. */
function logLines(file: string): { msg?: string; version?: number; [k: string]: unknown }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string };
      } catch {
        return {};
      }
    });
}

describe('cli: sliceguard up with LSTM NF agents and an FL coordinator per domain', function () {
  this.timeout(120_000);
  let dir: string;
  let nats: NatsServerHandle;
  let http: Server;
  let up: ChildProcess | undefined;
  let out = '';
  let err = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-up-fl-'));
    nats = await startNatsServer();
    http = exporter();
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as AddressInfo).port;
    const nf = (id: string): string =>
      `              - { id: ${id}, type: streamer, kind: cnf, metrics: [${METRICS.join(', ')}], exporter: { url: "http://127.0.0.1:${port}/metrics/${id}" } }\n`;
    writeFileSync(
      join(dir, 'fl.yaml'),
      'version: 1\ndomains:\n  - id: d1\n    slices:\n      - id: s\n        subslices:\n          - id: e\n            kind: edge\n            nfs:\n' + nf('s1') + nf('s2'),
    );
  });
  after(async () => {
    if (up && up.exitCode === null) up.kill('SIGKILL');
    await nats?.stop();
    await new Promise((r) => http?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects learning options without --detector lstm, and an initial model for a type nobody federates', async () => {
    const child = spawn(process.execPath, [CLI, 'up', join(dir, 'fl.yaml'), '--nats', nats.url, '--data-dir', join(dir, 'bad'), '--lstm-window', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let e = '';
    child.stderr!.on('data', (b: Buffer) => (e += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(e, /need --detector lstm/);
    const other = spawn(process.execPath, [CLI, 'up', join(dir, 'fl.yaml'), '--nats', nats.url, '--data-dir', join(dir, 'bad'), '--detector', 'lstm', '--fl-initial', 'gnb=/nowhere'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let e2 = '';
    other.stderr!.on('data', (b: Buffer) => (e2 += b.toString()));
    assert.equal(await new Promise<number | null>((r) => other.once('exit', (c) => r(c))), 1);
    assert.match(e2, /--fl-initial names NF type gnb, which no FL coordinator federates \(streamer\)/);
  });

  it('starts the coordinator, the NF agents send updates in a round and every agent installs the new global version; SIGTERM stops everything', async () => {
    const data = join(dir, 'data');
    up = spawn(
      process.execPath,
      [
        CLI,
        'up',
        join(dir, 'fl.yaml'),
        '--nats',
        nats.url,
        '--data-dir',
        data,
        '--sampling-ms',
        '200',
        '--detector',
        'lstm',
        '--lstm-window',
        '5',
        '--lstm-units',
        '4',
        '--lstm-backend',
        'cpu',
        '--normal-buffer',
        '100',
        '--min-samples',
        '20',
        '--fl-heartbeat-ms',
        '1000',
        '--fl-interval',
        '2000',
        '--fl-round-timeout',
        '20000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    up.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    up.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const alive = (): true => {
      if (up!.exitCode !== null) throw new Error(`up exited early (code ${up!.exitCode})\n${out}\n${err}`);
      return true;
    };
    await waitUntil(() => alive() && /ready: all 4 loops active/.test(out), { timeoutMs: 60_000, what: () => `up ready\n${out}\n${err}` });
    assert.match(out, /started 1 FL coordinators: d1:fl\[streamer\]\(pid \d+\)/);

    // credentials: the NF agents may publish their FL joins and updates; the coordinator is a coordinator of d1
    const nfCred = JSON.parse(readFileSync(join(data, 'agents/d1_s1/agent.cred'), 'utf8')) as { claims: { scopes: string[] } };
    assert.ok(nfCred.claims.scopes.includes('sg.d1._fl.*.join') && nfCred.claims.scopes.includes('sg.d1._fl.*.update'), nfCred.claims.scopes.join(' '));
    const flCred = JSON.parse(readFileSync(join(data, 'coordinators/d1/fl.cred'), 'utf8')) as { claims: { agentId: string; level: string; scopes: string[] } };
    assert.equal(flCred.claims.agentId, 'd1:fl');
    assert.equal(flCred.claims.level, 'coordinator');
    assert.ok(flCred.claims.scopes.includes('sg.d1._fl.>'));

    // a round aggregating both agents' updates (after the seeding round) is published …
    const aggregated = /fl d1\/streamer round (\d+): published v(\d+) \(selected 2, accepted 2, rejected 0\)/;
    await waitUntil(() => alive() && aggregated.test(out), { timeoutMs: 60_000, what: () => `an aggregated FL round\n${out}\n${err}` });
    const [, round, versionText] = aggregated.exec(out)!;
    const version = Number(versionText);
    assert.ok(version >= 2, out);
    const reports = readFileSync(join(data, 'coordinators/d1/rounds.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { round: number; outcome: string; version?: number; accepted: string[]; aggregator: string });
    const report = reports.find((r) => r.round === Number(round))!;
    assert.deepEqual([...report.accepted].sort(), ['d1:s1', 'd1:s2']);
    assert.equal(report.version, version);
    assert.match(report.aggregator, /^trust-filter\+clip/, 'the default robust aggregator');
    assert.ok(reports.some((r) => r.outcome === 'published' && r.version === 1 && r.aggregator === 'seed'), 'version 1 was seeded');

    // … both agents trained for it, and each installed it with a threshold recalibrated on its own data
    for (const id of ['s1', 's2']) {
      const log = join(data, `agents/d1_${id}/agent.log`);
      await waitUntil(() => logLines(log).some((l) => l.msg?.startsWith('FL model installed') && l.version === version), {
        timeoutMs: 20_000,
        what: () => `d1:${id} installs v${version}\n${readFileSync(log, 'utf8').slice(-3000)}`,
      });
      const lines = logLines(log);
      assert.ok(lines.some((l) => l.msg === 'FL update sent' && l.round === Number(round)), `d1:${id} sent an update in round ${round}`);
      const installed = lines.find((l) => l.msg?.startsWith('FL model installed') && l.version === version)!;
      assert.ok(typeof installed.threshold === 'number' && Number.isFinite(installed.threshold) && installed.threshold > 0, JSON.stringify(installed));
      assert.ok((installed.rows as number) >= 20);
    }

    up.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (up!.exitCode !== null ? r(up!.exitCode) : up!.once('exit', (c) => r(c))));
    const tails = (): string =>
      ['s1', 's2']
        .map((id) => join(data, `agents/d1_${id}/agent.log`))
        .map((f) => `--- ${f}\n${existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-15).join('\n') : '(none)'}`)
        .join('\n');
    assert.equal(code, 0, `${out}\n${err}\n${tails()}`);
    assert.match(err, /up: received SIGTERM; stopping 5 agents and 1 FL coordinators/);
    assert.match(out, /stopped: 5 agents, 1 FL coordinators\n/);
  });
});
