import type { ActionOutcome, ActionRequest, Actuator } from '@sliceguard/core';

/** An actuator that can take back what it did (used for expiring actions). */
export interface UndoableActuator extends Actuator {
  undo(request: ActionRequest, outcome: ActionOutcome, options?: { signal?: AbortSignal }): Promise<ActionOutcome>;
}

export function isUndoable(a: Actuator): a is UndoableActuator {
  return typeof (a as UndoableActuator).undo === 'function';
}

export function outcomeOf(
  request: ActionRequest,
  status: ActionOutcome['status'],
  at: number,
  detail?: string,
  result?: Record<string, unknown>,
): ActionOutcome {
  const o: ActionOutcome = { id: request.id, type: request.type, target: request.target, status, at };
  if (detail !== undefined) o.detail = detail;
  if (result !== undefined) o.result = result;
  return o;
}
