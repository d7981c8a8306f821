import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EXAMPLE_NAMES,
  examplePath,
  loadTopology,
  NF_CATALOGUE,
  NF_TYPES,
  parseTopology,
  resolveAgents,
  type TopologyIssue,
  TopologyError,
  TopologyReadError,
} from '../src/index.js';

/** Parses `text` expecting failure; returns the issues. */
function issuesOf(text: string, file = '/tmp/bad.yaml'): TopologyIssue[] {
  try {
    parseTopology(text, file, { checkFiles: false });
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected TopologyError, got ${error}`);
    assert.equal(error.code, 'TOPOLOGY_ERR_INVALID');
    return [...error.issues];
  }
  assert.fail('expected the topology to be rejected');
}

function only(text: string): TopologyIssue {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues, null, 2)}`);
  return issues[0];
}

const VALID = `version: 1
domains:
  - id: d1
    slices:
      - id: s1
        subslices:
          - id: edge1
            kind: edge
            nfs:
              - id: streamer
                type: streamer
                chain: [cache]
              - id: cache
                type: cache
`;

describe('topology: examples', () => {
  for (const name of EXAMPLE_NAMES) {
    it(`${name} loads, validates and resolves agents`, async () => {
      const topology = await loadTopology(examplePath(name));
      const agents = resolveAgents(topology);
      const ids = agents.map((a) => a.agentId);
      assert.equal(new Set(ids).size, ids.length, 'agent ids are unique');
      for (const a of agents) {
        if (a.parentId) assert.ok(ids.includes(a.parentId), `${a.agentId} parent ${a.parentId} exists`);
        for (const c of a.childIds) assert.equal(agents.find((x) => x.agentId === c)?.parentId, a.agentId);
        for (const p of a.policies) assert.ok(p.startsWith('/'), 'policy paths are absolute');
      }
    });
  }

  it('vcdn-edge: streamer chained to cache, as in the paper testbed', async () => {
    const topology = await loadTopology(examplePath('vcdn-edge'));
    const agents = resolveAgents(topology);
    const streamer = agents.find((a) => a.agentId === 'edge:streamer')!;
    assert.equal(streamer.level, 'nf');
    assert.equal(streamer.nf?.type, 'streamer');
    assert.equal(streamer.nf?.kind, 'cnf');
    assert.deepEqual(streamer.nf?.chain, ['cache']);
    assert.deepEqual(streamer.nf?.metrics, [...NF_CATALOGUE.streamer.metrics]);
    assert.equal(streamer.parentId, 'edge:vcdn-edge');
    assert.deepEqual(streamer.subslice, { id: 'vcdn-edge', kind: 'edge' });
    assert.deepEqual(streamer.subjects, { prefix: 'sg.edge.vcdn.vcdn-edge.streamer', scope: 'sg.edge.vcdn.vcdn-edge.streamer.>' });
    assert.ok(streamer.policies[0].endsWith('topology/examples/policies/vcdn.yaml'), 'inherits the slice policy');
    assert.equal(streamer.ssla.timeToDetectMs, 20000, 'inherits the domain SSLA');
    const cache = agents.find((a) => a.agentId === 'edge:cache')!;
    assert.ok(cache.nf?.metrics.includes('cache_hit_ratio'));
    const domain = agents.find((a) => a.agentId === 'edge:tsm')!;
    assert.equal(domain.level, 'domain');
    assert.deepEqual(domain.childIds, ['edge:vcdn']);
    assert.equal(domain.subjects.scope, 'sg.edge.>');
    const fl = agents.find((a) => a.agentId === 'edge:fl')!;
    assert.equal(fl.level, 'coordinator');
    assert.equal(fl.subjects.scope, 'sg.edge._fl.>');
  });

  it('embb-5g: three gNBs, AMF/SMF/UPF with replica bounds, a TN router; CN overrides the SSLA', async () => {
    const t = await loadTopology(examplePath('embb-5g'));
    const slice = t.domains[0].slices[0];
    const kinds = slice.subslices.map((s) => s.kind).sort();
    assert.deepEqual(kinds, ['cn', 'ran', 'tn']);
    const ran = slice.subslices.find((s) => s.kind === 'ran')!;
    assert.deepEqual(
      ran.nfs.map((n) => n.type),
      ['gnb', 'gnb', 'gnb'],
    );
    const cn = slice.subslices.find((s) => s.kind === 'cn')!;
    assert.deepEqual(cn.nfs.find((n) => n.id === 'upf')?.replicas, { min: 2, max: 6, initial: 2 });
    assert.equal(cn.ssla.timeToMitigateMs, 60000);
    assert.equal(cn.ssla.timeToDetectMs, 30000, 'other SSLA fields still inherited');
    assert.equal(slice.subslices.find((s) => s.kind === 'tn')!.nfs[0].type, 'router');
  });

  it('multi-domain: slice agents of the E2E slice peer across the two domains', async () => {
    const agents = resolveAgents(await loadTopology(examplePath('multi-domain')));
    assert.deepEqual(agents.find((a) => a.agentId === 'op-a:e2e')?.peerIds, ['op-b:e2e']);
    assert.deepEqual(agents.find((a) => a.agentId === 'op-b:e2e')?.peerIds, ['op-a:e2e']);
    assert.deepEqual(agents.find((a) => a.agentId === 'op-a:tsm')?.trustedDomains, ['op-b']);
    assert.equal(agents.filter((a) => a.level === 'domain').length, 2);
    assert.equal(agents.filter((a) => a.level === 'coordinator').length, 2);
  });

  it('examplePath rejects unknown names, listing the known ones', () => {
    assert.throws(() => examplePath('nope'), (e: Error & { code?: string }) => e.code === 'TOPOLOGY_ERR_UNKNOWN_EXAMPLE');
  });

  it('loadTopology on a missing file throws TopologyReadError', async () => {
    await assert.rejects(loadTopology('/nonexistent/topology.yaml'), TopologyReadError);
  });
});

