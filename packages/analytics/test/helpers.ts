import { seededRng } from '@sliceguard/core';

/** Three correlated periodic metrics with noise: "normal behaviour". */
export function normalSeries(rows: number, seed = 1, phase = 0): Float64Array[] {
  const rng = seededRng(seed);
  const out: Float64Array[] = [];
  for (let t = 0; t < rows; t++) {
    const base = Math.sin((t + phase) / 6);
    out.push(Float64Array.from([10 + 5 * base + rng.normal(0, 0.2), 100 + 40 * Math.cos((t + phase) / 6) + rng.normal(0, 1.5), 2 + base * base + rng.normal(0, 0.05)]));
  }
  return out;
}

export const METRICS = ['cpu', 'mem', 'rt'];

export function valuesOf(row: ArrayLike<number>, metrics: readonly string[] = METRICS): Record<string, number> {
  const v: Record<string, number> = {};
  metrics.forEach((m, j) => {
    v[m] = row[j];
  });
  return v;
}
