/**
 * Loop lifecycle (DESIGN.md §1), owned by the domain's Security Orchestrator:
 *
 *   instantiated → active ⇄ inactive → updating → terminated
 *
 * `updating` is entered from active or inactive and returns to either when the update is applied;
 * every non-final state may be terminated. The table is the single source of truth.
 */
export const LOOP_STATES = ['instantiated', 'active', 'inactive', 'updating', 'terminated'] as const;
export type LoopState = (typeof LOOP_STATES)[number];

export const LOOP_TRANSITIONS: Readonly<Record<LoopState, readonly LoopState[]>> = {
  instantiated: ['active', 'inactive', 'terminated'],
  active: ['inactive', 'updating', 'terminated'],
  inactive: ['active', 'updating', 'terminated'],
  updating: ['active', 'inactive', 'terminated'],
  terminated: [],
};

export function canTransition(from: LoopState, to: LoopState): boolean {
  return LOOP_TRANSITIONS[from].includes(to);
}

export interface LifecycleTransition {
  loopId: string;
  from: LoopState;
  to: LoopState;
  reason: string;
  /** Who asked (agent id of the orchestrator, 'self', an operator…). */
  by: string;
  at: number;
}
