import type { MetricContribution } from '@sliceguard/core';

/**
 * Names an anomaly from the metrics that drive it, so that higher loops can correlate "the same
 * thing" across NFs. A table, first match per metric, shares summed per kind; the heaviest wins.
 */
export const ANOMALY_KINDS: readonly { kind: string; pattern: RegExp }[] = [
  { kind: 'signaling_surge', pattern: /rrc|attach|registration|signaling|session_rate|paging|nas_/ },
  { kind: 'connection_exhaustion', pattern: /open_connections|connections|half_open|slow_requests/ },
  { kind: 'volumetric', pattern: /requests|packet_rate|throughput|net_in|bytes|dns_queries|link_utilization|prb_/ },
  { kind: 'latency', pattern: /response|latency|_ms$|_seconds$|_mean$/ },
  { kind: 'resource_exhaustion', pattern: /cpu|memory|load|queue|drop_rate/ },
];

export function classifyContributors(contributors: readonly MetricContribution[], table = ANOMALY_KINDS): string {
  const weight = new Map<string, number>();
  for (const c of contributors) {
    const row = table.find((r) => r.pattern.test(c.metric));
    const kind = row?.kind ?? 'anomaly';
    weight.set(kind, (weight.get(kind) ?? 0) + Math.max(0, c.share));
  }
  let best = 'anomaly';
  let bestW = -1;
  for (const [k, w] of weight) {
    if (w > bestW) {
      best = k;
      bestW = w;
    }
  }
  return best;
}
