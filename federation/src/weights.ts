import type { FlatWeights, WeightTensorLayout } from '@sliceguard/core';
import { layoutsEqual } from '@sliceguard/core';
import { LayoutMismatchError, WeightsDecodeError } from './errors.js';

/**
 * Small, allocation-conscious helpers over Float32Array weight vectors. Sums run in float64 so that
 * averaging many clients does not lose precision.
 */

/** Sum of squares of `a − b` (or of `a` when `b` is absent). */
export function squaredDistance(a: Float32Array, b?: Float32Array): number {
  let s = 0;
  if (b === undefined) {
    for (let i = 0; i < a.length; i++) s += a[i] * a[i];
    return s;
  }
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

export function l2Norm(a: Float32Array, reference?: Float32Array): number {
  return Math.sqrt(squaredDistance(a, reference));
}

export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Cosine similarity of (a − ref) and (b − ref); 0 when either delta is zero. */
export function deltaCosine(a: Float32Array, b: Float32Array, ref: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] - ref[i];
    const y = b[i] - ref[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Total number of values a layout describes, checking that its tensors tile the vector exactly. */
export function layoutSize(layout: readonly WeightTensorLayout[]): number {
  let next = 0;
  for (const [i, t] of layout.entries()) {
    const product = t.shape.reduce((p, d) => p * d, 1);
    if (t.offset !== next || t.length !== product) {
      throw new LayoutMismatchError(`layout tensor ${i} ("${t.name}") does not tile the weight vector`, {
        tensor: t.name,
        offset: t.offset,
        expectedOffset: next,
        length: t.length,
        shapeProduct: product,
      });
    }
    next += t.length;
  }
  return next;
}

export function cloneWeights(w: FlatWeights): FlatWeights {
  return { layout: w.layout.map((t) => ({ ...t, shape: [...t.shape] })), values: new Float32Array(w.values) };
}

/** Why an update does not count (the same words are used in counters, logs and trust evidence). */
export const UPDATE_REJECT_REASONS = [
  'malformed', // payload could not be decoded
  'not_selected', // sender was not selected for this round
  'unknown_round', // no such round is open (ahead of the coordinator, or for another model)
  'late', // round already closed
  'duplicate', // sender already sent an update for this round
  'wrong_version', // trained from another global model version than the round's
  'wrong_shape', // layout or value count differs from the global model's
  'non_finite', // NaN or ±Infinity in the values
  'bad_samples', // sample count missing, non-integer or not positive
  'norm_exceeded', // update (delta from the global model) larger than the norm bound
  'validation_loss', // raises the coordinator-held validation loss beyond the tolerance
  'untrusted', // sender is quarantined or has zero aggregation weight
] as const;
export type UpdateRejectReason = (typeof UPDATE_REJECT_REASONS)[number];

export type UpdateCheck = { ok: true; deltaNorm: number } | { ok: false; reason: UpdateRejectReason; message: string };

export interface UpdateCheckOptions {
  /** Largest allowed L2 norm of (update − global); default: no bound. */
  maxDeltaNorm?: number;
}

/**
 * The static checks every update passes before it can count: same layout as the global model,
 * value count matching the layout, all values finite, and the delta norm within the bound.
 */
export function checkUpdate(update: FlatWeights, global: FlatWeights, options: UpdateCheckOptions = {}): UpdateCheck {
  if (!layoutsEqual(update.layout, global.layout)) {
    return { ok: false, reason: 'wrong_shape', message: 'layout differs from the global model' };
  }
  if (update.values.length !== global.values.length) {
    return {
      ok: false,
      reason: 'wrong_shape',
      message: `has ${update.values.length} values, the global model ${global.values.length}`,
    };
  }
  if (!allFinite(update.values)) return { ok: false, reason: 'non_finite', message: 'contains NaN or Infinity' };
  const deltaNorm = l2Norm(update.values, global.values);
  if (options.maxDeltaNorm !== undefined && deltaNorm > options.maxDeltaNorm) {
    return {
      ok: false,
      reason: 'norm_exceeded',
      message: `delta norm ${deltaNorm.toPrecision(4)} exceeds the bound ${options.maxDeltaNorm}`,
    };
  }
  return { ok: true, deltaNorm };
}

// ---- compact binary encoding: magic, JSON header, padding to 4 bytes, float32 little-endian ----

const MAGIC = [0x53, 0x47, 0x46, 0x31]; // "SGF1"
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes a small JSON header and a Float32Array as one payload: `SGF1`, u32 header length, the
 * header, zero padding to a multiple of 4, then the values as float32 little-endian. About 4 bytes
 * per parameter instead of ~20 for JSON numbers, and decoding is a single copy.
 */
export function encodeWeightsMessage(header: Record<string, unknown>, values: Float32Array): Uint8Array {
  const head = encoder.encode(JSON.stringify({ ...header, count: values.length }));
  const valuesOffset = align4(8 + head.length);
  const out = new Uint8Array(valuesOffset + values.length * 4);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, head.length, true);
  out.set(head, 8);
  if (isLittleEndian()) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), valuesOffset);
  } else {
    for (let i = 0; i < values.length; i++) view.setFloat32(valuesOffset + i * 4, values[i], true);
  }
  return out;
}

export interface DecodedWeightsMessage<H> {
  header: H & { count: number };
  values: Float32Array;
}

export function decodeWeightsMessage<H = Record<string, unknown>>(data: Uint8Array): DecodedWeightsMessage<H> {
  if (data.length < 8 || MAGIC.some((b, i) => data[i] !== b)) {
    throw new WeightsDecodeError('not a weights message (missing SGF1 magic)', { bytes: data.length });
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headLength = view.getUint32(4, true);
  if (8 + headLength > data.length) {
    throw new WeightsDecodeError('weights message header runs past the payload', { headLength, bytes: data.length });
  }
  let header: H & { count: number };
  try {
    header = JSON.parse(decoder.decode(data.subarray(8, 8 + headLength)));
  } catch (cause) {
    throw new WeightsDecodeError('weights message header is not valid UTF-8 JSON', { headLength }, cause);
  }
  if (typeof header !== 'object' || header === null || !Number.isInteger(header.count) || header.count < 0) {
    throw new WeightsDecodeError('weights message header has no valid "count"', { field: 'count' });
  }
  const valuesOffset = align4(8 + headLength);
  const expected = valuesOffset + header.count * 4;
  if (data.length !== expected) {
    throw new WeightsDecodeError(`weights message has ${data.length} bytes, its header announces ${expected}`, {
      bytes: data.length,
      expected,
    });
  }
  const values = new Float32Array(header.count);
  if (isLittleEndian()) {
    new Uint8Array(values.buffer).set(data.subarray(valuesOffset, expected));
  } else {
    for (let i = 0; i < header.count; i++) values[i] = view.getFloat32(valuesOffset + i * 4, true);
  }
  return { header, values };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
