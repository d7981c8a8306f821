/**
 * The Analytics Engine contract at NF level. A detector consumes one sample at a time and answers
 * with a verdict once it has a full window. The statistical baseline (agents) and the LSTM
 * autoencoder (analytics) both implement it, so the NF agent does not care which it runs.
 */
export interface Sample {
  /** Clock ms. */
  at: number;
  /** Metric name → value. Missing metrics or NaN are handled by the detector's documented policy. */
  values: Readonly<Record<string, number>>;
}

export interface Verdict {
  at: number;
  score: number;
  threshold: number;
  anomalous: boolean;
  /** Metrics that contribute most to the score, largest first. */
  contributors: { metric: string; share: number }[];
  window: { start: number; end: number };
}

export interface StreamingDetector {
  readonly name: string;
  /** The metrics this detector reads, in feature order. */
  readonly metrics: readonly string[];
  push(sample: Sample): Promise<Verdict | undefined>;
  reset(): void;
}

/**
 * Model weights as exchanged by federated learning: one flat Float32Array and a layout that says
 * which slice is which tensor. Two models are compatible iff their layouts are equal.
 */
export interface WeightTensorLayout {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export interface FlatWeights {
  layout: WeightTensorLayout[];
  values: Float32Array;
}

/** What a federated client needs from a model it trains locally. */
export interface TrainableModel {
  getWeights(): FlatWeights;
  setWeights(weights: FlatWeights): void;
  /** Trains on rows of features (already the model's metric order); returns the final loss. */
  fit(rows: Float32Array[], options: { epochs: number; batchSize?: number; signal?: AbortSignal }): Promise<{ loss: number; samples: number }>;
  /** Mean reconstruction loss on rows (lower is better). */
  evaluate(rows: Float32Array[]): Promise<number>;
}

export function layoutsEqual(a: readonly WeightTensorLayout[], b: readonly WeightTensorLayout[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name || x.offset !== y.offset || x.length !== y.length) return false;
    if (x.shape.length !== y.shape.length || x.shape.some((d, j) => d !== y.shape[j])) return false;
  }
  return true;
}
