import { type Rng, SimulatedClock, seededRng, type TimerHandle } from '@sliceguard/core';
import { InvalidSimulationOptionsError, SimulationRunError } from './errors.js';

export interface EngineOptions {
  /** Seed of every random stream in the run (each component forks its own). */
  seed: number | string;
  /** Simulated start time, ms since the epoch. Default 2026-01-05T00:00:00Z (a Monday, midnight). */
  startMs?: number;
}

export const DEFAULT_START_MS = Date.UTC(2026, 0, 5, 0, 0, 0);

export interface RunOptions {
  /** Simulated time advanced per step between progress reports and event-loop yields. Default 60 s. */
  stepMs?: number;
  onProgress?: (doneMs: number, totalMs: number) => void;
  signal?: AbortSignal;
  /**
   * Awaited between steps: lets wall-clock work started by simulated events (e.g. model training)
   * finish before simulated time moves on, so its result lands at the right simulated time.
   */
  settle?: () => Promise<void>;
  /**
   * Real-time pacing: simulated ms per wall-clock ms (1 = real time, 10 = ten times faster).
   * Omitted: as fast as the machine goes. Pacing never speeds a run up, it only waits.
   */
  pace?: number;
}

export interface RunResult {
  simulatedMs: number;
  wallMs: number;
  timersFired: number;
}

/**
 * The discrete-event engine: a SimulatedClock, a seeded random source forked per component, and a
 * run loop that advances the clock in steps, yielding to the Node event loop between steps so I/O
 * (NATS sockets, file writes, progress output) keeps flowing. Given the same seed and the same
 * sequence of scheduled events, a run is bit-for-bit reproducible.
 */
export class SimulationEngine {
  readonly clock: SimulatedClock;
  readonly startMs: number;
  private readonly root: Rng;
  private readonly forks = new Set<string>();

  constructor(options: EngineOptions) {
    this.startMs = options.startMs ?? DEFAULT_START_MS;
    if (!Number.isFinite(this.startMs)) throw new InvalidSimulationOptionsError('startMs must be a finite number', { startMs: this.startMs });
    this.clock = new SimulatedClock(this.startMs);
    this.root = seededRng(options.seed);
  }

  now(): number {
    return this.clock.now();
  }

  /** Milliseconds since the start of the run. */
  elapsed(): number {
    return this.clock.now() - this.startMs;
  }

  /** An independent random stream for one component; labels must be unique in a run. */
  fork(label: string): Rng {
    if (this.forks.has(label)) throw new InvalidSimulationOptionsError(`random stream "${label}" forked twice`, { label });
    this.forks.add(label);
    return this.root.fork(label);
  }

  /** Runs `fn` at `offsetMs` after the start of the run. */
  at(offsetMs: number, fn: () => void): TimerHandle {
    return this.clock.setTimeout(fn, Math.max(0, this.startMs + offsetMs - this.clock.now()));
  }

  /** Runs `fn` every `periodMs`, first at `firstOffsetMs` (default one period from now). */
  every(periodMs: number, fn: () => void, firstOffsetMs?: number): { cancel(): void } {
    let interval: TimerHandle | undefined;
    const start = (): void => {
      fn();
      interval = this.clock.setInterval(fn, periodMs);
    };
    const first = firstOffsetMs === undefined ? this.clock.setTimeout(start, periodMs) : this.at(firstOffsetMs, start);
    return {
      cancel: () => {
        this.clock.clearTimeout(first);
        this.clock.clearInterval(interval);
      },
    };
  }

  /** Advances simulated time to `untilOffsetMs` after the start. */
  async run(untilOffsetMs: number, options: RunOptions = {}): Promise<RunResult> {
    const step = options.stepMs ?? 60_000;
    if (!(step > 0)) throw new InvalidSimulationOptionsError('stepMs must be > 0', { stepMs: step });
    if (options.pace !== undefined && !(options.pace > 0 && Number.isFinite(options.pace))) {
      throw new InvalidSimulationOptionsError('pace must be a positive number (simulated ms per wall ms)', { pace: options.pace });
    }
    const wall0 = performance.now();
    const sim0 = this.clock.now();
    const end = this.startMs + untilOffsetMs;
    let fired = 0;
    while (this.clock.now() < end) {
      if (options.signal?.aborted) {
        const reason = options.signal.reason instanceof Error ? `: ${options.signal.reason.message}` : '';
        throw new SimulationRunError(`simulation aborted${reason}`, options.signal.reason);
      }
      const next = Math.min(end, this.clock.now() + step);
      try {
        fired += await this.clock.runUntil(next);
      } catch (error) {
        throw new SimulationRunError(`a simulated event failed at +${Math.round(this.elapsed() / 1000)} s: ${(error as Error)?.message ?? error}`, error);
      }
      options.onProgress?.(this.elapsed(), untilOffsetMs);
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (options.settle) await options.settle();
      if (options.pace !== undefined) {
        const due = wall0 + (this.clock.now() - sim0) / options.pace;
        const wait = due - performance.now();
        if (wait > 0) await sleepWall(wait, options.signal);
      }
    }
    return { simulatedMs: untilOffsetMs, wallMs: performance.now() - wall0, timersFired: fired };
  }
}

function sleepWall(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Poisson-distributed count with mean `lambda` (Knuth below 30, normal approximation above). */
export function poisson(rng: Rng, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 30) {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rng.next();
    } while (p > l);
    return k - 1;
  }
  return Math.max(0, Math.round(rng.normal(lambda, Math.sqrt(lambda))));
}
