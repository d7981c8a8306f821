export {
  aggregatorFromSpec,
  coordinateMedian,
  fedAvg,
  krum,
  multiKrum,
  normClipping,
  trimmedMean,
  trustFiltered,
  trustWeighted,
} from './aggregators.js';
export type {
  AggregationContext,
  AggregationResult,
  Aggregator,
  KrumOptions,
  NormClippingOptions,
  TrimmedMeanOptions,
  TrustFilterOptions,
  WeightedUpdate,
} from './aggregators.js';
export {
  FEDERATION_ERROR_CODES,
  FederationDataError,
  FederationError,
  GossipError,
  InvalidFederationOptionsError,
  LayoutMismatchError,
  NoUpdatesError,
  NotStartedError,
  PersistenceError,
  RoundInProgressError,
  UnknownModelError,
  WeightsDecodeError,
} from './errors.js';
export {
  allFinite,
  checkUpdate,
  cloneWeights,
  decodeWeightsMessage,
  deltaCosine,
  encodeWeightsMessage,
  l2Norm,
  layoutSize,
  squaredDistance,
  UPDATE_REJECT_REASONS,
} from './weights.js';
export type { DecodedWeightsMessage, UpdateCheck, UpdateCheckOptions, UpdateRejectReason } from './weights.js';
export { createCoordinator } from './coordinator.js';
export type {
  Coordinator,
  CoordinatorModel,
  CoordinatorOptions,
  CoordinatorStats,
  AdoptOptions,
  ModelHead,
  PublishedEvent,
  RejectedUpdate,
  RoundOutcome,
  RoundReport,
  UpdateValidation,
} from './coordinator.js';
export { createFederatedClient } from './client.js';
export type { ClientEvent, FederatedClient, FederatedClientOptions, InstallEvent } from './client.js';
export {
  coordinatorIdOf,
  decodeAnnounce,
  decodeGlobal,
  decodeUpdate,
  encodeAnnounce,
  encodeGlobal,
  encodeUpdate,
  FL_TOPICS,
  flSubject,
  isFromCoordinator,
} from './protocol.js';
export type { AnnounceHeader, FlTopic, GlobalHeader, JoinMessage, UpdateHeader } from './protocol.js';
export { createDenseAutoencoder } from './models/dense-autoencoder.js';
export type { DenseAutoencoder, DenseAutoencoderOptions } from './models/dense-autoencoder.js';
export { loadLabeledDataset, parseNumericCsv } from './data.js';
export type { LabeledDataset } from './data.js';
export { detectionScores, quantile } from './metrics.js';
export type { DetectionScores } from './metrics.js';
export { createDomainGossip, DOMAIN_GOSSIP_TOPIC, ensurePromiseWithResolvers, GOSSIP_REJECT_REASONS } from './gossip.js';
export type { DomainGossip, DomainGossipOptions, DomainGossipStats, DomainModel, GossipRejectReason } from './gossip.js';
export { bridgeCrossDomain, combineDomainModels } from './cross-domain.js';
export type { CombinedModel, CrossDomainBridge, CrossDomainBridgeOptions, DomainContribution } from './cross-domain.js';
export { directionEvidence, REJECT_EVIDENCE, screenRound } from './screening.js';
export type { ScreenedUpdate, ScreeningOptions, ScreeningResult } from './screening.js';
export { ATTACKS, DEFAULT_DEFENSES, DEFAULT_GROUPS, evaluateFederation, poisoningTable } from './evaluate.js';
export type { EvaluationArgs, EvaluationRun } from './evaluate-cli.js';
export { EVALUATION_OPTIONS, evaluationOptionsFromArgs, formatEvaluationReport, runEvaluationCommand } from './evaluate-cli.js';
export type {
  AttackKind,
  DatasetGroup,
  Defense,
  F1Summary,
  FederationEvaluationOptions,
  FederationEvaluationReport,
  GroupReport,
  PoisoningCell,
} from './evaluate.js';
export { startCoordinatorService } from './service.js';
export type { CoordinatorService, CoordinatorServiceOptions } from './service.js';
