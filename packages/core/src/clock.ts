/**
 * Time is injected everywhere so that one process can run thousands of agents on a simulated clock
 * and the same code runs in real time in a container.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (simulated or real). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wall clock, backed by Node's timers. Timers are unref'd only when asked. */
export function systemClock(options: { unref?: boolean } = {}): Clock {
  let nextId = 1;
  const timers = new Map<number, NodeJS.Timeout>();
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = nextId++;
      const t = setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms);
      if (options.unref) t.unref();
      timers.set(id, t);
      return { id };
    },
    clearTimeout(handle) {
      if (!handle) return;
      const t = timers.get(handle.id);
      if (t) clearTimeout(t);
      timers.delete(handle.id);
    },
    setInterval(fn, ms) {
      const id = nextId++;
      const t = setInterval(fn, ms);
      if (options.unref) t.unref();
      timers.set(id, t);
      return { id };
    },
    clearInterval(handle) {
      if (!handle) return;
      const t = timers.get(handle.id);
      if (t) clearInterval(t);
      timers.delete(handle.id);
    },
    sleep: (ms, signal) => sleepOn(clock, ms, signal),
  };
  return clock;
}

interface SimTimer {
  id: number;
  at: number;
  seq: number;
  interval?: number;
  fn: () => void;
}

/**
 * A deterministic simulated clock: timers fire in (time, creation order) order when the clock is
 * advanced. `advance` yields to the microtask queue after each timer so that promise chains started
 * by a timer complete before the next timer fires, which keeps async agents deterministic.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private readonly heap: SimTimer[] = [];
  private readonly live = new Map<number, SimTimer>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  get pendingTimers(): number {
    return this.live.size;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.schedule(fn, Math.max(0, ms), undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    if (!(ms > 0)) throw new RangeError(`interval must be > 0 ms, got ${ms}`);
    return this.schedule(fn, ms, ms);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.live.delete(handle.id);
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Fires every timer due up to now + ms (in order), then sets the clock to now + ms. */
  async advance(ms: number): Promise<number> {
    return this.runUntil(this.current + ms);
  }

  /** Fires every timer due up to `t`, yielding to microtasks between timers. Returns timers fired. */
  async runUntil(t: number): Promise<number> {
    let fired = 0;
    for (;;) {
      const next = this.peek();
      if (!next || next.at > t) break;
      this.pop();
      if (!this.live.has(next.id)) continue;
      this.current = Math.max(this.current, next.at);
      if (next.interval !== undefined) {
        next.at += next.interval;
        next.seq = this.seq++;
        this.push(next);
      } else {
        this.live.delete(next.id);
      }
      next.fn();
      fired++;
      await flushMicrotasks();
    }
    this.current = Math.max(this.current, t);
    await flushMicrotasks();
    return fired;
  }

  private schedule(fn: () => void, ms: number, interval: number | undefined): TimerHandle {
    const timer: SimTimer = { id: this.nextId++, at: this.current + ms, seq: this.seq++, interval, fn };
    this.live.set(timer.id, timer);
    this.push(timer);
    return { id: timer.id };
  }

  private less(a: SimTimer, b: SimTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private peek(): SimTimer | undefined {
    // drop cancelled timers lazily
    while (this.heap.length > 0 && !this.live.has(this.heap[0].id)) this.pop();
    return this.heap[0];
  }

  private push(t: SimTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): SimTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Lets pending promise callbacks run (several turns, since chains resolve one link per turn). */
export async function flushMicrotasks(turns = 8): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
