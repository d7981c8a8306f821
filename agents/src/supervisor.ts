import type { AgentLevel, Bus, Clock, IdGenerator, InboundMessage, Logger, TimerHandle } from '@sliceguard/core';
import { loopSubject, silentLogger } from '@sliceguard/core';
import type { Knowledge, LoopState } from '@sliceguard/mape';
import type { AgentSpec } from '@sliceguard/topology';
import type { ControlAckMessage, ControlCommand, ControlMessage, StatusMessage } from './coordination/messages.js';
import { parseCoordinationMessage, PROTOCOL_VERSION } from './coordination/messages.js';
import { LifecycleCommandError } from './errors.js';

export interface SupervisorOptions {
  /** The domain agent's spec. */
  spec: AgentSpec;
  directory: ReadonlyMap<string, AgentSpec>;
  bus: Bus;
  clock: Clock;
  ids: IdGenerator;
  knowledge: Knowledge;
  logger?: Logger;
  /** Wait for a control_ack this long before sending again (default 2000 ms). */
  ackTimeoutMs?: number;
  /** Sends of one command before it fails (default 5). */
  maxAttempts?: number;
  /** Expected status heartbeat period of the loops (default 5000 ms). */
  heartbeatMs?: number;
  /** A loop silent for this many heartbeats is reported missing (default 3). */
  missingAfter?: number;
  /** Activate every loop at start and whenever one (re)appears instantiated (default true). */
  autoActivate?: boolean;
  /** Told when a loop goes missing or comes back. */
  onLoopEvent?: (kind: 'loop_missing' | 'loop_back', agentId: string, details: Record<string, unknown>) => void;
  /** Whether a loop may be (re)activated automatically (e.g. not while its agent is quarantined). Default: always. */
  mayActivate?: (agentId: string) => boolean;
}

export interface SupervisedLoop {
  agentId: string;
  level: AgentLevel;
  state: LoopState | 'unknown';
  lastSeen?: number;
  missing: boolean;
  summary?: Record<string, number>;
}

export interface Supervisor {
  start(): Promise<void>;
  stop(): void;
  /** Sends a lifecycle command and resolves with the loop's acknowledgement (retried until acknowledged). */
  command(agentId: string, command: ControlCommand, reason: string, params?: Record<string, unknown>): Promise<ControlAckMessage>;
  loops(): SupervisedLoop[];
  /** Resolves once every supervised loop reported `state` (or rejects after `timeoutMs` of the clock). */
  waitFor(state: LoopState, timeoutMs: number): Promise<void>;
}

interface PendingCommand {
  message: ControlMessage;
  attempts: number;
  timer?: TimerHandle;
  resolve: (ack: ControlAckMessage) => void;
  reject: (error: Error) => void;
}

