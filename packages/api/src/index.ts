export { decisionsFromRepositories, incidentsFromRepository, type RecordSource } from './adapters.js';
export { type AgentAppOptions, buildAgentApp, defaultAgentAppOptions, openApiDocument } from './app.js';
export {
  API_SCOPES,
  type ApiAuthOptions,
  type ApiScope,
  type Authenticator,
  type BearerToken,
  createAuthenticator,
  type CredentialVerifier,
  credentialOperators,
  type OperatorKey,
  SIGNED_REQUEST_TAG,
  type SignatureVerifier,
  signedRequestMessage,
  signRequest,
} from './auth.js';
export { API_ERRORS, ApiError, type ApiErrorCode, ConflictError, type ErrorBody, FeatureUnavailableError, NotFoundError } from './errors.js';
export { fastifyLogger } from './logger.js';
export { createPromRegistry, type MetricDefinition, type PromMetricsRegistry, SLICEGUARD_METRICS } from './metrics.js';
export type {
  AgentProviders,
  AgentStatus,
  ApiPrincipal,
  DecisionsProvider,
  DecisionView,
  IncidentsProvider,
  IncidentView,
  LoopControlProvider,
  LoopReconfiguration,
  LoopStatus,
  MitigationProvider,
  MitigationRequest,
  ModelsProvider,
  ModelView,
  PoliciesProvider,
  PolicyView,
  ReadinessProvider,
  RoundView,
  StageTiming,
  StatusProvider,
  TrustProvider,
  TrustScoreView,
} from './providers.js';