describe('topology: defaults and inheritance', () => {
  it('applies defaults: isolation dedicated, kind cnf, replicas 1/1/1, catalogue metrics', () => {
    const t = parseTopology(VALID);
    const ss = t.domains[0].slices[0].subslices[0];
    assert.equal(t.domains[0].slices[0].isolation, 'dedicated');
    assert.equal(ss.isolation, 'dedicated');
    assert.equal(ss.nfs[0].kind, 'cnf');
    assert.deepEqual(ss.nfs[0].replicas, { min: 1, max: 1, initial: 1 });
    assert.deepEqual(ss.nfs[0].metrics, [...NF_CATALOGUE.streamer.metrics]);
    assert.deepEqual(t.domains[0].trustedDomains, []);
  });

  it('TLA, SSLA and policies inherit domain → slice → sub-slice → NF, child overriding per field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-topo-'));
    try {
      for (const f of ['d.yaml', 's.yaml', 'nf.yaml']) writeFileSync(join(dir, f), 'version: 1\npolicies: []\n');
      const text = `version: 1
domains:
  - id: d1
    policies: [d.yaml]
    tla: { attributes: { compliance: { weight: 1 } }, thresholds: { quarantine: 0.2 } }
    ssla: { timeToDetectMs: 1000, availability: 0.99 }
    slices:
      - id: s1
        policies: [s.yaml]
        tla: { attributes: { fl_quality: { weight: 3 } }, thresholds: { revoke: 0.05 } }
        subslices:
          - id: ss1
            kind: cn
            ssla: { timeToDetectMs: 500 }
            nfs:
              - { id: amf, type: amf, policies: [nf.yaml], metrics: [cpu_usage], tla: { location: FR } }
              - { id: smf, type: smf }
`;
      const file = join(dir, 'topo.yaml');
      writeFileSync(file, text);
      const t = parseTopology(text, file);
      const agents = resolveAgents(t);
      const amf = agents.find((a) => a.agentId === 'd1:amf')!;
      const smf = agents.find((a) => a.agentId === 'd1:smf')!;
      const dom = agents.find((a) => a.agentId === 'd1:tsm')!;
      assert.deepEqual(dom.policies, [join(dir, 'd.yaml')]);
      assert.deepEqual(smf.policies, [join(dir, 's.yaml')]);
      assert.deepEqual(amf.policies, [join(dir, 'nf.yaml')]);
      assert.deepEqual(amf.nf?.metrics, ['cpu_usage']);
      assert.deepEqual(smf.ssla, { timeToDetectMs: 500, availability: 0.99 });
      assert.deepEqual(smf.tla.attributes, { compliance: { weight: 1 }, fl_quality: { weight: 3 } });
      assert.deepEqual(smf.tla.thresholds, { quarantine: 0.2, revoke: 0.05 });
      assert.equal(amf.tla.location, 'FR');
      assert.equal(smf.tla.location, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a shared sub-slice has one agent, reporting to the slice that defines it', () => {
    const t = parseTopology(`version: 1
domains:
  - id: d1
    slices:
      - id: embb
        subslices:
          - id: shared-cn
            kind: cn
            isolation: shared
            nfs: [{ id: amf, type: amf }]
      - id: urllc
        subslices:
          - ref: shared-cn
          - id: ran2
            kind: ran
            nfs: [{ id: gnb, type: gnb, chain: [amf] }]
`);
    const urllc = t.domains[0].slices[1];
    assert.equal(urllc.subslices[0], t.domains[0].slices[0].subslices[0], 'the same object');
    assert.deepEqual(urllc.subslices[0].sharedWith, ['urllc']);
    const agents = resolveAgents(t);
    assert.equal(agents.filter((a) => a.agentId === 'd1:shared-cn').length, 1);
    const cn = agents.find((a) => a.agentId === 'd1:shared-cn')!;
    assert.equal(cn.parentId, 'd1:embb');
    assert.deepEqual(cn.sharedWith, ['d1:urllc']);
    const u = agents.find((a) => a.agentId === 'd1:urllc')!;
    assert.deepEqual(u.childIds, ['d1:ran2']);
    assert.deepEqual(u.sharedChildIds, ['d1:shared-cn']);
  });

  it('the catalogue names every type with a plane and metrics', () => {
    assert.ok(NF_TYPES.length >= 18);
    for (const t of NF_TYPES) assert.ok(NF_CATALOGUE[t].metrics.length > 0 && NF_CATALOGUE[t].plane);
    assert.ok(NF_CATALOGUE.gnb.metrics.includes('rrc_setup_rate'));
    assert.ok(NF_CATALOGUE.amf.metrics.includes('registration_rate'));
    assert.ok(NF_CATALOGUE.upf.metrics.includes('throughput_mbps'));
  });
});

