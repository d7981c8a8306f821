import type { Clock, Principal, RejectReason } from '@sliceguard/core';
import { type Credential, type TrustStore, type VerifyFn, createVerifier, subjectInScopes } from '@sliceguard/identity';
import { type Envelope, PROTOCOL, batchSigningInput, decodeCredentialHeader, merkleLeaf, merkleRoot, signingInput, type SignedFields } from './envelope.js';
import { parseChunk } from './chunking.js';
import type { ReplayWindow } from './replay.js';
import type { VerifyPool } from './verify-pool.js';

export interface VerifierOptions {
  trustStore: TrustStore;
  clock: Clock;
  /** Allowed clock skew either way (ms, default 30,000). */
  maxSkewMs: number;
  /** Subjects under `<inboxPrefix>.` are reply inboxes: any verified sender may publish there. */
  inboxPrefix: string;
}

/**
 * Caches that may be shared by many receivers in one process (LocalBus shares them per network):
 * they only remember facts that do not depend on the receiver — a credential header's decoding and
 * whether a given envelope object's signature verified. Trust, revocation, scope, skew and replay
 * are still checked per receiver on every message.
 */
export interface VerifierCaches {
  credentials: Map<string, Credential | null>;
  verifiers: Map<string, VerifyFn | null>;
  /** Keyed by the immutable envelope object itself (LocalBus), never by signature bytes alone. */
  signatures?: WeakMap<Envelope, boolean>;
  /** Batch signatures verified: key = key + signature + Merkle root, so a reused signature over another root misses. */
  batches: Map<string, boolean>;
  /** (credential id, subject) → inside the credential's scopes. */
  scopes: Map<string, boolean>;
  maxEntries: number;
}

export function createVerifierCaches(maxEntries = 20_000): VerifierCaches {
  return { credentials: new Map(), verifiers: new Map(), batches: new Map(), scopes: new Map(), maxEntries };
}

function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

export interface VerifiedEnvelope {
  ok: true;
  sender: Principal;
  credential: Credential;
  timestamp: number;
  seq: number;
  epoch: string;
  replayKey: string;
}

export interface RejectedEnvelope {
  ok: false;
  reason: RejectReason;
  detail: string;
  sender?: string;
}

export type VerifyOutcome = VerifiedEnvelope | RejectedEnvelope;

const EPOCH = /^[0-9a-f]{16}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const SIG = /^[A-Za-z0-9_-]{86}$/;
const SEALED_MAX_ENTRIES = 256;
const SEALED_MAX_BYTES = 1 << 20;
const BATCH = /^(\d{1,4})\/(\d{1,4})\/([A-Za-z0-9_-]*)$/;

function reject(reason: RejectReason, detail: string, sender?: string): RejectedEnvelope {
  return { ok: false, reason, detail, ...(sender !== undefined ? { sender } : {}) };
}

/**
 * The one verifier both buses use. `verify` never throws: any malformed input is a rejection.
 * Checks (in order, cheapest first; the replay window is updated only after the signature passed):
 * envelope well-formed → credential chains to a trusted root, valid now, not revoked → subject in
 * the credential's scopes (or a reply inbox) → timestamp within skew → (sender, epoch, seq) fresh →
 * Ed25519 signature (or batch signature + digest).
 */
export class EnvelopeVerifier {
  private readonly inboxPrefixDot: string;
  private readonly inflight = new Map<string, Promise<boolean>>();
  /**
   * What this receiver's own bus signed (signature → key and exact signing input), so the echo of
   * its own message skips Ed25519 only when key, signature and every signed byte are identical to
   * what it signed itself (verification is deterministic). Bounded by entries and bytes.
   */
  private readonly sealed = new Map<string, { publicKey: string; input: Buffer }>();
  private sealedBytes = 0;

  constructor(
    private readonly options: VerifierOptions,
    private readonly caches: VerifierCaches = createVerifierCaches(),
  ) {
    this.inboxPrefixDot = `${options.inboxPrefix}.`;
  }

