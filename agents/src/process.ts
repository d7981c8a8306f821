import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Actuator, Clock, DecisionEngine, KeyValueStore, Logger, StreamingDetector } from '@sliceguard/core';
import { createLogger, idGenerator, seededRng, systemClock } from '@sliceguard/core';
import { createStatisticalDetector } from '@sliceguard/analytics';
import { connectNatsBus, subscribeRevocations } from '@sliceguard/bus';
import type { NatsBus } from '@sliceguard/bus';
import { createSimulatedMano, createTrafficFilter, webhookActuator } from '@sliceguard/enforcement';
import type { KeyPair } from '@sliceguard/identity';
import { readCredentialFile, readKeyFile, sign, signRevocationList, TrustStore, verify } from '@sliceguard/identity';
import { buildAgentApp, createPromRegistry, credentialOperators } from '@sliceguard/api';
import { createLoopMetrics } from '@sliceguard/mape';
import { openStore } from '@sliceguard/store';
import type { AuditLog, SliceguardStore } from '@sliceguard/store';
import type { AgentSpec } from '@sliceguard/topology';
import { loadTopology, resolveAgents } from '@sliceguard/topology';
import { createTrustManager } from '@sliceguard/trust';
import type { TrustManager } from '@sliceguard/trust';
import type { Agent, AgentOptions } from './agent.js';
import { agentDirectory, createAgent } from './agent.js';
import { agentProviders } from './api.js';
import type { Collector } from './collectors/collector.js';
import { csvReplayCollector } from './collectors/csv.js';
import { prometheusCollector } from './collectors/prometheus.js';
import type { CoordinationOptions } from './coordination/coordinator.js';
import { resolveDecisionEngine } from './decision/resolve.js';
import { createDomainAgent } from './domain.js';
import type { DomainAgent, DomainAgentOptions } from './domain.js';
import { AgentConfigError, UnknownAgentError } from './errors.js';
import { attachDurability } from './persistence.js';
import type { Durability } from './persistence.js';
import { createNfLearner, NF_DETECTORS } from './learning.js';
import type { NfDetectorKind, NfLearner, NfLearningOptions } from './learning.js';

export interface AgentProcessOptions {
  topologyFile: string;
  agentId: string;
  /** NATS URL(s). */
  nats: string | string[];
  keyFile: string;
  credentialFile: string;
  /** This agent's data directory (LevelDB knowledge, trust state). */
  dataDir: string;
  /** Trusted domain roots; default: `roots.json` ([{ domain, publicKey }]) beside the credential file. */
  roots?: { domain: string; publicKey: string }[];
  /** NF agents: replay this CSV instead of scraping the exporter. */
  csv?: string;
  /** Monitoring period override (ms). */
  samplingMs?: number;
  /** Detector warm-up (samples) override. */
  warmup?: number;
  /**
   * NF agents: `statistical` (default) or `lstm` — the LSTM autoencoder, trained with the other NFs of
   * its type through the domain's FL coordinator (or locally with `learning.federated: false`); the
   * statistical detector answers until a model is installed and calibrated.
   */
  detector?: NfDetectorKind;
  /** NF agents with `detector: 'lstm'`: model size, buffer, epochs, federated or local (docs/agents.md, "Learning"). */
  learning?: NfLearningOptions;
  policies?: 'topology' | 'builtin';
  /** Actuate through this orchestrator webhook instead of the built-in simulated MANO. */
  manoWebhook?: string;
  /** Delay of every simulated MANO operation (ms); default the MANO's own. */
  manoDelayMs?: number;
  coordination?: CoordinationOptions;
  /** Serve the agent's HTTP API (fastify) on this port; off when undefined. */
  httpPort?: number;
  /** Default 127.0.0.1. */
  httpHost?: string;
  /**
   * Domain agent only: the domain root key file. With it, trust revocations are signed and published
   * on the bus (the list's sequence and ids persist in the agent's store); without it they are
   * recorded as needing the root.
   */
  rootKeyFile?: string;
  /** With `rootKeyFile`: where the other agents' credential files are (`*.cred` or `<agent>/agent.cred`, as `sliceguard up` lays them out). */
  credentialsDir?: string;
  logger?: Logger;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export interface RunningAgent {
  readonly agent: Agent;
  readonly bus: NatsBus;
  /** The API's address when `httpPort` was given. */
  readonly httpAddress?: string;
  /** The data directory's store (knowledge, trust state, durable records, signed audit log). */
  readonly store: SliceguardStore;
  /** Durable records and what the previous run left (open incidents, pending delegations, loop state). */
  readonly durability: Durability;
  /** NF agents running the LSTM: its trainable detector and federated client. */
  readonly learner?: NfLearner;
  /** Resolves when the agent has stopped (stop(), or a `terminate` lifecycle command). */
  readonly done: Promise<void>;
  stop(reason?: string): Promise<void>;
}

function readRoots(options: AgentProcessOptions): { domain: string; publicKey: string }[] {
  if (options.roots && options.roots.length > 0) return options.roots;
  const file = join(dirname(options.credentialFile), 'roots.json');
  if (!existsSync(file)) {
    throw new AgentConfigError(`no trusted domain root: pass --root DOMAIN=PUBHEX or put roots.json beside ${options.credentialFile}`, { file });
  }
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(parsed)) throw new Error('expected a JSON list of { "domain", "publicKey" }');
    return parsed as { domain: string; publicKey: string }[];
  } catch (cause) {
    throw new AgentConfigError(`${file}: ${(cause as Error).message}`, { file }, cause);
  }
}

