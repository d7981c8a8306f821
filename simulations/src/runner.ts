import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Logger, silentLogger } from '@sliceguard/core';
import { examplePath, loadTopology, resolveAgents } from '@sliceguard/topology';
import { type CapacityView, capacityOf, type TrafficGate } from './control.js';
import { SimulationEngine } from './engine.js';
import { SimulationRunError, UnknownScenarioError } from './errors.js';
import { evaluate } from './evaluate.js';
import { FAULT_KINDS, noSecurityLayer, type SecurityLayer, type SecurityLayerFactory } from './layer.js';
import { Recorder } from './recorder.js';
import { renderHtml } from './report/html.js';
import type { RunInfo, SimulationReport } from './report/model.js';
import { findScenario, SCENARIO_NAMES, type ScenarioDefinition } from './scenarios.js';
import { World } from './world.js';

export interface RunScenarioOptions {
  /** Seed of every random stream. Default 1. */
  seed?: number | string;
  /** The short mode of the scenario (tests, quick looks): shorter phases, same story. */
  short?: boolean;
  /** Directory for report.json, report.html and run.json; nothing is written when absent. */
  outDir?: string;
  /** The loops (default: none, the unprotected baseline; the CLI passes `agentsSecurityLayer()`). */
  security?: SecurityLayerFactory;
  logger?: Logger;
  /** Progress in simulated ms (for a progress bar). */
  onProgress?: (doneMs: number, totalMs: number, phase: string) => void;
  signal?: AbortSignal;
  /** Simulated time per engine step between progress reports. Default 60 s. */
  /** Real-time pacing (simulated ms per wall ms; 1 = real time). Steps become 1 s. */
  pace?: number;
  stepMs?: number;
}

export interface ScenarioResult {
  report: SimulationReport;
  run: RunInfo;
  files?: { json: string; html: string; run: string };
}

/**
 * Runs one scenario end to end on a simulated clock: builds the topology's world, starts the
 * security layer, runs the training phase, ends training (e.g. LSTM fit), runs the attacks, then
 * evaluates and writes the report. Deterministic for a seed (report.json is byte-identical).
 */
