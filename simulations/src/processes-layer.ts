import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHANNEL_KIND, domainControls, stolenKeyResult, trainingRows, type AgentsLayerOptions } from './agents-layer.js';
import { connectNatsBus, type NatsBus, subscribeRevocations } from '@sliceguard/bus';
import { type ActionOutcome, type ActionRequest, type InboundMessage, toHex } from '@sliceguard/core';
import { createSimulatedMano, createTrafficFilter, type SimulatedMano, type TrafficFilter } from '@sliceguard/enforcement';
import { type AgentIdentity, createDomainAuthority, type DomainAuthority, TrustStore } from '@sliceguard/identity';
import type { NatsClusterHandle } from '@sliceguard/test-utils';
import { resolveAgents } from '@sliceguard/topology';
import { InvalidSimulationOptionsError, SimulationRunError } from './errors.js';
import {
  type BusTotals,
  type ChildMessage,
  HOST_PROTOCOL_VERSION,
  type HostIdentity,
  type HostConnection,
  type HostInit,
  type HostRows,
  hostAgentId,
  hostIndexOf,
  type ParentMessage,
  placeAgents,
  simSubjects,
  worldAgentId,
} from './host-protocol.js';
import { pendingWork, recordManoEvents, type SecurityLayer, type SecurityLayerContext, type SecurityLayerFactory } from './layer.js';
import { coordinationLedger } from './ledger.js';
import { FL_VALIDATION_UNTIL_MS, type FlModelPlan, federationPlan, flClientIdentity, flCoordinatorIdentity, flRows, poisonParams } from './fl-layer.js';

/** Wall-clock bounds of the harness (the simulated clock does not move while the engine waits). */
const START_TIMEOUT_MS = 90_000;
const TICK_TIMEOUT_MS = 60_000;
/** A tick not acknowledged by every host within this (wall) is published again (the hosts answer a repeated tick with the same ack). */
const TICK_RESEND_MS = 2_000;
const COMMAND_TIMEOUT_MS = 120_000;
const TRAIN_TIMEOUT_MS = 15 * 60_000;
const EXIT_TIMEOUT_MS = 15_000;
/** Simulated ms: a request whose answer takes longer than this much simulated time fails on the bus clock. */
const SIM_REQUEST_TIMEOUT_MS = 24 * 3600_000;

