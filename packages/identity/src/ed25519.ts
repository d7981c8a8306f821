import { type KeyObject, createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, createHash } from 'node:crypto';
import * as noble from '@noble/ed25519';
import { InvalidKeyError } from './errors.js';

/**
 * Ed25519 keys as raw RFC 8032 bytes. node:crypto is the fast path (OpenSSL); @noble/ed25519 is the
 * portable reference. Both produce identical signatures (Ed25519 is deterministic) and accept each
 * other's — test/ed25519.spec.ts proves it with the RFC 8032 §7.1 vectors.
 */
export interface KeyPair {
  /** 32-byte public key (RFC 8032 encoding). */
  publicKey: Uint8Array;
  /** 32-byte secret seed (RFC 8032 "private key"), not the 64-byte expanded form. */
  secretKey: Uint8Array;
}

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

// Raw keys enter node:crypto as JWK (RFC 8037 OKP): ~10× faster to import than a DER/PKCS#8 wrapper.

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new InvalidKeyError(`${what} must be ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`, {
      field: what,
    });
  }
}

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

/**
 * node:crypto key object for a seed. OpenSSL derives the public half from `d` (the JWK's `x` is
 * required by Node's parser but not used for signing — the RFC 8032 vector tests pin this), so the
 * seed itself stands in for `x` when the public key is not at hand.
 */
export function privateKeyObject(secretKey: Uint8Array): KeyObject {
  checkLength(secretKey, SECRET_KEY_BYTES, 'secretKey');
  const d = b64u(secretKey);
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x: d }, format: 'jwk' });
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, PUBLIC_KEY_BYTES, 'publicKey');
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(publicKey) }, format: 'jwk' });
  } catch (cause) {
    throw new InvalidKeyError('publicKey is not a valid Ed25519 point', { field: 'publicKey' }, cause);
  }
}

/** The public key of a 32-byte seed. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const jwk = createPublicKey(privateKeyObject(secretKey)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

/** A fresh key pair from the OS CSPRNG; pass `seed` to derive one deterministically (tests, simulations). */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  const secretKey = seed ? new Uint8Array(seed) : new Uint8Array(randomBytes(SECRET_KEY_BYTES));
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

/** Ed25519 signature (64 bytes) with node:crypto. */
export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, message, privateKeyObject(secretKey)));
}

/** Verifies with node:crypto. Never throws for a bad key or signature: returns false. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    return false;
  }
  return cryptoVerify(null, message, key, signature);
}

export type SignFn = (message: Uint8Array) => Uint8Array;
export type VerifyFn = (message: Uint8Array, signature: Uint8Array) => boolean;

/** A signer that parses the key once (the hot path of the bus). */
export function createSigner(secretKey: Uint8Array): SignFn {
  const key = privateKeyObject(secretKey);
  return (message) => new Uint8Array(cryptoSign(null, message, key));
}

/** A verifier that parses the public key once; throws InvalidKeyError for a malformed key. */
export function createVerifier(publicKey: Uint8Array): VerifyFn {
  const key = publicKeyObject(publicKey);
  return (message, signature) => signature.length === SIGNATURE_BYTES && cryptoVerify(null, message, key, signature);
}

function ensureNobleHash(): void {
  // noble's sync API needs a SHA-512; node:crypto's is exact and fast. Idempotent configuration.
  if (!noble.hashes.sha512) noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());
}

export function nobleGetPublicKey(secretKey: Uint8Array): Uint8Array {
  checkLength(secretKey, SECRET_KEY_BYTES, 'secretKey');
  ensureNobleHash();
  return noble.getPublicKey(secretKey);
}

export function nobleSign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  checkLength(secretKey, SECRET_KEY_BYTES, 'secretKey');
  ensureNobleHash();
  return noble.sign(message, secretKey);
}

/**
 * Verifies with @noble/ed25519 using RFC 8032 semantics (`zip215: false`), the same acceptance
 * rule as OpenSSL, so both implementations agree on every input. Returns false instead of throwing.
 */
export function nobleVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  ensureNobleHash();
  try {
    return noble.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
