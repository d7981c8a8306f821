import type { ActionType, AgentLevel, SecurityEventType } from '@sliceguard/core';
import type { CelRuntime, CompiledExpression, CompiledTemplate } from './cel.js';
import type { PolicyLocation } from './errors.js';

/** Which loops a policy applies to; every listed dimension must match (absent = any). */
export interface PolicyScope {
  level?: AgentLevel[];
  domain?: string[];
  slice?: string[];
  subslice?: string[];
  subsliceKind?: string[];
  nfType?: string[];
  agent?: string[];
}
export const SCOPE_KEYS = ['level', 'domain', 'slice', 'subslice', 'subsliceKind', 'nfType', 'agent'] as const;
export type ScopeKey = (typeof SCOPE_KEYS)[number];

/** Where the loop running an engine sits (from the topology's AgentSpec). */
export interface LoopScope {
  agentId?: string;
  level?: AgentLevel;
  domain?: string;
  slice?: string;
  subslice?: string;
  subsliceKind?: string;
  nfType?: string;
}

/** The event selector: the type plus selectors that narrow it (all must hold). */
export interface PolicyTrigger {
  event: SecurityEventType;
  minSeverity?: number;
  maxSeverity?: number;
  /** anomaly/incident: raised at one of these levels. */
  level?: string[];
  /** incident / management: kind; timer: name; delegation: action; ssla_violation: metric. */
  kind?: string[];
  name?: string[];
  action?: string[];
  metric?: string[];
  /** anomaly/incident: evidence carries an indicator of one of these kinds. */
  indicator?: string[];
  /** trust: the new state / the previous state / the agent the trust event is about. */
  to?: string[];
  subject?: string[];
  /** delegation: from these agents; trust: the previous state. */
  from?: string[];
  /** timer: the period at which createPolicyTimers raises this timer. */
  everyMs?: number;
  /** Event target / source equal to one of these. */
  target?: string[];
  source?: string[];
}

export interface ActionStep {
  action: ActionType;
  /** Template (`${cel}`) for the target; defaults to the event's target. */
  target?: CompiledTemplate;
  /** CEL expression giving a list; the step is repeated for each element (`item`, `index`). */
  forEach?: CompiledExpression;
  params: Record<string, unknown>;
  /** Compiled templates inside params, by JSON pointer-ish path. */
  compiledParams: ParamTemplate;
  expiresInMs?: number;
  location: PolicyLocation;
}

export type ParamTemplate =
  | { kind: 'literal'; value: unknown }
  | { kind: 'template'; template: CompiledTemplate }
  | { kind: 'list'; items: ParamTemplate[] }
  | { kind: 'map'; entries: Array<[string, ParamTemplate]> };

export interface PolicyGuards {
  /** After firing for a key, the policy does not fire again for that key within this time. */
  cooldownMs?: number;
  /** At most `count` firings per `windowMs` (sliding) per key. */
  frequency?: { count: number; windowMs: number };
  /** Bounds on a resource that scale_out / scale_in actions must keep. */
  bounds?: { resource: string; min?: number; max?: number };
  /** While a decision of this policy is recent (windowMs), loops matching these may not act on the same target. */
  blocks?: { levels?: AgentLevel[]; agents?: string[]; policies?: string[]; windowMs: number };
  /** Key for cooldown / frequency: per event target (default) or per policy. */
  per: 'target' | 'policy';
}

export interface Policy {
  id: string;
  description?: string;
  scope: PolicyScope;
  on: PolicyTrigger;
  when?: CompiledExpression;
  do: ActionStep[];
  priority: number;
  /** True when the file set `priority` (conflicts are only resolved by explicit priorities). */
  priorityExplicit: boolean;
  guards: PolicyGuards;
  enabled: boolean;
  location: PolicyLocation;
  /** Where each top-level field sits, for conflict reports. */
  fieldLocations: Record<string, PolicyLocation>;
  /** The policy as plain data (what was parsed), for persistence and `policy show`. */
  raw: Record<string, unknown>;
  /** The CEL environment its expressions were compiled in. */
  runtime: CelRuntime;
}

/** A validated, conflict-checked set of policies with a version. */
export interface PolicySet {
  readonly version: number;
  readonly policies: readonly Policy[];
  /** Conflicts resolved by explicit priorities (reported, not refused). */
  readonly resolvedConflicts: readonly import('./conflicts.js').PolicyConflict[];
  get(id: string): Policy | undefined;
}

export const EVENT_TYPES: readonly SecurityEventType[] = [
  'anomaly',
  'incident',
  'delegation',
  'management',
  'timer',
  'ssla_violation',
  'trust',
];
