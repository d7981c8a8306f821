export { createTrustManager, type RateResult, type RegisterOptions, type TrustManager } from './manager.js';
export {
  DEFAULT_REJECTION_WEIGHTS,
  defaultTrustDefaults,
  parseTrustDefaults,
  type TrustDefaults,
  type TrustManagerOptions,
} from './options.js';
export {
  addEvidence,
  capCounts,
  countsAt,
  type DecayingCounts,
  decayFactor,
  type EvidenceCounts,
  type Opinion,
  opinionOf,
} from './opinion.js';
export { resolveTla, type ResolvedTla, TLA_EVIDENCE_SOURCES, TRUST_ACTIONS, type TrustAction } from './tla.js';
export {
  type AttributeView,
  type PeerRating,
  type RatingsMessage,
  STATUS_OF_ACTION,
  TRUST_STATUSES,
  type TrustSnapshot,
  type TrustStatus,
  type TrustTransitionEvent,
} from './types.js';
export {
  credentialEvidence,
  type CredentialEvidenceOptions,
  type CredentialLike,
  type DelegationObservation,
  delegationEvidence,
  type FlUpdateObservation,
  flUpdateEvidence,
  locationEvidence,
  rejectionEvidence,
  reportEvidence,
  type ReportOutcome,
  validMessagesEvidence,
} from './evidence.js';
export {
  type AttachOptions,
  createRatingReporter,
  MAX_RATINGS_PER_MESSAGE,
  parseRatingsMessage,
  type RatingReporter,
  type RatingReporterOptions,
  ratingsSubject,
} from './ratings.js';
export {
  CorruptTrustStateError,
  InvalidEvidenceError,
  InvalidRatingError,
  InvalidTlaError,
  InvalidTrustOptionsError,
  TRUST_ERROR_CODES,
  TrustClosedError,
  TrustError,
  TrustStoreError,
} from './errors.js';
export {
  type EvaluationOptions,
  type EvaluationReport,
  evaluateTrust,
  evaluateTrustSeeds,
  SCENARIOS,
  type ScenarioName,
  type ScenarioResult,
  type ScenarioSummary,
  type Spread,
  summarizeEvaluation,
  type TargetCheck,
} from './evaluation.js';
