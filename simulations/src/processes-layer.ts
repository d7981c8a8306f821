import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHANNEL_KIND, domainControls, stolenKeyResult, trainingRows, type AgentsLayerOptions } from './agents-layer.js';
import { connectNatsBus, type NatsBus, subscribeRevocations } from '@sliceguard/bus';
import { type ActionOutcome, type ActionRequest, type InboundMessage, toHex } from '@sliceguard/core';
import { createSimulatedMano, createTrafficFilter, type SimulatedMano, type TrafficFilter } from '@sliceguard/enforcement';
import { type AgentIdentity, createDomainAuthority, type DomainAuthority, TrustStore } from '@sliceguard/identity';
import { resolveAgents } from '@sliceguard/topology';
import { InvalidSimulationOptionsError, SimulationRunError } from './errors.js';
import {
  type BusTotals,
  type ChildMessage,
  HOST_PROTOCOL_VERSION,
  type HostIdentity,
  type HostInit,
  type HostRows,
  hostAgentId,
  hostIndexOf,
  type ParentMessage,
  placeAgents,
  simSubjects,
  worldAgentId,
} from './host-protocol.js';
import { recordManoEvents, type SecurityLayer, type SecurityLayerContext, type SecurityLayerFactory } from './layer.js';
import { coordinationLedger } from './ledger.js';

/** Wall-clock bounds of the harness (the simulated clock does not move while the engine waits). */
const START_TIMEOUT_MS = 90_000;
const TICK_TIMEOUT_MS = 60_000;
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
  const count = options.processes;
  if (count === undefined || !Number.isInteger(count) || count < 1) {
    throw new InvalidSimulationOptionsError(`processes must be an integer ≥ 1, got ${String(count)}`, { processes: count });
  }
  if (options.nats === undefined) throw new InvalidSimulationOptionsError('processes needs a nats-server (nats): the agents hosts talk over it', { processes: count });
  const servers = typeof options.nats === 'string' ? [options.nats] : [...options.nats];
  return async (ctx: SecurityLayerContext): Promise<SecurityLayer> => {
    const { engine, recorder, topology } = ctx;
    if (!ctx.topologyFile) throw new InvalidSimulationOptionsError('processes needs the topology file of the scenario (SecurityLayerContext.topologyFile)', {});
    const topologyFile = ctx.topologyFile;
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

    const connect = (identity: AgentIdentity, name: string) =>
      connectNatsBus({ servers, identity, trustStore, clock: engine.clock, name, reconnectTimeWaitMs: 100, pingIntervalMs: 2000, requestTimeoutMs: SIM_REQUEST_TIMEOUT_MS });
    const world: NatsBus = await connect(worldIdentity, worldAgentId(controlDomain));
    let observer: NatsBus;
    try {
      observer = await connect(observerIdentity, `${controlDomain}:sim-observer`);
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
      apply(ack.rows);
      h.acked = Math.max(h.acked, ack.seq);
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
    const live = () => hosts.filter((h) => !h.exited);
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
        if (ctx.federated) recorder.note('processes: federated learning is not run in a multi-process run (the FL clients and coordinator run in one process only)');
        options.onHosts?.(hosts.map((h) => ({ index: h.index, pid: h.child.pid ?? -1, agents: h.agents })));
      },
      async settle() {
        await Promise.all([world.flush().catch(() => {}), observer.flush().catch(() => {})]);
        if (failure) throw failure;
        const s = ++seq;
        const t = engine.now();
        await world.publishJson(subjects.clock, { v: HOST_PROTOCOL_VERSION, seq: s, t });
        await waitFor(() => hosts.every((h) => h.acked >= s), TICK_TIMEOUT_MS, `clock tick at +${Math.round(engine.elapsed() / 1000)} s (waiting for ${live().filter((h) => h.acked < s).map(describe).join(', ')})`);
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
          return String((await command(hosts[i], { cmd: 'rogue', agentId: fault.target, ...(fault.params ?? {}) })).detail);
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
