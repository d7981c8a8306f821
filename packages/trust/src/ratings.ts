import {
  AGENT_ID_PATTERN,
  type Bus,
  type Clock,
  type Counter,
  type InboundMessage,
  type Logger,
  systemSubject,
} from '@sliceguard/core';
import { rejectionEvidence, validMessagesEvidence } from './evidence.js';
import type { TrustManager } from './manager.js';
import type { TrustDefaults } from './options.js';
import type { PeerRating, RatingsMessage } from './types.js';

/** Largest number of entries one ratings message may carry. */
export const MAX_RATINGS_PER_MESSAGE = 256;

/** The subject agents publish their ratings on: `sg.<domain>._sys.trust.ratings`. */
export function ratingsSubject(domain: string): string {
  return systemSubject(domain, 'trust', 'ratings');
}

export interface AttachOptions {
  /** Domain whose ratings subject to subscribe to. */
  domain: string;
  /** Feed `bus.onReject` into message_validity evidence (default true). */
  rejections?: boolean;
  /**
   * Also count verified messages on `pattern` (e.g. `sg.<domain>.>`) and record one positive
   * message_validity observation per sender per `intervalMs` with traffic. Off by default.
   */
  validMessages?: { pattern: string; intervalMs: number };
}

interface AttachInternals {
  clock: Clock;
  logger: Logger;
  defaults: Readonly<TrustDefaults>;
  metrics?: { rejections: Counter };
}

/** Parses a ratings payload; returns the problem instead of throwing so the caller can count it. */
export function parseRatingsMessage(value: unknown): { ratings: PeerRating[] } | { problem: string } {
  if (typeof value !== 'object' || value === null) return { problem: 'payload is not a JSON object' };
  const msg = value as Partial<RatingsMessage>;
  if (msg.v !== 1) return { problem: `unsupported ratings message version ${JSON.stringify(msg.v)} (expected 1)` };
  if (!Array.isArray(msg.ratings)) return { problem: '`ratings` must be an array' };
  if (msg.ratings.length === 0) return { problem: '`ratings` is empty' };
  if (msg.ratings.length > MAX_RATINGS_PER_MESSAGE) return { problem: `more than ${MAX_RATINGS_PER_MESSAGE} ratings in one message` };
  return { ratings: msg.ratings as PeerRating[] };
}

/**
 * Subscribes the manager to signed peer ratings and to the bus's rejections. The rater is always
 * `msg.sender.agentId` — the principal from the verified credential — never a field of the payload.
 */
