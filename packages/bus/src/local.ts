import type { Logger } from '@sliceguard/core';
import { silentLogger } from '@sliceguard/core';
import type { Envelope } from './envelope.js';
import type { SignedBusOptions } from './options.js';
import { SignedBus, type TransportSubscription } from './signed-bus.js';
import { SubjectIndex } from './subject-index.js';
import { type VerifierCaches, createVerifierCaches } from './verifier.js';

export interface LocalNetworkOptions {
  /** Largest message (headers + payload), as a nats-server's max_payload. Default 1 MiB. */
  maxPayload?: number;
  logger?: Logger;
  /** Entries in the shared credential/verifier caches. Default 20,000. */
  cacheEntries?: number;
}

interface LocalSub {
  queue?: string;
  deliver: (env: Envelope) => void;
}

export interface LocalNetworkStats {
  buses: number;
  subscriptions: number;
  routed: number;
  deliveries: number;
  /** Messages routed to nobody. */
  unrouted: number;
}

/**
 * An in-process broker shared by many LocalBus instances: NATS subject, wildcard and queue-group
 * semantics over a subject trie, asynchronous delivery (a microtask queue, so a publisher is never
 * re-entered synchronously and a SimulatedClock's `advance` lets deliveries complete).
 */
export class LocalNetwork {
  readonly maxPayload: number;
  /** Shared by every bus on this network: decoded credentials and per-envelope signature results. */
  readonly caches: VerifierCaches;
  private readonly index = new SubjectIndex<LocalSub>();
  private readonly queueCursor = new Map<string, number>();
  private queue: Array<[LocalSub, Envelope]> = [];
  private head = 0;
  private scheduled = false;
  private readonly logger: Logger;
  private counters = { routed: 0, deliveries: 0, unrouted: 0 };
  /** Number of buses attached (informational). */
  buses = 0;

  constructor(options: LocalNetworkOptions = {}) {
    this.maxPayload = options.maxPayload ?? 1024 * 1024;
    this.caches = createVerifierCaches(options.cacheEntries);
    this.caches.signatures = new WeakMap();
    this.logger = (options.logger ?? silentLogger()).child({ module: 'local-network' });
  }

  subscribe(pattern: string, queue: string | undefined, deliver: (env: Envelope) => void): TransportSubscription {
    const sub: LocalSub = { ...(queue !== undefined ? { queue } : {}), deliver };
    this.index.add(pattern, sub);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.index.remove(pattern, sub);
      },
    };
  }

  /** Routes one envelope; returns how many subscriptions it was queued for. Also the attack-injection point in tests. */
  route(env: Envelope): number {
    const matches = this.index.match(env.subject);
    this.counters.routed++;
    if (matches.length === 0) {
      this.counters.unrouted++;
      return 0;
    }
    let groups: Map<string, LocalSub[]> | undefined;
    let n = 0;
    for (const sub of matches) {
      if (sub.queue === undefined) {
        this.queue.push([sub, env]);
        n++;
      } else {
        if (!groups) groups = new Map();
        const g = groups.get(sub.queue);
        if (g) g.push(sub);
        else groups.set(sub.queue, [sub]);
      }
    }
    if (groups) {
      for (const [name, members] of groups) {
        // round-robin within the group (NATS picks at random; round-robin keeps simulations reproducible)
        const cursor = this.queueCursor.get(name) ?? 0;
        this.queueCursor.set(name, cursor + 1);
        this.queue.push([members[cursor % members.length], env]);
        n++;
      }
    }
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drainQueue());
    }
    return n;
  }

  private drainQueue(): void {
    this.scheduled = false;
    while (this.head < this.queue.length) {
      const [sub, env] = this.queue[this.head++];
      this.counters.deliveries++;
      try {
        sub.deliver(env);
      } catch (error) {
        this.logger.error({ err: error, subject: env.subject }, 'local delivery failed');
      }
    }
    this.queue = [];
    this.head = 0;
  }

  /** Resolves once everything queued so far has been delivered. */
  async settled(): Promise<void> {
    while (this.head < this.queue.length || this.scheduled) await new Promise<void>((r) => setImmediate(r));
  }

  stats(): LocalNetworkStats {
    return { buses: this.buses, subscriptions: this.index.size, ...this.counters };
  }
}

export function createLocalNetwork(options: LocalNetworkOptions = {}): LocalNetwork {
  return new LocalNetwork(options);
}

export interface LocalBusOptions extends SignedBusOptions {
  network: LocalNetwork;
}

/** The in-process Bus: same envelope, same verifier, same semantics as NatsBus. */
export class LocalBus extends SignedBus {
  private readonly network: LocalNetwork;
  private readonly transportSubs = new Set<TransportSubscription>();

  constructor(options: LocalBusOptions) {
    super(options, options.network.caches);
    this.network = options.network;
    this.network.buses++;
  }

  protected transmit(env: Envelope): void {
    const n = this.network.route(env);
    if (n === 0 && env.reply !== undefined && this.isOwnInbox(env.reply)) {
      const reply = env.reply;
      queueMicrotask(() => this.noResponders(reply));
    }
  }

  protected openSubscription(pattern: string, queue: string | undefined, onEnvelope: (env: Envelope) => void): TransportSubscription {
    const t = this.network.subscribe(pattern, queue, onEnvelope);
    this.transportSubs.add(t);
    return {
      close: () => {
        t.close();
        this.transportSubs.delete(t);
      },
    };
  }

  protected maxPayload(): number {
    return this.network.maxPayload;
  }

  protected async transportFlush(): Promise<void> {
    await new Promise<void>((r) => queueMicrotask(r));
  }

  protected async transportDrain(): Promise<void> {
    // let queued deliveries for this bus complete before unsubscribing
    await new Promise<void>((r) => queueMicrotask(r));
    this.detach();
  }

  protected async transportClose(): Promise<void> {
    this.detach();
  }

  private detach(): void {
    for (const t of [...this.transportSubs]) t.close();
    this.transportSubs.clear();
    if (this.network.buses > 0) this.network.buses--;
  }
}

/** The factory other packages use: `localBus({ network, identity, trustStore, clock?, logger?, metrics? })`. */
export function localBus(options: LocalBusOptions): LocalBus {
  return new LocalBus(options);
}