function localActuators(
  spec: AgentSpec,
  directory: ReadonlyMap<string, AgentSpec>,
  options: AgentProcessOptions,
  clock: ReturnType<typeof systemClock>,
  logger: Logger,
  identity: { keyPair: KeyPair; credentialId: string },
): Actuator[] {
  if (options.manoWebhook) {
    return [
      webhookActuator({
        url: options.manoWebhook,
        clock,
        sign: (body) => sign(identity.keyPair.secretKey, body),
        keyId: identity.credentialId,
        handles: ['scale_out', 'scale_in', 'deploy_vsf', 'remove_vsf', 'update_config', 'isolate', 'rate_limit', 'block', 'allow'],
      }),
    ];
  }
  const nfs: AgentSpec['nf'][] = [];
  const visit = (s: AgentSpec): void => {
    if (s.nf) nfs.push(s.nf);
    for (const c of s.childIds) {
      const child = directory.get(c);
      if (child) visit(child);
    }
  };
  visit(spec);
  const filter = createTrafficFilter({ clock, name: `${spec.agentId}-filter` });
  const mano = createSimulatedMano({
    clock,
    nfs: nfs.filter((n) => n !== undefined).map((n) => ({ id: n!.id, type: n!.type, replicas: { ...n!.replicas } })),
    trafficFilter: filter,
    logger,
    autoscaler: false,
    ...(options.manoDelayMs !== undefined
      ? { delays: { scale: options.manoDelayMs, vsfDeploy: options.manoDelayMs, vsfRemove: options.manoDelayMs, config: options.manoDelayMs, isolate: options.manoDelayMs } }
      : {}),
  });
  return [mano, filter];
}

