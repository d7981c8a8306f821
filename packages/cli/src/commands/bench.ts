import { writeFileSync } from 'node:fs';
import { InvalidInputError } from '@sliceguard/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/**
 * Every package that has benchmarks exports `run(options)` from its `./bench` subpath
 * (`@sliceguard/<name>/bench`). They all run in one process, one after the other, so the ratios they
 * report compare figures measured on the same machine in the same run.
 */
export interface BenchOptions {
  /** Small sizes, for the test suite's smoke run of the bench plumbing. */
  quick: boolean;
  log: (line: string) => void;
}

export const BENCH_SUITES = ['bus', 'agents', 'analytics', 'policy', 'trust', 'store', 'federation', 'simulations'] as const;

type BenchModule = { run(options: BenchOptions): Promise<Record<string, unknown>> };

export function register(program: Command, ctx: CliContext): void {
  program
    .command('bench')
    .description(`run benchmarks and print JSON (suites: ${BENCH_SUITES.join(', ')})`)
    .option('--only <names>', 'comma-separated suites to run')
    .option('--quick', 'small sizes (smoke run)', false)
    .option('--out <file>', 'also write the JSON to this file')
    .option('--json', 'print JSON (the default; kept for symmetry with other commands)', true)
    .action(async (opts: { only?: string; quick: boolean; out?: string }) => {
      const wanted = opts.only ? opts.only.split(',').map((s) => s.trim()) : [...BENCH_SUITES];
      const unknown = wanted.filter((w) => !(BENCH_SUITES as readonly string[]).includes(w));
      if (unknown.length > 0) throw new InvalidInputError(`unknown bench suite(s): ${unknown.join(', ')}; known: ${BENCH_SUITES.join(', ')}`);
      const results: Record<string, unknown> = {};
      const { loadavg } = await import('node:os');
      /** Per suite: wall time and the 1-minute load average before and after (the machine is shared: read figures against it). */
      const conditions: Record<string, { wallS: number; load1Before: number; load1After: number }> = {};
      const started = new Date().toISOString();
      for (const name of wanted) {
        const t0 = performance.now();
        const load1Before = loadavg()[0];
        ctx.err(`bench: ${name}… (load average ${load1Before.toFixed(2)})\n`);
        try {
          const mod = (await import(`@sliceguard/${name}/bench`)) as BenchModule;
          results[name] = await mod.run({ quick: opts.quick, log: (l) => ctx.err(`  ${name}: ${l}\n`) });
        } catch (error) {
          results[name] = { error: error instanceof Error ? error.message : String(error) };
          ctx.setExitCode(1);
        }
        const wallS = (performance.now() - t0) / 1000;
        conditions[name] = { wallS: Math.round(wallS * 10) / 10, load1Before: round2(load1Before), load1After: round2(loadavg()[0]) };
        ctx.err(`bench: ${name} done in ${wallS.toFixed(1)} s (load average ${loadavg()[0].toFixed(2)})\n`);
      }
      const report = {
        started,
        finished: new Date().toISOString(),
        node: process.version,
        cpus: (await import('node:os')).cpus().length,
        quick: opts.quick,
        conditions,
        results,
      };
      const json = `${JSON.stringify(report, null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, json);
      ctx.out(json);
    });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
