import type { Agent, Collector, DomainResources, InProcessTopology } from '@sliceguard/agents';
import { startTopologyInProcess } from '@sliceguard/agents';
import { createLstmDetector, createStatisticalDetector, type LstmAutoencoder, trainLstmAutoencoder } from '@sliceguard/analytics';
import { type AgentLevel, type Bus, emptyRejectCounts, loopSubject, type Sample, type StreamingDetector, subjectMatches, systemSubject, type Verdict } from '@sliceguard/core';
import { connectNatsBus, createLocalNetwork, localBus, type NatsBus, publishRevocations, subscribeRevocations } from '@sliceguard/bus';
import { TrustStore } from '@sliceguard/identity';
import type { AgentSpec } from '@sliceguard/topology';
import { type CapacityView, filterGate, manoCapacity, type TrafficGate } from './control.js';
import { SimulationRunError } from './errors.js';
import { recordManoEvents, type SecurityLayer, type SecurityLayerContext, type SecurityLayerFactory } from './layer.js';
import type { Recorder } from './recorder.js';
import type { MetricFeed } from './world.js';
import { type FederationRig, poisonParams, startFederation } from './fl-layer.js';
import { type CoordinationLedger, coordinationLedger } from './ledger.js';
import { processesSecurityLayer } from './processes-layer.js';

export interface AgentsLayerOptions {
  /** NF detector: the LSTM autoencoder trained at the end of the training phase, or the statistical baseline throughout. Default: what the scenario asks for. */
  detector?: 'lstm' | 'statistical';
  /** Decision engine: the topology's policy files (with built-in rules as fallback) or the built-in rules only. Default 'topology'. */
  policies?: 'topology' | 'builtin';
  /** Statistical detector threshold (z). Default the analytics default. */
  zThreshold?: number;
  /** LSTM window (samples), epochs, batch, units, training windows. Defaults 12, 30 (the paper), 50 (the paper), 16, 400. */
  lstm?: { window?: number; epochs?: number; batchSize?: number; units?: number; maxWindows?: number };
  /** Trust scores are sampled every this many ms. Default 30 s. */
  trustEveryMs?: number;
  /**
   * Run the agents over this real nats-server (URL or cluster URLs) instead of the LocalBus; the
   * engine then waits for the brokers between 1 s steps. A scenario with `brokers: 'nats-cluster'`
   * starts its own 3-node cluster when this is absent.
   */
  nats?: string | readonly string[];
  /**
   * Spread the agents over this many child processes (needs `nats`): each hosts its agents on NATS
   * clients of the given server; this process keeps the world, the engine and the report (see
   * processes-layer.ts). Absent: every agent runs in this process.
   */
  processes?: number;
  /** With `processes`: called with the child processes once they are all ready (tests). */
  onHosts?: (hosts: readonly { index: number; pid: number; agents: readonly string[] }[]) => void;
}

/** Where a detector's verdicts go (the recorder, or a batch sent to it from another process). */
export interface VerdictSink {
  onVerdict(nf: string, v: Verdict): void;
}

/** Where a loop's analytics events, executed actions and failures go. */
export type LoopSink = Pick<Recorder, 'note' | 'onEvent' | 'onAction'>;

interface NatsRig {
  servers: string[];
  cluster?: { nodes: { url: string; port: number; kill(): Promise<void> }[]; stop(): Promise<void> };
  buses: NatsBus[];
}