export async function runScenario(scenario: string | ScenarioDefinition, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const def = typeof scenario === 'string' ? findScenario(scenario) : scenario;
  if (!def) throw new UnknownScenarioError(String(scenario), SCENARIO_NAMES);
  const seed = options.seed ?? 1;
  const short = options.short ?? false;
  const logger = (options.logger ?? silentLogger()).child({ module: 'simulation', scenario: def.name });
  const wall0 = performance.now();

  const topologyFile = examplePath(def.topology);
  const topology = await loadTopology(topologyFile);
  const agents = resolveAgents(topology);
  const engine = new SimulationEngine({ seed });
  const setup = def.build({ engine, topology, short });
  const samplingPeriodMs = def.samplingPeriodMs ?? 5000;
  const recorder = new Recorder(engine.startMs, samplingPeriodMs);

  // the world reads the layer's enforcement points, which exist once the layer is built
  let layer: SecurityLayer | undefined;
  const gate: TrafficGate = { verdict: (nf, source, now) => layer!.gate.verdict(nf, source, now) };
  const capacity: CapacityView = {
    replicas: (nf) => layer!.capacity.replicas(nf),
    vsfs: (nf) => layer!.capacity.vsfs(nf),
    config: (nf) => layer!.capacity.config(nf),
    isolated: (nf) => layer!.capacity.isolated(nf),
    reportUtilisation: (nf, u) => layer!.capacity.reportUtilisation?.(nf, u),
    snapshot: (nf) => capacityOf(layer!.capacity, nf),
  };
  const world = new World({ engine, topology, gate, capacity, generators: setup.generators, modelOverrides: setup.modelOverrides });
  recorder.attach(world);
  const factory = options.security ?? noSecurityLayer();
  layer = await factory({
    engine,
    topology,
    agents,
    feed: world,
    recorder,
    samplingPeriodMs,
    trainingEndMs: setup.trainingMs,
    rng: engine.fork('security'),
    logger,
    detector: def.detector ?? 'statistical',
    autoscaler: def.autoscaler ?? true,
    federated: def.federated ?? false,
    brokers: def.brokers ?? 'local',
    seed,
    topologyFile,
  });

  for (const fault of setup.faults ?? []) {
    if (!(FAULT_KINDS as readonly string[]).includes(fault.kind)) throw new SimulationRunError(`unknown fault kind ${fault.kind}`);
    engine.at(fault.atMs, () => {
      const handler = layer?.faults?.[fault.kind];
      if (!handler) {
        recorder.onFault(fault.kind, fault.target, engine.now(), `skipped: the ${layer?.name} security layer does not support ${fault.kind}`);
        return;
      }
      handler(fault).then(
        (detail) => recorder.onFault(fault.kind, fault.target, engine.now(), detail),
        (error) => recorder.onFault(fault.kind, fault.target, engine.now(), `failed: ${(error as Error)?.message ?? error}`),
      );
    });
  }
  const observer = layer.observe ? engine.every(samplingPeriodMs, () => layer?.observe?.()) : undefined;

  world.start();
  let fired = 0;
  try {
    await layer.start();
    const progress = (phase: string) => (done: number) => options.onProgress?.(done, setup.durationMs, phase);
    const settle = layer.settle ? () => layer!.settle!() : undefined;
    const stepMs = settle || options.pace !== undefined ? 1000 : options.stepMs;
    const pace = options.pace;
    const first = await engine.run(setup.trainingMs, { stepMs, settle, pace, signal: options.signal, onProgress: progress('normal traffic (training)') });
    fired += first.timersFired;
    if (layer.endTraining) {
      options.onProgress?.(setup.trainingMs, setup.durationMs, 'fitting detectors');
      await layer.endTraining();
    }
    const second = await engine.run(setup.durationMs, { stepMs, settle, pace, signal: options.signal, onProgress: progress('scenario') });
    fired += second.timersFired;
  } finally {
    observer?.cancel();
    world.stop();
    await layer.stop();
  }

  const firstTarget = setup.windows[0]?.targets[0];
  const slice = firstTarget ? topology.domains.flatMap((d) => d.slices).find((s) => s.subslices.some((ss) => ss.nfs.some((n) => n.id === firstTarget))) : undefined;
  const figures = evaluate(recorder, { windows: setup.windows, samplingPeriodMs, ssla: slice?.ssla });
  const partial: Omit<SimulationReport, 'checks'> = {
    scenario: def.name,
    summary: def.summary,
    seed,
    short,
    topology: def.topology,
    security: layer.name,
    simulatedS: setup.durationMs / 1000,
    samplingPeriodS: samplingPeriodMs / 1000,
    windows: setup.windows.map((w) => ({
      id: w.id,
      kind: w.kind,
      cls: w.cls,
      targets: w.targets,
      ...(w.impact ? { impact: w.impact } : {}),
      startS: w.startMs / 1000,
      endS: w.endMs / 1000,
      sources: w.sources.length,
    })),
    figures,
    series: Object.fromEntries(recorder.series),
    verdicts: recorder.verdicts,
    events: recorder.events,
    actions: [...recorder.actions].sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1)),
    messages: recorder.messages,
    trust: recorder.trust,
    flRounds: recorder.flRounds,
    faults: recorder.faults,
    notes: recorder.notes,
  };
  const report: SimulationReport = { ...partial, checks: def.checks(figures, partial) };
  const wallMs = performance.now() - wall0;
  const run: RunInfo = {
    scenario: def.name,
    seed,
    wallMs: Math.round(wallMs),
    simulatedMs: setup.durationMs,
    speedup: Math.round(setup.durationMs / Math.max(1, wallMs)),
    timersFired: fired,
    node: process.version,
  };
  logger.info({ wallMs: run.wallMs, checks: report.checks.map((c) => `${c.name}: ${c.pass}`) }, 'scenario finished');
  if (!options.outDir) return { report, run };
  const dir = resolve(options.outDir);
  await mkdir(dir, { recursive: true });
  const files = { json: join(dir, 'report.json'), html: join(dir, 'report.html'), run: join(dir, 'run.json') };
  await writeFile(files.json, `${JSON.stringify(report, null, 1)}\n`);
  await writeFile(files.html, renderHtml(report));
  await writeFile(files.run, `${JSON.stringify(run, null, 2)}\n`);
  return { report, run, files };
}
