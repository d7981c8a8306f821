import type { FlatWeights, TrainableModel } from '@sliceguard/core';
import { seededRng } from '@sliceguard/core';

/**
 * A model whose local training costs nothing: the benchmark measures the protocol (announce, signed
 * updates over NATS, aggregation, LevelDB commit, signed global, installs), not the learning.
 */
export function instantModel(parameters: number, seed: number): TrainableModel {
  const layout = [{ name: 'w', shape: [parameters], offset: 0, length: parameters }];
  let values = new Float32Array(parameters);
  const rng = seededRng(seed);
  return {
    getWeights: (): FlatWeights => ({ layout, values: new Float32Array(values) }),
    setWeights: (w) => {
      values = new Float32Array(w.values);
    },
    async fit(rows) {
      for (let i = 0; i < values.length; i += 97) values[i] += (rng.next() - 0.5) * 0.01;
      return { loss: 0.1, samples: rows.length };
    },
    evaluate: async () => 0.1,
  };
}