/** Revocation lists signed with the domain root key; the sequence and the revoked ids persist under `revocations/`. */
function rootRevocation(domain: string, rootKeyFile: string, credentialsDir: string, kv: KeyValueStore, clock: Clock): NonNullable<DomainAgentOptions['revocation']> {
  const root = readKeyFile(rootKeyFile);
  const key = 'revocations/state';
  const credentialOf = (agentId: string): string | undefined => {
    const files: string[] = [];
    for (const entry of readdirSync(credentialsDir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.cred')) files.push(join(credentialsDir, entry.name));
      else if (entry.isDirectory() && existsSync(join(credentialsDir, entry.name, 'agent.cred'))) files.push(join(credentialsDir, entry.name, 'agent.cred'));
    }
    for (const f of files) {
      try {
        const c = readCredentialFile(f);
        if (c.claims.agentId === agentId) return c.id;
      } catch {
        // not a credential of ours: skip it
      }
    }
    return undefined;
  };
  let state: Promise<{ seq: number; revoked: string[] }> = kv.get(key).then((v) => (v ? (JSON.parse(new TextDecoder().decode(v)) as { seq: number; revoked: string[] }) : { seq: 0, revoked: [] }));
  return {
    credentialOf,
    authority: {
      revoke(ids: string[]) {
        // DomainAuthority.revoke is synchronous; the persisted state is chained so lists stay ordered.
        const prev = state;
        const next = prev.then(async (s) => {
          const revoked = [...new Set([...s.revoked, ...ids])];
          const n = { seq: s.seq + 1, revoked };
          await kv.put(key, new TextEncoder().encode(JSON.stringify(n)));
          return n;
        });
        state = next.catch(() => prev); // a failed write does not block later lists
        return next.then((n) => signRevocationList(root, domain, n.seq, n.revoked, clock.now()));
      },
    },
  };
}

/**
 * Runs one agent as its own process over NATS: reads its key, credential and trusted roots,
 * connects, opens LevelDB knowledge in its data directory, builds the agent from the topology and
 * starts it. The domain agent then activates it over the bus.
 */
export async function runAgentProcess(options: AgentProcessOptions): Promise<RunningAgent> {
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? 'info', name: options.agentId });
  const clock = systemClock();
  const topology = await loadTopology(options.topologyFile);
  const specs = resolveAgents(topology);
  const directory = agentDirectory(specs);
  const spec = directory.get(options.agentId);
  if (!spec || spec.level === 'coordinator') {
    throw new UnknownAgentError(
      options.agentId,
      specs.filter((s) => s.level !== 'coordinator').map((s) => s.agentId),
      options.topologyFile,
    );
  }
  const keyPair = readKeyFile(options.keyFile);
  const credential = readCredentialFile(options.credentialFile);
  if (credential.claims.agentId !== spec.agentId) {
    throw new AgentConfigError(`credential ${options.credentialFile} is for ${credential.claims.agentId}, not ${spec.agentId}`, {
      file: options.credentialFile,
    });
  }
  const trustStore = new TrustStore({ roots: readRoots(options) });

  // Everything that can be checked without the network is checked first.
  let collector: Collector | undefined;
  let detector: StreamingDetector | undefined;
  if (spec.level === 'nf' && spec.nf) {
    if (options.csv) collector = csvReplayCollector({ path: options.csv, loop: true });
    else if (spec.nf.exporter?.url) collector = prometheusCollector({ url: spec.nf.exporter.url, clock, lenient: true });
    else {
      throw new AgentConfigError(`NF ${spec.nf.id} has no exporter url in the topology; give one (nfs[].exporter.url) or pass --csv FILE`, { agentId: spec.agentId });
    }
    detector = createStatisticalDetector({ metrics: spec.nf.metrics, ...(options.warmup !== undefined ? { warmup: options.warmup } : {}) });
  }
  if (options.detector !== undefined && !(NF_DETECTORS as readonly string[]).includes(options.detector)) {
    throw new AgentConfigError(`detector must be one of ${NF_DETECTORS.join(', ')}, got "${String(options.detector)}"`, { option: 'detector' });
  }
  const rng = seededRng(`${spec.agentId}:${Date.now()}`);
  const ids = idGenerator(rng, spec.agentId);
  // Swappable, so that an `update` lifecycle command reloads the (possibly edited) policy files.
  let engine = await resolveDecisionEngine({ spec, clock, ids, logger, policies: options.policies ?? 'topology' });
  const decisionEngine: DecisionEngine = {
    decide: (event, context) => engine.decide(event, context),
    recordOutcome: (outcome) => engine.recordOutcome?.(outcome),
  };
  const reloadPolicies = async (by: string): Promise<void> => {
    engine = await resolveDecisionEngine({ spec, clock, ids, logger, policies: options.policies ?? 'topology' });
    logger.info({ policies: spec.policies }, 'policies reloaded');
    await store.audit?.append({ kind: 'policy', actor: by, subject: spec.agentId, data: { reloaded: spec.policies ?? [], mode: options.policies ?? 'topology' } });
  };

  const bus = await connectNatsBus({ servers: options.nats, identity: { keyPair, credential }, trustStore, clock, logger: logger.child({ module: 'bus' }) });
  let learner: NfLearner | undefined;
  const revocations = subscribeRevocations(bus, trustStore);
  const opened: { close(): Promise<void> }[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let stopping: Promise<void> | undefined;
  let trustManager: TrustManager | undefined;
  let agent: Agent;
  let store: SliceguardStore;
  let durability: Durability;
  // One Prometheus registry per process when the HTTP API is on: /metrics serves the loop's metrics.
  const registry = options.httpPort !== undefined ? createPromRegistry() : undefined;
  try {
    // One LevelDB per data directory: knowledge (mape prefixes), trust (`trust/`), durable records and the
    // audit log signed with the agent's key (`sliceguard audit verify --public-key <agent key>`).
    store = await openStore(options.dataDir, {
      clock,
      ...(registry ? { metrics: registry } : {}),
      audit: { signer: { publicKey: keyPair.publicKey, sign: (m) => sign(keyPair.secretKey, m) } },
    });
    opened.push(store);
    const kv = store.kv;
    if (detector && spec.level === 'nf' && options.detector === 'lstm') {
      // The LSTM learns with the other NFs of its type: its FL client publishes on sg.<domain>._fl.<type>.{join,update};
      // its installed model and buffer persist under `learning/` in the agent's store.
      learner = await createNfLearner({ ...(options.learning ?? {}), spec, bus, clock, logger, baseline: detector, kv });
      detector = learner.detector;
    }
    const base: AgentOptions = {
      ...(registry ? { loopMetrics: createLoopMetrics(registry) } : {}),
      spec,
      directory,
      bus,
      clock,
      rng,
      ids,
      logger,
      kv,
      decisionEngine,
      actuators: localActuators(spec, directory, options, clock, logger, { keyPair, credentialId: credential.id }),
      ...(collector ? { collector } : {}),
      ...(detector ? { detector } : {}),
      ...(options.samplingMs ? { monitoring: { samplingPeriodMs: options.samplingMs } } : {}),
      ...(options.coordination ? { coordination: options.coordination } : {}),
      onControl: async (command) => {
        if (command.command === 'update') await reloadPolicies(command.from);
        if (command.command === 'terminate') void running.stop(`terminated by ${command.from}: ${command.reason}`);
      },
    };
    if (spec.level === 'domain') {
      // Without the domain root (`rootKeyFile`) a revocation is recorded as needing it.
      let domainAgent: DomainAgent | undefined;
      trustManager = await createTrustManager({ clock, self: spec.agentId, logger, kv, keyPrefix: 'trust/', onRevoke: (id, e) => domainAgent?.revoke(id, e) });
      const revocation = options.rootKeyFile ? rootRevocation(spec.domain, options.rootKeyFile, options.credentialsDir ?? dirname(options.credentialFile), kv, clock) : undefined;
      domainAgent = await createDomainAgent({ ...base, trustManager, ...(revocation ? { revocation } : {}) });
      agent = domainAgent;
    } else {
      agent = await createAgent(base);
    }
    durability = await attachDurability({ agent, store, clock, logger, ...(trustManager ? { trustManager } : {}), ...(registry ? { metrics: registry } : {}) });
  } catch (error) {
    // Nothing may keep the process alive after a failed start.
    await learner?.stop().catch(() => {});
    revocations.unsubscribe();
    await bus.close().catch(() => {});
    for (const o of opened) await o.close().catch(() => {});
    throw error;
  }
  let app: Awaited<ReturnType<typeof buildAgentApp>> | undefined;
  let httpAddress: string | undefined;
  if (options.httpPort !== undefined) {
    let connected = true;
    bus.onStatus((s) => {
      if (s.type === 'disconnected' || s.type === 'closed') connected = false;
      if (s.type === 'connected' || s.type === 'reconnected') connected = true;
    });
    app = await buildAgentApp({
      agentId: spec.agentId,
      providers: agentProviders(agent, {
        startedAt: clock.now(),
        ...(trustManager ? { trustManager } : {}),
        busConnected: () => connected,
        ...(learner ? { learning: () => learner!.state() } : {}),
      }),
      auth: { operators: { resolve: credentialOperators({ trustStore, clock }), verify } },
      clock,
      logger,
      ...(registry ? { metrics: registry } : {}),
      // Operator requests that change something are audited (and refused if the record cannot be written).
      ...(store.audit ? { audit: (e: Parameters<AuditLog['append']>[0]) => store.audit!.append(e) } : {}),
    });
    httpAddress = await app.listen({ port: options.httpPort, host: options.httpHost ?? '127.0.0.1' });
    logger.info({ httpAddress }, 'HTTP API listening');
  }
  const running: RunningAgent = {
    agent,
    bus,
    ...(httpAddress ? { httpAddress } : {}),
    store,
    durability,
    ...(learner ? { learner } : {}),
    done,
    stop(reason = 'stopped') {
      stopping ??= (async () => {
        logger.info({ reason }, 'agent stopping');
        // Every step runs even when an earlier one fails (each failure is logged), so a stop always
        // ends with the store closed and the bus gone, and never leaves a rejected promise behind.
        const step = async (what: string, fn: () => unknown): Promise<void> => {
          try {
            await fn();
          } catch (error) {
            logger.error({ err: error }, `stopping: ${what} failed`);
          }
        };
        await step('closing the HTTP API', () => app?.close());
        // the learner first: it persists its buffer while the store is open (the agent's knowledge closes it)
        await step('stopping the NF learner', () => learner?.stop());
        await step('stopping the agent', () => agent.stop());
        await step('unsubscribing from revocations', () => revocations.unsubscribe());
        await step('closing the trust manager', () => trustManager?.close());
        await step('flushing durable state', () => durability.flush());
        durability.detach();
        for (const o of opened) await step('closing a store', () => o.close());
        // A NATS connection drained while its server is gone keeps reconnecting and holds the process
        // open; a drain that fails (e.g. times out on a loaded machine) falls back to close.
        await step('closing the bus', () => (bus.isConnected ? bus.drain() : bus.close()).catch(() => bus.close()));
        resolveDone();
      })();
      return stopping;
    },
  };
  await agent.start();
  await learner?.start();
  logger.info({ agentId: spec.agentId, level: spec.level, ...(learner ? { detector: 'lstm', learning: learner.state().mode } : {}) }, 'agent started');
  return running;
}
