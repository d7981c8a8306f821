export { agentDirectory, createAgent, withFallback } from './agent.js';
export type { Agent, AgentOptions, LoopLevel } from './agent.js';
export { ANOMALY_KINDS, classifyContributors } from './analytics/classify.js';
export { correlator, reportKind } from './analytics/correlator.js';
export type { CorrelatorOptions } from './analytics/correlator.js';
export { detectorAnalytics } from './analytics/nf-analytics.js';
export type { DetectorAnalyticsOptions } from './analytics/nf-analytics.js';
export { applyGranularity, collectorMonitoring } from './collectors/collector.js';
export type { CollectRequest, Collector } from './collectors/collector.js';
export { csvReplayCollector } from './collectors/csv.js';
export type { CsvReplayOptions } from './collectors/csv.js';
export { familyOf, parseExposition } from './collectors/exposition.js';
export type { Exposition, ExpositionSample, MetricType, ParseExpositionOptions } from './collectors/exposition.js';
export { prometheusCollector } from './collectors/prometheus.js';
export type { PrometheusCollectorOptions } from './collectors/prometheus.js';
export { pushFeed } from './collectors/push.js';
export type { PushFeed } from './collectors/push.js';
export { createCoordinator, monitoringPatch } from './coordination/coordinator.js';
export type { CoordinationListener, CoordinationNotice, CoordinationOptions, Coordinator, CoordinatorInit, CoordinatorStats } from './coordination/coordinator.js';
export { CONTROL_COMMANDS, parseCoordinationMessage, PROTOCOL_VERSION } from './coordination/messages.js';
export type {
  ControlAckMessage,
  ControlCommand,
  ControlMessage,
  CoordinationMessage,
  DelegationMessage,
  EscalationAckMessage,
  EscalationMessage,
  IncidentOutcomeMessage,
  OutcomeMessage,
  PeerMessage,
  StatusMessage,
} from './coordination/messages.js';
export { defaultDecisionEngine, ESCALATED_KIND } from './decision/default-engine.js';
export type { DefaultDecisionEngineOptions } from './decision/default-engine.js';
export type { AgentFacts, ChildFact, NfFact } from './decision/facts.js';
export { resolveDecisionEngine } from './decision/resolve.js';
export type { ResolveDecisionEngineOptions } from './decision/resolve.js';
export { createDomainAgent } from './domain.js';
export type { DomainAgent, DomainAgentOptions } from './domain.js';
export {
  AGENT_ERROR_CODES,
  AgentConfigError,
  AgentError,
  CollectorError,
  CsvReplayError,
  ExpositionParseError,
  LifecycleCommandError,
  MessageFormatError,
  UnknownAgentError,
} from './errors.js';
export { startTopologyInProcess } from './in-process.js';
export { agentProviders } from './api.js';
export { runAgentProcess } from './process.js';
export type { AgentProcessOptions, RunningAgent } from './process.js';
export type { BusFactory, DomainResources, InProcessTopology, InProcessTopologyOptions } from './in-process.js';
export { createSupervisor } from './supervisor.js';
export type { SupervisedLoop, Supervisor, SupervisorOptions } from './supervisor.js';
export { createNfLearner, federatedLstm, federatedTypes, NF_DETECTORS } from './learning.js';
export type { LearnerEvent, NfDetectorKind, NfLearner, NfLearnerInit, NfLearnerState, NfLearningOptions } from './learning.js';
