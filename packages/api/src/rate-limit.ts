import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Clock } from '@sliceguard/core';

interface Window {
  current: number;
  startedAt: number;
}

/**
 * A @fastify/rate-limit store on the injected clock (fixed window per client and route), so
 * simulated time drives rate limits in tests and no state is shared between apps. At most
 * `maxKeys` clients are tracked; the oldest window is evicted beyond that.
 */
export function clockRateLimitStore(clock: Clock, maxKeys = 10_000): FastifyRateLimitStoreCtor {
  class ClockStore {
    private readonly windows = new Map<string, Window>();

    incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number): void {
      const now = clock.now();
      let w = this.windows.get(key);
      if (!w || w.startedAt + timeWindow <= now) {
        this.windows.delete(key);
        w = { current: 0, startedAt: now };
        this.windows.set(key, w);
        if (this.windows.size > maxKeys) this.windows.delete(this.windows.keys().next().value as string);
      }
      w.current++;
      cb(null, { current: w.current, ttl: w.startedAt + timeWindow - now });
    }

    read(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number): void {
      const now = clock.now();
      const w = this.windows.get(key);
      if (!w || w.startedAt + timeWindow <= now) cb(null, { current: 0, ttl: 0 });
      else cb(null, { current: w.current, ttl: w.startedAt + timeWindow - now });
    }

    child(): ClockStore {
      return new ClockStore();
    }
  }
  return ClockStore;
}
