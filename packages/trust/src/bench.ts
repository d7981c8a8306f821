import { SimulatedClock, memoryKv } from '@sliceguard/core';
import { evaluateTrustSeeds, summarizeEvaluation } from './evaluation.js';
import { createTrustManager } from './manager.js';

export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
}

const ATTRIBUTES = ['report_accuracy', 'fl_quality', 'ssla', 'message_validity'] as const;

/** Times `fn` in wall-clock and in this process's CPU time (the fairer figure on a shared machine). */
async function timed(fn: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

const perSecond = (n: number, ms: number): number => Math.round(n / (Math.max(ms, 1e-3) / 1000));

async function throughput(agents: number, records: number, ratingsPerAgent: number, withStore: boolean): Promise<Record<string, number>> {
  const clock = new SimulatedClock(0);
  const kv = withStore ? memoryKv() : undefined;
  const trust = await createTrustManager({ clock, self: 'd1:tsm', ...(kv ? { kv } : {}), defaults: { halfLifeMs: 3600_000, evaluateIntervalMs: 0 } });
  const ids = Array.from({ length: agents }, (_, i) => `d1:a${i}`);
  const rec = await timed(async () => {
    for (let i = 0; i < records; i++) {
      const subject = ids[i % agents];
      trust.record({ subject, attribute: ATTRIBUTES[i % ATTRIBUTES.length], positive: i % 17 === 0 ? 0 : 1, negative: i % 17 === 0 ? 1 : 0, source: 'd1:tsm', at: clock.now() });
      if (i % agents === agents - 1) await clock.advance(1000);
    }
    if (kv) await trust.flush();
  });
  let ratings = 0;
  const rate = await timed(async () => {
    for (let k = 0; k < ratingsPerAgent; k++) {
      for (let i = 0; i < agents; i++) {
        const subject = ids[(i * 7 + k * 13 + 1) % agents];
        if (subject === ids[i]) continue;
        trust.rate(ids[i], [{ subject, positive: 1, negative: 0 }], clock.now());
        ratings++;
      }
      await clock.advance(1000);
    }
    if (kv) await trust.flush();
  });
  const all = await timed(async () => {
    trust.evaluateAll();
  });
  await trust.close();
  return {
    agents,
    records,
    recordsPerSecond: perSecond(records, rec.wallMs),
    recordsPerCpuSecond: perSecond(records, rec.cpuMs),
    ratings,
    ratingsPerSecond: perSecond(ratings, rate.wallMs),
    ratingsPerCpuSecond: perSecond(ratings, rate.cpuMs),
    evaluateAllMs: Math.round(all.wallMs * 10) / 10,
    evaluateAllCpuMs: Math.round(all.cpuMs * 10) / 10,
  };
}

/** The `trust` bench suite: evidence/rating throughput (memory and with a store) and the seeded attack evaluation. */
export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const agents = options.quick ? 50 : 500;
  const records = options.quick ? 2000 : 50_000;
  const ratingsPerAgent = options.quick ? 5 : 20;
  options.log(`throughput: ${agents} agents, ${records} evidence records`);
  await throughput(Math.min(agents, 50), Math.min(records, 2000), 2, false); // JIT warm-up, not reported
  const memory = await throughput(agents, records, ratingsPerAgent, false);
  const stored = await throughput(agents, records, ratingsPerAgent, true);
  const seeds = options.quick ? [1] : [1, 2, 3];
  const evalOptions = options.quick ? { agents: 20, rounds: 40 } : { agents: 50, rounds: 250 };
  options.log(`evaluation: seeds ${seeds.join(',')}, ${evalOptions.agents} agents, ${evalOptions.rounds} interactions`);
  const t0 = performance.now();
  const report = await evaluateTrustSeeds(seeds, evalOptions);
  const evaluationSeconds = Math.round(performance.now() - t0) / 1000;
  return {
    throughput: {
      memory,
      withMemoryKv: stored,
      /** CPU cost of persisting every record (JSON encoding, batches) relative to memory only. */
      storeOverheadRatio: Math.round((memory.recordsPerCpuSecond / Math.max(1, stored.recordsPerCpuSecond)) * 100) / 100,
    },
    evaluation: { seeds, options: report.options, seconds: evaluationSeconds, summary: summarizeEvaluation(report), targets: report.targets },
  };
}
