import type { Actuator, Bus, Clock, DecisionEngine, KeyValueStore, Logger, MetricsRegistry, Rng, StreamingDetector } from '@sliceguard/core';
import { idGenerator, memoryKv, silentLogger } from '@sliceguard/core';
import { createStatisticalDetector } from '@sliceguard/analytics';
import type { LocalNetwork, RevocationSubscription } from '@sliceguard/bus';
import { localBus, subscribeRevocations } from '@sliceguard/bus';
import type { SimulatedMano, TrafficFilter } from '@sliceguard/enforcement';
import { createSimulatedMano, createTrafficFilter } from '@sliceguard/enforcement';
import type { AgentIdentity, DomainAuthority } from '@sliceguard/identity';
import { createDomainAuthority, TrustStore } from '@sliceguard/identity';
import type { KnowledgeRetention, LoopQueueOptions, MonitoringConfig } from '@sliceguard/mape';
import { createLoopMetrics } from '@sliceguard/mape';
import type { LoopCoordinator, PolicySet } from '@sliceguard/policy';
import { createLoopCoordinator } from '@sliceguard/policy';
import type { AgentSpec, Topology } from '@sliceguard/topology';
import { resolveAgents } from '@sliceguard/topology';
import type { TrustManager } from '@sliceguard/trust';
import { createTrustManager } from '@sliceguard/trust';
import type { Agent, AgentOptions } from './agent.js';
import { agentDirectory, createAgent } from './agent.js';
import type { CorrelatorOptions } from './analytics/correlator.js';
import type { DetectorAnalyticsOptions } from './analytics/nf-analytics.js';
import type { Collector } from './collectors/collector.js';
import type { PushFeed } from './collectors/push.js';
import { pushFeed } from './collectors/push.js';
import type { CoordinationOptions } from './coordination/coordinator.js';
import { resolveDecisionEngine } from './decision/resolve.js';
import type { DomainAgent } from './domain.js';
import { createDomainAgent } from './domain.js';
import { AgentConfigError } from './errors.js';
import { createCoordinator as createFlCoordinator } from '@sliceguard/federation';
import type { Coordinator as FlCoordinator, CoordinatorOptions as FlCoordinatorOptions } from '@sliceguard/federation';
import { createNfLearner, federatedTypes } from './learning.js';
import type { NfLearner, NfLearningOptions } from './learning.js';

/**
 * NF agents run the LSTM autoencoder as a trainable detector (docs/agents.md, "Learning"); NF types
 * with at least `minClients` agents in a domain learn it through that domain's FL coordinator
 * (`<domain>:fl`, started here unless `coordinator: false`), the others train locally.
 */
export interface InProcessLearningOptions extends NfLearningOptions {
  /** Only these NF agents run the LSTM (default: every NF agent). */
  include?: (spec: AgentSpec) => boolean;
  /** Options of the per-domain coordinators (memoryKv, the domain's trust manager); false: start none (the NF agents still join rounds). */
  coordinator?: false | Omit<Partial<FlCoordinatorOptions>, 'bus' | 'domain' | 'kv' | 'models' | 'clock'>;
}

/** What each domain shares in one process: its root, MANO, traffic filter, trust manager. */
export interface DomainResources {
  domain: string;
  authority: DomainAuthority;
  mano: SimulatedMano;
  filter: TrafficFilter;
  trust?: TrustManager;
  policyCoordinator: LoopCoordinator;
}

/**
 * Creates the bus of one agent from its identity, e.g. `connectNatsBus({ servers, identity, trustStore, clock })`
 * to run the loops over a real nats-server (cluster). `trustStore` holds every domain root of the
 * topology and is shared by every bus of the process (the domain agents apply revocation lists to it).
 */
export type BusFactory = (spec: AgentSpec, identity: AgentIdentity, trustStore: TrustStore) => Bus | Promise<Bus>;

