/**
 * An agents host: a child process of a `simulate --processes N` run. It hosts the agents placed on it
 * (startTopologyInProcess with `include`, the identities the simulation process issued, each agent
 * on its own NATS client), reads the world's metrics and acts on the world's MANO and traffic filter
 * over signed NATS requests, runs its clock in lock-step with the simulation's paced clock, and sends
 * what its agents do back for the report (host-protocol.ts describes the messages).
 *
 * Started by processes-layer.ts with child_process.fork; it exits when the simulation says stop, when
 * the simulation process goes away (IPC disconnect) and on SIGINT / SIGTERM.
 */
import { type Agent, type Collector, type InProcessTopology, startTopologyInProcess } from '@sliceguard/agents';
import { createStatisticalDetector, type LstmAutoencoder } from '@sliceguard/analytics';
import { connectNatsBus, type NatsBus, publishRevocations, type RevocationSubscription, subscribeRevocations } from '@sliceguard/bus';
import {
  type ActionOutcome,
  type ActionRequest,
  type ActionType,
  type Actuator,
  type Bus,
  createLogger,
  emptyRejectCounts,
  fromHex,
  type InboundMessage,
  type Logger,
  SimulatedClock,
  seededRng,
} from '@sliceguard/core';
import { type AgentIdentity, createDomainAuthority, type DomainAuthority, type KeyPair, TrustStore } from '@sliceguard/identity';
import { type AgentSpec, loadTopology, resolveAgents } from '@sliceguard/topology';
import { attachObserverRejections, patchRogueClient, publishRogueRound, publishStolenEscalation, RecordedDetector, recordTrustTransitions, trackSubscriptions, trainLstmDetectors, watchLoop } from './agents-layer.js';
import { FL_DATA_WINDOW_S, federationRig } from './fl-layer.js';
import {
  type BusTotals,
  type ChildMessage,
  emptyRows,
  HOST_PROTOCOL_VERSION,
  type HostConnection,
  type HostIdentity,
  type HostInit,
  type HostRows,
  type ParentMessage,
  simSubjects,
  worldAgentId,
} from './host-protocol.js';
import { ledgerNotice } from './ledger.js';
import type { FeedSample } from './world.js';

const MANO_TYPES: readonly ActionType[] = ['scale_out', 'scale_in', 'deploy_vsf', 'remove_vsf', 'update_config', 'isolate'];
const FILTER_TYPES: readonly ActionType[] = ['block', 'allow', 'rate_limit'];

const keyPairOf = (k: HostIdentity['keyPair']): KeyPair => ({ publicKey: fromHex(k.publicKey), secretKey: fromHex(k.secretKey) });
const identityOf = (h: HostIdentity): AgentIdentity => ({ keyPair: keyPairOf(h.keyPair), credential: h.credential });

/**
 * A domain root known by its public key only: hosts without the domain agent verify what the root
 * signed but never issue or revoke (their agents' identities come from the simulation process).
 */
function publicOnlyAuthority(domain: string, publicKeyHex: string): DomainAuthority {
  const refuse = (what: string): never => {
    throw new Error(`the ${domain} root key is not in this agents host: cannot ${what}`);
  };
  const publicKey = fromHex(publicKeyHex);
  return {
    domain,
    keyPair: {
      publicKey,
      get secretKey(): Uint8Array {
        return refuse('sign');
      },
    },
    publicKeyHex,
    issue: () => refuse('issue credentials'),
    issueFor: () => refuse('issue credentials'),
    revoke: () => refuse('revoke credentials'),
    trustStore: () => new TrustStore({ roots: [{ domain, publicKey }] }),
  };
}

