import { InvalidOptionsError, InvalidSampleError, ModelShapeError, NotTrainedError } from './errors.js';

/**
 * Per-metric scaling, fitted on training rows only and saved with the model.
 * - `minmax` (default): (x − min) / (max − min) of the training data; values outside the training
 *   range map outside [0, 1] on purpose (they are evidence, not noise to clip).
 * - `standard`: (x − mean) / std.
 * A metric that is constant in training gets a unit divisor (only the offset is removed), so a later
 * change still shows up instead of dividing by zero.
 */
export type ScalerKind = 'minmax' | 'standard';

export interface ScalerState {
  kind: ScalerKind;
  metrics: string[];
  /** Subtracted per metric (min or mean). */
  offset: number[];
  /** Divides per metric (range or std; 1 for constant metrics). */
  scale: number[];
  /** Training rows the scaler was fitted on. */
  fittedOn: number;
}

export class Scaler {
  readonly kind: ScalerKind;
  readonly metrics: readonly string[];
  private readonly offset: Float64Array;
  private readonly scale: Float64Array;
  private fittedRows = 0;

  constructor(metrics: readonly string[], kind: ScalerKind = 'minmax') {
    if (kind !== 'minmax' && kind !== 'standard') throw new InvalidOptionsError(`scaler must be 'minmax' or 'standard', got ${String(kind)}`, { option: 'scaler' });
    this.kind = kind;
    this.metrics = [...metrics];
    this.offset = new Float64Array(metrics.length);
    this.scale = new Float64Array(metrics.length).fill(1);
  }

  get fitted(): boolean {
    return this.fittedRows > 0;
  }

  /** Fits on rows (each in metric order, finite values). Returns this. */
  fit(rows: readonly ArrayLike<number>[]): this {
    const f = this.metrics.length;
    if (rows.length === 0) throw new InvalidSampleError('cannot fit a scaler on zero rows', {});
    for (let j = 0; j < f; j++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      let sum = 0;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        if (row.length !== f) throw new ModelShapeError(`row ${i} has ${row.length} values, the scaler expects ${f} (${this.metrics.join(', ')})`, { row: i });
        const v = row[j];
        if (!Number.isFinite(v)) throw new InvalidSampleError(`row ${i}, metric ${this.metrics[j]}: value ${v} is not finite; fill gaps before fitting`, { row: i, metric: this.metrics[j] });
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sum += v;
      }
      if (this.kind === 'minmax') {
        this.offset[j] = lo;
        this.scale[j] = hi > lo ? hi - lo : 1;
      } else {
        const mean = sum / rows.length;
        let ss = 0;
        for (let i = 0; i < rows.length; i++) ss += (rows[i][j] - mean) ** 2;
        const std = Math.sqrt(ss / rows.length);
        this.offset[j] = mean;
        this.scale[j] = std > 0 ? std : 1;
      }
    }
    this.fittedRows = rows.length;
    return this;
  }

  /** Scales one row into `out` (Float32, metric order). */
  transformRow(row: ArrayLike<number>, out: Float32Array = new Float32Array(this.metrics.length), outOffset = 0): Float32Array {
    if (!this.fitted) throw new NotTrainedError('the scaler is not fitted; fit it on training data or load a saved model');
    for (let j = 0; j < this.offset.length; j++) out[outOffset + j] = (row[j] - this.offset[j]) / this.scale[j];
    return out;
  }

  /** Copies another fitted scaler's parameters (same metrics and kind) into this one. */
  load(other: Scaler): this {
    if (other.metrics.join(',') !== this.metrics.join(',') || other.kind !== this.kind) {
      throw new ModelShapeError(`scaler for [${other.metrics.join(', ')}] (${other.kind}) does not fit [${this.metrics.join(', ')}] (${this.kind})`, {});
    }
    this.offset.set(other.offset);
    this.scale.set(other.scale);
    this.fittedRows = other.fittedRows;
    return this;
  }

  toJSON(): ScalerState {
    return { kind: this.kind, metrics: [...this.metrics], offset: [...this.offset], scale: [...this.scale], fittedOn: this.fittedRows };
  }

  static fromJSON(state: ScalerState): Scaler {
    const n = state?.metrics?.length;
    if (!Array.isArray(state?.metrics) || !Array.isArray(state.offset) || !Array.isArray(state.scale) || state.offset.length !== n || state.scale.length !== n) {
      throw new ModelShapeError('saved scaler is malformed: metrics, offset and scale must be arrays of equal length', {});
    }
    if (![...state.offset, ...state.scale].every(Number.isFinite) || !state.scale.every((s) => s > 0)) {
      throw new ModelShapeError('saved scaler has non-finite offsets or non-positive scales', {});
    }
    const s = new Scaler(state.metrics, state.kind);
    s.offset.set(state.offset);
    s.scale.set(state.scale);
    s.fittedRows = state.fittedOn > 0 ? state.fittedOn : 1;
    return s;
  }
}

