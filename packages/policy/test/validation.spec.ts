import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'mocha';
import { checkPolicies, loadPolicies, PolicyConflictError, PolicyValidationError, parsePolicyText } from '../src/index.js';
import { fixture } from './helpers.js';

const examples = ['vcdn', 'embb', 'multi-domain'].map((n) => new URL(`../../../../topology/examples/policies/${n}.yaml`, import.meta.url).pathname);

/** Each malformed file, the line (and column) of its error, the field path and what the message says. */
const MALFORMED: Array<{ file: string; line: number; column?: number; path: string; message: RegExp }> = [
  { file: 'bad-yaml-syntax.txt', line: 6, path: '', message: /YAML syntax: Flow map/ },
  { file: 'bad-unknown-field.yaml', line: 5, column: 5, path: 'policies[0].prority', message: /unknown field "prority" \(did you mean "priority"\?\)/ },
  { file: 'bad-missing-do.yaml', line: 3, path: 'policies[0].do', message: /missing `do`/ },
  { file: 'bad-event-type.yaml', line: 4, column: 18, path: 'policies[0].on.event', message: /unknown event type "anomally"/ },
  { file: 'bad-selector.yaml', line: 4, column: 27, path: 'policies[0].on.kind', message: /unknown field "kind"/ },
  { file: 'bad-cel-syntax.yaml', line: 5, column: 34, path: 'policies[0].when', message: /CEL: Unexpected token: EOF/ },
  { file: 'bad-cel-variable.yaml', line: 5, column: 12, path: 'policies[0].when', message: /CEL: Unknown variable: evnt/ },
  { file: 'bad-cel-type.yaml', line: 5, path: 'policies[0].when', message: /condition must be a boolean, this expression is a int/ },
  { file: 'bad-action.yaml', line: 7, column: 17, path: 'policies[0].do[1].action', message: /unknown action "rate_limt" \(did you mean "rate_limit"\?\)/ },
  { file: 'bad-rate-limit.yaml', line: 9, column: 16, path: 'policies[0].do[0].params.rps', message: /positive number, got -5/ },
  { file: 'bad-duration.yaml', line: 8, column: 17, path: 'policies[0].guards.cooldown', message: /invalid duration "5 minutes"/ },
  { file: 'bad-bounds.yaml', line: 8, path: 'policies[0].guards.bounds', message: /min 5 is greater than max 2/ },
  { file: 'bad-duplicate-id.yaml', line: 6, path: 'policies[1].id', message: /duplicate policy id "same" \(first defined at line 3\)/ },
  { file: 'bad-template.yaml', line: 7, column: 28, path: 'policies[0].do[0].params.source', message: /unterminated \$\{/ },
  { file: 'bad-scope.yaml', line: 4, path: 'policies[0].scope.level', message: /unknown level "cell"/ },
  { file: 'bad-blocks.yaml', line: 9, path: 'policies[0].guards.blocks.window', message: /needs a `window`/ },
  { file: 'bad-vsf.yaml', line: 7, path: 'policies[0].do[0].params.vsf', message: /unknown VSF "waf"/ },
];

describe('policy validation', () => {
  it('accepts the example policy files the topologies reference', async () => {
    const report = await checkPolicies(examples);
    assert.deepEqual(report.issues, []);
    assert.deepEqual(
      report.conflicts.filter((c) => !c.resolved),
      [],
    );
    assert.ok(report.ok);
    assert.ok(report.policies >= 15);
  });

  for (const bad of MALFORMED) {
    it(`reports ${bad.file} at line ${bad.line}`, async () => {
      const path = fixture(bad.file);
      const report = await checkPolicies([path]);
      assert.equal(report.ok, false);
      const errors = report.issues.filter((i) => i.severity === 'error');
      assert.equal(errors.length, 1, JSON.stringify(errors));
      const [e] = errors;
      assert.equal(e.file, path);
      assert.equal(e.line, bad.line);
      if (bad.column !== undefined) assert.equal(e.column, bad.column);
      assert.equal(e.path, bad.path);
      assert.match(e.message, bad.message);
      await assert.rejects(loadPolicies([path]), (err: unknown) => {
        assert.ok(err instanceof PolicyValidationError);
        assert.equal(err.code, 'POLICY_ERR_INVALID');
        assert.match(err.message, new RegExp(`${bad.file}:${bad.line}:`));
        return true;
      });
    });
  }

  it('places a CEL error inside a block scalar on its own line', () => {
    const text = ['policies:', '  - id: multi-line', '    on: anomaly', '    when: >-', '      event.severity > 0.5 &&', '      foo == 1', '    do: [ { action: notify } ]', ''].join('\n');
    const { issues } = parsePolicyText(text, 'inline.yaml');
    assert.equal(issues.length, 1);
    assert.equal(issues[0].line, 6);
    assert.equal(issues[0].column, 7);
    assert.match(issues[0].message, /Unknown variable: foo/);
  });

  it('reports every problem of a file, not just the first', () => {
    const text = ['policies:', '  - id: a', '    on: nothing', '    do: []', '  - id: b', '    on: anomaly', '    priority: high', '    do: [ { action: notify } ]'].join('\n');
    const { issues, policies } = parsePolicyText(text, 'many.yaml');
    assert.deepEqual(
      issues.map((i) => [i.line, i.path]),
      [
        [3, 'policies[0].on'],
        [4, 'policies[0].do'],
        [7, 'policies[1].priority'],
      ],
    );
    assert.equal(policies.length, 0);
  });

  it('rejects an empty file and a file without policies', () => {
    assert.match(parsePolicyText('', 'e.yaml').issues[0].message, /empty/);
    assert.match(parsePolicyText('version: 1\n', 'e.yaml').issues[0].message, /missing `policies`/);
    assert.match(parsePolicyText('version: 2\npolicies: []\n', 'e.yaml').issues[0].message, /unsupported policy language version 2/);
  });

  it('reports a duplicate id across files with both files', async () => {
    const a = { file: 'a.yaml', text: 'policies:\n  - id: x\n    on: anomaly\n    do: [ { action: notify } ]\n' };
    const b = { file: 'b.yaml', text: 'policies:\n\n  - id: x\n    on: incident\n    do: [ { action: notify } ]\n' };
    const report = await checkPolicies([a, b]);
    assert.equal(report.issues.length, 1);
    assert.equal(report.issues[0].file, 'b.yaml');
    assert.equal(report.issues[0].line, 3);
    assert.match(report.issues[0].message, /also defined at a\.yaml:2/);
  });

  it('warns when bounds cannot apply', () => {
    const text = 'policies:\n  - id: w\n    on: anomaly\n    do: [ { action: notify } ]\n    guards: { bounds: { max: 3 } }\n';
    const { issues, policies } = parsePolicyText(text, 'w.yaml');
    assert.equal(policies.length, 1);
    assert.equal(issues[0].severity, 'warning');
    assert.match(issues[0].message, /no scale_out/);
  });
});

describe('policy conflicts', () => {
  const CONFLICTS: Array<{ file: string; kind: string; a: [string, number]; b: [string, number] }> = [
    { file: 'conflict-scale.yaml', kind: 'scale_direction', a: ['cn-scale-out-on-load', 8], b: ['cn-scale-in-on-load', 15] },
    { file: 'conflict-block-allow.yaml', kind: 'block_allow', a: ['block-scanner', 7], b: ['allow-partners', 15] },
    { file: 'conflict-rate-limit.yaml', kind: 'rate_limit_mismatch', a: ['gentle-limit', 6], b: ['strict-limit', 11] },
    { file: 'conflict-same-priority.yaml', kind: 'vsf_deploy_remove', a: ['deploy-fw', 7], b: ['remove-fw', 13] },
  ];
  for (const c of CONFLICTS) {
    it(`refuses ${c.file} (${c.kind}) naming both locations`, async () => {
      const path = fixture(c.file);
      const report = await checkPolicies([path]);
      assert.equal(report.ok, false);
      assert.equal(report.conflicts.length, 1);
      const [conflict] = report.conflicts;
      assert.equal(conflict.kind, c.kind);
      assert.equal(conflict.resolved, false);
      assert.deepEqual([conflict.a.policyId, conflict.a.line, conflict.a.file], [...c.a, path]);
      assert.deepEqual([conflict.b.policyId, conflict.b.line, conflict.b.file], [...c.b, path]);
      await assert.rejects(loadPolicies([path]), (err: unknown) => {
        assert.ok(err instanceof PolicyConflictError);
        assert.equal(err.code, 'POLICY_ERR_CONFLICT');
        assert.match(err.message, new RegExp(`${c.a[0]} \\(.*:${c.a[1]}\\) vs ${c.b[0]} \\(.*:${c.b[1]}\\)`));
        return true;
      });
    });
  }

  it('reports a conflict across two files with each file and line', async () => {
    const a = { file: 'nf.yaml', text: 'policies:\n  - id: out\n    scope: { level: nf }\n    on: { event: delegation, action: scale_out }\n    do:\n      - action: scale_out\n        target: amf\n' };
    const b = { file: 'cn.yaml', text: 'policies:\n  - id: in\n    on: delegation\n    do:\n      - action: notify\n      - action: scale_in\n        target: amf\n' };
    const report = await checkPolicies([a, b]);
    assert.equal(report.conflicts.length, 1);
    const [c] = report.conflicts;
    assert.deepEqual([c.kind, c.a.file, c.a.line, c.a.path, c.b.file, c.b.line, c.b.path], ['scale_direction', 'nf.yaml', 6, 'policies[0].do[0]', 'cn.yaml', 6, 'policies[0].do[1]']);
  });

  it('accepts a conflict that explicit, different priorities resolve', async () => {
    const set = await loadPolicies([fixture('conflict-resolved.yaml')]);
    assert.equal(set.resolvedConflicts.length, 1);
    assert.equal(set.resolvedConflicts[0].winner, 'strict-limit');
  });

  it('finds no conflict when scopes, triggers, kinds or severity ranges do not overlap', async () => {
    const report = await checkPolicies([fixture('no-conflict.yaml')]);
    assert.deepEqual(report.conflicts, []);
    assert.ok(report.ok);
  });

  it('does not resolve a conflict by a default priority', async () => {
    const text = (await readFile(fixture('conflict-resolved.yaml'), 'utf8')).replace('    priority: 10\n', '');
    const report = await checkPolicies([{ text, file: 'implicit.yaml' }]);
    assert.equal(report.conflicts[0].resolved, false);
  });
});
