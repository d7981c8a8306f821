import type { ActionOutcome, ActionType, Actuator, Clock, Decision } from '@sliceguard/core';
import type { EnforcementService } from './stages.js';

export interface ActuatorEnforcementOptions {
  actuators: readonly Actuator[];
  clock: Clock;
  /** Outcomes remembered for idempotency (by action id); default 4096, oldest forgotten first. */
  rememberOutcomes?: number;
}

/**
 * The smallest ES: dispatches each action to the actuator that handles its type, in the decision's
 * order, and answers a repeated action id with the first outcome. A type nobody handles is answered
 * `rejected` (never silently dropped). @sliceguard/enforcement's service (expiry, undo) replaces it
 * in deployed agents; this one keeps the kernel usable on its own.
 */
export function actuatorEnforcement(options: ActuatorEnforcementOptions): EnforcementService {
  const byType = new Map<ActionType, Actuator>();
  for (const actuator of options.actuators) {
    for (const type of actuator.handles) if (!byType.has(type)) byType.set(type, actuator);
  }
  const remember = options.rememberOutcomes ?? 4096;
  const done = new Map<string, Promise<ActionOutcome>>();
  return {
    async enforce(decision: Decision, opts = {}) {
      const outcomes: ActionOutcome[] = [];
      for (const action of decision.actions) {
        let pending = done.get(action.id);
        if (!pending) {
          const actuator = byType.get(action.type);
          pending = actuator
            ? actuator.execute(action, opts).catch(
                (error: unknown): ActionOutcome => ({
                  id: action.id,
                  type: action.type,
                  target: action.target,
                  status: 'failed',
                  detail: `actuator ${actuator.name} threw: ${error instanceof Error ? error.message : String(error)}`,
                  at: options.clock.now(),
                }),
              )
            : Promise.resolve<ActionOutcome>({
                id: action.id,
                type: action.type,
                target: action.target,
                status: 'rejected',
                detail: `no actuator handles "${action.type}" here (available: ${[...byType.keys()].join(', ') || 'none'})`,
                at: options.clock.now(),
              });
          done.set(action.id, pending);
          if (done.size > remember) done.delete(done.keys().next().value as string);
        }
        outcomes.push(await pending);
      }
      return outcomes;
    },
  };
}
