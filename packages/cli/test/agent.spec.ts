import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDomainAuthority, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { edgeTopologyYaml, freePort, type NatsServerHandle, startNatsServer } from '@sliceguard/test-utils';
import { main } from '../src/main.js';
import { run } from './helpers.js';

const TOPOLOGY = edgeTopologyYaml(['id: web, type: web, kind: cnf']);

describe('cli: sliceguard agent', function () {
  this.timeout(60_000);
  let dir: string;
  let roots: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-agent-'));
    writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
    const authority = createDomainAuthority('d1');
    roots = `d1=${authority.publicKeyHex}`;
    for (const [name, claims] of [
      ['web', { agentId: 'd1:web', level: 'nf', slice: 's1', subslice: 'edge1', nf: 'web' }],
      ['edge', { agentId: 'd1:edge1', level: 'subslice', slice: 's1', subslice: 'edge1' }],
    ] as const) {
      const id = authority.issue(claims);
      writeKeyFile(join(dir, `${name}.key`), id.keyPair);
      writeCredentialFile(join(dir, `${name}.cred`), id.credential);
    }
    writeFileSync(join(dir, 'metrics.csv'), `timestamp,cpu_usage,load1,memory_used,net_in_bytes,net_out_bytes,open_connections,http_requests_per_s,http_response_ms\n${Array.from({ length: 50 }, (_, i) => `${i * 1000},0.3,1,500,1000,5000,100,${100 + (i % 5)},20`).join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = (id: string, name: string, nats = 'nats://127.0.0.1:1') => [
    'agent',
    '--topology',
    join(dir, 'topology.yaml'),
    '--id',
    id,
    '--nats',
    nats,
    '--key',
    join(dir, `${name}.key`),
    '--credential',
    join(dir, `${name}.cred`),
    '--data-dir',
    join(dir, `data-${name}`),
  ];

  it('documents its options', async () => {
    const r = await run('agent', '--help');
    assert.equal(r.code, 0);
    for (const o of ['--topology', '--id', '--nats', '--key', '--credential', '--data-dir', '--root', '--csv']) assert.match(r.out, new RegExp(o));
  });

  it('refuses an agent id that is not in the topology, listing the known ones', async () => {
    const r = await run(...base('d1:nope', 'web'), '--root', roots);
    assert.equal(r.code, 1);
    assert.match(r.err, /error AGENT_ERR_UNKNOWN_AGENT: agent "d1:nope" is not in the topology .*known agents: d1:tsm, d1:s1, d1:edge1, d1:web/);
  });

  it('refuses a credential issued to another agent, a malformed --root, and a missing root', async () => {
    const other = await run(...base('d1:web', 'edge'), '--root', roots);
    assert.equal(other.code, 1);
    assert.match(other.err, /AGENT_ERR_CONFIG: credential .*edge.cred is for d1:edge1, not d1:web/);
    const badRoot = await run(...base('d1:web', 'web'), '--root', 'd1=zz');
    assert.equal(badRoot.code, 1);
    assert.match(badRoot.err, /--root "d1=zz" must be DOMAIN=PUBLICKEYHEX/);
    const noRoot = await run(...base('d1:web', 'web'));
    assert.equal(noRoot.code, 1);
    assert.match(noRoot.err, /no trusted domain root: pass --root DOMAIN=PUBHEX or put roots.json beside/);
  });

  it('an NF without exporter needs --csv, and a dead broker is a clear error', async () => {
    const noCollector = await run(...base('d1:web', 'web'), '--root', roots);
    assert.equal(noCollector.code, 1);
    assert.match(noCollector.err, /BUS_ERR_CONNECT|AGENT_ERR_CONFIG/);
    const dead = await run(...base('d1:web', 'web'), '--root', roots, '--csv', join(dir, 'metrics.csv'));
    assert.equal(dead.code, 1);
    assert.match(dead.err, /error BUS_ERR_CONNECT: cannot connect to NATS at nats:\/\/127.0.0.1:1/);
  });

  it('checks the detector and learning options before connecting', async () => {
    const args = [...base('d1:web', 'web'), '--root', roots, '--csv', join(dir, 'metrics.csv')];
    const unknown = await run(...args, '--detector', 'forest');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /--detector must be one of statistical, lstm, got "forest"/);
    const orphan = await run(...args, '--normal-buffer', '50');
    assert.equal(orphan.code, 1);
    assert.match(orphan.err, /need --detector lstm/);
    const window = await run(...args, '--detector', 'lstm', '--lstm-window', '1');
    assert.equal(window.code, 1);
    assert.match(window.err, /--lstm-window must be at least 2/);
    const backend = await run(...args, '--detector', 'lstm', '--lstm-backend', 'gpu');
    assert.equal(backend.code, 1);
    assert.match(backend.err, /--lstm-backend must be auto or one of/);
  });

  describe('with a nats-server', () => {
    let nats: NatsServerHandle;
    before(async () => {
      nats = await startNatsServer();
    });
    after(async () => nats?.stop());

    it('runs an NF agent from a CSV replay with its HTTP API until SIGTERM', async () => {
      let err = '';
      const port = await freePort();
      const done = main(['node', 'sliceguard', ...base('d1:web', 'web', nats.url), '--root', roots, '--csv', join(dir, 'metrics.csv'), '--sampling-ms', '100', '--log-level', 'silent', '--http-port', String(port)], {
        out: () => {},
        err: (t) => (err += t),
      });
      const deadline = Date.now() + 30_000;
      while (!err.includes('running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(err, /agent d1:web running \(level nf\)/);
      assert.match(err, new RegExp(`HTTP API on http://127.0.0.1:${port}`));
      const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { loops: { agentId: string; lifecycle: string }[] };
      assert.equal(status.loops[0].agentId, 'd1:web');
      assert.equal(status.loops[0].lifecycle, 'instantiated', 'no domain agent runs here to activate it');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /sliceguard_loop_/);
      assert.match(metrics, /^sliceguard_incidents_open\{level="nf"\} 0$/m, 'open incidents gauge');
      assert.match(metrics, /^# TYPE sliceguard_loop_iterations_total counter$/m);
      assert.match(metrics, /^# TYPE sliceguard_events_total counter$/m);
      process.emit('SIGTERM');
      assert.equal(await done, 0, err);
      assert.match(err, /agent d1:web stopped/);
      const noCsv = await run(...base('d1:web', 'web', nats.url), '--root', roots);
      assert.equal(noCsv.code, 1);
      assert.match(noCsv.err, /NF web has no exporter url in the topology; give one \(nfs\[\]\.exporter\.url\) or pass --csv FILE/);
    });
  });
});