export function attachTrustToBus(trust: TrustManager, bus: Bus, options: AttachOptions & AttachInternals): () => void {
  const { clock, logger, defaults } = options;
  const cleanups: (() => void)[] = [];

  const sub = bus.subscribe(ratingsSubject(options.domain), (msg: InboundMessage) => {
    const rater = msg.sender.agentId;
    let body: unknown;
    try {
      body = msg.json();
    } catch {
      body = undefined;
    }
    const parsed = parseRatingsMessage(body);
    if ('problem' in parsed) {
      logger.warn({ rater, problem: parsed.problem }, 'trust: malformed ratings message');
      trust.record({ subject: rater, attribute: 'message_validity', positive: 0, negative: 0.5, source: 'self', at: clock.now(), reason: `malformed ratings message: ${parsed.problem}` });
      return;
    }
    // the sender's timestamp was checked against the allowed skew by the bus
    const result = trust.rate(rater, parsed.ratings, Math.min(msg.timestamp, clock.now()));
    if (result.rejected.length > 0) logger.debug({ rater, rejected: result.rejected }, 'trust: rating entries dropped');
  });
  cleanups.push(() => sub.unsubscribe());

  if (options.rejections !== false) {
    const buckets = new Map<string, { bucket: number; count: number }>();
    cleanups.push(
      bus.onReject((reason, info) => {
        const sender = info.sender;
        if (!sender || !AGENT_ID_PATTERN.test(sender)) {
          options.metrics?.rejections.inc({ reason, counted: 'no_sender' });
          return;
        }
        const now = clock.now();
        // A revoked credential is one fact: once revoked, every message signed with it is rejected
        // for that same reason — the thief's and the holder's own heartbeats alike — so it counts once
        // per sender (one bucket for good), not once a minute until the holder sinks into quarantine.
        const bucket = reason === 'revoked' ? Number.NEGATIVE_INFINITY : Math.floor(now / defaults.rejectionBucketMs);
        const key = `${sender}|${reason}`;
        const b = buckets.get(key);
        const entry = b && b.bucket === bucket ? b : { bucket, count: 0 };
        if (entry.count >= defaults.rejectionCapPerBucket) {
          options.metrics?.rejections.inc({ reason, counted: 'capped' });
          return;
        }
        entry.count++;
        buckets.set(key, entry);
        if (buckets.size > 10_000) for (const [k, v] of buckets) if (v.bucket < bucket && Number.isFinite(v.bucket)) buckets.delete(k);
        const ev = rejectionEvidence(sender, reason, info.subject, now, defaults.rejectionWeights);
        options.metrics?.rejections.inc({ reason, counted: ev ? 'yes' : 'zero_weight' });
        if (ev) trust.record(ev);
      }),
    );
  }

  if (options.validMessages) {
    const counts = new Map<string, number>();
    const s = bus.subscribe(options.validMessages.pattern, (msg) => {
      counts.set(msg.sender.agentId, (counts.get(msg.sender.agentId) ?? 0) + 1);
    });
    const t = clock.setInterval(() => {
      const now = clock.now();
      for (const [sender, n] of counts) {
        const ev = validMessagesEvidence(sender, n, now);
        if (ev && AGENT_ID_PATTERN.test(sender)) trust.record(ev);
      }
      counts.clear();
    }, options.validMessages.intervalMs);
    cleanups.push(() => {
      s.unsubscribe();
      clock.clearInterval(t);
    });
  }

  return () => {
    for (const c of cleanups.splice(0)) c();
  };
}

export interface RatingReporterOptions {
  bus: Bus;
  domain: string;
  clock: Clock;
  /** How often accumulated observations are published. Default 30 s. */
  intervalMs?: number;
  logger?: Logger;
}

export interface RatingReporter {
  /** Notes one interaction with a peer: good (true / 1) or bad (false / 0), or a fraction. */
  observe(peer: string, outcome: boolean | number): void;
  /** Publishes what has accumulated now. */
  publish(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * For agents: accumulates what this agent observed of its peers (delegations answered, indicators
 * that proved right) and publishes it as a signed ratings message every `intervalMs`.
 */
export function createRatingReporter(options: RatingReporterOptions): RatingReporter {
  const acc = new Map<string, { positive: number; negative: number }>();
  let timer: ReturnType<Clock['setInterval']> | undefined;
  const self = options.bus.self.agentId;
  const reporter: RatingReporter = {
    observe(peer, outcome) {
      if (peer === self || !AGENT_ID_PATTERN.test(peer)) return;
      const good = typeof outcome === 'boolean' ? (outcome ? 1 : 0) : Math.min(1, Math.max(0, outcome));
      const a = acc.get(peer) ?? { positive: 0, negative: 0 };
      a.positive += good;
      a.negative += 1 - good;
      acc.set(peer, a);
    },
    async publish() {
      if (acc.size === 0) return;
      const ratings: PeerRating[] = [];
      for (const [subject, a] of acc) {
        // one message carries at most 10 observations per peer (the receiver's per-entry cap)
        const k = Math.min(1, 10 / Math.max(a.positive, a.negative, 1e-9));
        ratings.push({ subject, positive: a.positive * k, negative: a.negative * k });
      }
      acc.clear();
      for (let i = 0; i < ratings.length; i += MAX_RATINGS_PER_MESSAGE) {
        const body: RatingsMessage = { v: 1, ratings: ratings.slice(i, i + MAX_RATINGS_PER_MESSAGE) };
        await options.bus.publishJson(ratingsSubject(options.domain), body);
      }
    },
    start() {
      if (timer) return;
      timer = options.clock.setInterval(() => {
        reporter.publish().catch((error: unknown) => options.logger?.warn({ err: error }, 'trust: publishing ratings failed'));
      }, options.intervalMs ?? 30_000);
    },
    async stop() {
      if (timer) options.clock.clearInterval(timer);
      timer = undefined;
      await reporter.publish();
    },
  };
  return reporter;
}
