import type { Logger } from '@sliceguard/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Bridges a core Logger (pino, scoped by component) to fastify's logger interface, so request logs
 * land in the agent's structured log with `component: 'api'` instead of a second pino instance.
 */
export function fastifyLogger(logger: Logger): FastifyBaseLogger {
  const wrap = (l: Logger): FastifyBaseLogger => {
    const call =
      (fn: (obj: unknown, msg?: string) => void) =>
      (obj: unknown, msg?: unknown, ..._rest: unknown[]): void =>
        typeof obj === 'string' ? fn.call(l, { msg: obj }) : fn.call(l, obj, typeof msg === 'string' ? msg : undefined);
    return {
      level: 'info',
      fatal: call(l.error),
      error: call(l.error),
      warn: call(l.warn),
      info: call(l.info),
      debug: call(l.debug),
      trace: call(l.trace),
      silent: () => {},
      child: (bindings: Record<string, unknown>) => wrap(l.child(bindings)),
    } as unknown as FastifyBaseLogger;
  };
  return wrap(logger);
}
