import type { TrustView } from '@sliceguard/core';
import { InvalidFederationOptionsError, LayoutMismatchError, NoUpdatesError } from './errors.js';
import { l2Norm, squaredDistance } from './weights.js';

/** One client's model after local training, as the aggregator sees it (already validated). */
export interface WeightedUpdate {
  clientId: string;
  /** The client's full model weights (not the delta). */
  values: Float32Array;
  /** Number of local training samples; FedAvg weight. */
  samples: number;
}

export interface AggregationContext {
  /** The global model the round started from; needed by norm clipping. */
  global?: Float32Array;
  /** Trust scores; needed by trust-weighted averaging. */
  trust?: TrustView;
}

export interface AggregationResult {
  values: Float32Array;
  /** Clients whose update contributed (Krum drops the rest; trust may zero some out). */
  contributors: string[];
  /** Relative weight each contributor got, summing to 1 (absent for coordinate-wise rules). */
  weights?: Record<string, number>;
}

/**
 * Every aggregation rule implements this; one compliance suite (test/aggregators.spec.ts) runs
 * against all of them. Aggregators are pure: no I/O, no state between rounds.
 */
export interface Aggregator {
  readonly name: string;
  aggregate(updates: readonly WeightedUpdate[], context?: AggregationContext): AggregationResult;
}

function checkInput(name: string, updates: readonly WeightedUpdate[]): number {
  if (updates.length === 0) throw new NoUpdatesError(`${name}: nothing to aggregate`, { aggregator: name });
  const d = updates[0].values.length;
  for (const u of updates) {
    if (u.values.length !== d) {
      throw new LayoutMismatchError(`${name}: update of ${u.clientId} has ${u.values.length} values, expected ${d}`, {
        aggregator: name,
        clientId: u.clientId,
      });
    }
  }
  return d;
}

/** Weighted mean of `updates` with weights `w` (non-negative, positive sum). */
function weightedMean(updates: readonly WeightedUpdate[], w: readonly number[], d: number): Float32Array {
  let total = 0;
  for (const x of w) total += x;
  const acc = new Float64Array(d);
  for (let k = 0; k < updates.length; k++) {
    if (w[k] === 0) continue;
    const f = w[k] / total;
    const v = updates[k].values;
    for (let i = 0; i < d; i++) acc[i] += f * v[i];
  }
  return Float32Array.from(acc);
}

function normalizedWeights(updates: readonly WeightedUpdate[], w: readonly number[]): Record<string, number> {
  const total = w.reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {};
  updates.forEach((u, k) => {
    if (w[k] > 0) out[u.clientId] = w[k] / total;
  });
  return out;
}

function sampleWeights(name: string, updates: readonly WeightedUpdate[]): number[] {
  const w = updates.map((u) => (Number.isFinite(u.samples) && u.samples > 0 ? u.samples : 0));
  if (w.every((x) => x === 0)) {
    throw new NoUpdatesError(`${name}: every update has zero samples`, { aggregator: name });
  }
  return w;
}

/** FedAvg (McMahan et al.): mean weighted by each client's sample count. */
export function fedAvg(): Aggregator {
  return {
    name: 'fedavg',
    aggregate(updates) {
      const d = checkInput('fedavg', updates);
      const w = sampleWeights('fedavg', updates);
      return {
        values: weightedMean(updates, w, d),
        contributors: updates.filter((_, k) => w[k] > 0).map((u) => u.clientId),
        weights: normalizedWeights(updates, w),
      };
    },
  };
}

/**
 * Rearranges a[lo..hi] so that a[k] holds the value it would have if sorted, smaller-or-equal values
 * before it and greater-or-equal after (Hoare's quickselect, median-of-three pivot): O(n) per
 * coordinate instead of sorting.
 */
function select(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // median of three as pivot
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Applies `reduce(column)` to every coordinate; the column buffer is reused and may be reordered. */
function coordinatewise(updates: readonly WeightedUpdate[], d: number, reduce: (col: Float64Array) => number): Float32Array {
  const n = updates.length;
  const col = new Float64Array(n);
  const out = new Float32Array(d);
  const vs = updates.map((u) => u.values);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < n; k++) col[k] = vs[k][i];
    out[i] = reduce(col);
  }
  return out;
}

