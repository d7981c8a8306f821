import type { FlatWeights, InboundMessage, WeightTensorLayout } from '@sliceguard/core';
import { agentIdOf, federationSubject } from '@sliceguard/core';
import { WeightsDecodeError } from './errors.js';
import { decodeWeightsMessage, encodeWeightsMessage } from './weights.js';

/**
 * The round protocol on the domain's bus (all messages signed by the bus; subjects from core's
 * `federationSubject(domain, model, topic)`):
 *
 *   join      client → coordinator   JSON  "I can train model M" (sent at start and as a heartbeat)
 *   announce  coordinator → clients  bin   round, base version + layout, selected client ids, deadline, epochs (no weights)
 *   update    client → coordinator   bin   round, base version, samples, loss + trained weights
 *   global    coordinator → clients  bin   new version + aggregated weights
 *   round     coordinator → anyone   JSON  the round's report (accepted, rejected with reasons, dropped)
 *
 * Weights travel as `encodeWeightsMessage` payloads (float32, not JSON numbers); the bus chunks
 * them when they exceed the broker's max payload.
 */
export const FL_TOPICS = ['join', 'announce', 'update', 'global', 'round'] as const;
export type FlTopic = (typeof FL_TOPICS)[number];

export function flSubject(domain: string, model: string, topic: FlTopic): string {
  return federationSubject(domain, model, topic);
}

/** Agent id of a domain's federation coordinator (`<domain>:fl`). */
export function coordinatorIdOf(domain: string): string {
  return agentIdOf(domain, 'fl');
}

export interface JoinMessage {
  type: 'join';
  model: string;
  /** Rows of recent normal data the client can train on (informative). */
  samples?: number;
  /** Global model version the client has installed; a client behind gets the head re-broadcast. */
  installedVersion?: number;
}

export interface AnnounceHeader {
  type: 'announce';
  model: string;
  round: number;
  version: number;
  layout: WeightTensorLayout[];
  selected: string[];
  /** Clock ms after which updates are late. */
  deadline: number;
  epochs: number;
  batchSize?: number;
}

export interface UpdateHeader {
  type: 'update';
  model: string;
  round: number;
  baseVersion: number;
  samples: number;
  loss: number;
  layout: WeightTensorLayout[];
}

export interface GlobalHeader {
  type: 'global';
  model: string;
  version: number;
  round: number;
  layout: WeightTensorLayout[];
  /** Clients whose updates made this version, and their total samples. */
  contributors: number;
  samples: number;
  createdAt: number;
  /** Aggregator name, for the record. */
  aggregator: string;
}

export function encodeAnnounce(header: Omit<AnnounceHeader, 'type' | 'layout'>, base: FlatWeights): Uint8Array {
  return encodeWeightsMessage({ type: 'announce', ...header, layout: base.layout }, base.values);
}

export function encodeUpdate(header: Omit<UpdateHeader, 'type' | 'layout'>, weights: FlatWeights): Uint8Array {
  return encodeWeightsMessage({ type: 'update', ...header, layout: weights.layout }, weights.values);
}

export function encodeGlobal(header: Omit<GlobalHeader, 'type' | 'layout'>, weights: FlatWeights): Uint8Array {
  return encodeWeightsMessage({ type: 'global', ...header, layout: weights.layout }, weights.values);
}

type Decoded<H> = { header: H; weights: FlatWeights };

function decodeTyped<H extends { type: string; layout: WeightTensorLayout[] }>(
  data: Uint8Array,
  type: H['type'],
  fields: Record<string, 'number' | 'string' | 'array'>,
): Decoded<H> {
  const { header, values } = decodeWeightsMessage<H>(data);
  if (header.type !== type) throw new WeightsDecodeError(`expected a ${type} message, got "${String(header.type)}"`, { field: 'type' });
  for (const [field, kind] of Object.entries(fields)) {
    const v = (header as unknown as Record<string, unknown>)[field];
    const ok = kind === 'array' ? Array.isArray(v) : kind === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === 'string';
    if (!ok) throw new WeightsDecodeError(`${type} message: field "${field}" must be a ${kind}`, { field });
  }
  if (!Array.isArray(header.layout) || !header.layout.every(isTensorLayout)) {
    throw new WeightsDecodeError(`${type} message: "layout" is not a list of {name, shape, offset, length}`, { field: 'layout' });
  }
  return { header, weights: { layout: header.layout, values } };
}

function isTensorLayout(t: unknown): t is WeightTensorLayout {
  if (typeof t !== 'object' || t === null) return false;
  const x = t as Record<string, unknown>;
  return (
    typeof x.name === 'string' &&
    Array.isArray(x.shape) &&
    x.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
    Number.isInteger(x.offset) &&
    Number.isInteger(x.length)
  );
}

export function decodeAnnounce(data: Uint8Array): Decoded<AnnounceHeader> {
  return decodeTyped<AnnounceHeader>(data, 'announce', {
    model: 'string',
    round: 'number',
    version: 'number',
    selected: 'array',
    deadline: 'number',
    epochs: 'number',
  });
}

export function decodeUpdate(data: Uint8Array): Decoded<UpdateHeader> {
  return decodeTyped<UpdateHeader>(data, 'update', {
    model: 'string',
    round: 'number',
    baseVersion: 'number',
    samples: 'number',
    loss: 'number',
  });
}

export function decodeGlobal(data: Uint8Array): Decoded<GlobalHeader> {
  return decodeTyped<GlobalHeader>(data, 'global', { model: 'string', version: 'number', round: 'number' });
}

/**
 * Is this message from the domain's coordinator? Clients only take announcements and global
 * models from a principal the domain root issued a coordinator credential to (and, when given, with
 * the expected agent id). The bus has already verified the signature and credential chain.
 */
export function isFromCoordinator(msg: InboundMessage, domain: string, coordinatorId?: string): boolean {
  const s = msg.sender;
  return s.level === 'coordinator' && s.domain === domain && (coordinatorId === undefined || s.agentId === coordinatorId);
}
