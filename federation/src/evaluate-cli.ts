/**
 * The federation evaluation's command-line surface, shared by `sliceguard coordinator evaluate` and
 * `node federation/dist/src/evaluate-main.js`: one set of options, one validation, one text report.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { InvalidFederationOptionsError } from './errors.js';
import type { AttackKind, FederationEvaluationOptions, FederationEvaluationReport } from './evaluate.js';
import { ATTACKS, DEFAULT_DEFENSES, evaluateFederation, KNOWN_GROUPS, poisoningTable } from './evaluate.js';
import { EVAL_MODEL_KINDS, type EvalModelKind } from './evaluate-models.js';

/** The options as given on a command line (strings, camel-cased names). */
export interface EvaluationArgs {
  data: string;
  groups: string;
  model: string;
  window?: string;
  units?: string;
  learningRate?: string;
  rounds: string;
  localEpochs: string;
  compareRounds?: string;
  compareLocalEpochs?: string;
  rows: string;
  clients: string;
  seeds: string;
  poisoningSeeds: string;
  comparisonOnly?: boolean;
  attacks?: string;
  fractions?: string;
  defenses?: string;
  simSeed: string;
  simNfs?: string;
  out?: string;
}

/** Each option: flag, default (undefined: none), help. Both entry points declare exactly these. */
export const EVALUATION_OPTIONS: readonly { key: keyof EvaluationArgs; flag: string; value?: string; default?: string; help: string }[] = [
  { key: 'data', flag: 'data', value: 'dir', default: '../shared/data/server-metrics', help: 'the server-metrics directory (unused by the sim group)' },
  { key: 'groups', flag: 'groups', value: 'names', default: 'smd,asd', help: `comma-separated groups: ${KNOWN_GROUPS.map((g) => `${g.name} (${g.datasets.join('+')})`).join(', ')}` },
  { key: 'model', flag: 'model', value: 'kind', default: 'dense', help: `evaluation model: ${EVAL_MODEL_KINDS.join(' | ')} (lstm: the analytics LSTM autoencoder)` },
  { key: 'window', flag: 'window', value: 'n', help: 'LSTM window length' },
  { key: 'units', flag: 'units', value: 'n', help: 'LSTM units / dense hidden size' },
  { key: 'learningRate', flag: 'learning-rate', value: 'lr', help: 'learning rate' },
  { key: 'rounds', flag: 'rounds', value: 'n', default: '8', help: 'federated rounds of the poisoning runs' },
  { key: 'localEpochs', flag: 'local-epochs', value: 'n', default: '1', help: 'local epochs per round' },
  { key: 'compareRounds', flag: 'compare-rounds', value: 'n', help: 'rounds of the federated-vs-central comparison (default: --rounds)' },
  { key: 'compareLocalEpochs', flag: 'compare-local-epochs', value: 'n', help: 'local epochs per round in the comparison (default: --local-epochs)' },
  { key: 'rows', flag: 'rows', value: 'n', default: '1000', help: 'recent training rows per client' },
  { key: 'clients', flag: 'clients', value: 'n', default: '10', help: 'clients per group' },
  { key: 'seeds', flag: 'seeds', value: 'list', default: '42', help: 'model seeds of the comparison (mean ± sd over them)' },
  { key: 'poisoningSeeds', flag: 'poisoning-seeds', value: 'n', default: '1', help: 'how many of the seeds the poisoning grid runs' },
  { key: 'comparisonOnly', flag: 'comparison-only', help: 'only federated vs central, no poisoning grid' },
  { key: 'attacks', flag: 'attacks', value: 'list', help: `attacks (${ATTACKS.join(', ')})` },
  { key: 'fractions', flag: 'fractions', value: 'list', help: 'malicious client fractions (default 0.1,0.2,0.3,0.4)' },
  { key: 'defenses', flag: 'defenses', value: 'list', help: `defences (${DEFAULT_DEFENSES.map((d) => d.name).join(', ')})` },
  { key: 'simSeed', flag: 'sim-seed', value: 'n', default: '1', help: 'seed of the simulated NF metrics (sim group)' },
  { key: 'simNfs', flag: 'sim-nfs', value: 'n', help: 'simulated NFs (clients) in the sim group' },
  { key: 'out', flag: 'out', value: 'file', help: 'also write the JSON report here (with the command, wall/CPU time and load)' },
];

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

function num(flag: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new InvalidFederationOptionsError(`--${flag} must be a number, got "${s}"`, { option: flag });
  return n;
}

