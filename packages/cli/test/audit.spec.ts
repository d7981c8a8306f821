import { equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromUtf8, SimulatedClock, toHex, utf8 } from '@sliceguard/core';
import { buildAgentApp, credentialOperators, decisionsFromRepositories, incidentsFromRepository, signRequest } from '@sliceguard/api';
import { createDomainAuthority, sign, verify } from '@sliceguard/identity';
import { nodeEd25519Signer, openLevelKv, openStore } from '@sliceguard/store';
import { run } from './helpers.js';

describe('sliceguard audit', () => {
  const signer = nodeEd25519Signer(new Uint8Array(32).fill(3));
  const publicKey = toHex(signer.publicKey);
  let dir: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-audit-'));
    const store = await openStore(dir, { clock: new SimulatedClock(1_700_000_000_000), audit: { signer } });
    for (let i = 0; i < 8; i++) {
      await store.audit!.append({ kind: i % 2 ? 'decision' : 'lifecycle', actor: 'd1:amf-1', subject: `x${i}`, data: { i } });
    }
    await store.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('verify: exit 0 and a JSON report for an intact log', async () => {
    const r = await run('audit', 'verify', '--data-dir', dir, '--public-key', publicKey, '--json');
    equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    equal(report.ok, true);
    equal(report.checked, 8);
    equal(report.authenticated, true);
  });

  it('verify: human output, key from a JSON file, and an unauthenticated run says so', async () => {
    const keyFile = join(dir, '..', `${dir.split('/').pop()}-key.json`);
    writeFileSync(keyFile, JSON.stringify({ publicKey }));
    try {
      const r = await run('audit', 'verify', '--data-dir', dir, '--public-key', keyFile);
      equal(r.code, 0);
      ok(r.out.startsWith('audit log OK: 8 records (seq 1..8)'), r.out);
      const anon = await run('audit', 'verify', '--data-dir', dir);
      ok(/pass --public-key to authenticate/.test(anon.out));
    } finally {
      rmSync(keyFile, { force: true });
    }
  });

  it('verify: exit 1 and points at the first tampered record', async () => {
    const kv = await openLevelKv(dir);
    const key = 'audit/r/0000000000000005';
    const rec = JSON.parse(fromUtf8((await kv.get(key))!));
    rec.data.i = 99;
    await kv.put(key, utf8(JSON.stringify(rec)));
    await kv.close();
    const r = await run('audit', 'verify', '--data-dir', dir, '--public-key', publicKey);
    equal(r.code, 1);
    ok(r.out.includes('first broken record: index 4, seq 5, key audit/r/0000000000000005'), r.out);
    ok(r.out.includes('hash_mismatch'));
    const j = JSON.parse((await run('audit', 'verify', '--data-dir', dir, '--json')).out);
    equal(j.firstBroken.seq, 5);
  });

  it('verify: a log signed by another key fails authentication', async () => {
    const other = toHex(nodeEd25519Signer(new Uint8Array(32).fill(4)).publicKey);
    const r = await run('audit', 'verify', '--data-dir', dir, '--public-key', other);
    equal(r.code, 1);
    ok(r.out.includes('unknown_key'));
  });

  it('verify: clear errors for a locked directory (and --snapshot to read it anyway), a missing directory and a bad key', async () => {
    const kv = await openLevelKv(dir);
    try {
      const locked = await run('audit', 'verify', '--data-dir', dir);
      equal(locked.code, 1);
      ok(locked.err.includes('STORE_ERR_LOCKED'), locked.err);
    } finally {
      await kv.close();
    }
    // --snapshot verifies a copy while the directory is held by another process
    const kv2 = await openLevelKv(dir);
    try {
      await kv2.put('unrelated', utf8('written by the running agent'));
      const snap = await run('audit', 'verify', '--data-dir', dir, '--public-key', publicKey, '--snapshot', '--json');
      equal(snap.code, 0, snap.err);
      equal(JSON.parse(snap.out).checked, 8);
    } finally {
      await kv2.close();
    }
    const missing = await run('audit', 'verify', '--data-dir', join(dir, 'nope'));
    equal(missing.code, 1);
    ok(missing.err.includes('does not exist'), missing.err);
    const badKey = await run('audit', 'verify', '--data-dir', dir, '--public-key', 'zz');
    equal(badKey.code, 1);
    ok(badKey.err.includes('--public-key'), badKey.err);
  });

  it('show: lists records newest first with --reverse', async () => {
    const r = await run('audit', 'show', '--data-dir', dir, '--reverse', '--limit', '2', '--json');
    equal(r.code, 0, r.err);
    const records = JSON.parse(r.out);
    equal(records.length, 2);
    equal(records[0].seq, 8);
    const human = await run('audit', 'show', '--data-dir', dir, '--limit', '1');
    ok(human.out.startsWith('#1 '), human.out);
  });
});

