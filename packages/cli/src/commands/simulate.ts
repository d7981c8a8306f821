import { resolve } from 'node:path';
import { agentsSecurityLayer, createProgressReporter, findScenario, noSecurityLayer, runScenario, SCENARIOS, type SecurityLayerFactory } from '@sliceguard/simulations';
import type { Command } from 'commander';
import { InvalidInputError } from '@sliceguard/core';
import { type CliContext, emit } from '../context.js';

interface SimulateOptions {
  seed: string;
  out?: string;
  json?: boolean;
  list?: boolean;
  short?: boolean;
  loops: boolean;
  quiet?: boolean;
  check?: boolean;
  nats?: string;
  realtime?: string | true;
  processes?: string;
}

/** The loops the simulation runs: every agent of the topology in this process or spread over `processes` child processes, or none (baseline). */
function securityLayer(loops: boolean, nats?: string[], processes?: number): SecurityLayerFactory {
  return loops ? agentsSecurityLayer({ ...(nats ? { nats } : {}), ...(processes !== undefined ? { processes } : {}) }) : noSecurityLayer();
}

/** `--processes N`: a whole number ≥ 1, only with --nats (the hosts talk over it) or a scenario that starts its own nats-server cluster, and the loops. */
function processCount(value: string | undefined, nats: string[] | undefined, loops: boolean, ownCluster: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidInputError(`--processes must be a whole number ≥ 1, got "${value}"`, { option: 'processes', value });
  if (!nats && !ownCluster) {
    throw new InvalidInputError('--processes spreads the agents over processes that talk over NATS: give --nats URL as well (e.g. --nats nats://127.0.0.1:4222), or run a scenario that starts its own nats-server cluster (broker-failover)', { option: 'processes' });
  }
  if (!loops) throw new InvalidInputError('--processes runs the agents in child processes; it cannot be combined with --no-loops', { option: 'processes' });
  return Number(value);
}

/** `--nats a,b,c`: nats://host:port URLs (a bare host:port gets the scheme). */
function natsUrls(value: string): string[] {
  const urls = value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
    .map((u) => (u.includes('://') ? u : `nats://${u}`));
  for (const u of urls) {
    let ok = false;
    try {
      const parsed = new URL(u);
      ok = ['nats:', 'tls:'].includes(parsed.protocol) && parsed.hostname.length > 0 && parsed.port.length > 0;
    } catch {
      ok = false;
    }
    if (!ok) throw new InvalidInputError(`--nats: "${u}" is not a NATS URL (expected nats://host:port, several separated by commas)`, { option: 'nats', value: u });
  }
  if (urls.length === 0) throw new InvalidInputError('--nats needs at least one URL (nats://host:port)', { option: 'nats' });
  return urls;
}

const fmt = (v: number | undefined, unit = '') => (v === undefined ? '–' : `${Math.round(v * 100) / 100}${unit}`);