export interface InProcessTopologyOptions {
  topology: Topology;
  /** The LocalBus network of the default bus factory (required unless `busFactory` is given). */
  network?: LocalNetwork;
  /** Bus per agent (default: `localBus` on `network` with the `bus` options). Called again by `restart`. */
  busFactory?: BusFactory;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
  metrics?: MetricsRegistry;
  /** Only these agents (default: every loop of the topology; FL coordinators are never started here). */
  include?: (spec: AgentSpec) => boolean;
  /** Domain roots (default: one fresh authority per domain on `clock`). */
  authorities?: ReadonlyMap<string, DomainAuthority>;
  /**
   * Identities issued beforehand, by agent id (e.g. handed to a child process by whoever holds the
   * domain roots): an agent found here uses it instead of one issued by its domain's authority.
   */
  identities?: ReadonlyMap<string, AgentIdentity>;
  /** NF detector (default: the statistical detector over the NF's metrics). */
  detectorFactory?: (spec: AgentSpec) => StreamingDetector;
  /** NF collector (default: a push feed, reachable through `feed(nf)`). */
  collectorFactory?: (spec: AgentSpec) => Collector;
  /** Local actuators (default: the domain's simulated MANO and traffic filter). */
  actuatorFactory?: (spec: AgentSpec, resources: DomainResources) => Actuator[];
  /** Decision engine (default: topology policies with the built-in rules as fallback). */
  decisionEngineFactory?: (spec: AgentSpec) => DecisionEngine | Promise<DecisionEngine>;
  policies?: 'topology' | 'builtin';
  /**
   * Knowledge store per agent (default memoryKv, kept across `restart`). `restart` calls the factory
   * again, as a restarted process reopens its store: return a store holding the same data.
   */
  kvFactory?: (spec: AgentSpec) => KeyValueStore;
  retention?: Partial<KnowledgeRetention>;
  historyEvery?: number;
  monitoring?: Partial<MonitoringConfig>;
  queues?: LoopQueueOptions;
  coordination?: CoordinationOptions;
  correlation?: AgentOptions['correlation'] & Partial<Pick<CorrelatorOptions, 'k'>>;
  nfAnalytics?: Partial<Omit<DetectorAnalyticsOptions, 'agentId' | 'target' | 'detector' | 'ids'>>;
  /** One Trust Manager per domain, shared by its agents (default true). */
  trust?: boolean;
  /** Options of the simulated MANO (delays, autoscaler). */
  mano?: { delays?: Record<string, number>; autoscaler?: false | Record<string, number> };
  /** Bus options per agent of the default bus factory (skew, replay window, batch signing). */
  bus?: { maxSkewMs?: number; replayWindow?: number; batch?: { maxMessages?: number } };
  /** NF agents run the LSTM autoencoder, trained federatedly per NF type; off when undefined. */
  learning?: InProcessLearningOptions;
}

export interface InProcessTopology {
  readonly agents: ReadonlyMap<string, Agent>;
  readonly domains: ReadonlyMap<string, DomainAgent>;
  readonly resources: ReadonlyMap<string, DomainResources>;
  readonly buses: ReadonlyMap<string, Bus>;
  readonly specs: readonly AgentSpec[];
  /** NF agents running the LSTM (`learning`), by agent id. */
  readonly learners: ReadonlyMap<string, NfLearner>;
  /** The FL coordinator of each domain with federated NF types (`learning`), by domain. */
  readonly flCoordinators: ReadonlyMap<string, FlCoordinator>;
  /** The push feed of an NF agent (by agent id or NF id), when it uses the default collector. */
  feed(nfOrAgentId: string): PushFeed | undefined;
  agent(idOrEntity: string): Agent | undefined;
  /** Resolves once every started loop is active (real-time bound; activation needs no timers). */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Restarts one non-domain agent as its process would after a crash: stops it, closes its bus, then
   * builds it again with the same identity (a new bus from the bus factory), its knowledge store
   * (see `kvFactory`), the same push feed when it uses the default collector, and a fresh rng fork;
   * the new loop announces itself and its domain agent activates it. Resolves with the new agent
   * (also in `agents`, `buses`, `agent()`).
   */
  restart(agentId: string): Promise<Agent>;
  stop(): Promise<void>;
}

/**
 * Runs a whole topology in one process over the LocalBus (or any bus: `busFactory`, e.g. NATS
 * clients of a real cluster): every loop gets its own signed bus and identity; each domain gets its domain agent (which activates the others), a simulated MANO and a
 * traffic filter its agents act on, and a Trust Manager. The simulations package drives it with a
 * simulated clock; every part is injectable.
 */
