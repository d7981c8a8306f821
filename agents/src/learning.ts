import type { Bus, Clock, FlatWeights, KeyValueStore, Logger, Sample, StreamingDetector, TrainableModel, Verdict, WeightTensorLayout } from '@sliceguard/core';
import { decodeJson, encodeJson, layoutsEqual, silentLogger } from '@sliceguard/core';
import type { BackendPreference, ThresholdOptions } from '@sliceguard/analytics';
import { calibrateThreshold, createLstmDetector, LstmAutoencoder, ModelShapeError, Scaler } from '@sliceguard/analytics';
import { createFederatedClient } from '@sliceguard/federation';
import type { ClientEvent, FederatedClient } from '@sliceguard/federation';
import type { AgentSpec } from '@sliceguard/topology';
import { AgentConfigError } from './errors.js';

/** The NF detector kinds an agent can run. */
export const NF_DETECTORS = ['statistical', 'lstm'] as const;
export type NfDetectorKind = (typeof NF_DETECTORS)[number];

/**
 * Settings of an NF agent's trainable detector (the LSTM autoencoder of @sliceguard/analytics) and
 * of the federated client that trains it with the other NFs of its type (docs/agents.md, "Learning").
 */
export interface NfLearningOptions {
  /** Join the domain's FL rounds (default true); false: train locally on the agent's own buffer only. */
  federated?: boolean;
  /** LSTM window in samples. Default 10. */
  window?: number;
  /** Units of the (single) encoder and decoder LSTM. Default 16. */
  units?: number;
  learningRate?: number;
  /** Seed of the initial weights. Default 1 (every agent of a type starts from the same point). */
  seed?: number;
  /** Recent normal samples kept for training and threshold calibration (oldest dropped). Default 1000. */
  bufferSize?: number;
  /** Normal samples needed before the agent joins FL rounds (or trains locally) and calibrates. Default 4 × window. */
  minSamples?: number;
  /** Local epochs: overrides the epochs a round announces; local mode's epochs per training (default 5 there). */
  epochs?: number;
  batchSize?: number;
  /** How the threshold is recalibrated on the agent's own recent normal data. Default p99. */
  threshold?: ThresholdOptions;
  /** FL join heartbeat (ms). Default the client's (10 s). */
  heartbeatMs?: number;
  /** Local mode: first training once this many normal rows are buffered (default bufferSize), then every `retrainEvery` new ones (default bufferSize). */
  trainAfter?: number;
  retrainEvery?: number;
  /** A pause longer than this restarts the LSTM window (default: never). */
  maxGapMs?: number;
  backend?: BackendPreference;
}

export interface NfLearnerInit extends NfLearningOptions {
  spec: AgentSpec;
  bus: Bus;
  clock: Clock;
  logger?: Logger;
  /** The detector that answers until the LSTM has a calibrated model (and for incomplete samples). */
  baseline: StreamingDetector;
  /**
   * The agent's store: the installed model (after each install) and the buffer (every `persistEvery`
   * buffered rows, and at stop) are kept under `learning/`, so a restarted agent detects with its last
   * model at once. Default: memory only.
   */
  kv?: KeyValueStore;
  /** Buffer snapshot every this many new buffered rows. Default 60. */
  persistEvery?: number;
}

export interface NfLearnerState {
  mode: 'federated' | 'local';
  /** Which detector answers now. */
  active: 'lstm' | 'baseline';
  /** Model version in use: the installed global version (federated) or the local training count. */
  installedVersion: number;
  installedRound?: number;
  installs: number;
  /** Local trainings finished (federated: updates sent). */
  trained: number;
  bufferedRows: number;
  /** Whether the FL client has joined the domain's rounds. */
  joined: boolean;
  threshold?: number;
  calibratedOn?: number;
  calibrationPending: boolean;
  lastError?: string;
}

export type LearnerEvent =
  | { type: 'installed'; version: number; round?: number; threshold: number; rows: number }
  | { type: 'calibration_pending'; version: number; rows: number; needed: number }
  | { type: 'trained'; round?: number; samples: number; loss: number }
  | { type: 'joined'; rows: number }
  | { type: 'error'; what: string; error: Error };