  /** Synchronous verification: every check, then the replay window records the message. */
  verify(env: Envelope, replay: ReplayWindow): VerifyOutcome {
    const pre = this.precheck(env, replay);
    if (!pre.ok) return pre;
    const task = this.signatureTask(env, pre);
    let ok: boolean;
    if ('known' in task) ok = task.known;
    else {
      const verifyFn = this.verifierFor(task.publicKey);
      ok = verifyFn ? verifyFn(task.input, task.sig) : false;
      task.remember(ok);
    }
    return this.commit(pre, ok, replay);
  }

  /**
   * Every check but the Ed25519 signature; does not touch the replay window. Used with
   * `signature()` and `commit()` when signatures are verified on worker threads.
   */
  precheck(env: Envelope, replay: ReplayWindow): VerifyOutcome {
    const h = env.headers;
    if (h.proto !== PROTOCOL) return reject('malformed', `protocol header ${JSON.stringify(h.proto)} is not ${PROTOCOL}`);
    if (!h.ts || !DECIMAL.test(h.ts) || !h.seq || !DECIMAL.test(h.seq) || !h.epoch || !EPOCH.test(h.epoch) || !h.sig || !SIG.test(h.sig) || !h.cred) {
      return reject('malformed', 'envelope headers missing or malformed');
    }
    if (h.chunk !== undefined && !parseChunk(h.chunk)) return reject('malformed', 'chunk header malformed');
    if (h.batch !== undefined && !BATCH.test(h.batch)) return reject('malformed', 'batch header malformed');
    const seq = Number(h.seq);
    const ts = Number(h.ts);
    if (seq < 1 || !Number.isSafeInteger(seq) || !Number.isSafeInteger(ts)) return reject('malformed', 'sequence or timestamp out of range');
    if (typeof env.subject !== 'string' || env.subject.length === 0) return reject('malformed', 'empty subject');

    const cred = this.credential(h.cred);
    if (!cred) return reject('malformed', 'credential header undecodable');
    const agentId = cred.claims.agentId;
    const now = this.options.clock.now();
    const check = this.options.trustStore.verifyCredential(cred, now);
    if (!check.ok) return reject(check.reason, check.message, agentId);

    if (!this.inScope(cred, env.subject)) {
      return reject('out_of_scope', `${agentId} may not publish on ${env.subject}`, agentId);
    }
    if (ts < now - this.options.maxSkewMs) return reject('stale', `timestamp ${now - ts} ms old`, agentId);
    if (ts > now + this.options.maxSkewMs) return reject('future', `timestamp ${ts - now} ms ahead`, agentId);

    const replayKey = `${cred.claims.publicKey}:${h.epoch}`;
    if (replay.seen(replayKey, seq)) return reject('replayed', `${agentId} epoch ${h.epoch} seq ${seq} already seen or too old`, agentId);
    return { ok: true, sender: check.principal, credential: cred, timestamp: ts, seq, epoch: h.epoch, replayKey };
  }

  /** The signature verdict, from a cache or computed on `pool` (async) or here (sync). */
  signature(env: Envelope, pre: VerifiedEnvelope, pool: VerifyPool): boolean | Promise<boolean> {
    const task = this.signatureTask(env, pre);
    if ('known' in task) return task.known;
    if (task.inflightKey !== undefined) {
      const running = this.inflight.get(task.inflightKey);
      if (running) return running;
    }
    const p = pool.verify(Buffer.from(task.publicKey, 'hex'), task.input, task.sig).then((ok) => {
      task.remember(ok);
      if (task.inflightKey !== undefined) this.inflight.delete(task.inflightKey);
      return ok;
    });
    if (task.inflightKey !== undefined) this.inflight.set(task.inflightKey, p);
    return p;
  }

  /** Final step: refuse a bad signature or a sequence accepted meanwhile; record the rest. */
  commit(pre: VerifiedEnvelope, signatureOk: boolean, replay: ReplayWindow): VerifyOutcome {
    const agentId = pre.sender.agentId;
    if (!signatureOk) return reject('bad_signature', `signature of ${agentId} does not verify`, agentId);
    if (replay.seen(pre.replayKey, pre.seq)) return reject('replayed', `${agentId} epoch ${pre.epoch} seq ${pre.seq} already seen`, agentId);
    replay.record(pre.replayKey, pre.seq, this.options.clock.now());
    return pre;
  }

