import type { RejectReason, TrustEvidence } from '@sliceguard/core';

/**
 * Adapters: small pure functions that turn the running system's signals into TrustEvidence. Agents,
 * the federation coordinator and the domain agent call them and hand the result to `trust.record()`.
 * Each documents how much one observation weighs.
 */

/** The fields of an identity credential the trust manager looks at (structurally compatible with @sliceguard/identity's Credential). */
export interface CredentialLike {
  claims: { agentId: string; notBefore: number; expiresAt: number };
}

export interface CredentialEvidenceOptions {
  /** A valid credential closer to expiry than this earns only half a positive observation. Default 1 h. */
  renewWithinMs?: number;
  /** Whether the credential is on a revocation list (checked by the caller's TrustStore). */
  revoked?: boolean;
  source?: string;
}

/** security_measures: a valid credential is one positive observation; expired, not yet valid or revoked one negative. */
export function credentialEvidence(credential: CredentialLike, now: number, options: CredentialEvidenceOptions = {}): TrustEvidence {
  const { agentId, notBefore, expiresAt } = credential.claims;
  const renewWithinMs = options.renewWithinMs ?? 3600_000;
  const base = { subject: agentId, attribute: 'security_measures' as const, source: options.source ?? 'self', at: now };
  if (options.revoked) return { ...base, positive: 0, negative: 1, reason: 'credential revoked' };
  if (now < notBefore) return { ...base, positive: 0, negative: 1, reason: 'credential not yet valid' };
  if (now >= expiresAt) return { ...base, positive: 0, negative: 1, reason: 'credential expired' };
  if (expiresAt - now < renewWithinMs) return { ...base, positive: 0.5, negative: 0, reason: 'credential valid but close to expiry' };
  return { ...base, positive: 1, negative: 0, reason: 'credential valid' };
}

/** compliance: the observed operating location matches the declared one (positive) or not (negative, weight 2: a rule breach). */
export function locationEvidence(agentId: string, declared: string, observed: string, at: number, source = 'self'): TrustEvidence {
  const match = declared.trim().toLowerCase() === observed.trim().toLowerCase();
  return {
    subject: agentId,
    attribute: 'compliance',
    positive: match ? 1 : 0,
    negative: match ? 0 : 2,
    source,
    at,
    reason: match ? `operating in declared location ${declared}` : `declared location ${declared}, observed ${observed}`,
  };
}

export interface DelegationObservation {
  /** The delegate (who was asked to act). */
  agentId: string;
  /** Who delegated (the observer). */
  delegator: string;
  requestedAt: number;
  /** When the delegate acknowledged (accepted/rejected); undefined if it never did. */
  acknowledgedAt?: number;
  deadline: number;
  /** When the delegate reported `done`; undefined if not (yet). */
  completedAt?: number;
  /** Expected acknowledgement latency (e.g. from the SSLA). Default 1000 ms. */
  expectedAckMs?: number;
  /** Whether the delegate rejected the request (a legitimate answer: not a breach by itself). */
  rejected?: boolean;
}

/**
 * ssla: one observation per delegation. Done by the deadline: positive 1 (0.5 if the ack was late);
 * deadline missed or never acknowledged: negative 1; rejected promptly: positive 0.5.
 */
export function delegationEvidence(o: DelegationObservation, at: number): TrustEvidence {
  const expected = o.expectedAckMs ?? 1000;
  const base = { subject: o.agentId, attribute: 'ssla' as const, source: o.delegator, at };
  if (o.acknowledgedAt === undefined) return { ...base, positive: 0, negative: 1, reason: 'delegation never acknowledged' };
  const ackLatency = o.acknowledgedAt - o.requestedAt;
  const lateAck = ackLatency > expected;
  if (o.rejected) return { ...base, positive: lateAck ? 0.25 : 0.5, negative: lateAck ? 0.25 : 0, reason: `delegation rejected after ${ackLatency} ms` };
  if (o.completedAt !== undefined && o.completedAt <= o.deadline) {
    return { ...base, positive: lateAck ? 0.5 : 1, negative: lateAck ? 0.5 : 0, reason: `delegation done ${o.deadline - o.completedAt} ms before its deadline, ack after ${ackLatency} ms` };
  }
  if (o.completedAt !== undefined || at > o.deadline) {
    return { ...base, positive: 0, negative: 1, reason: `delegation deadline missed${o.completedAt !== undefined ? ` by ${o.completedAt - o.deadline} ms` : ''}` };
  }
  return { ...base, positive: lateAck ? 0 : 0.25, negative: lateAck ? 0.25 : 0, reason: `delegation acknowledged after ${ackLatency} ms, still running` };
}

export type ReportOutcome = 'confirmed' | 'contradicted';

/** report_accuracy: an incident/anomaly report confirmed (positive 1) or contradicted (negative 1) by peers or by the outcome. */
export function reportEvidence(agentId: string, outcome: ReportOutcome, source: string, at: number, reason?: string): TrustEvidence {
  return {
    subject: agentId,
    attribute: 'report_accuracy',
    positive: outcome === 'confirmed' ? 1 : 0,
    negative: outcome === 'contradicted' ? 1 : 0,
    source,
    at,
    reason: reason ?? `report ${outcome}`,
  };
}

export interface FlUpdateObservation {
  agentId: string;
  accepted: boolean;
  /** Why the coordinator rejected it (shape, non-finite, norm, validation loss…). */
  reason?: string;
  /** Distance of the update from the aggregate, and the median distance of the round's updates. */
  distance?: number;
  medianDistance?: number;
  /** The coordinator's id. */
  source?: string;
}

/**
 * fl_quality: rejected update → negative 1. Accepted update → positive 1 when its distance from the
 * aggregate is within 2× the round's median, sliding to negative 1 at 4× the median (an outlier that
 * slipped through the checks still costs trust).
 */
export function flUpdateEvidence(o: FlUpdateObservation, at: number): TrustEvidence {
  const base = { subject: o.agentId, attribute: 'fl_quality' as const, source: o.source ?? 'fl-coordinator', at };
  if (!o.accepted) return { ...base, positive: 0, negative: 1, reason: `update rejected${o.reason ? `: ${o.reason}` : ''}` };
  if (o.distance === undefined || o.medianDistance === undefined || !(o.medianDistance > 0) || !Number.isFinite(o.distance)) {
    return { ...base, positive: 1, negative: 0, reason: 'update accepted' };
  }
  const ratio = o.distance / o.medianDistance;
  const bad = Math.min(1, Math.max(0, (ratio - 2) / 2));
  return {
    ...base,
    positive: 1 - bad,
    negative: bad,
    reason: `update accepted, distance ${ratio.toFixed(2)}× the median`,
  };
}

/** message_validity: a bus rejection attributed to the claimed sender, weighted per reason (see DEFAULT_REJECTION_WEIGHTS). */
export function rejectionEvidence(
  sender: string,
  reason: RejectReason,
  subject: string,
  at: number,
  weights: Readonly<Record<RejectReason, number>>,
): TrustEvidence | undefined {
  const w = weights[reason] ?? 0;
  if (!(w > 0)) return undefined;
  return { subject: sender, attribute: 'message_validity', positive: 0, negative: w, source: 'bus', at, reason: `message rejected (${reason}) on ${subject}` };
}

/** message_validity: verified messages seen from a sender over a period — one positive observation per period with traffic. */
export function validMessagesEvidence(sender: string, count: number, at: number, source = 'bus'): TrustEvidence | undefined {
  if (!(count > 0)) return undefined;
  return { subject: sender, attribute: 'message_validity', positive: 1, negative: 0, source, at, reason: `${count} verified message(s)` };
}
