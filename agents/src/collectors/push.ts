import type { MonitoredSample } from '@sliceguard/mape';
import type { Collector } from './collector.js';

export interface PushFeed extends Collector {
  /** Offers a sample (the simulation's NF model calls it); the oldest is dropped when full. */
  push(sample: MonitoredSample): void;
  readonly pending: number;
  readonly dropped: number;
}

/**
 * The simulation's metric feed: samples are pushed in and handed to the loop at its next tick
 * (all that arrived since the previous tick, oldest first). Bounded: beyond `capacity` the oldest
 * sample is dropped and counted.
 */
export function pushFeed(options: { capacity?: number; name?: string } = {}): PushFeed {
  const capacity = options.capacity ?? 1024;
  let buffer: MonitoredSample[] = [];
  let dropped = 0;
  return {
    name: options.name ?? 'push',
    push(sample) {
      if (buffer.length >= capacity) {
        buffer.shift();
        dropped++;
      }
      buffer.push(sample);
    },
    get pending() {
      return buffer.length;
    },
    get dropped() {
      return dropped;
    },
    async collect() {
      const out = buffer;
      buffer = [];
      return out;
    },
  };
}
