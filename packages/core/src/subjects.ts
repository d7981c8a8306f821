import { InvalidInputError } from './errors.js';
import type { AgentLevel, Placement } from './types.js';
import { ID_PATTERN } from './types.js';

/**
 * The subject scheme mirrors the topology so that wildcards, credential scopes and broker
 * permissions isolate slices from each other (docs/subjects.md):
 *
 *   sg.<domain>.<slice>.<subslice>.<nf>.<channel>   NF agent
 *   sg.<domain>.<slice>.<subslice>._.<channel>      sub-slice agent
 *   sg.<domain>.<slice>._._.<channel>               slice agent
 *   sg.<domain>._._._.<channel>                     domain agent
 *   sg.<domain>._fl.<model>.<announce|update|global|...>   federated learning
 *   sg.<domain>._sys.<topic>                        revocations, lifecycle, trust ratings
 *
 * Ids match ID_PATTERN (they start with a letter or digit), so `_`, `_fl`, `_sys` never collide.
 * A child publishes on its own subjects; its parent subscribes with wildcards; a parent delegates by
 * publishing on the child's `delegate` channel, which its wider scope allows.
 */
export const SUBJECT_ROOT = 'sg';
export const PLACEHOLDER = '_';

export const CHANNELS = [
  'telemetry', // periodic monitoring summaries
  'anomaly', // analytics events
  'escalate', // incident reports to the parent
  'delegate', // mitigation requests from a parent
  'outcome', // answers to delegations: accepted / rejected / done
  'peer', // indicators shared with same-level loops
  'control', // lifecycle and reconfiguration commands
  'status', // loop state announcements
] as const;
export type Channel = (typeof CHANNELS)[number];

function token(value: string | undefined, field: string): string {
  if (value === undefined) return PLACEHOLDER;
  if (!ID_PATTERN.test(value)) {
    throw new InvalidInputError(`${field} "${value}" cannot be used in a subject: use letters, digits, '-' or '_'`, {
      field,
      value,
    });
  }
  return value;
}

/** The subject prefix (without channel) of the loop at `level` placed at `placement`. */
export function loopPrefix(level: AgentLevel, placement: Placement): string {
  const d = token(placement.domain, 'domain');
  const parts: Record<AgentLevel, () => string[]> = {
    domain: () => [d, PLACEHOLDER, PLACEHOLDER, PLACEHOLDER],
    slice: () => [d, token(placement.slice, 'slice'), PLACEHOLDER, PLACEHOLDER],
    subslice: () => [d, token(placement.slice, 'slice'), token(placement.subslice, 'subslice'), PLACEHOLDER],
    nf: () => [d, token(placement.slice, 'slice'), token(placement.subslice, 'subslice'), token(placement.nf, 'nf')],
  };
  return [SUBJECT_ROOT, ...parts[level]()].join('.');
}

export function loopSubject(level: AgentLevel, placement: Placement, channel: Channel): string {
  return `${loopPrefix(level, placement)}.${channel}`;
}

/** Subjects on which the children of a loop publish `channel` (a wildcard pattern). */
export function childrenSubject(level: Exclude<AgentLevel, 'nf'>, placement: Placement, channel: Channel): string {
  const d = token(placement.domain, 'domain');
  const table: Record<Exclude<AgentLevel, 'nf'>, string[]> = {
    domain: [d, '*', PLACEHOLDER, PLACEHOLDER],
    slice: [d, token(placement.slice, 'slice'), '*', PLACEHOLDER],
    subslice: [d, token(placement.slice, 'slice'), token(placement.subslice, 'subslice'), '*'],
  };
  return [SUBJECT_ROOT, ...table[level], channel].join('.');
}

/** The publish scope a loop's credential grants: everything under its own prefix. */
export function loopScope(level: AgentLevel, placement: Placement): string {
  const prefix = loopPrefix(level, placement);
  // `sg.d._._._` → `sg.d.>` for the domain; a slice gets `sg.d.s.>`, etc.
  const trimmed = prefix.split('.').filter((t, i) => i < 2 || t !== PLACEHOLDER);
  return `${trimmed.join('.')}.>`;
}

export function federationSubject(domain: string, model: string, topic: string): string {
  return [SUBJECT_ROOT, token(domain, 'domain'), '_fl', token(model, 'model'), topic].join('.');
}

export function systemSubject(domain: string, ...topic: string[]): string {
  return [SUBJECT_ROOT, token(domain, 'domain'), '_sys', ...topic].join('.');
}

/**
 * NATS-style subject matching: `*` matches one token, `>` one or more trailing tokens.
 * Used for subscriptions on the LocalBus and for credential scopes.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    if (pt === '>') return s.length > i;
    if (i >= s.length) return false;
    if (pt !== '*' && pt !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Agent ids: `<domain>:<entity id>` for loops, `<domain>:tsm` for the domain agent, etc. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_:-]{0,127}$/;

export function agentIdOf(domain: string, entity: string): string {
  return `${domain}:${entity}`;
}
