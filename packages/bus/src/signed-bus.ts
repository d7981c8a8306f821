import { randomBytes } from 'node:crypto';
import {
  type Bus,
  type BusStats,
  type BusStatus,
  CHANNELS,
  type Clock,
  type Counter,
  type InboundMessage,
  type Logger,
  type MessageHandler,
  type Principal,
  type PublishOptions,
  type RejectReason,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
  type TimerHandle,
  decodeJson,
  emptyRejectCounts,
  encodeJson,
  SUBJECT_ROOT,
  silentLogger,
  systemClock,
} from '@sliceguard/core';
import { type SignFn, type TrustStore, createSigner, isValidSubjectPattern, principalOf, subjectInScopes } from '@sliceguard/identity';
import { type ChunkInfo, Reassembler, formatChunk, parseChunk, splitPayload } from './chunking.js';
import { type Envelope, type EnvelopeHeaders, PROTOCOL, type SignedFields, batchSigningInput, encodeCredentialHeader, merkleLeaf, merkleTree, signingInput } from './envelope.js';
import { BusError } from './errors.js';
import {
  DEFAULT_BATCH_MAX_MESSAGES,
  DEFAULT_CHUNK_TIMEOUT_MS,
  DEFAULT_INBOX_PREFIX,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_PENDING_CHUNKED,
  DEFAULT_MAX_SKEW_MS,
  DEFAULT_REPLAY_WINDOW,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type SignedBusOptions,
} from './options.js';
import { ReplayWindow } from './replay.js';
import { VerifyPool } from './verify-pool.js';
import { EnvelopeVerifier, type VerifiedEnvelope, type VerifierCaches, createVerifierCaches } from './verifier.js';

/** What a transport must provide; SignedBus does all signing, verification, chunking and requests. */
export interface TransportSubscription {
  close(): void;
}

interface ChunkMeta {
  verified: VerifiedEnvelope;
  reply?: string;
}

interface PendingVerification {
  env: Envelope;
  pre: VerifiedEnvelope;
  signatureOk?: boolean;
}

interface SubscriptionState {
  pattern: string;
  /** Messages waiting for a worker's signature verdict, in arrival order. */
  fifo: PendingVerification[];
  closed: boolean;
  replay: ReplayWindow;
  reassembler: Reassembler<ChunkMeta>;
  deliver: (msg: InboundMessage) => void;
  transport?: TransportSubscription;
}

interface PendingRequest {
  resolve: (msg: InboundMessage) => void;
  reject: (error: Error) => void;
  subject: string;
}

interface Outgoing {
  subject: string;
  reply?: string;
  data: Uint8Array;
  chunk?: string;
}

const SUBJECT_TOKEN = /^[^\s.*>]+$/;

function isLiteralSubject(subject: string): boolean {
  return typeof subject === 'string' && subject.length > 0 && subject.length <= 1024 && subject.split('.').every((t) => SUBJECT_TOKEN.test(t));
}

type BusMetrics = { published: Counter; delivered: Counter; rejected: Counter; messages: Counter };

const CHANNEL_CLASSES: ReadonlySet<string> = new Set(CHANNELS);

/**
 * A bounded label for a subject (docs/subjects.md): the loop channel (`escalate`, `delegate`, …),
 * `fl` or `sys` for the domain's federated-learning and system subjects, `inbox` for replies.
 */
export function subjectClass(subject: string): string {
  const tokens = subject.split('.');
  if (tokens[0] === '_INBOX') return 'inbox';
  if (tokens[0] !== SUBJECT_ROOT) return 'other';
  if (tokens[2] === '_fl') return 'fl';
  if (tokens[2] === '_sys') return 'sys';
  const channel = tokens[tokens.length - 1];
  return tokens.length === 6 && CHANNEL_CLASSES.has(channel) ? channel : 'other';
}

