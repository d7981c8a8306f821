/**
 * A minimal metrics registry shaped like prom-client's, so packages stay free of the Prometheus
 * dependency: they take an optional `MetricsRegistry` and create their metrics from it. The api
 * package implements it with prom-client; simulations may pass nothing (metrics are optional).
 */
export type LabelValues = Record<string, string | number>;

export interface Counter {
  inc(labels?: LabelValues, value?: number): void;
}
export interface Gauge {
  set(labels: LabelValues | undefined, value: number): void;
  inc(labels?: LabelValues, value?: number): void;
  dec(labels?: LabelValues, value?: number): void;
}
export interface Histogram {
  observe(labels: LabelValues | undefined, value: number): void;
}

export interface MetricOptions {
  /** Prometheus conventions: snake_case, unit suffix, `_total` for counters. */
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** Histogram buckets (in base units, e.g. seconds). */
  buckets?: readonly number[];
}

export interface MetricsRegistry {
  counter(options: MetricOptions): Counter;
  gauge(options: MetricOptions): Gauge;
  histogram(options: MetricOptions): Histogram;
}
