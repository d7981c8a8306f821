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

/** A catalog entry: the options to create the metric with, and which package emits it. */
export type MetricDefinition = MetricOptions & { type: 'counter' | 'gauge' | 'histogram'; emittedBy: string };

const def = <T extends MetricDefinition>(d: T): T => d;

/**
 * The metric names of sliceguard (docs/api.md lists them; `sliceguard api metrics` prints them).
 * Names and label sets mirror what the packages create on the registry they are given — a registry
 * refuses the same name with other labels, so keep this table and the packages in step. Entries
 * marked "agents" are not emitted by a library yet: the composition root is expected to.
 */
export const SLICEGUARD_METRICS = {
  // closed loops (@sliceguard/mape)
  loopStageDuration: def({
    type: 'histogram',
    emittedBy: 'mape',
    name: 'sliceguard_loop_stage_duration_seconds',
    help: 'Time spent in each closed-loop stage (ms, ae, de, es) per item',
    labelNames: ['level', 'stage'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  }),
  loopTransitions: def({ type: 'counter', emittedBy: 'mape', name: 'sliceguard_loop_transitions_total', help: 'Lifecycle transitions', labelNames: ['level', 'to'] }),
  loopDecisions: def({
    type: 'counter',
    emittedBy: 'mape',
    name: 'sliceguard_loop_decisions_total',
    help: 'Decisions taken by loops (blocked ones labelled blocked="true")',
    labelNames: ['level', 'blocked'],
  }),
  loopTelemetryDropped: def({
    type: 'counter',
    emittedBy: 'mape',
    name: 'sliceguard_loop_telemetry_dropped_total',
    help: 'Telemetry samples dropped because the loop input queue was full',
    labelNames: ['level'],
  }),
  loopEventsRefused: def({
    type: 'counter',
    emittedBy: 'mape',
    name: 'sliceguard_loop_events_refused_total',
    help: 'Events refused by a loop (queue full or loop not active)',
    labelNames: ['level', 'reason'],
  }),
  loopStageErrors: def({ type: 'counter', emittedBy: 'mape', name: 'sliceguard_loop_stage_errors_total', help: 'Stage invocations that threw', labelNames: ['level', 'stage'] }),
  loopIterations: def({
    type: 'counter',
    emittedBy: 'mape',
    name: 'sliceguard_loop_iterations_total',
    help: 'Closed-loop iterations completed (telemetry samples, child reports, ticks and events processed)',
    labelNames: ['level', 'input'],
  }),
  events: def({
    type: 'counter',
    emittedBy: 'mape',
    name: 'sliceguard_events_total',
    help: 'Security events handled by loops, by type, level and origin (input or analytics)',
    labelNames: ['type', 'level', 'origin'],
  }),
  incidentsOpen: def({ type: 'gauge', emittedBy: 'agents (agent processes)', name: 'sliceguard_incidents_open', help: 'Incidents currently open', labelNames: ['level'] }),
  // decisions and actions (@sliceguard/policy, @sliceguard/enforcement)
  policyDecisions: def({
    type: 'counter',
    emittedBy: 'policy',
    name: 'sliceguard_policy_decisions_total',
    help: 'Decisions made by the policy engine, by outcome',
    labelNames: ['status'],
  }),
  policyEvaluationErrors: def({
    type: 'counter',
    emittedBy: 'policy',
    name: 'sliceguard_policy_evaluation_errors_total',
    help: 'Policy conditions or templates that failed to evaluate',
  }),
  policyDecideDuration: def({
    type: 'histogram',
    emittedBy: 'policy',
    name: 'sliceguard_policy_decide_seconds',
    help: 'Time to evaluate policies for one event',
    buckets: [0.00001, 0.0001, 0.001, 0.01, 0.1],
  }),
  actions: def({
    type: 'counter',
    emittedBy: 'enforcement',
    name: 'sliceguard_enforcement_actions_total',
    help: 'Actions executed by the enforcement service, by type and status',
    labelNames: ['type', 'status'],
  }),
  // bus (@sliceguard/bus)
  busPublished: def({ type: 'counter', emittedBy: 'bus', name: 'sliceguard_bus_published_total', help: 'Signed messages published' }),
  busDelivered: def({ type: 'counter', emittedBy: 'bus', name: 'sliceguard_bus_delivered_total', help: 'Verified messages delivered to handlers' }),
  busRejected: def({
    type: 'counter',
    emittedBy: 'bus',
    name: 'sliceguard_bus_rejected_total',
    help: 'Messages dropped before any handler, by reason',
    labelNames: ['reason'],
  }),
  busMessages: def({
    type: 'counter',
    emittedBy: 'bus',
    name: 'sliceguard_bus_messages_total',
    help: 'Bus messages by direction (out: published, in: delivered to a handler) and subject class',
    labelNames: ['direction', 'subject_class'],
  }),
  // trust (@sliceguard/trust)
  trustEvidence: def({
    type: 'counter',
    emittedBy: 'trust',
    name: 'sliceguard_trust_evidence_total',
    help: 'Evidence records folded into trust scores, by TLA attribute and polarity',
    labelNames: ['attribute', 'polarity'],
  }),
  trustRatings: def({ type: 'counter', emittedBy: 'trust', name: 'sliceguard_trust_ratings_total', help: 'Peer rating entries received, by result', labelNames: ['result'] }),
  trustTransitions: def({
    type: 'counter',
    emittedBy: 'trust',
    name: 'sliceguard_trust_transitions_total',
    help: 'Trust status transitions, by new status',
    labelNames: ['to'],
  }),
  trustBusRejections: def({
    type: 'counter',
    emittedBy: 'trust',
    name: 'sliceguard_trust_bus_rejections_total',
    help: 'Bus rejections attributed to a claimed sender, by reason and whether they counted as evidence',
    labelNames: ['reason', 'counted'],
  }),
  trustAgents: def({ type: 'gauge', emittedBy: 'trust', name: 'sliceguard_trust_agents', help: 'Known agents by trust status', labelNames: ['status'] }),
  trustScore: def({
    type: 'gauge',
    emittedBy: 'trust',
    name: 'sliceguard_trust_score',
    help: 'Expected trust in [0, 1] per agent, as of its last evaluation',
    labelNames: ['subject'],
  }),
  // federated learning (federation)
  flRounds: def({ type: 'counter', emittedBy: 'federation', name: 'sliceguard_fl_rounds_total', help: 'FL rounds by outcome', labelNames: ['model', 'outcome'] }),
  flUpdates: def({
    type: 'counter',
    emittedBy: 'federation',
    name: 'sliceguard_fl_updates_total',
    help: 'FL updates by result (accepted or the reject reason)',
    labelNames: ['model', 'result'],
  }),
  flRoundDuration: def({
    type: 'histogram',
    emittedBy: 'federation',
    name: 'sliceguard_fl_round_duration_seconds',
    help: 'FL round duration',
    labelNames: ['model'],
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120],
  }),
  // store and API (this helper)
  auditRecords: def({ type: 'counter', emittedBy: 'store', name: 'sliceguard_audit_records_total', help: 'Audit records appended, by kind', labelNames: ['kind'] }),
  httpRequests: def({
    type: 'counter',
    emittedBy: 'api',
    name: 'sliceguard_http_requests_total',
    help: 'HTTP API requests by method, route and status code',
    labelNames: ['method', 'route', 'status_code'],
  }),
  httpRequestDuration: def({
    type: 'histogram',
    emittedBy: 'api',
    name: 'sliceguard_http_request_duration_seconds',
    help: 'HTTP API request duration',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  }),
} as const;
