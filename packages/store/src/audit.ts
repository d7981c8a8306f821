import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify } from 'node:crypto';
import type { Clock, Counter, KeyValueStore, MetricsRegistry } from '@sliceguard/core';
import { fromHex, fromUtf8, sortableNumber, toHex, utf8 } from '@sliceguard/core';
import type { Database, Transaction } from './database.js';
import { canonicalJson } from './encoding.js';
import { STORE_ERROR_CODES, StoreDecodeError, StoreError, StoreInvalidRecordError, StoreOptionsError } from './errors.js';

/** What the audit log records (open-ended: packages may add kinds). */
export type AuditKind = 'decision' | 'action' | 'outcome' | 'lifecycle' | 'trust' | 'policy' | 'incident' | 'delegation' | 'config' | (string & {});

export interface AuditEntry {
  kind: AuditKind;
  /** Agent id (or operator id) that did it. */
  actor: string;
  /** What it is about (incident id, policy id, agent id…). */
  subject?: string;
  /** Defaults to the log's clock. */
  at?: number;
  /** JSON payload: the decision, the transition `{ from, to }`, the policy change… */
  data: unknown;
}

export interface AuditRecord {
  seq: number;
  at: number;
  kind: string;
  actor: string;
  subject?: string;
  data: unknown;
  /** Hex SHA-256 of the previous record (the anchor's hash after pruning; zeros for the first). */
  prevHash: string;
  /** Hex SHA-256 over prevHash bytes + canonical JSON of the record's content fields. */
  hash: string;
  /** Hex Ed25519 public key of the signer. */
  publicKey: string;
  /** Hex Ed25519 signature over AUDIT_SIGNATURE_TAG + hash bytes. */
  signature: string;
}

/** The hash of the last pruned record, signed, so that retention keeps the chain verifiable. */
export interface AuditAnchor {
  seq: number;
  hash: string;
  at: number;
  publicKey: string;
  signature: string;
}

/** Signs with the agent's key; injected so the store does not depend on identity's internals. */
export interface AuditSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export type SignatureVerifier = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

export const AUDIT_SIGNATURE_TAG = 'sliceguard-audit-v1:';
export const AUDIT_ANCHOR_TAG = 'sliceguard-audit-anchor-v1:';
export const GENESIS_HASH = '0'.repeat(64);

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Ed25519 verification with node:crypto (RFC 8032, the same signatures as @noble/ed25519). */
export function nodeEd25519Verifier(): SignatureVerifier {
  // a log is signed by one key: building the KeyObject once makes verification ~10x faster
  const keys = new Map<string, ReturnType<typeof createPublicKey>>();
  return (publicKey, message, signature) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      const hex = toHex(publicKey);
      let key = keys.get(hex);
      if (!key) {
        key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
        if (keys.size > 64) keys.clear();
        keys.set(hex, key);
      }
      return edVerify(null, message, key, signature);
    } catch {
      return false;
    }
  };
}

/** An Ed25519 signer on node:crypto from a 32-byte seed (a fresh random key when omitted). */
export function nodeEd25519Signer(seed?: Uint8Array): AuditSigner & { seed: Uint8Array } {
  let privateKey: ReturnType<typeof createPrivateKey>;
  let secret: Uint8Array;
  if (seed) {
    if (seed.length !== 32) throw new StoreOptionsError('an Ed25519 seed is 32 bytes', { length: seed.length });
    secret = seed;
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } else {
    privateKey = generateKeyPairSync('ed25519').privateKey;
    secret = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(16));
  }
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return { publicKey, seed: secret, sign: (message) => new Uint8Array(edSign(null, message, privateKey)) };
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** The bytes a record's hash covers: previous hash + canonical JSON of its content fields. */
export function auditRecordHash(record: Omit<AuditRecord, 'hash' | 'signature'>): string {
  const content = canonicalJson({
    seq: record.seq,
    at: record.at,
    kind: record.kind,
    actor: record.actor,
    subject: record.subject,
    data: record.data,
    publicKey: record.publicKey,
  });
  return toHex(sha256(fromHex(record.prevHash), utf8(content)));
}

