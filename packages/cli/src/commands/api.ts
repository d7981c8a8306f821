import { writeFileSync } from 'node:fs';
import { openApiDocument, SLICEGUARD_METRICS } from '@sliceguard/api';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

/** Registers `sliceguard api openapi|metrics`. */
export function register(program: Command, ctx: CliContext): void {
  const api = program.command('api').description('the agent / coordinator HTTP API: OpenAPI document and metric catalog');

  api
    .command('openapi')
    .description('print the OpenAPI 3 document of the agent API (what /openapi.json serves and docs/openapi.json holds)')
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(async (opts: { out?: string }) => {
      const text = `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
      if (opts.out) {
        writeFileSync(opts.out, text);
        ctx.err(`wrote ${opts.out}\n`);
      } else ctx.out(text);
    });

  api
    .command('metrics')
    .description('list the Prometheus metric names sliceguard packages use')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const rows = Object.entries(SLICEGUARD_METRICS).map(([key, m]) => ({
        key,
        name: m.name,
        type: m.type,
        labels: 'labelNames' in m ? [...m.labelNames] : [],
        emittedBy: m.emittedBy,
        help: m.help,
      }));
      emit(ctx, opts.json, rows, () => rows.map((r) => `${r.name} (${r.type}, ${r.emittedBy}) [${r.labels.join(', ')}] ${r.help}`).join('\n'));
    });
}
