import type { AgentLevel } from './types.js';

/**
 * Security events flow from Analytics to Decision, between loops, and into policies. Every event has
 * a stable id, the time it happened (clock ms), the loop that raised it and what it is about.
 * Policies select on `type` and read the rest through CEL, so fields are plain JSON.
 */
export interface EventBase {
  id: string;
  at: number;
  /** Agent id of the loop that raised the event. */
  source: string;
  /** The managed entity the event is about (NF id, sub-slice id, slice id, or a source address). */
  target: string;
  /** 0..1; higher is worse. */
  severity: number;
  /** Correlates events, delegations and outcomes of one incident across loops. */
  correlationId?: string;
}

export interface MetricContribution {
  metric: string;
  /** Share of the anomaly score attributed to this metric (non-negative; sums to ≤ 1). */
  share: number;
}

/** What an analytics engine saw: enough for a person or a higher loop to judge the alert. */
export interface Evidence {
  detector: string;
  score: number;
  threshold: number;
  contributors: MetricContribution[];
  window: { start: number; end: number };
  /** Attack indicators such as source addresses, URLs, message types. */
  indicators?: Indicator[];
}

export interface Indicator {
  kind: 'source' | 'path' | 'signaling' | 'metric' | string;
  value: string;
}

export interface AnomalyEvent extends EventBase {
  type: 'anomaly';
  level: AgentLevel;
  evidence: Evidence;
}

/** A correlated incident (k-of-n anomalous children, shared indicators) raised by a higher loop. */
export interface IncidentEvent extends EventBase {
  type: 'incident';
  level: AgentLevel;
  kind: string;
  /** The child events this incident correlates. */
  children: string[];
  evidence: Evidence;
}

export interface DelegationEvent extends EventBase {
  type: 'delegation';
  action: string;
  params: Record<string, unknown>;
  deadline: number;
  from: string;
}

export interface ManagementEvent extends EventBase {
  type: 'management';
  kind: 'scale' | 'topology' | 'lifecycle' | 'policy' | 'trust' | 'revocation' | string;
  details: Record<string, unknown>;
}

export interface TimerEvent extends EventBase {
  type: 'timer';
  name: string;
}

export interface SslaViolationEvent extends EventBase {
  type: 'ssla_violation';
  metric: 'time_to_detect' | 'time_to_mitigate' | 'availability' | string;
  target_value: number;
  observed: number;
}

export interface TrustEvent extends EventBase {
  type: 'trust';
  subject: string;
  from: string;
  to: string;
  score: number;
  reason: string;
}

export type SecurityEvent =
  | AnomalyEvent
  | IncidentEvent
  | DelegationEvent
  | ManagementEvent
  | TimerEvent
  | SslaViolationEvent
  | TrustEvent;

export type SecurityEventType = SecurityEvent['type'];
