import { resolve } from 'node:path';
import { createLogger, InvalidInputError, silentLogger } from '@sliceguard/core';
import {
  EVALUATION_OPTIONS,
  type EvaluationArgs,
  formatEvaluationReport,
  type RoundReport,
  runEvaluationCommand,
  startCoordinatorService,
} from '@sliceguard/federation';
import { readCredentialFile, readKeyFile, TrustStore } from '@sliceguard/identity';
import { federatedLstm } from '@sliceguard/agents';
import { loadModel } from '@sliceguard/analytics';
import type { FlatWeights } from '@sliceguard/core';
import { openLevelKv } from '@sliceguard/store';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidInputError(`${flag} must be a positive number, got "${value}"`, { field: flag });
  return n;
}

function roundLine(r: RoundReport): string {
  const rejected = r.rejected.map((x) => `${x.clientId}:${x.reason}`).join(', ');
  return (
    `${r.model} round ${r.round}: ${r.outcome}${r.version !== undefined ? ` v${r.version}` : ''}` +
    ` (selected ${r.selected.length}, accepted ${r.accepted.length}, dropped ${r.dropped.length}` +
    `${rejected ? `, rejected ${rejected}` : ''})${r.reason ? ` — ${r.reason}` : ''}`
  );
}

interface RunOptions {
  domain: string;
  nats: string;
  key: string;
  credential: string;
  dataDir: string;
  model: string[];
  root?: string[];
  aggregator?: string;
  fraction?: string;
  minClients?: string;
  roundTimeout?: string;
  interval?: string;
  epochs?: string;
  rounds?: string;
  p2pListen?: string[];
  p2pPeer?: string[];
  logLevel?: string;
  trust: boolean;
  json?: boolean;
  stopOnStdinClose?: boolean;
  initial?: string[];
}

/**
 * `--initial MODEL=DIR`: version 1 of MODEL from a saved LSTM autoencoder (`sliceguard eval
 * --save-model DIR`), in the layout the NF agents' federated LSTM uses (network + scaler), so its
 * scaler becomes the one every client shares.
 */
async function initialWeights(specs: readonly string[], models: readonly string[]): Promise<Record<string, FlatWeights>> {
  const out: Record<string, FlatWeights> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z0-9_-]+)=(.+)$/.exec(spec);
    if (!m) throw new InvalidInputError(`--initial "${spec}" must look like MODEL=DIR (a saved LSTM autoencoder)`, { field: '--initial' });
    if (!models.includes(m[1])) throw new InvalidInputError(`--initial names model ${m[1]}, which is not a --model (${models.join(', ')})`, { field: '--initial' });
    const model = await loadModel(resolve(m[2]), { backend: 'cpu' });
    try {
      out[m[1]] = federatedLstm(model).getWeights();
    } finally {
      model.dispose();
    }
  }
  return out;
}

