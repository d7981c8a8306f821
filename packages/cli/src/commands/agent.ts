import { resolve } from 'node:path';
import { InvalidInputError } from '@sliceguard/core';
import { NF_DETECTORS, runAgentProcess } from '@sliceguard/agents';
import type { NfDetectorKind, NfLearningOptions } from '@sliceguard/agents';
import { BACKEND_NAMES } from '@sliceguard/analytics';
import type { BackendPreference } from '@sliceguard/analytics';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface AgentCommandOptions {
  rootKey?: string;
  credentialsDir?: string;
  topology: string;
  id: string;
  nats: string[];
  key: string;
  credential: string;
  dataDir: string;
  root: string[];
  csv?: string;
  samplingMs?: string;
  warmup?: string;
  policies: string;
  manoWebhook?: string;
  manoDelayMs?: string;
  ackTimeoutMs?: string;
  heartbeatMs?: string;
  logLevel: string;
  stopOnStdinClose?: boolean;
  httpPort?: string;
  httpHost?: string;
  detector?: string;
  lstmWindow?: string;
  lstmUnits?: string;
  lstmBackend?: string;
  normalBuffer?: string;
  minSamples?: string;
  localEpochs?: string;
  federated: boolean;
  flHeartbeatMs?: string;
}

/**
 * The NF agents' LSTM and learning options, declared once for `agent` and `up` (which passes the ones
 * given on to each NF agent process: `nfLearningArgs`).
 */
export const NF_LEARNING_OPTIONS = [
  { key: 'lstmWindow', flag: 'lstm-window', value: 'n', help: 'LSTM window in samples (default 10)' },
  { key: 'lstmUnits', flag: 'lstm-units', value: 'n', help: 'units of the encoder and decoder LSTM (default 16)' },
  { key: 'lstmBackend', flag: 'lstm-backend', value: 'name', help: 'TensorFlow.js backend: auto | wasm | cpu | tensorflow (default auto)' },
  { key: 'normalBuffer', flag: 'normal-buffer', value: 'n', help: 'recent normal samples kept for local training and threshold calibration (default 1000)' },
  { key: 'minSamples', flag: 'min-samples', value: 'n', help: 'normal samples needed before joining FL rounds / training / calibrating (default 4 × window)' },
  { key: 'localEpochs', flag: 'local-epochs', value: 'n', help: "local epochs per training (default: the round's, or 5 without federation)" },
  { key: 'flHeartbeatMs', flag: 'fl-heartbeat-ms', value: 'ms', help: 'FL join heartbeat period (default 10000)' },
] as const satisfies readonly { key: keyof AgentCommandOptions; flag: string; value: string; help: string }[];

/** The learning options given on a command line, as arguments for an `agent` process. */
export function nfLearningArgs(opts: Partial<Record<(typeof NF_LEARNING_OPTIONS)[number]['key'], string>>): string[] {
  return NF_LEARNING_OPTIONS.flatMap((o) => (opts[o.key] ? [`--${o.flag}`, opts[o.key]!] : []));
}

