export { actuatorEnforcement } from './enforcement.js';
export type { ActuatorEnforcementOptions } from './enforcement.js';
export {
  InvalidLoopConfigError,
  InvalidTransitionError,
  KnowledgeError,
  LoopTerminatedError,
  MAPE_ERROR_CODES,
  MapeError,
} from './errors.js';
export { DEFAULT_RETENTION, KNOWLEDGE_KINDS, openKnowledge } from './knowledge.js';
export type {
  Knowledge,
  KnowledgeKind,
  KnowledgeOptions,
  KnowledgeQuery,
  KnowledgeRecord,
  KnowledgeRetention,
  KnowledgeStats,
} from './knowledge.js';
export { canTransition, LOOP_STATES, LOOP_TRANSITIONS } from './lifecycle.js';
export type { LifecycleTransition, LoopState } from './lifecycle.js';
export { createLoop, STAGES, validateMonitoringConfig } from './loop.js';
export type { EventResult, Loop, LoopListener, LoopNotice, LoopOptions, LoopQueueOptions, LoopStats, Stage, StageTiming, Submission } from './loop.js';
export { createLoopMetrics } from './metrics.js';
export type { LoopMetrics } from './metrics.js';
export { MONITORING_GRANULARITIES } from './stages.js';
export type {
  AnalyticsEngine,
  DecisionStage,
  EnforcementService,
  FlowStat,
  MonitoredSample,
  MonitoringConfig,
  MonitoringGranularity,
  MonitoringSystem,
  StageContext,
} from './stages.js';
