import { createHash } from 'node:crypto';
import {
  AGENT_ID_PATTERN,
  ID_PATTERN,
  PRINCIPAL_LEVELS,
  type Principal,
  type PrincipalLevel,
  fromHex,
  toHex,
  utf8,
} from '@sliceguard/core';
import { canonicalJson } from './canonical.js';
import { type KeyPair, sign } from './ed25519.js';
import { InvalidCredentialError } from './errors.js';

/** What a domain root vouches for. Times are clock milliseconds since the Unix epoch. */
export interface CredentialClaims {
  agentId: string;
  level: PrincipalLevel;
  domain: string;
  slice?: string;
  subslice?: string;
  nf?: string;
  /** Hex of the holder's 32-byte Ed25519 public key. */
  publicKey: string;
  /** Subject patterns (NATS wildcards) the holder may publish on. */
  scopes: string[];
  notBefore: number;
  expiresAt: number;
}

export interface Credential {
  /** 32 hex chars: the first 16 bytes of SHA-256 over the signed content without the id. */
  id: string;
  claims: CredentialClaims;
  /** The issuing domain. */
  issuer: string;
  /** Hex of the issuing root's public key. */
  issuerKey: string;
  /** Hex of the root's Ed25519 signature over `credentialSigningBytes`. */
  signature: string;
}

export interface AgentIdentity {
  keyPair: KeyPair;
  credential: Credential;
}

export const CREDENTIAL_TAG = 'sliceguard-credential-v1';
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const ID_HEX = /^[0-9a-f]{32}$/;
// NATS subject tokens: no whitespace, no dots inside a token; wildcards only as whole tokens.
const SUBJECT_TOKEN = /^[^\s.*>]+$/;

/** Checks a NATS subject pattern (`*` one token, `>` last token only). */
export function isValidSubjectPattern(pattern: string): boolean {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 512) return false;
  const tokens = pattern.split('.');
  return tokens.every((t, i) => t === '*' || (t === '>' && i === tokens.length - 1) || SUBJECT_TOKEN.test(t));
}

/** Throws InvalidCredentialError naming the first bad field; returns the claims normalized (fields in fixed order). */
export function validateClaims(claims: CredentialClaims, where = 'claims'): CredentialClaims {
  const bad = (field: string, message: string): never => {
    throw new InvalidCredentialError(`${where}.${field}: ${message}`, { field: `${where}.${field}` });
  };
  if (typeof claims !== 'object' || claims === null) throw new InvalidCredentialError(`${where} must be an object`, { field: where });
  if (typeof claims.agentId !== 'string' || !AGENT_ID_PATTERN.test(claims.agentId)) bad('agentId', `"${claims.agentId}" is not a valid agent id (letters, digits, '_', '-', ':')`);
  if (!PRINCIPAL_LEVELS.includes(claims.level)) bad('level', `"${claims.level}" is not one of ${PRINCIPAL_LEVELS.join('|')}`);
  for (const f of ['domain', 'slice', 'subslice', 'nf'] as const) {
    const v = claims[f];
    if (f === 'domain' || v !== undefined) {
      if (typeof v !== 'string' || !ID_PATTERN.test(v)) bad(f, `"${v}" is not a valid id (letters, digits, '-', '_')`);
    }
  }
  if (typeof claims.publicKey !== 'string' || !HEX64.test(claims.publicKey)) bad('publicKey', 'must be 64 lowercase hex characters (a 32-byte Ed25519 key)');
  if (!Array.isArray(claims.scopes)) bad('scopes', 'must be an array of subject patterns');
  claims.scopes.forEach((s, i) => {
    if (!isValidSubjectPattern(s)) bad(`scopes[${i}]`, `"${s}" is not a valid NATS subject pattern`);
  });
  if (!Number.isSafeInteger(claims.notBefore)) bad('notBefore', 'must be an integer (ms since epoch)');
  if (!Number.isSafeInteger(claims.expiresAt)) bad('expiresAt', 'must be an integer (ms since epoch)');
  if (claims.expiresAt <= claims.notBefore) bad('expiresAt', 'must be after notBefore');
  return {
    agentId: claims.agentId,
    level: claims.level,
    domain: claims.domain,
    ...(claims.slice !== undefined ? { slice: claims.slice } : {}),
    ...(claims.subslice !== undefined ? { subslice: claims.subslice } : {}),
    ...(claims.nf !== undefined ? { nf: claims.nf } : {}),
    publicKey: claims.publicKey,
    scopes: [...claims.scopes],
    notBefore: claims.notBefore,
    expiresAt: claims.expiresAt,
  };
}

