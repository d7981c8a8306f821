import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, FlatWeights, TrainableModel } from '@sliceguard/core';
import { seededRng } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import { createDomainAuthority, defaultScopes } from '@sliceguard/identity';
import { openLevelKv } from '@sliceguard/store';
import { startNatsServer } from '@sliceguard/test-utils';
import { aggregatorFromSpec, type WeightedUpdate } from './aggregators.js';
import { type FederatedClient, createFederatedClient } from './client.js';
import { createCoordinator } from './coordinator.js';

export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
  /** Client counts of the NATS rounds. Default [10, 50, 100] ([10] when quick). */
  sizes?: number[];
  /** Rounds per size (median reported). Default 3 (1 when quick). */
  rounds?: number;
}

/**
 * A model whose local training costs nothing: the benchmark measures the protocol (announce, signed
 * updates over NATS, aggregation, LevelDB commit, signed global, installs), not the learning.
 */
function instantModel(parameters: number, seed: number): TrainableModel {
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function roundOverNats(clientsCount: number, parameters: number, rounds: number, log: (l: string) => void): Promise<Record<string, number>> {
  const server = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'sg-fl-bench-'));
  const authority = createDomainAuthority('bench');
  const trustStore = authority.trustStore();
  const buses: Bus[] = [];
  const clients: FederatedClient[] = [];
  const kv = await openLevelKv(join(dir, 'coordinator'));
  try {
    const coordinatorBus = await connectNatsBus({ servers: server.url, identity: authority.issue({ agentId: 'bench:fl', level: 'coordinator' }), trustStore });
    buses.push(coordinatorBus);
    const initial = instantModel(parameters, 0).getWeights();
    const coordinator = createCoordinator({
      bus: coordinatorBus,
      domain: 'bench',
      kv,
      models: [{ name: 'm', initial, aggregator: aggregatorFromSpec('fedavg') }],
      minClients: clientsCount,
      roundTimeoutMs: 60_000,
    });
    await coordinator.start();
    const installed = new Map<number, number>();
    const rows = [new Float32Array(1)];
    for (let i = 0; i < clientsCount; i++) {
      const placement = { domain: 'bench', slice: 's', subslice: 'edge', nf: `nf${i}` };
      const identity = authority.issue({ agentId: `bench:nf${i}`, level: 'nf', ...placement, scopes: [...defaultScopes('nf', placement), 'sg.bench._fl.*.join', 'sg.bench._fl.*.update'] });
      const bus = await connectNatsBus({ servers: server.url, identity, trustStore });
      buses.push(bus);
      const client = createFederatedClient({ bus, domain: 'bench', model: 'm', trainable: instantModel(parameters, i + 1), data: () => rows, heartbeatMs: 1000 });
      client.onEvent((e) => {
        if (e.type === 'installed') installed.set(e.version, (installed.get(e.version) ?? 0) + 1);
      });
      await client.start();
      clients.push(client);
    }
    const joinDeadline = Date.now() + 30_000;
    while (coordinator.clients('m').length < clientsCount && Date.now() < joinDeadline) await new Promise((r) => setTimeout(r, 20));
    // clients first install version 1 (the newcomer broadcast) before the timed rounds
    while ((installed.get(1) ?? 0) < clientsCount && Date.now() < joinDeadline) await new Promise((r) => setTimeout(r, 20));
    const roundMs: number[] = [];
    const installMs: number[] = [];
    const cpuMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const report = await coordinator.runRound('m');
      const t1 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      cpuMs.push((cpu.user + cpu.system) / 1000);
      if (report.outcome !== 'published' || report.accepted.length !== clientsCount) {
        throw new Error(`bench round ${r + 1} with ${clientsCount} clients: ${report.outcome}, ${report.accepted.length} accepted (${report.reason ?? ''})`);
      }
      const deadline = Date.now() + 30_000;
      while ((installed.get(report.version!) ?? 0) < clientsCount && Date.now() < deadline) await new Promise((res) => setImmediate(res));
      roundMs.push(t1 - t0);
      installMs.push(performance.now() - t0);
    }
    const result = {
      clients: clientsCount,
      parameters,
      rounds,
      roundMsMedian: Math.round(median(roundMs)),
      roundMsMax: Math.round(Math.max(...roundMs)),
      allInstalledMsMedian: Math.round(median(installMs)),
      // CPU time of this process during the round: coordinator and all in-process clients together
      roundCpuMsMedian: Math.round(median(cpuMs)),
      loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
      updateBytes: parameters * 4,
    };
    log(`${clientsCount} clients × ${parameters} params: round ${result.roundMsMedian} ms (median of ${rounds}; CPU ${result.roundCpuMsMedian} ms), all installed ${result.allInstalledMsMedian} ms, load ${result.loadAverage1m}`);
    await coordinator.stop();
    return result;
  } finally {
    for (const c of clients) await c.stop();
    for (const b of buses) await b.close();
    await kv.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function aggregatorTimes(clientsCount: number, parameters: number, repeats: number, log: (l: string) => void): Record<string, number> {
  const rng = seededRng('agg-bench');
  const global = Float32Array.from({ length: parameters }, () => rng.normal(0, 0.1));
  const updates: WeightedUpdate[] = Array.from({ length: clientsCount }, (_, k) => ({
    clientId: `c${k}`,
    values: global.map((g) => g + rng.normal(0, 0.01)),
    samples: 100 + k,
  }));
  const trust = { score: () => 0.8, weight: () => 1, isQuarantined: () => false };
  const specs = ['fedavg', 'median', 'trimmed-mean:0.2', 'krum', 'multi-krum', 'clip+fedavg', 'trust', 'trust-filter+clip+median'];
  const out: Record<string, number> = {};
  for (const spec of specs) {
    const agg = aggregatorFromSpec(spec);
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      agg.aggregate(updates, { global, trust });
      times.push(performance.now() - t0);
    }
    out[spec] = Math.round(median(times) * 10) / 10;
  }
  log(`aggregators (${clientsCount} updates × ${parameters} params, ms): ${Object.entries(out).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return out;
}

/** Suite `federation` of `sliceguard bench`. */
export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const parameters = options.quick ? 5_000 : 50_000;
  const sizes = options.sizes ?? (options.quick ? [10] : [10, 50, 100]);
  const rounds: Record<string, unknown>[] = [];
  for (const n of sizes) rounds.push(await roundOverNats(n, parameters, options.rounds ?? (options.quick ? 1 : 3), options.log));
  const aggregators = aggregatorTimes(options.quick ? 10 : 100, parameters, options.quick ? 1 : 3, options.log);
  const at100 = rounds.find((r) => r.clients === 100) as { roundMsMedian: number } | undefined;
  return {
    roundOverNats: rounds,
    aggregatorMs: { updates: options.quick ? 10 : 100, parameters, ...aggregators },
    target: at100 ? { roundUnder1sWith100Clients: at100.roundMsMedian < 1000, roundMs: at100.roundMsMedian } : undefined,
  };
}
