import type { Clock, Logger, MetricsRegistry } from '@sliceguard/core';
import type { AgentIdentity, TrustStore } from '@sliceguard/identity';

/** Options shared by NatsBus and LocalBus; every field but identity and trustStore has a default. */
export interface SignedBusOptions {
  identity: AgentIdentity;
  trustStore: TrustStore;
  /** Default: the system clock. Timestamps, skew, request timeouts and chunk timeouts use it. */
  clock?: Clock;
  /** Default: silent. Rejections are logged at debug. */
  logger?: Logger;
  metrics?: MetricsRegistry;
  /** Allowed clock skew either way (ms). Default 30,000. */
  maxSkewMs?: number;
  /** Replay window width in sequence numbers per sender epoch. Default 4096. */
  replayWindow?: number;
  /** Default request timeout (ms). Default 5000. */
  requestTimeoutMs?: number;
  /** Reply-inbox prefix. Default `_INBOX` (subjects under it are allowed for any verified sender). */
  inboxPrefix?: string;
  /** A chunked message must complete within this many ms. Default 30,000. */
  chunkTimeoutMs?: number;
  /** Largest (reassembled) payload accepted or sent (bytes). Default 64 MiB. */
  maxMessageBytes?: number;
  /** Chunked messages being reassembled at once per subscription. Default 64. */
  maxPendingChunked?: number;
  /**
   * Batch signing: messages published in the same tick (up to `maxMessages`) share one signature
   * over the list of their digests. Default off (one signature per message).
   */
  batch?: { maxMessages?: number };
  /**
   * Verify Ed25519 signatures on this many worker threads instead of the bus's thread (default 0:
   * inline). Deliveries keep their order per subscription; every other check stays on the bus thread.
   */
  verifyWorkers?: number;
}

export const DEFAULT_MAX_SKEW_MS = 30_000;
export const DEFAULT_REPLAY_WINDOW = 4096;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
export const DEFAULT_INBOX_PREFIX = '_INBOX';
export const DEFAULT_CHUNK_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_CHUNKED = 64;
export const DEFAULT_BATCH_MAX_MESSAGES = 64;
