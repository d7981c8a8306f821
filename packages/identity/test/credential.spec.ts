import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedClock } from '@sliceguard/core';
import {
  TrustStore,
  canonicalJson,
  createDomainAuthority,
  generateKeyPair,
  issueCredential,
  parseCredential,
  parseRevocationList,
  readCredentialFile,
  readKeyFile,
  writeCredentialFile,
  writeKeyFile,
} from '../src/index.js';

describe('identity: credentials, trust store, revocations', () => {
  const clock = new SimulatedClock(1_700_000_000_000);

  it('canonical JSON is independent of key order and rejects floats', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined }), '{"a":[true,null,"x"],"b":1}');
    assert.equal(canonicalJson({ a: 1, b: 1 }), canonicalJson({ b: 1, a: 1 }));
    assert.throws(() => canonicalJson({ x: 0.5 }), { code: 'CORE_ERR_INVALID_INPUT' });
  });

  it('issues and verifies a credential; default scopes follow the subject scheme', () => {
    const d1 = createDomainAuthority('d1', { clock });
    const id = d1.issue({ agentId: 'd1:upf1', level: 'nf', slice: 's1', subslice: 'cn', nf: 'upf1' });
    assert.deepEqual(id.credential.claims.scopes, ['sg.d1.s1.cn.upf1.>', 'sg.d1._sys.>', 'sg.d1._fl.*.join', 'sg.d1._fl.*.update']);
    const check = d1.trustStore().verifyCredential(id.credential, clock.now());
    assert.equal(check.ok, true);
    assert.ok(check.ok && check.principal.agentId === 'd1:upf1' && check.principal.credentialId === id.credential.id);
  });

  it('refuses tampered claims, a forged signature, an untrusted root and a root vouching for another domain', () => {
    const d1 = createDomainAuthority('d1', { clock });
    const store = d1.trustStore();
    const { credential } = d1.issue({ agentId: 'd1:a', level: 'slice', slice: 's1' });
    const widened = { ...credential, claims: { ...credential.claims, scopes: ['sg.d1.>'] } };
    assert.deepEqual(pick(store.verifyCredential(widened, clock.now())), { ok: false, reason: 'bad_credential' });
    const forged = { ...credential, signature: credential.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    assert.deepEqual(pick(store.verifyCredential(forged, clock.now())), { ok: false, reason: 'bad_credential' });
    const other = createDomainAuthority('d2', { clock });
    const foreign = other.issue({ agentId: 'd2:x', level: 'domain' }).credential;
    assert.deepEqual(pick(store.verifyCredential(foreign, clock.now())), { ok: false, reason: 'unknown_root' });
    // an impostor root claiming to be d1
    const impostor = createDomainAuthority('d1', { clock }).issue({ agentId: 'd1:evil', level: 'domain' }).credential;
    assert.deepEqual(pick(store.verifyCredential(impostor, clock.now())), { ok: false, reason: 'unknown_root' });
    // d2's root trusted, but it cannot grant scopes in d1
    store.addRoot('d2', other.publicKeyHex);
    const grab = issueCredential(other.keyPair, 'd2', { ...foreign.claims, scopes: ['sg.d1.>'] });
    assert.deepEqual(pick(store.verifyCredential(grab, clock.now())), { ok: false, reason: 'bad_credential' });
    const lie = issueCredential(other.keyPair, 'd2', { ...foreign.claims, domain: 'd1', scopes: ['sg.d2.>'] });
    assert.deepEqual(pick(store.verifyCredential(lie, clock.now())), { ok: false, reason: 'bad_credential' });
  });

  it('verifies cross-domain credentials once the other root is trusted', () => {
    const d1 = createDomainAuthority('d1', { clock });
    const d2 = createDomainAuthority('d2', { clock });
    const store = new TrustStore({ roots: [{ domain: 'd1', publicKey: d1.publicKeyHex }] });
    const cred = d2.issue({ agentId: 'd2:tsm', level: 'domain' }).credential;
    assert.equal(store.verifyCredential(cred, clock.now()).ok, false);
    store.addRoot('d2', d2.keyPair.publicKey);
    assert.equal(store.verifyCredential(cred, clock.now()).ok, true);
  });

  it('enforces notBefore and expiresAt', () => {
    const d1 = createDomainAuthority('d1', { clock });
    const store = d1.trustStore();
    const { credential } = d1.issue({ agentId: 'd1:a', level: 'domain' }, { validForMs: 10_000 });
    assert.equal(store.verifyCredential(credential, clock.now() + 9_999).ok, true);
    assert.deepEqual(pick(store.verifyCredential(credential, clock.now() + 10_000)), { ok: false, reason: 'expired' });
    assert.deepEqual(pick(store.verifyCredential(credential, credential.claims.notBefore - 1)), { ok: false, reason: 'not_yet_valid' });
  });

  it('applies signed revocation lists monotonically', () => {
    const d1 = createDomainAuthority('d1', { clock });
    const store = d1.trustStore();
    const a = d1.issue({ agentId: 'd1:a', level: 'domain' }).credential;
    const b = d1.issue({ agentId: 'd1:b', level: 'domain' }).credential;
    const list1 = d1.revoke([a.id]);
    const list2 = d1.revoke([b.id]);
    assert.deepEqual(list2.revoked, [a.id, b.id].sort());
    assert.equal(store.applyRevocations(list2).applied, true);
    assert.deepEqual(pick(store.verifyCredential(a, clock.now())), { ok: false, reason: 'revoked' });
    const rollback = store.applyRevocations(list1);
    assert.equal(rollback.applied, false);
    assert.equal(!rollback.applied && rollback.reason, 'stale_sequence');
    const forged = { ...list2, seq: 99 };
    const outcome = store.applyRevocations(forged);
    assert.equal(!outcome.applied && outcome.reason, 'bad_signature');
    const evil = createDomainAuthority('d1', { clock }).revoke([]);
    assert.equal(store.applyRevocations({ ...evil, seq: 100 }).applied, false);
    assert.equal(store.revocationSeq('d1'), 2);
    assert.throws(() => parseRevocationList({ ...list1, revoked: ['nope'] }), { code: 'IDENTITY_ERR_INVALID_REVOCATIONS' });
  });

  it('parses credential documents with field-level errors', () => {
    const d1 = createDomainAuthority('d1', { clock });
    const { credential } = d1.issue({ agentId: 'd1:a', level: 'domain' });
    assert.deepEqual(parseCredential(JSON.parse(JSON.stringify(credential))), credential);
    assert.throws(() => parseCredential({ ...credential, claims: { ...credential.claims, level: 'king' } }), /credential\.claims\.level/);
    assert.throws(() => parseCredential({ ...credential, claims: { ...credential.claims, scopes: ['a.>.b'] } }), /scopes\[0\]/);
    assert.throws(() => d1.issue({ agentId: 'd1:a', level: 'nf', nf: 'x.y' }), { code: 'IDENTITY_ERR_INVALID_CREDENTIAL' });
  });

  describe('key files', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'sg-keys-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('round-trips with mode 0600 and refuses to overwrite without force', () => {
      const kp = generateKeyPair();
      const file = join(dir, 'agent.key');
      writeKeyFile(file, kp);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(readKeyFile(file), kp);
      assert.throws(() => writeKeyFile(file, generateKeyPair()), { code: 'IDENTITY_ERR_FILE_EXISTS' });
      const kp2 = generateKeyPair();
      writeKeyFile(file, kp2, { force: true });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(readKeyFile(file), kp2);
    });

    it('gives a clear error with code and path for missing, insecure, malformed and mismatched files', () => {
      const missing = join(dir, 'nope.key');
      assert.throws(() => readKeyFile(missing), (e: Error & { code: string; details: Record<string, unknown> }) => e.code === 'IDENTITY_ERR_KEY_FILE_MISSING' && e.details.path === missing);
      const file = join(dir, 'k.key');
      writeKeyFile(file, generateKeyPair());
      chmodSync(file, 0o644);
      assert.throws(() => readKeyFile(file), (e: Error & { code: string; details: Record<string, unknown> }) => e.code === 'IDENTITY_ERR_KEY_FILE_PERMISSIONS' && String(e.details.hint).includes('chmod 600'));
      writeFileSync(file, '{"type": "sliceguard-ed25519-key",\n "version": 1,\n oops}', { mode: 0o600 });
      chmodSync(file, 0o600);
      assert.throws(() => readKeyFile(file), (e: Error & { code: string }) => e.code === 'IDENTITY_ERR_KEY_FILE_MALFORMED' && /line 3/.test(e.message));
      const a = generateKeyPair();
      const b = generateKeyPair();
      writeFileSync(file, JSON.stringify({ type: 'sliceguard-ed25519-key', version: 1, secretKey: Buffer.from(a.secretKey).toString('hex'), publicKey: Buffer.from(b.publicKey).toString('hex') }));
      assert.throws(() => readKeyFile(file), (e: Error & { code: string; details: Record<string, unknown> }) => e.code === 'IDENTITY_ERR_KEY_FILE_MALFORMED' && e.details.field === 'publicKey');
      assert.throws(() => readKeyFile(dir), { code: 'IDENTITY_ERR_KEY_FILE_UNREADABLE' });
      if (process.getuid?.() !== 0) {
        writeKeyFile(file, a, { force: true });
        chmodSync(file, 0o000);
        assert.throws(() => readKeyFile(file), { code: 'IDENTITY_ERR_KEY_FILE_UNREADABLE' });
      }
    });

    it('round-trips credential files and reports malformed ones with the path', () => {
      const d1 = createDomainAuthority('d1', { clock });
      const { credential } = d1.issue({ agentId: 'd1:a', level: 'domain' });
      const file = join(dir, 'a.cred.json');
      writeCredentialFile(file, credential);
      assert.deepEqual(readCredentialFile(file), credential);
      writeFileSync(file, JSON.stringify({ ...credential, issuerKey: 'zz' }));
      assert.throws(() => readCredentialFile(file), (e: Error & { code: string; details: Record<string, unknown> }) => e.code === 'IDENTITY_ERR_FILE_MALFORMED' && e.details.path === file);
    });
  });
});

function pick(check: { ok: boolean; reason?: string }): { ok: boolean; reason?: string } {
  return check.ok ? { ok: true } : { ok: false, reason: check.reason };
}
