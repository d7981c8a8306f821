/**
 * The trust contract between the Trust Manager (packages/trust) and everything that produces
 * evidence (bus rejections, delegations, FL updates, report accuracy) or consumes scores
 * (aggregation weights, correlation, quarantine).
 */
export const TLA_ATTRIBUTES = [
  'security_measures', // measures in place (credential valid, VSFs deployed, patch level)
  'compliance', // regulations, e.g. declared vs observed operating location
  'ssla', // SLA / SSLA fulfilment: acknowledgement latency, missed deadlines
  'message_validity', // bus rejections attributed to the sender
  'report_accuracy', // incidents confirmed / contradicted by peers and outcomes
  'fl_quality', // federated updates accepted / rejected, distance from the aggregate
] as const;
export type TlaAttribute = (typeof TLA_ATTRIBUTES)[number];

export interface TrustEvidence {
  /** Agent id the evidence is about. */
  subject: string;
  attribute: TlaAttribute;
  /** Positive (good) and negative (bad) observations; weights may be fractional. */
  positive: number;
  negative: number;
  /** Who observed it (agent id, or 'self' for the trust manager's own checks). */
  source: string;
  at: number;
  reason?: string;
}

export interface TrustSink {
  record(evidence: TrustEvidence): void;
}

export interface TrustView {
  /** Expected trust in [0, 1]; newcomers get the base rate. */
  score(agentId: string): number;
  /** Aggregation / correlation weight in [0, 1] after thresholds are applied. */
  weight(agentId: string): number;
  isQuarantined(agentId: string): boolean;
}
