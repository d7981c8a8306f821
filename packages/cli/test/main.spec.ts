import assert from 'node:assert/strict';
import { run } from './helpers.js';

describe('cli: main', () => {
  it('prints help listing the subcommands and exits 0', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0);
    for (const name of ['bench', 'simulate', 'topology', 'keys', 'credential']) {
      assert.match(r.out, new RegExp(`\\b${name}\\b`), `help mentions ${name}`);
    }
  });

  it('exits 2 with a message on an unknown command', async () => {
    const r = await run('no-such-command');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command/);
  });

  it('reports SliceguardErrors with their code and exits 1', async () => {
    const r = await run('bench', '--only', 'nope');
    assert.equal(r.code, 1);
    assert.match(r.err, /error CORE_ERR_INVALID_INPUT: unknown bench suite/);
  });

  it('bench --quick runs the named suites and prints one JSON document', async () => {
    const r = await run('bench', '--quick', '--only', 'policy,trust');
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as {
      quick: boolean;
      results: Record<string, Record<string, unknown>>;
      conditions: Record<string, { wallS: number; load1Before: number; load1After: number }>;
    };
    assert.equal(report.quick, true);
    assert.deepEqual(Object.keys(report.results), ['policy', 'trust']);
    assert.deepEqual(Object.keys(report.conditions), ['policy', 'trust'], 'each suite records the machine load it ran under');
    for (const c of Object.values(report.conditions)) {
      assert.ok(c.wallS >= 0 && Number.isFinite(c.load1Before) && Number.isFinite(c.load1After));
    }
    for (const [name, result] of Object.entries(report.results)) {
      assert.equal(result.error, undefined, `${name} failed: ${String(result.error)}`);
      assert.ok(Object.keys(result).length > 0, `${name} reported figures`);
    }
  });
});
