import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, basename } from 'node:path';
import { fromHex, toHex } from '@sliceguard/core';
import { type Credential, parseCredential } from './credential.js';
import { type KeyPair, publicKeyOf } from './ed25519.js';
import { IdentityError, KeyFileError } from './errors.js';
import { type RevocationList, parseRevocationList } from './revocation.js';

/**
 * Key file format (JSON, written with mode 0600):
 *   { "type": "sliceguard-ed25519-key", "version": 1, "publicKey": "<64 hex>", "secretKey": "<64 hex seed>", "createdAt": "<ISO time>" }
 * Reading refuses a file that group or others can read (like ssh does), a file whose public key
 * does not match its secret, and anything else malformed — each with the path and a hint.
 */
export const KEY_FILE_TYPE = 'sliceguard-ed25519-key';

export interface KeyFileOptions {
  /** Overwrite an existing file (default false: refuse). */
  force?: boolean;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Writes through a temp file + rename so a crash never leaves a half-written key. */
function writePrivate(path: string, text: string, options: KeyFileOptions, mode: number): void {
  if (!options.force) {
    try {
      writeFileSync(path, text, { mode, flag: 'wx' });
      chmodSync(path, mode);
      return;
    } catch (error) {
      if (errnoOf(error) === 'EEXIST') {
        throw new KeyFileError('IDENTITY_ERR_FILE_EXISTS', `${path} already exists; pass --force (force: true) to overwrite it`, { path });
      }
      throw new KeyFileError('IDENTITY_ERR_KEY_FILE_UNREADABLE', `cannot write ${path}: ${(error as Error).message}`, { path, hint: 'check that the directory exists and is writable' }, error);
    }
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (error) {
    throw new KeyFileError('IDENTITY_ERR_KEY_FILE_UNREADABLE', `cannot write ${path}: ${(error as Error).message}`, { path, hint: 'check that the directory exists and is writable' }, error);
  }
}

export function encodeKeyFile(keyPair: KeyPair, createdAt = new Date()): string {
  return `${JSON.stringify({ type: KEY_FILE_TYPE, version: 1, publicKey: toHex(keyPair.publicKey), secretKey: toHex(keyPair.secretKey), createdAt: createdAt.toISOString() }, null, 2)}\n`;
}

export function writeKeyFile(path: string, keyPair: KeyPair, options: KeyFileOptions = {}): void {
  writePrivate(path, encodeKeyFile(keyPair), options, 0o600);
}

export function readKeyFile(path: string): KeyPair {
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    mode = st.mode;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') {
      throw new KeyFileError('IDENTITY_ERR_KEY_FILE_MISSING', `key file ${path} does not exist`, { path, hint: 'create one with `sliceguard keys generate --out FILE`' }, error);
    }
    throw new KeyFileError('IDENTITY_ERR_KEY_FILE_UNREADABLE', `key file ${path} cannot be read: ${(error as Error).message}`, { path, hint: 'the path must be a regular file readable by this user' }, error);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new KeyFileError(
      'IDENTITY_ERR_KEY_FILE_PERMISSIONS',
      `key file ${path} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); a secret key must be private`,
      { path, mode: (mode & 0o777).toString(8), hint: `run: chmod 600 ${path}` },
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeyFileError('IDENTITY_ERR_KEY_FILE_UNREADABLE', `key file ${path} cannot be read: ${(error as Error).message}`, { path, hint: 'check the file owner and permissions (chmod 600)' }, error);
  }
  return parseKeyFile(text, path);
}

export function parseKeyFile(text: string, path = '<key>'): KeyPair {
  const malformed = (message: string, field?: string, cause?: unknown): never => {
    throw new KeyFileError('IDENTITY_ERR_KEY_FILE_MALFORMED', `key file ${path}: ${message}`, { path, ...(field ? { field } : {}), hint: 'regenerate it with `sliceguard keys generate --out FILE --force`' }, cause);
  };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    const pos = /position (\d+)/.exec((error as Error).message);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
    return malformed(`not valid JSON${line ? ` (line ${line})` : ''}: ${(error as Error).message}`, undefined, error);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return malformed('must be a JSON object');
  if (doc.type !== KEY_FILE_TYPE) malformed(`field "type" must be "${KEY_FILE_TYPE}", got ${JSON.stringify(doc.type)}`, 'type');
  if (doc.version !== 1) malformed(`field "version" must be 1, got ${JSON.stringify(doc.version)}`, 'version');
  for (const f of ['secretKey', 'publicKey'] as const) {
    if (typeof doc[f] !== 'string' || !/^[0-9a-fA-F]{64}$/.test(doc[f] as string)) malformed(`field "${f}" must be 64 hex characters`, f);
  }
  const secretKey = fromHex(doc.secretKey as string);
  const publicKey = publicKeyOf(secretKey);
  if (toHex(publicKey) !== (doc.publicKey as string).toLowerCase()) malformed('field "publicKey" does not match the secret key', 'publicKey');
  return { secretKey, publicKey };
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') throw new KeyFileError('IDENTITY_ERR_FILE_MISSING', `${what} file ${path} does not exist`, { path }, error);
    throw new KeyFileError('IDENTITY_ERR_FILE_MISSING', `${what} file ${path} cannot be read: ${(error as Error).message}`, { path }, error);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new KeyFileError('IDENTITY_ERR_FILE_MALFORMED', `${what} file ${path} is not valid JSON: ${(error as Error).message}`, { path }, error);
  }
}

function withPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof IdentityError && !(error instanceof KeyFileError)) {
      throw new KeyFileError('IDENTITY_ERR_FILE_MALFORMED', `${path}: ${error.message}`, { path, ...error.details }, error);
    }
    throw error;
  }
}

/** Credentials are public documents: written 0644 as JSON (`Credential`). */
export function writeCredentialFile(path: string, credential: Credential, options: KeyFileOptions = {}): void {
  writePrivate(path, `${JSON.stringify(credential, null, 2)}\n`, options, 0o644);
}

export function readCredentialFile(path: string): Credential {
  const doc = readJsonFile(path, 'credential');
  return withPath(path, () => parseCredential(doc));
}

export function writeRevocationFile(path: string, list: RevocationList, options: KeyFileOptions = {}): void {
  writePrivate(path, `${JSON.stringify(list, null, 2)}\n`, options, 0o644);
}

export function readRevocationFile(path: string): RevocationList {
  const doc = readJsonFile(path, 'revocation list');
  return withPath(path, () => parseRevocationList(doc));
}
