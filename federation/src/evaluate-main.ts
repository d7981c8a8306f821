/**
 * Runs the federation evaluation from the command line (the same as `sliceguard coordinator
 * evaluate`, for when the CLI is not built):
 *
 *   nice -n 10 node federation/dist/src/evaluate-main.js --data ../shared/data/server-metrics \
 *     [--groups asd,smd] [--rounds 8] [--rows 1000] [--clients 10] [--out report.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type AttackKind, DEFAULT_DEFENSES, DEFAULT_GROUPS, evaluateFederation, poisoningTable } from './evaluate.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/server-metrics' },
    groups: { type: 'string' },
    rounds: { type: 'string', default: '8' },
    rows: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '10' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string' },
    attacks: { type: 'string' },
    fractions: { type: 'string' },
    defenses: { type: 'string' },
    'max-convergence-rounds': { type: 'string' },
    'convergence-only': { type: 'boolean' },
  },
});
const wanted = values.groups?.split(',') ?? DEFAULT_GROUPS.map((g) => g.name);
const t0 = performance.now();
const report = await evaluateFederation({
  dataDir: values.data!,
  groups: DEFAULT_GROUPS.filter((g) => wanted.includes(g.name)),
  rounds: Number(values.rounds),
  rowsPerClient: Number(values.rows),
  clients: Number(values.clients),
  seed: Number(values.seed),
  attacks: values.attacks ? (values.attacks.split(',') as AttackKind[]) : undefined,
  fractions: values.fractions ? values.fractions.split(',').map(Number) : undefined,
  defenses: values.defenses ? DEFAULT_DEFENSES.filter((d) => values.defenses!.split(',').includes(d.name)) : undefined,
  maxConvergenceRounds: values['max-convergence-rounds'] ? Number(values['max-convergence-rounds']) : undefined,
  convergenceOnly: values['convergence-only'],
  log: (line) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}\n`),
});
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
for (const g of report.groups) {
  process.stdout.write(`\n## ${g.group} (${g.datasets.join(', ')}), ${g.clients.length} clients, ${g.seconds} s\n`);
  process.stdout.write(`central F1 ${g.central.meanF1} (PA ${g.central.meanF1PointAdjusted}); federated FedAvg F1 ${g.clean.fedavg?.meanF1} (PA ${g.clean.fedavg?.meanF1PointAdjusted})\n\n`);
  if (g.converged) process.stdout.write(`converged: ${JSON.stringify(g.converged)}\n\n`);
  if (g.poisoning.length > 0) process.stdout.write(`point-wise F1 (mean over data sets)\n${poisoningTable(g)}\n\npoint-adjusted F1\n${poisoningTable(g, 'meanF1PointAdjusted')}\n`);
}
for (const c of report.checks) process.stdout.write(`${c.pass ? 'PASS' : 'FAIL'} ${c.group}: ${c.check} — ${c.detail}\n`);
