import type { Rng } from '@sliceguard/core';
import { seededRng } from '@sliceguard/core';
import type { LabeledDataset } from './data.js';
import { InvalidFederationOptionsError } from './errors.js';

/**
 * NF metric series from the simulations package (`@sliceguard/simulations`) as labelled data sets for
 * the federation evaluation: one simulated vCDN edge slice with `nfs` streamers, each with its own
 * viewer population (mean request rate, number of viewers, peak hour, cache-hit share: the clients
 * are non-IID by workload), no security loops, an open traffic gate and fixed capacity (nothing
 * mitigates, so an attack lasts its whole window). A training phase of normal traffic, then a test
 * phase in which every streamer receives a Hulk flood, a Slowloris attack and a volumetric DoS at
 * seeded times and intensities. The NF's metrics are sampled every `samplingPeriodMs` (averaged over
 * the period, as the NF agents' collector does); a test sample is labelled anomalous when attack
 * traffic reached that NF during its period (the world's ground truth, never shown to detectors).
 *
 * The simulations package depends on this one, so it is imported at run time (it must be built:
 * `npx tsc -b simulations`); nothing here is loaded unless the `sim` group is asked for.
 */
export interface SimDatasetsOptions {
  /** Streamers (= data sets; one client each in the evaluation). Default 10. */
  nfs?: number;
  seed?: number | string;
  /** Normal traffic only (training rows). Default 2 h. */
  trainingMs?: number;
  /** Attacks (test rows). Default 1 h. */
  testMs?: number;
  /** Length of the compressed daily demand cycle, so training and test both span whole cycles. Default 1 h. */
  dayMs?: number;
  /** Metric sampling period. Default 5 s (the NF loops' period). */
  samplingPeriodMs?: number;
}

export interface SimDatasets {
  datasets: LabeledDataset[];
  /** Per streamer: its workload and attack windows (offsets from the start of the test phase, s). */
  nfs: Array<{ id: string; meanRps: number; viewers: number; peakHour: number; hitProbability: number; attacks: Array<{ kind: string; startS: number; endS: number; intensity: string }> }>;
  settings: Required<Omit<SimDatasetsOptions, 'seed'>> & { seed: number | string };
}

interface Flow {
  rps: number;
}
interface Generator {
  id: string;
  targets: readonly string[];
  flows(nf: string, now: number, dtMs: number): Flow[];
}
interface AttackBuild {
  generator: Generator;
  window: { startMs: number; endMs: number };
}
interface Engine {
  startMs: number;
  /** Milliseconds since the start of the run. */
  elapsed(): number;
  fork(label: string): Rng;
  every(periodMs: number, fn: () => void, firstOffsetMs?: number): { cancel(): void };
  run(untilOffsetMs: number, options?: { stepMs?: number }): Promise<unknown>;
}
interface WorldLike {
  start(): void;
  stop(): void;
  metrics(nf: string): readonly string[];
  onTick(listener: (nf: string, truth: { attackAdmitted: number }) => void): void;
  sample(nf: string, options?: { windowMs?: number }): { values: Readonly<Record<string, number>> };
}
/** The part of @sliceguard/simulations used here. */
interface SimulationsApi {
  SimulationEngine: new (o: { seed: number | string }) => Engine;
  World: new (o: { engine: Engine; topology: unknown; gate: unknown; capacity: unknown; generators: Generator[] }) => WorldLike;
  OPEN_GATE: unknown;
  fixedCapacity(): unknown;
  httpUsers(rng: Rng, o: { id: string; targets: string[]; sources: number; meanRps: number; prefix: string; hitProbability: number; pattern: { dayMs: number; peakHour: number } }): Generator;
  hulk(rng: Rng, runStartMs: number, o: { id: string; targets: string[]; startMs: number; durationMs: number; bots: number; prefix: string }): AttackBuild;
  slowloris(rng: Rng, runStartMs: number, o: { id: string; targets: string[]; startMs: number; durationMs: number; connectionsPerHost: number; prefix: string }): AttackBuild;
  volumetricDos(rng: Rng, runStartMs: number, o: { id: string; targets: string[]; startMs: number; durationMs: number; totalMbps: number; prefix: string }): AttackBuild;
}
interface TopologyApi {
  parseTopology(text: string, file?: string): unknown;
}

