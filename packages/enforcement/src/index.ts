export { callbackActuator, notifyActuator } from './callback.js';
export {
  ENFORCEMENT_ERROR_CODES,
  EnforcementError,
  EnforcementOptionsError,
  InvalidActionParamsError,
  UnknownTargetError,
  WebhookError,
} from './errors.js';
export {
  createTrafficFilter,
  type FilterAction,
  type FilterRule,
  type FilterVerdict,
  sourceMatches,
  type TrafficFilter,
  type TrafficFilterOptions,
} from './filter.js';
export { isUndoable, type UndoableActuator } from './interface.js';
export {
  type AutoscalerOptions,
  createSimulatedMano,
  type ManagedNf,
  type ManoEvent,
  manoManagementEvent,
  type NfResourceState,
  type PendingOperation,
  type ScaleHold,
  type SimulatedMano,
  type SimulatedManoOptions,
  VSF_KINDS,
  type VsfInstance,
  type VsfKind,
} from './mano.js';
export {
  createMonitoringRegistry,
  MONITORING_MODES,
  type MonitoringActuatorOptions,
  type MonitoringConfig,
  type MonitoringControl,
  type MonitoringMode,
  type MonitoringRegistry,
  monitoringActuator,
  parseMonitoringChange,
} from './monitoring.js';
export {
  createEnforcementService,
  type EnforcementService,
  type EnforcementServiceOptions,
  type RepeatOffenderOptions,
  type ScheduledExpiry,
} from './service.js';
export { type WebhookActuatorOptions, type WebhookBody, webhookActuator } from './webhook.js';
