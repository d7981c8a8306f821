import type { ActionOutcome, ActionRequest, Clock } from '@sliceguard/core';
import { outcomeOf, type UndoableActuator } from './interface.js';

export const MONITORING_MODES = ['aggregate', 'per_flow'] as const;
export type MonitoringMode = (typeof MONITORING_MODES)[number];

/** How an NF's monitoring system collects data (the programmable monitoring of the second paper). */
export interface MonitoringConfig {
  mode: MonitoringMode;
  samplingPeriodMs: number;
  /** Metrics collected; absent = the NF type's defaults. */
  metrics?: string[];
}

/** What the NF agent's monitoring system implements so that loops can reprogram it. */
export interface MonitoringControl {
  current(target: string): MonitoringConfig | undefined;
  configure(target: string, change: Partial<MonitoringConfig>, options?: { signal?: AbortSignal }): Promise<MonitoringConfig> | MonitoringConfig;
}

export interface MonitoringActuatorOptions {
  clock: Clock;
  /** One control for every target, or a lookup per target (undefined = unknown target). */
  control: MonitoringControl | ((target: string) => MonitoringControl | undefined);
  /** Smallest sampling period accepted (ms). Default 100. */
  minSamplingPeriodMs?: number;
}

/** Validates a monitoring change; returns the change or a message saying what is wrong. */
export function parseMonitoringChange(params: Record<string, unknown>, minPeriod = 100): Partial<MonitoringConfig> | string {
  const change: Partial<MonitoringConfig> = {};
  if (params.mode !== undefined) {
    if (!(MONITORING_MODES as readonly unknown[]).includes(params.mode)) return `params.mode must be ${MONITORING_MODES.join(' or ')}, got ${JSON.stringify(params.mode)}`;
    change.mode = params.mode as MonitoringMode;
  }
  if (params.samplingPeriodMs !== undefined) {
    const v = params.samplingPeriodMs;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < minPeriod) return `params.samplingPeriodMs must be a number >= ${minPeriod}, got ${JSON.stringify(v)}`;
    change.samplingPeriodMs = v;
  }
  if (params.metrics !== undefined) {
    const m = params.metrics;
    if (!Array.isArray(m) || m.length === 0 || !m.every((x) => typeof x === 'string' && x.length > 0)) return 'params.metrics must be a non-empty list of metric names';
    change.metrics = [...m] as string[];
  }
  if (Object.keys(change).length === 0) return 'reconfigure_monitoring needs mode, samplingPeriodMs or metrics';
  return change;
}

/** The reconfigure_monitoring actuator: calls the NF agent's MonitoringControl; undo restores the previous config. */
export function monitoringActuator(options: MonitoringActuatorOptions): UndoableActuator {
  const { clock } = options;
  const lookup = typeof options.control === 'function' ? options.control : () => options.control as MonitoringControl;
  return {
    name: 'monitoring',
    handles: ['reconfigure_monitoring'] as const,
    async execute(request: ActionRequest, opts = {}): Promise<ActionOutcome> {
      const control = lookup(request.target);
      if (!control) return outcomeOf(request, 'rejected', clock.now(), `no monitoring control for "${request.target}"`);
      const change = parseMonitoringChange(request.params, options.minSamplingPeriodMs ?? 100);
      if (typeof change === 'string') return outcomeOf(request, 'rejected', clock.now(), change);
      const previous = control.current(request.target);
      try {
        const config = await control.configure(request.target, change, opts);
        return outcomeOf(request, 'succeeded', clock.now(), undefined, { previous: previous ?? null, config });
      } catch (err) {
        return outcomeOf(request, 'failed', clock.now(), (err as Error)?.message ?? String(err));
      }
    },
    async undo(request, outcome, opts = {}) {
      const control = lookup(request.target);
      const previous = outcome.result?.previous as MonitoringConfig | null | undefined;
      if (!control || !previous) return outcomeOf(request, 'expired', clock.now(), 'no previous monitoring configuration to restore');
      const config = await control.configure(request.target, previous, opts);
      return outcomeOf(request, 'expired', clock.now(), 'monitoring configuration restored', { config });
    },
  };
}

/**
 * An in-memory MonitoringControl: the configuration per target with change listeners. Simulations
 * and tests use it as the NF side; a real NF agent implements MonitoringControl over its collector.
 */
export interface MonitoringRegistry extends MonitoringControl {
  onChange(listener: (target: string, config: MonitoringConfig) => void): () => void;
}

export function createMonitoringRegistry(defaults: MonitoringConfig = { mode: 'aggregate', samplingPeriodMs: 10_000 }): MonitoringRegistry {
  const configs = new Map<string, MonitoringConfig>();
  const listeners = new Set<(t: string, c: MonitoringConfig) => void>();
  return {
    current: (target) => {
      const c = configs.get(target) ?? defaults;
      return { ...c, metrics: c.metrics ? [...c.metrics] : undefined };
    },
    configure(target, change) {
      const next: MonitoringConfig = { ...(configs.get(target) ?? defaults), ...change };
      if (!change.metrics && 'metrics' in change) delete next.metrics;
      configs.set(target, next);
      for (const l of listeners) l(target, next);
      return { ...next };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
