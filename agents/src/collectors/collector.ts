import type { MonitoredSample, MonitoringConfig, MonitoringSystem, StageContext } from '@sliceguard/mape';

/**
 * Where an NF agent's samples come from. Three implementations: a Prometheus scrape of the NF's
 * exporter, a CSV replay, and a push feed for simulations. The collector sees the current
 * monitoring configuration on every call, so programmable monitoring (per-flow vs aggregate, which
 * metrics) reaches the probe itself when the probe supports it.
 */
export interface CollectRequest {
  now: number;
  config: MonitoringConfig;
  signal?: AbortSignal;
}

export interface Collector {
  readonly name: string;
  collect(request: CollectRequest): Promise<MonitoredSample[]>;
  close?(): Promise<void>;
}

/**
 * Keeps only the configured metrics (undefined = all) and drops flows at aggregate granularity.
 * `keep` is the metric set precomputed from `config.metrics` (pass it on hot paths).
 */
export function applyGranularity(sample: MonitoredSample, config: MonitoringConfig, keep: ReadonlySet<string> | undefined = config.metrics ? new Set(config.metrics) : undefined): MonitoredSample {
  const filter = (values: Readonly<Record<string, number>>): Readonly<Record<string, number>> => {
    if (!keep) return values;
    let extra = false;
    for (const k in values) {
      if (!keep.has(k)) {
        extra = true;
        break;
      }
    }
    if (!extra) return values; // the common case: the probe reports exactly what is asked
    const out: Record<string, number> = {};
    for (const k in values) if (keep.has(k)) out[k] = values[k];
    return out;
  };
  const out: MonitoredSample = { at: sample.at, values: filter(sample.values) };
  if (config.granularity === 'per_flow' && sample.flows) {
    out.flows = sample.flows.map((f) => ({ key: f.key, values: filter(f.values) }));
  }
  return out;
}

/** The MS of an NF loop: a collector plus the loop's (reconfigurable) monitoring configuration. */
export function collectorMonitoring(collector: Collector): MonitoringSystem & { readonly config: MonitoringConfig | undefined } {
  let config: MonitoringConfig | undefined;
  let keep: ReadonlySet<string> | undefined;
  return {
    name: `collector:${collector.name}`,
    get config() {
      return config;
    },
    async collect(context: StageContext) {
      const cfg = config ?? { samplingPeriodMs: 1000, granularity: 'aggregate' };
      const samples = await collector.collect({ now: context.now, config: cfg, signal: context.signal });
      return samples.map((s) => applyGranularity(s, cfg, keep));
    },
    configure(next) {
      config = next;
      keep = next.metrics ? new Set(next.metrics) : undefined;
    },
    close: () => collector.close?.() ?? Promise.resolve(),
  };
}
