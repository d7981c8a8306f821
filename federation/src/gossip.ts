import type { Clock, FlatWeights, Logger, TrustSink } from '@sliceguard/core';
import { fromHex, ID_PATTERN, silentLogger, systemClock, toHex } from '@sliceguard/core';
import type { AgentIdentity, Credential, TrustStore } from '@sliceguard/identity';
import { parseCredential, sign, verify } from '@sliceguard/identity';
import { GossipError, InvalidFederationOptionsError, WeightsDecodeError } from './errors.js';
import { allFinite, decodeWeightsMessage, encodeWeightsMessage } from './weights.js';

/**
 * Cross-domain model exchange (DESIGN.md §2, §4): domain coordinators publish their aggregated models
 * to each other over libp2p gossipsub (tcp + noise + yamux). The libp2p peer id is derived from the
 * coordinator's own Ed25519 key, so the transport identity and the credential are the same key.
 * Every message carries the sender's credential and an Ed25519 signature over the exact payload;
 * receivers check both against their trusted domain roots (identity's TrustStore), that the
 * gossipsub author is the credential's key, freshness, and that the version is newer than the last
 * seen from that domain. Only weights and counts travel — never data.
 */
export const DOMAIN_GOSSIP_TOPIC = 'sliceguard/fl/domain-models/1';
const SIGNING_TAG = new TextEncoder().encode('sliceguard/fl-domain-model/1\n');
const ENVELOPE_MAGIC = [0x53, 0x47, 0x58, 0x31]; // "SGX1"

export const GOSSIP_REJECT_REASONS = [
  'malformed',
  'credential', // credential does not chain to a trusted root, or is expired / revoked
  'not_coordinator', // credential is not a coordinator credential of the claimed domain
  'bad_signature',
  'peer_mismatch', // gossipsub author is not the credential's key
  'stale', // timestamp outside the allowed skew
  'replayed', // version not newer than the last one accepted from that domain and model
  'non_finite',
] as const;
export type GossipRejectReason = (typeof GOSSIP_REJECT_REASONS)[number];

export interface DomainModel {
  domain: string;
  model: string;
  version: number;
  /** Training samples behind this model (sum over the domain's contributors). */
  samples: number;
  weights: FlatWeights;
  /** Coordinator agent id that signed it. */
  from: string;
  at: number;
}

export interface DomainGossipOptions {
  domain: string;
  /** The coordinator's identity: its key pair is also the libp2p peer key. */
  identity: AgentIdentity;
  /** Trusted domain roots (this domain's and every partner domain's). */
  trustStore: TrustStore;
  /** Multiaddrs to listen on. Default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[];
  /** Partner coordinators to dial (multiaddrs including `/p2p/<peer id>`). */
  peers?: string[];
  clock?: Clock;
  logger?: Logger;
  /** Evidence about partner coordinators (message_validity) for the trust manager. */
  trustSink?: TrustSink;
  /** Accepted clock skew of messages. Default 300,000 ms. */
  maxSkewMs?: number;
  /** Largest message accepted. Default 64 MiB. */
  maxMessageBytes?: number;
}

export interface DomainGossipStats {
  published: number;
  accepted: number;
  rejected: Record<GossipRejectReason, number>;
}

export interface DomainGossip {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly peerId: string;
  multiaddrs(): string[];
  dial(multiaddr: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Partner coordinators currently subscribed to the topic. */
  partners(): string[];
  /** Signs and publishes a model; resolves to the number of peers it was sent to. */
  publishModel(model: { model: string; version: number; samples: number; weights: FlatWeights }): Promise<number>;
  onModel(listener: (model: DomainModel) => void): () => void;
  stats(): DomainGossipStats;
}

/** libp2p 3 calls Promise.withResolvers (Node ≥ 22); Node 20 lacks it. */
export function ensurePromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

interface Envelope {
  body: Uint8Array;
  signature: Uint8Array;
}

function encodeEnvelope(body: Uint8Array, signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length + signature.length);
  out.set(ENVELOPE_MAGIC, 0);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  out.set(signature, 8 + body.length);
  return out;
}

function decodeEnvelope(data: Uint8Array): Envelope {
  if (data.length < 8 + 64 || ENVELOPE_MAGIC.some((b, i) => data[i] !== b)) throw new WeightsDecodeError('not a domain model envelope');
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4, true);
  if (8 + len + 64 !== data.length) throw new WeightsDecodeError('domain model envelope length mismatch', { declared: len, bytes: data.length });
  return { body: data.subarray(8, 8 + len), signature: data.subarray(8 + len) };
}

function signingBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNING_TAG.length + body.length);
  out.set(SIGNING_TAG, 0);
  out.set(body, SIGNING_TAG.length);
  return out;
}

interface DomainModelHeader {
  type: 'domain-model';
  domain: string;
  model: string;
  version: number;
  samples: number;
  at: number;
  layout: FlatWeights['layout'];
  credential: Credential;
}

