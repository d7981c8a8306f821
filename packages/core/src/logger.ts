import { pino } from 'pino';

/** The subset of pino's API that library code uses; pino loggers satisfy it directly. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

const noop = (): void => {};

/** A logger that drops everything (the default in library code and simulations). */
export function silentLogger(): Logger {
  const logger: Logger = { child: () => logger, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
  return logger;
}

export interface CreateLoggerOptions {
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  name?: string;
  /** Write to this file descriptor (default 2: stderr, so stdout stays clean for --json output). */
  fd?: number;
}

/** A structured pino logger writing JSON lines; composition roots create one and pass children down. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', name: options.name ?? 'sliceguard' },
    pino.destination({ fd: options.fd ?? 2, sync: true }),
  ) as unknown as Logger;
}
