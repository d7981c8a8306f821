import type {
  ActionOutcome,
  ActionRequest,
  ActionType,
  AgentLevel,
  Bus,
  Clock,
  IdGenerator,
  IncidentEvent,
  Indicator,
  InboundMessage,
  Logger,
  ManagementEvent,
  Placement,
  SecurityEvent,
  TimerHandle,
  TrustSink,
} from '@sliceguard/core';
import { ACTION_TYPES, childrenSubject, loopSubject, silentLogger } from '@sliceguard/core';
import type { Knowledge, Loop, LoopNotice } from '@sliceguard/mape';
import type { AgentSpec } from '@sliceguard/topology';
import { reportKind } from '../analytics/correlator.js';
import { MessageFormatError } from '../errors.js';
import type {
  ControlAckMessage,
  ControlMessage,
  DelegationMessage,
  EscalationAckMessage,
  EscalationMessage,
  IncidentOutcomeMessage,
  OutcomeMessage,
  PeerMessage,
  StatusMessage,
} from './messages.js';
import { parseCoordinationMessage, PROTOCOL_VERSION } from './messages.js';

export interface CoordinationOptions {
  /** Wait this long for an acknowledgement before sending again (default 2000 ms). */
  ackTimeoutMs?: number;
  /** Sends of one escalation / delegation before it is declared failed (default 3). */
  maxAttempts?: number;
  /** Deadline of a delegation whose action gives none (default 30 s). */
  defaultDeadlineMs?: number;
  /** Status heartbeat period (default 5000 ms; 0 = no heartbeats, transitions only). */
  heartbeatMs?: number;
  /** Share source indicators of this loop's own anomalies with same-level siblings (default true). */
  sharePeerIndicators?: boolean;
}

export interface CoordinatorInit extends CoordinationOptions {
  spec: AgentSpec;
  /** Every agent of the topology by id (resolveAgents), to find children's and siblings' subjects. */
  directory: ReadonlyMap<string, AgentSpec>;
  bus: Bus;
  clock: Clock;
  knowledge: Knowledge;
  ids: IdGenerator;
  logger?: Logger;
  /** Evidence about other agents (message validity, delegations kept or missed). */
  trustSink?: TrustSink;
  /** Lifecycle hooks (the agent process exits on terminate, reloads policies on update…). */
  onControl?: (command: ControlMessage) => void | Promise<void>;
}

/** Everything the coordination layer does, as notices (tests and the API watch them). */
export type CoordinationNotice =
  | { type: 'escalation_sent'; message: EscalationMessage }
  | { type: 'escalation_acknowledged'; message: EscalationAckMessage }
  | { type: 'escalation_failed'; escalationId: string; reason: string }
  | { type: 'escalation_received'; message: EscalationMessage; accepted: boolean }
  | { type: 'delegation_sent'; message: DelegationMessage }
  | { type: 'delegation_received'; message: DelegationMessage; accepted: boolean }
  | { type: 'delegation_answered'; message: OutcomeMessage }
  | { type: 'delegation_settled'; message: DelegationMessage; status: 'done' | 'rejected' | 'failed'; success: boolean; outcomes: ActionOutcome[]; detail?: string }
  | { type: 'resolution_received'; message: EscalationAckMessage }
  | { type: 'incident_outcome'; message: IncidentOutcomeMessage }
  | { type: 'peer_indicators'; message: PeerMessage }
  | { type: 'control'; message: ControlMessage; ack: ControlAckMessage }
  | { type: 'dropped'; subject: string; reason: string; sender?: string };

export type CoordinationListener = (notice: CoordinationNotice) => void;

export interface CoordinatorStats {
  escalationsSent: number;
  escalationsAcknowledged: number;
  escalationsFailed: number;
  escalationsReceived: number;
  delegationsSent: number;
  delegationsDone: number;
  delegationsFailed: number;
  delegationsRejected: number;
  delegationsReceived: number;
  retries: number;
  resolutionsSent: number;
  peerShared: number;
  peerReceived: number;
  controlHandled: number;
  dropped: Record<string, number>;
  inFlight: number;
}

export interface Coordinator {
  /** Subscribes, starts heartbeats and starts watching the loop. */
  attach(loop: Loop): void;
  escalate(request: ActionRequest, event?: SecurityEvent): Promise<ActionOutcome>;
  delegate(request: ActionRequest, event?: SecurityEvent): Promise<ActionOutcome>;
  sharePeer(indicators: Indicator[], correlationId?: string): Promise<void>;
  /** Resolves `agentId` or an entity id to one of this loop's children, if it is one. */
  childOf(target: string): AgentSpec | undefined;
  announceStatus(heartbeat: boolean): Promise<void>;
  on(listener: CoordinationListener): () => void;
  stats(): CoordinatorStats;
  /** Unsubscribes and fails nothing: what is in flight stays in knowledge (LevelDB) for a restart. */
  close(): Promise<void>;
}

interface PendingEscalation {
  type: 'escalation';
  message: EscalationMessage;
  attempts: number;
  timer?: TimerHandle;
  resolve: (o: ActionOutcome) => void;
  request: ActionRequest;
}

