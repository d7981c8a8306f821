import type { ActionOutcome, ActionRequest } from './actions.js';
import type { SecurityEvent } from './events.js';
import type { AgentLevel } from './types.js';
import type { TrustView } from './trust.js';

/**
 * The Decision Engine contract (packages/policy implements it with ECA policies). Given an event,
 * it returns the decisions to enforce, in order; a decision may also be refused by a guard (it is
 * then returned with `blocked` set, so the loop records it instead of losing it).
 */
export interface DecisionContext {
  agentId: string;
  level: AgentLevel;
  now: number;
  /** Read-only facts the conditions may use (topology entity, loop state, recent counts…). */
  facts?: Record<string, unknown>;
  trust?: TrustView;
}

export interface Decision {
  id: string;
  eventId: string;
  policyId?: string;
  actions: ActionRequest[];
  reason: string;
  /** Set when a guard or a run-time conflict stopped the decision. */
  blocked?: { by: string; reason: string };
  at: number;
}

export interface DecisionEngine {
  decide(event: SecurityEvent, context: DecisionContext): Promise<Decision[]>;
  /** Tells the engine how an action ended (guards such as cooldowns and bounds use it). */
  recordOutcome?(outcome: ActionOutcome): void;
}