describe('store + API wiring', () => {
  it('serves incidents from LevelDB and audits operator requests into the verifiable log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cli-wiring-'));
    const signer = nodeEd25519Signer(new Uint8Array(32).fill(5));
    try {
      const clock = new SimulatedClock(1_700_000_000_000);
      const store = await openStore(dir, { clock, audit: { signer } });
      await store.incidents.put({
        id: 'inc-1',
        agentId: 'd1:amf-1',
        level: 'nf',
        kind: 'signaling_ddos',
        target: 'amf-1',
        severity: 0.9,
        status: 'open',
        openedAt: 5,
        updatedAt: 5,
        events: [],
        decisionIds: [],
        actionIds: [],
      });
      const app = await buildAgentApp({
        agentId: 'd1:amf-1',
        clock,
        providers: {
          incidents: incidentsFromRepository(store.incidents),
          decisions: decisionsFromRepositories(store.decisions, store.outcomes),
          mitigation: { mitigate: async (r) => ({ id: 'act-1', type: r.type, target: r.target, status: 'succeeded', at: clock.now() }) },
        },
        auth: { tokens: [{ token: 'wiring-token-0123456789', principal: 'ops', scopes: ['*'] }] },
        audit: (e) => store.audit!.append(e),
      });
      const list = await app.inject('/v1/incidents?status=open');
      equal(list.json()[0].id, 'inc-1');
      const m = await app.inject({
        method: 'POST',
        url: '/v1/mitigations',
        headers: { authorization: 'Bearer wiring-token-0123456789' },
        payload: { type: 'block', target: '10.0.0.66', reason: 'flood source' },
      });
      equal(m.statusCode, 200, m.body);
      await app.close();
      await store.close();
      const verify = await run('audit', 'verify', '--data-dir', dir, '--public-key', toHex(signer.publicKey), '--json');
      equal(verify.code, 0, verify.out + verify.err);
      equal(JSON.parse(verify.out).checked, 1);
      const shown = JSON.parse((await run('audit', 'show', '--data-dir', dir, '--json')).out);
      equal(shown[0].kind, 'operator_request');
      equal(shown[0].actor, 'ops');
      equal(shown[0].data.body.target, '10.0.0.66');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('API operator credentials from identity', () => {
  it('accepts a request signed by an operator credential of the domain root, refuses a revoked or non-operator one', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const authority = createDomainAuthority('d1', { clock });
    const trustStore = authority.trustStore();
    const operator = authority.issue({ agentId: 'd1:alice', level: 'operator' });
    const agent = authority.issue({ agentId: 'd1:amf-1', level: 'nf', nf: 'amf-1' });
    let activated = 0;
    const app = await buildAgentApp({
      agentId: 'd1:amf-1',
      clock,
      providers: {
        loops: {
          activate: async (id, by) => {
            activated++;
            return { agentId: id, level: 'nf', lifecycle: 'active', iteration: 0, stageTimings: {}, by: by.id };
          },
          deactivate: async () => Promise.reject(new Error('unused')),
          reconfigure: async () => Promise.reject(new Error('unused')),
        },
      },
      auth: { operators: { resolve: credentialOperators({ trustStore, clock }), verify } },
    });
    const send = async (who: typeof operator, at: number) => {
      const url = '/v1/loops/d1:amf-1/activate';
      const headers = await signRequest({ method: 'POST', url, operatorId: who.credential.claims.agentId, timestamp: at, sign: (m) => sign(who.keyPair.secretKey, m) });
      return app.inject({ method: 'POST', url, headers: { ...headers, 'x-sg-credential': Buffer.from(JSON.stringify(who.credential)).toString('base64url') } });
    };
    try {
      const ok1 = await send(operator, clock.now());
      equal(ok1.statusCode, 200, ok1.body);
      equal(activated, 1);
      const nf = await send(agent, clock.now() + 1);
      equal(nf.statusCode, 401);
      ok(nf.json().error.message.includes('not operator'), nf.body);
      trustStore.applyRevocationsOrThrow(authority.revoke([operator.credential.id]));
      const revoked = await send(operator, clock.now() + 2);
      equal(revoked.statusCode, 401);
      ok(revoked.json().error.message.includes('revoked'), revoked.body);
      equal(activated, 1);
    } finally {
      await app.close();
    }
  });
});

describe('sliceguard api', () => {
  it('openapi prints the OpenAPI document', async () => {
    const r = await run('api', 'openapi');
    equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    ok(doc.paths['/v1/status']);
  });

  it('metrics lists the metric catalog', async () => {
    const r = await run('api', 'metrics', '--json');
    const rows = JSON.parse(r.out) as Array<{ name: string; type: string }>;
    ok(rows.some((m) => m.name === 'sliceguard_loop_stage_duration_seconds' && m.type === 'histogram'));
    ok(rows.every((m) => m.type !== 'counter' || m.name.endsWith('_total')));
  });
});