/** The simulation's metric feed of one NF, read over a signed NATS request (the bus twin of feedCollector). */
export function busFeedCollector(bus: Bus, subject: string, nf: string, timeoutMs = 60_000): Collector {
  return {
    name: `sim-bus:${nf}`,
    async collect(request) {
      const reply = await bus.requestJson<{ sample?: FeedSample; error?: string }>(
        subject,
        {
          v: HOST_PROTOCOL_VERSION,
          nf,
          windowMs: request.config.samplingPeriodMs,
          perFlow: request.config.granularity === 'per_flow',
          ...(request.config.metrics ? { metrics: request.config.metrics } : {}),
        },
        { timeoutMs },
      );
      if (reply.error || !reply.sample) throw new Error(`metric feed of ${nf}: ${reply.error ?? 'empty answer'}`);
      return Object.keys(reply.sample.values).length > 0 ? [reply.sample as never] : [];
    },
  };
}

/**
 * The agent's MANO and traffic-filter actions, carried out by the simulation process on the world's
 * MANO / filter of the agent's domain over a signed NATS request; undo (expiring actions) likewise.
 */
export function busActuator(bus: Bus, subject: string, agentId: string, clock: { now(): number }, timeoutMs = 600_000): Actuator & { undo(request: ActionRequest, outcome: ActionOutcome): Promise<ActionOutcome> } {
  const call = async (op: 'execute' | 'undo', request: ActionRequest, outcome?: ActionOutcome): Promise<ActionOutcome> => {
    try {
      const reply = await bus.requestJson<{ outcome?: ActionOutcome; error?: string }>(subject, { v: HOST_PROTOCOL_VERSION, agentId, op, request, ...(outcome ? { outcome } : {}) }, { timeoutMs });
      if (reply.outcome) return reply.outcome;
      return { id: request.id, type: request.type, target: request.target, status: 'failed', at: clock.now(), detail: `actuation refused by the simulation: ${reply.error ?? 'no outcome'}` };
    } catch (error) {
      return { id: request.id, type: request.type, target: request.target, status: 'failed', at: clock.now(), detail: `actuation over the bus failed: ${(error as Error).message}` };
    }
  };
  return {
    name: `sim-bus-actuator:${agentId}`,
    handles: [...MANO_TYPES, ...FILTER_TYPES],
    execute: (request) => call('execute', request),
    undo: (request, outcome) => call('undo', request, outcome),
  };
}

interface Host {
  stop(reason: string): Promise<void>;
}

