import type { AnomalyEvent, IdGenerator, Indicator, SecurityEvent, StreamingDetector, Verdict } from '@sliceguard/core';
import type { AnalyticsEngine, FlowStat, MonitoredSample } from '@sliceguard/mape';
import { classifyContributors } from './classify.js';

export interface DetectorAnalyticsOptions {
  agentId: string;
  /** The NF id the anomalies are about. */
  target: string;
  detector: StreamingDetector;
  ids: IdGenerator;
  /** score / threshold at which severity reaches 1 (default 5); at the threshold it is 0.2. */
  severityAtRatio?: number;
  /** While an anomaly episode lasts, re-announce it at most this often (default 30 s). */
  reemitMs?: number;
  /** Normal verdicts in a row that end an episode (default 3). */
  clearAfter?: number;
  /** A flow holding at least this share of the leading metric is a heavy hitter (default 0.2). */
  heavyHitterShare?: number;
  /** At most this many source indicators per anomaly (default 10). */
  maxIndicators?: number;
  /** Sources reported by peers kept on the watch list (default 1000, oldest forgotten). */
  watchListSize?: number;
}

interface Episode {
  correlationId: string;
  lastEmit: number;
  lastSeverity: number;
  normals: number;
  /** Sources already announced in this episode. */
  announced: Set<string>;
}

/**
 * The NF loop's AE: a StreamingDetector (statistical baseline, or the LSTM autoencoder later)
 * plus what turns verdicts into useful events — anomaly episodes (one correlation id from onset to
 * recovery, re-announced at most every `reemitMs` or when the severity rises), a kind derived from
 * the contributing metrics, and, at per-flow granularity, the heavy-hitter sources as indicators
 * (flows holding a large share of the leading metric, or far above the median flow), plus any flow
 * on the peers' watch list.
 */
export function detectorAnalytics(options: DetectorAnalyticsOptions): AnalyticsEngine & { readonly watchList: ReadonlySet<string> } {
  const { detector, ids } = options;
  const atRatio = options.severityAtRatio ?? 5;
  const reemitMs = options.reemitMs ?? 30_000;
  const clearAfter = options.clearAfter ?? 3;
  const heavyShare = options.heavyHitterShare ?? 0.2;
  const maxIndicators = options.maxIndicators ?? 10;
  const watchSize = options.watchListSize ?? 1000;
  const watchList = new Set<string>();
  let episode: Episode | undefined;

  const severityOf = (v: Verdict): number => {
    const ratio = v.threshold > 0 ? v.score / v.threshold : atRatio;
    return Math.max(0.2, Math.min(1, 0.2 + (0.8 * (ratio - 1)) / Math.max(1e-9, atRatio - 1)));
  };

  const sourcesOf = (flows: readonly FlowStat[] | undefined, v: Verdict): Indicator[] => {
    if (!flows || flows.length === 0) return [];
    const metric = v.contributors.map((c) => c.metric).find((m) => flows.some((f) => Number.isFinite(f.values[m])));
    const found = new Map<string, number>();
    if (metric) {
      const vals = flows.map((f) => f.values[metric] ?? 0).filter((x) => Number.isFinite(x));
      const total = vals.reduce((a, b) => a + b, 0);
      const sorted = [...vals].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
      const mad = [...sorted.map((x) => Math.abs(x - median))].sort((a, b) => a - b)[Math.floor(sorted.length / 2)] ?? 0;
      const outlier = median + 6 * Math.max(mad * 1.4826, Math.abs(median) * 0.05, 1e-9);
      for (const f of flows) {
        const x = f.values[metric] ?? 0;
        if (!(x > 0)) continue;
        if ((total > 0 && x / total >= heavyShare) || (flows.length >= 5 && x > outlier)) found.set(f.key, x);
      }
    }
    for (const f of flows) if (watchList.has(f.key) && !found.has(f.key)) found.set(f.key, 0);
    return [...found]
      .sort((a, b) => b[1] - a[1])
      .slice(0, maxIndicators)
      .map(([value]) => ({ kind: 'source', value }));
  };

  return {
    name: `detector:${detector.name}`,
    watchList,
    async analyzeSample(sample: MonitoredSample, context) {
      const verdict = await detector.push({ at: sample.at, values: sample.values });
      if (!verdict) return [];
      if (!verdict.anomalous) {
        if (episode && ++episode.normals >= clearAfter) episode = undefined;
        return [];
      }
      const severity = severityOf(verdict);
      const now = context.now;
      let emit = false;
      if (!episode) {
        episode = { correlationId: ids.next('inc'), lastEmit: now, lastSeverity: severity, normals: 0, announced: new Set() };
        emit = true;
      } else {
        episode.normals = 0;
        if (now - episode.lastEmit >= reemitMs || severity >= episode.lastSeverity + 0.2) emit = true;
      }
      const indicators = sourcesOf(sample.flows, verdict);
      // New attacker sources are news even within an episode.
      if (!emit && indicators.some((i) => !episode!.announced.has(i.value))) emit = true;
      if (!emit) return [];
      for (const i of indicators) episode.announced.add(i.value);
      episode.lastEmit = now;
      episode.lastSeverity = severity;
      const event: AnomalyEvent & { kind: string } = {
        type: 'anomaly',
        id: ids.next('anom'),
        at: sample.at,
        source: options.agentId,
        target: options.target,
        severity,
        correlationId: episode.correlationId,
        level: 'nf',
        kind: classifyContributors(verdict.contributors),
        evidence: {
          detector: detector.name,
          score: verdict.score,
          threshold: verdict.threshold,
          contributors: verdict.contributors.map((c) => ({ metric: c.metric, share: c.share })),
          window: { ...verdict.window },
          indicators,
        },
      };
      return [event];
    },
    async analyzeReport(report: SecurityEvent) {
      if (report.type === 'management' && report.kind === 'peer_indicator') {
        const values = (report.details.indicators as Indicator[] | undefined) ?? [];
        for (const i of values) {
          if (i.kind !== 'source' || typeof i.value !== 'string') continue;
          watchList.delete(i.value);
          watchList.add(i.value);
          if (watchList.size > watchSize) watchList.delete(watchList.values().next().value as string);
        }
      }
      return [];
    },
    reset() {
      episode = undefined;
      detector.reset();
    },
  };
}
