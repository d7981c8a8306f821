import assert from 'node:assert/strict';
import type { WeightTensorLayout } from '@sliceguard/core';
import { seededRng } from '@sliceguard/core';
import { loadTf, LstmAutoencoder } from '../src/index.js';
import type { Tf } from '../src/backend.js';
import { LstmNetwork, networkLayout } from '../src/network.js';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;
type Tensor = import('@tensorflow/tfjs').Tensor;
type Tensor3D = import('@tensorflow/tfjs').Tensor3D;

interface Shape {
  features: number;
  window: number;
  encoderUnits: number[];
  decoderUnits: number[];
}

// the weights are set right after building; zeros keep tfjs's slow orthogonal initialiser quiet
const ZEROS = { kernelInitializer: 'zeros', recurrentInitializer: 'zeros' } as const;

/** The Keras-style model the package used to build with tfjs-layers (default hard-sigmoid recurrent activation). */
function layersModel(tf: Tf, s: Shape): LayersModel {
  const input = tf.input({ shape: [s.window, s.features] });
  let x: SymbolicTensor = input;
  s.encoderUnits.forEach((units, i) => {
    x = tf.layers.lstm({ units, returnSequences: i < s.encoderUnits.length - 1, name: `encoder_${i}`, ...ZEROS }).apply(x) as SymbolicTensor;
  });
  x = tf.layers.repeatVector({ n: s.window }).apply(x) as SymbolicTensor;
  s.decoderUnits.forEach((units, i) => {
    x = tf.layers.lstm({ units, returnSequences: true, name: `decoder_${i}`, ...ZEROS }).apply(x) as SymbolicTensor;
  });
  x = tf.layers.timeDistributed({ layer: tf.layers.dense({ units: s.features }), name: 'output' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

/** tfjs-layers' weight names without uniqueness suffixes: `<layer>/<kernel|recurrent_kernel|bias>`. */
function layersLayout(model: LayersModel): WeightTensorLayout[] {
  const out: WeightTensorLayout[] = [];
  let offset = 0;
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const shape = w.shape.map((d) => d ?? 1);
      const length = shape.reduce((a, b) => a * b, 1);
      out.push({ name: `${layer.name}/${w.originalName.split('/').pop()}`, shape, offset, length });
      offset += length;
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('analytics: raw-op LSTM network = the tfjs-layers model', function () {
  this.timeout(120_000);
  let tf: Tf;
  before(async () => {
    ({ tf } = await loadTf({ backend: 'wasm' }));
  });

  const shapes: Shape[] = [
    { features: 38, window: 30, encoderUnits: [32], decoderUnits: [32] },
    { features: 5, window: 7, encoderUnits: [6, 4], decoderUnits: [3, 6] },
    { features: 1, window: 4, encoderUnits: [2], decoderUnits: [2] },
  ];
  for (const s of shapes) {
    it(`same layout, same forward pass and same MAE gradients for ${s.features} metrics × ${s.window}, encoder [${s.encoderUnits}] decoder [${s.decoderUnits}]`, () => {
      const reference = layersModel(tf, s);
      const net = new LstmNetwork(tf, s);
      const before = tf.memory().numTensors;
      try {
        const layout = layersLayout(reference);
        assert.deepEqual(networkLayout(s), layout);
        assert.deepEqual(net.layout, layout);
        // weights large enough that the hard sigmoid saturates on some gates (both clip branches run)
        const rng = seededRng(`net:${s.features}:${s.window}`);
        const total = layout.reduce((n, l) => n + l.length, 0);
        const values = new Float32Array(total);
        for (const l of layout) {
          const limit = 3 / Math.sqrt(l.shape.length === 2 ? l.shape[0] : 1);
          for (let i = l.offset; i < l.offset + l.length; i++) values[i] = (rng.next() * 2 - 1) * limit;
        }
        net.assign(values);
        assert.deepEqual(net.read(), values);
        const refWeights = layout.map((l) => tf.tensor(values.slice(l.offset, l.offset + l.length), l.shape));
        reference.setWeights(refWeights);
        for (const t of refWeights) t.dispose();
        const batch = 9;
        const x = tf.tensor3d(Float32Array.from({ length: batch * s.window * s.features }, () => rng.next() * 1.4 - 0.2), [batch, s.window, s.features]);
        const ours = net.predict(x);
        const theirs = reference.predict(x) as Tensor;
        const diff = maxAbsDiff(ours.dataSync(), theirs.dataSync());
        assert.ok(diff <= 1e-5, `forward passes differ by ${diff}`);
        // the training gradients agree too (MAE loss)
        const ourGrads = tf.variableGrads(() => net.loss(tf.transpose(x, [1, 0, 2]) as Tensor3D), net.variables);
        const refVars = reference.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable);
        const refGrads = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(reference.apply(x) as Tensor, x))), refVars);
        const [ourLoss, refLoss] = [ourGrads.value.dataSync()[0], refGrads.value.dataSync()[0]];
        assert.ok(Math.abs(ourLoss - refLoss) <= 1e-5 * Math.max(1, refLoss), `losses ${ourLoss} vs ${refLoss}`);
        net.variables.forEach((v, i) => {
          const g = ourGrads.grads[v.name].dataSync();
          const r = refGrads.grads[refVars[i].name].dataSync();
          const scale = Math.max(1e-3, ...Array.from(r, Math.abs));
          const d = maxAbsDiff(g, r);
          assert.ok(d <= 1e-4 * scale, `${layout[i].name}: gradients differ by ${d} (max |g| ${scale})`);
        });
        for (const t of [x, ours, theirs, ourGrads.value, refGrads.value, ...Object.values(ourGrads.grads), ...Object.values(refGrads.grads)]) t.dispose();
        assert.equal(tf.memory().numTensors, before, 'no tensors leak from predict/loss');
      } finally {
        net.dispose();
        reference.dispose();
      }
    });
  }

  it('a seeded model trains reproducibly: same seed, same data → bit-identical weights', async () => {
    const rng = seededRng(5);
    const rows = Array.from({ length: 60 }, (_, t) => [Math.sin(t / 4) + rng.normal(0, 0.05), Math.cos(t / 4) + rng.normal(0, 0.05)]);
    const trained = async (): Promise<Float32Array> => {
      const m = await LstmAutoencoder.create({ metrics: ['a', 'b'], window: 6, encoderUnits: [4], seed: 9 }, { backend: 'wasm' });
      try {
        await m.train(rows, { epochs: 3, batchSize: 8, validationSplit: 0.2, patience: 0 });
        return m.getWeights().values;
      } finally {
        m.dispose();
      }
    };
    const a = await trained();
    const b = await trained();
    assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)));
    const m = await LstmAutoencoder.create({ metrics: ['a', 'b'], window: 6, encoderUnits: [4], seed: 9 }, { backend: 'wasm' });
    try {
      await m.train(rows, { epochs: 3, batchSize: 8, validationSplit: 0.2, patience: 0, rng: seededRng('other order') });
      assert.ok(!Buffer.from(m.getWeights().values.buffer).equals(Buffer.from(a.buffer)), 'an injected rng changes the shuffle order');
    } finally {
      m.dispose();
    }
  });
});
