import type { Counter, Histogram, MetricsRegistry } from '@sliceguard/core';

/**
 * Loop metrics, created once per registry and shared by every loop of a process (labels carry the
 * level, never the agent id, so 10,000 loops do not explode the series count).
 */
export interface LoopMetrics {
  stageSeconds: Histogram;
  telemetryDropped: Counter;
  eventsRefused: Counter;
  stageErrors: Counter;
  transitions: Counter;
  decisions: Counter;
  /** One per item that went through the loop (a telemetry sample, a child report, a tick or an event). */
  iterations: Counter;
  events: Counter;
}

export function createLoopMetrics(registry: MetricsRegistry): LoopMetrics {
  return {
    stageSeconds: registry.histogram({
      name: 'sliceguard_loop_stage_duration_seconds',
      help: 'Time spent in each closed-loop stage (ms, ae, de, es) per item',
      labelNames: ['level', 'stage'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    }),
    telemetryDropped: registry.counter({
      name: 'sliceguard_loop_telemetry_dropped_total',
      help: 'Telemetry samples dropped because the loop input queue was full (oldest first)',
      labelNames: ['level'],
    }),
    eventsRefused: registry.counter({
      name: 'sliceguard_loop_events_refused_total',
      help: 'Events refused by a loop (queue full or loop not active)',
      labelNames: ['level', 'reason'],
    }),
    stageErrors: registry.counter({
      name: 'sliceguard_loop_stage_errors_total',
      help: 'Stage invocations that threw',
      labelNames: ['level', 'stage'],
    }),
    transitions: registry.counter({
      name: 'sliceguard_loop_transitions_total',
      help: 'Lifecycle transitions',
      labelNames: ['level', 'to'],
    }),
    iterations: registry.counter({
      name: 'sliceguard_loop_iterations_total',
      help: 'Closed-loop iterations completed (telemetry samples, child reports, ticks and events processed)',
      labelNames: ['level', 'input'],
    }),
    events: registry.counter({
      name: 'sliceguard_events_total',
      help: 'Security events handled by loops, by type, level and origin (input or analytics)',
      labelNames: ['type', 'level', 'origin'],
    }),
    decisions: registry.counter({
      name: 'sliceguard_loop_decisions_total',
      help: 'Decisions taken by loops (blocked ones labelled blocked="true")',
      labelNames: ['level', 'blocked'],
    }),
  };
}