function anchorMessage(seq: number, hash: string): Uint8Array {
  return utf8(`${AUDIT_ANCHOR_TAG}${canonicalJson({ seq, hash })}`);
}

function signatureMessage(hash: string): Uint8Array {
  const tag = utf8(AUDIT_SIGNATURE_TAG);
  const h = fromHex(hash);
  const m = new Uint8Array(tag.length + h.length);
  m.set(tag);
  m.set(h, tag.length);
  return m;
}

export interface AuditLogOptions {
  signer: AuditSigner;
  clock: Clock;
  /** Key prefix (default 'audit'). */
  prefix?: string;
  /**
   * Keep this many records (default 100 000); older ones are pruned behind a signed anchor, in
   * chunks, so up to 1 % more may be stored between two prunes.
   */
  maxRecords?: number;
  /** Counts appended records as `sliceguard_audit_records_total{kind}`. */
  metrics?: MetricsRegistry;
}

export const defaultAuditLogOptions = Object.freeze({ prefix: 'audit', maxRecords: 100_000 });

interface Head {
  seq: number;
  hash: string;
  /** seq of the first record kept (anchor.seq + 1). */
  first: number;
}

function recordKey(prefix: string, seq: number): string {
  return `${prefix}/r/${sortableNumber(seq, 16)}`;
}

/**
 * An append-only, hash-chained, signed log of everything a loop decided and did. Appends are
 * serialized by the database's write lock and may be staged in the same atomic batch as the state
 * change they describe (`stageAppend`), so the log never misses a change that reached disk.
 */
export class AuditLog {
  private readonly db: Database;
  private readonly signer: AuditSigner;
  private readonly clock: Clock;
  readonly prefix: string;
  readonly maxRecords: number;
  private readonly publicKeyHex: string;
  private head_: Head | undefined;
  private readonly appended: Counter | undefined;
  private readonly pendingHeads = new WeakMap<Transaction, Head>();

  constructor(db: Database, options: AuditLogOptions) {
    const prefix = options.prefix ?? defaultAuditLogOptions.prefix;
    const maxRecords = options.maxRecords ?? defaultAuditLogOptions.maxRecords;
    if (!(Number.isInteger(maxRecords) && maxRecords > 0)) throw new StoreOptionsError('audit maxRecords must be a positive integer', { maxRecords });
    if (!(options.signer?.publicKey instanceof Uint8Array) || options.signer.publicKey.length !== 32) {
      throw new StoreOptionsError('audit signer needs a 32-byte Ed25519 public key', {});
    }
    this.db = db;
    this.signer = options.signer;
    this.clock = options.clock;
    this.prefix = prefix;
    this.maxRecords = maxRecords;
    this.publicKeyHex = toHex(options.signer.publicKey);
    this.appended = options.metrics?.counter({ name: 'sliceguard_audit_records_total', help: 'Audit records appended, by kind', labelNames: ['kind'] });
  }

  /** The chain head (seq 0 and the genesis hash when empty). */
  async head(): Promise<{ seq: number; hash: string; first: number }> {
    if (this.head_) return { ...this.head_ };
    const anchor = await readAnchor(this.db.kv, this.prefix);
    let head: Head = anchor ? { seq: anchor.seq, hash: anchor.hash, first: anchor.seq + 1 } : { seq: 0, hash: GENESIS_HASH, first: 1 };
    for await (const [key, bytes] of this.db.kv.entries({ gte: `${this.prefix}/r/`, lt: `${this.prefix}/r0`, reverse: true, limit: 1 })) {
      const last = decodeRecord(key, bytes);
      head = { seq: last.seq, hash: last.hash, first: head.first };
    }
    this.head_ = head;
    return { ...head };
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    return this.db.transaction((tx) => this.stageAppend(tx, entry));
  }

