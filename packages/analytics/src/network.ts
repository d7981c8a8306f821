import type { WeightTensorLayout } from '@sliceguard/core';
import type { Tf } from './backend.js';

type Tensor = import('@tensorflow/tfjs').Tensor;
type Tensor2D = import('@tensorflow/tfjs').Tensor2D;
type Tensor3D = import('@tensorflow/tfjs').Tensor3D;
type Scalar = import('@tensorflow/tfjs').Scalar;
type Variable = import('@tensorflow/tfjs').Variable;
type Optimizer = import('@tensorflow/tfjs').Optimizer;

export interface NetworkShape {
  features: number;
  window: number;
  encoderUnits: readonly number[];
  decoderUnits: readonly number[];
}

/**
 * The weight layout of the autoencoder, in the order and with the names and shapes that
 * tfjs-layers gives the equivalent Keras-style model (LSTM(s) → RepeatVector → LSTM(s) →
 * TimeDistributed(Dense)): per LSTM `kernel` [in, 4H], `recurrent_kernel` [H, 4H], `bias` [4H] with
 * the gates ordered i, f, c, o; then `output/kernel` [H, F] and `output/bias` [F]. Saved models
 * and federated weights use this layout.
 */
export function networkLayout(shape: NetworkShape): WeightTensorLayout[] {
  const layout: WeightTensorLayout[] = [];
  let offset = 0;
  const push = (name: string, dims: number[]): void => {
    const length = dims.reduce((a, b) => a * b, 1);
    layout.push({ name, shape: dims, offset, length });
    offset += length;
  };
  let input = shape.features;
  const lstm = (prefix: string, units: number): void => {
    push(`${prefix}/kernel`, [input, 4 * units]);
    push(`${prefix}/recurrent_kernel`, [units, 4 * units]);
    push(`${prefix}/bias`, [4 * units]);
    input = units;
  };
  shape.encoderUnits.forEach((u, i) => lstm(`encoder_${i}`, u));
  shape.decoderUnits.forEach((u, i) => lstm(`decoder_${i}`, u));
  push('output/kernel', [input, shape.features]);
  push('output/bias', [shape.features]);
  return layout;
}

interface LstmVars {
  kernel: Variable;
  recurrent: Variable;
  bias: Variable;
  units: number;
  /** Per-column gate scale [4H]: 0.2 for i, f, o (hard sigmoid slope), 1 for c. */
  scale: Tensor;
  /** Per-column gate shift [4H]: 0.5 for i, f, o, 0 for c. */
  shift: Tensor;
}

/**
 * The LSTM autoencoder written on raw TensorFlow.js ops (no tfjs-layers), numerically the model
 * tfjs-layers builds from the same weights (a test checks both forward passes agree), with the
 * per-op overhead of tfjs cut down:
 *
 * - all four gates in one matMul per step (`h·U`), the input projection of all timesteps of a
 *   sequence in one matMul ([T·B, in]×[in, 4H]), and the decoder's input projection — its input is
 *   the latent vector repeated — computed once per window instead of once per step;
 * - the recurrent activation is tfjs-layers' default hard sigmoid, clip(0.2·z + 0.5, 0, 1); its
 *   slope and offset are folded into the (per-batch) scaled kernels and bias, so each step's gates
 *   cost one clip for all of i, f, o;
 * - sequences are time-major [T, B, ·] internally, so per-step slices are one unstack and the
 *   output Dense is one matMul over [T·B, H].
 *
 * Variables are created here and owned by this object; `dispose` releases them.
 */
export class LstmNetwork {
  readonly layout: WeightTensorLayout[];
  /** Trainable variables in layout order. */
  readonly variables: Variable[];
  private readonly tf: Tf;
  private readonly shape: NetworkShape;
  private readonly encoder: LstmVars[];
  private readonly decoder: LstmVars[];
  private readonly outKernel: Variable;
  private readonly outBias: Variable;

  constructor(tf: Tf, shape: NetworkShape) {
    this.tf = tf;
    this.shape = { ...shape, encoderUnits: [...shape.encoderUnits], decoderUnits: [...shape.decoderUnits] };
    this.layout = networkLayout(shape);
    this.variables = this.layout.map((l) => tf.variable(tf.zeros(l.shape), true));
    let k = 0;
    const lstm = (units: number): LstmVars => {
      const [kernel, recurrent, bias] = [this.variables[k], this.variables[k + 1], this.variables[k + 2]];
      k += 3;
      const scale = new Float32Array(4 * units).fill(0.2);
      const shift = new Float32Array(4 * units).fill(0.5);
      scale.fill(1, 2 * units, 3 * units);
      shift.fill(0, 2 * units, 3 * units);
      return { kernel, recurrent, bias, units, scale: tf.tensor1d(scale), shift: tf.tensor1d(shift) };
    };
    this.encoder = shape.encoderUnits.map(lstm);
    this.decoder = shape.decoderUnits.map(lstm);
    this.outKernel = this.variables[k];
    this.outBias = this.variables[k + 1];
  }

  /** Copies flat values (layout order) into the variables. */
  assign(values: Float32Array): void {
    const tf = this.tf;
    this.layout.forEach((l, i) => {
      const t = tf.tensor(values.subarray(l.offset, l.offset + l.length), l.shape, 'float32');
      this.variables[i].assign(t);
      t.dispose();
    });
  }

