import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './helpers.js';

const root = new URL('../../../../', import.meta.url).pathname;
const example = (n: string) => join(root, 'topology/examples/policies', `${n}.yaml`);
const fixture = (n: string) => join(root, 'packages/policy/test/fixtures', n);

describe('cli: policy', () => {
  it('check passes the example policy files', async () => {
    const r = await run('policy', 'check', example('vcdn'), example('embb'), example('multi-domain'));
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^ok: 19 policies in 3 file\(s\)/m);
  });

  it('check --topology checks the files a topology references and warns about policies no loop runs', async () => {
    const ok = await run('policy', 'check', '--topology', join(root, 'topology/examples/embb-5g.yaml'));
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /ok: 6 policies in 1 file\(s\)/);
    assert.doesNotMatch(ok.out, /warning/);
    const dir = await mkdtemp(join(tmpdir(), 'sg-policy-topo-'));
    try {
      const topo = (await readFile(join(root, 'topology/examples/vcdn-edge.yaml'), 'utf8')).replace('policies: [policies/vcdn.yaml]', `policies: [${join(root, 'topology/examples/policies/embb.yaml')}]`);
      await writeFile(join(dir, 'topo.yaml'), topo);
      const r = await run('policy', 'check', '--topology', join(dir, 'topo.yaml'), '--json');
      const report = JSON.parse(r.out);
      assert.equal(report.ok, true);
      const dead = report.issues.filter((i: { severity: string }) => i.severity === 'warning');
      assert.ok(dead.some((i: { message: string }) => /policy "embb-cn-scale-out" applies to no loop/.test(i.message)), r.out);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('check counts a file once when it is named and also referenced by the topology', async () => {
    const r = await run('policy', 'check', example('embb'), '--topology', join(root, 'topology/examples/embb-5g.yaml'));
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /ok: 6 policies in 1 file\(s\)/);
  });

  it('check reports a malformed file with file:line:column, field and hint, and exits 1', async () => {
    const r = await run('policy', 'check', fixture('bad-action.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.out, /bad-action\.yaml:7:17 error policies\[0\]\.do\[1\]\.action: unknown action "rate_limt" \(did you mean "rate_limit"\?\)/);
    assert.match(r.out, /hint: use one of rate_limit/);
  });

  it('check --json reports a conflict with both locations', async () => {
    const r = await run('policy', 'check', '--json', fixture('conflict-scale.yaml'));
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out);
    assert.equal(report.ok, false);
    assert.equal(report.conflicts[0].kind, 'scale_direction');
    assert.deepEqual([report.conflicts[0].a.line, report.conflicts[0].b.line], [8, 15]);
  });

  it('eval dry-runs an event through the policies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sg-policy-'));
    try {
      const event = join(dir, 'event.json');
      await writeFile(
        event,
        JSON.stringify({
          id: 'e1',
          type: 'anomaly',
          at: 1000,
          source: 'edge:streamer',
          target: 'streamer',
          severity: 0.9,
          level: 'nf',
          evidence: { detector: 'x', score: 3, threshold: 1, contributors: [], window: { start: 0, end: 1000 }, indicators: [{ kind: 'source', value: '203.0.113.9' }] },
        }),
      );
      const r = await run('policy', 'eval', example('vcdn'), '--event', event, '--nf-type', 'streamer', '--json');
      assert.equal(r.code, 0, r.err);
      const decisions = JSON.parse(r.out);
      assert.equal(decisions[0].policyId, 'vcdn-nf-block-sources');
      assert.equal(decisions[0].actions[0].params.source, '203.0.113.9');
      const bad = await run('policy', 'eval', example('vcdn'), '--event', join(dir, 'missing.json'));
      assert.equal(bad.code, 1);
      assert.match(bad.err, /cannot read event file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('show refuses an invalid file with the validation error', async () => {
    const r = await run('policy', 'show', fixture('bad-duration.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.err, /error POLICY_ERR_INVALID: [\s\S]*bad-duration\.yaml:8:17/);
  });

  it('apply / remove / history keep a versioned store in a LevelDB directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sg-policy-store-'));
    try {
      const store = join(dir, 'store');
      let r = await run('policy', 'apply', example('vcdn'), '--store', store, '--reason', 'initial');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^v1 .* load vcdn-nf-refine-monitoring.* — initial/);
      r = await run('policy', 'apply', fixture('conflict-resolved.yaml'), '--store', store);
      assert.equal(r.code, 0, r.err);
      r = await run('policy', 'apply', fixture('conflict-rate-limit.yaml'), '--store', store);
      assert.equal(r.code, 1, 'a conflicting change is refused');
      assert.match(r.err, /POLICY_ERR_CONFLICT/);
      r = await run('policy', 'remove', 'gentle-limit', '--store', store, '--json');
      assert.equal(JSON.parse(r.out).version, 3);
      r = await run('policy', 'history', '--store', store, '--json');
      const h = JSON.parse(r.out);
      assert.equal(h.version, 3);
      assert.deepEqual(h.history.map((c: { op: string }) => c.op), ['load', 'add', 'remove']);
      assert.ok(h.policies.includes('strict-limit') && !h.policies.includes('gentle-limit'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
