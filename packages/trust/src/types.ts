import type { TlaAttribute, TrustEvent, TrustEvidence } from '@sliceguard/core';
import type { TrustAction } from './tla.js';

/** The most severe action in force, as one label (the `from`/`to` of transition events). */
export const TRUST_STATUSES = ['trusted', 'weight_reduced', 'reports_ignored', 'quarantined', 'revoked'] as const;
export type TrustStatus = (typeof TRUST_STATUSES)[number];

export const STATUS_OF_ACTION: Readonly<Record<TrustAction, TrustStatus>> = Object.freeze({
  reduceWeight: 'weight_reduced',
  ignoreReports: 'reports_ignored',
  quarantine: 'quarantined',
  revoke: 'revoked',
});

export interface AttributeView {
  attribute: TlaAttribute;
  /** Normalised TLA weight (largest = 1; 0 = does not count). */
  weight: number;
  /** Decayed positive and negative evidence now. */
  positive: number;
  negative: number;
  belief: number;
  disbelief: number;
  uncertainty: number;
  expectation: number;
  required?: number;
  /** Expectation below the TLA's required level (only once the attribute has evidence). */
  breached: boolean;
}

/** Everything the manager knows about one agent, as plain JSON. */
export interface TrustSnapshot {
  agentId: string;
  /** Combined score in [0, 1] (direct, capped by breached required attributes, then peers' ratings). */
  score: number;
  /** Score from direct evidence only. */
  direct: number;
  /** Uncertainty of the direct opinion (1 = no evidence). */
  uncertainty: number;
  /** Expectation of the peers' ratings (base rate when nobody rated) and its weight in the score. */
  indirect: number;
  indirectShare: number;
  raters: number;
  weight: number;
  /** Referral trust: how far this agent's own ratings of peers are believed (scales their weight). */
  referral: number;
  status: TrustStatus;
  actions: TrustAction[];
  /** Actions imposed by evidence and the earliest time each may be lifted. */
  heldUntil: Partial<Record<TrustAction, number>>;
  anchor: boolean;
  firstSeen: number;
  attributes: AttributeView[];
  breaches: TlaAttribute[];
  revocationPending: boolean;
}

/**
 * A change of the actions in force for an agent: a core TrustEvent (policies select `type: trust`)
 * plus the actions added / lifted and the evidence that caused it.
 */
export interface TrustTransitionEvent extends TrustEvent {
  from: TrustStatus;
  to: TrustStatus;
  added: TrustAction[];
  lifted: TrustAction[];
  active: TrustAction[];
  /** The evidence whose arrival triggered the re-evaluation (absent when forgetting alone moved the score). */
  cause?: TrustEvidence;
  /** The agent's most recent evidence (newest last), for a person or a policy to judge the transition. */
  evidence: TrustEvidence[];
  attributes: Pick<AttributeView, 'attribute' | 'expectation' | 'uncertainty' | 'breached'>[];
  thresholds: Record<TrustAction, number>;
}

/** One entry of a peer rating message: what a rater observed of a peer since its last message. */
export interface PeerRating {
  subject: string;
  positive: number;
  negative: number;
  reason?: string;
}

/** The payload agents publish on `systemSubject(domain, 'trust', 'ratings')`. */
export interface RatingsMessage {
  v: 1;
  ratings: PeerRating[];
}
