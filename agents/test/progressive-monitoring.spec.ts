import assert from 'node:assert/strict';
import type { Rng } from '@sliceguard/core';
import { SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork } from '@sliceguard/bus';
import type { FlowStat, MonitoredSample } from '@sliceguard/mape';
import { examplePath, loadTopology } from '@sliceguard/topology';
import type { InProcessTopology } from '../src/index.js';
import { startTopologyInProcess } from '../src/index.js';
import { run } from './helpers.js';

/** A streamer's sample with per-source request rates (the probe always could; the MS decides what it reports). */
function streamerSample(rng: Rng, at: number, sources: { key: string; rps: number }[]): MonitoredSample {
  const flows: FlowStat[] = sources.map((s) => ({ key: s.key, values: { http_requests_per_s: Math.max(0, rng.normal(s.rps, s.rps * 0.05)) } }));
  const total = flows.reduce((a, f) => a + f.values.http_requests_per_s, 0);
  return {
    at,
    values: {
      cpu_usage: rng.normal(0.3, 0.01),
      load1: rng.normal(1, 0.05),
      memory_used: rng.normal(500, 5),
      net_in_bytes: rng.normal(1e6, 2e4),
      net_out_bytes: rng.normal(5e6, 1e5),
      open_connections: rng.normal(100, 3),
      http_requests_per_s: total,
      http_response_ms: rng.normal(20, 1),
    },
    flows,
  };
}

const users = (n: number, rps: number) => Array.from({ length: n }, (_, i) => ({ key: `10.1.${Math.floor(i / 250)}.${i % 250}`, rps }));

describe('agents: programmable monitoring — the progressive DoS workflow (vCDN, built-in rules)', function () {
  this.timeout(30_000);
  let topo: InProcessTopology;
  let clock: SimulatedClock;
  const rng = seededRng(21);

  beforeEach(async () => {
    clock = new SimulatedClock(10_000_000);
    topo = await startTopologyInProcess({
      topology: await loadTopology(examplePath('vcdn-edge')),
      network: createLocalNetwork(),
      clock,
      rng,
      policies: 'builtin',
      coordination: { heartbeatMs: 0 },
      nfAnalytics: { reemitMs: 5000 },
      mano: { autoscaler: false },
    });
    await topo.ready();
  });
  afterEach(async () => topo.stop());

  async function drive(seconds: number, sources: () => { key: string; rps: number }[]): Promise<void> {
    for (let s = 0; s < seconds; s++) {
      topo.feed('streamer')!.push(streamerSample(rng, clock.now(), sources()));
      topo.feed('cache')!.push(streamerSample(rng, clock.now(), users(20, 5)));
      await run(clock, 1000, 500);
    }
  }

  it('coarse anomaly → per-flow statistics → heavy hitters confirmed → rate-limited in the traffic filter', async () => {
    const streamer = topo.agent('streamer')!;
    await drive(40, () => users(50, 2));
    assert.equal(streamer.loop.monitoring.granularity, 'aggregate');
    const attackers = [
      { key: '198.51.100.1', rps: 150 },
      { key: '198.51.100.2', rps: 150 },
    ];
    await drive(3, () => [...users(50, 2), ...attackers]);
    assert.equal(streamer.loop.monitoring.granularity, 'per_flow', 'the NF loop refined its own monitoring');
    await drive(3, () => [...users(50, 2), ...attackers]);
    const rules = topo.resources.get('edge')!.filter.rules('streamer');
    assert.deepEqual(rules.map((r) => r.source).sort(), ['198.51.100.1', '198.51.100.2']);
    const configs = await streamer.knowledge.query<{ config: { granularity: string } }>('config');
    assert.ok(configs.some((c) => c.value.config.granularity === 'per_flow'));
    const decisions = (await streamer.knowledge.query<{ policyId?: string }>('decision')).map((d) => d.value.policyId);
    assert.ok(decisions.includes('builtin-nf-refine-monitoring'));
    assert.ok(decisions.some((p) => p === 'builtin-nf-rate-limit-sources' || p === 'builtin-nf-block-sources'));
  });

  it('a flash crowd (no heavy hitter in the per-flow statistics) is dismissed as fortuitous and monitoring goes back to aggregate', async () => {
    const streamer = topo.agent('streamer')!;
    await drive(40, () => users(50, 2));
    await drive(3, () => users(300, 2));
    assert.equal(streamer.loop.monitoring.granularity, 'per_flow');
    await drive(8, () => users(300, 2));
    const decisions = (await streamer.knowledge.query<{ policyId?: string }>('decision')).map((d) => d.value.policyId);
    assert.ok(decisions.includes('builtin-nf-dismiss-fortuitous'), decisions.join(', '));
    assert.equal(streamer.loop.monitoring.granularity, 'aggregate');
    assert.deepEqual(topo.resources.get('edge')!.filter.rules('streamer'), [], 'nobody was blocked');
  });
});
