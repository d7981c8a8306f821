import type { TlaAttribute } from './trust.js';

/**
 * Specs attached to topology entities (topology/ parses and validates them; trust/ and policy/
 * give them meaning). Durations are milliseconds.
 */
export interface TlaAttributeSpec {
  /** Relative weight in the combined score (normalised over the attributes present). */
  weight: number;
  /** Minimum expected trust for this attribute (0..1); below it the attribute is in breach. */
  required?: number;
}

export interface TlaThresholds {
  /** Below: lower weight in federated aggregation. */
  reduceWeight?: number;
  /** Below: the agent's reports are ignored in correlation. */
  ignoreReports?: number;
  /** Below: the agent's loop is deactivated by the security orchestrator. */
  quarantine?: number;
  /** Below: the agent's credential is revoked. */
  revoke?: number;
}

export interface TlaSpec {
  attributes: Partial<Record<TlaAttribute, TlaAttributeSpec>>;
  thresholds?: TlaThresholds;
  /** Declared operating location (ISO country or site), checked against the observed one. */
  location?: string;
  /** Evidence half-life for forgetting; default set by the trust manager. */
  halfLifeMs?: number;
}

export interface SslaSpec {
  /** From attack onset to the first anomaly/incident event. */
  timeToDetectMs?: number;
  /** From detection to a successful mitigation outcome. */
  timeToMitigateMs?: number;
  /** Fraction of time the managed service meets its service level (0..1). */
  availability?: number;
}
