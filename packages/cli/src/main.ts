import { Command, CommanderError } from 'commander';
import { SliceguardError } from '@sliceguard/core';
import type { CliContext, RegisterCommand } from './context.js';
import { commands } from './commands/index.js';

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[], io: Partial<CliContext> = {}): Promise<number> {
  let exitCode = 0;
  const ctx: CliContext = {
    out: io.out ?? ((t) => process.stdout.write(t)),
    err: io.err ?? ((t) => process.stderr.write(t)),
    setExitCode: (c) => {
      exitCode = c;
    },
  };
  const program = new Command('sliceguard')
    .description('Zero-touch security for 5G/B5G network slices: closed loops, federated detection, trust.')
    .version('0.1.0')
    // an option after a subcommand's name belongs to that subcommand, even where its parent has one of
    // the same name (`coordinator evaluate --model lstm` vs `coordinator --model streamer`)
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err });
  for (const register of commands as RegisterCommand[]) register(program, ctx);
  for (const sub of program.commands) applyExitOverride(sub, ctx);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    return reportError(error, ctx);
  }
  return exitCode;
}

function applyExitOverride(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride().configureOutput({ writeOut: ctx.out, writeErr: ctx.err }).showHelpAfterError();
  for (const sub of cmd.commands) applyExitOverride(sub, ctx);
}

function reportError(error: unknown, ctx: CliContext): number {
  if (error instanceof CommanderError) {
    // help and version are "errors" in commander's exitOverride mode
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof SliceguardError) {
    const where = Object.entries(error.details)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    ctx.err(`error ${error.code}: ${error.message}${where ? `\n  ${where}` : ''}\n`);
    return 1;
  }
  ctx.err(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}