async function startNatsRig(ctx: SecurityLayerContext, options: AgentsLayerOptions): Promise<NatsRig | undefined> {
  if (options.nats !== undefined) {
    const servers = typeof options.nats === 'string' ? [options.nats] : [...options.nats];
    return { servers, buses: [] };
  }
  if (ctx.brokers !== 'nats-cluster') return undefined;
  // nats-server must be installed: startNatsCluster throws with the install hint otherwise
  const { startNatsCluster } = await import('@sliceguard/test-utils');
  const cluster = await startNatsCluster(3);
  return { servers: [...cluster.urls], cluster, buses: [] };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits (real time) until every NATS client is connected and has flushed what it published. */
async function settleNats(rig: NatsRig, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (rig.buses.some((b) => !b.isConnected)) {
    if (performance.now() > deadline) throw new SimulationRunError(`NATS clients not reconnected after ${timeoutMs} ms (servers ${rig.servers.join(', ')})`);
    await sleep(10);
  }
  await Promise.all(rig.buses.map((b) => Promise.race([b.flush().catch(() => {}), sleep(2000)])));
  // the subscribers' sockets: let their deliveries (and signature checks) run
  await sleep(3);
}

/** The simulation's metric feed as an NF agent's collector (the "simulation feed" collector). */
export function feedCollector(feed: MetricFeed, nf: string): Collector {
  return {
    name: `sim:${nf}`,
    async collect(request) {
      const sample = feed.sample(nf, {
        windowMs: request.config.samplingPeriodMs,
        perFlow: request.config.granularity === 'per_flow',
        ...(request.config.metrics ? { metrics: request.config.metrics } : {}),
      });
      return Object.keys(sample.values).length > 0 ? [sample] : [];
    },
  };
}

/**
 * The NF agent's detector in a simulation: the statistical baseline always runs (so its baseline
 * stays warm); once an LSTM autoencoder is installed, it scores every sample that carries all of its
 * metrics, and the baseline answers for samples that do not (programmable monitoring may narrow the
 * metric set for a while) or while the LSTM refills its window. Every verdict is recorded.
 */
export class RecordedDetector implements StreamingDetector {
  private lstm?: StreamingDetector;

  constructor(
    private readonly baseline: StreamingDetector,
    private readonly nf: string,
    private readonly recorder: VerdictSink,
  ) {}

  get name(): string {
    return this.lstm ? `${this.lstm.name}+${this.baseline.name}` : this.baseline.name;
  }

  get metrics(): readonly string[] {
    return this.baseline.metrics;
  }

  async push(sample: Sample): Promise<Verdict | undefined> {
    const base = await this.baseline.push(sample);
    let verdict = base;
    const lstm = this.lstm;
    if (lstm?.metrics.every((m) => Number.isFinite(sample.values[m]))) verdict = (await lstm.push(sample)) ?? base;
    if (verdict) this.recorder.onVerdict(this.nf, verdict);
    return verdict;
  }

  reset(): void {
    this.baseline.reset();
    this.lstm?.reset();
  }

  /** Installs the trained model's detector. */
  install(lstm: StreamingDetector): void {
    this.lstm = lstm;
  }
}

/** The observer's message kinds by coordination payload kind. */
export const CHANNEL_KIND: Record<string, string> = {
  escalation: 'escalate',
  delegation: 'delegate',
  outcome: 'outcome',
  incident_outcome: 'outcome',
  escalation_ack: 'outcome',
  indicators: 'peer',
  control: 'control',
};

/**
 * The real loops: every agent of the topology in this process over a LocalBus (signed messages),
 * via @sliceguard/agents' startTopologyInProcess, reading the world through feed collectors and
 * acting through each domain's traffic filter and simulated MANO — which the traffic models obey.
 */
export function agentsSecurityLayer(options: AgentsLayerOptions = {}): SecurityLayerFactory {
  if (options.processes !== undefined) return processesSecurityLayer(options);
  return async (ctx: SecurityLayerContext): Promise<SecurityLayer> => {
    const { recorder, engine } = ctx;
    const detectorKind = options.detector ?? ctx.detector;
    const network = createLocalNetwork();
    const detectors = new Map<string, { spec: AgentSpec; detector: RecordedDetector }>();
    const nats = await startNatsRig(ctx, options);
    const detectorFactory = (spec: AgentSpec) => {
      const base = createStatisticalDetector({ metrics: spec.nf!.metrics, ...(options.zThreshold !== undefined ? { threshold: options.zThreshold } : {}) });
      const detector = new RecordedDetector(base, spec.nf!.id, recorder);
      detectors.set(spec.nf!.id, { spec, detector });
      return detector;
    };
    let natsIndex = 0;
    const natsBus = async (identity: Parameters<typeof localBus>[0]['identity'], trustStore: TrustStore): Promise<NatsBus> => {
      const servers = nats!.servers;
      // spread the clients over the nodes (the client still learns and fails over to every node)
      const k = natsIndex++ % servers.length;
      const bus = await connectNatsBus({ servers: [...servers.slice(k), ...servers.slice(0, k)], identity, trustStore, clock: engine.clock, reconnectTimeWaitMs: 100, pingIntervalMs: 2000 });
      nats!.buses.push(bus);
      return bus;
    };
    // one builder for both transports: the LocalBus on `network`, or NATS clients of the brokers
    /** What each domain agent's bus receives (its Trust Manager counts those rejections itself). */
    const domainAgentReceives = new Map<string, (subject: string) => boolean>();
    const startSim = (): Promise<InProcessTopology> =>
      startTopologyInProcess({
        topology: ctx.topology,
        network,
        busFactory: async (spec, identity, trustStore) => {
          const bus = nats ? await natsBus(identity, trustStore) : localBus({ network, identity, trustStore, clock: engine.clock, logger: ctx.logger.child({ bus: spec.agentId }) });
          if (spec.level === 'domain') domainAgentReceives.set(spec.domain, trackSubscriptions(bus));
          return bus;
        },
        clock: engine.clock,
        rng: ctx.rng,
        logger: ctx.logger,
        policies: options.policies ?? 'topology',
        ...(ctx.autoscaler ? {} : { mano: { autoscaler: false as const } }),
        monitoring: { samplingPeriodMs: ctx.samplingPeriodMs },
        // the flow probe exports up to 25 top flows per statistic: let an anomaly name them all
        nfAnalytics: { maxIndicators: 32 },
        collectorFactory: (spec) => feedCollector(ctx.feed, spec.nf!.id),
        detectorFactory,
      });
    let sim: InProcessTopology;
    try {
      sim = await startSim();
    } catch (error) {
      for (const b of nats?.buses ?? []) await b.close().catch(() => {});
      await nats?.cluster?.stop();
      throw error;
    }
    if (nats) recorder.note(`brokers: nats-server at ${nats.servers.join(', ')}${nats.cluster ? ' (3-node cluster started for this run)' : ''}; ${nats.buses.length} agent connections`);

    const { gate, capacity } = domainControls(sim.resources, sim.specs);

    // what the loops do: their analytics events and every action they enforced
    const detach: (() => void)[] = [];
    for (const agent of sim.agents.values()) detach.push(watchLoop(agent, recorder));
    for (const r of sim.resources.values()) detach.push(recordManoEvents(r.mano, recorder));

    // an operator-level observer sees the coordination messages (escalate / delegate / outcome / peer)
    const trustStore = new TrustStore();
    for (const r of sim.resources.values()) trustStore.addRoot(r.domain, r.authority.keyPair.publicKey);
    const first = [...sim.resources.values()][0];
    const observerIdentity = first.authority.issue({ agentId: `${first.domain}:sim-observer`, level: 'operator' });
    const observer: Bus = nats ? await natsBus(observerIdentity, trustStore) : localBus({ network, identity: observerIdentity, trustStore, clock: engine.clock });
    // every escalation, delegation and outcome as its sender and its addressee saw it
    const ledger: CoordinationLedger = coordinationLedger(sim.agents.values(), engine.clock);
    // the observer applies the domain roots' revocation lists like every agent
    const observerRevocations = subscribeRevocations(observer, trustStore, { domains: [...sim.resources.keys()] });
    /** Messages signed with a stolen credential, as the observer judged them. */
    const stolen = new Map<string, { credentialId: string; forged: number; forgedAfter: number; revokedAt?: number; deliveredAfter: number; rejectedRevoked: number }>();
    detach.push(
      observer.onReject((reason, info) => {
        const s = info.sender ? stolen.get(info.sender) : undefined;
        if (s && reason === 'revoked') s.rejectedRevoked++;
      }),
    );
    // bus rejections (forged, out-of-scope, replayed messages) become message-validity evidence, and
    // trust transitions (quarantine, revoke…) are recorded as the domain's actions
    for (const r of sim.resources.values()) {
      if (!r.trust) continue;
      detach.push(attachObserverRejections(r.trust, observer, r.domain, domainAgentReceives.get(r.domain) ?? (() => false)));
      detach.push(recordTrustTransitions(r.trust, r.domain, recorder, (at) => recorder.t(at)));
    }
    observer.subscribe('sg.>', (msg) => {
      let payload: { kind?: string; from?: string; to?: string };
      try {
        payload = msg.json();
      } catch {
        return;
      }
      const s = stolen.get(msg.sender.agentId);
      // the same agent id may hold other credentials (its FL client's): count the stolen one only
      if (s?.revokedAt !== undefined && msg.sender.credentialId === s.credentialId && engine.now() > s.revokedAt) s.deliveredAfter++;
      const kind = payload?.kind ? CHANNEL_KIND[payload.kind] : undefined;
      if (!kind || kind === 'control') return;
      recorder.onMessage({ at: engine.now(), kind, from: msg.sender.agentId, ...(payload.to ? { to: payload.to } : {}), subject: msg.subject });
    });

    const models: LstmAutoencoder[] = [];
    let federation: FederationRig | undefined;
    const timers: { cancel(): void }[] = [];
    /**
     * A rogue agent keeps its valid credential but misbehaves in on-off cycles (60 s on, 60 s off):
     * it forges delegations to its siblings and publishes bad-mouthing trust ratings about them —
     * both outside its credential's scope, so every receiver rejects them and counts the sender.
     */
    const rogue = async (agentId: string, params: Record<string, unknown>): Promise<string> => {
      const bus = sim.buses.get(agentId);
      const spec = sim.specs.find((x) => x.agentId === agentId);
      if (!bus || !spec) throw new SimulationRunError(`no agent ${agentId} to turn rogue`);
      const siblings = sim.specs.filter((x) => x.parentId === spec.parentId && x.agentId !== agentId);
      // a compromised agent runs a patched client: its own library no longer stops out-of-scope
      // publishes, so the receivers' verifiers are what catches it (as with a real rogue)
      patchRogueClient(bus);
      const periodMs = Number(params.periodMs ?? 60_000);
      const started = engine.now();
      let forged = 0;
      const everyMs = Number(params.everyMs ?? 2000);
      timers.push(
        engine.every(everyMs, () => {
          const on = Math.floor((engine.now() - started) / periodMs) % 2 === 0;
          if (!on) return;
          forged = publishRogueRound(bus, spec, siblings, forged, engine.now());
        }),
      );
      return `${agentId} turned rogue: every ${everyMs / 1000} s forged delegations to ${siblings.length} sibling(s) and bad-mouthing ratings, on-off every ${periodMs / 1000} s`;
    };
    /**
     * An attacker holding an agent's private key and credential publishes in its name (in scope, so
     * every verifier accepts it): forged escalations of a fake signaling surge to the parent loop,
     * every `everyMs`. After `revokeAfterMs` the domain root revokes the credential and publishes the
     * signed revocation list (publishRevocations); from then on every message signed with it — the
     * thief's and the victim agent's own, until it is re-keyed — is rejected as `revoked` and counted.
     */
    const stealKey = async (agentId: string, params: Record<string, unknown>): Promise<string> => {
      const bus = sim.buses.get(agentId);
      const spec = sim.specs.find((x) => x.agentId === agentId);
      if (!bus || !spec?.parentId) throw new SimulationRunError(`no agent ${agentId} with a parent loop whose key could be stolen`);
      const res = sim.resources.get(spec.domain);
      const rootBus = [...sim.agents.values()].find((a) => a.level === 'domain' && a.spec.domain === spec.domain);
      if (!res || !rootBus) throw new SimulationRunError(`no domain root for ${spec.domain}`);
      // the thief signs exactly what the victim's key signs: same key, same credential
      const credentialId = bus.self.credentialId;
      const s = { credentialId, forged: 0, forgedAfter: 0, deliveredAfter: 0, rejectedRevoked: 0 } as { credentialId: string; forged: number; forgedAfter: number; revokedAt?: number; deliveredAfter: number; rejectedRevoked: number };
      stolen.set(agentId, s);
      const everyMs = Number(params.everyMs ?? 2000);
      const revokeAfterMs = Number(params.revokeAfterMs ?? 60_000);
      const forgeForMs = Number(params.forgeForMs ?? 2 * revokeAfterMs);
      const started = engine.now();
      const forge = engine.every(everyMs, () => {
        if (engine.now() - started > forgeForMs) return;
        s.forged++;
        if (s.revokedAt !== undefined) s.forgedAfter++;
        publishStolenEscalation(bus, spec, s.forged, engine.now(), everyMs);
      });
      timers.push(forge);
      const revokeTimer = engine.clock.setTimeout(() => {
          const list = res.authority.revoke([credentialId]);
          s.revokedAt = engine.now();
          void publishRevocations(sim.buses.get(rootBus.id)!, list).catch((error: unknown) => recorder.note(`stolen-key: publishing the revocation list failed: ${(error as Error).message}`));
          recorder.note(`stolen-key: ${spec.domain} root revoked credential ${credentialId} of ${agentId} at ${recorder.t(s.revokedAt)} s (revocation list seq ${list.seq})`);
      }, revokeAfterMs);
      timers.push({ cancel: () => engine.clock.clearTimeout(revokeTimer) });
      return `attacker publishes forged escalations with ${agentId}'s key every ${everyMs / 1000} s; the root revokes it after ${revokeAfterMs / 1000} s`;
    };
    const reportStolen = () => {
      let revokedEverywhere = 0;
      for (const b of sim.buses.values()) revokedEverywhere += b.stats().rejected.revoked ?? 0;
      for (const [agentId, s] of stolen) {
        recorder.onFault('stolen-key', agentId, engine.now(), stolenKeyResult(s, revokedEverywhere));
      }
    };
    let lastTrust = Number.NEGATIVE_INFINITY;
    const trustEvery = options.trustEveryMs ?? 30_000;
    const layer: SecurityLayer = {
      name: detectorKind === 'lstm' ? 'agents (LSTM autoencoder)' : 'agents (statistical detector)',
      gate,
      capacity,
      async start() {
        await sim.ready();
        // each domain's MANO runs its own autoscaler (when the scenario wants it): startTopologyInProcess creates it, nobody else starts it
        for (const r of sim.resources.values()) r.mano.start();
        if (ctx.federated) federation = await startFederation(ctx, sim, network, trustStore);
      },
      ...(ctx.federated || nats
        ? {
            async settle() {
              if (nats) await settleNats(nats);
              await federation?.settle();
            },
          }
        : {}),
      async endTraining() {
        if (detectorKind !== 'lstm') return;
        await installLstm(detectors, recorder, ctx, options, models);
      },
      observe() {
        const now = engine.now();
        if (now - lastTrust < trustEvery) return;
        lastTrust = now;
        for (const spec of sim.specs) {
          const trust = sim.resources.get(spec.domain)?.trust;
          if (trust) recorder.onTrust(spec.agentId, trust.score(spec.agentId), now);
        }
      },
      faults: {
        'agent-crash': async (fault) => {
          const agent = sim.agent(fault.target);
          if (!agent) throw new SimulationRunError(`no agent ${fault.target}`);
          await agent.stop();
          return `${agent.id} stopped without notice`;
        },
        'rogue-agent': async (fault) => rogue(fault.target, fault.params ?? {}),
        'agent-restart': async (fault) => {
          const t0 = engine.now();
          // its old connection closes: the brokers' settle no longer waits for it
          const oldBus = sim.buses.get(fault.target);
          if (nats) nats.buses = nats.buses.filter((b) => b !== oldBus);
          const agent = await sim.restart(fault.target);
          detach.push(watchLoop(agent, recorder));
          ledger.watch(agent);
          return `${agent.id} stopped and started again at ${recorder.t(t0)} s (same identity, knowledge kept); its loop announces itself and the domain agent reactivates it`;
        },
        'stolen-key': async (fault) => stealKey(fault.target, fault.params ?? {}),
        'broker-crash': async (fault) => {
          if (!nats?.cluster) throw new SimulationRunError(`broker-crash needs the scenario's own nats-server cluster (brokers: 'nats-cluster'), not ${nats ? 'a given server' : 'the LocalBus'}`);
          // the node most agents are connected to (never the observer's: it keeps counting)
          const observerServer = (observer as NatsBus).server;
          const count = (port: number) => nats.buses.filter((b) => b !== observer && b.server.endsWith(`:${port}`)).length;
          const candidates = nats.cluster.nodes.filter((n) => !observerServer.endsWith(`:${n.port}`));
          const node = candidates.reduce((a, b) => (count(b.port) > count(a.port) ? b : a));
          const clients = count(node.port);
          const t0 = performance.now();
          await node.kill();
          await settleNats(nats);
          return `killed nats-server ${fault.target} (port ${node.port}, SIGKILL) with ${clients} agent connection(s); every client reconnected to a surviving node after ${Math.round(performance.now() - t0)} ms (wall)`;
        },
        'fl-poisoning': async (fault) => {
          if (!federation) throw new SimulationRunError('fl-poisoning needs a federated scenario');
          return federation.poison(fault.target, poisonParams(fault.params));
        },
      },
      async stop() {
        for (const t of timers) t.cancel();
        await federation?.stop();
        for (const d of detach) d();
        const rejected = emptyRejectCounts() as Record<string, number>;
        let sent = 0;
        let delivered = 0;
        for (const b of sim.buses.values()) {
          const s = b.stats();
          sent += s.published;
          delivered += s.delivered;
          for (const [reason, n] of Object.entries(s.rejected)) rejected[reason] = (rejected[reason] ?? 0) + n;
        }
        recorder.busStats = { sent, delivered, rejected: Object.fromEntries(Object.entries(rejected).filter(([, n]) => n > 0)) };
        ledger.report(recorder);
        reportStolen();
        observerRevocations.unsubscribe();
        await observer.close();
        await sim.stop();
        await nats?.cluster?.stop();
        for (const m of models) m.dispose();
      },
    };
    return layer;
  };
}

/**
 * One on-phase round of a rogue agent (a patched client whose library no longer stops out-of-scope
 * publishes): forged `isolate` delegations to each sibling, in its parent's name, and bad-mouthing
 * trust ratings about them. Returns the forged-message counter after the round.
 */
export function publishRogueRound(bus: Bus, spec: AgentSpec, siblings: readonly AgentSpec[], forged: number, now: number): number {
  for (const sib of siblings) {
    forged++;
    void bus
      .publishJson(loopSubject(sib.level as AgentLevel, sib.placement, 'delegate'), {
        v: 1,
        kind: 'delegation',
        id: `forged-${forged}`,
        correlationId: `forged-${forged}`,
        from: spec.parentId,
        to: sib.agentId,
        action: 'isolate',
        target: sib.nf?.id ?? sib.agentId,
        params: {},
        deadline: now + 30_000,
        severity: 1,
        attempt: 1,
        at: now,
      })
      .catch(() => {});
  }
  void bus
    .publishJson(systemSubject(spec.domain, 'trust', 'ratings'), {
      v: 1,
      ratings: siblings.map((sib) => ({ subject: sib.agentId, positive: 0, negative: 5, reason: 'bad-mouthing' })),
    })
    .catch(() => {});
  return forged;
}

/**
 * Which subjects a bus receives itself: records the patterns it subscribes to (and drops them when
 * unsubscribed). Used on a domain agent's bus, whose Trust Manager already counts the rejections of
 * everything that bus receives (`createDomainAgent` attaches it).
 */
export function trackSubscriptions(bus: Bus): (subject: string) => boolean {
  const patterns = new Map<string, number>();
  const subscribe = bus.subscribe.bind(bus);
  Object.defineProperty(bus, 'subscribe', {
    configurable: true,
    value: (...args: Parameters<Bus['subscribe']>) => {
      const sub = subscribe(...args);
      const pattern = args[0];
      patterns.set(pattern, (patterns.get(pattern) ?? 0) + 1);
      let live = true;
      return {
        get pattern() {
          return sub.pattern;
        },
        get closed() {
          return sub.closed;
        },
        unsubscribe: () => {
          if (live) {
            live = false;
            const n = (patterns.get(pattern) ?? 1) - 1;
            if (n > 0) patterns.set(pattern, n);
            else patterns.delete(pattern);
          }
          sub.unsubscribe();
        },
      };
    },
  });
  return (subject) => {
    for (const p of patterns.keys()) if (subjectMatches(p, subject)) return true;
    return false;
  };
}

/**
 * Attaches a domain's Trust Manager to an operator-level observer connection (subscribed to `sg.>`)
 * for what the domain agent's own bus does not receive: the rejections that only the addressees
 * see (a rogue's forged delegations to its siblings, a thief's escalations to the parent loop).
 * Rejections of subjects the domain agent receives itself (heartbeats and status, ratings, its
 * children's escalations) and the ratings are left to the domain agent's own attachment, so each
 * rejected message is counted once, under one per-minute cap, as in a deployment — not once per
 * connection that saw it.
 */
export function attachObserverRejections(trust: NonNullable<DomainResources['trust']>, observer: Bus, domain: string, domainAgentReceives: (subject: string) => boolean): () => void {
  const view = {
    self: observer.self,
    // the ratings subject (and anything else the domain agent subscribes to) is the domain agent's
    subscribe: (...args: Parameters<Bus['subscribe']>) => (domainAgentReceives(args[0]) ? { pattern: args[0], closed: true, unsubscribe: () => {} } : observer.subscribe(...args)),
    onReject: (listener: Parameters<Bus['onReject']>[0]) =>
      observer.onReject((reason, info) => {
        if (!domainAgentReceives(info.subject)) listener(reason, info);
      }),
  };
  return trust.attachToBus(view as unknown as Bus, { domain, rejections: true });
}

/** Lets a bus publish outside its credential's scope, as a compromised agent's patched client does. */
export function patchRogueClient(bus: Bus): void {
  Object.defineProperty(bus, 'mayPublish', { value: () => true });
}

/** One escalation of a fake signaling surge, signed with a stolen key and credential (in scope, so it verifies until revoked). */
export function publishStolenEscalation(bus: Bus, spec: AgentSpec, n: number, at: number, everyMs: number): void {
  const id = `stolen-${n}`;
  void bus
    .publishJson(loopSubject(spec.level as AgentLevel, spec.placement, 'escalate'), {
      v: 1,
      kind: 'escalation',
      id,
      correlationId: id,
      from: spec.agentId,
      to: spec.parentId,
      escalationKind: 'signaling_surge',
      reason: 'forged with a stolen key',
      event: {
        id,
        type: 'anomaly',
        level: spec.level,
        at,
        source: spec.agentId,
        target: spec.nf?.id ?? spec.agentId,
        severity: 0.95,
        evidence: { detector: 'forged', score: 9, threshold: 1, contributors: [{ metric: 'signaling_msgs_per_s', share: 1 }], window: { start: at - everyMs, end: at } },
      },
      attempt: 1,
      at,
    })
    .catch(() => {});
}

/** The stolen-key fault's result line (the rogue-agent scenario's check reads it). */
export function stolenKeyResult(s: { forged: number; forgedAfter: number; deliveredAfter: number; rejectedRevoked: number; revokedAt?: number }, rejectedRevokedByAgents: number): string {
  return `result: forged=${s.forged} forgedAfterRevocation=${s.forgedAfter} deliveredAfterRevocation=${s.deliveredAfter} rejectedRevokedByObserver=${s.rejectedRevoked} rejectedRevokedByAgents=${rejectedRevokedByAgents} revoked=${s.revokedAt !== undefined}`;
}

/** Records a trust manager's transitions: quarantine and revoke as the domain's actions, the others as notes. */
export function recordTrustTransitions(trust: NonNullable<DomainResources['trust']>, domain: string, sink: LoopSink, t: (at: number) => number): () => void {
  return trust.onTransition((e) => {
    for (const action of e.added) {
      // quarantine and revoke are core action types; weight reductions and ignored reports are notes
      const type = action === 'quarantine' ? 'quarantine' : action === 'revoke' ? 'revoke' : undefined;
      if (!type) {
        sink.note(`trust: ${e.subject} ${e.from} → ${e.to} (${action}, score ${e.score.toFixed(3)}) at ${t(e.at)} s`);
        continue;
      }
      const id = `trust-${e.subject}-${action}-${e.at}`;
      const detail = `${e.from} → ${e.to} (score ${e.score.toFixed(3)})`;
      sink.onAction({ id, type, target: e.subject, params: {}, requestedBy: `${domain}:tsm`, at: e.at }, { id, type, target: e.subject, status: 'succeeded', at: e.at, detail });
    }
  });
}

/**
 * The world's enforcement points over each domain's traffic filter and simulated MANO: an NF obeys
 * the filter and MANO of its own domain.
 */
export function domainControls(
  resources: ReadonlyMap<string, Pick<DomainResources, 'mano' | 'filter'>>,
  specs: readonly AgentSpec[],
): { gate: TrafficGate; capacity: CapacityView } {
  const domainOfNf = new Map<string, string>();
  for (const spec of specs) if (spec.nf) domainOfNf.set(spec.nf.id, spec.domain);
  const resourcesOf = (nf: string) => {
    const r = resources.get(domainOfNf.get(nf) ?? '');
    if (!r) throw new SimulationRunError(`no domain resources for NF ${nf}`);
    return r;
  };
  const gates = new Map<string, TrafficGate>();
  const capacities = new Map<string, CapacityView>();
  for (const [domain, r] of resources) {
    gates.set(domain, filterGate(r.filter));
    capacities.set(domain, manoCapacity(r.mano));
  }
  const cap = (nf: string): CapacityView => capacities.get(domainOfNf.get(nf) ?? '') ?? manoCapacity(resourcesOf(nf).mano);
  const gate: TrafficGate = { verdict: (nf, source, now) => (gates.get(domainOfNf.get(nf) ?? '') ?? filterGate(resourcesOf(nf).filter)).verdict(nf, source, now) };
  const capacity: CapacityView = {
    replicas: (nf) => cap(nf).replicas(nf),
    vsfs: (nf) => cap(nf).vsfs(nf),
    config: (nf) => cap(nf).config(nf),
    isolated: (nf) => cap(nf).isolated(nf),
    reportUtilisation: (nf, u) => cap(nf).reportUtilisation?.(nf, u),
    snapshot: (nf) => cap(nf).snapshot!(nf),
  };
  return { gate, capacity };
}

/** Records what a loop does: its analytics events, every action it enforced, its first failures. */
export function watchLoop(agent: Agent, recorder: LoopSink): () => void {
  let errors = 0;
  let dropped = 0;
  return agent.loop.on((notice) => {
    if (notice.type === 'error' && errors++ < 5) {
      recorder.note(`loop ${agent.id}: ${notice.stage} stage failed: ${(notice.error as Error)?.message ?? String(notice.error)}`);
    }
    if (notice.type === 'dropped' && dropped++ < 5) recorder.note(`loop ${agent.id}: dropped from the ${notice.queue} queue (${notice.reason})`);
    if (notice.type === 'event' && notice.origin === 'analytics') recorder.onEvent(notice.event);
    if (notice.type === 'outcome') {
      for (const outcome of notice.outcomes) {
        const request = notice.decision.actions.find((a) => a.id === outcome.id);
        if (request) recorder.onAction(request, outcome);
      }
    }
  });
}

/** The training phase's normal samples of one NF (after the first minute), one row per sampling period in `metrics` order. */
export function trainingRows(recorder: Recorder, nf: string, metrics: readonly string[]): number[][] {
  return (recorder.series.get(nf) ?? []).filter((p) => p.t > 60).map((p) => metrics.map((m) => p.metrics[m] ?? 0));
}

/** Trains one LSTM autoencoder per NF on the training phase's normal samples and swaps it in. */
async function installLstm(
  detectors: Map<string, { spec: AgentSpec; detector: RecordedDetector }>,
  recorder: Recorder,
  ctx: SecurityLayerContext,
  options: AgentsLayerOptions,
  models: LstmAutoencoder[],
): Promise<void> {
  const entries = [...detectors].map(([nf, { spec, detector }]) => ({ nf, metrics: spec.nf!.metrics, detector, rows: trainingRows(recorder, nf, spec.nf!.metrics) }));
  await trainLstmDetectors(entries, { lstm: options.lstm, samplingPeriodMs: ctx.samplingPeriodMs, logger: ctx.logger, note: (t) => recorder.note(t), models });
}

/**
 * Trains one LSTM autoencoder per NF on the given normal rows and installs it in that NF's
 * RecordedDetector (used in this process, and by the agents hosts of a `processes` run).
 */
export async function trainLstmDetectors(
  entries: readonly { nf: string; metrics: readonly string[]; detector: RecordedDetector; rows: number[][] }[],
  o: { lstm?: AgentsLayerOptions['lstm']; samplingPeriodMs: number; logger: SecurityLayerContext['logger']; note: (text: string) => void; models: LstmAutoencoder[] },
): Promise<void> {
  const options = { lstm: o.lstm };
  const ctx = { samplingPeriodMs: o.samplingPeriodMs, logger: o.logger };
  const recorder = { note: o.note };
  const models = o.models;
  for (const { nf, metrics, detector, rows } of entries) {
    const window = options.lstm?.window ?? 12;
    if (rows.length < window * 4) {
      recorder.note(`LSTM for ${nf} not trained: only ${rows.length} normal samples (need ${window * 4}); the statistical detector stays`);
      continue;
    }
    const started = performance.now();
    const model = await trainLstmAutoencoder(rows, {
      model: { metrics: [...metrics], window, encoderUnits: [options.lstm?.units ?? 16], seed: 1 },
      train: {
        epochs: options.lstm?.epochs ?? 30,
        batchSize: options.lstm?.batchSize ?? 50,
        shuffle: false,
        patience: 3,
        maxWindows: options.lstm?.maxWindows ?? 400,
      },
      logger: ctx.logger,
    });
    models.push(model);
    // a pause longer than three sampling periods (e.g. narrowed monitoring) restarts the window
    detector.install(createLstmDetector({ model, maxGapMs: 3 * ctx.samplingPeriodMs }));
    ctx.logger.info({ nf, rows: rows.length, wallMs: Math.round(performance.now() - started) }, 'LSTM autoencoder trained');
    recorder.note(`LSTM autoencoder for ${nf}: trained on ${rows.length} normal samples (window ${window})`);
  }
}
