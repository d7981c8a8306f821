import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRng } from '@sliceguard/core';
import { createSimulatedMano, createTrafficFilter } from '@sliceguard/enforcement';
import { examplePath, loadTopology, type NfSpec } from '@sliceguard/topology';
import {
  createHttpModel,
  emptyFlow,
  evaluate,
  filterGate,
  fixedCapacity,
  type Flow,
  hulk,
  httpUsers,
  manoCapacity,
  OPEN_GATE,
  poisson,
  Recorder,
  renderHtml,
  runScenario,
  SCENARIOS,
  SimulationEngine,
  slowloris,
  topFlows,
  World,
} from '../src/index.js';

const streamer: NfSpec = {
  id: 'streamer',
  type: 'streamer',
  kind: 'cnf',
  metrics: ['cpu_usage', 'load1', 'memory_used', 'net_in_bytes', 'net_out_bytes', 'open_connections', 'http_requests_per_s', 'http_response_ms'],
  replicas: { min: 1, max: 4, initial: 1 },
};

function users(rps: number, n = 100): Flow[] {
  return Array.from({ length: n }, (_, i) => {
    const f = emptyFlow(`10.0.0.${i}`, 'legit', 'users');
    f.rps = rps / n;
    f.holdConnections = 1;
    f.respBytes = 400_000;
    return f;
  });
}

describe('simulations: engine', () => {
  it('runs timers in order on the simulated clock and reports progress', async () => {
    const engine = new SimulationEngine({ seed: 1 });
    const seen: number[] = [];
    engine.at(5000, () => seen.push(engine.elapsed()));
    engine.every(2000, () => seen.push(engine.elapsed()));
    const progress: number[] = [];
    const r = await engine.run(7000, { stepMs: 3000, onProgress: (d) => progress.push(d) });
    assert.deepEqual(seen, [2000, 4000, 5000, 6000]);
    assert.deepEqual(progress, [3000, 6000, 7000]);
    assert.equal(r.simulatedMs, 7000);
  });

  it('paces the simulated clock to the wall clock when asked, and refuses a bad pace', async () => {
    const fast = new SimulationEngine({ seed: 1 });
    const unpaced = await fast.run(4000, { stepMs: 1000 });
    assert.ok(unpaced.wallMs < 100, `unpaced runs as fast as it can (${unpaced.wallMs} ms)`);
    const engine = new SimulationEngine({ seed: 1 });
    const seen: number[] = [];
    engine.every(1000, () => seen.push(engine.elapsed()));
    // 4 s simulated at 20× real time: at least 200 ms of wall time
    const paced = await engine.run(4000, { stepMs: 1000, pace: 20 });
    assert.ok(paced.wallMs >= 190, `paced run took ${paced.wallMs} ms`);
    assert.deepEqual(seen, [1000, 2000, 3000, 4000], 'pacing does not change what happens');
    await assert.rejects(new SimulationEngine({ seed: 1 }).run(1000, { pace: 0 }), /pace must be a positive number/);
  });

  it('forks independent, reproducible random streams and refuses a label twice', () => {
    const a = new SimulationEngine({ seed: 42 }).fork('x');
    const b = new SimulationEngine({ seed: 42 }).fork('x');
    assert.deepEqual([a.next(), a.next()], [b.next(), b.next()]);
    const e = new SimulationEngine({ seed: 42 });
    e.fork('y');
    assert.throws(() => e.fork('y'), /forked twice/);
  });

  it('poisson has the right mean for small and large rates', () => {
    const rng = seededRng(3);
    for (const lambda of [0.5, 4, 200]) {
      let sum = 0;
      for (let i = 0; i < 4000; i++) sum += poisson(rng, lambda);
      assert.ok(Math.abs(sum / 4000 - lambda) < lambda * 0.05 + 0.05, `mean for ${lambda}: ${sum / 4000}`);
    }
  });
});

