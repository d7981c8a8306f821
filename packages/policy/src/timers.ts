import type { Clock, TimerEvent, TimerHandle } from '@sliceguard/core';
import type { PolicySet } from './model.js';
import type { PolicyStore } from './store.js';

export interface PolicyTimersOptions {
  clock: Clock;
  policies: PolicySet | PolicyStore;
  /** Agent id raising the timer events (the loop). */
  source: string;
  /** The managed entity the timer events are about. */
  target: string;
  onTimer(event: TimerEvent): void;
}

export interface PolicyTimers {
  start(): void;
  stop(): void;
  /** Timer names and periods currently scheduled. */
  scheduled(): Array<{ name: string; everyMs: number }>;
}

/**
 * Raises the TimerEvents that `on: { event: timer, name, every }` policies wait for, at their
 * periods on the loop's clock (the control-plane trigger of the second paper's ECA events). With a
 * PolicyStore, timers follow policy changes.
 */
export function createPolicyTimers(options: PolicyTimersOptions): PolicyTimers {
  const { clock } = options;
  const handles = new Map<string, { handle: TimerHandle; name: string; everyMs: number }>();
  let seq = 0;
  let unsubscribe: (() => void) | undefined;
  const current = (): PolicySet => ('current' in options.policies && typeof options.policies.current === 'function' ? options.policies.current() : (options.policies as PolicySet));

  const sync = (): void => {
    const wanted = new Map<string, { name: string; everyMs: number }>();
    for (const p of current().policies) {
      if (!p.enabled || p.on.event !== 'timer' || p.on.everyMs === undefined || !p.on.name) continue;
      const name = p.on.name[0];
      wanted.set(`${name}@${p.on.everyMs}`, { name, everyMs: p.on.everyMs });
    }
    for (const [key, h] of handles) {
      if (!wanted.has(key)) {
        clock.clearInterval(h.handle);
        handles.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      if (handles.has(key)) continue;
      const handle = clock.setInterval(() => {
        options.onTimer({
          id: `timer:${options.source}:${w.name}:${++seq}`,
          type: 'timer',
          at: clock.now(),
          source: options.source,
          target: options.target,
          severity: 0,
          name: w.name,
        });
      }, w.everyMs);
      handles.set(key, { handle, ...w });
    }
  };

  return {
    start() {
      sync();
      const store = options.policies as PolicyStore;
      if (!unsubscribe && typeof store.onChange === 'function') unsubscribe = store.onChange(() => sync());
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      for (const h of handles.values()) clock.clearInterval(h.handle);
      handles.clear();
    },
    scheduled: () => [...handles.values()].map(({ name, everyMs }) => ({ name, everyMs })),
  };
}
