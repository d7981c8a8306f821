import type { ActionOutcome, AgentLevel, Decision, FlatWeights, SecurityEvent, TrustEvidence, WeightTensorLayout } from '@sliceguard/core';

/** A window of metric samples as the monitoring stage saw it (rows in `metrics` order). */
export interface MetricWindowRecord {
  id: string;
  /** Agent or NF the samples came from. */
  source: string;
  start: number;
  end: number;
  metrics: string[];
  samples: number[][];
}

export const INCIDENT_STATUSES = ['open', 'mitigating', 'escalated', 'resolved', 'dismissed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** An incident a loop is handling: the events (with their evidence) and what was done about it. */
export interface IncidentRecord {
  id: string;
  /** Agent id of the loop that owns the incident. */
  agentId: string;
  level: AgentLevel;
  kind: string;
  target: string;
  severity: number;
  status: IncidentStatus;
  openedAt: number;
  updatedAt: number;
  resolvedAt?: number;
  correlationId?: string;
  /** The anomaly / incident events, each carrying its evidence. */
  events: SecurityEvent[];
  decisionIds: string[];
  actionIds: string[];
  note?: string;
}

export const DELEGATION_STATUSES = ['pending', 'accepted', 'rejected', 'done', 'failed', 'expired'] as const;
export type DelegationStatus = (typeof DELEGATION_STATUSES)[number];

/** A delegation this loop sent (outgoing) or received (incoming) and has not closed yet. */
export interface DelegationRecord {
  id: string;
  direction: 'outgoing' | 'incoming';
  from: string;
  to: string;
  action: string;
  target: string;
  params: Record<string, unknown>;
  deadline: number;
  status: DelegationStatus;
  createdAt: number;
  updatedAt: number;
  correlationId?: string;
  incidentId?: string;
  outcome?: ActionOutcome;
}

/** Core TrustEvidence plus the id it is stored under. */
export interface TrustEvidenceRecord extends TrustEvidence {
  id: string;
}

/** A model's weights at a version (federated round or local training). */
export interface ModelCheckpointRecord {
  id: string;
  modelId: string;
  version: number;
  round?: number;
  at: number;
  weights: FlatWeights;
  /** Free-form numbers: loss, samples, number of clients… */
  metrics?: Record<string, number>;
}

/** One change to a policy: add / replace carry the full text, remove does not. */
export interface PolicyVersionRecord {
  id: string;
  policyId: string;
  version: number;
  change: 'add' | 'replace' | 'remove';
  text?: string;
  /** SHA-256 hex of `text` (empty string for remove). */
  sha256: string;
  author: string;
  at: number;
}

export const LIFECYCLE_STATES = ['instantiated', 'active', 'inactive', 'updating', 'terminated'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/** What a loop needs to resume after a restart. */
export interface LoopStateRecord {
  agentId: string;
  lifecycle: LifecycleState;
  /** Run-time configuration (sampling period, metrics, thresholds…), as last reconfigured. */
  config: Record<string, unknown>;
  iteration: number;
  updatedAt: number;
  /** Anything else the loop wants back (detector state, cooldown timers…), JSON only. */
  extra?: Record<string, unknown>;
}

export type { ActionOutcome, Decision, WeightTensorLayout };