function createMetrics(options: SignedBusOptions, logger: Logger): BusMetrics | undefined {
  if (!options.metrics) return undefined;
  try {
    return {
      published: options.metrics.counter({ name: 'sliceguard_bus_published_total', help: 'Signed messages published' }),
      delivered: options.metrics.counter({ name: 'sliceguard_bus_delivered_total', help: 'Verified messages delivered to handlers' }),
      rejected: options.metrics.counter({ name: 'sliceguard_bus_rejected_total', help: 'Messages dropped before any handler, by reason', labelNames: ['reason'] }),
      messages: options.metrics.counter({
        name: 'sliceguard_bus_messages_total',
        help: 'Bus messages by direction (out: published, in: delivered to a handler) and subject class',
        labelNames: ['direction', 'subject_class'],
      }),
    };
  } catch (error) {
    logger.warn({ err: error }, 'bus metrics unavailable (already registered?)');
    return undefined;
  }
}

/**
 * The transport-independent half of both buses: signs every outgoing message, verifies every
 * incoming one with the shared EnvelopeVerifier, chunks and reassembles large payloads, multiplexes
 * request/reply over one inbox subscription, keeps stats and listeners.
 */
export abstract class SignedBus implements Bus {
  readonly self: Principal;
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  protected readonly trustStore: TrustStore;
  protected readonly inboxPrefix: string;
  protected state: 'open' | 'draining' | 'closed' = 'open';
  protected readonly statsData: BusStats = { published: 0, delivered: 0, rejected: emptyRejectCounts(), buffered: 0, droppedWhileDisconnected: 0 };

  private readonly signer: SignFn;
  private readonly credentialHeader: string;
  private readonly credentialId: string;
  private readonly publicKeyHex: string;
  private readonly scopes: readonly string[];
  private readonly epoch = randomBytes(8).toString('hex');
  private seq = 0;
  private msgIds = 0;
  private readonly verifier: EnvelopeVerifier;
  private readonly subs = new Set<SubscriptionState>();
  private readonly statusListeners = new Set<(s: BusStatus) => void>();
  private readonly rejectListeners = new Set<(reason: RejectReason, info: { subject: string; sender?: string }) => void>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly inboxBase: string;
  private inboxSub?: SubscriptionState;
  private requestCounter = 0;
  private readonly options: Required<Pick<SignedBusOptions, 'maxSkewMs' | 'replayWindow' | 'requestTimeoutMs' | 'chunkTimeoutMs' | 'maxMessageBytes' | 'maxPendingChunked'>>;
  private readonly batchMax: number;
  private batchQueue: Array<{ out: Outgoing; resolve: () => void; reject: (e: Error) => void }> = [];
  private batchScheduled = false;
  private readonly metrics?: BusMetrics;
  private closing?: Promise<void>;
  private shutDown = false;
  private readonly pool?: VerifyPool;

  protected constructor(options: SignedBusOptions, caches?: VerifierCaches) {
    const cred = options.identity.credential;
    this.self = principalOf(cred);
    this.clock = options.clock ?? systemClock();
    this.logger = (options.logger ?? silentLogger()).child({ module: 'bus', agent: this.self.agentId });
    this.trustStore = options.trustStore;
    this.inboxPrefix = options.inboxPrefix ?? DEFAULT_INBOX_PREFIX;
    this.options = {
      maxSkewMs: options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS,
      replayWindow: options.replayWindow ?? DEFAULT_REPLAY_WINDOW,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      chunkTimeoutMs: options.chunkTimeoutMs ?? DEFAULT_CHUNK_TIMEOUT_MS,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxPendingChunked: options.maxPendingChunked ?? DEFAULT_MAX_PENDING_CHUNKED,
    };
    for (const [k, v] of Object.entries(this.options)) {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new BusError('BUS_ERR_INVALID_OPTIONS', `option ${k} must be a positive number, got ${v}`, { field: k });
    }
    this.batchMax = options.batch ? Math.min(1024, Math.max(1, options.batch.maxMessages ?? DEFAULT_BATCH_MAX_MESSAGES)) : 0;
    if (this.toHexKey(options.identity.keyPair.publicKey) !== cred.claims.publicKey) {
      throw new BusError('BUS_ERR_INVALID_OPTIONS', `identity key pair does not match the public key of credential ${cred.id}`, { field: 'identity' });
    }
    this.signer = createSigner(options.identity.keyPair.secretKey);
    this.credentialHeader = encodeCredentialHeader(cred);
    this.credentialId = cred.id;
    this.publicKeyHex = cred.claims.publicKey;
    this.scopes = cred.claims.scopes;
    this.inboxBase = `${this.inboxPrefix}.${randomBytes(8).toString('hex')}`;
    this.verifier = new EnvelopeVerifier({ trustStore: this.trustStore, clock: this.clock, maxSkewMs: this.options.maxSkewMs, inboxPrefix: this.inboxPrefix }, caches ?? createVerifierCaches());
    this.metrics = createMetrics(options, this.logger);
    const workers = options.verifyWorkers ?? 0;
    if (!(Number.isInteger(workers) && workers >= 0 && workers <= 64)) {
      throw new BusError('BUS_ERR_INVALID_OPTIONS', `verifyWorkers must be an integer in 0..64, got ${workers}`, { field: 'verifyWorkers' });
    }
    if (workers > 0) this.pool = new VerifyPool(workers);
  }

