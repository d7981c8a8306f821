import type { Counter, Gauge, Histogram, MetricOptions, MetricsRegistry } from '@sliceguard/core';
import { InvalidInputError } from '@sliceguard/core';
import { collectDefaultMetrics, Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry } from 'prom-client';

/** A core MetricsRegistry on prom-client with its own Registry (never the global default one). */
export interface PromMetricsRegistry extends MetricsRegistry {
  readonly registry: Registry;
  readonly contentType: string;
  /** The Prometheus text exposition of every metric in this registry. */
  metricsText(): Promise<string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

type Kind = 'counter' | 'gauge' | 'histogram';

/**
 * Creates a per-instance registry so that many agents in one process each expose their own
 * metrics. Asking twice for the same name returns the same metric (packages create their metrics
 * lazily); asking for it with another type or other labels is an error.
 */
export function createPromRegistry(options: { defaultLabels?: Record<string, string>; collectDefaultMetrics?: boolean } = {}): PromMetricsRegistry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.collectDefaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'sliceguard_' });
  const made = new Map<string, { kind: Kind; labels: string; metric: Counter | Gauge | Histogram }>();

  function get<M extends Counter | Gauge | Histogram>(kind: Kind, o: MetricOptions, create: () => M): M {
    if (!NAME.test(o.name)) throw new InvalidInputError(`metric name ${JSON.stringify(o.name)} is not a Prometheus name`, { name: o.name });
    if (kind === 'counter' && !o.name.endsWith('_total')) {
      throw new InvalidInputError(`counter ${o.name} must end with _total (Prometheus convention)`, { name: o.name });
    }
    const labels = [...(o.labelNames ?? [])].join(',');
    const existing = made.get(o.name);
    if (existing) {
      if (existing.kind !== kind || existing.labels !== labels) {
        throw new InvalidInputError(`metric ${o.name} already exists as a ${existing.kind} with labels [${existing.labels}]`, { name: o.name });
      }
      return existing.metric as M;
    }
    const metric = create();
    made.set(o.name, { kind, labels, metric });
    return metric;
  }

  return {
    registry,
    contentType: registry.contentType,
    metricsText: () => registry.metrics(),
    counter(o) {
      return get('counter', o, () => {
        const c = new PromCounter({ name: o.name, help: o.help, labelNames: [...(o.labelNames ?? [])], registers: [registry] });
        return {
          inc: (labels, value) => (labels ? c.inc(labels, value ?? 1) : c.inc(value ?? 1)),
        };
      });
    },
    gauge(o) {
      return get('gauge', o, () => {
        const g = new PromGauge({ name: o.name, help: o.help, labelNames: [...(o.labelNames ?? [])], registers: [registry] });
        return {
          set: (labels, value) => (labels ? g.set(labels, value) : g.set(value)),
          inc: (labels, value) => (labels ? g.inc(labels, value ?? 1) : g.inc(value ?? 1)),
          dec: (labels, value) => (labels ? g.dec(labels, value ?? 1) : g.dec(value ?? 1)),
        };
      });
    },
    histogram(o) {
      return get('histogram', o, () => {
        const h = new PromHistogram({
          name: o.name,
          help: o.help,
          labelNames: [...(o.labelNames ?? [])],
          registers: [registry],
          ...(o.buckets ? { buckets: [...o.buckets] } : {}),
        });
        return { observe: (labels, value) => (labels ? h.observe(labels, value) : h.observe(value)) };
      });
    },
  };
}

const STAGE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] as const;

/**
 * The metric names every sliceguard package uses (docs/api.md lists them). Packages take a core
 * MetricsRegistry and create what they need with `registry.counter(SLICEGUARD_METRICS.x)`;
 * names follow Prometheus conventions: snake_case, base units, `_total` for counters, `_seconds`.
 */
export const SLICEGUARD_METRICS = {
  loopIterations: { name: 'sliceguard_loop_iterations_total', help: 'Closed-loop iterations completed', labelNames: ['agent', 'level'] },
  loopStageDuration: {
    name: 'sliceguard_loop_stage_duration_seconds',
    help: 'Duration of one closed-loop stage (ms: monitoring, ae: analytics, de: decision, es: enforcement)',
    labelNames: ['level', 'stage'],
    buckets: STAGE_BUCKETS,
  },
  loopLifecycle: {
    name: 'sliceguard_loop_lifecycle_state',
    help: '1 for the lifecycle state a loop is in, 0 for the others',
    labelNames: ['agent', 'state'],
  },
  loopTransitions: { name: 'sliceguard_loop_transitions_total', help: 'Loop lifecycle transitions', labelNames: ['level', 'from', 'to'] },
  events: { name: 'sliceguard_events_total', help: 'Security events raised, by type and level', labelNames: ['type', 'level'] },
  incidentsOpen: { name: 'sliceguard_incidents_open', help: 'Incidents currently open', labelNames: ['level'] },
  decisions: {
    name: 'sliceguard_decisions_total',
    help: 'Decisions by result (enforced, blocked, escalated, delegated, none)',
    labelNames: ['level', 'result'],
  },
  actions: { name: 'sliceguard_actions_total', help: 'Actions executed, by action type and outcome status', labelNames: ['type', 'status'] },
  actionDuration: {
    name: 'sliceguard_action_duration_seconds',
    help: 'Time from action request to outcome',
    labelNames: ['type'],
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
  },
  busMessages: {
    name: 'sliceguard_bus_messages_total',
    help: 'Bus messages by direction (in, out) and subject class (the channel token: metrics, events, control, delegate, escalate, peer, fl, sys)',
    labelNames: ['direction', 'subject_class'],
  },
  busRejections: { name: 'sliceguard_bus_rejections_total', help: 'Messages dropped by the bus, by reject reason', labelNames: ['reason'] },
  trustScore: { name: 'sliceguard_trust_score', help: 'Expected trust in [0, 1] per agent', labelNames: ['subject'] },
  trustTransitions: {
    name: 'sliceguard_trust_transitions_total',
    help: 'Trust threshold transitions (reduce_weight, ignore_reports, quarantine, revoke, restore)',
    labelNames: ['to'],
  },
  flRounds: { name: 'sliceguard_fl_rounds_total', help: 'Federated rounds by result (completed, failed, timeout)', labelNames: ['result'] },
  flUpdates: { name: 'sliceguard_fl_updates_total', help: 'Federated updates by result and reason', labelNames: ['result', 'reason'] },
  flRoundDuration: {
    name: 'sliceguard_fl_round_duration_seconds',
    help: 'Federated round duration from announce to global model',
    buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300],
  },
  auditRecords: { name: 'sliceguard_audit_records_total', help: 'Audit records appended, by kind', labelNames: ['kind'] },
  httpRequests: {
    name: 'sliceguard_http_requests_total',
    help: 'HTTP API requests by method, route and status code',
    labelNames: ['method', 'route', 'status_code'],
  },
  httpRequestDuration: {
    name: 'sliceguard_http_request_duration_seconds',
    help: 'HTTP API request duration',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  },
} as const satisfies Record<string, MetricOptions>;