function signedContent(claims: CredentialClaims, issuer: string, issuerKey: string): Record<string, unknown> {
  return { claims, issuer, issuerKey, tag: CREDENTIAL_TAG };
}

/** The credential id: derived from what is signed, so it cannot be swapped without breaking the signature. */
export function credentialIdOf(claims: CredentialClaims, issuer: string, issuerKey: string): string {
  return createHash('sha256').update(canonicalJson(signedContent(claims, issuer, issuerKey))).digest('hex').slice(0, 32);
}

/** Bytes the root signs: canonical JSON of { claims, id, issuer, issuerKey, tag }. */
export function credentialSigningBytes(cred: Pick<Credential, 'id' | 'claims' | 'issuer' | 'issuerKey'>): Uint8Array {
  return utf8(canonicalJson({ ...signedContent(cred.claims, cred.issuer, cred.issuerKey), id: cred.id }));
}

/** Signs `claims` with a domain root key. */
export function issueCredential(root: KeyPair, issuer: string, claims: CredentialClaims): Credential {
  const normalized = validateClaims(claims);
  if (!ID_PATTERN.test(issuer)) throw new InvalidCredentialError(`issuer "${issuer}" is not a valid domain id`, { field: 'issuer' });
  const issuerKey = toHex(root.publicKey);
  const id = credentialIdOf(normalized, issuer, issuerKey);
  const signature = toHex(sign(root.secretKey, credentialSigningBytes({ id, claims: normalized, issuer, issuerKey })));
  return { id, claims: normalized, issuer, issuerKey, signature };
}

/**
 * Structural check of an untrusted credential document (from a file, a header, JSON): throws
 * InvalidCredentialError with the field. Does not check the signature or the trust chain.
 */
export function parseCredential(value: unknown, where = 'credential'): Credential {
  if (typeof value !== 'object' || value === null) throw new InvalidCredentialError(`${where} must be a JSON object`, { field: where });
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || !ID_HEX.test(v.id)) throw new InvalidCredentialError(`${where}.id must be 32 hex characters`, { field: `${where}.id` });
  if (typeof v.issuer !== 'string' || !ID_PATTERN.test(v.issuer)) throw new InvalidCredentialError(`${where}.issuer must be a domain id`, { field: `${where}.issuer` });
  if (typeof v.issuerKey !== 'string' || !HEX64.test(v.issuerKey)) throw new InvalidCredentialError(`${where}.issuerKey must be 64 hex characters`, { field: `${where}.issuerKey` });
  if (typeof v.signature !== 'string' || !HEX128.test(v.signature)) throw new InvalidCredentialError(`${where}.signature must be 128 hex characters`, { field: `${where}.signature` });
  const claims = validateClaims(v.claims as CredentialClaims, `${where}.claims`);
  return { id: v.id, claims, issuer: v.issuer, issuerKey: v.issuerKey, signature: v.signature };
}

/** The verified principal a credential names (what bus handlers see as `msg.sender`). */
export function principalOf(cred: Credential): Principal {
  const c = cred.claims;
  return {
    agentId: c.agentId,
    level: c.level,
    domain: c.domain,
    ...(c.slice !== undefined ? { slice: c.slice } : {}),
    ...(c.subslice !== undefined ? { subslice: c.subslice } : {}),
    ...(c.nf !== undefined ? { nf: c.nf } : {}),
    publicKey: c.publicKey,
    credentialId: cred.id,
  };
}

export function publicKeyBytes(cred: Credential): Uint8Array {
  return fromHex(cred.claims.publicKey);
}
