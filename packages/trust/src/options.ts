import type { Clock, KeyValueStore, Logger, MetricsRegistry, RejectReason, TlaSpec } from '@sliceguard/core';
import { InvalidTrustOptionsError } from './errors.js';
import type { TrustAction } from './tla.js';
import type { TrustTransitionEvent } from './types.js';

/**
 * Tunables of the scoring model. Every field has a documented default (`defaultTrustDefaults()`);
 * docs/trust.md explains each choice.
 */
export interface TrustDefaults {
  /** TLA for agents registered without one, and for agents first seen through evidence. All six attributes, weight 1. */
  tla: TlaSpec;
  /**
   * Base rate a of every opinion: the score of an identity with no evidence. 0.4 — below the
   * `ignoreReports` (0.5) and `reduceWeight` (0.6) thresholds, so a fresh identity starts with no say
   * in correlation and a reduced aggregation weight, exactly where a distrusted one sits (whitewashing
   * gains nothing but the time it takes to be caught again), yet above quarantine (0.25), so a new loop
   * is not switched off before it has done anything.
   */
  baseRate: number;
  /**
   * Prior weight W of the beta/subjective-logic opinion: how many observations the base rate is worth.
   * Default 6. A newcomer falls below quarantine (0.25) after k net failures with a·W/(k+W) < 0.25,
   * i.e. k ≥ 4: an honest agent failing 5 % of the time is quarantined by bad luck with probability
   * ≈ 0.05⁴ ≈ 6·10⁻⁶. An agent bad 95 % of the time with g lucky interactions out of n is quarantined
   * once n > 4g + 0.6·W = 4g + 3.6, i.e. within 20 interactions unless g ≥ 5 (probability ≈ 0.3 %).
   */
  priorWeight: number;
  /** Evidence half-life (the forgetting period). Default 6 h. A TLA's `halfLifeMs` overrides it. */
  halfLifeMs: number;
  /**
   * Negative attribute evidence is forgotten this many times more slowly than positive evidence.
   * Default 4: an on-off attacker's bad phases outlive its good ones, while an honest agent's rare
   * failures stay a small share of its evidence.
   */
  negativeMemory: number;
  /** Default thresholds (a TLA's `thresholds` override them; 0 disables an action). */
  thresholds: Record<TrustAction, number>;
  /** An action is lifted only when the score rises above its threshold + hysteresis. Default 0.1. Revocation is never lifted. */
  hysteresis: number;
  /**
   * An action imposed by evidence stands for at least this many half-lives (the forgetting period),
   * whatever the score does meanwhile: an on-off attacker's good phase cannot buy back what its bad
   * phase lost within one forgetting period. Default 1; 0 disables the hold. Newcomers' initial
   * restrictions (base rate below a threshold) are not held.
   */
  actionHold: number;
  /** Aggregation weight multiplier while `reduceWeight` is active. Default 0.25. */
  reducedWeightFactor: number;
  /** Positive evidence about a quarantined agent counts this much (probation). Default 0.25. */
  probationWeight: number;
  /** Largest share of the score that peers' ratings can take (with full confidence). Default 0.3. */
  indirectShare: number;
  /** One rater's (decayed) rating evidence about one subject is scaled down to at most this mass. Default 4. */
  ratingCap: number;
  /** Rating weight of pre-trusted anchors (domain agents). Default 1. */
  anchorWeight: number;
  /**
   * Referral trust: a rating checked against a confident direct view is one agreement or one
   * contradiction (of this weight) in the rater's referral opinion, which scales its rating weight.
   * It never touches the rater's TLA score, so honest raters who see an on-off attacker's good phase
   * lose nothing but a little say. Default 1; 0 turns the check off.
   */
  credibilityWeight: number;
  /** A rating agrees when |positive share − direct expectation| ≤ this. Default 0.5. */
  credibilityTolerance: number;
  /** Direct evidence mass about the rated subject needed before ratings are checked against it. Default 4. */
  credibilityMinMass: number;
  /** Largest positive or negative weight one evidence record or rating entry may carry. Default 10. */
  maxEvidencePerRecord: number;
  /** Evidence records kept per agent (memory and store). Default 200. */
  evidenceRetention: number;
  /** Transition events kept per agent (memory and store). Default 200. */
  historyRetention: number;
  /** How often every agent is re-evaluated (forgetting moves scores without new evidence). Default 60 s; 0 disables the timer. */
  evaluateIntervalMs: number;
  /** Rater weights (the power iteration) are recomputed at most this often while ratings change. Default 1 s. */
  raterRefreshMs: number;
  /** Negative message_validity evidence per bus rejection reason, attributed to the claimed sender. */
  rejectionWeights: Record<RejectReason, number>;
  /** Rejections of one (sender, reason) count at most `rejectionCapPerBucket` per bucket, so forged floods cannot sink an agent. */
  rejectionBucketMs: number;
  rejectionCapPerBucket: number;
}

/**
 * A claimed sender is only partly attributable: anyone can forge a bad signature or replay an old
 * message in someone else's name, so those reasons weigh little; reasons that need the sender's own
 * valid signature (out of scope) or its own credential state (expired, revoked) weigh fully.
 */
