import { ID_PATTERN, type Principal, fromHex, toHex } from '@sliceguard/core';
import { type Credential, credentialIdOf, credentialSigningBytes, isValidSubjectPattern, principalOf } from './credential.js';
import { verify } from './ed25519.js';
import { InvalidKeyError, InvalidRevocationListError } from './errors.js';
import { type RevocationList, revocationSignatureValid } from './revocation.js';
import { patternWithin } from './scope.js';

/** Why a credential is refused; a subset of the bus's RejectReason. */
export type CredentialRejectReason = 'unknown_root' | 'bad_credential' | 'expired' | 'not_yet_valid' | 'revoked';

export type CredentialCheck =
  | { ok: true; credential: Credential; principal: Principal }
  | { ok: false; reason: CredentialRejectReason; message: string };

export type RevocationOutcome =
  | { applied: true; domain: string; seq: number; newlyRevoked: string[] }
  | { applied: false; reason: 'unknown_root' | 'bad_signature' | 'stale_sequence'; message: string };

export interface TrustedRoot {
  domain: string;
  /** Hex of the root's public key. */
  publicKey: string;
  /** Subject patterns this root may grant in credentials; default `sg.<domain>.>`. */
  authority: string[];
}

export interface TrustStoreOptions {
  roots?: Array<{ domain: string; publicKey: string | Uint8Array; authority?: string[] }>;
  /** Credential signatures already checked (by id + signature); default 10,000. */
  signatureCacheSize?: number;
}

export type TrustStoreChange = { type: 'root-added' | 'root-removed'; domain: string } | { type: 'revocations'; domain: string; seq: number; newlyRevoked: string[] };

/**
 * The domain roots a principal trusts (several domains, each possibly with several keys during a
 * rotation) and the latest revocation list of each. Many buses may share one store: credential
 * signature checks are cached here, keyed by credential id and signature.
 */
export class TrustStore {
  private readonly rootsByDomain = new Map<string, Map<string, TrustedRoot>>();
  private readonly revocations = new Map<string, { seq: number; ids: Set<string>; list: RevocationList }>();
  private readonly signatureCache = new Map<string, boolean>();
  private readonly structuralCache = new Map<string, { revision: number; credential: Credential; result: CredentialCheck }>();
  private readonly signatureCacheSize: number;
  private readonly listeners = new Set<(change: TrustStoreChange) => void>();
  private revisionCounter = 0;

  constructor(options: TrustStoreOptions = {}) {
    this.signatureCacheSize = options.signatureCacheSize ?? 10_000;
    for (const r of options.roots ?? []) this.addRoot(r.domain, r.publicKey, { authority: r.authority });
  }

  /** Bumped on every change (roots, revocations), so callers can invalidate their own caches. */
  get revision(): number {
    return this.revisionCounter;
  }

  addRoot(domain: string, publicKey: string | Uint8Array, options: { authority?: string[] } = {}): TrustedRoot {
    if (!ID_PATTERN.test(domain)) throw new InvalidKeyError(`root domain "${domain}" is not a valid domain id`, { field: 'domain' });
    const hex = typeof publicKey === 'string' ? publicKey.toLowerCase() : toHex(publicKey);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new InvalidKeyError(`root key of domain "${domain}" must be 32 bytes (64 hex characters)`, { field: 'publicKey', domain });
    const authority = options.authority ?? [`sg.${domain}.>`];
    for (const a of authority) {
      if (!isValidSubjectPattern(a)) throw new InvalidKeyError(`authority pattern "${a}" of domain "${domain}" is not a valid subject pattern`, { field: 'authority' });
    }
    const root: TrustedRoot = { domain, publicKey: hex, authority: [...authority] };
    let keys = this.rootsByDomain.get(domain);
    if (!keys) this.rootsByDomain.set(domain, (keys = new Map()));
    keys.set(hex, root);
    this.changed({ type: 'root-added', domain });
    return root;
  }

  /** Removes one key of a domain, or every key when `publicKey` is omitted. */
  removeRoot(domain: string, publicKey?: string | Uint8Array): boolean {
    const keys = this.rootsByDomain.get(domain);
    if (!keys) return false;
    let removed: boolean;
    if (publicKey === undefined) {
      removed = this.rootsByDomain.delete(domain);
    } else {
      removed = keys.delete(typeof publicKey === 'string' ? publicKey.toLowerCase() : toHex(publicKey));
      if (keys.size === 0) this.rootsByDomain.delete(domain);
    }
    if (removed) this.changed({ type: 'root-removed', domain });
    return removed;
  }

  roots(): TrustedRoot[] {
    return [...this.rootsByDomain.values()].flatMap((m) => [...m.values()].map((r) => ({ ...r, authority: [...r.authority] })));
  }

  rootFor(domain: string, publicKeyHex: string): TrustedRoot | undefined {
    return this.rootsByDomain.get(domain)?.get(publicKeyHex);
  }