type Libp2pNode = {
  peerId: { toString(): string; equals(other: unknown): boolean };
  getMultiaddrs(): Array<{ toString(): string }>;
  dial(addr: unknown, options?: { signal?: AbortSignal }): Promise<unknown>;
  stop(): Promise<void>;
  services: { pubsub: PubSubLike };
};

type PubSubLike = {
  subscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<{ recipients: unknown[] }>;
  getSubscribers(topic: string): Array<{ toString(): string }>;
  addEventListener(type: 'message', listener: (event: CustomEvent<GossipMessage>) => void): void;
  removeEventListener(type: 'message', listener: (event: CustomEvent<GossipMessage>) => void): void;
};

type GossipMessage = { type: 'signed' | 'unsigned'; topic: string; data: Uint8Array; from?: { equals(other: unknown): boolean; toString(): string } };

export function createDomainGossip(options: DomainGossipOptions): DomainGossip {
  if (!ID_PATTERN.test(options.domain)) throw new InvalidFederationOptionsError(`gossip: domain "${options.domain}" is not a valid id`, { field: 'domain' });
  const cred = options.identity.credential;
  if (cred.claims.level !== 'coordinator' || cred.claims.domain !== options.domain) {
    throw new InvalidFederationOptionsError(
      `gossip: identity ${cred.claims.agentId} is a ${cred.claims.level} credential of ${cred.claims.domain}; a coordinator credential of ${options.domain} is required`,
      { field: 'identity' },
    );
  }
  const clock = options.clock ?? systemClock();
  const logger = (options.logger ?? silentLogger()).child({ module: 'fl-gossip', domain: options.domain });
  const maxSkewMs = options.maxSkewMs ?? 300_000;
  const maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
  const listeners = new Set<(m: DomainModel) => void>();
  const lastVersion = new Map<string, number>();
  const stats: DomainGossipStats = {
    published: 0,
    accepted: 0,
    rejected: Object.fromEntries(GOSSIP_REJECT_REASONS.map((r) => [r, 0])) as Record<GossipRejectReason, number>,
  };
  let node: Libp2pNode | undefined;
  let peerIdString = '';
  let peerIdFromRawKey: ((publicKeyHex: string) => { equals(other: unknown): boolean }) | undefined;
  let multiaddrOf: ((s: string) => unknown) | undefined;

  const rejectMessage = (reason: GossipRejectReason, detail: string, sender?: string): void => {
    stats.rejected[reason]++;
    logger.warn({ reason, detail, sender }, 'cross-domain model rejected');
    if (sender && options.trustSink) {
      options.trustSink.record({ subject: sender, attribute: 'message_validity', positive: 0, negative: 1, source: cred.claims.agentId, at: clock.now(), reason: `gossip: ${reason}` });
    }
  };

  function handle(message: GossipMessage): void {
    if (message.topic !== DOMAIN_GOSSIP_TOPIC) return;
    let header: DomainModelHeader;
    let values: Float32Array;
    let envelope: Envelope;
    try {
      if (message.data.length > maxMessageBytes) throw new WeightsDecodeError(`message of ${message.data.length} bytes exceeds ${maxMessageBytes}`);
      envelope = decodeEnvelope(message.data);
      const decoded = decodeWeightsMessage<DomainModelHeader>(envelope.body);
      header = decoded.header;
      values = decoded.values;
      if (header.type !== 'domain-model' || typeof header.domain !== 'string' || typeof header.model !== 'string') throw new WeightsDecodeError('not a domain-model header');
      if (![header.version, header.samples, header.at].every((n) => typeof n === 'number' && Number.isFinite(n))) throw new WeightsDecodeError('version, samples and at must be numbers');
      header.credential = parseCredential(header.credential, 'credential');
    } catch (error) {
      rejectMessage('malformed', error instanceof Error ? error.message : String(error));
      return;
    }
    const c = header.credential;
    const sender = c.claims.agentId;
    if (c.claims.domain === options.domain) return; // our own or a sibling coordinator's: not a partner model
    const check = options.trustStore.verifyCredential(c, clock.now());
    if (!check.ok) {
      rejectMessage('credential', `${check.reason}: ${check.message}`, sender);
      return;
    }
    if (c.claims.level !== 'coordinator' || c.claims.domain !== header.domain) {
      rejectMessage('not_coordinator', `${sender} (${c.claims.level} of ${c.claims.domain}) cannot publish models of ${header.domain}`, sender);
      return;
    }
    let signed = false;
    try {
      signed = verify(fromHex(c.claims.publicKey), signingBytes(envelope.body), envelope.signature);
    } catch {
      signed = false;
    }
    if (!signed) {
      rejectMessage('bad_signature', 'signature does not verify with the credential key', sender);
      return;
    }
    if (message.type !== 'signed' || !message.from || !peerIdFromRawKey || !peerIdFromRawKey(c.claims.publicKey).equals(message.from)) {
      rejectMessage('peer_mismatch', `gossip author ${message.from?.toString() ?? '(none)'} is not the key of ${sender}`, sender);
      return;
    }
    if (Math.abs(clock.now() - header.at) > maxSkewMs) {
      rejectMessage('stale', `timestamp ${header.at} is outside ±${maxSkewMs} ms`, sender);
      return;
    }
    const key = `${header.domain}/${header.model}`;
    if (header.version <= (lastVersion.get(key) ?? 0)) {
      rejectMessage('replayed', `version ${header.version} of ${key} is not newer than ${lastVersion.get(key)}`, sender);
      return;
    }
    if (!allFinite(values)) {
      rejectMessage('non_finite', 'weights contain NaN or Infinity', sender);
      return;
    }
    lastVersion.set(key, header.version);
    stats.accepted++;
    const model: DomainModel = {
      domain: header.domain,
      model: header.model,
      version: header.version,
      samples: header.samples,
      weights: { layout: header.layout, values },
      from: sender,
      at: header.at,
    };
    for (const l of listeners) {
      try {
        l(model);
      } catch (error) {
        logger.warn({ err: error }, 'domain model listener failed');
      }
    }
  }

  const onMessage = (event: CustomEvent<GossipMessage>): void => handle(event.detail);

  return {
    get peerId() {
      return peerIdString;
    },
    async start() {
      if (node) return;
      ensurePromiseWithResolvers();
      try {
        const [{ createLibp2p }, { tcp }, { noise }, { yamux }, { gossipsub }, { identify }, keys, peerIds, ma] = await Promise.all([
          import('libp2p'),
          import('@libp2p/tcp'),
          import('@chainsafe/libp2p-noise'),
          import('@chainsafe/libp2p-yamux'),
          import('@libp2p/gossipsub'),
          import('@libp2p/identify'),
          import('@libp2p/crypto/keys'),
          import('@libp2p/peer-id'),
          import('@multiformats/multiaddr'),
        ]);
        peerIdFromRawKey = (hex) => peerIds.peerIdFromPublicKey(keys.publicKeyFromRaw(fromHex(hex)));
        multiaddrOf = (s) => ma.multiaddr(s);
        const privateKey = await keys.generateKeyPairFromSeed('Ed25519', options.identity.keyPair.secretKey);
        const created = await createLibp2p({
          privateKey,
          addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          services: {
            identify: identify(),
            pubsub: gossipsub({ emitSelf: false, allowPublishToZeroTopicPeers: true, maxInboundDataLength: maxMessageBytes, globalSignaturePolicy: 'StrictSign' }),
          },
        });
        node = created as unknown as Libp2pNode;
      } catch (error) {
        throw new GossipError('cannot start the libp2p node for cross-domain gossip', { listen: options.listen }, error);
      }
      peerIdString = node.peerId.toString();
      const expected = peerIdFromRawKey(toHex(options.identity.keyPair.publicKey));
      if (!expected.equals(node.peerId)) throw new GossipError('libp2p peer id does not match the coordinator key', { peerId: peerIdString });
      node.services.pubsub.addEventListener('message', onMessage);
      node.services.pubsub.subscribe(DOMAIN_GOSSIP_TOPIC);
      for (const p of options.peers ?? []) {
        try {
          await node.dial(multiaddrOf(p));
        } catch (error) {
          logger.warn({ err: error, peer: p }, 'could not dial a partner coordinator (gossip will reach it once it dials in)');
        }
      }
      logger.info({ peerId: peerIdString, addrs: node.getMultiaddrs().map(String) }, 'cross-domain gossip started');
    },
    async stop() {
      const n = node;
      node = undefined;
      if (!n) return;
      n.services.pubsub.removeEventListener('message', onMessage);
      await n.stop();
    },
    multiaddrs: () => node?.getMultiaddrs().map((a) => a.toString()) ?? [],
    async dial(addr, dialOptions) {
      if (!node || !multiaddrOf) throw new GossipError('gossip is not started');
      try {
        await node.dial(multiaddrOf(addr), dialOptions);
      } catch (error) {
        throw new GossipError(`cannot dial ${addr}`, { peer: addr }, error);
      }
    },
    partners: () => node?.services.pubsub.getSubscribers(DOMAIN_GOSSIP_TOPIC).map(String) ?? [],
    async publishModel(m) {
      if (!node) throw new GossipError('gossip is not started');
      if (!allFinite(m.weights.values)) throw new InvalidFederationOptionsError('refusing to publish a model with NaN or Infinity', { model: m.model });
      const body = encodeWeightsMessage(
        {
          type: 'domain-model',
          domain: options.domain,
          model: m.model,
          version: m.version,
          samples: m.samples,
          at: clock.now(),
          layout: m.weights.layout,
          credential: cred,
        } satisfies Omit<DomainModelHeader, 'count'>,
        m.weights.values,
      );
      const signature = sign(options.identity.keyPair.secretKey, signingBytes(body));
      const result = await node.services.pubsub.publish(DOMAIN_GOSSIP_TOPIC, encodeEnvelope(body, signature));
      stats.published++;
      return result.recipients.length;
    },
    onModel(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => structuredClone(stats),
  };
}
