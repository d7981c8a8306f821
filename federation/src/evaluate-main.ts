/**
 * Runs the federation evaluation from the command line; the same options as
 * `sliceguard coordinator evaluate` (federation/src/evaluate-cli.ts declares them for both):
 *
 *   nice -n 10 node federation/dist/src/evaluate-main.js --data ../shared/data/server-metrics \
 *     [--groups asd,smd,sim] [--model dense|lstm] [--window 10] [--units 16] [--rounds 8] [--local-epochs 1] \
 *     [--compare-rounds 10 --compare-local-epochs 2] [--seeds 1,2,3,4,5] [--poisoning-seeds 1] \
 *     [--comparison-only] [--attacks sign-flip,…] [--fractions 0.3] [--defenses fedavg,median,robust+trust] \
 *     [--rows 1000] [--clients 10] [--sim-seed 1] [--out report.json]
 */
import { parseArgs } from 'node:util';
import type { EvaluationArgs } from './evaluate-cli.js';
import { EVALUATION_OPTIONS, formatEvaluationReport, runEvaluationCommand } from './evaluate-cli.js';

const { values } = parseArgs({
  options: Object.fromEntries(
    EVALUATION_OPTIONS.map((o) => [o.flag, o.value === undefined ? { type: 'boolean' as const } : { type: 'string' as const, ...(o.default !== undefined ? { default: o.default } : {}) }]),
  ),
});
const args = Object.fromEntries(EVALUATION_OPTIONS.map((o) => [o.key, values[o.flag]])) as unknown as EvaluationArgs;
const { run, report } = await runEvaluationCommand(args, {
  err: (line) => process.stderr.write(line),
  command: `node federation/dist/src/evaluate-main.js ${process.argv.slice(2).join(' ')}`,
});
process.stdout.write(formatEvaluationReport(report));
process.stdout.write(`wall ${run.wallSeconds} s, CPU ${run.cpuSeconds} s, load average ${run.loadAverageAtStart.join(' ')} → ${run.loadAverageAtEnd.join(' ')}\n`);
