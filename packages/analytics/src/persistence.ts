import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { KeyValueStore, WeightTensorLayout } from '@sliceguard/core';
import { decodeJson, encodeJson, layoutsEqual } from '@sliceguard/core';
import type { ScoreBaselineState } from './baseline.js';
import { checkBaselineState } from './baseline.js';
import { ModelLoadError, ModelShapeError } from './errors.js';
import type { CreateModelOptions, LstmAutoencoderConfig, ScoringState, TrainingMetadata } from './lstm.js';
import { LstmAutoencoder } from './lstm.js';
import type { ScalerState } from './preprocess.js';
import { Scaler } from './preprocess.js';
import type { ThresholdState } from './threshold.js';
import { restoreThreshold } from './threshold.js';

export const MODEL_FORMAT = 'sliceguard-lstm-ae';
export const MODEL_FORMAT_VERSION = 1;

/**
 * What a saved model holds (manifest.json + weights.bin in a directory, or two keys in a
 * KeyValueStore): the topology (our architecture config — the network is rebuilt from it), the
 * scaler, the threshold state, training metadata and the weight layout; the weights themselves are
 * one little-endian float32 array in layout order (core FlatWeights).
 */
export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  config: LstmAutoencoderConfig;
  scaler: ScalerState;
  threshold?: ThresholdState;
  /** Absent in models saved before score modes existed: plain MAE. */
  scoring?: ScoringState;
  /** The relative-score baseline (absent: scores are judged as they are). */
  baseline?: ScoreBaselineState;
  training?: TrainingMetadata;
  weights: { layout: WeightTensorLayout[]; dtype: 'float32'; byteOrder: 'little-endian'; count: number };
}

export interface LoadModelOptions extends CreateModelOptions {
  /** Fail unless the saved model reads exactly these metrics in this order. */
  expectMetrics?: readonly string[];
  /** Fail unless the saved model's window has this length. */
  expectWindow?: number;
}

export function modelManifest(model: LstmAutoencoder): ModelManifest {
  const { layout, values } = model.getWeights();
  return {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    config: { ...model.config, metrics: [...model.config.metrics], encoderUnits: [...model.config.encoderUnits], decoderUnits: [...model.config.decoderUnits] },
    scaler: model.scaler.toJSON(),
    threshold: model.threshold?.toJSON(),
    scoring: model.scoring.mode === 'mae' ? { mode: 'mae' } : { ...model.scoring, divisors: [...model.scoring.divisors] },
    ...(model.baseline ? { baseline: structuredClone(model.baseline) } : {}),
    training: model.metadata,
    weights: { layout, dtype: 'float32', byteOrder: 'little-endian', count: values.length },
  };
}