  private toHexKey(b: Uint8Array): string {
    return Buffer.from(b).toString('hex');
  }

  // ---- transport hooks -------------------------------------------------------------------------
  /** Sends one sealed envelope. Synchronous hand-off to the transport (which may buffer). */
  protected abstract transmit(env: Envelope): void;
  protected abstract openSubscription(pattern: string, queue: string | undefined, onEnvelope: (env: Envelope) => void): TransportSubscription;
  /** Largest message (headers + payload) the transport accepts. */
  protected abstract maxPayload(): number;
  protected abstract transportFlush(): Promise<void>;
  protected abstract transportDrain(): Promise<void>;
  protected abstract transportClose(): Promise<void>;

  // ---- publishing ------------------------------------------------------------------------------
  async publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<void> {
    this.ensureOpen();
    if (options.signal?.aborted) throw new BusError('BUS_ERR_ABORTED', `publish on ${subject} aborted`, { subject }, options.signal.reason);
    if (!isLiteralSubject(subject)) throw new BusError('BUS_ERR_INVALID_SUBJECT', `"${subject}" is not a valid subject to publish on (no wildcards, empty tokens or spaces)`, { subject });
    if (options.reply !== undefined && !isLiteralSubject(options.reply)) throw new BusError('BUS_ERR_INVALID_SUBJECT', `reply subject "${options.reply}" is not valid`, { subject: options.reply });
    if (!this.mayPublish(subject)) {
      throw new BusError('BUS_ERR_OUT_OF_SCOPE', `${this.self.agentId} may not publish on ${subject}: its credential allows ${this.scopes.join(', ')}`, { subject, scopes: [...this.scopes] });
    }
    if (!(data instanceof Uint8Array)) throw new BusError('BUS_ERR_INVALID_SUBJECT', 'payload must be a Uint8Array (use publishJson for values)', { subject });
    if (data.length > this.options.maxMessageBytes) {
      throw new BusError('BUS_ERR_PAYLOAD_TOO_LARGE', `payload of ${data.length} bytes exceeds maxMessageBytes ${this.options.maxMessageBytes}`, { subject, bytes: data.length });
    }
    const pieces = this.split(subject, options.reply, data);
    if (this.batchMax > 0) {
      await Promise.all(pieces.map((out) => this.enqueueBatch(out)));
    } else {
      for (const out of pieces) this.transmit(this.seal(out));
    }
    this.statsData.published++;
    this.metrics?.published.inc();
    this.metrics?.messages.inc({ direction: 'out', subject_class: subjectClass(subject) });
  }

  publishJson(subject: string, value: unknown, options?: PublishOptions): Promise<void> {
    return this.publish(subject, encodeJson(value), options);
  }

  private mayPublish(subject: string): boolean {
    return subject.startsWith(`${this.inboxPrefix}.`) || subjectInScopes(this.scopes, subject);
  }