  /**
   * Fire-and-forget append for synchronous listeners (loop notices, enforcement outcomes, trust
   * transitions, policy changes): records keep call order (the write lock is FIFO); a failure goes
   * to `onError` (e.g. log it) instead of an unhandled rejection. `flush()` waits for all of them.
   */
  record(entry: AuditEntry, onError?: (error: unknown, entry: AuditEntry) => void): void {
    const p = this.append(entry).then(
      () => undefined,
      (error: unknown) => onError?.(error, entry),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves when every `record()` issued so far has been written (or reported to onError). */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private readonly inFlight = new Set<Promise<void>>();

  appendMany(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    return this.db.transaction(async (tx) => {
      const out: AuditRecord[] = [];
      for (const e of entries) out.push(await this.stageAppend(tx, e));
      return out;
    });
  }

  /** Stages one record (and any pruning it triggers) in a transaction. */
  async stageAppend(tx: Transaction, entry: AuditEntry): Promise<AuditRecord> {
    if (typeof entry.kind !== 'string' || entry.kind.length === 0 || typeof entry.actor !== 'string' || entry.actor.length === 0) {
      throw new StoreInvalidRecordError('an audit entry needs a kind and an actor', { kind: entry.kind, actor: entry.actor });
    }
    const prev = this.pendingHeads.get(tx) ?? (await this.head());
    let data: unknown;
    try {
      data = JSON.parse(canonicalJson(entry.data ?? null));
    } catch (cause) {
      throw new StoreInvalidRecordError(`audit entry ${entry.kind} by ${entry.actor}: data is not JSON (${(cause as Error).message})`, {
        kind: entry.kind,
      });
    }
    const base = {
      seq: prev.seq + 1,
      at: entry.at ?? this.clock.now(),
      kind: entry.kind,
      actor: entry.actor,
      subject: entry.subject,
      data,
      prevHash: prev.hash,
      publicKey: this.publicKeyHex,
    };
    const hash = auditRecordHash(base);
    const signature = toHex(await this.signWith(signatureMessage(hash)));
    const record: AuditRecord = { ...base, hash, signature };
    if (record.subject === undefined) delete record.subject;
    tx.put(recordKey(this.prefix, record.seq), utf8(JSON.stringify(record)));
    if (this.appended) tx.afterCommit(() => this.appended?.inc({ kind: record.kind }));
    let next: Head = { seq: record.seq, hash, first: prev.first };
    // prune in chunks of 1 % so that steady state costs one anchor signature per maxRecords/100 appends
    const kept = next.seq - next.first + 1;
    if (kept > this.maxRecords + Math.floor(this.maxRecords / 100)) next = await this.stagePrune(tx, next, kept - this.maxRecords);
    if (!this.pendingHeads.has(tx)) {
      tx.afterCommit(() => {
        this.head_ = this.pendingHeads.get(tx);
        this.pendingHeads.delete(tx);
      });
    }
    this.pendingHeads.set(tx, next);
    return record;
  }

  private async signWith(message: Uint8Array): Promise<Uint8Array> {
    try {
      const sig = await this.signer.sign(message);
      if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new Error(`signer returned ${sig?.length ?? typeof sig} bytes, need 64`);
      return sig;
    } catch (cause) {
      throw new StoreError(STORE_ERROR_CODES.auditSigner, `audit signer failed: ${(cause as Error).message}`, { cause });
    }
  }

  /** Deletes the `n` oldest records and moves the signed anchor to the last one deleted. */
  private async stagePrune(tx: Transaction, head: Head, n: number): Promise<Head> {
    let last: AuditRecord | undefined;
    for (let seq = head.first; seq < head.first + n; seq++) {
      const key = recordKey(this.prefix, seq);
      const bytes = await tx.get(this.db.kv, key);
      if (bytes === undefined) continue;
      last = decodeRecord(key, bytes);
      tx.del(key);
    }
    if (!last) return head;
    const signature = toHex(await this.signWith(anchorMessage(last.seq, last.hash)));
    const anchor: AuditAnchor = { seq: last.seq, hash: last.hash, at: this.clock.now(), publicKey: this.publicKeyHex, signature };
    tx.put(`${this.prefix}/anchor`, utf8(JSON.stringify(anchor)));
    return { ...head, first: last.seq + 1 };
  }

  /** Records in chain order (oldest first unless reverse). */
  records(query: { fromSeq?: number; limit?: number; reverse?: boolean } = {}): AsyncIterable<AuditRecord> {
    return iterateRecords(this.db.kv, this.prefix, query);
  }

  async list(query: { fromSeq?: number; limit?: number; reverse?: boolean } = {}): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for await (const r of this.records(query)) out.push(r);
    return out;
  }
}

/** Reads audit records without a signer (for tools: `sliceguard audit show`). */
export async function readAuditRecords(
  kv: KeyValueStore,
  query: { prefix?: string; fromSeq?: number; limit?: number; reverse?: boolean } = {},
): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of iterateRecords(kv, query.prefix ?? defaultAuditLogOptions.prefix, query)) out.push(r);
  return out;
}

