import type { ActionOutcome, ActionType, Decision } from '@sliceguard/core';

/**
 * What an agent or coordinator exposes over HTTP. Every provider is optional: an NF agent has no
 * models, a coordinator has no incidents; routes of an absent provider answer 404
 * API_ERR_FEATURE_UNAVAILABLE. Providers throw SliceguardErrors (NotFoundError, ConflictError,
 * their own package errors) to refuse; the API maps them to the error format. The view types name
 * the fields the API documents and have no index signatures, so records of other packages
 * (interfaces with more fields) can be returned as they are — every field is served.
 */

/** Who made an authenticated request (from a bearer token or a signed request). */
export interface ApiPrincipal {
  id: string;
  method: 'token' | 'signature' | 'none';
  scopes: readonly string[];
}

export interface StageTiming {
  count: number;
  lastMs: number;
  meanMs: number;
  maxMs?: number;
}

export interface LoopStatus {
  agentId: string;
  level: string;
  lifecycle: string;
  iteration: number;
  /** By stage: `ms`, `ae`, `de`, `es`. */
  stageTimings: Record<string, StageTiming>;
  config?: Record<string, unknown>;
}

export interface AgentStatus {
  agentId: string;
  role: 'agent' | 'coordinator';
  startedAt: number;
  loops: LoopStatus[];
  domain?: string;
  version?: string;
}

export interface StatusProvider {
  status(): Promise<AgentStatus> | AgentStatus;
}

export interface ReadinessProvider {
  /** Ready when the bus is connected, the store is open, loops started… */
  readiness(): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }>;
}

/** An incident as the store keeps it (IncidentRecord): all its fields are served as they are. */
export interface IncidentView {
  id: string;
  status?: string;
}

export interface IncidentsProvider {
  list(query: { status?: string; since?: number; limit: number }): Promise<IncidentView[]>;
  get(id: string): Promise<IncidentView | undefined>;
}

export interface DecisionView extends Decision {
  outcomes?: ActionOutcome[];
}

export interface DecisionsProvider {
  list(query: { since?: number; limit: number; eventId?: string }): Promise<DecisionView[]>;
  get(id: string): Promise<DecisionView | undefined>;
}

export interface TrustScoreView {
  agentId: string;
  score: number;
  weight: number;
  quarantined: boolean;
  uncertainty?: number;
  attributes?: Record<string, number>;
  status?: string;
}

export interface TrustProvider {
  scores(): Promise<TrustScoreView[]>;
  score(agentId: string): Promise<TrustScoreView | undefined>;
}

export interface ModelView {
  modelId: string;
  version: number;
  updatedAt?: number;
  parameters?: number;
  round?: number;
}

export interface RoundView {
  round: number;
  status: string;
  modelId?: string;
  startedAt?: number;
  endedAt?: number;
  participants?: number;
  accepted?: number;
  rejected?: number;
  aggregator?: string;
}

export interface ModelsProvider {
  models(): Promise<ModelView[]>;
  rounds(query: { limit: number }): Promise<RoundView[]>;
  round(round: number): Promise<RoundView | undefined>;
}

export interface PolicyView {
  id: string;
  version: number;
  sha256: string;
  text?: string;
  updatedAt?: number;
  author?: string;
}

export interface PoliciesProvider {
  list(): Promise<PolicyView[]>;
  get(id: string): Promise<PolicyView | undefined>;
  /** Validates (syntax, conflicts with the loaded set) and activates a new policy. */
  add(input: { id?: string; text: string }, by: ApiPrincipal): Promise<PolicyView>;
  replace(id: string, input: { text: string }, by: ApiPrincipal): Promise<PolicyView>;
  remove(id: string, by: ApiPrincipal): Promise<void>;
}

export interface LoopReconfiguration {
  samplingMs?: number;
  metrics?: string[];
  granularity?: 'aggregate' | 'per_flow';
  thresholds?: Record<string, number>;
  params?: Record<string, unknown>;
}

export interface LoopControlProvider {
  activate(loopId: string, by: ApiPrincipal): Promise<LoopStatus>;
  deactivate(loopId: string, reason: string | undefined, by: ApiPrincipal): Promise<LoopStatus>;
  reconfigure(loopId: string, change: LoopReconfiguration, by: ApiPrincipal): Promise<LoopStatus>;
}

export interface MitigationRequest {
  type: ActionType;
  target: string;
  params: Record<string, unknown>;
  expiresInMs?: number;
  reason: string;
}

export interface MitigationProvider {
  /** Executes an operator's manual action through the loop's Enforcement Service. */
  mitigate(request: MitigationRequest, by: ApiPrincipal): Promise<ActionOutcome>;
}

export interface AgentProviders {
  status?: StatusProvider;
  readiness?: ReadinessProvider;
  incidents?: IncidentsProvider;
  decisions?: DecisionsProvider;
  trust?: TrustProvider;
  models?: ModelsProvider;
  policies?: PoliciesProvider;
  loops?: LoopControlProvider;
  mitigation?: MitigationProvider;
}
