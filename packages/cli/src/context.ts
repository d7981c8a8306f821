import type { Command } from 'commander';

/** What every command gets: where to write, so tests can capture output without a process. */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  /** Set when a command wants a non-zero exit without throwing (e.g. a failed verification). */
  setExitCode(code: number): void;
}

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Prints `value` as JSON when --json was given, otherwise the human text. */
export function emit(ctx: CliContext, json: boolean | undefined, value: unknown, human: () => string): void {
  ctx.out(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