/** Validates command-line options into evaluation options (every bad value is a clear error). */
export function evaluationOptionsFromArgs(args: EvaluationArgs, log: (line: string) => void): FederationEvaluationOptions {
  const wanted = list(args.groups);
  const unknownGroups = wanted.filter((w) => !KNOWN_GROUPS.some((g) => g.name === w));
  if (wanted.length === 0 || unknownGroups.length > 0) {
    throw new InvalidFederationOptionsError(`unknown group(s) ${unknownGroups.join(', ') || '(none given)'}; known: ${KNOWN_GROUPS.map((g) => g.name).join(', ')}`, { option: 'groups' });
  }
  if (!(EVAL_MODEL_KINDS as readonly string[]).includes(args.model)) throw new InvalidFederationOptionsError(`--model must be one of ${EVAL_MODEL_KINDS.join(', ')}, got "${args.model}"`, { option: 'model' });
  const attacks = args.attacks ? list(args.attacks) : undefined;
  const badAttack = attacks?.find((a) => !(ATTACKS as readonly string[]).includes(a));
  if (badAttack) throw new InvalidFederationOptionsError(`unknown attack ${badAttack}; known: ${ATTACKS.join(', ')}`, { option: 'attacks' });
  const defenses = args.defenses ? list(args.defenses) : undefined;
  const badDefense = defenses?.find((d) => !DEFAULT_DEFENSES.some((x) => x.name === d));
  if (badDefense) throw new InvalidFederationOptionsError(`unknown defence ${badDefense}; known: ${DEFAULT_DEFENSES.map((d) => d.name).join(', ')}`, { option: 'defenses' });
  const seeds = list(args.seeds).map((s) => num('seeds', s)!);
  const fractions = args.fractions ? list(args.fractions).map((s) => num('fractions', s)!) : undefined;
  if (fractions?.some((f) => !(f > 0 && f < 1))) throw new InvalidFederationOptionsError(`--fractions must lie in (0, 1), got "${args.fractions}"`, { option: 'fractions' });
  return {
    dataDir: args.data,
    groups: wanted.map((w) => KNOWN_GROUPS.find((g) => g.name === w)!),
    model: { kind: args.model as EvalModelKind, window: num('window', args.window), units: num('units', args.units), learningRate: num('learning-rate', args.learningRate) },
    rounds: num('rounds', args.rounds),
    localEpochs: num('local-epochs', args.localEpochs),
    compareRounds: num('compare-rounds', args.compareRounds),
    compareLocalEpochs: num('compare-local-epochs', args.compareLocalEpochs),
    rowsPerClient: num('rows', args.rows),
    clients: num('clients', args.clients),
    seeds,
    poisoningSeeds: num('poisoning-seeds', args.poisoningSeeds),
    comparisonOnly: args.comparisonOnly,
    attacks: attacks as AttackKind[] | undefined,
    fractions,
    defenses: defenses ? DEFAULT_DEFENSES.filter((d) => defenses.includes(d.name)) : undefined,
    sim: { seed: num('sim-seed', args.simSeed), nfs: num('sim-nfs', args.simNfs) },
    log,
  };
}

/** The report as text: per group the comparison, the per-seed runs and the poisoning tables, then the checks. */
export function formatEvaluationReport(report: FederationEvaluationReport): string {
  const lines: string[] = [];
  const pm = (m: number, s?: number) => (s === undefined ? m.toFixed(3) : `${m.toFixed(3)} ± ${s.toFixed(3)}`);
  for (const g of report.groups) {
    const c = g.comparison;
    lines.push('', `## ${g.group} (${g.datasets.join(', ')}), ${g.clients.length} clients, ${report.model.kind} model, ${g.seconds} s`);
    lines.push(
      `federated vs central over ${c.runs.length} seed(s), ${c.rounds} rounds × ${c.localEpochs} local epochs vs ${c.centralEpochs} epochs: ` +
        `central F1 ${pm(c.central.meanF1, c.central.sdF1)} (PA ${pm(c.central.meanF1PointAdjusted, c.central.sdF1PointAdjusted)}), ` +
        `federated ${pm(c.federated.meanF1, c.federated.sdF1)} (PA ${pm(c.federated.meanF1PointAdjusted, c.federated.sdF1PointAdjusted)}), gap ${c.gap.toFixed(4)}`,
    );
    if (c.centralMatched) lines.push(`loss-matched central F1 ${pm(c.centralMatched.meanF1, c.centralMatched.sdF1)} (PA ${pm(c.centralMatched.meanF1PointAdjusted, c.centralMatched.sdF1PointAdjusted)}), gap ${c.matchedGap?.toFixed(4)}`);
    for (const r of c.runs) {
      const m = r.centralMatched ? `; loss-matched central ${r.centralMatched.f1.meanF1} (${r.centralMatched.epochs} epochs, loss ${r.centralMatched.loss})` : '';
      lines.push(`  seed ${r.seed}: central ${r.central.meanF1} (loss ${r.centralLoss}) federated ${r.federated.meanF1} (loss ${r.federatedLoss})${m}`);
    }
    if (g.poisoning.length > 0) lines.push('', 'point-wise F1 (mean over data sets)', poisoningTable(g), '', 'point-adjusted F1', poisoningTable(g, 'meanF1PointAdjusted'));
  }
  for (const c of report.checks) lines.push(`${c.pass ? 'PASS' : 'FAIL'} ${c.group}: ${c.check} — ${c.detail}`);
  return `${lines.join('\n')}\n`;
}

export interface EvaluationRun {
  finishedAt: string;
  command: string;
  wallSeconds: number;
  cpuSeconds: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  node: string;
}

/**
 * Runs the evaluation for a command line: validates, runs (progress lines to `err` with elapsed time
 * and load), writes `--out` (the report with its run record), and returns both.
 */
export async function runEvaluationCommand(args: EvaluationArgs, io: { err(line: string): void; command: string }): Promise<{ run: EvaluationRun; report: FederationEvaluationReport }> {
  const t0 = performance.now();
  const options = evaluationOptionsFromArgs(args, (line) => io.err(`[${((performance.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()[0].toFixed(1)}] ${line}\n`));
  const cpu0 = process.cpuUsage();
  const load0 = loadavg();
  const report = await evaluateFederation(options);
  const cpu = process.cpuUsage(cpu0);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const run: EvaluationRun = {
    finishedAt: new Date().toISOString(),
    command: io.command,
    wallSeconds: Math.round((performance.now() - t0) / 1000),
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e6),
    loadAverageAtStart: load0.map(round1),
    loadAverageAtEnd: loadavg().map(round1),
    node: process.version,
  };
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ run, ...report }, null, 2)}\n`);
  return { run, report };
}
