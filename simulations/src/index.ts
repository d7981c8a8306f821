export { ATTACK_KINDS, type AttackKind, type AttackWindow, flashCrowd, hulk, signalingStorm, slowloris, volumetricDos } from './attacks.js';
export { type CapacityView, capacityOf, filterGate, fixedCapacity, type GateVerdict, manoCapacity, type NfCapacity, OPEN_GATE, type TrafficGate } from './control.js';
export { DEFAULT_START_MS, type EngineOptions, poisson, type RunOptions, type RunResult, SimulationEngine } from './engine.js';
export { InvalidSimulationOptionsError, SimulationError, SimulationRunError, UnknownNfError, UnknownScenarioError } from './errors.js';
export * from './models/index.js';
export { emptyFlow, type Flow, scaleFlow, type TrafficClass, type TrafficGenerator } from './traffic.js';
export { DailyPattern, type DailyPatternOptions, httpUsers, type HttpUsersOptions, ranUsers, type RanUsersOptions } from './workload.js';
export { type FeedSample, type MetricFeed, type TickTruth, type TruthListener, World, type WorldOptions } from './world.js';
export { type DetectionQuality, evaluate, type EvaluateOptions, type Figures, MITIGATION_TYPES, type WindowFigures } from './evaluate.js';
export {
  FAULT_KINDS,
  type FaultHandler,
  type FaultKind,
  type FaultSpec,
  noSecurityLayer,
  recordingActuator,
  recordManoEvents,
  type SecurityLayer,
  type SecurityLayerContext,
  type SecurityLayerFactory,
} from './layer.js';
export {
  type ActionRow,
  type EventRow,
  type FaultRow,
  type FlRoundRow,
  type MessageRow,
  Recorder,
  type SeriesPoint,
  type TrustRow,
  type VerdictRow,
} from './recorder.js';
export { renderHtml } from './report/html.js';
export type { Check, RunInfo, SimulationReport } from './report/model.js';
export { type RunScenarioOptions, runScenario, type ScenarioResult } from './runner.js';
export { findScenario, SCENARIO_NAMES, SCENARIOS, type ScenarioContext, type ScenarioDefinition, type ScenarioSetup } from './scenarios.js';
export { createProgressReporter, type ProgressReporter } from './progress.js';
export { type AgentsLayerOptions, agentsSecurityLayer, feedCollector, RecordedDetector } from './agents-layer.js';
export { processesSecurityLayer } from './processes-layer.js';
export { placeAgents } from './host-protocol.js';
