import { SimulatedClock, memoryKv } from '@sliceguard/core';
import { evaluateTrustSeeds, summarizeEvaluation } from './evaluation.js';
import { createTrustManager } from './manager.js';

export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
}

const ATTRIBUTES = ['report_accuracy', 'fl_quality', 'ssla', 'message_validity'] as const;

async function throughput(agents: number, records: number, ratingsPerAgent: number, withStore: boolean): Promise<Record<string, number>> {
  const clock = new SimulatedClock(0);
  const kv = withStore ? memoryKv() : undefined;
  const trust = await createTrustManager({ clock, self: 'd1:tsm', ...(kv ? { kv } : {}), defaults: { halfLifeMs: 3600_000, evaluateIntervalMs: 0 } });
  const ids = Array.from({ length: agents }, (_, i) => `d1:a${i}`);
  let t0 = performance.now();
  for (let i = 0; i < records; i++) {
    const subject = ids[i % agents];
    trust.record({ subject, attribute: ATTRIBUTES[i % ATTRIBUTES.length], positive: i % 17 === 0 ? 0 : 1, negative: i % 17 === 0 ? 1 : 0, source: 'd1:tsm', at: clock.now() });
    if (i % agents === agents - 1) await clock.advance(1000);
  }
  if (kv) await trust.flush();
  const recordMs = performance.now() - t0;
  t0 = performance.now();
  let ratings = 0;
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
  const rateMs = performance.now() - t0;
  t0 = performance.now();
  trust.evaluateAll();
  const evaluateAllMs = performance.now() - t0;
  await trust.close();
  return {
    agents,
    records,
    recordsPerSecond: Math.round(records / (recordMs / 1000)),
    ratings,
    ratingsPerSecond: Math.round(ratings / (rateMs / 1000)),
    evaluateAllMs: Math.round(evaluateAllMs * 10) / 10,
  };
}

/** The `trust` bench suite: evidence/rating throughput (memory and with a store) and the seeded attack evaluation. */
export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const agents = options.quick ? 50 : 500;
  const records = options.quick ? 2000 : 50_000;
  const ratingsPerAgent = options.quick ? 5 : 20;
  options.log(`throughput: ${agents} agents, ${records} evidence records`);
  const memory = await throughput(agents, records, ratingsPerAgent, false);
  const stored = await throughput(agents, records, ratingsPerAgent, true);
  const seeds = options.quick ? [1] : [1, 2, 3];
  const evalOptions = options.quick ? { agents: 20, rounds: 40 } : { agents: 50, rounds: 250 };
  options.log(`evaluation: seeds ${seeds.join(',')}, ${evalOptions.agents} agents, ${evalOptions.rounds} interactions`);
  const t0 = performance.now();
  const report = await evaluateTrustSeeds(seeds, evalOptions);
  const evaluationSeconds = Math.round(performance.now() - t0) / 1000;
  return {
    throughput: { memory, withMemoryKv: stored, storeOverheadRatio: Math.round((memory.recordsPerSecond / Math.max(1, stored.recordsPerSecond)) * 100) / 100 },
    evaluation: { seeds, options: report.options, seconds: evaluationSeconds, summary: summarizeEvaluation(report), targets: report.targets },
  };
}
