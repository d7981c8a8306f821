import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '@sliceguard/core';
import { fromHex, toHex, utf8 } from '@sliceguard/core';
import { ApiError } from './errors.js';
import type { ApiPrincipal } from './providers.js';

/** Scopes a principal needs for the mutating routes. `*` grants everything. */
export const API_SCOPES = ['policies:write', 'loops:control', 'mitigations:write', 'read'] as const;
export type ApiScope = (typeof API_SCOPES)[number] | '*';

export interface BearerToken {
  /** At least 16 characters; compared in constant time. */
  token: string;
  principal: string;
  scopes: readonly ApiScope[];
}

export interface OperatorKey {
  publicKey: Uint8Array;
  scopes: readonly ApiScope[];
}

export type SignatureVerifier = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

export interface ApiAuthOptions {
  tokens?: readonly BearerToken[];
  /**
   * Signed operator requests: headers x-sg-operator, x-sg-timestamp (clock ms), x-sg-signature
   * (hex Ed25519 over `signedRequestMessage`). `resolve` looks up the operator's key — typically by
   * verifying the operator credential (x-sg-credential header, issued by the domain root) with
   * identity's TrustStore — and returns undefined for an unknown or revoked operator.
   */
  operators?: {
    resolve(operatorId: string, headers: Record<string, string | string[] | undefined>): Promise<OperatorKey | undefined> | OperatorKey | undefined;
    verify: SignatureVerifier;
    /** Allowed clock skew and replay window (default 30 000 ms). */
    maxSkewMs?: number;
  };
  /** Require authentication (scope `read`) on read routes too (default false: reads are open). */
  protectReads?: boolean;
}

export const SIGNED_REQUEST_TAG = 'sliceguard-api-v1';

/** The bytes an operator signs: tag, method, path with query, timestamp and the body's SHA-256. */
export function signedRequestMessage(method: string, url: string, timestamp: number, body: string | Uint8Array | undefined): Uint8Array {
  const bodyBytes = body === undefined ? new Uint8Array(0) : typeof body === 'string' ? utf8(body) : body;
  const digest = createHash('sha256').update(bodyBytes).digest('hex');
  return utf8(`${SIGNED_REQUEST_TAG}\n${method.toUpperCase()}\n${url}\n${timestamp}\n${digest}`);
}

/** Client side: the headers of a signed request (use the exact body string you send). */
export async function signRequest(input: {
  method: string;
  url: string;
  body?: string;
  operatorId: string;
  timestamp: number;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}): Promise<Record<string, string>> {
  const sig = await input.sign(signedRequestMessage(input.method, input.url, input.timestamp, input.body));
  return { 'x-sg-operator': input.operatorId, 'x-sg-timestamp': String(input.timestamp), 'x-sg-signature': toHex(sig) };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export interface Authenticator {
  authenticate(request: {
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
    rawBody?: string;
  }): Promise<ApiPrincipal | undefined>;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Checks a bearer token (constant-time against every configured token, so timing says nothing
 * about which one matched) or a signed request (skew window + replay cache on the injected
 * clock). Returns undefined when no credentials were presented; throws 401 for bad ones.
 */
export function createAuthenticator(options: ApiAuthOptions, clock: Clock): Authenticator {
  const tokens = (options.tokens ?? []).map((t) => {
    if (typeof t.token !== 'string' || t.token.length < 16) {
      throw new ApiError('API_ERR_VALIDATION', `bearer token of ${t.principal} is shorter than 16 characters`, { principal: t.principal });
    }
    return { ...t, digest: digest(t.token) };
  });
  const maxSkewMs = options.operators?.maxSkewMs ?? 30_000;
  const seen = new Map<string, number>(); // signature → expiry (replay window)

  const prune = (now: number): void => {
    for (const [sig, exp] of seen) {
      if (exp > now) break; // insertion order ≈ time order
      seen.delete(sig);
    }
  };

  return {
    async authenticate(req) {
      const auth = header(req.headers, 'authorization');
      if (auth !== undefined) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
        if (!m) throw new ApiError('API_ERR_UNAUTHORIZED', 'malformed Authorization header: expected "Bearer <token>"');
        const presented = digest(m[1]);
        let match: (typeof tokens)[number] | undefined;
        for (const t of tokens) if (timingSafeEqual(presented, t.digest) && !match) match = t;
        if (!match) throw new ApiError('API_ERR_UNAUTHORIZED', 'unknown bearer token');
        return { id: match.principal, method: 'token', scopes: match.scopes };
      }
      const operatorId = header(req.headers, 'x-sg-operator');
      const sigHex = header(req.headers, 'x-sg-signature');
      const tsText = header(req.headers, 'x-sg-timestamp');
      if (operatorId === undefined && sigHex === undefined && tsText === undefined) return undefined;
      if (!options.operators) throw new ApiError('API_ERR_UNAUTHORIZED', 'signed requests are not accepted by this agent (no operator keys configured)');
      if (!operatorId || !sigHex || !tsText) {
        throw new ApiError('API_ERR_UNAUTHORIZED', 'a signed request needs x-sg-operator, x-sg-timestamp and x-sg-signature headers');
      }
      const timestamp = Number(tsText);
      const now = clock.now();
      if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > maxSkewMs) {
        throw new ApiError('API_ERR_UNAUTHORIZED', `request timestamp ${tsText} is outside the allowed skew of ${maxSkewMs} ms (server time ${now})`, {
          serverTime: now,
        });
      }
      if (!/^(?:[0-9a-fA-F]{2}){64}$/.test(sigHex)) throw new ApiError('API_ERR_UNAUTHORIZED', 'x-sg-signature must be 128 hex characters');
      const key = await options.operators.resolve(operatorId, req.headers);
      if (!key) throw new ApiError('API_ERR_UNAUTHORIZED', `unknown or revoked operator ${operatorId}`, { operator: operatorId });
      const message = signedRequestMessage(req.method, req.url, timestamp, req.rawBody);
      if (!options.operators.verify(key.publicKey, message, fromHex(sigHex))) {
        throw new ApiError('API_ERR_UNAUTHORIZED', 'request signature does not verify (sign method, path, timestamp and body exactly as sent)');
      }
      prune(now);
      const replayKey = sigHex.toLowerCase();
      if (seen.has(replayKey)) throw new ApiError('API_ERR_UNAUTHORIZED', 'replayed signed request');
      seen.set(replayKey, now + 2 * maxSkewMs);
      return { id: operatorId, method: 'signature', scopes: key.scopes };
    },
  };
}

