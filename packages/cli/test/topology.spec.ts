import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examplePath } from '@sliceguard/topology';
import { run } from './helpers.js';

describe('cli: topology', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-topo-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('validate accepts the vcdn-edge example', async () => {
    const r = await run('topology', 'validate', examplePath('vcdn-edge'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /is valid: 1 domain\(s\), 1 slice\(s\), 1 sub-slice\(s\), 2 NF\(s\), 6 agents/);
  });

  it('validate --json on an invalid file exits 1 and lists every issue with line and path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'version: 1\ndomains:\n  - id: d1\n    slices:\n      - id: s1\n        subslices:\n          - id: e\n            kind: edge\n            nfs:\n              - { id: x, type: streamr }\n              - { id: y, type: cache, chain: [z] }\n',
    );
    const r = await run('topology', 'validate', file, '--json');
    assert.equal(r.code, 1);
    const result = JSON.parse(r.out) as { valid: boolean; issues: { line: number; path: string; message: string; hint: string }[] };
    assert.equal(result.valid, false);
    assert.deepEqual(
      result.issues.map((i) => [i.line, i.path]),
      [
        [10, 'domains[0].slices[0].subslices[0].nfs[0].type'],
        [11, 'domains[0].slices[0].subslices[0].nfs[1].chain[0]'],
      ],
    );
    assert.match(result.issues[0].hint, /did you mean "streamer"/);
    const human = await run('topology', 'validate', file);
    assert.equal(human.code, 1);
    assert.match(human.out, /bad\.yaml:10:\d+ domains\[0\]\.slices\[0\]\.subslices\[0\]\.nfs\[0\]\.type: unknown NF type "streamr"/);
  });

  it('validate on a missing file fails with TOPOLOGY_ERR_READ', async () => {
    const r = await run('topology', 'validate', join(dir, 'absent.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.err, /TOPOLOGY_ERR_READ/);
  });

  it('show prints the tree with agent ids and subject prefixes', async () => {
    const r = await run('topology', 'show', examplePath('embb-5g'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^domain mno .*agent mno:tsm {2}sg\.mno\._\._\._/m);
    assert.match(r.out, /slice embb .*agent mno:embb {2}sg\.mno\.embb\._\._/);
    assert.match(r.out, /sub-slice embb-cn \(cn, dedicated\) {2}agent mno:embb-cn {2}sg\.mno\.embb\.embb-cn\._/);
    assert.match(r.out, /nf amf \(amf cnf, replicas 1 in 1\.\.4 → smf\) {2}agent mno:amf {2}sg\.mno\.embb\.embb-cn\.amf/);
    const json = JSON.parse((await run('topology', 'show', examplePath('multi-domain'), '--json')).out) as {
      domains: { agentId: string; children: { kind: string }[] }[];
    };
    assert.deepEqual(
      json.domains.map((d) => d.agentId),
      ['op-a:tsm', 'op-b:tsm'],
    );
  });
});