/** Coordinate-wise median (Yin et al. 2018); the mean of the two middle values for even n. */
export function coordinateMedian(): Aggregator {
  return {
    name: 'median',
    aggregate(updates) {
      const d = checkInput('median', updates);
      const n = updates.length;
      const mid = n >> 1;
      const values = coordinatewise(updates, d, (c) => {
        select(c, mid, 0, n - 1);
        if (n % 2 === 1) return c[mid];
        // the lower middle is the largest value left of mid
        let lower = c[0];
        for (let k = 1; k < mid; k++) if (c[k] > lower) lower = c[k];
        return (lower + c[mid]) / 2;
      });
      return { values, contributors: updates.map((u) => u.clientId) };
    },
  };
}

export interface TrimmedMeanOptions {
  /** Fraction β of clients trimmed at each end per coordinate, in [0, 0.5). Default 0.2. */
  trim?: number;
}

/** Coordinate-wise β-trimmed mean: drop the ⌊βn⌋ smallest and largest values, average the rest. */
export function trimmedMean(options: TrimmedMeanOptions = {}): Aggregator {
  const beta = options.trim ?? 0.2;
  if (!(beta >= 0 && beta < 0.5)) {
    throw new InvalidFederationOptionsError(`trimmed mean: trim must be in [0, 0.5), got ${beta}`, { field: 'trim', value: beta });
  }
  return {
    name: `trimmed-mean(${beta})`,
    aggregate(updates) {
      const d = checkInput('trimmed-mean', updates);
      const n = updates.length;
      const cut = Math.min(Math.floor(beta * n), (n - 1) >> 1);
      const keep = n - 2 * cut;
      const values = coordinatewise(updates, d, (c) => {
        if (cut > 0) {
          select(c, cut, 0, n - 1); // the cut smallest now sit left of `cut`
          select(c, n - cut - 1, cut, n - 1); // the cut largest right of n − cut − 1
        }
        let s = 0;
        for (let k = cut; k < n - cut; k++) s += c[k];
        return s / keep;
      });
      return { values, contributors: updates.map((u) => u.clientId) };
    },
  };
}

export interface KrumOptions {
  /**
   * Number of Byzantine clients tolerated. A number, or a fraction in (0, 1) of the round's
   * updates (rounded down). Default: the most Krum can tolerate, ⌊(n − 3) / 2⌋.
   */
  f?: number;
  /**
   * Updates selected and averaged (weighted by samples): 1 is Krum, more is multi-Krum, 'n-f' keeps
   * all but f. Default 1.
   */
  m?: number | 'n-f';
}

function byzantineCount(f: number | undefined, n: number): number {
  const max = Math.max(0, Math.floor((n - 3) / 2));
  if (f === undefined) return max;
  const count = f > 0 && f < 1 ? Math.floor(f * n) : Math.floor(f);
  return Math.max(0, Math.min(count, n - 3));
}

/**
 * Krum / multi-Krum (Blanchard et al. 2017): score each update by the sum of squared distances to
 * its n − f − 2 nearest neighbours and keep the m lowest-scored. Ties keep the earlier update.
 */
