import { createHash } from 'node:crypto';
import { type Credential, parseCredential } from '@sliceguard/identity';

/**
 * The signed envelope, carried in NATS headers (docs/bus.md):
 *   Sg-Proto  protocol tag and version ("sg/1")
 *   Sg-Cred   the sender's credential: base64url of its JSON (receivers cache it verified, by value)
 *   Sg-Ts     sender clock, ms since the Unix epoch
 *   Sg-Epoch  16 hex chars, random per bus instance (a restarted sender starts a new epoch)
 *   Sg-Seq    per-epoch sequence number, 1, 2, 3…
 *   Sg-Chunk  only on chunks: "<msgId>/<index>/<count>/<totalBytes>/<sha256 hex of the whole>"
 *   Sg-Batch  only in batch mode: "<index>/<base64url of the concatenated 32-byte digests>"
 *   Sg-Sig    base64url of the Ed25519 signature (64 bytes) over `signingInput(...)`
 * LocalBus carries exactly the same header values and payload bytes.
 */
export const PROTOCOL = 'sg/1';
export const SIGNING_TAG = 'sliceguard-msg-v1';
export const BATCH_TAG = 'sliceguard-batch-v1';

export const H_PROTO = 'Sg-Proto';
export const H_CRED = 'Sg-Cred';
export const H_TS = 'Sg-Ts';
export const H_EPOCH = 'Sg-Epoch';
export const H_SEQ = 'Sg-Seq';
export const H_CHUNK = 'Sg-Chunk';
export const H_BATCH = 'Sg-Batch';
export const H_SIG = 'Sg-Sig';
export const HEADER_NAMES = [H_PROTO, H_CRED, H_TS, H_EPOCH, H_SEQ, H_CHUNK, H_BATCH, H_SIG] as const;

/** Header values as they travel (strings), however the transport stores them. */
export interface EnvelopeHeaders {
  proto?: string;
  cred?: string;
  ts?: string;
  epoch?: string;
  seq?: string;
  chunk?: string;
  batch?: string;
  sig?: string;
}

/** One message on the wire. */
export interface Envelope {
  subject: string;
  reply?: string;
  headers: EnvelopeHeaders;
  data: Uint8Array;
}

export function encodeCredentialHeader(cred: Credential): string {
  return Buffer.from(JSON.stringify(cred), 'utf8').toString('base64url');
}

/** Throws on anything that is not a structurally valid credential. */
export function decodeCredentialHeader(value: string): Credential {
  if (value.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(value)) throw new Error('credential header is not base64url');
  return parseCredential(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
}

/** The signed fields other than the payload. */
export interface SignedFields {
  subject: string;
  reply: string;
  ts: string;
  epoch: string;
  seq: string;
  credentialId: string;
  chunk: string;
}

/**
 * Bytes covered by the signature: the tag and every field length-prefixed (u32 BE) so no two
 * different field tuples share an encoding, followed by the exact payload bytes.
 */
export function signingInput(f: SignedFields, data: Uint8Array): Buffer {
  const parts = [SIGNING_TAG, f.subject, f.reply, f.ts, f.epoch, f.seq, f.credentialId, f.chunk];
  const encoded = parts.map((p) => Buffer.from(p, 'utf8'));
  let size = data.length;
  for (const e of encoded) size += 4 + e.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const e of encoded) {
    out.writeUInt32BE(e.length, o);
    o += 4;
    e.copy(out, o);
    o += e.length;
  }
  out.set(data, o);
  return out;
}

/** Batch mode: each message contributes SHA-256(signingInput); one signature covers the list. */
export function messageDigest(f: SignedFields, data: Uint8Array): Buffer {
  return createHash('sha256').update(signingInput(f, data)).digest();
}

export function batchSigningInput(digests: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(BATCH_TAG, 'utf8'), digests]);
}
