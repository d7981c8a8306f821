import type { ActionOutcome, ActionType, Indicator, SecurityEvent } from '@sliceguard/core';
import { ACTION_TYPES } from '@sliceguard/core';
import type { LoopState } from '@sliceguard/mape';
import { LOOP_STATES } from '@sliceguard/mape';
import { MessageFormatError } from '../errors.js';

/**
 * Wire messages between loops (DESIGN.md §2), JSON over the signed bus. Who may send what is
 * decided from the verified sender (msg.sender), never from these payload fields; `from` / `to`
 * only have to agree with it.
 *
 *   child  → own `escalate`:  escalation
 *   parent → child `delegate`: delegation, escalation_ack (received | refused | resolved)
 *   child  → own `outcome`:   outcome (accepted | rejected | done), incident_outcome (to its parent)
 *   loop   → own `peer`:      indicators (siblings listen)
 *   domain → loop `control`:  control (activate | deactivate | update | terminate | reconfigure)
 *   loop   → own `status`:    status (transitions, heartbeats), control_ack
 */
export const PROTOCOL_VERSION = 1;

export interface EscalationMessage {
  v: 1;
  kind: 'escalation';
  id: string;
  correlationId: string;
  from: string;
  to: string;
  /** What the child calls the problem (e.g. signaling_surge); the parent correlates on it. */
  escalationKind: string;
  reason?: string;
  event: SecurityEvent;
  attempt: number;
  at: number;
}

export interface EscalationAckMessage {
  v: 1;
  kind: 'escalation_ack';
  escalationId: string;
  correlationId: string;
  from: string;
  to: string;
  /** received: the parent's loop took it; refused: it did not (detail says why); resolved: mitigated. */
  status: 'received' | 'refused' | 'resolved';
  success?: boolean;
  outcomes?: ActionOutcome[];
  detail?: string;
  at: number;
}

export interface DelegationMessage {
  v: 1;
  kind: 'delegation';
  id: string;
  correlationId: string;
  from: string;
  to: string;
  action: ActionType;
  target: string;
  params: Record<string, unknown>;
  deadline: number;
  severity: number;
  attempt: number;
  at: number;
}

export interface OutcomeMessage {
  v: 1;
  kind: 'outcome';
  delegationId: string;
  correlationId: string;
  from: string;
  to: string;
  status: 'accepted' | 'rejected' | 'done';
  /** done: every action succeeded. */
  success?: boolean;
  outcomes?: ActionOutcome[];
  detail?: string;
  at: number;
}

export interface IncidentOutcomeMessage {
  v: 1;
  kind: 'incident_outcome';
  correlationId: string;
  from: string;
  to: string;
  success: boolean;
  outcomes: ActionOutcome[];
  /** Earliest evidence time of the incident (for time-to-mitigate). */
  detectedAt?: number;
  detail?: string;
  at: number;
}

export interface PeerMessage {
  v: 1;
  kind: 'indicators';
  from: string;
  correlationId?: string;
  indicators: Indicator[];
  at: number;
}

export const CONTROL_COMMANDS = ['activate', 'deactivate', 'update', 'terminate', 'reconfigure'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlMessage {
  v: 1;
  kind: 'control';
  id: string;
  from: string;
  to: string;
  command: ControlCommand;
  reason: string;
  params?: Record<string, unknown>;
  at: number;
}

export interface StatusMessage {
  v: 1;
  kind: 'status';
  from: string;
  level: string;
  state: LoopState;
  heartbeat: boolean;
  at: number;
  summary?: Record<string, number>;
}

export interface ControlAckMessage {
  v: 1;
  kind: 'control_ack';
  commandId: string;
  from: string;
  to: string;
  ok: boolean;
  state: LoopState;
  error?: string;
  at: number;
}

export type CoordinationMessage =
  | EscalationMessage
  | EscalationAckMessage
  | DelegationMessage
  | OutcomeMessage
  | IncidentOutcomeMessage
  | PeerMessage
  | ControlMessage
  | StatusMessage
  | ControlAckMessage;

type Kind = CoordinationMessage['kind'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

const REQUIRED: Record<Kind, (m: Record<string, unknown>) => string | undefined> = {
  escalation: (m) =>
    !str(m.id) || !str(m.correlationId) || !str(m.escalationKind) || !isObj(m.event) || !str((m.event as { id?: unknown }).id) || !num(m.attempt)
      ? 'escalation needs id, correlationId, escalationKind, event{id,…} and attempt'
      : undefined,
  escalation_ack: (m) =>
    !str(m.escalationId) || !['received', 'refused', 'resolved'].includes(m.status as string) ? 'escalation_ack needs escalationId and status received|refused|resolved' : undefined,
  delegation: (m) =>
    !str(m.id) || !str(m.correlationId) || !(ACTION_TYPES as readonly unknown[]).includes(m.action) || !str(m.target) || !isObj(m.params) || !num(m.deadline) || !num(m.attempt)
      ? 'delegation needs id, correlationId, a known action, target, params{}, deadline and attempt'
      : undefined,
  outcome: (m) =>
    !str(m.delegationId) || !['accepted', 'rejected', 'done'].includes(m.status as string) ? 'outcome needs delegationId and status accepted|rejected|done' : undefined,
  incident_outcome: (m) => (!str(m.correlationId) || typeof m.success !== 'boolean' || !Array.isArray(m.outcomes) ? 'incident_outcome needs correlationId, success and outcomes[]' : undefined),
  indicators: (m) =>
    !Array.isArray(m.indicators) || m.indicators.some((i) => !isObj(i) || !str(i.kind) || !str(i.value)) ? 'indicators needs indicators[{kind,value}]' : undefined,
  control: (m) =>
    !str(m.id) || !(CONTROL_COMMANDS as readonly unknown[]).includes(m.command) || typeof m.reason !== 'string'
      ? `control needs id, reason and command (${CONTROL_COMMANDS.join('|')})`
      : undefined,
  status: (m) => (!(LOOP_STATES as readonly unknown[]).includes(m.state) || typeof m.heartbeat !== 'boolean' ? 'status needs state and heartbeat' : undefined),
  control_ack: (m) => (!str(m.commandId) || typeof m.ok !== 'boolean' ? 'control_ack needs commandId and ok' : undefined),
};

/** Checks the shape of a decoded message; throws MessageFormatError naming the problem. */
export function parseCoordinationMessage<K extends Kind>(value: unknown, expected: readonly K[], subject: string): Extract<CoordinationMessage, { kind: K }> {
  if (!isObj(value)) throw new MessageFormatError(`message on ${subject} is not a JSON object`, { subject });
  if (value.v !== PROTOCOL_VERSION) throw new MessageFormatError(`message on ${subject} has protocol version ${String(value.v)}, expected ${PROTOCOL_VERSION}`, { subject });
  const kind = value.kind as K;
  if (!expected.includes(kind)) throw new MessageFormatError(`message kind "${String(kind)}" is not expected on ${subject} (expected ${expected.join(', ')})`, { subject });
  if (!str(value.from) || !num(value.at)) throw new MessageFormatError(`${kind} on ${subject} needs from and at`, { subject });
  const problem = REQUIRED[kind](value);
  if (problem) throw new MessageFormatError(`${problem} (on ${subject})`, { subject, kind });
  return value as unknown as Extract<CoordinationMessage, { kind: K }>;
}
