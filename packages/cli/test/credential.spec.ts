import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './helpers.js';

describe('cli: credential', () => {
  let dir: string;
  let root: string;
  let rootPub: string;
  let agentKey: string;
  const f = (name: string) => join(dir, name);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-cred-'));
    root = f('d1-root.key');
    agentKey = f('upf1.key');
    rootPub = (JSON.parse((await run('keys', 'generate', '--out', root, '--json')).out) as { publicKey: string }).publicKey;
    await run('keys', 'generate', '--out', agentKey);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const issue = (...extra: string[]) =>
    run('credential', 'issue', '--root-key', root, '--domain', 'd1', '--agent-id', 'd1:upf1', '--level', 'nf', '--slice', 's1', '--subslice', 'cn', '--nf', 'upf1', '--key', agentKey, '--out', f('upf1.cred.json'), ...extra);

  it('issues a credential and verifies it against the root (text and JSON)', async () => {
    const r = await issue('--scope', 'sg.d1.s1.cn.upf1.>', '--scope', 'sg.d1._sys.>', '--valid-for', '30d', '--json');
    assert.equal(r.code, 0, r.err);
    const cred = JSON.parse(r.out) as { id: string; claims: { scopes: string[]; expiresAt: number; notBefore: number } };
    assert.deepEqual(cred.claims.scopes, ['sg.d1.s1.cn.upf1.>', 'sg.d1._sys.>']);
    assert.ok(Math.abs(cred.claims.expiresAt - Date.now() - 30 * 86_400_000) < 60_000);
    const ok = await run('credential', 'verify', f('upf1.cred.json'), '--root', `d1=${rootPub}`);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^valid: /m);
    const okKey = await run('credential', 'verify', f('upf1.cred.json'), '--root-key', root, '--json');
    assert.equal(okKey.code, 0);
    assert.equal((JSON.parse(okKey.out) as { valid: boolean }).valid, true);
  });

  it('uses the level default scopes when none are given; --public-key works too', async () => {
    const pub = (JSON.parse((await run('keys', 'show', agentKey, '--json')).out) as { publicKey: string }).publicKey;
    const r = await run('credential', 'issue', '--root-key', root, '--domain', 'd1', '--agent-id', 'd1:s1', '--level', 'slice', '--slice', 's1', '--public-key', pub, '--out', f('s1.json'), '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as { claims: { scopes: string[] } }).claims.scopes, ['sg.d1.s1.>', 'sg.d1._sys.>']);
  });

  it('exits 1 saying why: unknown root, expired, tampered', async () => {
    await issue('--valid-for', '1h');
    const other = f('other.key');
    await run('keys', 'generate', '--out', other);
    const unknown = await run('credential', 'verify', f('upf1.cred.json'), '--root-key', other);
    assert.equal(unknown.code, 1);
    assert.match(unknown.out, /INVALID \(unknown_root\)/);
    const later = await run('credential', 'verify', f('upf1.cred.json'), '--root', `d1=${rootPub}`, '--at', new Date(Date.now() + 2 * 3_600_000).toISOString(), '--json');
    assert.equal(later.code, 1);
    assert.equal((JSON.parse(later.out) as { reason: string }).reason, 'expired');
    const doc = JSON.parse(readFileSync(f('upf1.cred.json'), 'utf8')) as { claims: { scopes: string[] } };
    doc.claims.scopes = ['sg.d1.>'];
    writeFileSync(f('tampered.json'), JSON.stringify(doc));
    const tampered = await run('credential', 'verify', f('tampered.json'), '--root', `d1=${rootPub}`);
    assert.equal(tampered.code, 1);
    assert.match(tampered.out, /bad_credential/);
  });

  it('revokes with signed, monotonic lists', async () => {
    const id = (JSON.parse((await issue('--json')).out) as { id: string }).id;
    const rev1 = await run('credential', 'revoke', '--root-key', root, '--domain', 'd1', '--id', id, '--seq', '1', '--out', f('rev1.json'));
    assert.equal(rev1.code, 0, rev1.err);
    const v = await run('credential', 'verify', f('upf1.cred.json'), '--root', `d1=${rootPub}`, '--revocations', f('rev1.json'), '--json');
    assert.equal(v.code, 1);
    assert.equal((JSON.parse(v.out) as { reason: string }).reason, 'revoked');
    const id2 = 'ab'.repeat(16);
    const rev2 = await run('credential', 'revoke', '--root-key', root, '--domain', 'd1', '--id', id2, '--seq', '2', '--previous', f('rev1.json'), '--out', f('rev2.json'), '--json');
    assert.deepEqual((JSON.parse(rev2.out) as { revoked: string[] }).revoked, [id, id2].sort());
    const stale = await run('credential', 'revoke', '--root-key', root, '--domain', 'd1', '--id', id2, '--seq', '1', '--previous', f('rev1.json'), '--out', f('rev3.json'));
    assert.equal(stale.code, 1);
    assert.match(stale.err, /must be greater/);
    // a list signed by another key is not applied (and says so)
    const other = f('other.key');
    await run('keys', 'generate', '--out', other);
    await run('credential', 'revoke', '--root-key', other, '--domain', 'd1', '--id', id, '--seq', '9', '--out', f('forged.json'));
    const v2 = await run('credential', 'verify', f('upf1.cred.json'), '--root', `d1=${rootPub}`, '--revocations', f('forged.json'));
    assert.equal(v2.code, 0);
    assert.match(v2.out, /warning: revocation list .* not applied/);
  });

  it('rejects bad input with a clear error', async () => {
    const noKey = await run('credential', 'issue', '--root-key', root, '--domain', 'd1', '--agent-id', 'd1:x', '--level', 'nf', '--out', f('x.json'));
    assert.equal(noKey.code, 1);
    assert.match(noKey.err, /exactly one of --public-key/);
    const badLevel = await issue('--level', 'king');
    assert.equal(badLevel.code, 1);
    assert.match(badLevel.err, /--level "king"/);
    const badDuration = await issue('--valid-for', 'forever');
    assert.equal(badDuration.code, 1);
    assert.match(badDuration.err, /--valid-for "forever"/);
    const badScope = await issue('--scope', 'sg.>.x');
    assert.equal(badScope.code, 1);
    assert.match(badScope.err, /IDENTITY_ERR_INVALID_CREDENTIAL/);
    const noRoot = await run('credential', 'verify', f('missing.json'), '--root', `d1=${rootPub}`);
    assert.equal(noRoot.code, 1);
    assert.match(noRoot.err, /IDENTITY_ERR_FILE_MISSING/);
  });
});