/**
 * What to do with a non-finite value (NaN, missing cell, ±Infinity) in a series:
 * - `error` (default for files): throw ANALYTICS_ERR_INVALID_INPUT naming the row and metric;
 * - `ffill`: carry the metric's last finite value forward; leading gaps take the first finite value;
 *   a metric with no finite value at all is still an error;
 * - `zero`: replace with 0 (in raw, unscaled units — only sensible for counters).
 */
export type GapPolicy = 'error' | 'ffill' | 'zero';

export interface FillReport {
  filled: number;
  /** First few filled positions, for the log. */
  examples: { row: number; metric: string }[];
}

/** Applies the gap policy in place to rows (metric order). `rowLabel` maps a row index to what the user sees (e.g. a CSV line). */
export function fillGaps(rows: Float64Array[] | number[][], metrics: readonly string[], policy: GapPolicy, rowLabel: (i: number) => Record<string, unknown> = (i) => ({ row: i })): FillReport {
  const report: FillReport = { filled: 0, examples: [] };
  if (policy !== 'error' && policy !== 'ffill' && policy !== 'zero') throw new InvalidOptionsError(`gap policy must be error, ffill or zero, got ${String(policy)}`, { option: 'gaps' });
  for (let j = 0; j < metrics.length; j++) {
    let last = Number.NaN;
    if (policy === 'ffill') {
      for (let i = 0; i < rows.length; i++) {
        if (Number.isFinite(rows[i][j])) {
          last = rows[i][j];
          break;
        }
      }
      if (!Number.isFinite(last) && rows.length > 0) {
        throw new InvalidSampleError(`metric ${metrics[j]} has no finite value at all; drop the column or fix the data`, { metric: metrics[j] });
      }
    }
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i][j];
      if (Number.isFinite(v)) {
        last = v;
        continue;
      }
      if (policy === 'error') {
        throw new InvalidSampleError(`metric ${metrics[j]} has a missing or non-finite value (${v}); fix the data or choose a gap fill (ffill, zero)`, { ...rowLabel(i), metric: metrics[j] });
      }
      rows[i][j] = policy === 'zero' ? 0 : last;
      report.filled++;
      if (report.examples.length < 5) report.examples.push({ row: i, metric: metrics[j] });
    }
  }
  return report;
}

/**
 * Scales rows and cuts sliding windows: window k covers rows [k·stride, k·stride + length).
 * Returns a flat Float32Array [count, length, features].
 */
export function slidingWindows(scaledRows: Float32Array, rowCount: number, features: number, length: number, stride = 1): { data: Float32Array; count: number; ends: Int32Array } {
  if (!Number.isInteger(length) || length < 1) throw new InvalidOptionsError(`window must be a positive integer, got ${length}`, { option: 'window' });
  if (!Number.isInteger(stride) || stride < 1) throw new InvalidOptionsError(`stride must be a positive integer, got ${stride}`, { option: 'stride' });
  const count = rowCount >= length ? Math.floor((rowCount - length) / stride) + 1 : 0;
  const data = new Float32Array(count * length * features);
  const ends = new Int32Array(count);
  const span = length * features;
  for (let k = 0; k < count; k++) {
    const start = k * stride;
    data.set(scaledRows.subarray(start * features, start * features + span), k * span);
    ends[k] = start + length - 1;
  }
  return { data, count, ends };
}

/** Scales all rows into one flat Float32Array [rows, features]. */
export function scaleRows(scaler: Scaler, rows: readonly ArrayLike<number>[]): Float32Array {
  const f = scaler.metrics.length;
  const out = new Float32Array(rows.length * f);
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].length !== f) throw new ModelShapeError(`row ${i} has ${rows[i].length} values, expected ${f}`, { row: i });
    scaler.transformRow(rows[i], out, i * f);
  }
  return out;
}
