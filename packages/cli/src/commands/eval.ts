import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** Registers the `eval` command(s). Owned by the area's package; see docs/cli.md. */
export function register(_program: Command, _ctx: CliContext): void {}
