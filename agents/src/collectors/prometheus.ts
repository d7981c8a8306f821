import type { Clock } from '@sliceguard/core';
import type { FlowStat, MonitoredSample } from '@sliceguard/mape';
import { CollectorError } from '../errors.js';
import type { CollectRequest, Collector } from './collector.js';
import type { Exposition, MetricType } from './exposition.js';
import { familyOf, parseExposition } from './exposition.js';

export interface PrometheusCollectorOptions {
  /** The exporter's metrics URL, e.g. http://10.0.0.5:9100/metrics. */
  url: string;
  clock: Clock;
  /** Scrape timeout in ms of real time (default 5000). */
  timeoutMs?: number;
  /** Label that identifies a flow (source address) in per-flow mode (default 'source'). */
  flowLabel?: string;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Skip malformed lines (counted in `stats().skippedLines`) instead of failing the scrape (default false). */
  lenient?: boolean;
}

interface CounterMemory {
  value: number;
  at: number;
}

/**
 * Scrapes a Prometheus exporter and turns the exposition into one sample per scrape:
 * - gauges and untyped series: summed over their label sets under the series name;
 * - counters (`X_total` / TYPE counter): per-second rates since the previous scrape, under `X_per_s`
 *   (a counter reset counts from zero; the first scrape yields no rate);
 * - histograms / summaries: the rates of `_sum` and `_count` and their ratio `<family>_mean`
 *   (buckets and quantiles are not summed — that would be meaningless);
 * - in per-flow mode, series carrying the flow label are also reported per flow.
 */
export function prometheusCollector(options: PrometheusCollectorOptions): Collector & {
  stats(): { scrapes: number; failures: number; skippedLines: number };
} {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const flowLabel = options.flowLabel ?? 'source';
  const memory = new Map<string, CounterMemory>();
  const stats = { scrapes: 0, failures: 0, skippedLines: 0 };

  const scrape = async (signal?: AbortSignal): Promise<string> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetchFn(options.url, { signal: combined, headers: { accept: 'text/plain;version=0.0.4;q=1, */*;q=0.1' } });
    } catch (cause) {
      throw new CollectorError(
        `cannot scrape ${options.url}: ${timeout.aborted ? `no answer within ${timeoutMs} ms` : cause instanceof Error ? cause.message : String(cause)}`,
        { url: options.url, hint: 'check that the exporter is running and the URL in the topology (nf.exporter.url) is right' },
        cause,
      );
    }
    if (!res.ok) {
      throw new CollectorError(`scrape of ${options.url} answered HTTP ${res.status}`, { url: options.url, status: res.status });
    }
    return res.text();
  };

  const toSample = (exp: Exposition, request: CollectRequest): MonitoredSample => {
    const now = request.now;
    const values: Record<string, number> = {};
    const flows = new Map<string, Record<string, number>>();
    const sums = new Map<string, { sum?: number; count?: number }>();
    const add = (key: string, v: number, flow: string | undefined): void => {
      values[key] = (values[key] ?? 0) + v;
      if (flow !== undefined && request.config.granularity === 'per_flow') {
        let f = flows.get(flow);
        if (!f) flows.set(flow, (f = {}));
        f[key] = (f[key] ?? 0) + v;
      }
    };
    for (const s of exp.samples) {
      if (!Number.isFinite(s.value)) continue;
      const family = familyOf(s.name, exp.types);
      const type: MetricType = exp.types.get(family) ?? (s.name.endsWith('_total') ? 'counter' : 'untyped');
      const flow = s.labels[flowLabel];
      const at = s.timestampMs ?? now;
      const rate = (): number | undefined => {
        const key = `${s.name}${JSON.stringify(s.labels)}`;
        const prev = memory.get(key);
        memory.set(key, { value: s.value, at });
        if (!prev || at <= prev.at) return undefined;
        const delta = s.value >= prev.value ? s.value - prev.value : s.value; // counter reset
        return delta / ((at - prev.at) / 1000);
      };
      if (type === 'counter') {
        const r = rate();
        if (r !== undefined) add(`${s.name.endsWith('_total') ? s.name.slice(0, -6) : s.name}_per_s`, r, flow);
      } else if (type === 'histogram' || type === 'summary') {
        const part = s.name.endsWith('_sum') ? 'sum' : s.name.endsWith('_count') ? 'count' : undefined;
        if (!part) continue; // buckets, quantiles
        const r = rate();
        if (r === undefined) continue;
        add(`${family}_${part}_per_s`, r, flow);
        let agg = sums.get(family);
        if (!agg) sums.set(family, (agg = {}));
        agg[part] = (agg[part] ?? 0) + r;
      } else {
        add(s.name, s.value, flow);
      }
    }
    for (const [family, agg] of sums) {
      if (agg.sum !== undefined && agg.count !== undefined && agg.count > 0) values[`${family}_mean`] = agg.sum / agg.count;
    }
    const sample: MonitoredSample = { at: now, values };
    if (request.config.granularity === 'per_flow') {
      sample.flows = [...flows].map(([key, v]): FlowStat => ({ key, values: v }));
    }
    return sample;
  };

  return {
    name: `prometheus:${options.url}`,
    stats: () => ({ ...stats }),
    async collect(request) {
      stats.scrapes++;
      let text: string;
      try {
        text = await scrape(request.signal);
      } catch (error) {
        stats.failures++;
        throw error;
      }
      const exp = parseExposition(text, { strict: !options.lenient, source: options.url });
      stats.skippedLines += exp.skipped.length;
      return [toSample(exp, { ...request, now: options.clock.now() })];
    },
  };
}
