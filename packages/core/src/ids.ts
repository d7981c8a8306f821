import type { Rng } from './random.js';

/** Ids that are unique and, on a seeded generator, reproducible. */
export interface IdGenerator {
  next(prefix?: string): string;
}

export function idGenerator(rng: Rng, node = ''): IdGenerator {
  let counter = 0;
  return {
    next(prefix = 'id') {
      counter++;
      const r = Math.floor(rng.next() * 0xffffffff)
        .toString(16)
        .padStart(8, '0');
      return `${prefix}-${node}${node ? '-' : ''}${counter.toString(36)}${r}`;
    },
  };
}