async function startHost(init: HostInit, send: (m: ChildMessage) => void, logger: Logger): Promise<Host> {
  if (init.v !== HOST_PROTOCOL_VERSION) throw new Error(`host protocol ${String(init.v)} is not ${HOST_PROTOCOL_VERSION}`);
  const subjects = simSubjects(init.controlDomain);
  const topology = await loadTopology(init.topologyFile);
  const placement = new Map(init.placement);
  const mine = (spec: AgentSpec) => placement.get(spec.agentId) === init.index;
  const specs = resolveAgents(topology).filter((s) => s.level !== 'coordinator');
  const hostsDomainAgents = specs.some((s) => s.level === 'domain' && mine(s));
  const clock = new SimulatedClock(init.nowMs);
  const rng = seededRng(`${init.seed}:host-${init.index}`);
  const trustStore = new TrustStore({ roots: init.roots.map((r) => ({ domain: r.domain, publicKey: r.publicKey })) });
  const authorities = new Map<string, DomainAuthority>();
  for (const r of init.roots) {
    authorities.set(r.domain, r.secretKey ? createDomainAuthority(r.domain, { keyPair: { publicKey: fromHex(r.publicKey), secretKey: fromHex(r.secretKey) }, clock }) : publicOnlyAuthority(r.domain, r.publicKey));
  }
  const identities = new Map(init.agents.map((a) => [a.agentId, identityOf(a)] as const));
  const t = (at: number) => Math.round(at - init.startMs) / 1000;

  // several servers (a cluster): start each connection at another node (the client still learns and fails over to every node)
  let spread = init.index;
  const servers = () => {
    const k = spread++ % init.nats.length;
    return [...init.nats.slice(k), ...init.nats.slice(0, k)];
  };
  const hostBus = await connectNatsBus({ servers: init.harnessServers, identity: identityOf(init.host), trustStore, clock, name: init.host.agentId, reconnectTimeWaitMs: 100, pingIntervalMs: 2000 });
  const agentBuses: NatsBus[] = [];
  /** The trust store startTopologyInProcess shares between this host's agent buses (revocation lists go into it). */
  let agentsTrustStore: TrustStore | undefined;
  let rows: HostRows = emptyRows();
  /** Federated learning here (the FL clients of this host's NFs; in host 0 also the coordinators), once started. */
  let fl: ReturnType<typeof federationRig> | undefined;
  const flCoordinators = new Map<string, ReturnType<ReturnType<typeof federationRig>['coordinator']>>();
  const sink = {
    note: (text: string) => rows.notes.push(text),
    onEvent: (e: HostRows['events'][number]) => rows.events.push(e),
    onAction: (request: ActionRequest, outcome: ActionOutcome) => rows.actions.push({ request, outcome }),
    onVerdict: (nf: string, v: HostRows['verdicts'][number]['v']) => rows.verdicts.push({ nf, v }),
  };
  const detectors = new Map<string, { spec: AgentSpec; detector: RecordedDetector }>();
  const detach: (() => void)[] = [];
  const watch = (agent: Agent) => {
    detach.push(watchLoop(agent, sink));
    detach.push(
      agent.coordinator.on((n) => {
        const l = ledgerNotice(n, clock.now());
        if (l) rows.ledger.push(l);
      }),
    );
  };

  /** What each domain agent's bus here receives (its Trust Manager counts those rejections itself). */
  const domainAgentReceives = new Map<string, (subject: string) => boolean>();
  let topo: InProcessTopology;
  try {
    topo = await startTopologyInProcess({
      topology,
      busFactory: async (spec, identity, store) => {
        agentsTrustStore = store;
        const bus = await connectNatsBus({ servers: servers(), identity, trustStore: store, clock, name: spec.agentId, reconnectTimeWaitMs: 100, pingIntervalMs: 2000 });
        agentBuses.push(bus);
        if (spec.level === 'domain') domainAgentReceives.set(spec.domain, trackSubscriptions(bus));
        return bus;
      },
      clock,
      rng,
      logger,
      include: mine,
      authorities,
      identities,
      // the domain agents' host keeps each domain's Trust Manager; elsewhere agents send signed peer ratings (as `sliceguard up` agents do)
      trust: hostsDomainAgents,
      policies: init.policies,
      // the MANO and filter that matter are the world's (busActuator); the local ones stay idle
      mano: { autoscaler: false },
      monitoring: { samplingPeriodMs: init.samplingPeriodMs },
      nfAnalytics: { maxIndicators: 32 },
      collectorFactory: (spec) => busFeedCollector(hostBus, subjects.sample(init.index), spec.nf!.id),
      actuatorFactory: (spec) => [busActuator(hostBus, subjects.actuate(init.index), spec.agentId, clock)],
      detectorFactory: (spec) => {
        const base = createStatisticalDetector({ metrics: spec.nf!.metrics, ...(init.zThreshold !== undefined ? { threshold: init.zThreshold } : {}) });
        const detector = new RecordedDetector(base, spec.nf!.id, sink);
        detectors.set(spec.nf!.id, { spec, detector });
        return detector;
      },
    });
  } catch (error) {
    for (const b of agentBuses) await b.close().catch(() => {});
    await hostBus.close().catch(() => {});
    throw error;
  }
  for (const agent of topo.agents.values()) watch(agent);
  for (const r of topo.resources.values()) if (r.trust) detach.push(recordTrustTransitions(r.trust, r.domain, sink, t));
  // every host applies the domain roots' revocation lists, to its agents' buses and to its harness connection (as every agent process does)
  const domains = init.roots.map((r) => r.domain);
  const revocations: RevocationSubscription[] = [subscribeRevocations(hostBus, trustStore, { domains })];
  if (agentsTrustStore) revocations.push(subscribeRevocations(hostBus, agentsTrustStore, { domains }));
  if (hostsDomainAgents) {
    // as in one process, an operator-level view of the whole bus feeds rejections (forged, out-of-scope,
    // revoked messages) to each domain's Trust Manager: here the harness connection of the domain agents' host
    hostBus.subscribe('sg.>', () => {});
    // (what the domain agent's own bus receives is counted by its own attachment, once)
    for (const r of topo.resources.values()) if (r.trust) detach.push(attachObserverRejections(r.trust, hostBus, r.domain, domainAgentReceives.get(r.domain) ?? (() => false)));
  }
  send({ type: 'started', agents: [...topo.agents.keys()] });

  const busTotals = (): BusTotals => {
    const rejected = emptyRejectCounts() as Record<string, number>;
    let sent = 0;
    let delivered = 0;
    for (const b of topo.buses.values()) {
      const s = b.stats();
      sent += s.published;
      delivered += s.delivered;
      for (const [reason, n] of Object.entries(s.rejected)) rejected[reason] = (rejected[reason] ?? 0) + n;
    }
    return { sent, delivered, rejected: Object.fromEntries(Object.entries(rejected).filter(([, n]) => n > 0)) };
  };
  const drain = (): HostRows => {
    const out = rows;
    rows = emptyRows();
    return out;
  };

  // trust scores of every agent of the domains whose Trust Manager lives here
  let lastTrust = Number.NEGATIVE_INFINITY;
  const sampleTrust = () => {
    const now = clock.now();
    if (now - lastTrust < init.trustEveryMs) return;
    lastTrust = now;
    for (const spec of specs) {
      const trust = topo.resources.get(spec.domain)?.trust;
      if (trust && hostsDomainAgents) rows.trust.push({ agentId: spec.agentId, score: trust.score(spec.agentId), at: now });
    }
  };

  // the clock: ticks from the simulation, one at a time, each acknowledged with what happened
  let ticks = Promise.resolve();
  let lastAck: { seq: number; body: Record<string, unknown> } = { seq: 0, body: {} };
  const fromWorld = (msg: InboundMessage) => msg.sender.agentId === worldAgentId(init.controlDomain);
  const clockSub = hostBus.subscribe(subjects.clock, (msg) => {
    if (!fromWorld(msg)) return;
    const tick = msg.json<{ seq: number; t: number }>();
    ticks = ticks.then(async () => {
      if (stopping) return;
      // a tick sent again (its ack was late or lost): the same ack again, nothing runs twice
      if (tick.seq <= lastAck.seq) {
        if (tick.seq === lastAck.seq) await hostBus.publishJson(subjects.ack(init.index), lastAck.body);
        return;
      }
      // FL work that messages started since the last tick (a round announced by another host) ends at the time it started, as in one process
      await fl?.settle();
      await clock.runUntil(tick.t);
      await fl?.settle();
      sampleTrust();
      // let the timers' work reach the sockets (samples requested, messages published) before acknowledging
      await new Promise<void>((r) => setImmediate(r));
      await Promise.all([...agentBuses, ...(fl?.buses ?? [])].map((b) => Promise.race([b.flush().catch(() => {}), new Promise((r) => setTimeout(r, 2000))])));
      lastAck = { seq: tick.seq, body: { v: HOST_PROTOCOL_VERSION, seq: tick.seq, t: tick.t, rows: drain() } };
      await hostBus.publishJson(subjects.ack(init.index), lastAck.body);
    }).catch((error: unknown) => logger.error({ err: error }, 'clock tick failed'));
  });

  const models: LstmAutoencoder[] = [];
  const timers: ReturnType<typeof clock.setInterval>[] = [];
  /** Forged messages sent with a stolen key, by victim: the credential and when each was sent. */
  const stolen = new Map<string, { credentialId: string; forgedAt: number[] }>();
  let stopping: Promise<void> | undefined;
  /** Stops every agent (their last notices land in the rows); the harness connection stays open. */
  const stopAgents = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'agents host stopping');
      clockSub.unsubscribe();
      for (const timer of timers) clock.clearInterval(timer);
      for (const r of revocations) r.unsubscribe();
      await fl?.stop().catch((error: unknown) => logger.error({ err: error }, 'stopping federated learning failed'));
      await topo.stop().catch((error: unknown) => logger.error({ err: error }, 'stopping the agents failed'));
      for (const d of detach) d();
      for (const m of models) m.dispose();
    })();
    return stopping;
  };
  const stop = async (reason: string): Promise<void> => {
    await stopAgents(reason);
    cmdSub.unsubscribe();
    await hostBus.drain().catch(() => hostBus.close());
  };

  const commands: Record<string, (p: Record<string, unknown>) => Promise<Record<string, unknown>>> = {
    async restart(p) {
      const id = String(p.agentId);
      const agent = await topo.restart(id);
      watch(agent);
      return { detail: `${agent.id} stopped and started again in agents host ${init.index} (pid ${process.pid})` };
    },
    async crash(p) {
      const agent = topo.agent(String(p.agentId));
      if (!agent) throw new Error(`no agent ${String(p.agentId)} in agents host ${init.index}`);
      await agent.stop();
      return { detail: `${agent.id} stopped without notice (agents host ${init.index})` };
    },
    async rogue(p) {
      const agentId = String(p.agentId);
      const bus = topo.buses.get(agentId);
      const spec = specs.find((x) => x.agentId === agentId);
      if (!bus || !spec) throw new Error(`no agent ${agentId} in agents host ${init.index} to turn rogue`);
      const siblings = specs.filter((x) => x.parentId === spec.parentId && x.agentId !== agentId);
      patchRogueClient(bus);
      const periodMs = Number(p.periodMs ?? 60_000);
      const everyMs = Number(p.everyMs ?? 2000);
      // the on-off phases start at the simulation's instant of the fault, as in one process (this
      // host's clock is still at the previous tick when the command arrives: starting them there put
      // every on-phase across a minute boundary, and the Trust Manager's per-minute cap counted it twice)
      const started = typeof p.at === 'number' ? p.at : clock.now();
      let forged = 0;
      timers.push(
        clock.setInterval(() => {
          if (Math.floor((clock.now() - started) / periodMs) % 2 !== 0) return;
          forged = publishRogueRound(bus, spec, siblings, forged, clock.now());
        }, everyMs),
      );
      return { detail: `${agentId} turned rogue in agents host ${init.index}: every ${everyMs / 1000} s forged delegations to ${siblings.length} sibling(s) and bad-mouthing ratings, on-off every ${periodMs / 1000} s` };
    },
    async steal(p) {
      const agentId = String(p.agentId);
      const bus = topo.buses.get(agentId);
      const spec = specs.find((x) => x.agentId === agentId);
      if (!bus || !spec?.parentId) throw new Error(`no agent ${agentId} with a parent loop in agents host ${init.index} whose key could be stolen`);
      // the thief signs exactly what the victim's key signs: same key, same credential
      const s = { credentialId: bus.self.credentialId, forgedAt: [] as number[] };
      stolen.set(agentId, s);
      const everyMs = Number(p.everyMs ?? 2000);
      const forgeForMs = Number(p.forgeForMs);
      const started = clock.now();
      timers.push(
        clock.setInterval(() => {
          if (clock.now() - started > forgeForMs) return;
          s.forgedAt.push(clock.now());
          publishStolenEscalation(bus, spec, s.forgedAt.length, clock.now(), everyMs);
        }, everyMs),
      );
      return { credentialId: s.credentialId };
    },
    async revoke(p) {
      // the domain root lives here (with the domain agent): one authority, one sequence of lists
      const domain = String(p.domain);
      const res = topo.resources.get(domain);
      const domainAgent = topo.domains.get(domain);
      if (!res || !domainAgent || !hostsDomainAgents) throw new Error(`the ${domain} root and domain agent are not in agents host ${init.index}`);
      const list = res.authority.revoke((p.credentialIds as string[]) ?? []);
      await publishRevocations(topo.buses.get(domainAgent.id)!, list);
      return { seq: list.seq };
    },
    async train(p) {
      const given = (p.rows ?? {}) as Record<string, number[][]>;
      const entries = [...detectors]
        .filter(([nf]) => given[nf])
        .map(([nf, { spec, detector }]) => ({ nf, metrics: spec.nf!.metrics, detector, rows: given[nf] }));
      const notes: string[] = [];
      await trainLstmDetectors(entries, { ...(init.lstm ? { lstm: init.lstm } : {}), samplingPeriodMs: init.samplingPeriodMs, logger, note: (x) => notes.push(`${x} (agents host ${init.index})`), models });
      return { notes };
    },
    async poison(p) {
      if (!fl) throw new Error(`no FL client runs in agents host ${init.index}`);
      return { detail: `${fl.poison(String(p.nf), { mode: p.mode === 'sign-flip' ? 'sign-flip' : 'scale', factor: Number(p.factor) })} (its FL client in agents host ${init.index})` };
    },
    async 'fl-validation'(p) {
      // the coordinator's validation set, as the one-process layer fills it (normal rows of the first minutes)
      let n = 0;
      for (const [domain, types] of Object.entries((p.rows ?? {}) as Record<string, Record<string, number[][]>>)) {
        const coordinator = flCoordinators.get(domain);
        if (!coordinator) throw new Error(`the ${domain} FL coordinator does not run in agents host ${init.index}`);
        for (const [type, given] of Object.entries(types)) {
          coordinator.addValidation(type, given);
          n += given.length;
        }
      }
      return { detail: `${n} validation row(s)` };
    },
    async brokers() {
      // which server each connection is on now (the simulation picks the node to kill)
      await flushAll();
      return { connections: connections() };
    },
    async reconnected(p) {
      // after a broker crash: every connection of this host back on a surviving node, resubscribed and flushed
      const deadline = performance.now() + Number(p.timeoutMs ?? 20_000);
      // a flush round trip fails while a connection is down, including before it noticed the kill
      const down = async () => {
        const flushed = await Promise.all(natsBuses().map(async (x) => (x.bus.isConnected && (await x.bus.flush().then(() => true, () => false)) ? undefined : x.name)));
        return flushed.filter((n): n is string => n !== undefined);
      };
      for (let left = await down(); left.length > 0; left = await down()) {
        if (performance.now() > deadline) throw new Error(`not reconnected after ${Number(p.timeoutMs ?? 20_000)} ms: ${left.join(', ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return { connections: connections() };
    },
    async stop() {
      // settle what the last tick started, stop every agent (its final notices land in the rows), then answer
      await ticks;
      await stopAgents('the simulation ended');
      return { rows: drain(), busStats: busTotals(), stolen: Object.fromEntries(stolen) };
    },
  };
  /** Every NATS connection of this host: its agents' (the current ones), its FL principals', its harness connection. */
  const natsBuses = (): { name: string; kind: HostConnection['kind']; bus: NatsBus }[] => [
    ...[...topo.buses].map(([name, bus]) => ({ name, kind: 'agent' as const, bus: bus as NatsBus })),
    ...(fl?.buses ?? []).map((bus) => ({ name: `fl:${bus.self.agentId}`, kind: 'fl' as const, bus: bus as NatsBus })),
    { name: init.host.agentId, kind: 'harness' as const, bus: hostBus },
  ];
  const flushAll = () => Promise.all(natsBuses().map((x) => x.bus.flush().catch(() => {})));
  const connections = (): HostConnection[] => natsBuses().map((x) => ({ name: x.name, kind: x.kind, server: x.bus.server }));
  const cmdSub = hostBus.subscribe(subjects.cmd(init.index), async (msg) => {
    if (!fromWorld(msg)) return;
    const { cmd, ...params } = msg.json<{ cmd: string } & Record<string, unknown>>();
    const handler = commands[cmd];
    let answer: Record<string, unknown>;
    try {
      answer = handler ? await handler(params) : { error: `unknown command ${cmd}` };
    } catch (error) {
      answer = { error: (error as Error).message };
    }
    await hostBus.respondJson(msg, answer).catch((error: unknown) => logger.warn({ err: error, cmd }, 'command answer not sent'));
    if (cmd === 'stop') {
      await hostBus.flush().catch(() => {});
      await stop('the simulation ended');
      process.exit(0);
    }
  });
  await hostBus.flush();

  await topo.ready(60_000);
  if (init.fl && init.fl.clients.length + init.fl.coordinators.length > 0) {
    const rig = federationRig({ clock, logger, onRound: (row) => rows.flRounds.push(row) });
    const connectFl = (h: HostIdentity) => connectNatsBus({ servers: servers(), identity: identityOf(h), trustStore, clock, name: `fl:${h.agentId}`, reconnectTimeWaitMs: 100, pingIntervalMs: 2000 });
    const elapsedS = () => (clock.now() - init.startMs) / 1000;
    try {
      // the coordinators (host 0) take the domain's Trust Manager as trust sink and view, as in one process
      for (const c of init.fl.coordinators) {
        const trust = topo.resources.get(c.domain)?.trust;
        flCoordinators.set(c.domain, rig.coordinator({ bus: await connectFl(c.identity), domain: c.domain, models: c.models, rng: rng.fork(`fl-${c.domain}`), ...(trust ? { trust } : {}) }));
      }
      for (const c of init.fl.clients) {
        rig.client({
          bus: await connectFl(c.identity),
          domain: c.domain,
          type: c.type,
          nf: c.nf,
          metrics: c.metrics,
          // the NF's recent normal samples, read from the world (what the one-process client reads from the recorder)
          data: async () => {
            const to = elapsedS();
            const reply = await hostBus.requestJson<{ rows?: number[][]; error?: string }>(subjects.flRows(init.index), { v: HOST_PROTOCOL_VERSION, nf: c.nf, from: to - FL_DATA_WINDOW_S, to }, { timeoutMs: 60_000 });
            if (!reply.rows) throw new Error(`FL rows of ${c.nf}: ${reply.error ?? 'empty answer'}`);
            return reply.rows;
          },
        });
      }
      await rig.start();
    } catch (error) {
      await rig.stop().catch(() => {});
      throw error;
    }
    fl = rig;
  }
  send({ type: 'ready' });
  return { stop };
}

/** The child process' entry (agents-host-main.ts): waits for its init over IPC, runs until told to stop. */
export function runAgentsHostProcess(): void {
  let host: Host | undefined;
  let starting: Promise<void> | undefined;
  const send = (m: ChildMessage) => {
    if (process.connected) process.send?.(m);
  };
  const logger = createLogger({ level: (process.env.SLICEGUARD_HOST_LOG as 'warn' | undefined) ?? 'warn', name: 'sim-host' });
  const shutdown = (reason: string, code: number) => {
    void (async () => {
      await starting?.catch(() => {});
      await host?.stop(reason).catch(() => {});
      process.exit(code);
    })();
  };
  process.on('message', (m: ParentMessage) => {
    if (m?.type !== 'init' || starting) return;
    const child = logger.child({ host: m.init.index });
    starting = startHost(m.init, send, child).then(
      (h) => {
        host = h;
      },
      (error: unknown) => {
        send({ type: 'error', message: (error as Error)?.stack ?? String(error) });
        process.exit(1);
      },
    );
  });
  // the simulation process went away (crash, kill): nobody will say stop
  process.on('disconnect', () => shutdown('the simulation process disconnected', 0));
  // Ctrl-C on a terminal signals the whole process group: while the simulation process is there, give
  // it a moment to end the run and send `stop` (its report then says why); alone, stop at once
  const onSignal = (signal: NodeJS.Signals) => () => {
    if (process.connected) setTimeout(() => shutdown(signal, 0), 5000).unref();
    else shutdown(signal, 0);
  };
  process.once('SIGINT', onSignal('SIGINT'));
  process.once('SIGTERM', onSignal('SIGTERM'));
}