async function* iterateRecords(
  kv: KeyValueStore,
  prefix: string,
  query: { fromSeq?: number; limit?: number; reverse?: boolean },
): AsyncIterable<AuditRecord> {
  const gte = query.fromSeq === undefined ? `${prefix}/r/` : recordKey(prefix, query.fromSeq);
  for await (const [key, bytes] of kv.entries({ gte, lt: `${prefix}/r0`, limit: query.limit, reverse: query.reverse })) {
    yield decodeRecord(key, bytes);
  }
}

function decodeRecord(key: string, bytes: Uint8Array): AuditRecord {
  try {
    return JSON.parse(fromUtf8(bytes)) as AuditRecord;
  } catch (cause) {
    throw new StoreDecodeError(key, cause);
  }
}

async function readAnchor(kv: KeyValueStore, prefix: string): Promise<AuditAnchor | undefined> {
  const key = `${prefix}/anchor`;
  const bytes = await kv.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(fromUtf8(bytes)) as AuditAnchor;
  } catch (cause) {
    throw new StoreDecodeError(key, cause);
  }
}

export type AuditBreakReason =
  | 'decode_error'
  | 'sequence_gap'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'unknown_key'
  | 'bad_signature'
  | 'anchor_invalid';

export interface AuditBreak {
  /** Position among the stored records (0 = oldest kept); -1 for the anchor. */
  index: number;
  seq: number | null;
  key: string;
  reason: AuditBreakReason;
  message: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  /** Records checked (up to and including the first broken one). */
  checked: number;
  head: { seq: number; hash: string } | null;
  anchor: { seq: number; hash: string } | null;
  /** True when signatures were checked against a key given by the caller (not just the log's own). */
  authenticated: boolean;
  publicKey: string | null;
  firstBroken?: AuditBreak;
}

export interface VerifyAuditOptions {
  prefix?: string;
  /** The key the log must be signed with (hex or bytes). Without it, the key of the first record is used. */
  publicKey?: string | Uint8Array;
  verifier?: SignatureVerifier;
}

/**
 * Walks the chain from the anchor (or genesis) to the head and stops at the first record whose
 * sequence, previous-hash link, own hash or signature is wrong.
 */
