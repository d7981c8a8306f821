import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, systemClock } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import type { DomainAuthority, KeyPair } from '@sliceguard/identity';
import { createDomainAuthority, generateKeyPair, readKeyFile, TrustStore, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { startNatsServer } from '@sliceguard/test-utils';
import type { NatsServerHandle } from '@sliceguard/test-utils';
import { loadTopology, resolveAgents } from '@sliceguard/topology';
import { federatedTypes } from '@sliceguard/agents';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { learningFromOptions, NF_LEARNING_OPTIONS, nfLearningArgs, positiveInt } from './agent.js';

interface UpOptions {
  nats?: string;
  dataDir?: string;
  samplingMs?: string;
  warmup?: string;
  policies: string;
  manoDelayMs?: string;
  ackTimeoutMs?: string;
  heartbeatMs?: string;
  logLevel: string;
  logs: string;
  readyTimeoutMs: string;
  detector: string;
  lstmWindow?: string;
  lstmUnits?: string;
  lstmBackend?: string;
  normalBuffer?: string;
  minSamples?: string;
  localEpochs?: string;
  flHeartbeatMs?: string;
  /** --no-fl: no coordinators, NF agents train their LSTM locally. */
  fl: boolean;
  flInterval: string;
  flMinClients: string;
  flRoundTimeout: string;
  flEpochs: string;
  flAggregator?: string;
  flInitial: string[];
}

/** One line per FL round report seen on the bus. */
function roundLine(domain: string, r: { model?: string; round?: number; outcome?: string; version?: number; selected?: string[]; accepted?: string[]; rejected?: unknown[]; reason?: string }): string {
  return (
    `fl ${domain}/${r.model} round ${r.round}: ${r.outcome}${r.version !== undefined ? ` v${r.version}` : ''}` +
    ` (selected ${r.selected?.length ?? 0}, accepted ${r.accepted?.length ?? 0}, rejected ${r.rejected?.length ?? 0})${r.reason ? ` — ${r.reason}` : ''}\n`
  );
}

const CLI_BIN = fileURLToPath(new URL('../../../bin/sliceguard.js', import.meta.url));

function dirName(agentId: string): string {
  return agentId.replace(/[^A-Za-z0-9_-]/g, '_');
}

function loadOrCreateKey(path: string): KeyPair {
  if (existsSync(path)) return readKeyFile(path);
  const kp = generateKeyPair();
  writeKeyFile(path, kp);
  return kp;
}

/** Registers `sliceguard up`: issues credentials and runs a whole topology as agent processes over NATS. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('up')
    .description('issue credentials and start every loop of a topology as its own `sliceguard agent` process over NATS (its own nats-server when --nats is not given); SIGINT/SIGTERM stops everything')
    .argument('<topology>', 'topology YAML file')
    .option('--nats <url>', 'use this NATS server instead of starting one')
    .option('--data-dir <dir>', 'root keys, agent keys, credentials, knowledge and logs (default .sliceguard/<topology name>)')
    .option('--sampling-ms <ms>', 'monitoring period of NF agents (default 1000)')
    .option('--warmup <samples>', 'detector warm-up in samples')
    .option('--policies <mode>', "'topology' or 'builtin'", 'topology')
    .option('--mano-delay-ms <ms>', 'simulated MANO operation delay')
    .option('--ack-timeout-ms <ms>', 'coordination acknowledgement timeout')
    .option('--heartbeat-ms <ms>', 'status heartbeat period')
    .option('--log-level <level>', 'agent log level', 'info')
    .option('--logs <where>', "'files' (<data-dir>/agents/<id>/agent.log) or 'inherit'", 'files')
    .option('--ready-timeout-ms <ms>', 'how long to wait for every loop to be active', '60000')
    .option('--detector <kind>', "NF agents' detector: statistical | lstm (lstm: learnt federatedly, one FL coordinator per domain)", 'statistical')
    .option('--no-fl', 'start no FL coordinator: NF agents train their LSTM locally')
    .option('--fl-interval <ms>', 'time between FL rounds', '60000')
    .option('--fl-min-clients <n>', 'fewest clients per FL round; NF types with fewer NFs in a domain train locally', '2')
    .option('--fl-round-timeout <ms>', 'FL round deadline', '30000')
    .option('--fl-epochs <n>', 'local epochs asked per FL round', '1')
    .option('--fl-aggregator <spec>', 'FL aggregator (sliceguard coordinator --aggregator), default trust-filter+clip+median')
    .option(
      '--fl-initial <type=dir>',
      "version 1 of an NF type's model from a saved LSTM autoencoder with the agents' architecture (its scaler is then shared); repeatable; default: seeded from one client",
      (v: string, prev: string[]) => [...prev, v],
      [],
    );
  // the NF agents' LSTM and learning options, passed on to each NF agent process
  for (const o of NF_LEARNING_OPTIONS) cmd.option(`--${o.flag} <${o.value}>`, `NF agents: ${o.help}`);
  cmd.action(async (file: string, opts: UpOptions) => {
      if (opts.logs !== 'files' && opts.logs !== 'inherit') throw new InvalidInputError(`--logs must be files or inherit, got "${opts.logs}"`, { option: '--logs' });
      const topologyFile = resolve(file);
      const topology = await loadTopology(topologyFile);
      const specs = resolveAgents(topology).filter((s) => s.level !== 'coordinator');
      const dataDir = resolve(opts.dataDir ?? join('.sliceguard', basename(topologyFile).replace(/\.[^.]+$/, '')));
      mkdirSync(dataDir, { recursive: true });
      const readyTimeoutMs = positiveInt(opts.readyTimeoutMs, '--ready-timeout-ms')!;
      for (const [opt, v] of [
        ['--sampling-ms', opts.samplingMs],
        ['--warmup', opts.warmup],
        ['--mano-delay-ms', opts.manoDelayMs],
        ['--ack-timeout-ms', opts.ackTimeoutMs],
        ['--heartbeat-ms', opts.heartbeatMs],
        ['--fl-interval', opts.flInterval],
        ['--fl-min-clients', opts.flMinClients],
        ['--fl-round-timeout', opts.flRoundTimeout],
        ['--fl-epochs', opts.flEpochs],
      ] as const) {
        positiveInt(v, opt);
      }
      // NF agents' detector (checked here so that a bad option fails before anything starts)
      learningFromOptions({ ...opts, federated: true });
      const lstm = opts.detector === 'lstm';
      // One FL coordinator per domain for the NF types with enough NFs to federate; the others learn locally.
      const flModels = lstm && opts.fl ? federatedTypes(specs, positiveInt(opts.flMinClients, '--fl-min-clients')) : new Map<string, string[]>();
      const flInitial = new Map<string, string>();
      for (const spec of opts.flInitial) {
        const m = /^([A-Za-z0-9_-]+)=(.+)$/.exec(spec);
        if (!m) throw new InvalidInputError(`--fl-initial "${spec}" must look like TYPE=DIR (a saved LSTM autoencoder)`, { option: '--fl-initial' });
        if (![...flModels.values()].some((types) => types.includes(m[1]))) {
          throw new InvalidInputError(`--fl-initial names NF type ${m[1]}, which no FL coordinator federates (${[...new Set([...flModels.values()].flat())].join(', ') || 'none: needs --detector lstm'})`, { option: '--fl-initial' });
        }
        flInitial.set(m[1], resolve(m[2]));
      }
      const learningArgs = (nfType: string | undefined, domain: string): string[] =>
        !lstm || nfType === undefined
          ? []
          : [
              '--detector',
              'lstm',
              ...nfLearningArgs(opts),
              ...(flModels.get(domain)?.includes(nfType) ? [] : ['--no-federated']),
            ];

      // Credentials: one root per domain (kept across runs), one key per agent (kept), fresh credentials.
      const authorities = new Map<string, DomainAuthority>();
      for (const d of topology.domains) {
        mkdirSync(join(dataDir, 'roots'), { recursive: true });
        authorities.set(d.id, createDomainAuthority(d.id, { keyPair: loadOrCreateKey(join(dataDir, 'roots', `${d.id}.key`)) }));
      }
      const roots = [...authorities.values()].map((a) => ({ domain: a.domain, publicKey: a.publicKeyHex }));
      writeFileSync(join(dataDir, 'roots.json'), `${JSON.stringify(roots, null, 2)}\n`);
      const agentDirs = new Map<string, string>();
      const specById = new Map(specs.map((spec) => [spec.agentId, spec]));
      for (const spec of specs) {
        const dir = join(dataDir, 'agents', dirName(spec.agentId));
        mkdirSync(dir, { recursive: true });
        const kp = loadOrCreateKey(join(dir, 'agent.key'));
        const identity = authorities.get(spec.domain)!.issue(
          {
            agentId: spec.agentId,
            level: spec.level,
            ...(spec.placement.slice ? { slice: spec.placement.slice } : {}),
            ...(spec.placement.subslice ? { subslice: spec.placement.subslice } : {}),
            ...(spec.placement.nf ? { nf: spec.placement.nf } : {}),
          },
          { keyPair: kp },
        );
        writeCredentialFile(join(dir, 'agent.cred'), identity.credential, { force: true });
        writeFileSync(join(dir, 'roots.json'), `${JSON.stringify(roots, null, 2)}\n`);
        agentDirs.set(spec.agentId, dir);
      }
      // The FL coordinators' credentials (level coordinator, scopes sg.<domain>._fl.>) and data directories.
      const coordinatorDirs = new Map<string, string>();
      for (const domain of flModels.keys()) {
        const dir = join(dataDir, 'coordinators', domain);
        mkdirSync(join(dir, 'data'), { recursive: true });
        const kp = loadOrCreateKey(join(dir, 'fl.key'));
        const identity = authorities.get(domain)!.issue({ agentId: `${domain}:fl`, level: 'coordinator' }, { keyPair: kp });
        writeCredentialFile(join(dir, 'fl.cred'), identity.credential, { force: true });
        coordinatorDirs.set(domain, dir);
      }

      let server: NatsServerHandle | undefined;
      const natsUrl = opts.nats ?? (server = await startNatsServer()).url;
      ctx.out(`nats ${natsUrl}${server ? ' (started by up)' : ''}\n`);
      ctx.out(`data ${dataDir}\n`);

      let stop!: (reason: string) => void;
      const stopped = new Promise<string>((r) => {
        stop = r;
      });
      const children = new Map<string, ChildProcess>();
      const exited = new Map<string, number | null>();
      let shuttingDown = false;
      const spawnAgent = (agentId: string): void => {
        const dir = agentDirs.get(agentId)!;
        const args = [
          CLI_BIN,
          'agent',
          '--topology',
          topologyFile,
          '--id',
          agentId,
          '--nats',
          natsUrl,
          '--key',
          join(dir, 'agent.key'),
          '--credential',
          join(dir, 'agent.cred'),
          '--data-dir',
          dir,
          '--policies',
          opts.policies,
          '--log-level',
          opts.logLevel,
          '--stop-on-stdin-close',
          ...roots.flatMap((r) => ['--root', `${r.domain}=${r.publicKey}`]),
          // the domain agent holds its domain's root so the trust manager's revocations are published
          ...(specById.get(agentId)?.level === 'domain'
            ? ['--root-key', join(dataDir, 'roots', `${specById.get(agentId)!.domain}.key`), '--credentials-dir', join(dataDir, 'agents')]
            : []),
          ...(opts.samplingMs ? ['--sampling-ms', opts.samplingMs] : []),
          ...(opts.warmup ? ['--warmup', opts.warmup] : []),
          ...(opts.manoDelayMs ? ['--mano-delay-ms', opts.manoDelayMs] : []),
          ...(opts.ackTimeoutMs ? ['--ack-timeout-ms', opts.ackTimeoutMs] : []),
          ...(opts.heartbeatMs ? ['--heartbeat-ms', opts.heartbeatMs] : []),
          ...learningArgs(specById.get(agentId)?.nf?.type, specById.get(agentId)!.domain),
        ];
        const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', opts.logs === 'inherit' ? 'inherit' : 'pipe'] });
        if (opts.logs === 'files') child.stderr?.pipe(createWriteStream(join(dir, 'agent.log'), { flags: 'a' }));
        children.set(agentId, child);
        child.on('exit', (code, signal) => {
          exited.set(agentId, code);
          if (shuttingDown) return;
          ctx.err(`agent ${agentId} exited (${signal ?? `code ${code}`}); see ${join(dir, 'agent.log')}\n`);
          if (code !== 0) stop(`agent ${agentId} failed`);
        });
      };
      const coordinators = new Map<string, ChildProcess>();
      const spawnCoordinator = (domain: string): void => {
        const dir = coordinatorDirs.get(domain)!;
        const id = `${domain}:fl`;
        const args = [
          CLI_BIN,
          'coordinator',
          '--domain',
          domain,
          '--nats',
          natsUrl,
          '--key',
          join(dir, 'fl.key'),
          '--credential',
          join(dir, 'fl.cred'),
          '--data-dir',
          join(dir, 'data'),
          ...flModels.get(domain)!.flatMap((m) => ['--model', m]),
          '--interval',
          opts.flInterval,
          '--min-clients',
          opts.flMinClients,
          '--round-timeout',
          opts.flRoundTimeout,
          '--epochs',
          opts.flEpochs,
          ...(opts.flAggregator ? ['--aggregator', opts.flAggregator] : []),
          ...flModels.get(domain)!.flatMap((m) => (flInitial.has(m) ? ['--initial', `${m}=${flInitial.get(m)}`] : [])),
          '--log-level',
          opts.logLevel,
          '--json',
          '--stop-on-stdin-close',
        ];
        // round reports (JSON lines) on stdout, the log on stderr
        const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', opts.logs === 'inherit' ? 'inherit' : 'pipe'] });
        child.stdout?.pipe(createWriteStream(join(dir, 'rounds.jsonl'), { flags: 'a' }));
        if (opts.logs === 'files') child.stderr?.pipe(createWriteStream(join(dir, 'coordinator.log'), { flags: 'a' }));
        children.set(id, child);
        coordinators.set(id, child);
        child.on('exit', (code, signal) => {
          exited.set(id, code);
          if (shuttingDown) return;
          ctx.err(`coordinator ${id} exited (${signal ?? `code ${code}`}); see ${join(dir, 'coordinator.log')}\n`);
          if (code !== 0) stop(`coordinator ${id} failed`);
        });
      };
      // FL coordinators first (the NF agents' first joins reach them), loops, then the domain agents that activate them.
      for (const domain of coordinatorDirs.keys()) spawnCoordinator(domain);
      if (coordinators.size > 0) {
        ctx.out(`started ${coordinators.size} FL coordinators: ${[...coordinators].map(([id, c]) => `${id}[${flModels.get(id.split(':')[0])!.join(',')}](pid ${c.pid})`).join(', ')}\n`);
      }
      for (const s of specs) if (s.level !== 'domain') spawnAgent(s.agentId);
      for (const s of specs) if (s.level === 'domain') spawnAgent(s.agentId);
      ctx.out(`started ${children.size - coordinators.size} agents: ${[...children].filter(([id]) => !coordinators.has(id)).map(([id, c]) => `${id}(pid ${c.pid})`).join(', ')}\n`);

      // Watch the loops' status channels with an operator identity until every loop is active.
      const operatorIds = [...authorities.values()].map((a) =>
        a.issue({ agentId: `${a.domain}:up`, level: 'operator' }, { validForMs: 24 * 3600_000 }),
      );
      const trustStore = new TrustStore({ roots });
      const watcher = await connectNatsBus({ servers: natsUrl, identity: operatorIds[0], trustStore, clock: systemClock(), name: 'sliceguard-up' });
      const states = new Map<string, string>();
      const loops = specs.filter((s) => s.level !== 'domain').map((s) => s.agentId);
      let readyResolve!: () => void;
      const ready = new Promise<void>((r) => {
        readyResolve = r;
      });
      const subs = topology.domains.map((d) =>
        watcher.subscribe(`sg.${d.id}.*.*.*.status`, (m) => {
          const v = m.json<{ kind?: string; state?: string }>();
          if (v.state) states.set(m.sender.agentId, v.state);
          if (loops.every((id) => states.get(id) === 'active')) readyResolve();
        }),
      );
      // FL round reports, as the coordinators publish them (signed by <domain>:fl)
      for (const domain of flModels.keys()) {
        subs.push(
          watcher.subscribe(`sg.${domain}._fl.*.round`, (m) => {
            if (m.sender.agentId !== `${domain}:fl` || m.sender.level !== 'coordinator') return;
            try {
              ctx.out(roundLine(domain, m.json()));
            } catch {
              // not a report: ignore it
            }
          }),
        );
      }
      let readyTimer: NodeJS.Timeout | undefined;
      const readyOrTimeout = Promise.race([
        ready.then(() => true),
        new Promise<boolean>((r) => {
          readyTimer = setTimeout(() => r(false), readyTimeoutMs);
        }),
      ]);

      const shutdown = async (reason: string): Promise<void> => {
        if (shuttingDown) return;
        shuttingDown = true;
        ctx.err(`up: ${reason}; stopping ${children.size - coordinators.size} agents${coordinators.size > 0 ? ` and ${coordinators.size} FL coordinators` : ''}\n`);
        clearTimeout(readyTimer);
        readyResolve();
        for (const s of subs) s.unsubscribe();
        await watcher.close().catch(() => {});
        const waits = [...children].map(
          ([id, c]) =>
            new Promise<void>((res) => {
              if (exited.has(id)) return res();
              const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
              c.once('exit', () => {
                clearTimeout(kill);
                res();
              });
              c.kill('SIGTERM');
            }),
        );
        await Promise.all(waits);
        await server?.stop();
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
      try {
        const outcome = await Promise.race([readyOrTimeout.then((ok) => (ok ? 'ready' : 'timeout')), stopped]);
        if (outcome === 'ready') ctx.out(`ready: all ${loops.length} loops active\n`);
        else if (outcome === 'timeout') {
          const lagging = loops.filter((id) => states.get(id) !== 'active').map((id) => `${id}=${states.get(id) ?? 'silent'}`);
          ctx.err(`up: not every loop active after ${readyTimeoutMs} ms: ${lagging.join(', ')}; still running\n`);
        }
        const reason = outcome === 'ready' || outcome === 'timeout' ? await stopped : outcome;
        const childFailed = reason.startsWith('agent ') || reason.startsWith('coordinator ');
        await shutdown(childFailed ? reason : `received ${reason}`);
        if (childFailed) ctx.setExitCode(1);
      } finally {
        process.removeListener('SIGINT', onInt);
        process.removeListener('SIGTERM', onTerm);
        if (!shuttingDown) await shutdown('error');
      }
      const failed = [...exited].filter(([, code]) => code !== 0 && code !== null);
      ctx.out(`stopped: ${children.size - coordinators.size} agents${coordinators.size > 0 ? `, ${coordinators.size} FL coordinators` : ''}${failed.length > 0 ? `, ${failed.length} exited with an error: ${failed.map(([id, c]) => `${id}=${c}`).join(', ')}` : ''}\n`);
      if (failed.length > 0) ctx.setExitCode(1);
    });
}