export function krum(options: KrumOptions = {}): Aggregator {
  const m = options.m ?? 1;
  if (m !== 'n-f' && (!Number.isInteger(m) || m < 1)) {
    throw new InvalidFederationOptionsError(`krum: m must be a positive integer, got ${m}`, { field: 'm', value: m });
  }
  if (options.f !== undefined && !(options.f >= 0)) {
    throw new InvalidFederationOptionsError(`krum: f must be >= 0, got ${options.f}`, { field: 'f', value: options.f });
  }
  return {
    name: m === 1 ? 'krum' : `multi-krum(${m})`,
    aggregate(updates) {
      checkInput('krum', updates);
      const n = updates.length;
      const f = byzantineCount(options.f, n);
      const neighbours = Math.max(1, n - f - 2);
      const dist = new Float64Array(n * n);
      for (let a = 0; a < n; a++) {
        for (let b = a + 1; b < n; b++) {
          const s = squaredDistance(updates[a].values, updates[b].values);
          dist[a * n + b] = s;
          dist[b * n + a] = s;
        }
      }
      const scores = new Float64Array(n);
      const row = new Float64Array(n - 1);
      for (let a = 0; a < n; a++) {
        let j = 0;
        for (let b = 0; b < n; b++) if (b !== a) row[j++] = dist[a * n + b];
        row.sort();
        let s = 0;
        for (let k = 0; k < Math.min(neighbours, row.length); k++) s += row[k];
        scores[a] = s;
      }
      const order = [...scores.keys()].sort((x, y) => scores[x] - scores[y] || x - y);
      const keep = m === 'n-f' ? Math.max(1, n - f) : Math.min(m, n);
      const chosen = order.slice(0, keep).sort((x, y) => x - y);
      const picked = chosen.map((k) => updates[k]);
      const w: number[] = picked.map((u) => (Number.isFinite(u.samples) && u.samples > 0 ? u.samples : 0));
      if (!w.some((x) => x > 0)) w.fill(1);
      return {
        values: weightedMean(picked, w, updates[0].values.length),
        contributors: picked.map((u) => u.clientId),
        weights: normalizedWeights(picked, w),
      };
    },
  };
}

/** Multi-Krum: Krum that keeps and averages the n − f best-scored updates unless `m` says otherwise. */
export function multiKrum(options: KrumOptions = {}): Aggregator {
  return krum({ f: options.f, m: options.m ?? 'n-f' });
}

export interface NormClippingOptions {
  /**
   * Largest L2 norm of (update − global). A number, or 'median' (default): the median delta norm
   * of the round, which adapts to the learning rate without letting a scaled update dominate.
   */
  maxNorm?: number | 'median';
}

/**
 * Wraps another aggregator: every delta from the global model is scaled down to at most `maxNorm`
 * before the inner rule sees it (Sun et al. 2019, "Can you really backdoor federated learning?").
 */
