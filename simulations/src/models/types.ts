import type { Rng } from '@sliceguard/core';
import type { NfSpec } from '@sliceguard/topology';
import type { Flow } from '../traffic.js';

/** Per-flow statistics (structurally the mape package's FlowStat). */
export interface FlowStat {
  key: string;
  values: Readonly<Record<string, number>>;
}

export interface ModelInput {
  now: number;
  dtMs: number;
  /** Flows admitted to the NF this tick (blocked / rate-limited / filtered traffic already removed). */
  flows: readonly Flow[];
  replicas: number;
  config: Readonly<Record<string, unknown>>;
  /** Mean latency of the next NF(s) in the chain on the previous tick, ms (0 when none). */
  downstreamLatencyMs: number;
}

/** What legitimate users experienced at this NF during the tick (ground truth for the report). */
export interface LegitStats {
  /** Requests (or procedures) per second offered by legitimate sources. */
  offered: number;
  served: number;
  failed: number;
  /** Mean latency of the legitimate requests served, ms. */
  latencyMs: number;
}

/** Traffic handed to a next hop: a chain successor (NF id) or a role ('amf', 'smf', 'upf', 'user-plane'). */
export interface Forward {
  to: string;
  flow: Flow;
}

export interface ModelOutput {
  metrics: Record<string, number>;
  /** Per-source statistics of the tick; `topFlows` turns them into the per-flow sample on demand. */
  flowStats: FlowTable;
  forward: Forward[];
  legit: LegitStats;
  /** Mean latency of everything served, ms (what an upstream NF waits for). */
  latencyMs: number;
  /** Offered load / capacity this tick. */
  utilisation: number;
}

export type ModelFamily = 'http' | 'ran' | 'core' | 'packet';

export interface NfModel {
  readonly nf: NfSpec;
  readonly family: ModelFamily;
  step(input: ModelInput): ModelOutput;
}

export interface ModelContext {
  nf: NfSpec;
  rng: Rng;
  /** Relative measurement noise (sd of a multiplicative factor). Default 0.03. */
  noise?: number;
}

/** Multiplicative measurement noise, never negative. */
export function jitter(rng: Rng, value: number, sd: number): number {
  if (value === 0 || sd <= 0) return value;
  return Math.max(0, value * (1 + rng.normal(0, sd)));
}

const UPPER: Record<string, number> = { cpu_usage: 100, cache_hit_ratio: 1, link_utilization: 1, prb_utilization: 1 };

/** Clamps percentages and ratios to their range after noise. */
export function bounded(name: string, value: number): number {
  const upper = UPPER[name];
  return upper === undefined ? value : Math.min(upper, value);
}

/** Raw per-source statistics and the keys that rank them (the first key orders the result). */
export interface FlowTable {
  /** Built only when someone asks for per-flow statistics (most ticks nobody does). */
  build(): Map<string, Record<string, number>>;
  keys: readonly string[];
}

/**
 * The per-flow sample a flow probe exports: the top `k` flows by each key (union) plus a stratified
 * sample of up to `3k` further flows at evenly spaced ranks of the first key, so that a consumer can
 * tell a heavy hitter from a typical flow (a top-k list alone has no "typical" flow in it, and the
 * sample outnumbers the top list so that its median is a typical flow).
 * Ordered by the first key, largest first.
 */
export function topFlows(stats: Map<string, Record<string, number>>, keys: readonly string[], k: number): FlowStat[] {
  const picked = new Set<string>();
  for (const key of keys) {
    // one pass keeping the k largest (k is small)
    const best: [string, number][] = [];
    for (const [source, v] of stats) {
      const x = v[key] ?? 0;
      if (x <= 0) continue;
      if (best.length === k && x <= best[k - 1][1]) continue;
      let i = best.length;
      while (i > 0 && (best[i - 1][1] < x || (best[i - 1][1] === x && best[i - 1][0] > source))) i--;
      best.splice(i, 0, [source, x]);
      if (best.length > k) best.pop();
    }
    for (const [source] of best) picked.add(source);
  }
  const first = keys[0];
  const order = (a: { key: string; values: Record<string, number> }, b: { key: string; values: Record<string, number> }) =>
    (b.values[first] ?? 0) - (a.values[first] ?? 0) || (a.key < b.key ? -1 : 1);
  if (stats.size > picked.size) {
    const rest = [...stats].filter(([source]) => !picked.has(source)).map(([key, values]) => ({ key, values }));
    rest.sort(order);
    const n = Math.min(3 * k, rest.length);
    for (let i = 0; i < n; i++) picked.add(rest[Math.floor(((i + 0.5) * rest.length) / n)].key);
  }
  return [...picked].map((source) => ({ key: source, values: stats.get(source)! })).sort(order);
}
