import type { Agent, AgentOptions, Collector, DomainAgent, DomainResources, InProcessTopology } from '@sliceguard/agents';
import { agentDirectory, createAgent, createDomainAgent, resolveDecisionEngine } from '@sliceguard/agents';
import type { Bus, Clock, Logger, Rng, StreamingDetector } from '@sliceguard/core';
import { idGenerator, type KeyValueStore, memoryKv, silentLogger } from '@sliceguard/core';
import { type RevocationSubscription, subscribeRevocations } from '@sliceguard/bus';
import { createSimulatedMano, createTrafficFilter } from '@sliceguard/enforcement';
import { type AgentIdentity, createDomainAuthority, TrustStore } from '@sliceguard/identity';
import type { MonitoringConfig } from '@sliceguard/mape';
import type { PolicySet } from '@sliceguard/policy';
import { createLoopCoordinator } from '@sliceguard/policy';
import type { AgentSpec, Topology } from '@sliceguard/topology';
import { resolveAgents } from '@sliceguard/topology';
import { createTrustManager } from '@sliceguard/trust';
import { SimulationRunError } from './errors.js';

/** Creates the bus of one agent (e.g. `connectNatsBus` to a real cluster). */
export type BusFactory = (spec: AgentSpec, identity: AgentIdentity, trustStore: TrustStore) => Promise<Bus>;

export interface BusTopologyOptions {
  topology: Topology;
  busFactory: BusFactory;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
  policies?: 'topology' | 'builtin';
  detectorFactory: (spec: AgentSpec) => StreamingDetector;
  collectorFactory: (spec: AgentSpec) => Collector;
  monitoring?: Partial<MonitoringConfig>;
  nfAnalytics?: AgentOptions['nfAnalytics'];
  mano?: { autoscaler?: false };
}

export interface BusTopology extends InProcessTopology {
  /**
   * Restarts one non-domain agent as its process would after a crash: same identity (a new bus
   * connection), a knowledge store that survived (as LevelDB does), a fresh loop that announces
   * itself and is activated by its domain agent. Resolves with the new agent.
   */
  restart(agentId: string): Promise<Agent>;
}

/**
 * The whole topology of loops, like @sliceguard/agents' `startTopologyInProcess`, but every agent's
 * bus comes from `busFactory` — so the same loops run over a real nats-server (cluster) instead of
 * the LocalBus. `startTopologyInProcess` takes a LocalNetwork only; this builds the agents with the
 * package's exported per-agent factories (createAgent, createDomainAgent, resolveDecisionEngine) the
 * same way, one domain authority, MANO, traffic filter and trust manager per domain.
 */