// held in variables so that the compiler does not follow them (simulations depends on this package)
const SIMULATIONS_MODULE = '@sliceguard/simulations';
const TOPOLOGY_MODULE = '@sliceguard/topology';

async function loadSimulations(): Promise<{ sim: SimulationsApi; topo: TopologyApi }> {
  try {
    const sim = (await import(SIMULATIONS_MODULE)) as SimulationsApi;
    const topo = (await import(TOPOLOGY_MODULE)) as TopologyApi;
    return { sim, topo };
  } catch (cause) {
    throw new InvalidFederationOptionsError(`the sim group needs @sliceguard/simulations and @sliceguard/topology built (npx tsc -b simulations): ${(cause as Error)?.message ?? cause}`, {});
  }
}

const MIN = 60_000;

export async function simulateNfDatasets(options: SimDatasetsOptions = {}): Promise<SimDatasets> {
  const settings = {
    nfs: options.nfs ?? 10,
    seed: options.seed ?? 1,
    trainingMs: options.trainingMs ?? 120 * MIN,
    testMs: options.testMs ?? 60 * MIN,
    dayMs: options.dayMs ?? 60 * MIN,
    samplingPeriodMs: options.samplingPeriodMs ?? 5000,
  };
  if (!(Number.isInteger(settings.nfs) && settings.nfs >= 1) || !(settings.testMs >= 6 * MIN) || !(settings.trainingMs > 0) || !(settings.samplingPeriodMs >= 1000)) {
    throw new InvalidFederationOptionsError('sim data: nfs ≥ 1, testMs ≥ 6 min, trainingMs > 0 and samplingPeriodMs ≥ 1 s are required', { ...settings });
  }
  const { sim, topo } = await loadSimulations();
  const ids = Array.from({ length: settings.nfs }, (_, k) => `streamer-${k + 1}`);
  const yaml = [
    'version: 1',
    'domains:',
    '  - id: eval',
    '    slices:',
    '      - id: vcdn',
    '        subslices:',
    '          - id: edge',
    '            kind: edge',
    '            nfs:',
    ...ids.map((id) => `              - { id: ${id}, type: streamer }`),
    '',
  ].join('\n');
  const topology = topo.parseTopology(yaml, 'federation-eval-sim.yaml');
  const engine = new sim.SimulationEngine({ seed: settings.seed });
  const plan = seededRng(`${settings.seed}:sim-plan`);
  const generators: Generator[] = [];
  const info: SimDatasets['nfs'] = [];
  const windows = new Map<string, Array<[number, number]>>();
  const slots = 6;
  const slotMs = settings.testMs / slots;
  ids.forEach((id, k) => {
    // non-IID demand: each streamer serves its own audience
    const meanRps = Math.round(40 + plan.next() * 160);
    const viewers = 40 + plan.int(120);
    const peakHour = Math.round(plan.next() * 24 * 10) / 10;
    const hitProbability = Math.round((0.85 + plan.next() * 0.12) * 100) / 100;
    generators.push(
      sim.httpUsers(engine.fork(`users:${id}`), { id: `users-${id}`, targets: [id], sources: viewers, meanRps, prefix: `10.${20 + k}`, hitProbability, pattern: { dayMs: settings.dayMs, peakHour } }),
    );
    // three attacks in three of the test phase's slots 1..5 (slot 0 stays normal), seeded times and intensities
    const free = [1, 2, 3, 4, 5];
    for (let i = free.length - 1; i > 0; i--) {
      const j = plan.int(i + 1);
      [free[i], free[j]] = [free[j], free[i]];
    }
    const attacks: SimDatasets['nfs'][number]['attacks'] = [];
    const spans: Array<[number, number]> = [];
    (['hulk', 'slowloris', 'volumetric-dos'] as const).forEach((kind, a) => {
      const durationMs = Math.round((0.25 + plan.next() * 0.35) * slotMs / 1000) * 1000;
      const offset = settings.trainingMs + free[a] * slotMs + Math.round((plan.next() * (slotMs - durationMs)) / 1000) * 1000;
      const base = { id: `${kind}-${id}`, targets: [id], startMs: offset, durationMs };
      let built: AttackBuild;
      let intensity: string;
      if (kind === 'hulk') {
        const bots = 3 + plan.int(18);
        built = sim.hulk(engine.fork(`hulk:${id}`), engine.startMs, { ...base, bots, prefix: `203.0.${k + 1}` });
        intensity = `${bots} bots`;
      } else if (kind === 'slowloris') {
        const connectionsPerHost = 300 + plan.int(1200);
        built = sim.slowloris(engine.fork(`slowloris:${id}`), engine.startMs, { ...base, connectionsPerHost, prefix: `198.18.${k + 1}` });
        intensity = `2 × ${connectionsPerHost} connections`;
      } else {
        const totalMbps = 200 + plan.int(1300);
        built = sim.volumetricDos(engine.fork(`volumetric:${id}`), engine.startMs, { ...base, totalMbps, prefix: `192.0.${k + 1}` });
        intensity = `${totalMbps} Mbit/s`;
      }
      generators.push(built.generator);
      spans.push([built.window.startMs, built.window.endMs]);
      attacks.push({ kind, startS: (offset - settings.trainingMs) / 1000, endS: (offset + durationMs - settings.trainingMs) / 1000, intensity });
    });
    windows.set(id, spans);
    info.push({ id, meanRps, viewers, peakHour, hitProbability, attacks: attacks.sort((x, y) => x.startS - y.startS) });
  });

  const world = new sim.World({ engine, topology, gate: sim.OPEN_GATE, capacity: sim.fixedCapacity(), generators });
  const attackSeen = new Map(ids.map((id) => [id, 0]));
  world.onTick((nf, truth) => attackSeen.set(nf, (attackSeen.get(nf) ?? 0) + truth.attackAdmitted));
  const metrics = [...world.metrics(ids[0])];
  const series = new Map(ids.map((id) => [id, { train: [] as Float32Array[], test: [] as Float32Array[], labels: [] as number[] }]));
  const p = settings.samplingPeriodMs;
  // samples half a second after the ticks (which fire on whole seconds): a sample covers exactly the
  // ticks of its period, and so does its label
  engine.every(
    p,
    () => {
      const at = engine.elapsed();
      for (const id of ids) {
        const s = world.sample(id, { windowMs: p });
        const row = Float32Array.from(metrics, (m) => s.values[m] ?? 0);
        const out = series.get(id)!;
        const attacked = (attackSeen.get(id) ?? 0) > 0;
        attackSeen.set(id, 0);
        if (at <= settings.trainingMs) {
          out.train.push(row);
        } else {
          out.test.push(row);
          out.labels.push(attacked ? 1 : 0);
        }
      }
    },
    p + 500,
  );
  world.start();
  await engine.run(settings.trainingMs + settings.testMs, { stepMs: 10 * MIN });
  world.stop();
  const datasets: LabeledDataset[] = ids.map((id) => {
    const s = series.get(id)!;
    return { name: id, metrics, train: s.train, test: s.test, labels: Uint8Array.from(s.labels) };
  });
  for (const ds of datasets) {
    const spans = windows.get(ds.name)!;
    if (ds.labels.every((l) => l === 0) || spans.length === 0) {
      throw new InvalidFederationOptionsError(`sim data: ${ds.name} has no attacked test sample; the test phase is too short`, { nf: ds.name });
    }
  }
  return { datasets, nfs: info, settings };
}
