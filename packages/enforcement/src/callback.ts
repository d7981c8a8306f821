import type { ActionOutcome, ActionRequest, ActionType, Actuator, Clock, Logger } from '@sliceguard/core';
import { outcomeOf } from './interface.js';

/**
 * Wraps a function as an actuator: the agents wire escalate / delegate / quarantine / revoke to
 * their coordination layer this way. The handler's result becomes the outcome's `result`; a thrown
 * error becomes a `failed` outcome.
 */
export function callbackActuator(options: {
  name: string;
  handles: readonly ActionType[];
  clock: Clock;
  handler: (request: ActionRequest, options: { signal?: AbortSignal }) => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
}): Actuator {
  return {
    name: options.name,
    handles: options.handles,
    async execute(request, opts = {}): Promise<ActionOutcome> {
      try {
        const result = await options.handler(request, opts);
        return outcomeOf(request, 'succeeded', options.clock.now(), undefined, result ?? undefined);
      } catch (err) {
        return outcomeOf(request, 'failed', options.clock.now(), (err as Error)?.message ?? String(err));
      }
    },
  };
}

/** `notify`: logs the action for people (and hands it to an optional sink, e.g. an alert exporter). */
export function notifyActuator(options: { clock: Clock; logger: Logger; sink?: (request: ActionRequest) => void }): Actuator {
  return callbackActuator({
    name: 'notify',
    handles: ['notify'],
    clock: options.clock,
    handler: (request) => {
      options.logger.info({ action: request.id, target: request.target, params: request.params, by: request.requestedBy }, 'security notification');
      options.sink?.(request);
      return { notified: true };
    },
  });
}