export async function startTopologyOverBuses(options: BusTopologyOptions): Promise<BusTopology> {
  const { topology, clock, rng } = options;
  const logger = options.logger ?? silentLogger();
  const specs = resolveAgents(topology).filter((s) => s.level !== 'coordinator');
  const directory = agentDirectory(resolveAgents(topology));
  const policyCache = new Map<string, Promise<PolicySet>>();
  const resources = new Map<string, DomainResources>();
  const domainAgents = new Map<string, DomainAgent>();
  const credentialIds = new Map<string, string>();
  const trustStore = new TrustStore();
  for (const domain of topology.domains) {
    const authority = createDomainAuthority(domain.id, { clock });
    trustStore.addRoot(domain.id, authority.keyPair.publicKey);
    const nfs = domain.slices.flatMap((s) => s.subslices.filter((ss) => ss.definedIn === s.id).flatMap((ss) => ss.nfs));
    const filter = createTrafficFilter({ clock, name: `${domain.id}-filter` });
    const mano = createSimulatedMano({
      clock,
      nfs: nfs.map((nf) => ({ id: nf.id, type: nf.type, replicas: { ...nf.replicas } })),
      trafficFilter: filter,
      logger,
      ...(options.mano ?? {}),
    });
    const trust = await createTrustManager({ clock, self: `${domain.id}:tsm`, logger, kv: memoryKv(), onRevoke: (agentId, event) => domainAgents.get(domain.id)?.revoke(agentId, event) });
    resources.set(domain.id, { domain: domain.id, authority, mano, filter, trust, policyCoordinator: createLoopCoordinator({ clock }) });
  }
  const agents = new Map<string, Agent>();
  const buses = new Map<string, Bus>();
  const revocationSubs: RevocationSubscription[] = [];
  const closeAll = async () => {
    for (const a of agents.values()) await a.stop().catch(() => {});
    for (const r of revocationSubs) r.unsubscribe();
    for (const r of resources.values()) {
      r.mano.stop();
      await r.trust?.close();
    }
    for (const b of buses.values()) await b.close().catch(() => {});
  };
  const identities = new Map<string, AgentIdentity>();
  // knowledge that outlives an agent (as its LevelDB directory does): closing keeps the data
  const stores = new Map<string, KeyValueStore>();
  const kvOf = (agentId: string): KeyValueStore => {
    let kv = stores.get(agentId);
    if (!kv) stores.set(agentId, (kv = { ...memoryKv(), close: async () => {} }));
    return kv;
  };
  const build = async (spec: AgentSpec, incarnation: number): Promise<Agent> => {
    const res = resources.get(spec.domain);
    if (!res) throw new SimulationRunError(`agent ${spec.agentId} is in unknown domain ${spec.domain}`);
    let identity = identities.get(spec.agentId);
    if (!identity) {
      identity = res.authority.issue({
        agentId: spec.agentId,
        level: spec.level,
        ...(spec.placement.slice ? { slice: spec.placement.slice } : {}),
        ...(spec.placement.subslice ? { subslice: spec.placement.subslice } : {}),
        ...(spec.placement.nf ? { nf: spec.placement.nf } : {}),
      });
      identities.set(spec.agentId, identity);
      credentialIds.set(spec.agentId, identity.credential.id);
    }
    const bus = await options.busFactory(spec, identity, trustStore);
    buses.set(spec.agentId, bus);
    const agentRng = rng.fork(incarnation === 0 ? spec.agentId : `${spec.agentId}#${incarnation}`);
    const ids = idGenerator(agentRng.fork('ids'), incarnation === 0 ? spec.agentId : `${spec.agentId}-r${incarnation}`);
    const decisionEngine = await resolveDecisionEngine({ spec, clock, ids, logger, cache: policyCache, coordinator: res.policyCoordinator, policies: options.policies ?? 'topology' });
    const isNf = spec.level === 'nf' && spec.nf !== undefined;
    const common: AgentOptions = {
      spec,
      directory,
      bus,
      clock,
      rng: agentRng,
      ids,
      logger,
      decisionEngine,
      kv: kvOf(spec.agentId),
      actuators: [res.mano, res.filter],
      ...(isNf ? { collector: options.collectorFactory(spec), detector: options.detectorFactory(spec) } : {}),
      ...(options.nfAnalytics ? { nfAnalytics: options.nfAnalytics } : {}),
      ...(options.monitoring ? { monitoring: options.monitoring } : {}),
      ...(res.trust ? { trust: res.trust, trustSink: res.trust } : {}),
      extraFacts: () => ({ resources: Object.fromEntries(res.mano.states().map((s) => [s.id, { replicas: s.replicas }])) }),
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
      revocationSubs.push(subscribeRevocations(bus, trustStore, { domains: [spec.domain] }));
    }
    agents.set(spec.agentId, agent);
    return agent;
  };
  try {
    for (const spec of specs) await build(spec, 0);
    for (const a of agents.values()) if (a.level !== 'domain') await a.start();
    for (const a of domainAgents.values()) await a.start();
  } catch (error) {
    await closeAll();
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
    async restart(agentId) {
      const old = agents.get(agentId);
      if (!old) throw new SimulationRunError(`no agent ${agentId} to restart`);
      if (old.level === 'domain') throw new SimulationRunError(`${agentId} is a domain agent; restart a loop it supervises`);
      await old.stop();
      await buses.get(agentId)?.close();
      const n = (incarnations.get(agentId) ?? 0) + 1;
      incarnations.set(agentId, n);
      const agent = await build(old.spec, n);
      await agent.start();
      const entity = agent.spec.nf?.id ?? agent.spec.subslice?.id ?? agent.spec.slice;
      if (entity) byEntity.set(entity, agent);
      return agent;
    },
    agents,
    domains: domainAgents,
    resources,
    buses,
    specs,
    feed: () => undefined,
    agent: (id) => agents.get(id) ?? byEntity.get(id),
    async ready(timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const lagging = [...agents.values()].filter((a) => a.loop.state !== 'active');
        if (lagging.length === 0) return;
        if (performance.now() > deadline) throw new SimulationRunError(`${lagging.length} loop(s) not active after ${timeoutMs} ms: ${lagging.map((a) => `${a.id}=${a.loop.state}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const a of domainAgents.values()) await a.stop();
      await closeAll();
    },
  };
}
