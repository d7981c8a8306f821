import { waitUntil } from '@sliceguard/test-utils';
import type { FlatWeights, TrustEvidence, TrustSink, TrustView } from '@sliceguard/core';
import { seededRng } from '@sliceguard/core';
import { createDenseAutoencoder, type DenseAutoencoder } from '../../src/index.js';

export const FEATURES = 6;

/** Rows in [0, 1] on a 2-dimensional manifold plus noise; `shift` makes clients non-IID. */
export function syntheticRows(n: number, seed: string, shift = 0): Float32Array[] {
  const rng = seededRng(seed);
  const rows: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const a = rng.next();
    const b = rng.next();
    const row = new Float32Array(FEATURES);
    for (let i = 0; i < FEATURES; i++) {
      const v = 0.2 + 0.3 * a * ((i % 2) + 0.5) + 0.2 * b * (i / FEATURES) + shift + rng.normal(0, 0.01);
      row[i] = Math.min(1, Math.max(0, v));
    }
    rows.push(row);
  }
  return rows;
}

export function smallModel(seed: number | string = 1): DenseAutoencoder {
  return createDenseAutoencoder({ inputs: FEATURES, hidden: [4, 2], seed, learningRate: 0.01, batchSize: 16 });
}

export function initialWeights(): FlatWeights {
  return smallModel('initial').getWeights();
}

export function recordingSink(): TrustSink & { evidence: TrustEvidence[] } {
  const evidence: TrustEvidence[] = [];
  return { evidence, record: (e) => void evidence.push(e) };
}

export function fixedTrust(weights: Record<string, number>, quarantined: string[] = []): TrustView {
  return {
    score: (id) => weights[id] ?? 0.5,
    weight: (id) => weights[id] ?? 1,
    isQuarantined: (id) => quarantined.includes(id),
  };
}

export const waitFor = (predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> => waitUntil(predicate, { timeoutMs, what });