interface HostProc {
  index: number;
  child: ChildProcess;
  agents: string[];
  /** Last lines the child wrote (logs), for error messages. */
  tail: string[];
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  acked: number;
  exitedPromise: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const portOf = (server: string): number => Number(/:(\d+)$/.exec(server)?.[1] ?? Number.NaN);

const hexIdentity = (agentId: string, id: AgentIdentity): HostIdentity => ({
  agentId,
  keyPair: { publicKey: toHex(id.keyPair.publicKey), secretKey: toHex(id.keyPair.secretKey) },
  credential: id.credential,
});

/**
 * `simulate --processes N`: the agents of the topology in N child processes (agents-host.ts), each
 * hosting its share on NATS clients of the given nats-server; this process keeps the world (NF
 * models, workload, attacks), each domain's simulated MANO and traffic filter (which the world
 * obeys), the engine — paced to the wall clock and, every 1 s step, advancing the hosts' clocks in
 * lock-step over NATS — and the report. host-protocol.ts lists what crosses the process boundary.
 */
export function processesSecurityLayer(options: AgentsLayerOptions): SecurityLayerFactory {
  const requested = options.processes;
  if (requested === undefined || !Number.isInteger(requested) || requested < 1) {
    throw new InvalidSimulationOptionsError(`processes must be an integer ≥ 1, got ${String(requested)}`, { processes: requested });
  }
  const count: number = requested;
  const given = options.nats === undefined ? undefined : typeof options.nats === 'string' ? [options.nats] : [...options.nats];
  return async (ctx: SecurityLayerContext): Promise<SecurityLayer> => {
    if (!ctx.topologyFile) throw new InvalidSimulationOptionsError('processes needs the topology file of the scenario (SecurityLayerContext.topologyFile)', {});
    // the brokers: the given nats-server (or cluster), else the 3-node cluster a `brokers: 'nats-cluster'` scenario starts (as in one process)
    if (!given && ctx.brokers !== 'nats-cluster') {
      throw new InvalidSimulationOptionsError('processes needs a nats-server (nats): the agents hosts talk over it (only a scenario that starts its own nats-server cluster, such as broker-failover, runs without one)', {
        processes: count,
      });
    }
    let cluster: NatsClusterHandle | undefined;
    if (!given) {
      // nats-server must be installed: startNatsCluster throws with the install hint otherwise
      const { startNatsCluster } = await import('@sliceguard/test-utils');
      cluster = await startNatsCluster(3);
    }
    const servers = given ?? [...cluster!.urls];
    try {
      return await buildLayer(ctx, servers, cluster);
    } catch (error) {
      await cluster?.stop();
      throw error;
    }
  };

  async function buildLayer(ctx: SecurityLayerContext, servers: string[], cluster: NatsClusterHandle | undefined): Promise<SecurityLayer> {
    const { engine, recorder, topology } = ctx;
    const topologyFile = ctx.topologyFile!;
    const detectorKind = options.detector ?? ctx.detector;
    const specs = resolveAgents(topology).filter((s) => s.level !== 'coordinator');
    const placement = placeAgents(specs, count);
    const specOf = new Map(specs.map((s) => [s.agentId, s] as const));
    const controlDomain = topology.domains[0].id;
    const subjects = simSubjects(controlDomain);

    // the scenario's domain roots: they issue every agent's credential and the harness principals
    const authorities = new Map<string, DomainAuthority>();
    const trustStore = new TrustStore();
    for (const d of topology.domains) {
      const a = createDomainAuthority(d.id, { clock: engine.clock });
      authorities.set(d.id, a);
      trustStore.addRoot(d.id, a.keyPair.publicKey);
    }
    const root = authorities.get(controlDomain)!;
    const identities = new Map<string, AgentIdentity>();
    for (const spec of specs) {
      identities.set(
        spec.agentId,
        authorities.get(spec.domain)!.issue({
          agentId: spec.agentId,
          level: spec.level,
          ...(spec.placement.slice ? { slice: spec.placement.slice } : {}),
          ...(spec.placement.subslice ? { subslice: spec.placement.subslice } : {}),
          ...(spec.placement.nf ? { nf: spec.placement.nf } : {}),
        }),
      );
    }
    // federated learning (as fl-layer.ts in one process): each domain's coordinator in host 0 (with the
    // domain's Trust Manager), each NF's FL client in the host of its agent, on principals issued here
    const flPlan: Map<string, FlModelPlan[]> = ctx.federated ? federationPlan(specs) : new Map();
    const flInit: NonNullable<HostInit['fl']>[] = Array.from({ length: count }, () => ({ coordinators: [], clients: [] }));
    for (const [domain, models] of flPlan) {
      const authority = authorities.get(domain)!;
      flInit[0].coordinators.push({ domain, identity: hexIdentity(`${domain}:fl`, flCoordinatorIdentity(authority, domain)), models: models.map((m) => ({ type: m.type, metrics: [...m.metrics] })) });
      for (const m of models) {
        for (const spec of m.nfs) {
          flInit[placement.get(spec.agentId)!].clients.push({ domain, type: m.type, nf: spec.nf!.id, metrics: [...m.metrics], identity: hexIdentity(spec.agentId, flClientIdentity(authority, spec)) });
        }
      }
    }
    const worldIdentity = root.issue({ agentId: worldAgentId(controlDomain), level: 'operator', scopes: [subjects.worldScope] });
    const hostIdentities = Array.from({ length: count }, (_, i) => root.issue({ agentId: hostAgentId(controlDomain, i), level: 'operator', scopes: [subjects.hostScope(i)] }));
    const observerIdentity = root.issue({ agentId: `${controlDomain}:sim-observer`, level: 'operator' });

    // the world's enforcement points: one MANO and traffic filter per domain, as in one process
    const resources = new Map<string, { mano: SimulatedMano; filter: TrafficFilter }>();
    for (const domain of topology.domains) {
      const nfs = domain.slices.flatMap((s) => s.subslices.filter((ss) => ss.definedIn === s.id).flatMap((ss) => ss.nfs));
      const filter = createTrafficFilter({ clock: engine.clock, name: `${domain.id}-filter` });
      const mano = createSimulatedMano({
        clock: engine.clock,
        nfs: nfs.map((nf) => ({ id: nf.id, type: nf.type, replicas: { ...nf.replicas } })),
        trafficFilter: filter,
        logger: ctx.logger,
        ...(ctx.autoscaler ? {} : { autoscaler: false as const }),
      });
      resources.set(domain.id, { mano, filter });
    }
    const { gate, capacity } = domainControls(resources, specs);
    const detach: (() => void)[] = [];
    for (const r of resources.values()) detach.push(recordManoEvents(r.mano, recorder));

    /**
     * In the cluster this run started, the harness connections start at fixed nodes (the client learns
     * the others from the cluster and fails over to them): the observer at node 0 (never killed), the
     * world at node 1, host i at node 1 + i — so a broker crash always takes the harness connection
     * of a host, or the world's, with it. Elsewhere every connection gets the given servers.
     */
    const harnessServers = (node: number): string[] => (cluster ? [servers[node % servers.length]] : servers);
    const connect = (identity: AgentIdentity, name: string, node: number) =>
      connectNatsBus({ servers: harnessServers(node), identity, trustStore, clock: engine.clock, name, reconnectTimeWaitMs: 100, pingIntervalMs: 2000, requestTimeoutMs: SIM_REQUEST_TIMEOUT_MS });
    const world: NatsBus = await connect(worldIdentity, worldAgentId(controlDomain), 1);
    let observer: NatsBus;
    try {
      observer = await connect(observerIdentity, `${controlDomain}:sim-observer`, 0);
    } catch (error) {
      await world.close();
      throw error;
    }
    // the observer applies the domain roots' revocation lists like every agent
    const observerRevocations = subscribeRevocations(observer, trustStore, { domains: [...authorities.keys()] });
    /** Messages signed with a stolen credential, as the observer judged them. */
    const stolen = new Map<string, { credentialId: string; revokedAt?: number; deliveredAfter: number; rejectedRevoked: number }>();
    detach.push(
      observer.onReject((reason, info) => {
        const st = info.sender ? stolen.get(info.sender) : undefined;
        if (st && reason === 'revoked') st.rejectedRevoked++;
      }),
    );
    // the coordination messages as an operator sees them on the wire (as in one process)
    observer.subscribe('sg.>', (msg) => {
      const st = stolen.get(msg.sender.agentId);
      if (st?.revokedAt !== undefined && msg.sender.credentialId === st.credentialId && engine.now() > st.revokedAt) st.deliveredAfter++;
      let payload: { kind?: string; to?: string };
      try {
        payload = msg.json();
      } catch {
        return;
      }
      const kind = payload?.kind ? CHANNEL_KIND[payload.kind] : undefined;
      if (!kind || kind === 'control') return;
      recorder.onMessage({ at: engine.now(), kind, from: msg.sender.agentId, ...(payload.to ? { to: payload.to } : {}), subject: msg.subject });
    });
    const ledger = coordinationLedger([], engine.clock);

    const hosts: HostProc[] = [];
    let stopping = false;
    let failure: SimulationRunError | undefined;
    const waiters = new Set<() => void>();
    const wake = () => {
      for (const w of waiters) w();
    };
    const describe = (h: HostProc) => `agents host ${h.index} (pid ${h.child.pid ?? '?'}; ${h.agents.length} agents: ${h.agents.slice(0, 6).join(', ')}${h.agents.length > 6 ? ', …' : ''})`;
    const crashed = (h: HostProc): SimulationRunError => {
      const how = h.exited?.signal ? `signal ${h.exited.signal}` : `exit code ${String(h.exited?.code)}`;
      const tail = h.tail.slice(-5).join('\n');
      return new SimulationRunError(`${describe(h)} exited with ${how} during the run${tail ? `; its last output:\n${tail}` : ''}`);
    };
    /** Waits (wall time) until `done()`; fails when a host crashed or after `timeoutMs`. */
    const waitFor = (done: () => boolean, timeoutMs: number, what: string): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (failure) finish(failure);
          else if (done()) finish();
        };
        const timer = setTimeout(() => finish(new SimulationRunError(`${what}: no answer within ${timeoutMs / 1000} s (wall)`)), timeoutMs);
        function finish(error?: Error) {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve();
        }
        waiters.add(check);
        check();
      });

    const apply = (rows: HostRows | undefined) => {
      if (!rows) return;
      for (const { nf, v } of rows.verdicts) recorder.onVerdict(nf, v);
      for (const e of rows.events) recorder.onEvent(e);
      for (const { request, outcome } of rows.actions) recorder.onAction(request, outcome);
      for (const n of rows.notes) recorder.note(n);
      for (const n of rows.ledger) ledger.record(n);
      for (const r of rows.trust) recorder.onTrust(r.agentId, r.score, r.at);
      for (const r of rows.flRounds ?? []) recorder.onFlRound(r);
    };
    const hostOf = (msg: InboundMessage): HostProc | undefined => {
      const i = hostIndexOf(msg.subject);
      const h = hosts[i];
      // the subject names host i and the bus checked it is in the sender's scope; the sender must be host i
      return h && msg.sender.agentId === hostAgentId(controlDomain, i) ? h : undefined;
    };
    let refused = 0;
    const refuse = (msg: InboundMessage, why: string) => {
      if (refused++ < 5) recorder.note(`processes: refused ${msg.subject} from ${msg.sender.agentId}: ${why}`);
      void world.respondJson(msg, { error: why }).catch(() => {});
    };
    world.subscribe(subjects.anyHost('ack'), (msg) => {
      const h = hostOf(msg);
      if (!h) return;
      const ack = msg.json<{ seq: number; rows?: HostRows }>();
      // a tick sent again (its ack was late or lost) is acknowledged again with the same rows: apply them once
      if (ack.seq <= h.acked) return;
      apply(ack.rows);
      h.acked = ack.seq;
      wake();
    });
    world.subscribe(subjects.anyHost('sample'), (msg) => {
      const h = hostOf(msg);
      if (!h) return refuse(msg, 'not an agents host of this run');
      const q = msg.json<{ nf: string; windowMs?: number; perFlow?: boolean; metrics?: string[] }>();
      const agent = specs.find((s) => s.nf?.id === q.nf);
      if (!agent || placement.get(agent.agentId) !== h.index) return refuse(msg, `NF ${q.nf} is not monitored by an agent of host ${h.index}`);
      const sample = ctx.feed.sample(q.nf, { ...(q.windowMs ? { windowMs: q.windowMs } : {}), perFlow: q.perFlow === true, ...(q.metrics ? { metrics: q.metrics } : {}) });
      void world.respondJson(msg, { sample }).catch(() => {});
    });
    world.subscribe(subjects.anyHost('actuate'), async (msg) => {
      const h = hostOf(msg);
      if (!h) return refuse(msg, 'not an agents host of this run');
      const q = msg.json<{ agentId: string; op: 'execute' | 'undo'; request: ActionRequest; outcome?: ActionOutcome }>();
      const spec = specOf.get(q.agentId);
      if (!spec || placement.get(q.agentId) !== h.index) return refuse(msg, `agent ${q.agentId} does not run in host ${h.index}`);
      const r = resources.get(spec.domain)!;
      const actuator = (r.mano.handles as readonly string[]).includes(q.request.type) ? r.mano : (r.filter.handles as readonly string[]).includes(q.request.type) ? r.filter : undefined;
      if (!actuator) return refuse(msg, `no world actuator handles ${q.request.type}`);
      let answer: { outcome?: ActionOutcome; error?: string };
      try {
        answer = { outcome: q.op === 'undo' ? await actuator.undo(q.request, q.outcome!) : await actuator.execute(q.request) };
      } catch (error) {
        answer = { error: (error as Error).message };
      }
      await world.respondJson(msg, answer).catch(() => {});
    });
    world.subscribe(subjects.anyHost('flrows'), (msg) => {
      const h = hostOf(msg);
      if (!h) return refuse(msg, 'not an agents host of this run');
      const q = msg.json<{ nf: string; from: number; to: number }>();
      const client = flInit[h.index]?.clients.find((c) => c.nf === q.nf);
      if (!client || !Number.isFinite(q.from) || !Number.isFinite(q.to)) return refuse(msg, `no FL client of NF ${String(q.nf)} in host ${h.index}, or no from / to`);
      void world.respondJson(msg, { rows: flRows(recorder.series.get(q.nf), client.metrics, q.from, q.to) }).catch(() => {});
    });
    await world.flush();

    /** A command to one host over NATS (signed request), bounded in wall time and by the host's exit. */
    const command = async (h: HostProc, body: Record<string, unknown>, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Record<string, unknown>> => {
      if (h.exited) throw crashed(h);
      let answer: Record<string, unknown> | undefined;
      let error: Error | undefined;
      void world.requestJson<Record<string, unknown>>(subjects.cmd(h.index), { v: HOST_PROTOCOL_VERSION, ...body }).then(
        (a) => {
          answer = a;
          wake();
        },
        (e: unknown) => {
          error = e as Error;
          wake();
        },
      );
      await waitFor(() => answer !== undefined || error !== undefined || h.exited !== undefined, timeoutMs, `${String(body.cmd)} command to ${describe(h)}`);
      if (error) throw new SimulationRunError(`${String(body.cmd)} command to ${describe(h)} failed: ${error.message}`, error);
      if (!answer) throw crashed(h);
      if (typeof answer.error === 'string') throw new SimulationRunError(`${describe(h)}: ${answer.error}`);
      return answer;
    };

    const spawnHost = (index: number): HostProc => {
      const child = fork(fileURLToPath(new URL('./agents-host-main.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
      const h: HostProc = { index, child, agents: [], tail: [], acked: 0, exitedPromise: Promise.resolve() };
      h.exitedPromise = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          h.exited = { code, signal };
          if (!stopping && !failure) {
            failure = crashed(h);
            recorder.note(`processes: ${failure.message}`);
            ctx.logger.error({ host: index, code, signal }, 'agents host exited during the run');
          }
          wake();
          resolve();
        });
      });
      const keep = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          h.tail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
          if (h.tail.length > 20) h.tail.shift();
          ctx.logger.warn({ host: index, line }, 'agents host output');
        }
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'started') h.agents = m.agents;
        if (m.type === 'error') h.tail.push(m.message);
        (h as { last?: string }).last = m.type;
        wake();
      });
      hosts[index] = h;
      return h;
    };
    const initFor = (index: number): HostInit => ({
      v: HOST_PROTOCOL_VERSION,
      index,
      count,
      topologyFile,
      nats: servers,
      harnessServers: harnessServers(1 + index),
      startMs: engine.startMs,
      nowMs: engine.now(),
      seed: String(ctx.seed),
      controlDomain,
      host: hexIdentity(hostAgentId(controlDomain, index), hostIdentities[index]),
      agents: specs.filter((s) => placement.get(s.agentId) === index).map((s) => hexIdentity(s.agentId, identities.get(s.agentId)!)),
      // the domain roots' secret keys go to the host of the domain agents only (as `sliceguard up` gives the domain agent its root)
      roots: [...authorities.values()].map((a) => ({ domain: a.domain, publicKey: a.publicKeyHex, ...(index === 0 ? { secretKey: toHex(a.keyPair.secretKey) } : {}) })),
      placement: [...placement],
      policies: options.policies ?? 'topology',
      samplingPeriodMs: ctx.samplingPeriodMs,
      ...(options.zThreshold !== undefined ? { zThreshold: options.zThreshold } : {}),
      ...(options.lstm ? { lstm: options.lstm } : {}),
      trustEveryMs: options.trustEveryMs ?? 30_000,
      ...(flPlan.size > 0 ? { fl: flInit[index] } : {}),
      logLevel: 'warn',
    });
    const phase = (h: HostProc) => (h as { last?: string }).last;
    const startHosts = async () => {
      // loops first (hosts 1…N-1, then host 0's), the domain agents last: they activate every loop over the bus
      const order = [...Array.from({ length: count - 1 }, (_, i) => i + 1), 0];
      const others = order.slice(0, -1).map((i) => spawnHost(i));
      for (const h of others) h.child.send({ type: 'init', init: initFor(h.index) } satisfies ParentMessage);
      await waitFor(() => others.every((h) => phase(h) === 'started' || phase(h) === 'ready'), START_TIMEOUT_MS, 'starting the agents hosts');
      const first = spawnHost(0);
      first.child.send({ type: 'init', init: initFor(0) } satisfies ParentMessage);
      await waitFor(() => hosts.every((h) => phase(h) === 'ready'), START_TIMEOUT_MS, 'activating every loop in the agents hosts');
    };

    let seq = 0;
    let ticksResent = 0;
    const live = () => hosts.filter((h) => !h.exited);
    /**
     * Work a fault or the FL schedule started at a simulated instant (poisoning a client, the
     * coordinator's validation set, a broker crash and the reconnection of every client): the next
     * clock tick waits for it, so that it happens at that instant as in one process.
     */
    const held = pendingWork();
    const hold = held.track;
    /** A command that must get through a broker crash: retried every `attemptMs` (wall) until answered, at most `attempts` times. */
    const commandRetry = async (h: HostProc, body: Record<string, unknown>, attemptMs: number, attempts: number): Promise<Record<string, unknown>> => {
      for (let k = 1; ; k++) {
        try {
          return await command(h, body, attemptMs);
        } catch (error) {
            // no answer, or no responder yet (its harness connection was on the killed node and is resubscribing)
          if (k >= attempts || h.exited) throw error;
          await sleep(100);
        }
      }
    };
    const layer: SecurityLayer = {
      name: `${detectorKind === 'lstm' ? 'agents (LSTM autoencoder)' : 'agents (statistical detector)'} in ${count} process${count > 1 ? 'es' : ''}`,
      gate,
      capacity,
      async start() {
        for (const r of resources.values()) r.mano.start();
        await startHosts();
        recorder.note(
          `processes: ${count} agents host(s) over nats-server at ${servers.join(', ')}: ${hosts.map((h) => `host ${h.index} (pid ${h.child.pid}) ${h.agents.length} agents`).join('; ')}; domain agents in host 0, the other loops round-robin`,
        );
        if (ctx.federated) {
          if (flPlan.size === 0) recorder.note('federation: no NF type with two or more NFs in a domain; no FL rounds');
          else {
            recorder.note(
              `processes: federated learning: the coordinator of ${[...flPlan.keys()].join(', ')} in agents host 0 (with the domain's Trust Manager); the FL clients in the hosts of their NFs' agents (${flInit.map((f, i) => `host ${i}: ${f.clients.map((c) => c.nf).join(', ') || 'none'}`).join('; ')})`,
            );
            // the coordinators' validation sets: normal samples of the first minutes, as in one process
            engine.at(Math.min(ctx.trainingEndMs, FL_VALIDATION_UNTIL_MS), () => {
              const rows: Record<string, Record<string, number[][]>> = {};
              for (const [domain, models] of flPlan) {
                rows[domain] = {};
                for (const m of models) rows[domain][m.type] = m.nfs.flatMap((s) => flRows(recorder.series.get(s.nf!.id), m.metrics, 30, engine.elapsed() / 1000));
              }
              hold(command(hosts[0], { cmd: 'fl-validation', rows })).catch((error: unknown) => recorder.note(`processes: the FL validation set was not delivered: ${(error as Error).message}`));
            });
          }
        }
        if (cluster) recorder.note(`brokers: 3-node nats-server cluster started for this run at ${servers.join(', ')}; the agents hosts, their agents and the simulation's harness connections are spread over the nodes`);
        options.onHosts?.(hosts.map((h) => ({ index: h.index, pid: h.child.pid ?? -1, agents: h.agents })));
      },
      async settle() {
        await held.settle();
        await Promise.all([world.flush().catch(() => {}), observer.flush().catch(() => {})]);
        if (failure) throw failure;
        const s = ++seq;
        const t = engine.now();
        // published again every TICK_RESEND_MS (wall) until every host acknowledged: after a broker
        // crash a tick or an ack can be lost while the cluster learns where the reconnected clients' subscriptions are
        const started = performance.now();
        for (;;) {
          await world.publishJson(subjects.clock, { v: HOST_PROTOCOL_VERSION, seq: s, t });
          const left = TICK_TIMEOUT_MS - (performance.now() - started);
          const what = () => `clock tick at +${Math.round(engine.elapsed() / 1000)} s (waiting for ${live().filter((h) => h.acked < s).map(describe).join(', ')})`;
          try {
            await waitFor(() => hosts.every((h) => h.acked >= s), Math.max(1, Math.min(TICK_RESEND_MS, left)), what());
            break;
          } catch (error) {
            if (failure) throw failure;
            if (left <= TICK_RESEND_MS) throw new SimulationRunError(`${what()}: no answer within ${TICK_TIMEOUT_MS / 1000} s (wall)`, error);
            ticksResent++;
          }
        }
      },
      async endTraining() {
        if (detectorKind !== 'lstm') return;
        await Promise.all(
          hosts.map(async (h) => {
            const rows: Record<string, number[][]> = {};
            for (const s of specs) if (s.nf && placement.get(s.agentId) === h.index) rows[s.nf.id] = trainingRows(recorder, s.nf.id, s.nf.metrics);
            const answer = await command(h, { cmd: 'train', rows }, TRAIN_TIMEOUT_MS);
            for (const n of (answer.notes as string[] | undefined) ?? []) recorder.note(n);
          }),
        );
      },
      faults: {
        'agent-restart': async (fault) => {
          const i = placement.get(fault.target);
          if (i === undefined) throw new SimulationRunError(`no agent ${fault.target}`);
          const t0 = engine.now();
          const answer = await command(hosts[i], { cmd: 'restart', agentId: fault.target });
          return `${String(answer.detail)} at ${recorder.t(t0)} s (same identity, knowledge kept); its loop announces itself and the domain agent reactivates it`;
        },
        'rogue-agent': async (fault) => {
          const i = placement.get(fault.target);
          if (i === undefined) throw new SimulationRunError(`no agent ${fault.target} to turn rogue`);
          return String((await command(hosts[i], { cmd: 'rogue', agentId: fault.target, at: engine.now(), ...(fault.params ?? {}) })).detail);
        },
        'stolen-key': async (fault) => {
          const i = placement.get(fault.target);
          const spec = specOf.get(fault.target);
          if (i === undefined || !spec) throw new SimulationRunError(`no agent ${fault.target} whose key could be stolen`);
          const everyMs = Number(fault.params?.everyMs ?? 2000);
          const revokeAfterMs = Number(fault.params?.revokeAfterMs ?? 60_000);
          const forgeForMs = Number(fault.params?.forgeForMs ?? 2 * revokeAfterMs);
          const answer = await command(hosts[i], { cmd: 'steal', agentId: fault.target, everyMs, forgeForMs });
          const st = { credentialId: String(answer.credentialId), deliveredAfter: 0, rejectedRevoked: 0 } as { credentialId: string; revokedAt?: number; deliveredAfter: number; rejectedRevoked: number };
          stolen.set(fault.target, st);
          // the domain root (in host 0, with the domain agent) revokes the credential and publishes the signed list
          engine.clock.setTimeout(() => {
            const at = engine.now();
            command(hosts[0], { cmd: 'revoke', domain: spec.domain, credentialIds: [st.credentialId] }).then(
              (a) => {
                st.revokedAt = at;
                recorder.note(`stolen-key: ${spec.domain} root revoked credential ${st.credentialId} of ${fault.target} at ${recorder.t(at)} s (revocation list seq ${String(a.seq)}, published by the domain agent in agents host 0)`);
              },
              (error: unknown) => recorder.note(`stolen-key: revoking ${st.credentialId} failed: ${(error as Error).message}`),
            );
          }, revokeAfterMs);
          return `attacker publishes forged escalations with ${fault.target}'s key (agents host ${i}) every ${everyMs / 1000} s; the root revokes it after ${revokeAfterMs / 1000} s`;
        },
        'agent-crash': async (fault) => {
          const i = placement.get(fault.target);
          if (i === undefined) throw new SimulationRunError(`no agent ${fault.target}`);
          return String((await command(hosts[i], { cmd: 'crash', agentId: fault.target })).detail);
        },
        'fl-poisoning': async (fault) => {
          if (flPlan.size === 0) throw new SimulationRunError('fl-poisoning needs a federated scenario');
          const spec = specs.find((s) => s.nf?.id === fault.target);
          const i = spec ? placement.get(spec.agentId) : undefined;
          if (i === undefined || !flInit[i].clients.some((c) => c.nf === fault.target)) throw new SimulationRunError(`no FL client for NF ${fault.target}`);
          const p = poisonParams(fault.params);
          // applied before the next tick: from this instant on, as in one process
          return String((await hold(command(hosts[i], { cmd: 'poison', nf: fault.target, mode: p.mode, factor: p.factor }))).detail);
        },
        'broker-crash': async (fault) => {
          // a node is killed only in the cluster this run started: a given server is not the simulation's to kill
          if (!cluster) throw new SimulationRunError(`broker-crash needs the scenario's own nats-server cluster (brokers: 'nats-cluster'; run it without --nats), not the given server ${servers.join(', ')}`);
          const nodes = cluster.nodes;
          return hold(
            (async () => {
              // where every connection is now: the hosts' agents, FL principals and harness connections (each host flushed them)
              const reports = await Promise.all(live().map(async (h) => ({ h, connections: (await command(h, { cmd: 'brokers' })).connections as HostConnection[] })));
              const all = reports.flatMap((r) => r.connections.map((c) => ({ ...c, host: r.h.index })));
              const agentsOn = (port: number) => all.filter((c) => c.kind === 'agent' && portOf(c.server) === port).length;
              // the node most agents are connected to, never the observer's (it keeps counting), as in one process
              const candidates = nodes.filter((n) => n.port !== portOf(observer.server));
              const node = candidates.reduce((a, b) => (agentsOn(b.port) > agentsOn(a.port) ? b : a));
              const harness = [
                ...all.filter((c) => c.kind === 'harness' && portOf(c.server) === node.port).map((c) => `host ${c.host}`),
                ...(portOf(world.server) === node.port ? ['the simulation (world)'] : []),
              ];
              const fl = all.filter((c) => c.kind === 'fl' && portOf(c.server) === node.port).length;
              const agents = agentsOn(node.port);
              // let what the last tick started (replies, deliveries across the routes) land before the kill
              await Promise.all([world.flush().catch(() => {}), observer.flush().catch(() => {})]);
              await sleep(50);
              const t0 = performance.now();
              await node.kill();
              // every connection back on a surviving node: the simulation's, then every host's (retried: a host's harness connection may be resubscribing)
              const deadline = t0 + 20_000;
              // (a flush round trip fails while the connection is down, including before it noticed the kill)
              for (;;) {
                const ok = world.isConnected && observer.isConnected && (await Promise.all([world.flush(), observer.flush()]).then(() => true, () => false));
                if (ok) break;
                if (performance.now() > deadline) throw new SimulationRunError(`the simulation's NATS connections not reconnected after 20 s (servers ${servers.join(', ')})`);
                await sleep(10);
              }
              await Promise.all(live().map((h) => commandRetry(h, { cmd: 'reconnected', timeoutMs: 20_000 }, 250, 80)));
              const ms = Math.round(performance.now() - t0);
              return `killed nats-server ${fault.target} (port ${node.port}, SIGKILL) with ${agents} agent connection(s), ${fl} FL connection(s) and the harness connection(s) of ${harness.length > 0 ? harness.join(', ') : 'nobody'}; every client (${all.length} in ${reports.length} agents host(s), and the simulation's) reconnected to a surviving node after ${ms} ms (wall)`;
            })(),
          );
        },
      },
      async stop() {
        const crash = failure;
        stopping = true;
        const totals: BusTotals = { sent: 0, delivered: 0, rejected: {} };
        const forgedAt = new Map<string, number[]>();
        await Promise.all(
          live().map(async (h) => {
            try {
              const answer = await command(h, { cmd: 'stop' });
              apply(answer.rows as HostRows | undefined);
              for (const [agentId, f] of Object.entries((answer.stolen ?? {}) as Record<string, { forgedAt: number[] }>)) forgedAt.set(agentId, f.forgedAt);
              const b = answer.busStats as BusTotals | undefined;
              if (b) {
                totals.sent += b.sent;
                totals.delivered += b.delivered;
                for (const [k, n] of Object.entries(b.rejected)) totals.rejected[k] = (totals.rejected[k] ?? 0) + n;
              }
            } catch (error) {
              recorder.note(`processes: stopping ${describe(h)} failed: ${(error as Error).message}`);
            }
          }),
        );
        // every host exits on its own after `stop`; one that does not gets SIGTERM, then SIGKILL
        await Promise.all(
          hosts.map(async (h) => {
            const timer = setTimeout(() => h.child.kill('SIGTERM'), EXIT_TIMEOUT_MS);
            const kill = setTimeout(() => h.child.kill('SIGKILL'), 2 * EXIT_TIMEOUT_MS);
            await h.exitedPromise;
            clearTimeout(timer);
            clearTimeout(kill);
          }),
        );
        const clean = hosts.filter((h) => h.exited?.code === 0).length;
        recorder.note(`processes: ${clean}/${hosts.length} agents host(s) exited cleanly${crash ? ` (${crash.message.split('\n')[0]})` : ''}`);
        if (ticksResent > 0) recorder.note(`processes: ${ticksResent} clock tick(s) published again (not acknowledged by every host within ${TICK_RESEND_MS / 1000} s)`);
        recorder.busStats = totals;
        for (const [agentId, st] of stolen) {
          const times = forgedAt.get(agentId) ?? [];
          const forgedAfter = st.revokedAt === undefined ? 0 : times.filter((at) => at > st.revokedAt!).length;
          recorder.onFault('stolen-key', agentId, engine.now(), stolenKeyResult({ ...st, forged: times.length, forgedAfter }, totals.rejected.revoked ?? 0));
        }
        observerRevocations.unsubscribe();
        ledger.report(recorder);
        for (const d of detach) d();
        for (const r of resources.values()) r.mano.stop();
        await observer.close().catch(() => {});
        await world.close().catch(() => {});
        await cluster?.stop();
        // rows from several processes arrive per tick: keep the report's series in time order
        const byT = (a: { t: number }, b: { t: number }) => a.t - b.t;
        recorder.verdicts.sort(byT);
        recorder.events.sort(byT);
        recorder.messages.sort(byT);
        recorder.trust.sort(byT);
      },
    };
    return layer;
  };
}