describe('simulations: HTTP model', () => {
  const step = (model: ReturnType<typeof createHttpModel>, flows: Flow[], replicas = 1, config = {}) =>
    model.step({ now: 0, dtMs: 1000, flows, replicas, config, downstreamLatencyMs: 0 });

  it('response time grows as utilisation nears 1, and scale-out brings it back', () => {
    const model = createHttpModel({ nf: streamer, rng: seededRng(1), noise: 0 });
    const low = step(model, users(100));
    const high = step(createHttpModel({ nf: streamer, rng: seededRng(1), noise: 0 }), users(550));
    assert.ok(high.metrics.http_response_ms > 4 * low.metrics.http_response_ms, `${high.metrics.http_response_ms} vs ${low.metrics.http_response_ms}`);
    assert.ok(high.metrics.cpu_usage > 80 && low.metrics.cpu_usage < 25);
    const scaled = step(createHttpModel({ nf: streamer, rng: seededRng(1), noise: 0 }), users(550), 3);
    assert.ok(scaled.metrics.http_response_ms < 2 * low.metrics.http_response_ms);
  });

  it('a Hulk flood raises requests and CPU; Slowloris raises open connections and latency, not CPU', () => {
    const base = createHttpModel({ nf: streamer, rng: seededRng(1), noise: 0 });
    let normal = step(base, users(120));
    for (let i = 0; i < 30; i++) normal = step(base, users(120));
    const flood = users(120);
    for (let i = 0; i < 20; i++) {
      const f = emptyFlow(`203.0.113.${i}`, 'attack', 'hulk');
      f.rps = 60;
      f.hitProbability = 0;
      f.work = 1.3;
      flood.push(f);
    }
    const h = createHttpModel({ nf: streamer, rng: seededRng(1), noise: 0 });
    let hulkOut = step(h, flood);
    for (let i = 0; i < 5; i++) hulkOut = step(h, flood);
    assert.ok(hulkOut.metrics.http_requests_per_s > 2.5 * normal.metrics.http_requests_per_s);
    assert.ok(hulkOut.metrics.cpu_usage > 90);
    assert.ok(hulkOut.legit.latencyMs > 10 * normal.legit.latencyMs);
    assert.equal(topFlows(hulkOut.flowStats.build(), hulkOut.flowStats.keys, 10)[0].key.startsWith('203.0.113.'), true, 'heavy hitters lead the per-flow statistics');

    const slow = users(120);
    for (let i = 0; i < 2; i++) {
      const f = emptyFlow(`198.18.7.${i}`, 'attack', 'slowloris');
      f.slow = true;
      f.holdConnections = 1500;
      slow.push(f);
    }
    const s = createHttpModel({ nf: streamer, rng: seededRng(1), noise: 0 });
    let slowOut = step(s, slow);
    for (let i = 0; i < 60; i++) slowOut = step(s, slow);
    assert.ok(slowOut.metrics.open_connections > 900, `open connections ${slowOut.metrics.open_connections}`);
    assert.ok(slowOut.metrics.cpu_usage < normal.metrics.cpu_usage + 10, 'Slowloris does not load the CPU');
    assert.ok(slowOut.legit.latencyMs > 20 * normal.legit.latencyMs, `legit latency ${slowOut.legit.latencyMs}`);
    // the NGINX-style fix: short header timeout and a per-source connection cap
    let fixed = slowOut;
    for (let i = 0; i < 30; i++) fixed = step(s, slow, 1, { headerTimeoutMs: 5000, maxConnectionsPerSource: 20 });
    assert.ok(fixed.metrics.open_connections < 400, `open connections after hardening ${fixed.metrics.open_connections}`);
    assert.ok(fixed.legit.latencyMs < 2 * normal.legit.latencyMs);
  });
});

describe('simulations: world', () => {
  it('obeys the traffic filter: blocking the Hulk sources restores legitimate latency', async () => {
    const topology = await loadTopology(examplePath('vcdn-edge'));
    const engine = new SimulationEngine({ seed: 7 });
    const filter = createTrafficFilter({ clock: engine.clock });
    const h = hulk(engine.fork('hulk'), engine.startMs, { id: 'h', targets: ['streamer'], startMs: 60_000, durationMs: 600_000 });
    const world = new World({ engine, topology, gate: filterGate(filter), capacity: fixedCapacity(), generators: [httpUsers(engine.fork('u'), { targets: ['streamer'] }), h.generator] });
    const latency: number[] = [];
    world.onTick((nf, truth) => {
      if (nf === 'streamer') latency.push(truth.legit.latencyMs);
    });
    world.start();
    await engine.run(55_000);
    const before = latency.at(-1)!;
    await engine.run(90_000);
    const during = latency.at(-1)!;
    assert.ok(during > 20 * before, `${during} vs ${before}`);
    const sample = world.sample('streamer', { windowMs: 5000, perFlow: true });
    assert.ok(sample.flows && sample.flows.length > 0);
    for (const source of h.window.sources) await filter.execute({ id: `b-${source}`, type: 'block', target: 'streamer', params: { source }, requestedBy: 'test', at: engine.now() });
    await engine.run(120_000);
    assert.ok(latency.at(-1)! < 2 * before, `after blocking: ${latency.at(-1)} vs ${before}`);
    world.stop();
  });

  it('obeys the MANO: a scale-out raises capacity after the MANO delay', async () => {
    const topology = await loadTopology(examplePath('vcdn-edge'));
    const engine = new SimulationEngine({ seed: 7 });
    const mano = createSimulatedMano({ clock: engine.clock, nfs: [
        { id: 'streamer', replicas: { min: 1, max: 4, initial: 1 } },
        { id: 'cache', replicas: { min: 1, max: 3, initial: 1 } },
      ],
      autoscaler: false, });
    const world = new World({ engine, topology, gate: OPEN_GATE, capacity: manoCapacity(mano), generators: [httpUsers(engine.fork('u'), { targets: ['streamer'], meanRps: 520, pattern: { amplitude: 0 } })] });
    world.start();
    await engine.run(60_000);
    const cpuBefore = world.sample('streamer', { windowMs: 10_000 }).values.cpu_usage;
    void mano.execute({ id: 's1', type: 'scale_out', target: 'streamer', params: { count: 1 }, requestedBy: 'test', at: engine.now() });
    await engine.run(90_000);
    const cpuAfter = world.sample('streamer', { windowMs: 10_000 }).values.cpu_usage;
    assert.equal(mano.state('streamer').replicas, 2);
    assert.ok(cpuAfter < 0.7 * cpuBefore, `${cpuAfter} vs ${cpuBefore}`);
    world.stop();
  });
});

