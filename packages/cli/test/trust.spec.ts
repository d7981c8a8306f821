import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@sliceguard/core';
import { openLevelKv } from '@sliceguard/store';
import { createTrustManager } from '@sliceguard/trust';
import { run } from './helpers.js';

describe('cli: trust', () => {
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-trust-cli-'));
    const kv = await openLevelKv(dir);
    const now = Date.now();
    const trust = await createTrustManager({ clock: systemClock(), kv, self: 'd1:tsm' });
    trust.register('d1:tsm', { anchor: true });
    trust.register('d1:upf-1', { tla: { attributes: { fl_quality: { weight: 1 }, compliance: { weight: 2, required: 0.8 } }, location: 'FR' } });
    trust.record({ subject: 'd1:upf-1', attribute: 'fl_quality', positive: 0, negative: 10, source: 'd1:fl', at: now, reason: 'update rejected: non-finite weights' });
    trust.record({ subject: 'd1:gnb-1', attribute: 'ssla', positive: 10, negative: 0, source: 'd1:slice-a', at: now });
    await trust.close();
    await kv.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the scores persisted in a data directory (JSON)', async () => {
    const r = await run('trust', 'show', '--data-dir', dir, '--json');
    assert.equal(r.code, 0, r.err);
    const body = JSON.parse(r.out) as { agents: { agentId: string; status: string; score: number }[] };
    const byId = new Map(body.agents.map((a) => [a.agentId, a]));
    assert.equal(byId.get('d1:upf-1')?.status, 'quarantined');
    assert.equal(byId.get('d1:gnb-1')?.status, 'trusted');
    assert.ok((byId.get('d1:gnb-1')?.score ?? 0) > 0.7);
  });

  it('shows a table, and one agent in detail with its transitions and evidence', async () => {
    const table = await run('trust', 'show', '--data-dir', dir);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /d1:upf-1\s+0\.\d+.*quarantined/);
    assert.match(table.out, /d1:tsm \(anchor\)\s+0\.400.*trusted/);
    const one = await run('trust', 'show', '--data-dir', dir, '--agent', 'd1:upf-1');
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, /reports_ignored → quarantined/);
    assert.match(one.out, /update rejected: non-finite weights/);
    assert.match(one.out, /compliance\s+1\.000/);
  });

  it("finds the trust store in an agent's data directory (<data-dir>/trust)", async () => {
    const agentDir = mkdtempSync(join(tmpdir(), 'sg-trust-agent-'));
    try {
      const kv = await openLevelKv(join(agentDir, 'trust'));
      const trust = await createTrustManager({ clock: systemClock(), kv });
      trust.record({ subject: 'd1:amf', attribute: 'ssla', positive: 3, negative: 0, source: 'd1:tsm', at: Date.now() });
      await trust.close();
      await kv.close();
      const r = await run('trust', 'show', '--data-dir', agentDir, '--json');
      assert.equal(r.code, 0, r.err);
      assert.deepEqual((JSON.parse(r.out) as { agents: { agentId: string }[] }).agents.map((a) => a.agentId), ['d1:amf']);
    } finally {
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  it('fails clearly on a missing directory or an unknown agent', async () => {
    const missing = await run('trust', 'show', '--data-dir', join(dir, 'nope'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /error CORE_ERR_INVALID_INPUT: --data-dir .* does not exist/);
    const unknown = await run('trust', 'show', '--data-dir', dir, '--agent', 'd1:ghost');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /agent d1:ghost has no trust record/);
  });

  it('runs a small seeded evaluation and prints it as JSON, reproducibly', async () => {
    const args = ['trust', 'evaluate', '--seed', '7', '--agents', '20', '--rounds', '40', '--scenario', 'malicious', '--json'];
    const a = await run(...args);
    assert.equal(a.code, 0, a.err);
    const b = await run(...args);
    const ra = JSON.parse(a.out) as { results: { scenario: string; attackersNeverQuarantined: number; interactionsToQuarantine: number[] }[] };
    assert.deepEqual(ra, JSON.parse(b.out));
    assert.equal(ra.results[0]?.scenario, 'malicious');
    assert.equal(ra.results[0]?.attackersNeverQuarantined, 0);
  });

  it('rejects an unknown scenario and a bad seed', async () => {
    const r = await run('trust', 'evaluate', '--scenario', 'sybil');
    assert.equal(r.code, 1);
    assert.match(r.err, /unknown scenario\(s\): sybil/);
    const s = await run('trust', 'evaluate', '--seed', 'x');
    assert.equal(s.code, 1);
    assert.match(s.err, /--seed must be an integer/);
    const p = await run('trust', 'evaluate', '--malicious-bad-rate', '1.5');
    assert.equal(p.code, 1);
    assert.match(p.err, /--malicious-bad-rate must be a probability/);
  });
});