function weightBytes(values: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function weightValues(bytes: Uint8Array, count: number, where: string): Float32Array {
  if (bytes.byteLength !== count * 4) {
    throw new ModelShapeError(`${where}: weights hold ${bytes.byteLength} bytes, the manifest says ${count} float32 values (${count * 4} bytes)`, { where });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Saves the model to a directory (created if needed; files replaced atomically by rename). */
export async function saveModel(model: LstmAutoencoder, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest = modelManifest(model);
  const { values } = model.getWeights();
  const tmpWeights = join(dir, `.weights.bin.${process.pid}.tmp`);
  const tmpManifest = join(dir, `.manifest.json.${process.pid}.tmp`);
  try {
    await writeFile(tmpWeights, weightBytes(values));
    await writeFile(tmpManifest, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmpWeights, join(dir, 'weights.bin'));
    await rename(tmpManifest, join(dir, 'manifest.json'));
  } finally {
    await rm(tmpWeights, { force: true });
    await rm(tmpManifest, { force: true });
  }
}

/** Loads a model saved by saveModel. A model of another shape than expected is ANALYTICS_ERR_MODEL_SHAPE. */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LstmAutoencoder> {
  let manifestText: string;
  let bytes: Uint8Array;
  try {
    manifestText = await readFile(join(dir, 'manifest.json'), 'utf8');
    bytes = await readFile(join(dir, 'weights.bin'));
  } catch (cause) {
    throw new ModelLoadError(`cannot read a saved model in ${dir} (needs manifest.json and weights.bin)`, { dir }, cause);
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(manifestText) as ModelManifest;
  } catch (cause) {
    throw new ModelLoadError(`${join(dir, 'manifest.json')} is not valid JSON`, { file: join(dir, 'manifest.json') }, cause);
  }
  return fromManifest(manifest, bytes, dir, options);
}

/** Saves the model under `prefix` in a KeyValueStore (`<prefix>/manifest`, `<prefix>/weights`), in one batch. */
export async function saveModelToKv(model: LstmAutoencoder, kv: KeyValueStore, prefix = 'analytics/model'): Promise<void> {
  const manifest = modelManifest(model);
  const { values } = model.getWeights();
  await kv.batch([
    { type: 'put', key: `${prefix}/manifest`, value: encodeJson(manifest) },
    { type: 'put', key: `${prefix}/weights`, value: Uint8Array.from(weightBytes(values)) },
  ]);
}

export async function loadModelFromKv(kv: KeyValueStore, prefix = 'analytics/model', options: LoadModelOptions = {}): Promise<LstmAutoencoder> {
  const m = await kv.get(`${prefix}/manifest`);
  const w = await kv.get(`${prefix}/weights`);
  if (!m || !w) throw new ModelLoadError(`no saved model under "${prefix}" in the store`, { prefix });
  let manifest: ModelManifest;
  try {
    manifest = decodeJson<ModelManifest>(m);
  } catch (cause) {
    throw new ModelLoadError(`the manifest under "${prefix}" is not valid JSON`, { prefix }, cause);
  }
  return fromManifest(manifest, w, prefix, options);
}

async function fromManifest(manifest: ModelManifest, bytes: Uint8Array, where: string, options: LoadModelOptions): Promise<LstmAutoencoder> {
  if (manifest?.format !== MODEL_FORMAT) throw new ModelLoadError(`${where} is not a sliceguard LSTM autoencoder (format ${String(manifest?.format)})`, { where });
  if (manifest.version !== MODEL_FORMAT_VERSION) throw new ModelLoadError(`${where}: unsupported model format version ${manifest.version} (this build reads ${MODEL_FORMAT_VERSION})`, { where });
  if (options.expectMetrics) {
    const want = options.expectMetrics.join(',');
    const got = (manifest.config?.metrics ?? []).join(',');
    if (want !== got) throw new ModelShapeError(`${where}: the model reads metrics [${got}], expected [${want}]`, { where, expected: want, got });
  }
  if (options.expectWindow !== undefined && manifest.config?.window !== options.expectWindow) {
    throw new ModelShapeError(`${where}: the model's window is ${manifest.config?.window}, expected ${options.expectWindow}`, { where });
  }
  const values = weightValues(bytes, manifest.weights?.count ?? -1, where);
  const scaler = Scaler.fromJSON(manifest.scaler);
  if (scaler.metrics.join(',') !== manifest.config.metrics.join(',')) throw new ModelShapeError(`${where}: the scaler's metrics differ from the model's`, { where });
  const model = await LstmAutoencoder.create(manifest.config, options);
  try {
    if (!layoutsEqual(model.layout, manifest.weights.layout)) {
      throw new ModelShapeError(`${where}: the saved weight layout does not match the architecture in its config`, { where });
    }
    model.setWeights({ layout: manifest.weights.layout, values });
    model.scaler.load(scaler);
    if (manifest.threshold) model.threshold = restoreThreshold(manifest.threshold);
    if (manifest.scoring) model.scoring = checkScoring(manifest.scoring, manifest.config.metrics.length, where);
    if (manifest.baseline !== undefined) model.baseline = checkBaselineState(manifest.baseline, `${where}: the saved score baseline`);
    model.metadata = manifest.training;
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

function checkScoring(scoring: ScoringState, features: number, where: string): ScoringState {
  if (scoring.mode === 'mae') return { mode: 'mae' };
  if (scoring.mode === 'normalized' && Array.isArray(scoring.divisors) && scoring.divisors.length === features && scoring.divisors.every((d) => Number.isFinite(d) && d > 0)) {
    return { mode: 'normalized', floor: scoring.floor, divisors: [...scoring.divisors] };
  }
  throw new ModelShapeError(`${where}: the saved score mode is invalid (needs ${features} positive divisors for 'normalized')`, { where });
}
