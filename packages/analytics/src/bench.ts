import { loadavg } from 'node:os';
import { seededRng } from '@sliceguard/core';
import type { BackendName } from './backend.js';
import { LstmAutoencoder } from './lstm.js';
import { createStatisticalDetector } from './statistical.js';

export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
}

const WINDOW = 30;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}
const FEATURES = 38;

function syntheticRows(n: number, features: number, seed: number): Float32Array[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, (_, t) => Float32Array.from({ length: features }, (_, j) => 0.5 + 0.3 * Math.sin(t / (5 + j)) + rng.normal(0, 0.02)));
}

function windows(count: number, seed: number): Float32Array {
  const rng = seededRng(seed);
  return Float32Array.from({ length: count * WINDOW * FEATURES }, () => rng.next());
}

interface Sizes {
  batchSize: number;
  inferWindows: number;
  trainWindows: number;
  reps: number;
  units: number;
}

async function backendFigures(backend: BackendName, sizes: Sizes, log: (l: string) => void): Promise<Record<string, unknown>> {
  const metrics = Array.from({ length: FEATURES }, (_, j) => `m${j}`);
  const model = await LstmAutoencoder.create({ metrics, window: WINDOW, encoderUnits: [sizes.units] }, { backend });
  try {
    model.scaler.fit(syntheticRows(64, FEATURES, 1));
    const data = windows(sizes.inferWindows, 2);
    await model.scoreWindows(data.subarray(0, WINDOW * FEATURES), 1); // warm-up (kernel compilation, allocation)
    await model.scoreWindows(data, sizes.inferWindows);
    let best = Number.POSITIVE_INFINITY;
    let bestCpu = Number.POSITIVE_INFINITY;
    for (let r = 0; r < sizes.reps; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await model.scoreWindows(data, sizes.inferWindows, sizes.inferWindows);
      best = Math.min(best, performance.now() - t0);
      bestCpu = Math.min(bestCpu, cpuMs(c0));
    }
    const single = windows(1, 3);
    const t1 = performance.now();
    for (let r = 0; r < sizes.reps * 2; r++) await model.scoreWindows(single, 1);
    const singleMs = (performance.now() - t1) / (sizes.reps * 2);
    const batchedMs = best / sizes.inferWindows;
    const batchedCpuMs = bestCpu / sizes.inferWindows;
    log(`${backend}: batched inference ${batchedMs.toFixed(3)} ms/window wall, ${batchedCpuMs.toFixed(3)} ms CPU (${sizes.inferWindows} windows per call), single window ${singleMs.toFixed(2)} ms`);
    // one epoch over trainWindows windows (stride 1 over trainWindows + WINDOW − 1 rows), batch 50
    const rows = syntheticRows(sizes.trainWindows + WINDOW - 1, FEATURES, 4);
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const meta = await model.train(rows, { epochs: 1, batchSize: sizes.batchSize, validationSplit: 0, patience: 0 });
    const epochSeconds = (performance.now() - t2) / 1000;
    const epochCpuSeconds = cpuMs(c2) / 1000;
    const per20k = (epochSeconds / meta.windows) * 20_000;
    const per20kCpu = (epochCpuSeconds / meta.windows) * 20_000;
    log(
      `${backend}: one epoch over ${meta.windows} windows (batch ${sizes.batchSize}) in ${epochSeconds.toFixed(1)} s wall, ${epochCpuSeconds.toFixed(1)} s CPU → ${per20k.toFixed(0)} s wall, ${per20kCpu.toFixed(0)} s CPU per 20,000 windows (extrapolated)`,
    );
    return {
      batchedInferenceMsPerWindow: batchedMs,
      batchedInferenceCpuMsPerWindow: batchedCpuMs,
      batchWindows: sizes.inferWindows,
      singleWindowInferenceMs: singleMs,
      trainEpochSeconds: epochSeconds,
      trainWindowsMeasured: meta.windows,
      trainEpochSecondsPer20kWindowsExtrapolated: per20k,
      trainEpochCpuSecondsPer20kWindowsExtrapolated: per20kCpu,
      trainBatchSize: sizes.batchSize,
      units: sizes.units,
      parameters: model.parameterCount,
    };
  } finally {
    model.dispose();
  }
}

