import type { Principal } from './types.js';

/**
 * The message fabric every part talks over. Two implementations (packages/bus) pass one compliance
 * suite: NatsBus over a real nats-server and LocalBus in-process. Both sign every outgoing message
 * and deliver to handlers only messages that pass every check of DESIGN.md §3.
 */
export interface InboundMessage {
  subject: string;
  /** The exact payload bytes that were signed. */
  data: Uint8Array;
  /** Verified sender, from its credential. */
  sender: Principal;
  /** Sender's timestamp (clock ms), checked against the allowed skew. */
  timestamp: number;
  /** Sender's sequence number, checked against the replay window. */
  seq: number;
  /** Where to answer a request, if this is one. */
  reply?: string;
  /** Parses `data` as UTF-8 JSON. Throws BUS_ERR_DECODE on bad JSON. */
  json<T = unknown>(): T;
}

export type MessageHandler = (msg: InboundMessage) => void | Promise<void>;

export interface Subscription {
  readonly pattern: string;
  readonly closed: boolean;
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
}

export interface PublishOptions {
  reply?: string;
  signal?: AbortSignal;
}

export interface RequestOptions {
  /** Default 5000 ms (bus clock). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Why a message was dropped before any handler saw it. */
export const REJECT_REASONS = [
  'malformed', // envelope headers missing or undecodable
  'bad_signature', // signature does not verify over (tag, subject, payload)
  'unknown_root', // credential issued by a root we do not trust
  'bad_credential', // credential's own signature or fields invalid
  'expired', // credential past expiresAt
  'not_yet_valid', // credential before notBefore
  'revoked', // credential on a revocation list
  'out_of_scope', // subject outside the credential's publish scopes
  'stale', // timestamp older than the allowed skew
  'future', // timestamp further ahead than the allowed skew
  'replayed', // (sender, seq) already seen or below the replay window
  'chunk_integrity', // reassembled payload does not match its digest / chunks missing
  'handler_error', // a handler threw (counted, message already delivered)
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type BusStatus =
  | { type: 'connected'; server?: string }
  | { type: 'disconnected'; server?: string }
  | { type: 'reconnecting' }
  | { type: 'reconnected'; server?: string }
  | { type: 'error'; error: Error }
  | { type: 'closed'; error?: Error };

export interface BusStats {
  published: number;
  delivered: number;
  rejected: Record<RejectReason, number>;
  /** Messages buffered while disconnected, or dropped because that buffer was full. */
  buffered: number;
  droppedWhileDisconnected: number;
}

export interface Bus {
  /** The principal this bus signs as. */
  readonly self: Principal;
  publish(subject: string, data: Uint8Array, options?: PublishOptions): Promise<void>;
  /** JSON convenience: `publish(subject, utf8(JSON.stringify(value)))`. */
  publishJson(subject: string, value: unknown, options?: PublishOptions): Promise<void>;
  subscribe(pattern: string, handler: MessageHandler, options?: SubscribeOptions): Subscription;
  request(subject: string, data: Uint8Array, options?: RequestOptions): Promise<InboundMessage>;
  requestJson<T = unknown>(subject: string, value: unknown, options?: RequestOptions): Promise<T>;
  /** Answers a request (publishes to `msg.reply`, signed). */
  respond(msg: InboundMessage, data: Uint8Array): Promise<void>;
  respondJson(msg: InboundMessage, value: unknown): Promise<void>;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  /** Stops receiving, delivers what is in flight, flushes, closes. Idempotent. */
  drain(): Promise<void>;
  /** Closes now. Idempotent. */
  close(): Promise<void>;
  onStatus(listener: (status: BusStatus) => void): () => void;
  /** Called for every rejected message (after counting), e.g. to feed the trust manager. */
  onReject(listener: (reason: RejectReason, info: { subject: string; sender?: string }) => void): () => void;
  stats(): BusStats;
}

export function emptyRejectCounts(): Record<RejectReason, number> {
  return Object.fromEntries(
    [
      'malformed',
      'bad_signature',
      'unknown_root',
      'bad_credential',
      'expired',
      'not_yet_valid',
      'revoked',
      'out_of_scope',
      'stale',
      'future',
      'replayed',
      'chunk_integrity',
      'handler_error',
    ].map((r) => [r, 0]),
  ) as Record<RejectReason, number>;
}