/**
 * The Security Orchestrator role of the domain agent: it owns the lifecycle of every loop of its
 * domain (DESIGN.md §1). Commands go to each loop's `control` channel and are acknowledged on its
 * `status` channel; loops announce transitions and heartbeats there, so the orchestrator knows each
 * loop's state, activates loops that (re)start, and notices loops that fall silent.
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const { spec, directory, bus, clock, ids, knowledge } = options;
  const logger = (options.logger ?? silentLogger()).child({ supervisor: spec.agentId });
  const ackTimeoutMs = options.ackTimeoutMs ?? 2000;
  const maxAttempts = options.maxAttempts ?? 5;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const missingAfter = options.missingAfter ?? 3;
  const autoActivate = options.autoActivate ?? true;
  const supervised = new Map<string, SupervisedLoop>();
  for (const s of directory.values()) {
    if (s.domain !== spec.domain || s.agentId === spec.agentId) continue;
    if (s.level !== 'nf' && s.level !== 'subslice' && s.level !== 'slice') continue;
    supervised.set(s.agentId, { agentId: s.agentId, level: s.level, state: 'unknown', missing: false });
  }
  const pending = new Map<string, PendingCommand>();
  const activating = new Set<string>();
  const waiters: { state: LoopState; resolve: () => void }[] = [];
  let subscription: { unsubscribe(): void } | undefined;
  let watchdog: TimerHandle | undefined;
  let stopped = false;

  const record = (what: string, details: Record<string, unknown>): void => {
    void knowledge.record('coordination', { what, ...details }, clock.now()).catch(() => {});
  };
  const checkWaiters = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if ([...supervised.values()].every((l) => l.state === waiters[i].state)) waiters.splice(i, 1)[0].resolve();
    }
  };
  const send = (p: PendingCommand): void => {
    const target = directory.get(p.message.to)!;
    p.message = { ...p.message, at: clock.now() };
    void bus.publishJson(loopSubject(target.level as AgentLevel, target.placement, 'control'), p.message).catch((error: unknown) => {
      logger.error({ err: error }, 'control publish failed');
    });
    p.timer = clock.setTimeout(() => {
      if (pending.get(p.message.id) !== p) return;
      if (p.attempts < maxAttempts) {
        p.attempts++;
        send(p);
        return;
      }
      pending.delete(p.message.id);
      record('control_unacknowledged', { id: p.message.id, to: p.message.to, command: p.message.command });
      p.reject(
        new LifecycleCommandError(`${p.message.to} did not acknowledge "${p.message.command}" after ${maxAttempts} attempts (${ackTimeoutMs} ms each)`, {
          agentId: p.message.to,
          command: p.message.command,
        }),
      );
    }, ackTimeoutMs);
  };

  const activate = (agentId: string, reason: string): void => {
    if (!autoActivate || activating.has(agentId) || stopped) return;
    if (options.mayActivate && !options.mayActivate(agentId)) {
      record('activation_withheld', { agentId, reason });
      return;
    }
    activating.add(agentId);
    command(agentId, 'activate', reason)
      .catch((error: unknown) => logger.warn({ err: error, agentId }, 'activation not acknowledged yet'))
      .finally(() => activating.delete(agentId));
  };

  const onStatus = (msg: InboundMessage): void => {
    const sender = msg.sender.agentId;
    const loop = supervised.get(sender);
    if (!loop) return; // the domain agent's own status, or a coordinator
    let m: StatusMessage | ControlAckMessage;
    try {
      m = parseCoordinationMessage(msg.json(), ['status', 'control_ack'] as const, msg.subject);
    } catch (error) {
      logger.warn({ err: error, sender }, 'malformed status message');
      return;
    }
    if (m.from !== sender) return;
    const now = clock.now();
    if (loop.missing) {
      loop.missing = false;
      record('loop_back', { agentId: sender });
      options.onLoopEvent?.('loop_back', sender, {});
    }
    loop.lastSeen = now;
    loop.state = m.state;
    if (m.kind === 'status') {
      if (m.summary) loop.summary = m.summary;
      if (m.state === 'instantiated') activate(sender, 'security orchestrator: loop (re)started');
    } else {
      const p = pending.get(m.commandId);
      if (p && p.message.to === sender) {
        pending.delete(m.commandId);
        clock.clearTimeout(p.timer);
        record('control_acknowledged', { id: m.commandId, to: sender, ok: m.ok, state: m.state, error: m.error });
        p.resolve(m);
      }
    }
    checkWaiters();
  };

  const command = (agentId: string, cmd: ControlCommand, reason: string, params?: Record<string, unknown>): Promise<ControlAckMessage> => {
    if (!supervised.has(agentId)) {
      return Promise.reject(new LifecycleCommandError(`${agentId} is not a loop of domain ${spec.domain}`, { agentId, known: [...supervised.keys()] }));
    }
    const message: ControlMessage = {
      v: PROTOCOL_VERSION,
      kind: 'control',
      id: ids.next('ctl'),
      from: spec.agentId,
      to: agentId,
      command: cmd,
      reason,
      ...(params ? { params } : {}),
      at: clock.now(),
    };
    record('control_sent', { id: message.id, to: agentId, command: cmd, reason });
    return new Promise<ControlAckMessage>((resolve, reject) => {
      const p: PendingCommand = { message, attempts: 1, resolve, reject };
      pending.set(message.id, p);
      send(p);
    });
  };

  return {
    async start() {
      subscription = bus.subscribe(`sg.${spec.domain}.*.*.*.status`, onStatus);
      if (heartbeatMs > 0) {
        watchdog = clock.setInterval(() => {
          const now = clock.now();
          for (const loop of supervised.values()) {
            if (loop.missing || loop.lastSeen === undefined || loop.state === 'terminated') continue;
            if (now - loop.lastSeen > missingAfter * heartbeatMs) {
              loop.missing = true;
              record('loop_missing', { agentId: loop.agentId, lastSeen: loop.lastSeen });
              logger.warn({ agentId: loop.agentId }, 'loop missing (no heartbeat)');
              options.onLoopEvent?.('loop_missing', loop.agentId, { lastSeen: loop.lastSeen });
            }
          }
        }, heartbeatMs);
      }
      for (const loop of supervised.values()) activate(loop.agentId, 'security orchestrator: topology start');
    },
    stop() {
      stopped = true;
      subscription?.unsubscribe();
      clock.clearInterval(watchdog);
      for (const p of pending.values()) {
        clock.clearTimeout(p.timer);
        p.reject(new LifecycleCommandError(`supervisor stopped before ${p.message.to} acknowledged ${p.message.command}`, { agentId: p.message.to }));
      }
      pending.clear();
    },
    command,
    loops: () => [...supervised.values()].map((l) => ({ ...l })),
    waitFor(state, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const waiter = { state, resolve };
        waiters.push(waiter);
        const timer = clock.setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i < 0) return;
          waiters.splice(i, 1);
          const lagging = [...supervised.values()].filter((l) => l.state !== state).map((l) => `${l.agentId}=${l.state}`);
          reject(new LifecycleCommandError(`loops not ${state} after ${timeoutMs} ms: ${lagging.join(', ')}`, { state }));
        }, timeoutMs);
        waiter.resolve = () => {
          clock.clearTimeout(timer);
          resolve();
        };
        checkWaiters();
      });
    },
  };
}
