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
 *   Sg-Batch  only in batch mode: "<index>/<size>/<base64url of the Merkle proof (log2(size) × 32 bytes)>"
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

/**
 * Batch mode (one signature over several messages): the leaves are SHA-256(0x00 ‖ signingInput) of
 * each message, padded with SHA-256(0x02) up to a power of two; inner nodes are
 * SHA-256(0x01 ‖ left ‖ right). The sender signs BATCH_TAG ‖ u32(size) ‖ root once; each message
 * carries its index and the sibling hashes on its path (a Merkle proof, 32 bytes per level).
 */
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
export const EMPTY_LEAF = createHash('sha256').update(Buffer.from([2])).digest();

export function merkleLeaf(f: SignedFields, data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(signingInput(f, data)).digest();
}

function parent(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** Builds the tree; returns the root, the padded size and each leaf's proof. */
export function merkleTree(leaves: Buffer[]): { root: Buffer; size: number; proofs: Buffer[] } {
  let size = 1;
  while (size < leaves.length) size *= 2;
  let level = [...leaves];
  while (level.length < size) level.push(EMPTY_LEAF);
  const proofs: Buffer[][] = leaves.map(() => []);
  const position = leaves.map((_, i) => i);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(parent(level[i], level[i + 1]));
    for (let leaf = 0; leaf < leaves.length; leaf++) {
      proofs[leaf].push(level[position[leaf] ^ 1]);
      position[leaf] >>= 1;
    }
    level = next;
  }
  return { root: level[0], size, proofs: proofs.map((p) => Buffer.concat(p)) };
}

/** Folds a leaf with its proof; undefined if the proof does not fit `size`. */
export function merkleRoot(leaf: Buffer, index: number, size: number, proof: Buffer): Buffer | undefined {
  const depth = Math.log2(size);
  if (!Number.isInteger(depth) || index < 0 || index >= size || proof.length !== depth * 32) return undefined;
  let node = leaf;
  let pos = index;
  for (let d = 0; d < depth; d++) {
    const sibling = proof.subarray(d * 32, d * 32 + 32);
    node = pos & 1 ? parent(sibling, node) : parent(node, sibling);
    pos >>= 1;
  }
  return node;
}

export function batchSigningInput(size: number, root: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(size, 0);
  return Buffer.concat([Buffer.from(BATCH_TAG, 'utf8'), header, root]);
}