export interface NfLearner {
  /** The NF agent's detector: the LSTM once a model is installed and calibrated, the baseline before. */
  readonly detector: StreamingDetector;
  /** The federated client (federated mode). */
  readonly client?: FederatedClient;
  /** The model (NF type) name, e.g. `gnb`. */
  readonly model: string;
  /** Arms the learner: the FL client joins (or local training starts) once enough normal samples are buffered. */
  start(): Promise<void>;
  /** Stops the FL client and waits for training / calibration in flight. */
  stop(): Promise<void>;
  state(): NfLearnerState;
  onEvent(listener: (e: LearnerEvent) => void): () => void;
}

const KEY_MODEL = 'learning/model';
const KEY_MODEL_VALUES = 'learning/model.values';
const KEY_BUFFER = 'learning/buffer';
const KEY_BUFFER_VALUES = 'learning/buffer.values';

/** Float32 values as little-endian bytes (and back), independent of the host's byte order. */
function f32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
function bytesF32(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new Error(`${bytes.length} bytes is not a whole number of float32 values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

const SCALER_OFFSET = 'scaler/offset';
const SCALER_SCALE = 'scaler/scale';

/**
 * The LSTM autoencoder as a federated model whose weights carry its input scaler: the network's
 * tensors followed by `scaler/offset` and `scaler/scale` (one value per metric). Federated clients
 * must share one scaler (docs/analytics.md); carrying it in the global model makes the coordinator's
 * head the single source of it: the model that seeds version 1 (a coordinator's initial model, or the
 * seeding client's, whose scaler was fitted on its own normal data) fixes the scaler, and every
 * client that installs a version adopts it. Honest local training never changes the scaler, so its
 * coordinates have zero delta and any aggregator keeps them. A model whose scaler is not fitted yet
 * reports scale 0 (never installed as a scaler); `epochs` overrides what a round asks for.
 */
export function federatedLstm(model: LstmAutoencoder, options: { epochs?: number; batchSize?: number } = {}): TrainableModel {
  const f = model.metrics.length;
  const netLayout = (): WeightTensorLayout[] => model.layout.map((l) => ({ ...l, shape: [...l.shape] }));
  const layout = (): WeightTensorLayout[] => {
    const base = netLayout();
    const n = base.reduce((s, l) => s + l.length, 0);
    return [...base, { name: SCALER_OFFSET, shape: [f], offset: n, length: f }, { name: SCALER_SCALE, shape: [f], offset: n + f, length: f }];
  };
  return {
    getWeights(): FlatWeights {
      const net = model.getWeights();
      const n = net.values.length;
      const values = new Float32Array(n + 2 * f);
      values.set(net.values, 0);
      if (model.scaler.fitted) {
        const s = model.scaler.toJSON();
        values.set(s.offset, n);
        values.set(s.scale, n + f);
      }
      return { layout: layout(), values };
    },
    setWeights(weights: FlatWeights): void {
      const expected = layout();
      if (!layoutsEqual(weights.layout, expected)) {
        throw new ModelShapeError(`weights do not fit the federated LSTM of [${model.metrics.join(', ')}] (window ${model.window}): layout differs`, {});
      }
      const n = expected[expected.length - 2].offset;
      const offset = Array.from(weights.values.subarray(n, n + f));
      const scale = Array.from(weights.values.subarray(n + f, n + 2 * f));
      const hasScaler = scale.some((s) => s !== 0);
      // validate before touching the model: a bad scaler leaves the installed model as it was
      const scaler = hasScaler ? Scaler.fromJSON({ kind: model.config.scaler, metrics: [...model.metrics], offset, scale, fittedOn: 1 }) : undefined;
      model.setWeights({ layout: netLayout(), values: weights.values.subarray(0, n) });
      if (scaler) model.scaler.load(scaler);
    },
    fit: (rows, o) => model.fit(rows, { ...o, epochs: options.epochs ?? o.epochs, ...(options.batchSize ? { batchSize: options.batchSize } : {}) }),
    evaluate: (rows) => model.evaluate(rows),
  };
}

/** A bounded FIFO of rows (oldest dropped). */
class RowBuffer {
  private readonly rows: Float32Array[] = [];
  private head = 0;
  constructor(readonly capacity: number) {}
  get size(): number {
    return this.rows.length;
  }
  push(row: Float32Array): void {
    if (this.rows.length < this.capacity) this.rows.push(row);
    else {
      this.rows[this.head] = row;
      this.head = (this.head + 1) % this.capacity;
    }
  }
  /** Oldest first. */
  snapshot(): Float32Array[] {
    return this.head === 0 ? [...this.rows] : [...this.rows.slice(this.head), ...this.rows.slice(0, this.head)];
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new AgentConfigError(`learning option ${name} must be a positive integer, got ${String(value)}`, { option: name });
  return v;
}

/**
 * The trainable detector of one NF agent and its federated client (issue 8): the statistical
 * baseline answers until an LSTM autoencoder model is installed and calibrated; every complete
 * sample the answering detector did not flag goes into a bounded buffer of recent normal rows. In
 * federated mode the agent joins its domain's rounds for its NF type once the buffer holds
 * `minSamples` rows, trains on the buffer when selected and sends signed updates (the client's
 * job); each verified global version is hot-swapped in and the threshold recalibrated on the
 * agent's own buffer. In local mode it trains on its own buffer instead.
 */
export async function createNfLearner(init: NfLearnerInit): Promise<NfLearner> {
  const { spec, bus, clock, baseline } = init;
  if (spec.level !== 'nf' || !spec.nf) throw new AgentConfigError(`${spec.agentId} is not an NF agent; only NF agents run a trainable detector`, { agentId: spec.agentId });
  const nf = spec.nf;
  const metrics = [...nf.metrics];
  const model = nf.type;
  const logger = (init.logger ?? silentLogger()).child({ module: 'nf-learning', model });
  const window = positiveInt('window', init.window, 10);
  if (window < 2) throw new AgentConfigError('learning option window must be >= 2', { option: 'window' });
  const units = positiveInt('units', init.units, 16);
  const bufferSize = positiveInt('bufferSize', init.bufferSize, 1000);
  const minSamples = positiveInt('minSamples', init.minSamples, 4 * window);
  if (minSamples < window + 1) throw new AgentConfigError(`learning option minSamples (${minSamples}) must be > window (${window})`, { option: 'minSamples' });
  if (minSamples > bufferSize) throw new AgentConfigError(`learning option minSamples (${minSamples}) exceeds bufferSize (${bufferSize})`, { option: 'minSamples' });
  if (init.epochs !== undefined) positiveInt('epochs', init.epochs, 1);
  if (init.batchSize !== undefined) positiveInt('batchSize', init.batchSize, 1);
  const federated = init.federated ?? true;
  const trainAfter = positiveInt('trainAfter', init.trainAfter, bufferSize);
  const retrainEvery = positiveInt('retrainEvery', init.retrainEvery, bufferSize);
  const persistEvery = positiveInt('persistEvery', init.persistEvery, 60);
  const kv = init.kv;
  const thresholdOptions: ThresholdOptions = { method: 'p99', ...(init.threshold ?? {}) };
  const modelInit = { metrics, window, encoderUnits: [units], seed: init.seed ?? 1, ...(init.learningRate !== undefined ? { learningRate: init.learningRate } : {}) };
  const createOptions = { ...(init.backend ? { backend: init.backend } : {}), logger };
  // One model trains (the FL client's copy); two detection models alternate, so a hot swap never
  // changes the weights under a verdict in flight: the new version goes into the idle one.
  const trainModel = await LstmAutoencoder.create(modelInit, createOptions);
  const detectModels = [await LstmAutoencoder.create(modelInit, createOptions), await LstmAutoencoder.create(modelInit, createOptions)];
  let nextSlot = 0;
  const trainable = federatedLstm(trainModel, { ...(init.epochs ? { epochs: init.epochs } : {}), ...(init.batchSize ? { batchSize: init.batchSize } : {}) });
  const buffer = new RowBuffer(bufferSize);
  const recent: Sample[] = [];
  const listeners = new Set<(e: LearnerEvent) => void>();
  let lstm: StreamingDetector | undefined;
  let pending: { weights: FlatWeights; version: number; round?: number } | undefined;
  let calibrating: Promise<void> | undefined;
  let training: Promise<void> | undefined;
  let threshold: number | undefined;
  let calibratedOn: number | undefined;
  let installedVersion = 0;
  let installedRound: number | undefined;
  let installs = 0;
  let trained = 0;
  let joined = false;
  let joinRetryAt = Number.NEGATIVE_INFINITY;
  let armed = false;
  let stopped = false;
  let sinceTrain = 0;
  let localVersion = 0;
  let lastError: string | undefined;
  let sincePersist = 0;
  let persisting: Promise<void> = Promise.resolve();
  let restored: { weights: FlatWeights; version: number; round?: number } | undefined;

  const emit = (e: LearnerEvent): void => {
    for (const l of listeners) l(e);
  };
  const fail = (what: string, error: unknown): void => {
    const err = error instanceof Error ? error : new Error(String(error));
    lastError = `${what}: ${err.message}`;
    logger.warn({ err, what }, 'NF learning failed');
    emit({ type: 'error', what, error: err });
  };

  /** Writes are chained so that they land in order; a failed write is logged, never thrown. */
  const persist = (what: string, ops: () => Parameters<KeyValueStore['batch']>[0]): void => {
    if (!kv) return;
    persisting = persisting.then(() => kv.batch(ops())).catch((error) => logger.warn({ err: error, what }, 'persisting the learner state failed'));
  };
  const persistBuffer = (): void => {
    sincePersist = 0;
    persist('buffer', () => {
      const rows = buffer.snapshot();
      const flat = new Float32Array(rows.length * metrics.length);
      rows.forEach((r, i) => flat.set(r, i * metrics.length));
      return [
        { type: 'put', key: KEY_BUFFER, value: encodeJson({ rows: rows.length, metrics }) },
        { type: 'put', key: KEY_BUFFER_VALUES, value: f32Bytes(flat) },
      ];
    });
  };

  // What a previous run left: the buffer, and the model it had installed (checked against this model's layout).
  if (kv) {
    try {
      const head = await kv.get(KEY_BUFFER);
      const bytes = await kv.get(KEY_BUFFER_VALUES);
      if (head && bytes) {
        const h = decodeJson<{ rows: number; metrics: string[] }>(head);
        const flat = bytesF32(bytes);
        if (h.metrics?.join(',') !== metrics.join(',') || flat.length !== h.rows * metrics.length || !flat.every(Number.isFinite)) {
          throw new Error(`stored buffer does not fit the metrics [${metrics.join(', ')}]`);
        }
        for (let i = 0; i < h.rows; i++) buffer.push(flat.slice(i * metrics.length, (i + 1) * metrics.length));
      }
      const mhead = await kv.get(KEY_MODEL);
      const mbytes = await kv.get(KEY_MODEL_VALUES);
      if (mhead && mbytes) {
        const h = decodeJson<{ version: number; round?: number; layout: WeightTensorLayout[]; mode: string }>(mhead);
        const weights = { layout: h.layout, values: bytesF32(mbytes) };
        if (!layoutsEqual(weights.layout, trainable.getWeights().layout) || !weights.values.every(Number.isFinite) || !(Number.isInteger(h.version) && h.version > 0)) {
          throw new Error('stored model does not fit this LSTM (units or metrics changed?)');
        }
        trainable.setWeights(weights);
        restored = { weights, version: h.version, ...(h.round !== undefined ? { round: h.round } : {}) };
        if (!federated) localVersion = h.version;
      }
      if (buffer.size > 0 || restored) logger.info({ rows: buffer.size, version: restored?.version }, 'restored the learner state of the previous run');
    } catch (error) {
      fail('restoring the learner state', error);
    }
  }


  /** Installs weights into the idle detection model, calibrates its threshold on the buffer and swaps it in. */
  async function installAndCalibrate(weights: FlatWeights, version: number, round?: number): Promise<void> {
    const rows = buffer.snapshot();
    if (rows.length < minSamples) {
      pending = { weights, version, ...(round !== undefined ? { round } : {}) };
      logger.info({ version, rows: rows.length, needed: minSamples }, 'model received; threshold calibration waits for more normal samples');
      emit({ type: 'calibration_pending', version, rows: rows.length, needed: minSamples });
      return;
    }
    pending = undefined;
    const slot = nextSlot;
    const target = detectModels[slot];
    federatedLstm(target).setWeights(weights);
    const { scores } = await target.scoreRows(rows);
    const calibrated = calibrateThreshold(scores, thresholdOptions);
    const detector = createLstmDetector({ model: target, threshold: calibrated, ...(init.maxGapMs ? { maxGapMs: init.maxGapMs } : {}) });
    // prime the new window with the latest samples so that the swap leaves no blind spot
    for (const s of recent.slice(-(window - 1))) await detector.push(s);
    if (stopped) return;
    lstm = detector;
    nextSlot = 1 - slot;
    threshold = calibrated.value();
    calibratedOn = rows.length;
    installedVersion = version;
    installedRound = round;
    installs++;
    lastError = undefined;
    persist('model', () => [
      { type: 'put', key: KEY_MODEL, value: encodeJson({ version, ...(round !== undefined ? { round } : {}), layout: weights.layout, mode: federated ? 'federated' : 'local' }) },
      { type: 'put', key: KEY_MODEL_VALUES, value: f32Bytes(weights.values) },
    ]);
    logger.info({ version, round, threshold, rows: rows.length }, 'FL model installed; threshold recalibrated on recent normal data');
    emit({ type: 'installed', version, ...(round !== undefined ? { round } : {}), threshold: calibrated.value(), rows: rows.length });
  }

  /** Serializes installs (a newer version waits for the calibration of the previous one). */
  function install(weights: FlatWeights, version: number, round?: number): Promise<void> {
    const run = (calibrating ?? Promise.resolve()).then(() => (stopped ? undefined : installAndCalibrate(weights, version, round)));
    const tracked = run.catch((error) => fail(`installing version ${version}`, error));
    calibrating = tracked.finally(() => {
      if (calibrating === tracked) calibrating = undefined;
    });
    return calibrating;
  }

  async function trainLocally(): Promise<void> {
    const rows = buffer.snapshot();
    sinceTrain = 0;
    const fit = await trainable.fit(rows, { epochs: init.epochs ?? 5, ...(init.batchSize ? { batchSize: init.batchSize } : {}) });
    trained++;
    localVersion++;
    logger.info({ version: localVersion, rows: rows.length, loss: fit.loss }, 'LSTM trained locally on recent normal data');
    emit({ type: 'trained', samples: rows.length, loss: fit.loss });
    await install(trainable.getWeights(), localVersion);
  }

  const client = federated
    ? createFederatedClient({
        bus,
        domain: spec.domain,
        model,
        trainable,
        clock,
        logger,
        minSamples,
        ...(init.heartbeatMs ? { heartbeatMs: init.heartbeatMs } : {}),
        data: () => buffer.snapshot(),
        onInstall: (e) => install(e.weights, e.version, e.round),
      })
    : undefined;
  client?.onEvent((e: ClientEvent) => {
    if (e.type === 'trained') {
      trained++;
      logger.info({ round: e.round, samples: e.samples, loss: e.loss }, 'FL update sent');
      emit({ type: 'trained', round: e.round, samples: e.samples, loss: e.loss });
    } else if (e.type === 'skipped') logger.info({ round: e.round, reason: e.reason }, 'FL round skipped');
    else if (e.type === 'failed') fail(`FL round ${e.round}`, e.error);
    else if (e.type === 'ignored') logger.warn({ what: e.what, reason: e.reason, detail: e.detail }, 'FL message ignored');
  });

  /** After each buffered sample: join, train locally or finish a pending calibration when due. */
  function progress(): void {
    if (!armed || stopped) return;
    if (client && !joined && buffer.size >= minSamples && clock.now() >= joinRetryAt) {
      joined = true;
      logger.info({ rows: buffer.size }, 'joining the FL rounds');
      emit({ type: 'joined', rows: buffer.size });
      client.start().catch((error) => {
        // retried after a pause, not on every sample
        joined = false;
        joinRetryAt = clock.now() + (init.heartbeatMs ?? 10_000);
        fail('joining the FL rounds', error);
      });
    }
    if (!client && !training && ((localVersion === 0 && buffer.size >= Math.min(trainAfter, bufferSize)) || (localVersion > 0 && sinceTrain >= retrainEvery))) {
      training = trainLocally()
        .catch((error) => fail('local training', error))
        .finally(() => {
          training = undefined;
        });
    }
    if (pending && !calibrating && buffer.size >= minSamples) void install(pending.weights, pending.version, pending.round);
  }

  const detector: StreamingDetector = {
    get name() {
      return lstm ? `${lstm.name}+${baseline.name}` : baseline.name;
    },
    metrics: baseline.metrics,
    async push(sample: Sample): Promise<Verdict | undefined> {
      // the baseline always runs, so that it stays warm for samples the LSTM cannot score
      const base = await baseline.push(sample);
      const complete = metrics.every((m) => Number.isFinite(sample.values[m]));
      // after stop() the models are gone: the baseline answers the loop's last samples
      const current = stopped ? undefined : lstm;
      const verdict = current && complete ? ((await current.push(sample)) ?? base) : base;
      if (complete) {
        recent.push(sample);
        if (recent.length > window) recent.shift();
        if (!verdict?.anomalous) {
          buffer.push(Float32Array.from(metrics, (m) => sample.values[m]));
          sinceTrain++;
          if (kv && ++sincePersist >= persistEvery) persistBuffer();
        }
        if (!stopped) progress();
      }
      return verdict;
    },
    reset() {
      baseline.reset();
      lstm?.reset();
      recent.length = 0;
    },
  };

  return {
    detector,
    ...(client ? { client } : {}),
    model,
    async start() {
      armed = true;
      // the previous run's model detects at once (recalibrated on the restored buffer); a federated
      // client still gets the coordinator's head when it joins
      if (restored) {
        const r = restored;
        restored = undefined;
        await install(r.weights, r.version, r.round);
      }
      progress();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await client?.stop();
      await training;
      await calibrating;
      if (kv && sincePersist > 0) persistBuffer();
      await persisting;
      trainModel.dispose();
      for (const m of detectModels) m.dispose();
    },
    state: () => ({
      mode: federated ? 'federated' : 'local',
      active: lstm ? 'lstm' : 'baseline',
      installedVersion,
      ...(installedRound !== undefined ? { installedRound } : {}),
      installs,
      trained,
      bufferedRows: buffer.size,
      joined,
      ...(threshold !== undefined ? { threshold } : {}),
      ...(calibratedOn !== undefined ? { calibratedOn } : {}),
      calibrationPending: pending !== undefined,
      ...(lastError ? { lastError } : {}),
    }),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The NF types of each domain that learn federatedly: those with at least `minClients` NF agents
 * among `specs` (a round needs that many clients). NF agents of other types train locally.
 */
export function federatedTypes(specs: readonly AgentSpec[], minClients = 2): Map<string, string[]> {
  const counts = new Map<string, Map<string, number>>();
  for (const s of specs) {
    if (s.level !== 'nf' || !s.nf) continue;
    const byType = counts.get(s.domain) ?? new Map<string, number>();
    byType.set(s.nf.type, (byType.get(s.nf.type) ?? 0) + 1);
    counts.set(s.domain, byType);
  }
  const out = new Map<string, string[]>();
  for (const [domain, byType] of counts) {
    const types = [...byType].filter(([, n]) => n >= minClients).map(([t]) => t).sort();
    if (types.length > 0) out.set(domain, types);
  }
  return out;
}
