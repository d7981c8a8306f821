import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seededRng, toHex } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import { createDomainAuthority, generateKeyPair } from '@sliceguard/identity';
import { openLevelKv } from '@sliceguard/store';
import { startNatsServer } from '@sliceguard/test-utils';
import { aggregatorFromSpec, type WeightedUpdate } from './aggregators.js';
import { instantModel } from './bench-model.js';
import { createCoordinator } from './coordinator.js';

export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
  /** Client counts of the NATS rounds. Default [10, 50, 100] ([10] when quick). */
  sizes?: number[];
  /** Rounds per size (median reported). Default 3 (1 when quick). */
  rounds?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function roundOverNats(clientsCount: number, parameters: number, rounds: number, log: (l: string) => void): Promise<Record<string, number>> {
  const server = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'sg-fl-bench-'));
  const authorityKey = generateKeyPair();
  const authority = createDomainAuthority('bench', { keyPair: authorityKey });
  const kv = await openLevelKv(join(dir, 'coordinator'));
  // the clients live in another process, as they would on other hosts: this process measures the coordinator
  const child = fork(fileURLToPath(new URL('./bench-clients.js', import.meta.url)), [
    JSON.stringify({ url: server.url, clients: clientsCount, parameters, authoritySeed: toHex(authorityKey.secretKey) }),
  ]);
  const installed = new Map<number, number>();
  let ready = false;
  child.on('message', (m: { type: string; version?: number; count?: number }) => {
    if (m.type === 'ready') ready = true;
    if (m.type === 'installed' && m.version !== undefined && m.count !== undefined) installed.set(m.version, m.count);
  });
  const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`federation bench: timed out waiting for ${what}`);
      if (child.exitCode !== null) throw new Error(`federation bench: client process exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const coordinatorBus = await connectNatsBus({ servers: server.url, identity: authority.issue({ agentId: 'bench:fl', level: 'coordinator' }), trustStore: authority.trustStore() });
  try {
    const coordinator = createCoordinator({
      bus: coordinatorBus,
      domain: 'bench',
      kv,
      models: [{ name: 'm', initial: instantModel(parameters, 0).getWeights(), aggregator: aggregatorFromSpec('fedavg') }],
      minClients: clientsCount,
      roundTimeoutMs: 60_000,
    });
    await coordinator.start();
    await until(() => ready && coordinator.clients('m').length >= clientsCount, 120_000, 'clients to join');
    await until(() => (installed.get(1) ?? 0) >= clientsCount, 60_000, 'version 1 installed');
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
      await until(() => (installed.get(report.version!) ?? 0) >= clientsCount, 60_000, `version ${report.version} installed`);
      roundMs.push(t1 - t0);
      installMs.push(performance.now() - t0);
    }
    const result = {
      clients: clientsCount,
      parameters,
      rounds,
      roundMsMedian: Math.round(median(roundMs)),
      roundMsMin: Math.round(Math.min(...roundMs)),
      allInstalledMsMedian: Math.round(median(installMs)),
      // CPU time of the coordinator process during the round (clients run in another process)
      coordinatorCpuMsMedian: Math.round(median(cpuMs)),
      loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
      updateBytes: parameters * 4,
    };
    log(
      `${clientsCount} clients × ${parameters} params: round ${result.roundMsMedian} ms (median of ${rounds}, min ${result.roundMsMin}; coordinator CPU ${result.coordinatorCpuMsMedian} ms), all installed ${result.allInstalledMsMedian} ms, load ${result.loadAverage1m}`,
    );
    await coordinator.stop();
    return result;
  } finally {
    if (child.connected) child.send({ type: 'stop' });
    await new Promise<void>((r) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      if (child.exitCode !== null) {
        clearTimeout(kill);
        r();
      } else {
        child.once('exit', () => {
          clearTimeout(kill);
          r();
        });
      }
    });
    await coordinatorBus.close();
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