  /** The variables' values as one flat array (layout order). */
  read(): Float32Array {
    const total = this.layout.reduce((n, l) => n + l.length, 0);
    const out = new Float32Array(total);
    this.layout.forEach((l, i) => out.set(this.variables[i].dataSync() as Float32Array, l.offset));
    return out;
  }

  /**
   * Reconstruction of time-major windows xTM [T, B, F] → [T, B, F]. Call inside tf.tidy (or a
   * gradient function): intermediate tensors are not disposed here.
   */
  reconstruct(xTM: Tensor3D): Tensor3D {
    const tf = this.tf;
    const [t, b, f] = xTM.shape;
    let seq: Tensor2D = tf.reshape(xTM, [t * b, f]);
    let latent: Tensor2D | undefined;
    this.encoder.forEach((layer, i) => {
      const last = i === this.encoder.length - 1;
      const { k, u, bias } = gateParams(tf, layer);
      const projected = tf.reshape(tf.add(tf.matMul(seq, k), bias), [t, b, 4 * layer.units]);
      const inputs = tf.unstack(projected, 0) as Tensor2D[];
      const hs = runLstm(tf, layer.units, u, (step) => inputs[step], t, !last);
      if (last) latent = hs.last;
      else seq = tf.concat(hs.all, 0);
    });
    // the decoder's input is the latent vector repeated over the window: project it once
    let decoderSeq: Tensor2D | undefined;
    this.decoder.forEach((layer, i) => {
      const { k, u, bias } = gateParams(tf, layer);
      let inputAt: (step: number) => Tensor2D;
      if (i === 0) {
        const projected = tf.add(tf.matMul(latent as Tensor2D, k), bias) as Tensor2D;
        inputAt = () => projected;
      } else {
        const projected = tf.reshape(tf.add(tf.matMul(decoderSeq as Tensor2D, k), bias), [t, b, 4 * layer.units]);
        const inputs = tf.unstack(projected, 0) as Tensor2D[];
        inputAt = (step) => inputs[step];
      }
      decoderSeq = tf.concat(runLstm(tf, layer.units, u, inputAt, t, true).all, 0);
    });
    const out = tf.add(tf.matMul(decoderSeq as Tensor2D, this.outKernel as Tensor as Tensor2D), this.outBias);
    return tf.reshape(out, [t, b, f]);
  }

  /** Mean absolute reconstruction error of time-major windows (the training loss). */
  loss(xTM: Tensor3D): Scalar {
    const tf = this.tf;
    return tf.mean(tf.abs(tf.sub(this.reconstruct(xTM), xTM)));
  }

  /** One optimizer step on a time-major batch; returns the batch loss (before the step). */
  trainStep(optimizer: Optimizer, xTM: Tensor3D): number {
    const tf = this.tf;
    const cost = tf.tidy(() => optimizer.minimize(() => this.loss(xTM), true, this.variables) as Scalar);
    try {
      return (cost.dataSync() as Float32Array)[0];
    } finally {
      cost.dispose();
    }
  }

  /** Forward pass of batch-major windows [B, T, F] → [B, T, F] (tests and tools). */
  predict(x: Tensor3D): Tensor3D {
    const tf = this.tf;
    return tf.tidy(() => tf.transpose(this.reconstruct(tf.transpose(x, [1, 0, 2]) as Tensor3D), [1, 0, 2]) as Tensor3D);
  }

  get window(): number {
    return this.shape.window;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    for (const l of [...this.encoder, ...this.decoder]) {
      l.scale.dispose();
      l.shift.dispose();
    }
  }
}

/** Kernels and bias with the hard-sigmoid slope/offset folded in: z' = z·scale + shift. */
function gateParams(tf: Tf, layer: LstmVars): { k: Tensor2D; u: Tensor2D; bias: Tensor } {
  return {
    k: tf.mul(layer.kernel, layer.scale) as Tensor2D,
    u: tf.mul(layer.recurrent, layer.scale) as Tensor2D,
    bias: tf.add(tf.mul(layer.bias, layer.scale), layer.shift),
  };
}

/**
 * Runs one LSTM layer over `steps` steps from zero state. `inputAt(step)` is the projected input
 * (with the folded gate scale and shift) [B, 4H]. Gate order i, f, c, o (tfjs-layers / Keras).
 */
function runLstm(tf: Tf, units: number, u: Tensor2D, inputAt: (step: number) => Tensor2D, steps: number, keepAll: boolean): { last: Tensor2D; all: Tensor2D[] } {
  let h: Tensor2D | undefined;
  let c: Tensor2D | undefined;
  const all: Tensor2D[] = [];
  for (let step = 0; step < steps; step++) {
    const z = h === undefined ? inputAt(step) : (tf.add(inputAt(step), tf.matMul(h, u)) as Tensor2D);
    const [i, f, , o] = tf.split(tf.clipByValue(z, 0, 1), 4, 1) as Tensor2D[];
    const g = tf.tanh(tf.slice(z, [0, 2 * units], [-1, units]));
    c = c === undefined ? (tf.mul(i, g) as Tensor2D) : (tf.add(tf.mul(f, c), tf.mul(i, g)) as Tensor2D);
    h = tf.mul(o, tf.tanh(c)) as Tensor2D;
    if (keepAll) all.push(h);
  }
  return { last: h as Tensor2D, all };
}