/**
 * The analytics suite: LSTM autoencoder (window 30 × 38 metrics, 32 units) batched inference per
 * window and training time per epoch on the WASM and CPU backends in the same run, plus the
 * statistical baseline's throughput. The training epoch is measured over a fraction of 20,000
 * windows and extrapolated linearly (the figures say so). The machine is shared: the 1-minute load
 * average is recorded with the figures.
 */
export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const { quick, log } = options;
  const loadBefore = loadavg()[0];
  const result: Record<string, unknown> = { window: WINDOW, features: FEATURES, quick };
  // quick mode only checks the plumbing: 4 units and a handful of windows
  const backends: { name: BackendName; sizes: Sizes }[] = quick
    ? [
        { name: 'wasm', sizes: { inferWindows: 8, trainWindows: 8, reps: 1, units: 4, batchSize: 50 } },
        { name: 'cpu', sizes: { inferWindows: 2, trainWindows: 2, reps: 1, units: 4, batchSize: 50 } },
      ]
    : [
        // the paper's batch size (50) is overhead-bound in tfjs; 500 shows the amortised cost
        { name: 'wasm', sizes: { inferWindows: 1000, trainWindows: 2000, reps: 3, units: 32, batchSize: 50 } },
        { name: 'cpu', sizes: { inferWindows: 100, trainWindows: 200, reps: 2, units: 32, batchSize: 50 } },
      ];
  // statistical baseline: samples per second for one detector over 38 metrics (robust z, window 120)
  const samples = quick ? 200 : 20_000;
  const metrics = Array.from({ length: FEATURES }, (_, j) => `m${j}`);
  const rows = syntheticRows(samples, FEATURES, 5);
  const values = rows.map((r) => Object.fromEntries(metrics.map((m, j) => [m, r[j]])));
  const det = createStatisticalDetector({ metrics });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < samples; i++) det.pushSync({ at: i, values: values[i] });
  const seconds = (performance.now() - t0) / 1000;
  const cpuMicros = (cpuMs(c0) * 1000) / samples;
  result.statistical = { samples, metrics: FEATURES, samplesPerSecond: samples / seconds, microsecondsPerSample: (seconds / samples) * 1e6, cpuMicrosecondsPerSample: cpuMicros };
  log(`statistical: ${(samples / seconds).toFixed(0)} samples/s over ${FEATURES} metrics (${cpuMicros.toFixed(0)} µs CPU per sample)`);
  const figures: Record<string, Record<string, unknown>> = {};
  for (const { name, sizes } of backends) figures[name] = await backendFigures(name, sizes, log);
  if (!quick) figures.wasmBatch500 = await backendFigures('wasm', { inferWindows: 1000, trainWindows: 2000, reps: 1, units: 32, batchSize: 500 }, log);
  result.lstm = figures;
  const wasm = figures.wasm as { batchedInferenceMsPerWindow: number; trainEpochSecondsPer20kWindowsExtrapolated: number };
  const cpu = figures.cpu as { batchedInferenceMsPerWindow: number; trainEpochSecondsPer20kWindowsExtrapolated: number };
  result.ratios = {
    inferenceCpuOverWasm: cpu.batchedInferenceMsPerWindow / wasm.batchedInferenceMsPerWindow,
    trainingCpuOverWasm: cpu.trainEpochSecondsPer20kWindowsExtrapolated / wasm.trainEpochSecondsPer20kWindowsExtrapolated,
  };
  const best = (figures.wasmBatch500 ?? figures.wasm) as { trainEpochSecondsPer20kWindowsExtrapolated: number; trainEpochCpuSecondsPer20kWindowsExtrapolated: number };
  result.targets = {
    wasmInferenceAtMost1MsPerWindow: wasm.batchedInferenceMsPerWindow <= 1,
    wasmEpochOver20kWindowsUnder60sWall: best.trainEpochSecondsPer20kWindowsExtrapolated < 60,
    wasmEpochOver20kWindowsUnder60sCpu: best.trainEpochCpuSecondsPer20kWindowsExtrapolated < 60,
  };

  result.loadAverage1m = { before: loadBefore, after: loadavg()[0] };
  return result;
}
