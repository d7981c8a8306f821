/**
 * Runs the federation evaluation from the command line (more options than `sliceguard coordinator
 * evaluate`: the LSTM model, several seeds, the sim group):
 *
 *   nice -n 10 node federation/dist/src/evaluate-main.js --data ../shared/data/server-metrics \
 *     [--groups asd,smd,sim] [--model dense|lstm] [--window 10] [--units 16] [--rounds 8] [--local-epochs 1] \
 *     [--compare-rounds 10 --compare-local-epochs 2] [--seeds 1,2,3,4,5] [--poisoning-seeds 1] \
 *     [--comparison-only] [--attacks sign-flip,…] [--fractions 0.3] [--defenses fedavg,median,robust+trust] \
 *     [--rows 1000] [--clients 10] [--sim-seed 1] [--out report.json]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { InvalidFederationOptionsError } from './errors.js';
import { type AttackKind, ATTACKS, DEFAULT_DEFENSES, evaluateFederation, KNOWN_GROUPS, poisoningTable } from './evaluate.js';
import { EVAL_MODEL_KINDS, type EvalModelKind } from './evaluate-models.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/server-metrics' },
    groups: { type: 'string', default: 'smd,asd' },
    model: { type: 'string', default: 'dense' },
    window: { type: 'string' },
    units: { type: 'string' },
    'learning-rate': { type: 'string' },
    rounds: { type: 'string', default: '8' },
    'local-epochs': { type: 'string', default: '1' },
    'compare-rounds': { type: 'string' },
    'compare-local-epochs': { type: 'string' },
    rows: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '10' },
    seeds: { type: 'string', default: '42' },
    'poisoning-seeds': { type: 'string', default: '1' },
    'comparison-only': { type: 'boolean' },
    attacks: { type: 'string' },
    fractions: { type: 'string' },
    defenses: { type: 'string' },
    'sim-seed': { type: 'string', default: '1' },
    'sim-nfs': { type: 'string' },
    out: { type: 'string' },
  },
});

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
const num = (name: string, s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new InvalidFederationOptionsError(`--${name} must be a number, got "${s}"`, { option: name });
  return n;
};
const wanted = list(values.groups!);
const unknownGroups = wanted.filter((w) => !KNOWN_GROUPS.some((g) => g.name === w));
if (unknownGroups.length > 0) throw new InvalidFederationOptionsError(`unknown group(s) ${unknownGroups.join(', ')}; known: ${KNOWN_GROUPS.map((g) => g.name).join(', ')}`, {});
if (!(EVAL_MODEL_KINDS as readonly string[]).includes(values.model!)) throw new InvalidFederationOptionsError(`--model must be one of ${EVAL_MODEL_KINDS.join(', ')}`, {});
const attacks = values.attacks ? list(values.attacks) : undefined;
const badAttack = attacks?.find((a) => !(ATTACKS as readonly string[]).includes(a));
if (badAttack) throw new InvalidFederationOptionsError(`unknown attack ${badAttack}; known: ${ATTACKS.join(', ')}`, {});
const defenses = values.defenses ? list(values.defenses) : undefined;
const badDefense = defenses?.find((d) => !DEFAULT_DEFENSES.some((x) => x.name === d));
if (badDefense) throw new InvalidFederationOptionsError(`unknown defence ${badDefense}; known: ${DEFAULT_DEFENSES.map((d) => d.name).join(', ')}`, {});

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const load0 = loadavg();
const report = await evaluateFederation({
  dataDir: values.data!,
  groups: wanted.map((w) => KNOWN_GROUPS.find((g) => g.name === w)!),
  model: { kind: values.model as EvalModelKind, window: num('window', values.window), units: num('units', values.units), learningRate: num('learning-rate', values['learning-rate']) },
  rounds: num('rounds', values.rounds),
  localEpochs: num('local-epochs', values['local-epochs']),
  compareRounds: num('compare-rounds', values['compare-rounds']),
  compareLocalEpochs: num('compare-local-epochs', values['compare-local-epochs']),
  rowsPerClient: num('rows', values.rows),
  clients: num('clients', values.clients),
  seeds: list(values.seeds!).map(Number),
  poisoningSeeds: num('poisoning-seeds', values['poisoning-seeds']),
  comparisonOnly: values['comparison-only'],
  attacks: attacks as AttackKind[] | undefined,
  fractions: values.fractions ? list(values.fractions).map(Number) : undefined,
  defenses: defenses ? DEFAULT_DEFENSES.filter((d) => defenses.includes(d.name)) : undefined,
  sim: { seed: num('sim-seed', values['sim-seed']), nfs: num('sim-nfs', values['sim-nfs']) },
  log: (line) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()[0].toFixed(1)}] ${line}\n`),
});
const cpu = process.cpuUsage(cpu0);
const run = {
  finishedAt: new Date().toISOString(),
  command: `node federation/dist/src/evaluate-main.js ${process.argv.slice(2).join(' ')}`,
  wallSeconds: Math.round((performance.now() - t0) / 1000),
  cpuSeconds: Math.round((cpu.user + cpu.system) / 1e6),
  loadAverageAtStart: load0.map((x) => Math.round(x * 10) / 10),
  loadAverageAtEnd: loadavg().map((x) => Math.round(x * 10) / 10),
  node: process.version,
};
if (values.out) writeFileSync(values.out, `${JSON.stringify({ run, ...report }, null, 2)}\n`);
for (const g of report.groups) {
  const c = g.comparison;
  const pm = (m: number, s?: number) => (s === undefined ? m.toFixed(3) : `${m.toFixed(3)} ± ${s.toFixed(3)}`);
  process.stdout.write(`\n## ${g.group} (${g.datasets.join(', ')}), ${g.clients.length} clients, ${report.model.kind} model, ${g.seconds} s\n`);
  process.stdout.write(
    `federated vs central over ${c.runs.length} seed(s), ${c.rounds} rounds × ${c.localEpochs} local epochs vs ${c.centralEpochs} epochs: ` +
      `central F1 ${pm(c.central.meanF1, c.central.sdF1)} (PA ${pm(c.central.meanF1PointAdjusted, c.central.sdF1PointAdjusted)}), ` +
      `federated ${pm(c.federated.meanF1, c.federated.sdF1)} (PA ${pm(c.federated.meanF1PointAdjusted, c.federated.sdF1PointAdjusted)}), gap ${c.gap.toFixed(4)}\n`,
  );
  if (c.centralMatched) process.stdout.write(`loss-matched central F1 ${pm(c.centralMatched.meanF1, c.centralMatched.sdF1)} (PA ${pm(c.centralMatched.meanF1PointAdjusted, c.centralMatched.sdF1PointAdjusted)}), gap ${c.matchedGap?.toFixed(4)}\n`);
  for (const r of c.runs) {
    const m = r.centralMatched ? `; loss-matched central ${r.centralMatched.f1.meanF1} (${r.centralMatched.epochs} epochs, loss ${r.centralMatched.loss})` : '';
    process.stdout.write(`  seed ${r.seed}: central ${r.central.meanF1} (loss ${r.centralLoss}) federated ${r.federated.meanF1} (loss ${r.federatedLoss})${m}\n`);
  }
  if (g.poisoning.length > 0) process.stdout.write(`\npoint-wise F1 (mean over data sets)\n${poisoningTable(g)}\n\npoint-adjusted F1\n${poisoningTable(g, 'meanF1PointAdjusted')}\n`);
}
for (const c of report.checks) process.stdout.write(`${c.pass ? 'PASS' : 'FAIL'} ${c.group}: ${c.check} — ${c.detail}\n`);
process.stdout.write(`wall ${run.wallSeconds} s, CPU ${run.cpuSeconds} s, load average ${run.loadAverageAtStart.join(' ')} → ${run.loadAverageAtEnd.join(' ')}\n`);
