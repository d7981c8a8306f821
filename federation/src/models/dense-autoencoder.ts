import type { FlatWeights, Rng, TrainableModel, WeightTensorLayout } from '@sliceguard/core';
import { layoutsEqual, seededRng, throwIfAborted } from '@sliceguard/core';
import { InvalidFederationOptionsError, LayoutMismatchError } from '../errors.js';

export interface DenseAutoencoderOptions {
  inputs: number;
  /** Hidden layer widths of the encoder; the decoder mirrors them. Default [32, 8]. */
  hidden?: number[];
  /** Adam learning rate. Default 0.003. */
  learningRate?: number;
  /** Default 64. */
  batchSize?: number;
  /** Seed of the weight initialization and of batch shuffling. Default 1. */
  seed?: number | string;
}

export interface DenseAutoencoder extends TrainableModel {
  readonly inputs: number;
  readonly parameters: number;
  /** Per-row reconstruction error (mean squared error over features): the anomaly score. */
  scores(rows: Float32Array[]): Float32Array;
}

interface Layer {
  inputs: number;
  outputs: number;
  /** Offsets into the flat vector. */
  w: number;
  b: number;
  act: 'tanh' | 'sigmoid';
}

/**
 * A small fully connected autoencoder in plain TypeScript (no TensorFlow), implementing core's
 * TrainableModel over one flat Float32Array. Tanh hidden layers, sigmoid output (inputs are expected
 * in [0, 1], e.g. min-max scaled metrics), MSE loss, Adam. It is the stand-in for the analytics
 * package's LSTM autoencoder where that is too slow (evaluation on a shared 2-core machine, tests):
 * it scores single rows rather than windows.
 */