/** Registers `simulate`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('simulate')
    .description('Run a scenario simulation on a simulated clock and write report.json / report.html (docs/simulations.md)')
    .argument('[name]', 'scenario name (see --list)', 'vcdn-ddos')
    .option('--seed <n>', 'random seed (same seed, same report.json)', '1')
    .option('--out <dir>', 'report directory (default reports/<name>-seed<N>)')
    .option('--json', 'print the summary as JSON')
    .option('--list', 'list the scenarios')
    .option('--short', 'short mode: shorter phases, same story')
    .option('--no-loops', 'run without security loops (the unprotected baseline)')
    .option('--quiet', 'no progress output')
    .option('--check', 'exit 1 when a scenario target fails')
    .option('--realtime [speed]', 'pace the simulated clock to the wall clock (1 = real time; 10 = ten times faster)')
    .option('--nats <urls>', 'run the agents over this nats-server (nats://host:port, comma-separated for a cluster) instead of the in-process bus')
    .option('--processes <n>', 'with --nats (or in broker-failover, over the cluster it starts): spread the agents over N child processes (domain agents in the first, the other loops round-robin); implies --realtime (speed 1 unless given)')
    .action(async (name: string, opts: SimulateOptions) => {
      if (opts.list) {
        emit(ctx, opts.json, SCENARIOS.map((s) => ({ name: s.name, topology: s.topology, summary: s.summary })), () =>
          SCENARIOS.map((s) => `${s.name.padEnd(16)} ${s.summary}`).join('\n'),
        );
        return;
      }
      if (!/^\d+$/.test(opts.seed)) throw new InvalidInputError(`--seed must be a non-negative integer, got "${opts.seed}"`, { option: 'seed' });
      const seed = Number(opts.seed);
      const nats = opts.nats !== undefined ? natsUrls(opts.nats) : undefined;
      const processes = processCount(opts.processes, nats, opts.loops, findScenario(name)?.brokers === 'nats-cluster');
      if (nats && !opts.loops) throw new InvalidInputError('--nats runs the agents over NATS; it cannot be combined with --no-loops', { option: 'nats' });
      let pace: number | undefined;
      if (opts.realtime !== undefined) {
        pace = opts.realtime === true ? 1 : Number(opts.realtime);
        if (!(pace > 0) || !Number.isFinite(pace)) throw new InvalidInputError(`--realtime must be a positive speed, got "${opts.realtime}"`, { option: 'realtime' });
      }
      // agents in other processes run in real time: the simulated clock is paced to the wall clock
      if (processes !== undefined) pace ??= 1;
      const out = resolve(opts.out ?? `reports/${name}-seed${seed}`);
      const plain = {
        isTTY: false,
        write: (text: string) => {
          ctx.err(text);
          return true;
        },
      } as unknown as NodeJS.WritableStream;
      const progress = opts.quiet ? undefined : createProgressReporter(process.stderr.isTTY ? process.stderr : plain, name);
      // SIGINT / SIGTERM end the run at its next step, so that the agents (and their processes) stop cleanly; a second one exits at once
      const abort = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => () => {
        if (abort.signal.aborted) process.exit(130);
        abort.abort(new Error(`interrupted by ${signal}`));
      };
      const onInt = onSignal('SIGINT');
      const onTerm = onSignal('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      let result: Awaited<ReturnType<typeof runScenario>>;
      try {
        result = await runScenario(name, {
          seed,
          short: opts.short ?? false,
          outDir: out,
          security: securityLayer(opts.loops, nats, processes),
          ...(pace !== undefined ? { pace } : {}),
          signal: abort.signal,
          onProgress: progress ? (d, t, p) => progress.update(d, t, p) : undefined,
        });
      } finally {
        process.removeListener('SIGINT', onInt);
        process.removeListener('SIGTERM', onTerm);
        progress?.stop();
      }
      const { report, run, files } = result;
      const failed = report.checks.filter((c) => !c.pass);
      if (opts.check && failed.length > 0) ctx.setExitCode(1);
      const summary = {
        scenario: report.scenario,
        seed: report.seed,
        short: report.short,
        security: report.security,
        checks: report.checks,
        windows: report.figures.windows,
        detection: report.figures.detection,
        mitigationsOutsideAttacks: report.figures.mitigationsOutsideAttacks,
        benignMitigations: report.figures.benignMitigations,
        messages: report.figures.messages,
        wallMs: run.wallMs,
        files,
      };
      emit(ctx, opts.json, summary, () => {
        const lines = [
          `${report.scenario} (seed ${report.seed}${report.short ? ', short' : ''}, loops: ${report.security}): ${report.simulatedS} s simulated in ${(run.wallMs / 1000).toFixed(1)} s`,
          '',
          'window            kind             detected  TTD s   TTD periods  TTM s   recovery s  legit p95 base/during/after ms',
          ...report.figures.windows.map(
            (w) =>
              `${w.id.padEnd(17)} ${w.kind.padEnd(16)} ${(w.detected ? 'yes' : 'no').padEnd(9)} ${fmt(w.timeToDetectS).padEnd(7)} ${fmt(w.timeToDetectPeriods).padEnd(12)} ${fmt(w.timeToMitigateS).padEnd(7)} ${fmt(w.recoveryAfterDetectionS).padEnd(11)} ${fmt(w.legitP95BaselineMs)}/${fmt(w.legitP95DuringMs)}/${fmt(w.legitP95AfterMs)}`,
          ),
          '',
          `detection: precision ${report.figures.detection.precision}, recall ${report.figures.detection.recall} per sample; ${report.figures.detection.attacksDetected}/${report.figures.detection.attacks} attacks`,
          `mitigations outside attacks: ${report.figures.mitigationsOutsideAttacks}; on benign sources: ${report.figures.benignMitigations}; messages sent ${report.figures.messages.sent}, rejected ${Object.values(report.figures.messages.rejected).reduce((a, b) => a + b, 0)}`,
          '',
          ...report.checks.map((c) => `${c.pass ? 'PASS' : 'FAIL'}  ${c.name} — ${c.detail}`),
          '',
          `report: ${files?.html}`,
        ];
        return lines.join('\n');
      });
    });
}