describe('simulations: evaluation and report', () => {
  it('scores detections against the ground truth windows', () => {
    const rec = new Recorder(0, 5000);
    for (let t = 5; t <= 600; t += 5) {
      const attack = t > 300 && t <= 400;
      rec.series.set('nf', [...(rec.series.get('nf') ?? []), { t, metrics: { x: attack ? 10 : 1 }, legitLatencyMs: attack && t < 330 ? 500 : 20, legitOffered: 100, legitFailed: 0, legitFiltered: 0, attackOffered: attack ? 50 : 0, attackAdmitted: attack && t < 330 ? 50 : 0 }]);
      rec.onVerdict('nf', { at: t * 1000, score: attack ? 9 : 1, threshold: 5, anomalous: attack && t >= 310 && t < 330, contributors: [], window: { start: 0, end: 0 } });
    }
    const f = evaluate(rec, { windows: [{ id: 'a', kind: 'hulk', cls: 'attack', targets: ['nf'], startMs: 300_000, endMs: 400_000, sources: ['1.2.3.4'] }], samplingPeriodMs: 5000 });
    const w = f.windows[0];
    assert.equal(w.detected, true);
    assert.equal(w.timeToDetectS, 10);
    assert.equal(w.timeToDetectPeriods, 2);
    assert.equal(w.timeToMitigateS, 20);
    assert.equal(f.detection.falsePositives, 0);
    assert.equal(f.detection.truePositives, 4);
    assert.equal(f.detection.falseNegatives, 1);
    assert.equal(f.detection.recall, 0.8);
    assert.equal(f.detection.episodes, 1);
    assert.equal(f.detection.attackRecall, 1);
  });

  it('every scenario has a unique name, a summary and checks', () => {
    assert.equal(new Set(SCENARIOS.map((s) => s.name)).size, SCENARIOS.length);
    assert.ok(SCENARIOS.length >= 8);
    for (const s of SCENARIOS) assert.ok(s.summary.length > 20);
  });

  it('a short unprotected run is deterministic for a seed and writes report.json, report.html and run.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-sim-'));
    try {
      const a = await runScenario('flash-crowd', { seed: 5, short: true, outDir: join(dir, 'a') });
      await runScenario('flash-crowd', { seed: 5, short: true, outDir: join(dir, 'b') });
      assert.equal(readFileSync(join(dir, 'a', 'report.json'), 'utf8'), readFileSync(join(dir, 'b', 'report.json'), 'utf8'));
      const c = await runScenario('flash-crowd', { seed: 6, short: true });
      assert.notDeepEqual(c.report.series.streamer.slice(0, 10), a.report.series.streamer.slice(0, 10));
      assert.equal(a.report.security, 'none');
      assert.ok(a.report.series.streamer.length > 100);
      const html = readFileSync(join(dir, 'a', 'report.html'), 'utf8');
      assert.match(html, /<svg/);
      assert.match(html, /flash-crowd-1/);
      assert.equal(renderHtml(a.report), html);
      assert.ok(a.run.speedup > 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown scenario with the list of known ones', async () => {
    await assert.rejects(runScenario('nope'), (e: Error & { code?: string }) => e.code === 'SIM_ERR_UNKNOWN_SCENARIO');
  });

  it('slowloris generator holds connections and no requests', () => {
    const engine = new SimulationEngine({ seed: 1 });
    const s = slowloris(engine.fork('s'), engine.startMs, { id: 's', targets: ['x'], startMs: 0, durationMs: 10_000 });
    const flows = s.generator.flows('x', engine.startMs + 1000, 1000);
    assert.equal(flows.length, 2);
    assert.ok(flows.every((f) => f.slow && f.rps === 0 && f.holdConnections > 0));
    assert.deepEqual(s.generator.flows('x', engine.startMs + 20_000, 1000), []);
  });
});