export function hasScope(principal: ApiPrincipal, scope: ApiScope): boolean {
  return principal.scopes.includes('*') || principal.scopes.includes(scope);
}

/** The part of identity's TrustStore this needs (typed structurally: the api does not depend on identity). */
export interface CredentialVerifier {
  verifyCredential(
    credential: never,
    now: number,
  ): { ok: true; principal: { agentId: string; level: string; publicKey: string } } | { ok: false; reason?: string; message: string };
}

/**
 * `auth.operators.resolve` for operator credentials issued by the domain root: the request carries
 * its credential in `x-sg-credential` (base64url of the credential JSON); it must verify in the
 * TrustStore (trusted root, signature, validity window, not revoked), be of level `operator` and
 * name the same agent id as `x-sg-operator`. Every refusal is a 401 that says why.
 */
export function credentialOperators(options: {
  trustStore: CredentialVerifier;
  clock: Clock;
  /** API scopes granted to a verified operator (default all). */
  scopes?: readonly ApiScope[];
}): (operatorId: string, headers: Record<string, string | string[] | undefined>) => OperatorKey {
  return (operatorId, headers) => {
    const raw = header(headers, 'x-sg-credential');
    if (!raw) throw new ApiError('API_ERR_UNAUTHORIZED', 'a signed request needs the operator credential in x-sg-credential (base64url JSON)');
    let credential: unknown;
    try {
      credential = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    } catch (cause) {
      throw new ApiError('API_ERR_UNAUTHORIZED', 'x-sg-credential is not base64url-encoded JSON', {}, cause);
    }
    let check: ReturnType<CredentialVerifier['verifyCredential']>;
    try {
      check = options.trustStore.verifyCredential(credential as never, options.clock.now());
    } catch (cause) {
      throw new ApiError('API_ERR_UNAUTHORIZED', 'the operator credential is malformed', {}, cause);
    }
    if (!check.ok) throw new ApiError('API_ERR_UNAUTHORIZED', `operator credential refused: ${check.message}`, { reason: check.reason ?? 'refused' });
    const p = check.principal;
    if (p.level !== 'operator') throw new ApiError('API_ERR_UNAUTHORIZED', `credential of ${p.agentId} is for level ${p.level}, not operator`);
    if (p.agentId !== operatorId) throw new ApiError('API_ERR_UNAUTHORIZED', `x-sg-operator ${operatorId} does not match the credential's agent ${p.agentId}`);
    if (!/^[0-9a-fA-F]{64}$/.test(p.publicKey)) throw new ApiError('API_ERR_UNAUTHORIZED', 'the operator credential has no valid public key');
    return { publicKey: fromHex(p.publicKey), scopes: options.scopes ?? ['*'] };
  };
}