export async function startTopologyInProcess(options: InProcessTopologyOptions): Promise<InProcessTopology> {
  const { topology, network, clock, rng } = options;
  if (!options.busFactory && !network) throw new AgentConfigError('startTopologyInProcess needs a LocalNetwork (`network`) or a `busFactory`');
  const logger = options.logger ?? silentLogger();
  const specs = resolveAgents(topology).filter((s) => s.level !== 'coordinator' && (options.include?.(s) ?? true));
  const directory = agentDirectory(resolveAgents(topology));
  const loopMetrics = options.metrics ? createLoopMetrics(options.metrics) : undefined;
  const policyCache = new Map<string, Promise<PolicySet>>();

  const resources = new Map<string, DomainResources>();
  const domainAgents = new Map<string, DomainAgent>();
  const credentialIds = new Map<string, string>();
  const trustStore = new TrustStore();
  for (const domain of topology.domains) {
    const authority = options.authorities?.get(domain.id) ?? createDomainAuthority(domain.id, { clock });
    trustStore.addRoot(domain.id, authority.keyPair.publicKey);
    const nfs = domain.slices.flatMap((s) => s.subslices.filter((ss) => ss.definedIn === s.id).flatMap((ss) => ss.nfs));
    const filter = createTrafficFilter({ clock, name: `${domain.id}-filter` });
    const mano = createSimulatedMano({
      clock,
      nfs: nfs.map((nf) => ({ id: nf.id, type: nf.type, replicas: { ...nf.replicas } })),
      trafficFilter: filter,
      logger,
      ...((options.mano ?? {}) as object),
    });
    // Same persistence path as an agent process (a kv under `trust/`); onRevoke goes to the domain agent, which holds the root here.
    const trust =
      options.trust === false
        ? undefined
        : await createTrustManager({ clock, self: `${domain.id}:tsm`, logger, kv: memoryKv(), onRevoke: (agentId, event) => domainAgents.get(domain.id)?.revoke(agentId, event) });
    resources.set(domain.id, { domain: domain.id, authority, mano, filter, policyCoordinator: createLoopCoordinator({ clock }), ...(trust ? { trust } : {}) });
  }

  const agents = new Map<string, Agent>();
  const domains = new Map<string, DomainAgent>();
  const buses = new Map<string, Bus>();
  const feeds = new Map<string, PushFeed>();
  const revocationSubs: RevocationSubscription[] = [];
  const identities = new Map<string, AgentIdentity>();
  const stores = new Map<string, KeyValueStore>();
  const learners = new Map<string, NfLearner>();
  const flCoordinators = new Map<string, FlCoordinator>();
  const flTypes = options.learning ? federatedTypes(specs.filter((s) => options.learning?.include?.(s) ?? true), options.learning.coordinator ? (options.learning.coordinator.minClients ?? 2) : 2) : new Map<string, string[]>();
  const busFactory: BusFactory =
    options.busFactory ?? ((spec, identity, store) => localBus({ network: network!, identity, trustStore: store, clock, logger: logger.child({ bus: spec.agentId }), ...(options.bus ?? {}) }));
  /** Builds one agent (not started); incarnation 0 is the first start, n > 0 the n-th restart. */
  const build = async (spec: AgentSpec, incarnation: number): Promise<Agent> => {
    const res = resources.get(spec.domain);
    if (!res) throw new AgentConfigError(`agent ${spec.agentId} is in unknown domain ${spec.domain}`);
    let identity = identities.get(spec.agentId) ?? options.identities?.get(spec.agentId);
    if (!identity) {
      identity = res.authority.issue({
        agentId: spec.agentId,
        level: spec.level,
        ...(spec.placement.slice ? { slice: spec.placement.slice } : {}),
        ...(spec.placement.subslice ? { subslice: spec.placement.subslice } : {}),
        ...(spec.placement.nf ? { nf: spec.placement.nf } : {}),
      });
    }
    identities.set(spec.agentId, identity);
    credentialIds.set(spec.agentId, identity.credential.id);
    const bus = await busFactory(spec, identity, trustStore);
    buses.set(spec.agentId, bus);
    const agentRng = rng.fork(incarnation === 0 ? spec.agentId : `${spec.agentId}#${incarnation}`);
    const ids = idGenerator(agentRng.fork('ids'), incarnation === 0 ? spec.agentId : `${spec.agentId}-r${incarnation}`);
    const decisionEngine = options.decisionEngineFactory
      ? await options.decisionEngineFactory(spec)
      : await resolveDecisionEngine({ spec, clock, ids, logger, cache: policyCache, coordinator: res.policyCoordinator, policies: options.policies ?? 'topology' });
    let kv = options.kvFactory ? options.kvFactory(spec) : stores.get(spec.agentId);
    if (!kv) stores.set(spec.agentId, (kv = memoryKv()));
    let collector: Collector | undefined;
    let detector: StreamingDetector | undefined;
    if (spec.level === 'nf' && spec.nf) {
      collector = options.collectorFactory?.(spec);
      if (!collector) {
        let feed = feeds.get(spec.agentId);
        if (!feed) {
          feed = pushFeed({ name: `feed:${spec.nf.id}` });
          feeds.set(spec.agentId, feed);
          feeds.set(spec.nf.id, feed);
        }
        collector = feed;
      }
      detector = options.detectorFactory?.(spec) ?? createStatisticalDetector({ metrics: spec.nf.metrics });
      if (options.learning && (options.learning.include?.(spec) ?? true)) {
        const { include: _include, coordinator: _coordinator, ...learning } = options.learning;
        const learner = await createNfLearner({
          ...learning,
          federated: (learning.federated ?? true) && (flTypes.get(spec.domain)?.includes(spec.nf.type) ?? false),
          spec,
          bus,
          clock,
          logger,
          baseline: detector,
          kv,
        });
        learners.set(spec.agentId, learner);
        detector = learner.detector;
      }
    }
    const common: AgentOptions = {
      spec,
      directory,
      bus,
      clock,
      rng: agentRng,
      ids,
      logger,
      decisionEngine,
      ...(loopMetrics ? { loopMetrics } : {}),
      kv,
      ...(options.retention ? { retention: options.retention } : {}),
      ...(options.historyEvery !== undefined ? { historyEvery: options.historyEvery } : {}),
      actuators: options.actuatorFactory?.(spec, res) ?? [res.mano, res.filter],
      ...(collector ? { collector } : {}),
      ...(detector ? { detector } : {}),
      ...(options.nfAnalytics ? { nfAnalytics: options.nfAnalytics } : {}),
      ...(options.correlation ? { correlation: options.correlation } : {}),
      ...(options.monitoring ? { monitoring: options.monitoring } : {}),
      ...(options.queues ? { queues: options.queues } : {}),
      ...(options.coordination ? { coordination: options.coordination } : {}),
      ...(res.trust ? { trust: res.trust, trustSink: res.trust } : {}),
      extraFacts: () => ({ resources: manoResources(res.mano) }),
    };
    const agent =
      spec.level === 'domain'
        ? await createDomainAgent({
            ...common,
            ...(res.trust ? { trustManager: res.trust } : {}),
            revocation: { authority: res.authority, credentialOf: (id) => credentialIds.get(id) },
          })
        : await createAgent(common);
    if (spec.level === 'domain') {
      domainAgents.set(spec.domain, agent as DomainAgent);
      // Every bus of this process shares one TrustStore: one subscription per domain applies its
      // revocation lists for all of them, from the moment a list arrives.
      revocationSubs.push(subscribeRevocations(bus, trustStore, { domains: [spec.domain] }));
      domains.set(spec.domain, agent as DomainAgent);
    }
    agents.set(spec.agentId, agent);
    return agent;
  };
  const startCoordinators = async (): Promise<void> => {
    if (!options.learning || options.learning.coordinator === false || options.learning.federated === false) return;
    const coordinatorOptions = options.learning.coordinator ?? {};
    for (const [domain, types] of flTypes) {
      const res = resources.get(domain)!;
      const spec = directory.get(`${domain}:fl`);
      if (!spec) throw new AgentConfigError(`the topology has no FL coordinator entity for domain ${domain}`);
      const identity = res.authority.issue({ agentId: spec.agentId, level: 'coordinator' });
      const bus = await busFactory(spec, identity, trustStore);
      buses.set(spec.agentId, bus);
      const coordinator = createFlCoordinator({
        ...(res.trust ? { trustSink: res.trust, trustView: res.trust } : {}),
        rng: rng.fork(`fl:${domain}`),
        logger,
        ...coordinatorOptions,
        bus,
        domain,
        kv: memoryKv(),
        clock,
        models: types.map((name) => ({ name })),
      });
      await coordinator.start();
      flCoordinators.set(domain, coordinator);
    }
  };
  try {
    // FL coordinators first, so the NF agents' first joins reach them.
    await startCoordinators();
    for (const spec of specs) await build(spec, 0);
    // Loops first (they announce themselves instantiated), then the orchestrators that activate them.
    for (const a of agents.values()) if (a.level !== 'domain') await a.start();
    // Over a real broker a subscription is live only once the server has it: flush every bus so the
    // loops' control subscriptions are in place before the orchestrators send their first commands.
    await Promise.all([...buses.values()].map((b) => b.flush()));
    for (const a of domains.values()) await a.start();
    for (const l of learners.values()) await l.start();
  } catch (error) {
    for (const a of agents.values()) await a.stop().catch(() => {});
    for (const l of learners.values()) await l.stop().catch(() => {});
    for (const c of flCoordinators.values()) await c.stop().catch(() => {});
    for (const r of revocationSubs) r.unsubscribe();
    for (const b of buses.values()) await b.close().catch(() => {});
    throw error;
  }

  const byEntity = new Map<string, Agent>();
  for (const a of agents.values()) {
    const e = a.spec.nf?.id ?? a.spec.subslice?.id ?? a.spec.slice;
    if (e) byEntity.set(e, a);
  }
  let stopped = false;
  const incarnations = new Map<string, number>();
  return {
    agents,
    domains,
    resources,
    buses,
    specs,
    learners,
    flCoordinators,
    feed: (id) => feeds.get(id),
    agent: (id) => agents.get(id) ?? byEntity.get(id),
    async ready(timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      // The orchestrators retry unacknowledged commands on the injected clock, which does not move
      // while a simulation waits here; over a broker cluster a first command can still be lost while
      // the loop's subscription interest propagates between nodes, so resend in wall time.
      let resendAt = performance.now() + 500;
      for (;;) {
        const lagging = [...agents.values()].filter((a) => a.loop.state !== 'active');
        if (lagging.length === 0) return;
        if (performance.now() >= resendAt) {
          resendAt = performance.now() + 500;
          for (const a of lagging) {
            if (a.loop.state !== 'instantiated' && a.loop.state !== 'inactive') continue;
            domains.get(a.spec.domain)?.supervisor
              .command(a.id, 'activate', 'security orchestrator: activation resent while waiting for readiness')
              .catch(() => {});
          }
        }
        if (performance.now() > deadline) {
          throw new AgentConfigError(
            `${lagging.length} loop(s) not active after ${timeoutMs} ms: ${lagging
              .slice(0, 10)
              .map((a) => `${a.id}=${a.loop.state}`)
              .join(', ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, lagging.length > 100 ? 20 : 2));
      }
    },
    async restart(agentId) {
      if (stopped) throw new AgentConfigError(`cannot restart ${agentId}: the topology is stopped`);
      const old = agents.get(agentId);
      if (!old) throw new AgentConfigError(`no agent ${agentId} to restart (started: ${[...agents.keys()].slice(0, 10).join(', ')})`);
      if (old.level === 'domain') throw new AgentConfigError(`${agentId} is a domain agent; restart a loop it supervises`);
      await learners.get(agentId)?.stop();
      learners.delete(agentId);
      await old.stop();
      await buses.get(agentId)?.close();
      const n = (incarnations.get(agentId) ?? 0) + 1;
      incarnations.set(agentId, n);
      const agent = await build(old.spec, n);
      await agent.start();
      await learners.get(agentId)?.start();
      const entity = agent.spec.nf?.id ?? agent.spec.subslice?.id ?? agent.spec.slice;
      if (entity) byEntity.set(entity, agent);
      return agent;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const l of learners.values()) await l.stop();
      for (const a of domains.values()) await a.stop();
      for (const a of agents.values()) await a.stop();
      for (const c of flCoordinators.values()) await c.stop();
      for (const r of revocationSubs) r.unsubscribe();
      for (const r of resources.values()) {
        r.mano.stop();
        await r.trust?.close();
      }
      for (const b of buses.values()) await b.close();
    },
  };
}

function manoResources(mano: SimulatedMano): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const s of mano.states()) out[s.id] = { replicas: s.replicas };
  return out;
}
