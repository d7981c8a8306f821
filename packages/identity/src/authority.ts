import { AGENT_LEVELS, SliceguardError, type AgentLevel, type Clock, type PrincipalLevel, loopScope, systemClock, toHex } from '@sliceguard/core';
import { type AgentIdentity, type Credential, type CredentialClaims, issueCredential } from './credential.js';
import { type KeyPair, generateKeyPair } from './ed25519.js';
import { InvalidCredentialError } from './errors.js';
import { type RevocationList, signRevocationList } from './revocation.js';
import { TrustStore } from './trust-store.js';

export const DEFAULT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
/** Credentials are back-dated by this much so receivers whose clock lags a little accept them. */
export const DEFAULT_BACKDATE_MS = 60_000;

/** What `issue` needs; `domain`, `publicKey`, `notBefore`, `expiresAt`, `scopes` get defaults. */
export type IssueClaims = Omit<CredentialClaims, 'publicKey' | 'domain' | 'notBefore' | 'expiresAt' | 'scopes'> &
  Partial<Pick<CredentialClaims, 'domain' | 'notBefore' | 'expiresAt' | 'scopes'>>;

export interface IssueOptions {
  /** Default 365 days. Ignored when `claims.expiresAt` is given. */
  validForMs?: number;
  /** Use this key pair instead of generating one. */
  keyPair?: KeyPair;
}

export interface DomainAuthority {
  readonly domain: string;
  readonly keyPair: KeyPair;
  readonly publicKeyHex: string;
  /** Mints a key pair (unless given) and a credential for it. */
  issue(claims: IssueClaims, options?: IssueOptions): AgentIdentity;
  /** Signs a credential for an existing public key (hex). */
  issueFor(publicKeyHex: string, claims: IssueClaims, options?: Omit<IssueOptions, 'keyPair'>): Credential;
  /** Adds ids to this authority's cumulative list and returns the next signed list (seq + 1). */
  revoke(credentialIds: string[]): RevocationList;
  /** A trust store that trusts this root (add other domains' roots to it for cross-domain trust). */
  trustStore(): TrustStore;
}

/** Default publish scopes by level: loops their own prefix, the coordinator its FL subjects, operators the domain. */
export function defaultScopes(level: PrincipalLevel, placement: { domain: string; slice?: string; subslice?: string; nf?: string }): string[] {
  if ((AGENT_LEVELS as readonly string[]).includes(level)) {
    const scopes = [loopScope(level as AgentLevel, placement), `sg.${placement.domain}._sys.>`];
    // NF agents are the federated-learning clients of their domain's coordinator
    if (level === 'nf') scopes.push(`sg.${placement.domain}._fl.*.join`, `sg.${placement.domain}._fl.*.update`);
    return scopes;
  }
  if (level === 'coordinator') return [`sg.${placement.domain}._fl.>`, `sg.${placement.domain}._sys.>`];
  return [`sg.${placement.domain}.>`];
}

function scopesFor(level: PrincipalLevel, placement: { domain: string; slice?: string; subslice?: string; nf?: string }): string[] {
  try {
    return defaultScopes(level, placement);
  } catch (error) {
    if (error instanceof SliceguardError) throw new InvalidCredentialError(`claims: ${error.message}`, { ...error.details }, error);
    throw error;
  }
}

/** A domain root: the easy way for tests, simulations and `sliceguard up` to mint identities. */
export function createDomainAuthority(domain: string, options: { keyPair?: KeyPair; clock?: Clock; backdateMs?: number } = {}): DomainAuthority {
  const keyPair = options.keyPair ?? generateKeyPair();
  const clock = options.clock ?? systemClock();
  const backdate = options.backdateMs ?? DEFAULT_BACKDATE_MS;
  const revoked = new Set<string>();
  let seq = 0;

  const claimsFor = (publicKey: string, claims: IssueClaims, validForMs: number | undefined): CredentialClaims => {
    const d = claims.domain ?? domain;
    if (d !== domain) throw new InvalidCredentialError(`the ${domain} root cannot issue credentials for domain ${d}`, { field: 'domain' });
    const now = clock.now();
    const notBefore = claims.notBefore ?? now - backdate;
    return {
      ...claims,
      domain,
      publicKey,
      scopes: claims.scopes ?? scopesFor(claims.level, { ...claims, domain }),
      notBefore,
      expiresAt: claims.expiresAt ?? now + (validForMs ?? DEFAULT_VALIDITY_MS),
    };
  };

  return {
    domain,
    keyPair,
    publicKeyHex: toHex(keyPair.publicKey),
    issue(claims, opts = {}) {
      const kp = opts.keyPair ?? generateKeyPair();
      return { keyPair: kp, credential: issueCredential(keyPair, domain, claimsFor(toHex(kp.publicKey), claims, opts.validForMs)) };
    },
    issueFor(publicKeyHex, claims, opts = {}) {
      return issueCredential(keyPair, domain, claimsFor(publicKeyHex.toLowerCase(), claims, opts.validForMs));
    },
    revoke(credentialIds) {
      for (const id of credentialIds) revoked.add(id);
      seq++;
      return signRevocationList(keyPair, domain, seq, revoked, clock.now());
    },
    trustStore() {
      return new TrustStore({ roots: [{ domain, publicKey: keyPair.publicKey }] });
    },
  };
}