/** The NF detector and its learning settings from the agent / up command line (docs/agents.md, "Learning"). */
export function learningFromOptions(opts: Pick<AgentCommandOptions, 'detector' | 'lstmWindow' | 'lstmUnits' | 'lstmBackend' | 'normalBuffer' | 'minSamples' | 'localEpochs' | 'federated' | 'flHeartbeatMs'>): {
  detector?: NfDetectorKind;
  learning?: NfLearningOptions;
} {
  if (opts.detector !== undefined && !(NF_DETECTORS as readonly string[]).includes(opts.detector)) {
    throw new InvalidInputError(`--detector must be one of ${NF_DETECTORS.join(', ')}, got "${opts.detector}"`, { option: '--detector', value: opts.detector });
  }
  if (opts.lstmBackend !== undefined && opts.lstmBackend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(opts.lstmBackend)) {
    throw new InvalidInputError(`--lstm-backend must be auto or one of ${BACKEND_NAMES.join(', ')}, got "${opts.lstmBackend}"`, { option: '--lstm-backend' });
  }
  const window = positiveInt(opts.lstmWindow, '--lstm-window');
  if (window !== undefined && window < 2) throw new InvalidInputError(`--lstm-window must be at least 2, got ${window}`, { option: '--lstm-window' });
  const units = positiveInt(opts.lstmUnits, '--lstm-units');
  const bufferSize = positiveInt(opts.normalBuffer, '--normal-buffer');
  const minSamples = positiveInt(opts.minSamples, '--min-samples');
  const epochs = positiveInt(opts.localEpochs, '--local-epochs');
  const heartbeatMs = positiveInt(opts.flHeartbeatMs, '--fl-heartbeat-ms');
  const tuned = window ?? units ?? bufferSize ?? minSamples ?? epochs ?? heartbeatMs ?? opts.lstmBackend ?? (opts.federated === false ? 'local' : undefined);
  if (tuned !== undefined && opts.detector !== 'lstm') {
    throw new InvalidInputError('the LSTM and learning options (--lstm-*, --normal-buffer, --min-samples, --local-epochs, --no-federated, --fl-heartbeat-ms) need --detector lstm', { option: '--detector' });
  }
  if (opts.detector !== 'lstm') return opts.detector ? { detector: opts.detector as NfDetectorKind } : {};
  return {
    detector: 'lstm',
    learning: {
      federated: opts.federated !== false,
      ...(window !== undefined ? { window } : {}),
      ...(units !== undefined ? { units } : {}),
      ...(bufferSize !== undefined ? { bufferSize } : {}),
      ...(minSamples !== undefined ? { minSamples } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
      ...(opts.lstmBackend !== undefined ? { backend: opts.lstmBackend as BackendPreference } : {}),
    },
  };
}

export function parseRoots(values: readonly string[]): { domain: string; publicKey: string }[] {
  return values.map((r) => {
    const m = /^([A-Za-z0-9][A-Za-z0-9_-]*)=([0-9a-fA-F]{64})$/.exec(r);
    if (!m) throw new InvalidInputError(`--root "${r}" must be DOMAIN=PUBLICKEYHEX (64 hex characters)`, { option: '--root', value: r });
    return { domain: m[1], publicKey: m[2].toLowerCase() };
  });
}

export function positiveInt(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidInputError(`${option} must be a positive integer, got "${text}"`, { option, value: text });
  return n;
}

/** Registers `sliceguard agent`: one agent (any level) as its own process over NATS. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('agent')
    .description('run one agent of a topology (NF, sub-slice, slice or domain loop) over NATS until SIGINT/SIGTERM or a terminate command')
    .requiredOption('--topology <file>', 'topology YAML file')
    .requiredOption('--id <agentId>', 'agent id, e.g. mno:gnb-1 (see `sliceguard topology show`)')
    .requiredOption('--nats <url>', 'NATS server URL (repeat for a cluster)', collect, [])
    .requiredOption('--key <file>', "the agent's Ed25519 key file")
    .requiredOption('--credential <file>', "the agent's credential file")
    .requiredOption('--data-dir <dir>', "the agent's data directory (LevelDB knowledge)")
    .option('--root <domain=pubhex>', 'trusted domain root (repeat); default: roots.json beside the credential', collect, [])
    .option('--csv <file>', 'NF agents: replay metrics from this CSV instead of scraping the exporter')
    .option('--sampling-ms <ms>', 'monitoring period (default 1000)')
    .option('--warmup <samples>', 'detector warm-up in samples (default 30)')
    .option('--policies <mode>', "'topology' (policy files, built-in rules as fallback) or 'builtin'", 'topology')
    .option('--mano-webhook <url>', 'actuate through this orchestrator webhook instead of the built-in simulated MANO')
    .option('--mano-delay-ms <ms>', 'simulated MANO operation delay (default: its own, 0.5-8 s)')
    .option('--ack-timeout-ms <ms>', 'coordination acknowledgement timeout (default 2000)')
    .option('--heartbeat-ms <ms>', 'status heartbeat period (default 5000)')
    .option('--log-level <level>', 'trace | debug | info | warn | error | silent', 'info')
    .option('--http-port <port>', "serve the agent's HTTP API (status, incidents, decisions, loop control, trust) on this port")
    .option('--http-host <host>', 'address the HTTP API binds to', '127.0.0.1')
    .option('--root-key <file>', "domain agents: the domain root key file, so a trust manager's revocation is signed and published at once")
    .option('--credentials-dir <dir>', "with --root-key: where the domain's agent credentials are (default: beside --credential)")
    .option('--stop-on-stdin-close', 'stop when stdin closes (how `sliceguard up` makes sure no agent outlives it)', false)
    .option('--detector <kind>', `NF agents: ${NF_DETECTORS.join(' | ')} (lstm: the LSTM autoencoder, learnt with the NFs of the same type through the domain's FL coordinator)`, 'statistical')
    .option('--no-federated', 'train the LSTM locally on this agent\'s own buffer instead of joining the FL rounds');
  for (const o of NF_LEARNING_OPTIONS) cmd.option(`--${o.flag} <${o.value}>`, o.help);
  cmd.action(async (opts: AgentCommandOptions) => {
      if (opts.policies !== 'topology' && opts.policies !== 'builtin') {
        throw new InvalidInputError(`--policies must be topology or builtin, got "${opts.policies}"`, { option: '--policies' });
      }
      const levels = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];
      if (!levels.includes(opts.logLevel)) throw new InvalidInputError(`--log-level must be one of ${levels.join(', ')}`, { option: '--log-level' });
      const manoDelay = positiveInt(opts.manoDelayMs, '--mano-delay-ms');
      const ackTimeoutMs = positiveInt(opts.ackTimeoutMs, '--ack-timeout-ms');
      const heartbeatMs = positiveInt(opts.heartbeatMs, '--heartbeat-ms');
      const learning = learningFromOptions(opts);
      const running = await runAgentProcess({
        topologyFile: resolve(opts.topology),
        agentId: opts.id,
        nats: opts.nats,
        keyFile: resolve(opts.key),
        credentialFile: resolve(opts.credential),
        dataDir: resolve(opts.dataDir),
        roots: parseRoots(opts.root),
        ...(opts.csv ? { csv: resolve(opts.csv) } : {}),
        ...(opts.rootKey ? { rootKeyFile: resolve(opts.rootKey) } : {}),
        ...(opts.credentialsDir ? { credentialsDir: resolve(opts.credentialsDir) } : {}),
        ...(opts.samplingMs ? { samplingMs: positiveInt(opts.samplingMs, '--sampling-ms') } : {}),
        ...(opts.warmup ? { warmup: positiveInt(opts.warmup, '--warmup') } : {}),
        policies: opts.policies,
        ...(opts.manoWebhook ? { manoWebhook: opts.manoWebhook } : {}),
        ...(manoDelay !== undefined ? { manoDelayMs: manoDelay } : {}),
        coordination: { ...(ackTimeoutMs ? { ackTimeoutMs } : {}), ...(heartbeatMs ? { heartbeatMs } : {}) },
        logLevel: opts.logLevel as 'info',
        ...learning,
        ...(opts.httpPort !== undefined ? { httpPort: positiveInt(opts.httpPort, '--http-port'), httpHost: opts.httpHost ?? '127.0.0.1' } : {}),
      });
      if (running.httpAddress) ctx.err(`agent ${opts.id} HTTP API on ${running.httpAddress}\n`);
      ctx.err(`agent ${opts.id} running (level ${running.agent.level}); SIGINT/SIGTERM to stop\n`);
      const onSignal = (signal: string) => () => void running.stop(`received ${signal}`);
      const onInt = onSignal('SIGINT');
      const onTerm = onSignal('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
      if (opts.stopOnStdinClose) {
        process.stdin.once('close', () => void running.stop('stdin closed (parent gone)'));
        process.stdin.once('end', () => void running.stop('stdin closed (parent gone)'));
        process.stdin.resume();
      }
      try {
        await running.done;
      } finally {
        process.removeListener('SIGINT', onInt);
        process.removeListener('SIGTERM', onTerm);
        if (opts.stopOnStdinClose) process.stdin.pause();
      }
      ctx.err(`agent ${opts.id} stopped\n`);
    });
}
