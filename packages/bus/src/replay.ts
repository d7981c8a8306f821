/**
 * Sliding replay window per (sender key, epoch): the highest sequence seen plus a bitmap of the
 * `size` sequences below it. A sequence is fresh if above the highest, or inside the window and not
 * yet seen. Entries idle for longer than `idleMs` are forgotten — safe, because any message they
 * could let through again carries a timestamp that the skew check already refuses as stale.
 */
export interface ReplayWindowOptions {
  /** Window width in sequences (default 4096, a multiple of 32). */
  size?: number;
  /** Forget a sender epoch idle this long (ms; default 2 × the allowed skew). */
  idleMs: number;
  /** Sweep idle entries when more than this many are tracked (default 10,000). */
  sweepAbove?: number;
}

interface Window {
  max: number;
  bits: Uint32Array;
  lastSeen: number;
}

export class ReplayWindow {
  private readonly size: number;
  private readonly idleMs: number;
  private readonly sweepAbove: number;
  private readonly windows = new Map<string, Window>();

  constructor(options: ReplayWindowOptions) {
    this.size = Math.max(32, Math.ceil((options.size ?? 4096) / 32) * 32);
    this.idleMs = options.idleMs;
    this.sweepAbove = options.sweepAbove ?? 10_000;
  }

  get tracked(): number {
    return this.windows.size;
  }

  /** True if (key, seq) has been accepted before or fell out of the window. Does not record. */
  seen(key: string, seq: number): boolean {
    const w = this.windows.get(key);
    if (!w || seq > w.max) return false;
    if (w.max - seq >= this.size) return true;
    const slot = seq % this.size;
    return (w.bits[slot >>> 5] & (1 << (slot & 31))) !== 0;
  }

  /** Records an accepted (key, seq); call only after the signature verified. */
  record(key: string, seq: number, now: number): void {
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= this.sweepAbove) this.sweep(now);
      w = { max: 0, bits: new Uint32Array(this.size / 32), lastSeen: now };
      this.windows.set(key, w);
    }
    w.lastSeen = now;
    if (seq > w.max) {
      if (seq - w.max >= this.size) {
        w.bits.fill(0);
      } else {
        for (let s = w.max + 1; s < seq; s++) {
          const slot = s % this.size;
          w.bits[slot >>> 5] &= ~(1 << (slot & 31));
        }
      }
      w.max = seq;
    }
    const slot = seq % this.size;
    w.bits[slot >>> 5] |= 1 << (slot & 31);
  }

  sweep(now: number): number {
    let removed = 0;
    for (const [key, w] of this.windows) {
      if (now - w.lastSeen > this.idleMs) {
        this.windows.delete(key);
        removed++;
      }
    }
    return removed;
  }
}
