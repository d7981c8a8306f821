import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './helpers.js';

describe('cli: keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a 0600 key file and shows its public key, never the secret', async () => {
    const file = join(dir, 'agent.key');
    const gen = await run('keys', 'generate', '--out', file, '--json');
    assert.equal(gen.code, 0, gen.err);
    const { publicKey } = JSON.parse(gen.out) as { publicKey: string };
    assert.match(publicKey, /^[0-9a-f]{64}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const secret = (JSON.parse(readFileSync(file, 'utf8')) as { secretKey: string }).secretKey;
    const show = await run('keys', 'show', file);
    assert.equal(show.code, 0);
    assert.match(show.out, new RegExp(publicKey));
    assert.ok(!show.out.includes(secret));
    const showJson = await run('keys', 'show', file, '--json');
    assert.equal((JSON.parse(showJson.out) as { publicKey: string }).publicKey, publicKey);
  });

  it('refuses to overwrite without --force', async () => {
    const file = join(dir, 'agent.key');
    assert.equal((await run('keys', 'generate', '--out', file)).code, 0);
    const again = await run('keys', 'generate', '--out', file);
    assert.equal(again.code, 1);
    assert.match(again.err, /IDENTITY_ERR_FILE_EXISTS/);
    assert.equal((await run('keys', 'generate', '--out', file, '--force')).code, 0);
  });

  it('explains missing, insecure and malformed key files with code and path', async () => {
    const missing = await run('keys', 'show', join(dir, 'nope.key'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /IDENTITY_ERR_KEY_FILE_MISSING/);
    assert.match(missing.err, /path=.*nope\.key/);
    const file = join(dir, 'k.key');
    await run('keys', 'generate', '--out', file);
    chmodSync(file, 0o640);
    const open = await run('keys', 'show', file);
    assert.equal(open.code, 1);
    assert.match(open.err, /IDENTITY_ERR_KEY_FILE_PERMISSIONS/);
    assert.match(open.err, /chmod 600/);
    writeFileSync(file, 'not json', { mode: 0o600 });
    chmodSync(file, 0o600);
    const bad = await run('keys', 'show', file);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /IDENTITY_ERR_KEY_FILE_MALFORMED/);
  });

  it('requires --out', async () => {
    const r = await run('keys', 'generate');
    assert.equal(r.code, 2);
    assert.match(r.err, /--out/);
  });
});
