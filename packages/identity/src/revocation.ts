import { ID_PATTERN, fromHex, toHex, utf8 } from '@sliceguard/core';
import { canonicalJson } from './canonical.js';
import { type KeyPair, sign, verify } from './ed25519.js';
import { InvalidRevocationListError } from './errors.js';

/**
 * A domain root's signed list of revoked credential ids. Lists are cumulative: list `seq` N is the
 * complete set at that point, and a store only accepts a list whose `seq` is greater than the one it
 * holds, so an attacker replaying an old list cannot un-revoke anything.
 */
export interface RevocationList {
  domain: string;
  /** Monotonic, ≥ 1. */
  seq: number;
  /** Clock ms when signed (informational). */
  issuedAt: number;
  /** Revoked credential ids (sorted, unique). */
  revoked: string[];
  issuerKey: string;
  signature: string;
}

export const REVOCATION_TAG = 'sliceguard-revocations-v1';
const ID_HEX = /^[0-9a-f]{32}$/;

export function revocationSigningBytes(list: Omit<RevocationList, 'signature'>): Uint8Array {
  return utf8(
    canonicalJson({ domain: list.domain, issuedAt: list.issuedAt, issuerKey: list.issuerKey, revoked: list.revoked, seq: list.seq, tag: REVOCATION_TAG }),
  );
}

export function signRevocationList(root: KeyPair, domain: string, seq: number, revoked: Iterable<string>, issuedAt: number): RevocationList {
  const ids = [...new Set(revoked)].sort();
  const unsigned = { domain, seq, issuedAt, revoked: ids, issuerKey: toHex(root.publicKey) };
  validateShape({ ...unsigned, signature: '0'.repeat(128) }, 'revocations');
  return { ...unsigned, signature: toHex(sign(root.secretKey, revocationSigningBytes(unsigned))) };
}

function validateShape(v: Record<string, unknown>, where: string): void {
  const bad = (field: string, message: string): never => {
    throw new InvalidRevocationListError(`${where}.${field}: ${message}`, { field: `${where}.${field}` });
  };
  if (typeof v.domain !== 'string' || !ID_PATTERN.test(v.domain)) bad('domain', 'must be a domain id');
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 1) bad('seq', 'must be an integer ≥ 1');
  if (!Number.isSafeInteger(v.issuedAt)) bad('issuedAt', 'must be an integer (ms since epoch)');
  if (!Array.isArray(v.revoked)) bad('revoked', 'must be an array of credential ids');
  (v.revoked as unknown[]).forEach((id, i) => {
    if (typeof id !== 'string' || !ID_HEX.test(id)) bad(`revoked[${i}]`, 'must be a 32-hex-character credential id');
  });
  if (typeof v.issuerKey !== 'string' || !/^[0-9a-f]{64}$/.test(v.issuerKey)) bad('issuerKey', 'must be 64 hex characters');
  if (typeof v.signature !== 'string' || !/^[0-9a-f]{128}$/.test(v.signature)) bad('signature', 'must be 128 hex characters');
}

/** Structural check of an untrusted revocation list; throws InvalidRevocationListError naming the field. */
export function parseRevocationList(value: unknown, where = 'revocations'): RevocationList {
  if (typeof value !== 'object' || value === null) throw new InvalidRevocationListError(`${where} must be a JSON object`, { field: where });
  const v = value as Record<string, unknown>;
  validateShape(v, where);
  return {
    domain: v.domain as string,
    seq: v.seq as number,
    issuedAt: v.issuedAt as number,
    revoked: [...(v.revoked as string[])],
    issuerKey: v.issuerKey as string,
    signature: v.signature as string,
  };
}

/** True when `list` is signed by the key it names (whether that key is trusted is the TrustStore's call). */
export function revocationSignatureValid(list: RevocationList): boolean {
  return verify(fromHex(list.issuerKey), revocationSigningBytes(list), fromHex(list.signature));
}
