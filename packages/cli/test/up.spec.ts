import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsServerHandle, startNatsServer } from '@sliceguard/test-utils';
import { run } from './helpers.js';

const CLI = resolve(fileURLToPath(new URL('../../bin/sliceguard.js', import.meta.url)));

describe('cli: sliceguard up', function () {
  this.timeout(90_000);
  let dir: string;
  let nats: NatsServerHandle;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-up-'));
    nats = await startNatsServer();
  });
  after(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a missing topology file and bad options', async () => {
    const missing = await run('up', join(dir, 'nope.yaml'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope\.yaml/);
    const badLogs = await run('up', join(dir, 'nope.yaml'), '--logs', 'nowhere');
    assert.equal(badLogs.code, 1);
    assert.match(badLogs.err, /--logs must be files or inherit/);
  });

  it('issues credentials, and stops everything (exit 1) when an agent cannot start', async () => {
    // The NF has no exporter URL, so its agent exits with a configuration error.
    writeFileSync(
      join(dir, 'broken.yaml'),
      'version: 1\ndomains:\n  - id: d2\n    slices:\n      - id: s\n        subslices:\n          - id: e\n            kind: edge\n            nfs:\n              - { id: web, type: web, kind: cnf }\n',
    );
    const child = spawn(process.execPath, [CLI, 'up', join(dir, 'broken.yaml'), '--nats', nats.url, '--data-dir', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 1, `${out}\n${err}`);
    assert.match(out, /started 4 agents: d2:s\(pid \d+\), d2:e\(pid \d+\), d2:web\(pid \d+\), d2:tsm\(pid \d+\)/);
    assert.match(err, /agent d2:web exited \(code 1\)/);
    assert.match(err, /up: agent d2:web failed; stopping 4 agents/);
    assert.match(out, /stopped: 4 agents, 1 exited with an error: d2:web=1/);
    assert.match(readFileSync(join(dir, 'data/agents/d2_web/agent.log'), 'utf8'), /has no exporter url/);
    const roots = JSON.parse(readFileSync(join(dir, 'data/roots.json'), 'utf8')) as { domain: string; publicKey: string }[];
    assert.equal(roots[0].domain, 'd2');
    assert.match(roots[0].publicKey, /^[0-9a-f]{64}$/);
    const cred = JSON.parse(readFileSync(join(dir, 'data/agents/d2_web/agent.cred'), 'utf8')) as { claims: { agentId: string; scopes: string[] } };
    assert.equal(cred.claims.agentId, 'd2:web');
    assert.deepEqual(cred.claims.scopes.slice(0, 1), ['sg.d2.s.e.web.>']);
  });
});