interface PendingDelegation {
  type: 'delegation';
  message: DelegationMessage;
  attempts: number;
  accepted: boolean;
  ackTimer?: TimerHandle;
  deadlineTimer?: TimerHandle;
  resolve: (o: ActionOutcome) => void;
  request: ActionRequest;
  detectedAt?: number;
}

interface ReceivedEscalation {
  child: string;
  escalationId: string;
  correlationId: string;
  eventId: string;
  status: EscalationAckMessage['status'];
  resolved: boolean;
}

interface ReceivedDelegation {
  last: OutcomeMessage;
}

/** A bounded insertion-ordered map (oldest forgotten first). */
class Lru<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (super.has(key)) super.delete(key);
    super.set(key, value);
    if (this.size > this.max) super.delete(this.keys().next().value as K);
    return this;
  }
}

const NON_DELEGABLE = new Set<ActionType>(['escalate', 'delegate']);

/**
 * The coordination layer of one loop: escalate / delegate / peer / control over the signed bus,
 * with correlation ids, acknowledgements, retries, deadlines and outcomes. Every milestone goes to
 * knowledge (kind `coordination`); nothing in flight is dropped silently — an escalation nobody
 * acknowledges and a delegation that times out or is refused become `*_failed` events in the loop
 * (and a delegation failure is escalated to the parent).
 */