  /** The bus records each signature it produced (key hex, base64url signature, the signed bytes). */
  rememberSealed(publicKey: string, sig: string, input: Buffer): void {
    if (input.length > SEALED_MAX_BYTES / 4) return;
    while (this.sealed.size >= SEALED_MAX_ENTRIES || (this.sealed.size > 0 && this.sealedBytes + input.length > SEALED_MAX_BYTES)) {
      const [oldestKey, oldest] = this.sealed.entries().next().value as [string, { input: Buffer }];
      this.sealed.delete(oldestKey);
      this.sealedBytes -= oldest.input.length;
    }
    const previous = this.sealed.get(sig);
    if (previous) this.sealedBytes -= previous.input.length;
    this.sealed.set(sig, { publicKey, input });
    this.sealedBytes += input.length;
  }

  private inScope(cred: Credential, subject: string): boolean {
    if (subject.startsWith(this.inboxPrefixDot)) return true;
    const key = `${cred.id}\n${subject}`;
    let ok = this.caches.scopes.get(key);
    if (ok === undefined) {
      ok = subjectInScopes(cred.claims.scopes, subject);
      boundedSet(this.caches.scopes, key, ok, this.caches.maxEntries);
    }
    return ok;
  }

  private credential(header: string): Credential | null {
    const cached = this.caches.credentials.get(header);
    if (cached !== undefined) return cached;
    let cred: Credential | null = null;
    try {
      cred = decodeCredentialHeader(header);
      Object.freeze(cred.claims.scopes);
      Object.freeze(cred.claims);
      Object.freeze(cred);
    } catch {
      cred = null;
    }
    boundedSet(this.caches.credentials, header, cred, this.caches.maxEntries);
    return cred;
  }

  private verifierFor(publicKeyHex: string): VerifyFn | null {
    let v = this.caches.verifiers.get(publicKeyHex);
    if (v !== undefined) return v;
    try {
      v = createVerifier(Buffer.from(publicKeyHex, 'hex'));
    } catch {
      v = null;
    }
    boundedSet(this.caches.verifiers, publicKeyHex, v, this.caches.maxEntries);
    return v;
  }

  private signatureTask(env: Envelope, pre: VerifiedEnvelope): SignatureTask {
    const shared = this.caches.signatures;
    const known = shared?.get(env);
    if (known !== undefined) return { known };
    const cred = pre.credential;
    const h = env.headers;
    const fields: SignedFields = {
      subject: env.subject,
      reply: env.reply ?? '',
      ts: h.ts ?? '',
      epoch: pre.epoch,
      seq: h.seq ?? '',
      credentialId: cred.id,
      chunk: h.chunk ?? '',
    };
    const sig = Buffer.from(h.sig ?? '', 'base64url');
    const publicKey = cred.claims.publicKey;
    const rememberEnvelope = (ok: boolean): void => {
      shared?.set(env, ok);
    };
    if (sig.length !== 64) return { known: false };
    if (h.batch === undefined) {
      const input = signingInput(fields, env.data);
      const own = this.sealed.get(h.sig ?? '');
      if (own !== undefined && own.publicKey === publicKey && own.input.equals(input)) return { known: true };
      return { publicKey, input, sig, remember: rememberEnvelope };
    }
    // Batch mode: our leaf and proof must lead to the root the sender signed.
    const m = BATCH.exec(h.batch);
    if (!m) return { known: false };
    const index = Number(m[1]);
    const size = Number(m[2]);
    const root = merkleRoot(merkleLeaf(fields, env.data), index, size, Buffer.from(m[3], 'base64url'));
    if (!root) return { known: false };
    const key = `${publicKey}:${h.sig}:${size}:${root.toString('base64url')}`;
    const cached = this.caches.batches.get(key);
    if (cached !== undefined) return { known: cached };
    return {
      publicKey,
      input: batchSigningInput(size, root),
      sig,
      inflightKey: key,
      remember: (ok) => {
        boundedSet(this.caches.batches, key, ok, this.caches.maxEntries);
        rememberEnvelope(ok);
      },
    };
  }
}

type SignatureTask = { known: boolean } | { publicKey: string; input: Buffer; sig: Buffer; remember: (ok: boolean) => void; inflightKey?: string };