  /** Room for headers in each message: the credential dominates; the rest is < 400 bytes. */
  private headerBudget(): number {
    return this.credentialHeader.length + 512 + (this.batchMax > 0 ? 32 + Math.ceil((Math.ceil(Math.log2(this.batchMax)) * 32 * 4) / 3) : 0);
  }

  private split(subject: string, reply: string | undefined, data: Uint8Array): Outgoing[] {
    const max = this.maxPayload();
    const room = max - this.headerBudget() - subject.length - (reply?.length ?? 0);
    if (data.length <= room) return [{ subject, reply, data }];
    if (room < 1024) {
      throw new BusError('BUS_ERR_PAYLOAD_TOO_LARGE', `the server's max_payload of ${max} bytes leaves no room for signed chunks`, { subject, maxPayload: max });
    }
    const msgId = (++this.msgIds).toString(36);
    return splitPayload(data, room, msgId).map((c) => ({ subject, reply, data: c.data, chunk: formatChunk(c.info) }));
  }

  private fields(out: Outgoing): { fields: SignedFields; headers: EnvelopeHeaders } {
    const seq = String(++this.seq);
    const ts = String(Math.floor(this.clock.now()));
    const fields: SignedFields = { subject: out.subject, reply: out.reply ?? '', ts, epoch: this.epoch, seq, credentialId: this.credentialId, chunk: out.chunk ?? '' };
    const headers: EnvelopeHeaders = { proto: PROTOCOL, cred: this.credentialHeader, ts, epoch: this.epoch, seq };
    if (out.chunk !== undefined) headers.chunk = out.chunk;
    return { fields, headers };
  }

  /** Signs one message (exposed to tests and benchmarks through `sealForTest`). */
  protected seal(out: Outgoing): Envelope {
    const { fields, headers } = this.fields(out);
    const input = signingInput(fields, out.data);
    headers.sig = Buffer.from(this.signer(input)).toString('base64url');
    this.verifier.rememberSealed(this.publicKeyHex, headers.sig, input);
    return Object.freeze({ subject: out.subject, ...(out.reply !== undefined ? { reply: out.reply } : {}), headers: Object.freeze(headers), data: out.data });
  }