describe('topology: invalid files (each mistake, its message, line and path)', () => {
  it('bad YAML syntax', () => {
    const issue = only('version: 1\ndomains:\n  - id: d1\n    slices: [\n');
    assert.match(issue.message, /YAML syntax error/);
    assert.ok(issue.line >= 4, `line ${issue.line}`);
    assert.ok(issue.hint.length > 0);
  });

  it('duplicate key in YAML', () => {
    const issue = only('version: 1\nversion: 1\ndomains: []\n');
    assert.match(issue.message, /unique|duplicate/i);
    assert.equal(issue.line, 2);
  });

  it('empty file', () => {
    const issue = only('   \n# nothing here\n');
    assert.match(issue.message, /empty/);
    assert.equal(issue.line, 1);
    assert.match(issue.hint, /version: 1/);
  });

  it('version missing', () => {
    const issue = only(VALID.replace('version: 1\n', ''));
    assert.match(issue.message, /missing "version"/);
    assert.match(issue.hint, /version: 1/);
  });

  it('version unsupported', () => {
    const issue = only(VALID.replace('version: 1', 'version: 7'));
    assert.match(issue.message, /unsupported version 7/);
    assert.equal(issue.line, 1);
    assert.equal(issue.path, 'version');
  });

  it('unknown NF type, with the nearest known names', () => {
    const issue = only(VALID.replace('type: streamer', 'type: stremer'));
    assert.equal(issue.message, 'unknown NF type "stremer"');
    assert.equal(issue.path, 'domains[0].slices[0].subslices[0].nfs[0].type');
    assert.equal(issue.line, 11);
    assert.equal(issue.column, 23);
    assert.match(issue.hint, /did you mean "streamer"/);
  });

  it('duplicate id within a domain', () => {
    const issue = only(VALID.replace('- id: cache\n', '- id: streamer\n').replace('chain: [cache]', 'chain: []'));
    assert.match(issue.message, /duplicate id "streamer" in domain "d1"/);
    assert.equal(issue.path, 'domains[0].slices[0].subslices[0].nfs[1].id');
    assert.equal(issue.line, 13);
    assert.match(issue.hint, /nfs\[0\] already uses/);
  });

  it('reserved id', () => {
    const issue = only(VALID.replace('- id: s1', '- id: tsm'));
    assert.match(issue.message, /reserved/);
    assert.equal(issue.line, 5);
  });

  it('dangling chain reference', () => {
    const issue = only(VALID.replace('chain: [cache]', 'chain: [cahce]'));
    assert.match(issue.message, /chain names "cahce", which is not an NF of slice "s1"/);
    assert.equal(issue.path, 'domains[0].slices[0].subslices[0].nfs[0].chain[0]');
    assert.equal(issue.line, 12);
    assert.match(issue.hint, /did you mean "cache"/);
  });

  const SHARED = `version: 1
domains:
  - id: d1
    slices:
      - id: a
        subslices:
          - id: cn1
            kind: cn
            isolation: ISOLATION
            nfs: [{ id: amf, type: amf }]
      - id: b
        subslices:
          - ref: REF
`;

  it('dangling sub-slice ref', () => {
    const issue = only(SHARED.replace('ISOLATION', 'shared').replace('REF', 'cn2'));
    assert.match(issue.message, /"ref: cn2" does not match any sub-slice/);
    assert.equal(issue.path, 'domains[0].slices[1].subslices[0].ref');
    assert.equal(issue.line, 13);
    assert.match(issue.hint, /did you mean "cn1"/);
  });

  it('shared sub-slice against its dedicated isolation', () => {
    const issue = only(SHARED.replace('ISOLATION', 'dedicated').replace('REF', 'cn1'));
    assert.match(issue.message, /sub-slice "cn1" has isolation "dedicated" and cannot be shared with slice "b"/);
    assert.equal(issue.line, 13);
    assert.match(issue.hint, /isolation: shared.*domains\[0\]\.slices\[0\]\.subslices\[0\]/);
  });

  it('a ref entry with extra fields', () => {
    const issue = only(SHARED.replace('ISOLATION', 'shared').replace('REF', 'cn1\n            kind: cn'));
    assert.match(issue.message, /"ref:" entry cannot also set "kind"/);
    assert.equal(issue.line, 14);
  });

  it('replicas out of bounds', () => {
    const issue = only(VALID.replace('type: cache', 'type: cache\n                replicas: { min: 3, max: 2 }'));
    assert.match(issue.message, /replicas out of bounds: min 3 is greater than max 2/);
    assert.equal(issue.path, 'domains[0].slices[0].subslices[0].nfs[1].replicas.min');
    assert.equal(issue.line, 15);
    const initial = only(VALID.replace('type: cache', 'type: cache\n                replicas: { min: 1, max: 2, initial: 5 }'));
    assert.match(initial.message, /initial 5 is outside \[1, 2\]/);
    const zero = only(VALID.replace('type: cache', 'type: cache\n                replicas: { min: 0 }'));
    assert.match(zero.message, /min 0 is out of range/);
    assert.match(zero.hint, /≥ 1/);
  });

  it('bad id characters', () => {
    const issue = only(VALID.replace('- id: s1', '- id: my.slice'));
    assert.match(issue.message, /"my.slice" is not a valid id/);
    assert.equal(issue.path, 'domains[0].slices[0].id');
    assert.equal(issue.line, 5);
    assert.match(issue.hint, /e\.g\. "my-slice"/);
  });

  it('unknown field, with a typo suggestion', () => {
    const issue = only(VALID.replace('        subslices:', '        polices: [x.yaml]\n        subslices:'));
    assert.equal(issue.message, 'unknown field "polices"');
    assert.equal(issue.path, 'domains[0].slices[0].polices');
    assert.equal(issue.line, 6);
    assert.equal(issue.column, 9);
    assert.match(issue.hint, /did you mean "policies"/);
  });

  it('missing required field', () => {
    const issue = only(VALID.replace('                type: cache\n', ''));
    assert.equal(issue.message, 'missing required field "type"');
    assert.equal(issue.path, 'domains[0].slices[0].subslices[0].nfs[1].type');
    assert.equal(issue.line, 13, 'points at the NF that lacks it');
    const sub = only(VALID.replace('            kind: edge\n', ''));
    assert.equal(sub.message, 'missing required field "kind"');
  });

  it('wrong type', () => {
    const issue = only(VALID.replace('chain: [cache]', 'chain: cache'));
    assert.match(issue.message, /"chain" must be a list, got the text "cache"/);
    assert.equal(issue.line, 12);
    assert.match(issue.hint, /YAML list/);
  });

  it('unknown sub-slice kind', () => {
    const issue = only(VALID.replace('kind: edge', 'kind: egde'));
    assert.match(issue.message, /"egde" is not a valid kind/);
    assert.equal(issue.line, 8);
    assert.match(issue.hint, /did you mean "edge".*ran, cn, tn, edge/);
  });

  it('missing policy file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-topo-'));
    try {
      const file = join(dir, 't.yaml');
      const text = VALID.replace('        subslices:', '        policies: [policies/absent.yaml]\n        subslices:');
      writeFileSync(file, text);
      try {
        parseTopology(text, file);
        assert.fail('expected rejection');
      } catch (error) {
        assert.ok(error instanceof TopologyError);
        assert.equal(error.issues.length, 1);
        assert.match(error.issues[0].message, /policy file "policies\/absent.yaml" not found/);
        assert.equal(error.issues[0].file, file);
        assert.equal(error.issues[0].line, 6);
        assert.match(error.issues[0].hint, new RegExp(join(dir, 'policies/absent.yaml')));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trustedDomains naming an unknown domain', () => {
    const issue = only(VALID.replace('  - id: d1\n', '  - id: d1\n    trustedDomains: [d2]\n'));
    assert.match(issue.message, /trustedDomains names "d2", which is not a domain/);
    assert.equal(issue.path, 'domains[0].trustedDomains[0]');
    assert.equal(issue.line, 4);
  });

  it('spans a domain without the slice, or one not trusted', () => {
    const text = `version: 1
domains:
  - id: a
    slices:
      - id: e2e
        spans: [b]
        subslices: []
  - id: b
    trustedDomains: [a]
    slices: []
`;
    const issues = issuesOf(text);
    assert.equal(issues.length, 2);
    assert.match(issues[0].message, /"b" has no slice "e2e"/);
    assert.match(issues[1].message, /does not trust/);
    assert.equal(issues[0].line, 6);
  });

  it('invalid exporter url', () => {
    const issue = only(VALID.replace('type: cache', 'type: cache\n                exporter: { url: "localhost:9100" }'));
    assert.match(issue.message, /not an http\(s\) URL/);
  });

  it('reports every problem at once, sorted by line, with the file name in the message', () => {
    const text = VALID.replace('- id: s1', '- id: s 1').replace('type: streamer', 'type: gnbb').replace('chain: [cache]', 'chain: [x]');
    const issues = issuesOf(text, '/tmp/many.yaml');
    assert.equal(issues.length, 3);
    assert.deepEqual(
      issues.map((i) => i.line),
      [5, 11, 12],
    );
    try {
      parseTopology(text, '/tmp/many.yaml', { checkFiles: false });
    } catch (error) {
      assert.ok(error instanceof TopologyError);
      assert.match(error.message, /\/tmp\/many.yaml is invalid: 3 problems/);
      assert.match(error.message, /\/tmp\/many.yaml:11:23 domains\[0\]/);
    }
  });
});
