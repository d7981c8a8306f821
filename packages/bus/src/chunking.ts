import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '@sliceguard/core';

/** `Sg-Chunk` value: "<msgId>/<index>/<count>/<totalBytes>/<sha256 hex of the whole payload>". */
export interface ChunkInfo {
  msgId: string;
  index: number;
  count: number;
  total: number;
  sha256: string;
}

const CHUNK = /^([0-9a-z]{1,16})\/(\d{1,7})\/(\d{1,7})\/(\d{1,12})\/([0-9a-f]{64})$/;

export function formatChunk(c: ChunkInfo): string {
  return `${c.msgId}/${c.index}/${c.count}/${c.total}/${c.sha256}`;
}

export function parseChunk(value: string): ChunkInfo | undefined {
  const m = CHUNK.exec(value);
  if (!m) return undefined;
  const c = { msgId: m[1], index: Number(m[2]), count: Number(m[3]), total: Number(m[4]), sha256: m[5] };
  if (c.count < 1 || c.index >= c.count) return undefined;
  return c;
}

/** Splits `data` into `ceil(len / chunkSize)` pieces sharing one message id and digest. */
export function splitPayload(data: Uint8Array, chunkSize: number, msgId: string): Array<{ info: ChunkInfo; data: Uint8Array }> {
  const sha256 = createHash('sha256').update(data).digest('hex');
  const count = Math.max(1, Math.ceil(data.length / chunkSize));
  const out: Array<{ info: ChunkInfo; data: Uint8Array }> = [];
  for (let i = 0; i < count; i++) {
    out.push({ info: { msgId, index: i, count, total: data.length, sha256 }, data: data.subarray(i * chunkSize, Math.min(data.length, (i + 1) * chunkSize)) });
  }
  return out;
}

export interface ReassemblyOptions {
  clock: Clock;
  /** A message whose chunks do not all arrive within this many ms fails (default 30,000). */
  timeoutMs: number;
  /** Largest reassembled payload accepted (bytes, default 64 MiB). */
  maxMessageBytes: number;
  /** Messages being reassembled at once per receiver (default 64). */
  maxPending: number;
}

interface Pending<M> {
  info: ChunkInfo;
  subject: string;
  parts: Array<Uint8Array | undefined>;
  received: number;
  timer: TimerHandle;
  first: M;
}

export type ReassemblyResult<M> = { done: false } | { done: true; data: Uint8Array; first: M } | { done: false; error: string };

/**
 * Collects verified chunks (each chunk is a separately signed message) per (sender epoch, message
 * id). A chunk that disagrees with the first one, a digest mismatch, a timeout or too many pending
 * messages fail the whole message — the caller counts it as `chunk_integrity`.
 */
export class Reassembler<M> {
  private readonly pending = new Map<string, Pending<M>>();

  constructor(
    private readonly options: ReassemblyOptions,
    private readonly onTimeout: (first: M, subject: string, detail: string) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(senderKey: string, subject: string, info: ChunkInfo, data: Uint8Array, meta: M): ReassemblyResult<M> {
    const key = `${senderKey}:${info.msgId}`;
    let p = this.pending.get(key);
    if (!p) {
      if (info.total > this.options.maxMessageBytes) return { done: false, error: `chunked message of ${info.total} bytes exceeds ${this.options.maxMessageBytes}` };
      if (this.pending.size >= this.options.maxPending) return { done: false, error: `more than ${this.options.maxPending} chunked messages pending` };
      const timer = this.options.clock.setTimeout(() => {
        const gone = this.pending.get(key);
        if (!gone) return;
        this.pending.delete(key);
        this.onTimeout(gone.first, gone.subject, `chunks missing: got ${gone.received} of ${gone.info.count} within ${this.options.timeoutMs} ms`);
      }, this.options.timeoutMs);
      p = { info, subject, parts: new Array(info.count), received: 0, timer, first: meta };
      this.pending.set(key, p);
    }
    const fail = (error: string): ReassemblyResult<M> => {
      this.options.clock.clearTimeout(p.timer);
      this.pending.delete(key);
      return { done: false, error };
    };
    if (p.info.count !== info.count || p.info.total !== info.total || p.info.sha256 !== info.sha256 || p.subject !== subject) {
      return fail('chunk does not match the rest of its message');
    }
    if (p.parts[info.index] !== undefined) return fail(`chunk ${info.index} received twice`);
    p.parts[info.index] = data;
    p.received++;
    if (p.received < info.count) return { done: false };
    this.options.clock.clearTimeout(p.timer);
    this.pending.delete(key);
    let size = 0;
    for (const part of p.parts) size += part?.length ?? 0;
    if (size !== info.total) return { done: false, error: `reassembled ${size} bytes, expected ${info.total}` };
    const whole = new Uint8Array(size);
    let o = 0;
    for (const part of p.parts) {
      whole.set(part as Uint8Array, o);
      o += (part as Uint8Array).length;
    }
    if (createHash('sha256').update(whole).digest('hex') !== info.sha256) return { done: false, error: 'reassembled payload does not match its SHA-256' };
    return { done: true, data: whole, first: p.first };
  }

  clear(): void {
    for (const p of this.pending.values()) this.options.clock.clearTimeout(p.timer);
    this.pending.clear();
  }
}
