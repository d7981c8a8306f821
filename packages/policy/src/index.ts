export { type CelRuntime, CEL_VARIABLES, createCelRuntime } from './cel.js';
export {
  actionsContradict,
  CONFLICT_KINDS,
  type ConflictKind,
  type ConflictSide,
  detectConflicts,
  type PolicyConflict,
  scopesOverlap,
  triggersOverlap,
} from './conflicts.js';
export {
  type CoordinationClaim,
  type CoordinationRecord,
  type CoordinationVerdict,
  createLoopCoordinator,
  type LoopCoordinator,
  type LoopCoordinatorOptions,
  type RemoteLoopCoordinatorOptions,
  remoteLoopCoordinator,
  type ServeLoopCoordinatorOptions,
  serveLoopCoordinator,
} from './coordinator.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  createPolicyEngine,
  type PolicyEngine,
  type PolicyEngineOptions,
  type PolicyEngineStats,
  type PolicyEvaluationFailure,
  policyAppliesTo,
  triggerMatches,
} from './engine.js';
export {
  POLICY_ERROR_CODES,
  PolicyConflictError,
  PolicyError,
  PolicyIoError,
  type PolicyIssue,
  type PolicyLocation,
  PolicyNotFoundError,
  PolicyOptionsError,
  PolicyValidationError,
} from './errors.js';
export {
  checkPolicies,
  checkPolicyTexts,
  createPolicySet,
  loadPolicies,
  type PolicyCheckReport,
  type PolicyInput,
  parsePolicies,
} from './load.js';
export type { ActionStep, LoopScope, Policy, PolicyGuards, PolicyScope, PolicySet, PolicyTrigger } from './model.js';
export { EVENT_TYPES } from './model.js';
export { MONITORING_MODES, parsePolicyText, TRIGGER_SELECTORS, VSF_KINDS } from './parse.js';
export { createSslaManager, type IncidentTimes, type SslaManager, type SslaManagerOptions, type SslaReport } from './ssla.js';
export { openPolicyStore, type PolicyChange, type PolicyStore, type PolicyStoreOptions } from './store.js';
export { createPolicyTimers, type PolicyTimers, type PolicyTimersOptions } from './timers.js';
