import type { ActionOutcome, Decision, DecisionEngine, Sample, SecurityEvent } from '@sliceguard/core';

/**
 * The four stages of a closed loop (DESIGN.md §1). The loop kernel only knows these interfaces;
 * agents/ plugs in concrete stages for each level.
 */

export const MONITORING_GRANULARITIES = ['aggregate', 'per_flow'] as const;
export type MonitoringGranularity = (typeof MONITORING_GRANULARITIES)[number];

/** Programmable monitoring: what the MS collects and how often (changeable at run time). */
export interface MonitoringConfig {
  /** Period of the loop's monitoring tick, ms (> 0). */
  samplingPeriodMs: number;
  /** Aggregate statistics only, or per-flow statistics as well (finer, costlier). */
  granularity: MonitoringGranularity;
  /** Metrics to collect; undefined = every metric the collector exposes. */
  metrics?: readonly string[];
}

/** Per-flow statistics (e.g. per source address) that a per-flow MS attaches to a sample. */
export interface FlowStat {
  /** The flow key, e.g. a source address or a (source, path) pair. */
  key: string;
  values: Readonly<Record<string, number>>;
}

/** A monitoring sample; `flows` only when the MS runs at per-flow granularity. */
export interface MonitoredSample extends Sample {
  flows?: readonly FlowStat[];
}

export interface StageContext {
  loopId: string;
  now: number;
  signal?: AbortSignal;
}

/** MS: collects and pre-processes data about the managed entity on each tick. */
export interface MonitoringSystem {
  readonly name: string;
  collect(context: StageContext): Promise<MonitoredSample[]>;
  /** Applies a new monitoring configuration (the loop calls it on reconfigure). */
  configure(config: MonitoringConfig): void | Promise<void>;
  close?(): Promise<void>;
}

/**
 * AE: turns samples (NF level) or children's reports (higher levels) into the loop's own events.
 * `tick` runs once per period for time-based work such as closing correlation windows.
 */
export interface AnalyticsEngine {
  readonly name: string;
  analyzeSample?(sample: MonitoredSample, context: StageContext): Promise<SecurityEvent[]>;
  analyzeReport?(report: SecurityEvent, context: StageContext): Promise<SecurityEvent[]>;
  tick?(context: StageContext): Promise<SecurityEvent[]>;
  /** Called when monitoring is reconfigured (e.g. the metric set changed). */
  configure?(config: MonitoringConfig): void;
  reset?(): void;
}

/** DE: the core DecisionEngine contract (ECA policies in @sliceguard/policy, or built-in rules). */
export type DecisionStage = DecisionEngine;

/** ES: executes a decision's actions (through actuators) and returns their outcomes, in order. */
export interface EnforcementService {
  enforce(decision: Decision, options?: { signal?: AbortSignal }): Promise<ActionOutcome[]>;
}