  /**
   * Full check of a credential at time `now` (clock ms): issuing root trusted, claims name the
   * issuing domain, scopes inside the root's authority, id and signature valid, within
   * [notBefore, expiresAt), not revoked. Never throws on bad input.
   */
  verifyCredential(cred: Credential, now: number): CredentialCheck {
    // The trust-dependent part (root, domain, authority, signature) only changes with the store's
    // revision; a bus checks the same credential on every message, so it is cached per credential.
    const key = `${cred.id}:${cred.signature}`;
    let structural = this.structuralCache.get(key);
    if (!structural || structural.revision !== this.revisionCounter || structural.credential !== cred) {
      structural = { revision: this.revisionCounter, credential: cred, result: this.checkStructure(cred) };
      if (this.structuralCache.size >= this.signatureCacheSize) {
        const oldest = this.structuralCache.keys().next().value;
        if (oldest !== undefined) this.structuralCache.delete(oldest);
      }
      this.structuralCache.set(key, structural);
    }
    const result = structural.result;
    if (!result.ok) return result;
    const c = cred.claims;
    if (now < c.notBefore) return { ok: false, reason: 'not_yet_valid', message: `credential ${cred.id} is valid from ${new Date(c.notBefore).toISOString()}` };
    if (now >= c.expiresAt) return { ok: false, reason: 'expired', message: `credential ${cred.id} expired at ${new Date(c.expiresAt).toISOString()}` };
    if (this.isRevoked(cred.id, cred.issuer)) return { ok: false, reason: 'revoked', message: `credential ${cred.id} is revoked by ${cred.issuer}` };
    return result;
  }

  private checkStructure(cred: Credential): CredentialCheck {
    const root = this.rootFor(cred.issuer, cred.issuerKey);
    if (!root) {
      return { ok: false, reason: 'unknown_root', message: `issuer ${cred.issuer} with key ${String(cred.issuerKey).slice(0, 16)}… is not a trusted root` };
    }
    const c = cred.claims;
    if (c.domain !== cred.issuer) {
      return { ok: false, reason: 'bad_credential', message: `a root of ${cred.issuer} cannot vouch for domain ${c.domain}` };
    }
    for (const scope of c.scopes) {
      if (!root.authority.some((a) => patternWithin(scope, a))) {
        return { ok: false, reason: 'bad_credential', message: `scope ${scope} is outside the authority of the ${cred.issuer} root (${root.authority.join(', ')})` };
      }
    }
    if (!this.signatureValid(cred)) return { ok: false, reason: 'bad_credential', message: `credential ${cred.id} has an invalid id or signature` };
    return { ok: true, credential: cred, principal: Object.freeze(principalOf(cred)) };
  }

  private signatureValid(cred: Credential): boolean {
    const key = `${cred.id}:${cred.signature}`;
    const cached = this.signatureCache.get(key);
    if (cached !== undefined) return cached;
    let ok = false;
    try {
      ok =
        credentialIdOf(cred.claims, cred.issuer, cred.issuerKey) === cred.id &&
        verify(fromHex(cred.issuerKey), credentialSigningBytes(cred), fromHex(cred.signature));
    } catch {
      ok = false;
    }
    if (this.signatureCache.size >= this.signatureCacheSize) {
      const oldest = this.signatureCache.keys().next().value;
      if (oldest !== undefined) this.signatureCache.delete(oldest);
    }
    this.signatureCache.set(key, ok);
    return ok;
  }

  /** Revoked by its issuer's latest list (only the issuing domain can revoke its credentials). */
  isRevoked(credentialId: string, issuer?: string): boolean {
    if (issuer !== undefined) return this.revocations.get(issuer)?.ids.has(credentialId) ?? false;
    for (const r of this.revocations.values()) if (r.ids.has(credentialId)) return true;
    return false;
  }

  /** Sequence number of the latest list applied for `domain` (0 when none). */
  revocationSeq(domain: string): number {
    return this.revocations.get(domain)?.seq ?? 0;
  }

  revocationList(domain: string): RevocationList | undefined {
    return this.revocations.get(domain)?.list;
  }

  /**
   * Applies a signed list if its root is trusted, its signature verifies and its seq is newer than
   * the one held. Returns why not otherwise (never throws for a bad list).
   */
  applyRevocations(list: RevocationList): RevocationOutcome {
    const root = this.rootFor(list.domain, list.issuerKey);
    if (!root) return { applied: false, reason: 'unknown_root', message: `revocations of ${list.domain} signed by an untrusted key` };
    let valid = false;
    try {
      valid = revocationSignatureValid(list);
    } catch {
      valid = false;
    }
    if (!valid) return { applied: false, reason: 'bad_signature', message: `revocation list ${list.domain}#${list.seq} has an invalid signature` };
    const current = this.revocations.get(list.domain);
    if (current && list.seq <= current.seq) {
      return { applied: false, reason: 'stale_sequence', message: `revocation list ${list.domain}#${list.seq} is not newer than #${current.seq}` };
    }
    const ids = new Set(list.revoked);
    const newlyRevoked = list.revoked.filter((id) => !current?.ids.has(id));
    this.revocations.set(list.domain, { seq: list.seq, ids, list });
    this.changed({ type: 'revocations', domain: list.domain, seq: list.seq, newlyRevoked });
    return { applied: true, domain: list.domain, seq: list.seq, newlyRevoked };
  }

  /** Like applyRevocations but throws InvalidRevocationListError (for files and the CLI). */
  applyRevocationsOrThrow(list: RevocationList): void {
    const outcome = this.applyRevocations(list);
    if (!outcome.applied) throw new InvalidRevocationListError(outcome.message, { reason: outcome.reason, domain: list.domain, seq: list.seq });
  }

  onChange(listener: (change: TrustStoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(change: TrustStoreChange): void {
    this.revisionCounter++;
    for (const l of this.listeners) l(change);
  }
}