export function createDenseAutoencoder(options: DenseAutoencoderOptions): DenseAutoencoder {
  const inputs = options.inputs;
  const hidden = options.hidden ?? [32, 8];
  if (!(Number.isInteger(inputs) && inputs > 0) || hidden.some((h) => !(Number.isInteger(h) && h > 0))) {
    throw new InvalidFederationOptionsError('dense autoencoder: inputs and hidden widths must be positive integers', { inputs, hidden });
  }
  const lr = options.learningRate ?? 0.003;
  const defaultBatch = options.batchSize ?? 64;
  const widths = [inputs, ...hidden, ...hidden.slice(0, -1).reverse(), inputs];
  const layers: Layer[] = [];
  const layout: WeightTensorLayout[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    const [i, o] = [widths[l], widths[l + 1]];
    layout.push({ name: `dense${l}/kernel`, shape: [i, o], offset, length: i * o });
    const w = offset;
    offset += i * o;
    layout.push({ name: `dense${l}/bias`, shape: [o], offset, length: o });
    layers.push({ inputs: i, outputs: o, w, b: offset, act: l + 2 === widths.length ? 'sigmoid' : 'tanh' });
    offset += o;
  }
  const size = offset;
  const params = new Float32Array(size);
  const initRng = seededRng(options.seed ?? 1);
  for (const L of layers) {
    const limit = Math.sqrt(6 / (L.inputs + L.outputs));
    for (let k = 0; k < L.inputs * L.outputs; k++) params[L.w + k] = (initRng.next() * 2 - 1) * limit;
  }
  const shuffleRng: Rng = initRng.fork('shuffle');
  const acts = widths.map((w) => new Float64Array(w));
  const deltas = widths.map((w) => new Float64Array(w));

  function forward(x: Float32Array): Float64Array {
    const a0 = acts[0];
    for (let i = 0; i < inputs; i++) a0[i] = x[i];
    for (let l = 0; l < layers.length; l++) {
      const L = layers[l];
      const a = acts[l];
      const z = acts[l + 1];
      for (let j = 0; j < L.outputs; j++) z[j] = params[L.b + j];
      for (let i = 0; i < L.inputs; i++) {
        const ai = a[i];
        if (ai === 0) continue;
        const row = L.w + i * L.outputs;
        for (let j = 0; j < L.outputs; j++) z[j] += ai * params[row + j];
      }
      if (L.act === 'tanh') for (let j = 0; j < L.outputs; j++) z[j] = Math.tanh(z[j]);
      else for (let j = 0; j < L.outputs; j++) z[j] = 1 / (1 + Math.exp(-z[j]));
    }
    return acts[layers.length];
  }

  function rowError(x: Float32Array): number {
    if (x.length !== inputs) {
      throw new InvalidFederationOptionsError(`dense autoencoder: row has ${x.length} features, the model ${inputs}`, { features: x.length });
    }
    const y = forward(x);
    let e = 0;
    for (let i = 0; i < inputs; i++) {
      const d = y[i] - x[i];
      e += d * d;
    }
    return e / inputs;
  }

  /** Accumulates the gradient of one row's loss into `grad`; returns that loss. */
  function backward(x: Float32Array, grad: Float64Array): number {
    const y = forward(x);
    const last = layers.length;
    const dOut = deltas[last];
    let loss = 0;
    for (let i = 0; i < inputs; i++) {
      const diff = y[i] - x[i];
      loss += diff * diff;
      dOut[i] = ((2 * diff) / inputs) * y[i] * (1 - y[i]);
    }
    for (let l = last - 1; l >= 0; l--) {
      const L = layers[l];
      const a = acts[l];
      const d = deltas[l + 1];
      const dPrev = deltas[l];
      for (let j = 0; j < L.outputs; j++) grad[L.b + j] += d[j];
      for (let i = 0; i < L.inputs; i++) {
        const ai = a[i];
        const row = L.w + i * L.outputs;
        let back = 0;
        for (let j = 0; j < L.outputs; j++) {
          grad[row + j] += ai * d[j];
          back += params[row + j] * d[j];
        }
        if (l > 0) dPrev[i] = back * (1 - ai * ai);
      }
    }
    return loss / inputs;
  }

  const model: DenseAutoencoder = {
    inputs,
    parameters: size,
    getWeights(): FlatWeights {
      return { layout: layout.map((t) => ({ ...t, shape: [...t.shape] })), values: new Float32Array(params) };
    },
    setWeights(weights: FlatWeights): void {
      if (!layoutsEqual(weights.layout, layout) || weights.values.length !== size) {
        throw new LayoutMismatchError('dense autoencoder: weights do not match the model layout', { expected: size, got: weights.values.length });
      }
      params.set(weights.values);
    },
    async fit(rows, fitOptions) {
      const batchSize = fitOptions.batchSize ?? defaultBatch;
      const m = new Float64Array(size);
      const v = new Float64Array(size);
      const grad = new Float64Array(size);
      const order = Array.from(rows.keys());
      const beta1 = 0.9;
      const beta2 = 0.999;
      let t = 0;
      let epochLoss = Number.NaN;
      for (let epoch = 0; epoch < fitOptions.epochs; epoch++) {
        throwIfAborted(fitOptions.signal);
        for (let i = order.length - 1; i > 0; i--) {
          const j = shuffleRng.int(i + 1);
          [order[i], order[j]] = [order[j], order[i]];
        }
        let total = 0;
        for (let start = 0; start < order.length; start += batchSize) {
          const end = Math.min(order.length, start + batchSize);
          grad.fill(0);
          for (let k = start; k < end; k++) total += backward(rows[order[k]], grad);
          const n = end - start;
          t++;
          const c1 = 1 - beta1 ** t;
          const c2 = 1 - beta2 ** t;
          for (let p = 0; p < size; p++) {
            const g = grad[p] / n;
            m[p] = beta1 * m[p] + (1 - beta1) * g;
            v[p] = beta2 * v[p] + (1 - beta2) * g * g;
            params[p] -= (lr * (m[p] / c1)) / (Math.sqrt(v[p] / c2) + 1e-8);
          }
        }
        epochLoss = total / Math.max(1, order.length);
        // yield between epochs so timers and the bus keep running during local training
        await new Promise((r) => setImmediate(r));
      }
      return { loss: epochLoss, samples: rows.length };
    },
    async evaluate(rows) {
      if (rows.length === 0) return Number.NaN;
      let s = 0;
      for (const r of rows) s += rowError(r);
      return s / rows.length;
    },
    scores(rows) {
      const out = new Float32Array(rows.length);
      for (let k = 0; k < rows.length; k++) out[k] = rowError(rows[k]);
      return out;
    },
  };
  return model;
}