export async function verifyAuditLog(kv: KeyValueStore, options: VerifyAuditOptions = {}): Promise<AuditVerifyReport> {
  const prefix = options.prefix ?? defaultAuditLogOptions.prefix;
  const verify = options.verifier ?? nodeEd25519Verifier();
  let expectedKey: string | null =
    options.publicKey === undefined ? null : typeof options.publicKey === 'string' ? options.publicKey.toLowerCase() : toHex(options.publicKey);
  if (expectedKey !== null && !/^[0-9a-f]{64}$/.test(expectedKey)) {
    throw new StoreOptionsError('the public key must be 32 bytes (64 hex characters)', { publicKey: expectedKey });
  }
  const authenticated = expectedKey !== null;
  const report = (checked: number, head: AuditVerifyReport['head'], anchor: AuditVerifyReport['anchor'], firstBroken?: AuditBreak): AuditVerifyReport => ({
    ok: firstBroken === undefined,
    checked,
    head,
    anchor,
    authenticated,
    publicKey: expectedKey,
    ...(firstBroken ? { firstBroken } : {}),
  });

  let anchor: AuditAnchor | undefined;
  const anchorKey = `${prefix}/anchor`;
  try {
    anchor = await readAnchor(kv, prefix);
  } catch (error) {
    return report(0, null, null, { index: -1, seq: null, key: anchorKey, reason: 'decode_error', message: (error as Error).message });
  }
  if (anchor) {
    expectedKey ??= anchor.publicKey;
    const valid =
      Number.isInteger(anchor.seq) &&
      /^[0-9a-f]{64}$/.test(anchor.hash) &&
      anchor.publicKey === expectedKey &&
      /^(?:[0-9a-f]{2}){64}$/.test(anchor.signature ?? '') &&
      verify(fromHex(anchor.publicKey), anchorMessage(anchor.seq, anchor.hash), fromHex(anchor.signature));
    if (!valid) {
      return report(0, null, null, {
        index: -1,
        seq: anchor.seq ?? null,
        key: anchorKey,
        reason: 'anchor_invalid',
        message: 'the retention anchor is not signed by the log key (records may have been removed from the front)',
      });
    }
  }
  let expectedSeq = anchor ? anchor.seq + 1 : 1;
  let prevHash = anchor ? anchor.hash : GENESIS_HASH;
  let index = 0;
  let head: AuditVerifyReport['head'] = anchor ? { seq: anchor.seq, hash: anchor.hash } : null;
  const anchorOut = anchor ? { seq: anchor.seq, hash: anchor.hash } : null;
  for await (const [key, bytes] of kv.entries({ gte: `${prefix}/r/`, lt: `${prefix}/r0` })) {
    const broken = (reason: AuditBreakReason, message: string, seq: number | null): AuditVerifyReport =>
      report(index + 1, head, anchorOut, { index, seq, key, reason, message });
    let r: AuditRecord;
    try {
      r = JSON.parse(fromUtf8(bytes)) as AuditRecord;
      if (typeof r !== 'object' || r === null || !Number.isInteger(r.seq)) throw new Error('record has no integer seq');
    } catch (error) {
      return broken('decode_error', `record is not valid JSON: ${(error as Error).message}`, null);
    }
    if (key !== recordKey(prefix, r.seq) || r.seq !== expectedSeq) {
      return broken(
        'sequence_gap',
        `expected seq ${expectedSeq} at this position, found seq ${r.seq} under key ${key} (a record was removed, inserted or renumbered)`,
        r.seq,
      );
    }
    if (r.prevHash !== prevHash) {
      return broken('prev_hash_mismatch', `prevHash ${String(r.prevHash).slice(0, 16)}… does not match the previous record's hash ${prevHash.slice(0, 16)}…`, r.seq);
    }
    let recomputed: string;
    try {
      recomputed = auditRecordHash(r);
    } catch (error) {
      return broken('hash_mismatch', `record content cannot be hashed: ${(error as Error).message}`, r.seq);
    }
    if (recomputed !== r.hash) return broken('hash_mismatch', `record content was altered: its hash is ${recomputed.slice(0, 16)}…, stored ${String(r.hash).slice(0, 16)}…`, r.seq);
    expectedKey ??= r.publicKey;
    if (r.publicKey !== expectedKey) return broken('unknown_key', `record signed by key ${String(r.publicKey).slice(0, 16)}…, expected ${expectedKey.slice(0, 16)}…`, r.seq);
    let sigOk = false;
    try {
      sigOk = /^(?:[0-9a-f]{2}){64}$/.test(r.signature) && verify(fromHex(r.publicKey), signatureMessage(r.hash), fromHex(r.signature));
    } catch {
      sigOk = false;
    }
    if (!sigOk) return broken('bad_signature', 'signature does not verify with the log key', r.seq);
    prevHash = r.hash;
    head = { seq: r.seq, hash: r.hash };
    expectedSeq++;
    index++;
  }
  return report(index, head, anchorOut);
}