/** `sliceguard coordinator …`: the federation coordinator of one domain (docs/federation.md). */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('coordinator')
    .description('run the federated-learning coordinator of a domain (rounds over NATS, LevelDB state, optional cross-domain libp2p gossip)')
    .option('--domain <id>', 'administrative domain')
    .option('--nats <urls>', 'NATS server URL(s), comma-separated')
    .option('--key <file>', "the coordinator's key file")
    .option('--credential <file>', "the coordinator's credential file (level coordinator)")
    .option('--data-dir <dir>', 'LevelDB directory for model versions, round state and reports')
    .option('--model <name>', 'model (NF type) to federate; repeat for several', collect, [])
    .option('--root <domain=hexkey>', 'another trusted domain root (partner domains); repeatable', collect)
    .option('--aggregator <spec>', 'fedavg | median | trimmed-mean[:β] | krum[:f] | multi-krum[:f[:m]] | trust | clip[:n]+… | trust-filter+…', 'trust-filter+clip+median')
    .option('--fraction <f>', 'fraction of live clients selected per round', '1')
    .option('--min-clients <n>', 'fewest clients (and accepted updates) per round', '2')
    .option('--round-timeout <ms>', 'round deadline', '30000')
    .option('--interval <ms>', 'time between automatic rounds', '60000')
    .option('--epochs <n>', 'local epochs per round', '1')
    .option('--rounds <n>', 'run this many rounds per model (back to back) and exit, instead of running until stopped')
    .option('--p2p-listen <multiaddr>', 'listen for partner coordinators (libp2p); repeatable', collect)
    .option('--p2p-peer <multiaddr>', 'partner coordinator to dial (with /p2p/<peer id>); repeatable', collect)
    .option('--no-trust', 'do not keep a local trust manager (fl_quality evidence, quarantine) in the data directory')
    .option('--log-level <level>', 'trace | debug | info | warn | error | silent', 'warn')
    .option('--json', 'print round reports as JSON lines')
    .option('--stop-on-stdin-close', 'stop when stdin closes (how `sliceguard up` makes sure no coordinator outlives it)', false)
    .option('--initial <model=dir>', "version 1 of a model from a saved LSTM autoencoder (its scaler becomes the clients' shared scaler); repeatable", collect)
    .action(async (opts: RunOptions) => {
      for (const [flag, value] of [
        ['--domain', opts.domain],
        ['--nats', opts.nats],
        ['--key', opts.key],
        ['--credential', opts.credential],
        ['--data-dir', opts.dataDir],
      ] as const) {
        if (!value) throw new InvalidInputError(`coordinator: ${flag} is required (see sliceguard coordinator --help)`, { field: flag });
      }
      if (opts.model.length === 0) throw new InvalidInputError('coordinator: name at least one --model (e.g. --model streamer)', { field: '--model' });
      const identity = { keyPair: readKeyFile(resolve(opts.key)), credential: readCredentialFile(resolve(opts.credential)) };
      const trustStore = new TrustStore({ roots: [{ domain: identity.credential.issuer, publicKey: identity.credential.issuerKey }] });
      for (const r of opts.root ?? []) {
        const [domain, key] = r.split('=');
        if (!domain || !key) throw new InvalidInputError(`--root "${r}" must look like <domain>=<64 hex characters>`, { field: '--root' });
        trustStore.addRoot(domain, key);
      }
      const rounds = positiveNumber('--rounds', opts.rounds);
      const initial = opts.initial ? await initialWeights(opts.initial, opts.model) : undefined;
      const logger = opts.logLevel === 'silent' ? silentLogger() : createLogger({ level: (opts.logLevel ?? 'warn') as 'warn', name: 'coordinator' });
      const service = await startCoordinatorService({
        domain: opts.domain,
        servers: opts.nats.split(',').map((s) => s.trim()),
        identity,
        trustStore,
        dataDir: resolve(opts.dataDir),
        models: opts.model,
        ...(initial ? { initial } : {}),
        aggregator: opts.aggregator,
        fraction: positiveNumber('--fraction', opts.fraction),
        minClients: positiveNumber('--min-clients', opts.minClients),
        roundTimeoutMs: positiveNumber('--round-timeout', opts.roundTimeout),
        roundIntervalMs: rounds === undefined ? positiveNumber('--interval', opts.interval) : undefined,
        epochs: positiveNumber('--epochs', opts.epochs),
        p2p: opts.p2pListen || opts.p2pPeer ? { listen: opts.p2pListen ?? ['/ip4/0.0.0.0/tcp/0'], peers: opts.p2pPeer ?? [] } : undefined,
        logger,
        localTrust: opts.trust,
      });
      const print = (r: RoundReport): void => ctx.out(opts.json ? `${JSON.stringify(r)}\n` : `${roundLine(r)}\n`);
      if (service.gossip) ctx.err(`cross-domain gossip: peer ${service.gossip.peerId} on ${service.gossip.multiaddrs().join(', ')}\n`);
      try {
        if (rounds !== undefined) {
          const minClients = positiveNumber('--min-clients', opts.minClients) ?? 2;
          const waitMs = positiveNumber('--round-timeout', opts.roundTimeout) ?? 30_000;
          for (let i = 0; i < rounds; i++) {
            for (const m of opts.model) {
              // clients announce themselves with join heartbeats: give them one round timeout to show up
              const until = Date.now() + waitMs;
              while (service.coordinator.clients(m).length < minClients && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
              print(await service.coordinator.runRound(m));
            }
          }
          return;
        }
        const off = service.coordinator.onRound(print);
        ctx.err(`coordinator ${service.coordinator.agentId} running (models ${opts.model.join(', ')}); Ctrl-C to stop\n`);
        let onStop!: () => void;
        await new Promise<void>((done) => {
          onStop = done;
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
          if (opts.stopOnStdinClose) {
            process.stdin.once('close', done);
            process.stdin.once('end', done);
            process.stdin.resume();
          }
        });
        process.removeListener('SIGINT', onStop);
        process.removeListener('SIGTERM', onStop);
        if (opts.stopOnStdinClose) {
          process.stdin.removeListener('close', onStop);
          process.stdin.removeListener('end', onStop);
          process.stdin.pause();
        }
        off();
      } finally {
        await service.stop();
      }
    });

  cmd
    .command('status')
    .description("show a stopped coordinator's model versions and latest rounds from its data directory")
    .argument('<data-dir>', 'the coordinator data directory')
    .argument('<model>', 'model name')
    .option('--limit <n>', 'rounds to show', '10')
    .option('--json', 'print JSON')
    .action(async (dataDir: string, model: string, flags: { limit: string; json?: boolean }, command: Command) => {
      // the parent command also has --json: commander may hand it to either, so read both
      const opts = { ...flags, json: Boolean(flags.json || command.optsWithGlobals().json), dataDir, model };
      const kv = await openLevelKv(resolve(opts.dataDir), { createIfMissing: false });
      try {
        const head = await kv.get(`fl/${opts.model}/head`);
        const reports: RoundReport[] = [];
        const limit = positiveNumber('--limit', opts.limit) ?? 10;
        for await (const [, v] of kv.entries({ gte: `fl/${opts.model}/report/`, lt: `fl/${opts.model}/report/~`, reverse: true, limit })) {
          reports.push(JSON.parse(new TextDecoder().decode(v)) as RoundReport);
        }
        const value = { model: opts.model, head: head ? JSON.parse(new TextDecoder().decode(head)) : null, rounds: reports };
        emit(ctx, opts.json, value, () =>
          [`model ${opts.model}: ${value.head ? `version ${value.head.version} (round ${value.head.round})` : 'no version yet'}`, ...reports.map(roundLine)].join('\n'),
        );
      } finally {
        await kv.close();
      }
    });

  const evaluate = cmd
    .command('evaluate')
    .description('federated vs central detection F1 and poisoning robustness on labeled server-metric data or simulated NF metrics (long: run with nice -n 10)');
  for (const o of EVALUATION_OPTIONS) {
    const flags = o.value === undefined ? `--${o.flag}` : `--${o.flag} <${o.value}>`;
    if (o.default !== undefined) evaluate.option(flags, o.help, o.default);
    else evaluate.option(flags, o.help);
  }
  evaluate
    .option('--json', 'print the JSON report instead of tables')
    .action(async (flags: Record<string, string | boolean | undefined>, command: Command) => {
      const args = Object.fromEntries(EVALUATION_OPTIONS.map((o) => [o.key, flags[o.key]])) as unknown as EvaluationArgs;
      const json = Boolean(flags.json);
      // the command as given (for the report's run record): the options set on the command line
      const given = EVALUATION_OPTIONS.filter((o) => command.getOptionValueSource(o.key) === 'cli').map((o) =>
        o.value === undefined ? `--${o.flag}` : `--${o.flag} ${String(flags[o.key])}`,
      );
      args.data = resolve(args.data);
      if (args.out) args.out = resolve(args.out);
      const { report } = await runEvaluationCommand(args, { err: (line) => ctx.err(line), command: ['sliceguard coordinator evaluate', ...given].join(' ') });
      emit(ctx, json, report, () => formatEvaluationReport(report).trimEnd());
      if (report.checks.some((c) => !c.pass)) ctx.setExitCode(1);
    });
}