  private enqueueBatch(out: Outgoing): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batchQueue.push({ out, resolve, reject });
      if (this.batchQueue.length >= this.batchMax) this.flushBatch();
      else if (!this.batchScheduled) {
        this.batchScheduled = true;
        queueMicrotask(() => this.flushBatch());
      }
    });
  }

  private flushBatch(): void {
    this.batchScheduled = false;
    while (this.batchQueue.length > 0) {
      const group = this.batchQueue.splice(0, this.batchMax);
      try {
        const sealed = group.map(({ out }) => ({ out, ...this.fields(out) }));
        const tree = merkleTree(sealed.map((s) => merkleLeaf(s.fields, s.out.data)));
        const sig = Buffer.from(this.signer(batchSigningInput(tree.size, tree.root))).toString('base64url');
        sealed.forEach((s, i) => {
          s.headers.batch = `${i}/${tree.size}/${tree.proofs[i].toString('base64url')}`;
          s.headers.sig = sig;
          this.transmit(Object.freeze({ subject: s.out.subject, ...(s.out.reply !== undefined ? { reply: s.out.reply } : {}), headers: Object.freeze(s.headers), data: s.out.data }));
        });
        for (const g of group) g.resolve();
      } catch (error) {
        for (const g of group) g.reject(error as Error);
      }
    }
  }

  // ---- receiving -------------------------------------------------------------------------------
  subscribe(pattern: string, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    this.ensureOpen();
    if (!isValidSubjectPattern(pattern)) throw new BusError('BUS_ERR_INVALID_SUBJECT', `"${pattern}" is not a valid subject pattern`, { subject: pattern });
    if (options.queue !== undefined && !/^[^\s]+$/.test(options.queue)) throw new BusError('BUS_ERR_INVALID_SUBJECT', `queue group "${options.queue}" is not valid`, { queue: options.queue });
    const state = this.createState(pattern, (msg) => this.invoke(handler, msg));
    state.transport = this.openSubscription(pattern, options.queue, (env) => this.receive(state, env));
    this.subs.add(state);
    const bus = this;
    return {
      pattern,
      get closed() {
        return state.closed;
      },
      unsubscribe() {
        bus.closeState(state);
      },
    };
  }

  private createState(pattern: string, deliver: (msg: InboundMessage) => void): SubscriptionState {
    const state: SubscriptionState = {
      pattern,
      fifo: [],
      closed: false,
      replay: new ReplayWindow({ size: this.options.replayWindow, idleMs: 2 * this.options.maxSkewMs + 1000 }),
      reassembler: new Reassembler<ChunkMeta>(
        { clock: this.clock, timeoutMs: this.options.chunkTimeoutMs, maxMessageBytes: this.options.maxMessageBytes, maxPending: this.options.maxPendingChunked },
        (first, subject, detail) => this.rejected('chunk_integrity', subject, first.verified.sender.agentId, detail),
      ),
      deliver,
    };
    return state;
  }

  private closeState(state: SubscriptionState): void {
    if (state.closed) return;
    state.closed = true;
    state.fifo = [];
    state.transport?.close();
    state.reassembler.clear();
    this.subs.delete(state);
  }

  /** Entry point for every envelope a transport receives on a subscription. Never throws. */
  protected receive(state: SubscriptionState, env: Envelope): void {
    if (state.closed || this.state === 'closed') return;
    if (this.pool) {
      this.receiveWithPool(state, env, this.pool);
      return;
    }
    let outcome: ReturnType<EnvelopeVerifier['verify']>;
    try {
      outcome = this.verifier.verify(env, state.replay);
    } catch (error) {
      outcome = { ok: false, reason: 'malformed', detail: `verifier error: ${(error as Error).message}` };
    }
    if (!outcome.ok) {
      this.rejected(outcome.reason, env.subject, outcome.sender, outcome.detail);
      return;
    }
    this.accepted(state, env, outcome);
  }

  private receiveWithPool(state: SubscriptionState, env: Envelope, pool: VerifyPool): void {
    let pre: ReturnType<EnvelopeVerifier['precheck']>;
    try {
      pre = this.verifier.precheck(env, state.replay);
    } catch (error) {
      pre = { ok: false, reason: 'malformed', detail: `verifier error: ${(error as Error).message}` };
    }
    if (!pre.ok) {
      this.rejected(pre.reason, env.subject, pre.sender, pre.detail);
      return;
    }
    const entry: PendingVerification = { env, pre };
    state.fifo.push(entry);
    const verdict = this.verifier.signature(env, pre, pool);
    if (typeof verdict === 'boolean') {
      entry.signatureOk = verdict;
      this.pump(state);
    } else {
      verdict.then(
        (ok) => {
          entry.signatureOk = ok;
          this.pump(state);
        },
        () => {
          entry.signatureOk = false;
          this.pump(state);
        },
      );
    }
  }

  /** Delivers verified messages in arrival order as their verdicts come back. */
  private pump(state: SubscriptionState): void {
    while (state.fifo.length > 0 && state.fifo[0].signatureOk !== undefined) {
      const { env, pre, signatureOk } = state.fifo.shift() as PendingVerification;
      if (state.closed || this.state === 'closed') return;
      const outcome = this.verifier.commit(pre, signatureOk as boolean, state.replay);
      if (!outcome.ok) this.rejected(outcome.reason, env.subject, outcome.sender, outcome.detail);
      else this.accepted(state, env, outcome);
    }
  }

  private accepted(state: SubscriptionState, env: Envelope, outcome: VerifiedEnvelope): void {
    if (env.headers.chunk !== undefined) {
      const info: ChunkInfo | undefined = parseChunk(env.headers.chunk);
      if (!info) {
        this.rejected('chunk_integrity', env.subject, outcome.sender.agentId, 'malformed chunk header');
        return;
      }
      const r = state.reassembler.add(outcome.replayKey, env.subject, info, env.data, { verified: outcome, reply: env.reply });
      if ('error' in r) this.rejected('chunk_integrity', env.subject, outcome.sender.agentId, r.error);
      else if (r.done) state.deliver(this.inbound(env.subject, r.first.reply, r.data, r.first.verified));
      return;
    }
    state.deliver(this.inbound(env.subject, env.reply, env.data, outcome));
  }

  private inbound(subject: string, reply: string | undefined, data: Uint8Array, v: VerifiedEnvelope): InboundMessage {
    return {
      subject,
      data,
      sender: v.sender,
      timestamp: v.timestamp,
      seq: v.seq,
      ...(reply !== undefined && reply !== '' ? { reply } : {}),
      json<T>(): T {
        try {
          return decodeJson<T>(data);
        } catch (cause) {
          throw new BusError('BUS_ERR_DECODE', `payload on ${subject} from ${v.sender.agentId} is not valid UTF-8 JSON`, { subject, sender: v.sender.agentId }, cause);
        }
      },
    };
  }

  private invoke(handler: MessageHandler, msg: InboundMessage): void {
    this.statsData.delivered++;
    this.metrics?.delivered.inc();
    this.metrics?.messages.inc({ direction: 'in', subject_class: subjectClass(msg.subject) });
    try {
      const r = handler(msg);
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, (error) => this.handlerFailed(msg, error));
    } catch (error) {
      this.handlerFailed(msg, error);
    }
  }

  private handlerFailed(msg: InboundMessage, error: unknown): void {
    // Counted, not reported to onReject: the sender's message was valid.
    this.statsData.rejected.handler_error++;
    this.metrics?.rejected.inc({ reason: 'handler_error' });
    this.logger.warn({ subject: msg.subject, sender: msg.sender.agentId, err: error }, 'message handler threw');
  }

  protected rejected(reason: RejectReason, subject: string, sender: string | undefined, detail: string): void {
    this.statsData.rejected[reason]++;
    this.metrics?.rejected.inc({ reason });
    this.logger.debug({ reason, subject, sender, detail }, 'message rejected');
    const info = sender !== undefined ? { subject, sender } : { subject };
    for (const l of this.rejectListeners) {
      try {
        l(reason, info);
      } catch (error) {
        this.logger.warn({ err: error }, 'onReject listener threw');
      }
    }
  }

  // ---- request / reply -------------------------------------------------------------------------
  async request(subject: string, data: Uint8Array, options: RequestOptions = {}): Promise<InboundMessage> {
    this.ensureOpen();
    const signal = options.signal;
    if (signal?.aborted) throw new BusError('BUS_ERR_ABORTED', `request on ${subject} aborted`, { subject }, signal.reason);
    this.ensureInbox();
    const token = (++this.requestCounter).toString(36);
    const reply = `${this.inboxBase}.${token}`;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    return new Promise<InboundMessage>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const onAbort = (): void => finish(new BusError('BUS_ERR_ABORTED', `request on ${subject} aborted`, { subject }, signal?.reason));
      const finish = (error: Error | undefined, msg?: InboundMessage): void => {
        if (!this.pending.delete(token)) return;
        this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(msg as InboundMessage);
      };
      this.pending.set(token, { subject, resolve: (m) => finish(undefined, m), reject: (e) => finish(e) });
      timer = this.clock.setTimeout(() => finish(new BusError('BUS_ERR_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`, { subject, timeoutMs })), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.publish(subject, data, { reply }).catch((error: Error) => finish(error));
    });
  }

  async requestJson<T = unknown>(subject: string, value: unknown, options?: RequestOptions): Promise<T> {
    const msg = await this.request(subject, encodeJson(value), options);
    return msg.json<T>();
  }

  async respond(msg: InboundMessage, data: Uint8Array): Promise<void> {
    if (!msg.reply) throw new BusError('BUS_ERR_INVALID_SUBJECT', `message on ${msg.subject} from ${msg.sender.agentId} has no reply subject`, { subject: msg.subject });
    await this.publish(msg.reply, data);
  }

  respondJson(msg: InboundMessage, value: unknown): Promise<void> {
    return this.respond(msg, encodeJson(value));
  }

  private ensureInbox(): void {
    if (this.inboxSub) return;
    const prefixLength = this.inboxBase.length + 1;
    const state = this.createState(`${this.inboxBase}.*`, (msg) => {
      this.statsData.delivered++;
      this.pending.get(msg.subject.slice(prefixLength))?.resolve(msg);
    });
    state.transport = this.openSubscription(state.pattern, undefined, (env) => this.receive(state, env));
    this.inboxSub = state;
    this.subs.add(state);
  }

  /** Transports call this when the server says nobody listens on a request's subject. */
  protected noResponders(replySubject: string): void {
    if (!replySubject.startsWith(`${this.inboxBase}.`)) return;
    const p = this.pending.get(replySubject.slice(this.inboxBase.length + 1));
    p?.reject(new BusError('BUS_ERR_NO_RESPONDERS', `no subscriber for request on ${p.subject}`, { subject: p.subject }));
  }

  protected isOwnInbox(subject: string): boolean {
    return subject.startsWith(`${this.inboxBase}.`);
  }

  // ---- lifecycle -------------------------------------------------------------------------------
  async flush(): Promise<void> {
    this.ensureOpen();
    if (this.batchQueue.length > 0) this.flushBatch();
    await this.transportFlush();
  }

  drain(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.state = 'draining';
        if (this.batchQueue.length > 0) this.flushBatch();
        try {
          await this.transportDrain();
          await this.settleVerifications();
        } finally {
          this.shutdown();
        }
      })();
    }
    return this.closing;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.state = 'closed';
        for (const b of this.batchQueue) b.reject(new BusError('BUS_ERR_CLOSED', 'bus closed before the batch was sent'));
        this.batchQueue = [];
        try {
          await this.transportClose();
        } finally {
          this.shutdown();
        }
      })();
    }
    return this.closing;
  }

  /** Waits (bounded) until messages handed to verification workers have been delivered or refused. */
  private async settleVerifications(timeoutMs = 5000): Promise<void> {
    if (!this.pool) return;
    const deadline = Date.now() + timeoutMs;
    while ([...this.subs].some((s) => s.fifo.length > 0) && Date.now() < deadline) await new Promise<void>((r) => setImmediate(r));
  }

  /** Tears down subscriptions and pending requests; transports call it when the connection closes on its own. */
  protected shutdown(error?: Error): void {
    if (this.shutDown) return;
    this.shutDown = true;
    this.state = 'closed';
    for (const s of [...this.subs]) this.closeState(s);
    for (const p of [...this.pending.values()]) p.reject(new BusError('BUS_ERR_CLOSED', `bus closed before a reply on ${p.subject}`, { subject: p.subject }));
    void this.pool?.close();
    this.emitStatus(error ? { type: 'closed', error } : { type: 'closed' });
  }

  protected ensureOpen(): void {
    if (this.state !== 'open') throw new BusError('BUS_ERR_CLOSED', `bus of ${this.self.agentId} is ${this.state}`, { agentId: this.self.agentId });
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onReject(listener: (reason: RejectReason, info: { subject: string; sender?: string }) => void): () => void {
    this.rejectListeners.add(listener);
    return () => this.rejectListeners.delete(listener);
  }

  protected emitStatus(status: BusStatus): void {
    for (const l of this.statusListeners) {
      try {
        l(status);
      } catch (error) {
        this.logger.warn({ err: error }, 'onStatus listener threw');
      }
    }
  }

  stats(): BusStats {
    return { ...this.statsData, rejected: { ...this.statsData.rejected } };
  }

  /** Builds a signed envelope without sending it (tests and attack simulations re-send or alter it). */
  sealForTest(subject: string, data: Uint8Array, options: { reply?: string; chunk?: string } = {}): Envelope {
    return this.seal({ subject, data, reply: options.reply, chunk: options.chunk });
  }
}