export const DEFAULT_REJECTION_WEIGHTS: Readonly<Record<RejectReason, number>> = Object.freeze({
  malformed: 0,
  bad_signature: 0.1,
  unknown_root: 0,
  bad_credential: 0.2,
  expired: 0.5,
  not_yet_valid: 0.5,
  revoked: 1,
  out_of_scope: 1,
  stale: 0.1,
  future: 0.3,
  replayed: 0.05,
  chunk_integrity: 0.2,
  handler_error: 0,
});

export function defaultTrustDefaults(): TrustDefaults {
  return {
    tla: {
      attributes: {
        security_measures: { weight: 1 },
        compliance: { weight: 1 },
        ssla: { weight: 1 },
        message_validity: { weight: 1 },
        report_accuracy: { weight: 1 },
        fl_quality: { weight: 1 },
      },
    },
    baseRate: 0.4,
    priorWeight: 6,
    halfLifeMs: 6 * 3600_000,
    negativeMemory: 4,
    thresholds: { reduceWeight: 0.6, ignoreReports: 0.5, quarantine: 0.25, revoke: 0.1 },
    hysteresis: 0.1,
    actionHold: 1,
    reducedWeightFactor: 0.25,
    probationWeight: 0.25,
    indirectShare: 0.3,
    ratingCap: 4,
    anchorWeight: 1,
    credibilityWeight: 1,
    credibilityTolerance: 0.5,
    credibilityMinMass: 4,
    maxEvidencePerRecord: 10,
    evidenceRetention: 200,
    historyRetention: 200,
    evaluateIntervalMs: 60_000,
    raterRefreshMs: 1000,
    rejectionWeights: { ...DEFAULT_REJECTION_WEIGHTS },
    rejectionBucketMs: 60_000,
    rejectionCapPerBucket: 1,
  };
}

export interface TrustManagerOptions {
  clock: Clock;
  /** Where scores, evidence and history persist (memoryKv in tests, LevelDB via @sliceguard/store). Omitted: memory only. */
  kv?: KeyValueStore;
  /** Key prefix inside `kv`, so the manager can share an agent's store. Default 'trust/'. */
  keyPrefix?: string;
  logger?: Logger;
  metrics?: MetricsRegistry;
  /** Agent id of the hosting domain agent: the `source` of transition events, and a pre-trusted anchor. Default 'trust-manager'. */
  self?: string;
  defaults?: Partial<TrustDefaults>;
  /** Called once when an agent's score falls below its `revoke` threshold (e.g. the identity package's revocation list). */
  onRevoke?: (agentId: string, event: TrustTransitionEvent) => void | Promise<void>;
}

type NumericKey = { [K in keyof TrustDefaults]: TrustDefaults[K] extends number ? K : never }[keyof TrustDefaults];

const UNIT_FIELDS: NumericKey[] = ['baseRate', 'hysteresis', 'reducedWeightFactor', 'probationWeight', 'indirectShare', 'credibilityTolerance'];
const POSITIVE_FIELDS: NumericKey[] = ['priorWeight', 'halfLifeMs', 'negativeMemory', 'ratingCap', 'maxEvidencePerRecord', 'evidenceRetention', 'historyRetention', 'rejectionBucketMs'];
const NON_NEGATIVE_FIELDS: NumericKey[] = ['actionHold', 'anchorWeight', 'credibilityWeight', 'credibilityMinMass', 'evaluateIntervalMs', 'raterRefreshMs', 'rejectionCapPerBucket'];

/** Merges `given` over the defaults, validates every field and freezes the result. */
export function parseTrustDefaults(given: Partial<TrustDefaults> = {}): Readonly<TrustDefaults> {
  const base = defaultTrustDefaults();
  const merged: TrustDefaults = {
    ...base,
    ...given,
    thresholds: { ...base.thresholds, ...(given.thresholds ?? {}) },
    rejectionWeights: { ...base.rejectionWeights, ...(given.rejectionWeights ?? {}) },
  };
  const bad = (field: string, value: unknown, rule: string): never => {
    throw new InvalidTrustOptionsError(`defaults.${field} must be ${rule} (got ${JSON.stringify(value)})`, { field: `defaults.${field}`, value });
  };
  for (const f of UNIT_FIELDS) {
    const v = merged[f];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(f, v, 'a number between 0 and 1');
  }
  for (const f of POSITIVE_FIELDS) {
    const v = merged[f];
    if (typeof v !== 'number' || !(v > 0)) bad(f, v, 'a number > 0');
  }
  for (const f of NON_NEGATIVE_FIELDS) {
    const v = merged[f];
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) bad(f, v, 'a finite number ≥ 0');
  }
  for (const [k, v] of Object.entries(merged.thresholds)) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(`thresholds.${k}`, v, 'a number between 0 and 1');
  }
  for (const [k, v] of Object.entries(merged.rejectionWeights)) {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) bad(`rejectionWeights.${k}`, v, 'a finite number ≥ 0');
  }
  return Object.freeze(merged);
}
