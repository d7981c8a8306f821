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