export function normClipping(inner: Aggregator, options: NormClippingOptions = {}): Aggregator {
  const bound = options.maxNorm ?? 'median';
  if (bound !== 'median' && !(typeof bound === 'number' && bound > 0)) {
    throw new InvalidFederationOptionsError(`norm clipping: maxNorm must be > 0 or 'median', got ${String(bound)}`, {
      field: 'maxNorm',
    });
  }
  return {
    name: `clip(${bound === 'median' ? 'median' : bound})+${inner.name}`,
    aggregate(updates, context = {}) {
      const d = checkInput('norm clipping', updates);
      const global = context.global;
      if (global === undefined || global.length !== d) {
        throw new InvalidFederationOptionsError('norm clipping needs the round\'s global model in context.global', {
          aggregator: 'clip',
        });
      }
      const norms = updates.map((u) => l2Norm(u.values, global));
      const tau = bound === 'median' ? medianOf(norms) : bound;
      const clipped = updates.map((u, k) => {
        if (norms[k] <= tau || norms[k] === 0) return u;
        const scale = tau / norms[k];
        const values = new Float32Array(d);
        for (let i = 0; i < d; i++) values[i] = global[i] + (u.values[i] - global[i]) * scale;
        return { ...u, values };
      });
      return inner.aggregate(clipped, context);
    },
  };
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * FedAvg with each client's sample count multiplied by its aggregation weight from the trust
 * manager (TrustView.weight, in [0, 1]); clients at weight 0 do not count.
 */
export function trustWeighted(): Aggregator {
  return {
    name: 'trust-weighted',
    aggregate(updates, context = {}) {
      const d = checkInput('trust-weighted', updates);
      const trust = context.trust;
      if (trust === undefined) {
        throw new InvalidFederationOptionsError('trust-weighted averaging needs a TrustView in context.trust', {
          aggregator: 'trust-weighted',
        });
      }
      const w = sampleWeights('trust-weighted', updates).map((s, k) => {
        const t = trust.weight(updates[k].clientId);
        return Number.isFinite(t) && t > 0 ? s * Math.min(1, t) : 0;
      });
      if (w.every((x) => x === 0)) {
        throw new NoUpdatesError('trust-weighted: every sender has zero trust weight', { aggregator: 'trust-weighted' });
      }
      return {
        values: weightedMean(updates, w, d),
        contributors: updates.filter((_, k) => w[k] > 0).map((u) => u.clientId),
        weights: normalizedWeights(updates, w),
      };
    },
  };
}

export interface TrustFilterOptions {
  /** Clients whose TrustView.weight is below this do not reach the inner rule. Default 0 (only weight-0 dropped). */
  minWeight?: number;
}

/**
 * Wraps another aggregator: drops updates from quarantined clients and from clients whose trust
 * weight is at or below `minWeight`, then lets the inner (robust) rule combine the rest. This is how
 * robust aggregation and trust work together: the rule bounds one round's damage, trust removes
 * repeat offenders across rounds. Without a TrustView in the context it passes everything through.
 */
export function trustFiltered(inner: Aggregator, options: TrustFilterOptions = {}): Aggregator {
  const minWeight = options.minWeight ?? 0;
  return {
    name: `trust-filter+${inner.name}`,
    aggregate(updates, context = {}) {
      checkInput('trust filter', updates);
      const trust = context.trust;
      const kept =
        trust === undefined
          ? updates
          : updates.filter((u) => !trust.isQuarantined(u.clientId) && trust.weight(u.clientId) > minWeight);
      if (kept.length === 0) {
        throw new NoUpdatesError('trust filter: every sender is quarantined or below the trust weight threshold', {
          aggregator: 'trust-filter',
          minWeight,
        });
      }
      return inner.aggregate(kept, context);
    },
  };
}

/**
 * Builds an aggregator from a short spec, for CLIs and configuration files:
 * `fedavg`, `median`, `trimmed-mean[:β]`, `krum[:f]`, `multi-krum[:f[:m]]`, `trust`,
 * `clip[:maxNorm]+<inner>`, `trust-filter+<inner>` (wrappers nest: `trust-filter+clip+median`).
 */
export function aggregatorFromSpec(spec: string): Aggregator {
  const text = spec.trim();
  const plus = text.indexOf('+');
  if (plus >= 0) {
    const [head, arg] = splitArg(text.slice(0, plus));
    const inner = aggregatorFromSpec(text.slice(plus + 1));
    if (head === 'clip') return normClipping(inner, { maxNorm: arg[0] === undefined ? 'median' : num(spec, arg[0]) });
    if (head === 'trust-filter') return trustFiltered(inner, { minWeight: arg[0] === undefined ? undefined : num(spec, arg[0]) });
    throw badSpec(spec, `"${head}" is not a wrapper (use clip or trust-filter before "+")`);
  }
  const [head, arg] = splitArg(text);
  const table: Record<string, () => Aggregator> = {
    fedavg: () => fedAvg(),
    median: () => coordinateMedian(),
    'trimmed-mean': () => trimmedMean({ trim: arg[0] === undefined ? undefined : num(spec, arg[0]) }),
    krum: () => krum({ f: arg[0] === undefined ? undefined : num(spec, arg[0]) }),
    'multi-krum': () =>
      multiKrum({ f: arg[0] === undefined ? undefined : num(spec, arg[0]), m: arg[1] === undefined ? undefined : num(spec, arg[1]) }),
    trust: () => trustWeighted(),
  };
  const make = table[head];
  if (make === undefined) throw badSpec(spec, `unknown aggregator "${head}"; known: ${Object.keys(table).join(', ')}, clip+…, trust-filter+…`);
  return make();
}

function splitArg(part: string): [string, string[]] {
  const [head, ...args] = part.split(':');
  return [head, args];
}

function num(spec: string, s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n)) throw badSpec(spec, `"${s}" is not a number`);
  return n;
}

function badSpec(spec: string, why: string): InvalidFederationOptionsError {
  return new InvalidFederationOptionsError(`aggregator spec "${spec}": ${why}`, { field: 'aggregator', value: spec });
}
