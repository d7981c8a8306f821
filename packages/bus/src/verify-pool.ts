import { Worker } from 'node:worker_threads';

interface Job {
  key: Uint8Array;
  input: Uint8Array;
  sig: Uint8Array;
  resolve: (ok: boolean) => void;
  reject: (e: Error) => void;
}

/**
 * Ed25519 verification on worker threads: jobs queued in one event-loop turn travel together (one
 * postMessage of one transferred buffer per worker), so the per-message cost on the bus thread is
 * a copy and a promise, and the verifications run on the other cores.
 */
export class VerifyPool {
  private readonly workers: Worker[];
  private readonly inflight = new Map<number, Job[]>();
  private queue: Job[] = [];
  private scheduled = false;
  private nextId = 1;
  private nextWorker = 0;
  private closed = false;

  constructor(
    size: number,
    private readonly maxBatch = 256,
  ) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const w = new Worker(new URL('./verify-worker.js', import.meta.url));
      w.on('message', (m: { id: number; results: Uint8Array }) => {
        const jobs = this.inflight.get(m.id);
        if (!jobs) return;
        this.inflight.delete(m.id);
        for (const [i, j] of jobs.entries()) j.resolve(m.results[i] === 1);
      });
      w.on('error', (error) => this.fail(error));
      w.unref();
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  verify(key: Uint8Array, input: Uint8Array, sig: Uint8Array): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('verify pool closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ key, input, sig, resolve, reject });
      if (this.queue.length >= this.maxBatch * this.workers.length) this.dispatch();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.dispatch());
      }
    });
  }

  private dispatch(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const jobs = this.queue.splice(0, Math.max(1, Math.min(this.maxBatch, Math.ceil(this.queue.length / this.workers.length))));
      let total = 0;
      for (const j of jobs) total += j.input.length;
      const data = new Uint8Array(total);
      const inputEnds = new Uint32Array(jobs.length);
      const sigs = new Uint8Array(jobs.length * 64);
      const keys = new Uint8Array(jobs.length * 32);
      let o = 0;
      jobs.forEach((j, i) => {
        data.set(j.input, o);
        o += j.input.length;
        inputEnds[i] = o;
        sigs.set(j.sig.subarray(0, 64), i * 64);
        keys.set(j.key.subarray(0, 32), i * 32);
      });
      const id = this.nextId++;
      this.inflight.set(id, jobs);
      const w = this.workers[this.nextWorker++ % this.workers.length];
      w.postMessage({ id, data, inputEnds, sigs, keys }, [data.buffer, inputEnds.buffer, sigs.buffer, keys.buffer]);
    }
  }

  private fail(error: Error): void {
    for (const jobs of this.inflight.values()) for (const j of jobs) j.reject(error);
    this.inflight.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = [...this.queue];
    this.queue = [];
    for (const j of pending) j.reject(new Error('verify pool closed'));
    this.fail(new Error('verify pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
