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

/** Keeps only the configured metrics (undefined = all) and drops flows at aggregate granularity. */
export function applyGranularity(sample: MonitoredSample, config: MonitoringConfig): MonitoredSample {
  const keep = config.metrics ? new Set(config.metrics) : undefined;
  const filter = (values: Readonly<Record<string, number>>): Record<string, number> => {
    if (!keep) return { ...values };
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(values)) if (keep.has(k)) out[k] = v;
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
  return {
    name: `collector:${collector.name}`,
    get config() {
      return config;
    },
    async collect(context: StageContext) {
      const cfg = config ?? { samplingPeriodMs: 1000, granularity: 'aggregate' };
      const samples = await collector.collect({ now: context.now, config: cfg, signal: context.signal });
      return samples.map((s) => applyGranularity(s, cfg));
    },
    configure(next) {
      config = next;
    },
    close: () => collector.close?.() ?? Promise.resolve(),
  };
}