export function createCoordinator(init: CoordinatorInit): Coordinator {
  const { spec, directory, bus, clock, knowledge, ids } = init;
  const self = spec.agentId;
  const level = spec.level as AgentLevel;
  const placement: Placement = spec.placement;
  const logger = (init.logger ?? silentLogger()).child({ coordination: self });
  const ackTimeoutMs = init.ackTimeoutMs ?? 2000;
  const maxAttempts = init.maxAttempts ?? 3;
  const defaultDeadlineMs = init.defaultDeadlineMs ?? 30_000;
  const heartbeatMs = init.heartbeatMs ?? 5000;
  const sharePeer = init.sharePeerIndicators ?? true;
  const domainAgentId = `${spec.domain}:tsm`;
  const parent = spec.parentId ? directory.get(spec.parentId) : undefined;
  const childIds = new Set(spec.childIds);
  const siblings = new Set(parent ? parent.childIds.filter((c) => c !== self) : []);
  const own = (channel: 'escalate' | 'outcome' | 'peer' | 'status' | 'delegate' | 'control'): string => loopSubject(level, placement, channel);

  const pending = new Map<string, PendingEscalation | PendingDelegation>();
  const receivedEscalations = new Lru<string, ReceivedEscalation>(4096);
  const escalationsByCorrelation = new Lru<string, string[]>(4096);
  const escalationsByEvent = new Lru<string, string>(4096);
  const raisedIncidents = new Lru<string, { children: Set<string>; detectedAt: number }>(2048);
  const receivedDelegations = new Lru<string, ReceivedDelegation>(4096);
  const controlDone = new Lru<string, ControlAckMessage>(512);
  const sharedRecently = new Lru<string, number>(4096);
  const listeners = new Set<CoordinationListener>();
  const subscriptions: { unsubscribe(): void }[] = [];
  let heartbeat: TimerHandle | undefined;
  let loop: Loop | undefined;
  let closed = false;
  const counters: Omit<CoordinatorStats, 'dropped' | 'inFlight'> = {
    escalationsSent: 0,
    escalationsAcknowledged: 0,
    escalationsFailed: 0,
    escalationsReceived: 0,
    delegationsSent: 0,
    delegationsDone: 0,
    delegationsFailed: 0,
    delegationsRejected: 0,
    delegationsReceived: 0,
    retries: 0,
    resolutionsSent: 0,
    peerShared: 0,
    peerReceived: 0,
    controlHandled: 0,
  };
  const dropped: Record<string, number> = {};

  const notify = (n: CoordinationNotice): void => {
    for (const l of listeners) {
      try {
        l(n);
      } catch (error) {
        logger.warn({ err: error }, 'coordination listener threw');
      }
    }
  };
  const record = (what: string, details: Record<string, unknown>): void => {
    void knowledge.record('coordination', { what, ...details }, clock.now()).catch((error: unknown) => {
      logger.error({ err: error, what }, 'cannot record coordination milestone');
    });
  };
  const drop = (subject: string, reason: string, sender?: string): void => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
    logger.warn({ subject, reason, sender }, 'coordination message dropped');
    notify({ type: 'dropped', subject, reason, sender });
    if (sender && sender !== self) {
      init.trustSink?.record({ subject: sender, attribute: 'message_validity', positive: 0, negative: 1, source: self, at: clock.now(), reason });
    }
  };
  const publish = (subject: string, value: unknown): Promise<void> =>
    bus.publishJson(subject, value).catch((error: unknown) => {
      logger.error({ err: error, subject }, 'publish failed');
    });
  const outcome = (request: ActionRequest, status: ActionOutcome['status'], detail: string, result?: Record<string, unknown>): ActionOutcome => ({
    id: request.id,
    type: request.type,
    target: request.target,
    status,
    detail,
    ...(result ? { result } : {}),
    at: clock.now(),
  });
  const childOf = (target: string): AgentSpec | undefined => {
    const id = childIds.has(target) ? target : childIds.has(`${spec.domain}:${target}`) ? `${spec.domain}:${target}` : undefined;
    return id ? directory.get(id) : undefined;
  };
  const subjectOf = (agent: AgentSpec, channel: 'delegate' | 'control'): string => loopSubject(agent.level as AgentLevel, agent.placement, channel);
  const pushLoopEvent = (kind: string, target: string, details: Record<string, unknown>, correlationId?: string): void => {
    const event: ManagementEvent = { type: 'management', id: ids.next('mgmt'), at: clock.now(), source: self, target, severity: 0.5, kind, details, ...(correlationId ? { correlationId } : {}) };
    if (!loop?.pushEvent(event)) logger.error({ kind, details }, 'coordination failure could not reach the loop (not active); recorded only');
  };
  const safeParse = <K extends Parameters<typeof parseCoordinationMessage>[1][number]>(msg: InboundMessage, kinds: readonly K[]) => {
    try {
      const value = parseCoordinationMessage(msg.json(), kinds, msg.subject);
      if (value.from !== msg.sender.agentId) {
        drop(msg.subject, 'from_mismatch', msg.sender.agentId);
        return undefined;
      }
      return value;
    } catch (error) {
      drop(msg.subject, error instanceof MessageFormatError ? 'malformed' : 'undecodable', msg.sender.agentId);
      return undefined;
    }
  };

  // ---------------------------------------------------------------- escalation (child side)
  const sendEscalation = (entry: PendingEscalation): void => {
    entry.message = { ...entry.message, attempt: entry.attempts, at: clock.now() };
    counters.escalationsSent++;
    void publish(own('escalate'), entry.message);
    record('escalation_sent', { id: entry.message.id, correlationId: entry.message.correlationId, attempt: entry.attempts, to: entry.message.to });
    notify({ type: 'escalation_sent', message: entry.message });
    entry.timer = clock.setTimeout(() => {
      if (pending.get(entry.message.id) !== entry) return;
      if (entry.attempts < maxAttempts) {
        entry.attempts++;
        counters.retries++;
        sendEscalation(entry);
        return;
      }
      failEscalation(entry, `no acknowledgement from ${entry.message.to} after ${maxAttempts} attempts (${ackTimeoutMs} ms each)`);
    }, ackTimeoutMs);
  };
  const failEscalation = (entry: PendingEscalation, reason: string): void => {
    pending.delete(entry.message.id);
    clock.clearTimeout(entry.timer);
    counters.escalationsFailed++;
    void knowledge.deleteInFlight(entry.message.id);
    record('escalation_failed', { id: entry.message.id, correlationId: entry.message.correlationId, reason });
    logger.error({ escalation: entry.message.id, reason }, 'escalation failed');
    notify({ type: 'escalation_failed', escalationId: entry.message.id, reason });
    pushLoopEvent('escalation_failed', entry.message.event.target, { escalationId: entry.message.id, reason }, entry.message.correlationId);
    entry.resolve(outcome(entry.request, 'failed', reason));
  };

  const escalate = async (request: ActionRequest, event?: SecurityEvent): Promise<ActionOutcome> => {
    if (!parent) return outcome(request, 'rejected', `${self} has no parent loop to escalate to`);
    const ev: SecurityEvent =
      event ??
      ({
        type: 'management',
        id: ids.next('mgmt'),
        at: clock.now(),
        source: self,
        target: request.target,
        severity: 0.5,
        kind: String(request.params.kind ?? 'escalation'),
        details: { ...request.params },
      } satisfies ManagementEvent);
    const id = ids.next('esc');
    const message: EscalationMessage = {
      v: PROTOCOL_VERSION,
      kind: 'escalation',
      id,
      correlationId: ev.correlationId ?? ev.id,
      from: self,
      to: parent.agentId,
      escalationKind: typeof request.params.kind === 'string' ? request.params.kind : reportKind(ev),
      ...(typeof request.params.reason === 'string' ? { reason: request.params.reason } : {}),
      event: ev,
      attempt: 1,
      at: clock.now(),
    };
    await knowledge.putInFlight(id, { type: 'escalation', message });
    return new Promise<ActionOutcome>((resolve) => {
      const entry: PendingEscalation = { type: 'escalation', message, attempts: 1, resolve, request };
      pending.set(id, entry);
      sendEscalation(entry);
    });
  };

  // ---------------------------------------------------------------- escalation (parent side)
  const ackEscalation = (r: ReceivedEscalation, extra: Partial<EscalationAckMessage> = {}): void => {
    const child = directory.get(r.child);
    if (!child) return;
    const ack: EscalationAckMessage = {
      v: PROTOCOL_VERSION,
      kind: 'escalation_ack',
      escalationId: r.escalationId,
      correlationId: r.correlationId,
      from: self,
      to: r.child,
      status: r.status,
      at: clock.now(),
      ...extra,
    };
    void publish(subjectOf(child, 'delegate'), ack);
  };

  const onEscalation = (msg: InboundMessage): void => {
    const sender = msg.sender.agentId;
    if (sender === self) return; // our own escalations match the children wildcard
    if (!childIds.has(sender)) {
      drop(msg.subject, 'not_a_child', sender);
      return;
    }
    const m = safeParse(msg, ['escalation'] as const);
    if (!m) return;
    if (m.to !== self) {
      drop(msg.subject, 'wrong_recipient', sender);
      return;
    }
    const seen = receivedEscalations.get(m.id);
    if (seen && seen.status !== 'refused') {
      ackEscalation(seen); // a retry: the first acknowledgement was lost
      return;
    }
    // New, or sent again after we refused it (our loop was not active yet): try to take it now.
    // The verified sender is the source, whatever the payload says.
    const report = { ...m.event, source: sender, kind: m.escalationKind, correlationId: m.event.correlationId ?? m.correlationId } as SecurityEvent;
    const accepted = loop?.pushReport(report) ?? false;
    counters.escalationsReceived++;
    const r: ReceivedEscalation = {
      child: sender,
      escalationId: m.id,
      correlationId: report.correlationId ?? m.correlationId,
      eventId: report.id,
      status: accepted ? 'received' : 'refused',
      resolved: false,
    };
    receivedEscalations.set(m.id, r);
    escalationsByEvent.set(report.id, m.id);
    const list = escalationsByCorrelation.get(r.correlationId) ?? [];
    if (!list.includes(m.id)) list.push(m.id);
    escalationsByCorrelation.set(r.correlationId, list);
    init.trustSink?.record({ subject: sender, attribute: 'message_validity', positive: 1, negative: 0, source: self, at: clock.now() });
    record('escalation_received', { id: m.id, from: sender, correlationId: r.correlationId, kind: m.escalationKind, accepted });
    notify({ type: 'escalation_received', message: m, accepted });
    ackEscalation(r, accepted ? {} : { detail: `loop ${self} is ${loop?.state ?? 'not attached'} or its queue is full` });
  };

  // ---------------------------------------------------------------- messages from the parent
  const onFromParent = (msg: InboundMessage): void => {
    const sender = msg.sender.agentId;
    if (!parent || sender !== parent.agentId) {
      drop(msg.subject, 'not_the_parent', sender);
      return;
    }
    const m = safeParse(msg, ['delegation', 'escalation_ack'] as const);
    if (!m) return;
    if (m.to !== self) {
      drop(msg.subject, 'wrong_recipient', sender);
      return;
    }
    if (m.kind === 'escalation_ack') {
      onEscalationAck(m);
      return;
    }
    onDelegation(m);
  };

  const onEscalationAck = (m: EscalationAckMessage): void => {
    if (m.status === 'resolved') {
      record('resolution_received', { escalationId: m.escalationId, correlationId: m.correlationId, success: m.success });
      void knowledge.record('outcome', { resolution: m }, clock.now());
      notify({ type: 'resolution_received', message: m });
      resolveDown(m.correlationId, m.success ?? false, m.outcomes ?? [], `resolved above: ${m.detail ?? ''}`.trim());
      // A resolution can overtake a lost acknowledgement: it settles the escalation too.
    }
    const entry = pending.get(m.escalationId);
    if (entry?.type !== 'escalation') return;
    clock.clearTimeout(entry.timer);
    if (m.status === 'refused' && entry.attempts < maxAttempts) {
      // The parent's loop could not take it (not active yet, queue full): try again later.
      entry.attempts++;
      counters.retries++;
      record('escalation_retry', { id: m.escalationId, attempt: entry.attempts, reason: `refused: ${m.detail ?? 'no reason given'}` });
      entry.timer = clock.setTimeout(() => {
        if (pending.get(entry.message.id) === entry) sendEscalation(entry);
      }, ackTimeoutMs);
      return;
    }
    pending.delete(m.escalationId);
    void knowledge.deleteInFlight(m.escalationId);
    if (m.status === 'refused') {
      counters.escalationsFailed++;
      record('escalation_refused', { id: m.escalationId, detail: m.detail });
      pushLoopEvent('escalation_failed', entry.message.event.target, { escalationId: m.escalationId, reason: m.detail ?? 'refused' }, entry.message.correlationId);
      entry.resolve(outcome(entry.request, 'rejected', `parent refused the escalation: ${m.detail ?? 'no reason given'}`));
      return;
    }
    counters.escalationsAcknowledged++;
    record('escalation_acknowledged', { id: m.escalationId, correlationId: m.correlationId });
    notify({ type: 'escalation_acknowledged', message: m });
    entry.resolve(outcome(entry.request, 'succeeded', `acknowledged by ${m.from}`, { escalationId: m.escalationId, correlationId: m.correlationId }));
  };

  // ---------------------------------------------------------------- delegation (child side)
  const answer = (m: DelegationMessage, fields: Pick<OutcomeMessage, 'status'> & Partial<OutcomeMessage>): OutcomeMessage => {
    const out: OutcomeMessage = {
      v: PROTOCOL_VERSION,
      kind: 'outcome',
      delegationId: m.id,
      correlationId: m.correlationId,
      from: self,
      to: m.from,
      at: clock.now(),
      ...fields,
    };
    receivedDelegations.set(m.id, { last: out });
    void publish(own('outcome'), out);
    return out;
  };

  const onDelegation = (m: DelegationMessage): void => {
    const seen = receivedDelegations.get(m.id);
    if (seen) {
      void publish(own('outcome'), { ...seen.last, at: clock.now() }); // a retry: repeat our latest answer
      return;
    }
    counters.delegationsReceived++;
    record('delegation_received', { id: m.id, from: m.from, action: m.action, target: m.target, correlationId: m.correlationId });
    if (NON_DELEGABLE.has(m.action)) {
      answer(m, { status: 'rejected', detail: `action ${m.action} cannot be delegated` });
      notify({ type: 'delegation_received', message: m, accepted: false });
      return;
    }
    const event = {
      type: 'delegation' as const,
      id: m.id,
      at: clock.now(),
      source: m.from,
      target: m.target,
      severity: m.severity,
      correlationId: m.correlationId,
      action: m.action,
      params: m.params,
      deadline: m.deadline,
      from: m.from,
    };
    const submission = loop ? loop.submit(event) : ({ accepted: false, reason: 'no loop attached' } as const);
    if (!submission.accepted) {
      answer(m, { status: 'rejected', detail: submission.reason });
      notify({ type: 'delegation_received', message: m, accepted: false });
      return;
    }
    answer(m, { status: 'accepted' });
    notify({ type: 'delegation_received', message: m, accepted: true });
    void submission.result.then((result) => {
      const acting = result.decisions.filter((d) => !d.blocked && d.actions.length > 0);
      const success = acting.length > 0 && result.outcomes.length > 0 && result.outcomes.every((o) => o.status === 'succeeded');
      const blocked = result.decisions.filter((d) => d.blocked).map((d) => `${d.policyId ?? d.id}: ${d.blocked?.reason}`);
      const detail =
        acting.length === 0
          ? `no decision acted on ${m.action}${blocked.length > 0 ? ` (blocked: ${blocked.join('; ')})` : ' (no rule or policy matched)'}`
          : result.outcomes.map((o) => `${o.type} ${o.target}: ${o.status}${o.detail ? ` (${o.detail})` : ''}`).join('; ');
      answer(m, { status: 'done', success, outcomes: result.outcomes, detail });
      record('delegation_done', { id: m.id, success, detail });
    });
  };

  // ---------------------------------------------------------------- delegation (parent side)
  const sendDelegation = (entry: PendingDelegation): void => {
    const child = directory.get(entry.message.to)!;
    entry.message = { ...entry.message, attempt: entry.attempts, at: clock.now() };
    entry.accepted = false;
    counters.delegationsSent++;
    void publish(subjectOf(child, 'delegate'), entry.message);
    record('delegation_sent', { id: entry.message.id, to: entry.message.to, action: entry.message.action, attempt: entry.attempts, deadline: entry.message.deadline });
    notify({ type: 'delegation_sent', message: entry.message });
    clock.clearTimeout(entry.ackTimer);
    clock.clearTimeout(entry.deadlineTimer);
    entry.ackTimer = clock.setTimeout(() => {
      if (pending.get(entry.message.id) !== entry || entry.accepted) return;
      retryOrFail(entry, `no answer from ${entry.message.to} within ${ackTimeoutMs} ms`);
    }, ackTimeoutMs);
    entry.deadlineTimer = clock.setTimeout(
      () => {
        if (pending.get(entry.message.id) !== entry) return;
        retryOrFail(entry, `${entry.message.to} did not finish ${entry.message.action} before the deadline`);
      },
      Math.max(0, entry.message.deadline - clock.now()),
    );
  };
  const retryOrFail = (entry: PendingDelegation, reason: string): void => {
    if (entry.attempts < maxAttempts) {
      entry.attempts++;
      counters.retries++;
      record('delegation_retry', { id: entry.message.id, attempt: entry.attempts, reason });
      // A retry after a missed deadline gets a fresh one of the same length.
      const length = Math.max(ackTimeoutMs, entry.message.deadline - entry.message.at);
      if (clock.now() >= entry.message.deadline) entry.message = { ...entry.message, deadline: clock.now() + length };
      sendDelegation(entry);
      return;
    }
    settleDelegation(entry, 'failed', false, [], `${reason}; gave up after ${maxAttempts} attempts`);
  };
  const settleDelegation = (entry: PendingDelegation, status: 'done' | 'rejected' | 'failed', success: boolean, outcomes: ActionOutcome[], detail?: string): void => {
    pending.delete(entry.message.id);
    clock.clearTimeout(entry.ackTimer);
    clock.clearTimeout(entry.deadlineTimer);
    void knowledge.deleteInFlight(entry.message.id);
    const m = entry.message;
    record('delegation_settled', { id: m.id, to: m.to, status, success, detail });
    void knowledge.record('outcome', { delegation: m.id, to: m.to, action: m.action, status, success, outcomes, detail }, clock.now());
    notify({ type: 'delegation_settled', message: m, status, success, outcomes, detail });
    const onTime = status === 'done' && clock.now() <= m.deadline;
    init.trustSink?.record({
      subject: m.to,
      attribute: 'ssla',
      positive: success && onTime ? 1 : 0,
      negative: success && onTime ? 0 : status === 'rejected' ? 0.5 : 1,
      source: self,
      at: clock.now(),
      reason: `delegation ${m.action} ${status}${onTime ? '' : ' late'}`,
    });
    if (status === 'done' && success) {
      counters.delegationsDone++;
      entry.resolve(outcome(entry.request, 'succeeded', detail ?? `${m.to} carried out ${m.action}`, { delegationId: m.id, outcomes }));
      resolveDown(m.correlationId, true, outcomes, detail ?? '');
      reportUp(m.correlationId, true, outcomes, entry.detectedAt, detail);
      return;
    }
    if (status === 'rejected') counters.delegationsRejected++;
    else counters.delegationsFailed++;
    entry.resolve(outcome(entry.request, status === 'rejected' ? 'rejected' : 'failed', detail ?? status, { delegationId: m.id, outcomes }));
    // Never lost silently: the loop hears of it, and the parent gets it as an incident.
    pushLoopEvent('delegation_failed', m.target, { delegationId: m.id, to: m.to, action: m.action, status, detail }, m.correlationId);
    if (parent) {
      const incident: IncidentEvent = {
        type: 'incident',
        id: ids.next('inc'),
        at: clock.now(),
        source: self,
        target: spec.subslice?.id ?? spec.slice ?? spec.domain,
        severity: Math.max(0.5, m.severity),
        correlationId: m.correlationId,
        level,
        kind: 'delegation_failed',
        children: [],
        evidence: { detector: 'coordination', score: entry.attempts, threshold: maxAttempts, contributors: [], window: { start: m.at, end: clock.now() } },
      };
      void escalate(
        { id: ids.next('act'), type: 'escalate', target: self, params: { kind: 'delegation_failed', reason: `${m.action} delegated to ${m.to}: ${detail ?? status}` }, requestedBy: self, at: clock.now() },
        incident,
      );
    }
  };

  const delegate = async (request: ActionRequest, event?: SecurityEvent): Promise<ActionOutcome> => {
    const child = childOf(request.target);
    if (!child) return outcome(request, 'rejected', `${request.target} is not a child loop of ${self} (children: ${[...childIds].join(', ') || 'none'})`);
    const { action, deadlineMs, target, ...params } = request.params as Record<string, unknown> & { action?: unknown; deadlineMs?: unknown; target?: unknown };
    if (typeof action !== 'string' || !(ACTION_TYPES as readonly string[]).includes(action) || NON_DELEGABLE.has(action as ActionType)) {
      return outcome(request, 'rejected', `delegate needs params.action, one of ${ACTION_TYPES.filter((a) => !NON_DELEGABLE.has(a)).join(', ')}; got ${String(action)}`);
    }
    const length = typeof deadlineMs === 'number' && deadlineMs > 0 ? deadlineMs : defaultDeadlineMs;
    const id = ids.next('del');
    const message: DelegationMessage = {
      v: PROTOCOL_VERSION,
      kind: 'delegation',
      id,
      correlationId: event?.correlationId ?? event?.id ?? id,
      from: self,
      to: child.agentId,
      action: action as ActionType,
      target: typeof target === 'string' ? target : (child.nf?.id ?? child.subslice?.id ?? child.slice ?? child.agentId),
      params,
      deadline: clock.now() + length,
      severity: event?.severity ?? 0.5,
      attempt: 1,
      at: clock.now(),
    };
    const detectedAt = (event as { evidence?: { window?: { start?: number } } } | undefined)?.evidence?.window?.start;
    await knowledge.putInFlight(id, { type: 'delegation', message });
    return new Promise<ActionOutcome>((resolve) => {
      const entry: PendingDelegation = { type: 'delegation', message, attempts: 1, accepted: false, resolve, request, ...(detectedAt !== undefined ? { detectedAt } : {}) };
      pending.set(id, entry);
      sendDelegation(entry);
    });
  };

  const onOutcome = (msg: InboundMessage): void => {
    const sender = msg.sender.agentId;
    if (sender === self) return;
    if (!childIds.has(sender)) {
      drop(msg.subject, 'not_a_child', sender);
      return;
    }
    const m = safeParse(msg, ['outcome', 'incident_outcome'] as const);
    if (!m) return;
    if (m.to !== self) return; // answers to someone else (e.g. a shared sub-slice's other slice)
    if (m.kind === 'incident_outcome') {
      record('incident_outcome', { from: sender, correlationId: m.correlationId, success: m.success });
      void knowledge.record('outcome', { incidentOutcome: m }, clock.now());
      notify({ type: 'incident_outcome', message: m });
      return;
    }
    const entry = pending.get(m.delegationId);
    if (entry?.type !== 'delegation') return; // late duplicate of a settled delegation
    if (entry.message.to !== sender) {
      drop(msg.subject, 'not_the_delegate', sender);
      return;
    }
    notify({ type: 'delegation_answered', message: m });
    if (m.status === 'accepted') {
      entry.accepted = true;
      clock.clearTimeout(entry.ackTimer);
      record('delegation_accepted', { id: m.delegationId });
      return;
    }
    if (m.status === 'rejected') {
      settleDelegation(entry, 'rejected', false, [], m.detail ?? 'rejected');
      return;
    }
    settleDelegation(entry, 'done', m.success ?? false, m.outcomes ?? [], m.detail);
  };

  // ---------------------------------------------------------------- outcomes back up and down
  const resolveDown = (correlationId: string, success: boolean, outcomes: ActionOutcome[], detail: string): void => {
    const targets = new Set(escalationsByCorrelation.get(correlationId) ?? []);
    const incident = raisedIncidents.get(correlationId);
    for (const eventId of incident?.children ?? []) {
      const esc = escalationsByEvent.get(eventId);
      if (esc) targets.add(esc);
    }
    for (const escalationId of targets) {
      const r = receivedEscalations.get(escalationId);
      if (!r || r.resolved) continue;
      r.resolved = true;
      r.status = 'resolved';
      counters.resolutionsSent++;
      ackEscalation(r, { success, outcomes, detail });
      record('resolution_sent', { escalationId, to: r.child, correlationId });
    }
  };
  const reportUp = (correlationId: string, success: boolean, outcomes: ActionOutcome[], detectedAt: number | undefined, detail?: string): void => {
    if (!parent) return;
    const at = detectedAt ?? raisedIncidents.get(correlationId)?.detectedAt;
    const msg: IncidentOutcomeMessage = {
      v: PROTOCOL_VERSION,
      kind: 'incident_outcome',
      correlationId,
      from: self,
      to: parent.agentId,
      success,
      outcomes,
      ...(at !== undefined ? { detectedAt: at } : {}),
      ...(detail ? { detail } : {}),
      at: clock.now(),
    };
    void publish(own('outcome'), msg);
    record('incident_outcome_sent', { correlationId, success });
  };

  // ---------------------------------------------------------------- peers
  const sharePeerIndicators = async (indicators: Indicator[], correlationId?: string): Promise<void> => {
    if (indicators.length === 0) return;
    const msg: PeerMessage = { v: PROTOCOL_VERSION, kind: 'indicators', from: self, indicators, at: clock.now(), ...(correlationId ? { correlationId } : {}) };
    counters.peerShared++;
    await publish(own('peer'), msg);
  };
  const onPeer = (msg: InboundMessage): void => {
    const sender = msg.sender.agentId;
    if (sender === self) return;
    if (!siblings.has(sender) || msg.sender.level !== spec.level) {
      drop(msg.subject, 'not_a_peer', sender);
      return;
    }
    const m = safeParse(msg, ['indicators'] as const);
    if (!m) return;
    counters.peerReceived++;
    notify({ type: 'peer_indicators', message: m });
    const event: ManagementEvent = {
      type: 'management',
      id: ids.next('peer'),
      at: clock.now(),
      source: sender,
      target: spec.nf?.id ?? spec.subslice?.id ?? spec.slice ?? spec.domain,
      severity: 0.3,
      kind: 'peer_indicator',
      details: { indicators: m.indicators, from: sender },
      ...(m.correlationId ? { correlationId: m.correlationId } : {}),
    };
    loop?.pushReport(event);
  };

  // ---------------------------------------------------------------- lifecycle commands
  const announceStatus = async (isHeartbeat: boolean): Promise<void> => {
    if (!loop || closed) return;
    const s = loop.stats();
    const msg: StatusMessage = {
      v: PROTOCOL_VERSION,
      kind: 'status',
      from: self,
      level: spec.level,
      state: loop.state,
      heartbeat: isHeartbeat,
      at: clock.now(),
      summary: { samples: s.samples, events: s.events, decisions: s.decisions, telemetryDropped: s.telemetryDropped, eventsRefused: s.eventsRefused },
    };
    await publish(own('status'), msg);
  };
  const onControl = async (msg: InboundMessage): Promise<void> => {
    const sender = msg.sender.agentId;
    if (sender !== domainAgentId || msg.sender.level !== 'domain') {
      drop(msg.subject, 'not_the_orchestrator', sender);
      return;
    }
    const m = safeParse(msg, ['control'] as const);
    if (!m) return;
    if (m.to !== self) {
      drop(msg.subject, 'wrong_recipient', sender);
      return;
    }
    const previous = controlDone.get(m.id);
    if (previous) {
      await publish(own('status'), { ...previous, at: clock.now() });
      return;
    }
    let ok = true;
    let error: string | undefined;
    try {
      if (!loop) throw new Error('no loop attached');
      const by = sender;
      switch (m.command) {
        case 'activate':
          await loop.activate(m.reason, by);
          break;
        case 'deactivate':
          await loop.deactivate(m.reason, by);
          break;
        case 'terminate':
          await loop.terminate(m.reason, by);
          break;
        case 'reconfigure':
          await loop.reconfigure(monitoringPatch(m.params ?? {}), m.reason, by);
          break;
        case 'update':
          await loop.update(
            async () => {
              if (m.params?.monitoring && typeof m.params.monitoring === 'object') {
                await loop!.reconfigure(monitoringPatch(m.params.monitoring as Record<string, unknown>), m.reason, by);
              }
              await init.onControl?.(m);
            },
            m.reason,
            by,
          );
          break;
      }
      if (m.command !== 'update') await init.onControl?.(m);
    } catch (e) {
      ok = false;
      error = e instanceof Error ? e.message : String(e);
    }
    counters.controlHandled++;
    const ack: ControlAckMessage = { v: PROTOCOL_VERSION, kind: 'control_ack', commandId: m.id, from: self, to: sender, ok, state: loop?.state ?? 'instantiated', at: clock.now(), ...(error ? { error } : {}) };
    controlDone.set(m.id, ack);
    record('control', { id: m.id, command: m.command, ok, error });
    notify({ type: 'control', message: m, ack });
    await publish(own('status'), ack);
  };

  const onLoopNotice = (n: LoopNotice): void => {
    if (n.type === 'transition') {
      void announceStatus(false);
      if (n.transition.to === 'active' && heartbeatMs > 0 && !heartbeat) {
        heartbeat = clock.setInterval(() => void announceStatus(true), heartbeatMs);
      }
      if (n.transition.to === 'terminated') {
        clock.clearInterval(heartbeat);
        heartbeat = undefined;
      }
      return;
    }
    if (n.type !== 'event' || n.origin !== 'analytics') return;
    const ev = n.event;
    if (ev.type === 'incident' && ev.correlationId) {
      const cur = raisedIncidents.get(ev.correlationId) ?? { children: new Set<string>(), detectedAt: ev.evidence.window.start };
      for (const c of ev.children) cur.children.add(c);
      cur.detectedAt = Math.min(cur.detectedAt, ev.evidence.window.start);
      raisedIncidents.set(ev.correlationId, cur);
    }
    if (sharePeer && siblings.size > 0 && ev.type === 'anomaly') {
      const now = clock.now();
      const fresh = (ev.evidence.indicators ?? []).filter((i) => i.kind === 'source' && now - (sharedRecently.get(i.value) ?? -Infinity) > 60_000);
      for (const i of fresh) sharedRecently.set(i.value, now);
      if (fresh.length > 0) void sharePeerIndicators(fresh, ev.correlationId);
    }
  };

  return {
    attach(l) {
      if (loop) throw new Error(`coordinator of ${self} is already attached`);
      loop = l;
      l.on(onLoopNotice);
      const handler = (fn: (m: InboundMessage) => void | Promise<void>) => (m: InboundMessage) => {
        if (!closed) return fn(m);
      };
      if (level !== 'nf') {
        const lv = level as Exclude<AgentLevel, 'nf'>;
        subscriptions.push(bus.subscribe(childrenSubject(lv, placement, 'escalate'), handler(onEscalation)));
        subscriptions.push(bus.subscribe(childrenSubject(lv, placement, 'outcome'), handler(onOutcome)));
      }
      if (parent) {
        subscriptions.push(bus.subscribe(own('delegate'), handler(onFromParent)));
        if (siblings.size > 0 && parent.level !== 'nf') {
          subscriptions.push(bus.subscribe(childrenSubject(parent.level as Exclude<AgentLevel, 'nf'>, parent.placement, 'peer'), handler(onPeer)));
        }
      }
      if (level !== 'domain') subscriptions.push(bus.subscribe(own('control'), handler(onControl)));
      // In-flight entries left by a previous run (LevelDB) are picked up again, never forgotten.
      void knowledge.listInFlight<{ type: string; message: EscalationMessage | DelegationMessage }>().then((entries) => {
        for (const { id, value } of entries) {
          if (pending.has(id)) continue;
          record('in_flight_after_restart', { id, type: value.type });
          if (value.type === 'escalation' && parent) {
            const m = value.message as EscalationMessage;
            const entry: PendingEscalation = {
              type: 'escalation',
              message: m,
              attempts: 1,
              resolve: () => {},
              request: { id: `${id}-resumed`, type: 'escalate', target: self, params: { kind: m.escalationKind }, requestedBy: self, at: clock.now() },
            };
            pending.set(id, entry);
            sendEscalation(entry);
          } else if (value.type === 'delegation' && directory.has((value.message as DelegationMessage).to)) {
            const m = value.message as DelegationMessage;
            const entry: PendingDelegation = {
              type: 'delegation',
              message: m,
              attempts: 1,
              accepted: false,
              resolve: () => {},
              request: { id: `${id}-resumed`, type: 'delegate', target: m.to, params: { action: m.action }, requestedBy: self, at: clock.now() },
            };
            pending.set(id, entry);
            sendDelegation(entry);
          } else {
            void knowledge.deleteInFlight(id);
          }
        }
      });
    },
    escalate,
    delegate,
    sharePeer: sharePeerIndicators,
    childOf,
    announceStatus,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats() {
      return { ...counters, dropped: { ...dropped }, inFlight: pending.size };
    },
    async close() {
      if (closed) return;
      closed = true;
      clock.clearInterval(heartbeat);
      for (const s of subscriptions) s.unsubscribe();
      for (const entry of pending.values()) {
        if (entry.type === 'escalation') clock.clearTimeout(entry.timer);
        else {
          clock.clearTimeout(entry.ackTimer);
          clock.clearTimeout(entry.deadlineTimer);
        }
        entry.resolve(outcome(entry.request, 'failed', `${self} stopped before an answer; kept in knowledge for the next start`));
      }
      pending.clear();
    },
  };
}

/** Maps action / command params (mode or granularity, samplingPeriodMs, metrics) to a monitoring patch. */
export function monitoringPatch(params: Record<string, unknown>): Partial<{ samplingPeriodMs: number; granularity: 'aggregate' | 'per_flow'; metrics: string[] }> {
  const patch: Partial<{ samplingPeriodMs: number; granularity: 'aggregate' | 'per_flow'; metrics: string[] }> = {};
  const mode = params.granularity ?? params.mode;
  if (mode !== undefined) patch.granularity = mode as 'aggregate' | 'per_flow';
  if (params.samplingPeriodMs !== undefined) patch.samplingPeriodMs = Number(params.samplingPeriodMs);
  if (params.metrics !== undefined) patch.metrics = params.metrics as string[];
  return patch;
}
