import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidInputError, systemClock } from '@sliceguard/core';
import { openLevelKv } from '@sliceguard/store';
import {
  type EvaluationReport,
  SCENARIOS,
  type ScenarioName,
  type ScenarioSummary,
  type Spread,
  type TrustSnapshot,
  type TrustTransitionEvent,
  createTrustManager,
  evaluateTrustSeeds,
  summarizeEvaluation,
} from '@sliceguard/trust';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

interface ShowOpts {
  dataDir: string;
  prefix: string;
  agent?: string;
  history: string;
  json?: boolean;
}

interface EvaluateOpts {
  seed?: string;
  seeds?: string;
  agents: string;
  rounds: string;
  scenario?: string;
  honestErrorRate?: string;
  maliciousBadRate?: string;
  json?: boolean;
}

function probability(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || !(v >= 0 && v <= 1)) throw new InvalidInputError(`${option} must be a probability between 0 and 1 (got "${text}")`, { option, value: text });
  return v;
}

function positiveInt(text: string, option: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new InvalidInputError(`${option} must be an integer ≥ ${min} (got "${text}")`, { option, value: text });
  }
  return Number(text);
}

const f3 = (x: number): string => x.toFixed(3);

function showTable(rows: TrustSnapshot[]): string {
  if (rows.length === 0) return 'no agents in the trust store';
  const header = ['agent', 'score', 'direct', 'uncert', 'indirect', 'share', 'raters', 'weight', 'status', 'actions'];
  const lines = rows.map((s) => [
    s.agentId + (s.anchor ? ' (anchor)' : ''),
    f3(s.score),
    f3(s.direct),
    f3(s.uncertainty),
    f3(s.indirect),
    f3(s.indirectShare),
    String(s.raters),
    f3(s.weight),
    s.status,
    s.actions.join(',') || '-',
  ]);
  return table([header, ...lines]);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function showAgent(s: TrustSnapshot, history: TrustTransitionEvent[], evidence: { at: number; attribute: string; positive: number; negative: number; source: string; reason?: string }[]): string {
  const out = [
    `${s.agentId}${s.anchor ? ' (pre-trusted anchor)' : ''}: score ${f3(s.score)}, status ${s.status}${s.actions.length ? ` (${s.actions.join(', ')})` : ''}`,
    `  direct ${f3(s.direct)} (uncertainty ${f3(s.uncertainty)}), peers ${f3(s.indirect)} from ${s.raters} rater(s) at share ${f3(s.indirectShare)}, aggregation weight ${f3(s.weight)}, referral ${f3(s.referral)}`,
    ...Object.entries(s.heldUntil).map(([a, t]) => `  ${a} held until ${new Date(t ?? 0).toISOString()}`),
    '',
    table([
      ['attribute', 'weight', 'positive', 'negative', 'expectation', 'uncert', 'required', 'breached'],
      ...s.attributes.map((a) => [
        a.attribute,
        f3(a.weight),
        f3(a.positive),
        f3(a.negative),
        f3(a.expectation),
        f3(a.uncertainty),
        a.required === undefined ? '-' : f3(a.required),
        a.breached ? 'yes' : '',
      ]),
    ]),
  ];
  if (history.length > 0) {
    out.push('', 'transitions:');
    for (const e of history) out.push(`  ${new Date(e.at).toISOString()}  ${e.from} → ${e.to}  score ${f3(e.score)}  ${e.reason}`);
  }
  if (evidence.length > 0) {
    out.push('', 'recent evidence:');
    for (const e of evidence) {
      out.push(`  ${new Date(e.at).toISOString()}  ${e.attribute}  +${e.positive} −${e.negative}  from ${e.source}${e.reason ? `  (${e.reason})` : ''}`);
    }
  }
  return out.join('\n');
}

const spreadText = (s: Spread | null | undefined): string => (s ? (s.min === s.max ? String(s.min) : `${s.min}–${s.max} (median ${s.median})`) : 'never');

function evaluationText(report: EvaluationReport, summary: ScenarioSummary[]): string {
  const rows = [
    ['scenario', 'attackers', 'interactions to quarantine', 'never', 'honest lowest (after warm-up)', 'honest quarantined', 'notes'],
    ...summary.map((s) => {
      const notes: string[] = [];
      if (s.maxHonestScoreShift) notes.push(`honest score shift ≤ ${s.maxHonestScoreShift.max}`);
      if (s.scenario === 'on-off') {
        notes.push(`first action after ${spreadText(s.interactionsToFirstAction)} interactions`, `regained within a half-life: ${s.actionsRegainedWithinHalfLife}`);
      }
      if (s.scenario === 'whitewashing') notes.push(`fresh identity max weight ${s.freshIdentityMaxWeight}`, `reports counted: ${s.freshIdentityReportsCounted ? 'yes' : 'no'}`);
      return [
        s.scenario,
        String(s.attackers),
        spreadText(s.interactionsToQuarantine),
        String(s.attackersNeverQuarantined),
        `${s.honestLowestScore.min} (incl. warm-up ${s.honestLowestScoreInclWarmup})`,
        String(s.honestWronglyQuarantinedFraction),
        notes.join('; '),
      ];
    }),
  ];
  const o = report.options;
  return [
    `seeds ${report.seeds.join(', ')}: ${o.agents} agents, ${o.rounds} interactions each, half-life ${o.halfLifeRounds} interactions, honest error rate ${o.honestErrorRate}, malicious bad rate ${o.maliciousBadRate}`,
    '',
    table(rows),
    '',
    ...report.targets.map((t) => `${t.met ? 'MET    ' : 'NOT MET'}  ${t.target} (${JSON.stringify(t.value)})`),
  ].join('\n');
}

/** `sliceguard trust show|evaluate` (docs/trust.md). */
export function register(program: Command, ctx: CliContext): void {
  const trust = program.command('trust').description('trust scores of agents (show) and the attack evaluation of the trust model (evaluate)');

  trust
    .command('show')
    .description("list trust scores, actions in force, evidence and transitions from a domain agent's data directory")
    .requiredOption('--data-dir <dir>', "the domain agent's data directory (its trust LevelDB, or the agent directory holding it in trust/)")
    .option('--prefix <prefix>', 'key prefix of the trust records in that store', 'trust/')
    .option('--agent <id>', 'show one agent in detail: attributes, recent evidence, transitions')
    .option('--history <n>', 'transitions and evidence records to show with --agent', '10')
    .option('--json', 'print JSON')
    .action(async (opts: ShowOpts) => {
      let dir = resolve(opts.dataDir);
      if (!existsSync(dir)) {
        throw new InvalidInputError(`--data-dir ${dir} does not exist: point it at the domain agent's data directory`, { option: '--data-dir', value: opts.dataDir });
      }
      // `sliceguard agent` keeps the trust manager's LevelDB in <data-dir>/trust
      if (!existsSync(join(dir, 'CURRENT')) && existsSync(join(dir, 'trust', 'CURRENT'))) dir = join(dir, 'trust');
      const limit = positiveInt(opts.history, '--history');
      const kv = await openLevelKv(dir, { createIfMissing: false });
      try {
        const manager = await createTrustManager({ clock: systemClock(), kv, keyPrefix: opts.prefix, defaults: { evaluateIntervalMs: 0 } });
        try {
          if (opts.agent) {
            const known = manager.list().some((s) => s.agentId === opts.agent);
            if (!known) throw new InvalidInputError(`agent ${opts.agent} has no trust record in ${dir}`, { option: '--agent', value: opts.agent });
            const snap = manager.snapshot(opts.agent);
            const history = manager.history(opts.agent, limit);
            const evidence = manager.evidence(opts.agent, limit);
            emit(ctx, opts.json, { agent: snap, history, evidence }, () => showAgent(snap, history, evidence));
          } else {
            const rows = manager.list();
            emit(ctx, opts.json, { dataDir: dir, agents: rows }, () => showTable(rows));
          }
        } finally {
          // read-only: nothing was changed, so closing writes nothing
          await manager.close();
        }
      } finally {
        await kv.close();
      }
    });

  trust
    .command('evaluate')
    .description('run the seeded attack simulation (malicious, on-off, bad-mouthing, ballot-stuffing, whitewashing, 20 % collusion) and check the targets')
    .option('--seed <n>', 'one seed (default 1)')
    .option('--seeds <list>', 'several seeds, comma-separated (reports the spread), e.g. 1,2,3,4,5')
    .option('--agents <n>', 'agents per run', '50')
    .option('--rounds <n>', 'interactions per agent', '250')
    .option('--scenario <names>', `comma-separated subset of: ${SCENARIOS.join(', ')}`)
    .option('--honest-error-rate <p>', 'probability that an honest interaction goes wrong anyway (default 0.05)')
    .option('--malicious-bad-rate <p>', 'probability that a malicious interaction is bad (default 0.95)')
    .option('--json', 'print JSON (per-seed results, summary, targets)')
    .action(async (opts: EvaluateOpts) => {
      if (opts.seed !== undefined && opts.seeds !== undefined) throw new InvalidInputError('give --seed or --seeds, not both', { option: '--seeds' });
      const seeds = (opts.seeds ?? opts.seed ?? '1').split(',').map((s) => positiveInt(s, opts.seeds ? '--seeds' : '--seed', 0));
      let scenarios: ScenarioName[] | undefined;
      if (opts.scenario) {
        const names = opts.scenario.split(',').map((s) => s.trim());
        const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
        if (unknown.length > 0) throw new InvalidInputError(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`, { option: '--scenario' });
        scenarios = names as ScenarioName[];
      }
      const report = await evaluateTrustSeeds(seeds, {
        agents: positiveInt(opts.agents, '--agents', 10),
        rounds: positiveInt(opts.rounds, '--rounds', 10),
        ...(scenarios ? { scenarios } : {}),
        ...(opts.honestErrorRate !== undefined ? { honestErrorRate: probability(opts.honestErrorRate, '--honest-error-rate') } : {}),
        ...(opts.maliciousBadRate !== undefined ? { maliciousBadRate: probability(opts.maliciousBadRate, '--malicious-bad-rate') } : {}),
      });
      const summary = summarizeEvaluation(report);
      emit(ctx, opts.json, { ...report, summary }, () => evaluationText(report, summary));
      if (!scenarios && report.targets.some((t) => !t.met)) ctx.setExitCode(1);
    });
}
