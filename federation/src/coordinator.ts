import type {
  Bus,
  Clock,
  FlatWeights,
  InboundMessage,
  KeyValueStore,
  Logger,
  MetricsRegistry,
  Rng,
  Subscription,
  TimerHandle,
  TrainableModel,
  TrustSink,
  TrustView,
} from '@sliceguard/core';
import { decodeJson, encodeJson, ID_PATTERN, layoutsEqual, seededRng, silentLogger, sortableNumber, systemClock } from '@sliceguard/core';
import { type Aggregator, aggregatorFromSpec } from './aggregators.js';
import {
  InvalidFederationOptionsError,
  LayoutMismatchError,
  NotStartedError,
  PersistenceError,
  RoundInProgressError,
  UnknownModelError,
} from './errors.js';
import {
  decodeGlobal,
  decodeUpdate,
  encodeAnnounce,
  encodeGlobal,
  flSubject,
  type GlobalHeader,
  type JoinMessage,
} from './protocol.js';
import { directionEvidence, REJECT_EVIDENCE, screenRound } from './screening.js';
import { allFinite, checkUpdate, type UpdateRejectReason } from './weights.js';

/** Optional check of each update on a validation set the coordinator holds (never the clients' data). */
export interface UpdateValidation {
  /** A scratch model of the same architecture; the coordinator loads each update into it. */
  model: TrainableModel;
  rows: Float32Array[];
  /** An update counts only if its loss ≤ baseline × (1 + tolerance). Default 0.5. */
  tolerance?: number;
}

export interface CoordinatorModel {
  /** Model name, one per NF type (`streamer`, `gnb`…); a subject token. */
  name: string;
  /** Version-1 weights. Without them the first round seeds the model from one selected client. */
  initial?: FlatWeights;
  /** Default `trust-filter+clip+median`. */
  aggregator?: Aggregator;
  validation?: UpdateValidation;
}

export interface CoordinatorOptions {
  bus: Bus;
  domain: string;
  kv: KeyValueStore;
  models: CoordinatorModel[];
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  metrics?: MetricsRegistry;
  trustSink?: TrustSink;
  trustView?: TrustView;
  /** Fraction of live clients selected per round. Default 1. */
  fraction?: number;
  /** Fewest clients a round needs (to start, and accepted updates to publish). Default 2. */
  minClients?: number;
  /** Most clients selected per round. Default unlimited. */
  maxClients?: number;
  /** Round deadline after the announcement (clock ms). Default 30,000. */
  roundTimeoutMs?: number;
  /** The round closes early once this fraction of the selected clients sent an accepted update. Default 1. */
  quorum?: number;
  /** Local epochs asked of clients. Default 1. */
  epochs?: number;
  batchSize?: number;
  /** Absolute bound on ‖update − global‖. Default none. */
  maxDeltaNorm?: number;
  /** Updates whose delta norm exceeds this multiple of the round's median delta norm are rejected. Default 10. */
  maxNormRatio?: number;
  /** A client that has not sent a join heartbeat for this long is not selected. Default 60,000. */
  clientTtlMs?: number;
  /** Run rounds automatically every this many ms after start(). Default: only on runRound(). */
  roundIntervalMs?: number;
  /** Model versions kept in the store. Default 20. */
  keepVersions?: number;
  /** Key prefix in the store. Default `fl/`. */
  keyPrefix?: string;
  /** The head model is re-broadcast this long after a new client's first join (joins coalesce). Default 250. */
  newcomerDelayMs?: number;
}

export type RoundOutcome = 'published' | 'failed' | 'aborted';

export interface RejectedUpdate {
  clientId: string;
  reason: UpdateRejectReason;
  message: string;
}

export interface RoundReport {
  model: string;
  round: number;
  baseVersion: number;
  outcome: RoundOutcome;
  /** The version published by this round. */
  version?: number;
  reason?: string;
  selected: string[];
  accepted: string[];
  /** Accepted updates the aggregator let contribute. */
  contributors: string[];
  rejected: RejectedUpdate[];
  /** Selected clients that sent nothing in time (stragglers, failed clients). */
  dropped: string[];
  aggregator: string;
  startedAt: number;
  durationMs: number;
}

export interface ModelHead {
  version: number;
  round: number;
  weights: FlatWeights;
  header: GlobalHeader;
}

export interface PublishedEvent {
  model: string;
  version: number;
  header: GlobalHeader;
  weights: FlatWeights;
  /** The round that produced it; absent for adopted (e.g. cross-domain) models. */
  report?: RoundReport;
}

export interface AdoptOptions {
  /** Samples behind the adopted model (recorded in its header). */
  samples: number;
  /** Recorded as the version's aggregator, e.g. `cross-domain`. */
  aggregator: string;
  contributors?: number;
}

export interface CoordinatorStats {
  rounds: Record<RoundOutcome, number>;
  accepted: number;
  rejected: Record<UpdateRejectReason, number>;
  dropped: number;
}

export interface Coordinator {
  readonly agentId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  runRound(model: string, options?: { signal?: AbortSignal }): Promise<RoundReport>;
  head(model: string): ModelHead | undefined;
  /** Live clients of a model (join heartbeat within the TTL). */
  clients(model: string): string[];
  /** Reports of the latest rounds, newest first, from the store. */
  history(model: string, limit?: number): Promise<RoundReport[]>;
  stats(): CoordinatorStats;
  /** Called with every round's report (published, failed or aborted). */
  onRound(listener: (report: RoundReport) => void): () => void;
  /** Called after every new version is committed and published (rounds and adoptions). */
  onPublished(listener: (event: PublishedEvent) => void): () => void;
  /**
   * Installs weights made outside a round (e.g. the cross-domain combination) as the next version:
   * same layout as the head, all finite; waits for an active round to end first. Returns the version.
   */
  adopt(model: string, weights: FlatWeights, options: AdoptOptions): Promise<number>;
}

function emptyRejects(): Record<UpdateRejectReason, number> {
  return Object.fromEntries(Object.keys(REJECT_EVIDENCE).map((k) => [k, 0])) as Record<UpdateRejectReason, number>;
}

interface Received {
  clientId: string;
  weights: FlatWeights;
  samples: number;
  loss: number;
  deltaNorm: number;
}

interface ActiveRound {
  round: number;
  baseVersion: number;
  selected: Set<string>;
  deadline: number;
  startedAt: number;
  target: number;
  received: Map<string, Received>;
  responded: Set<string>;
  rejected: RejectedUpdate[];
  wake: () => void;
  closed: boolean;
}

interface ModelState {
  config: CoordinatorModel;
  aggregator: Aggregator;
  head?: ModelHead;
  headBytes?: Uint8Array;
  nextRound: number;
  lastClosedRound: number;
  active?: ActiveRound;
  clients: Map<string, { lastSeen: number; samples?: number }>;
  headRepublish?: TimerHandle;
  /** Resolves when the active round ends. */
  roundDone?: Promise<void>;
  adopting: boolean;
}

interface RoundRecord {
  round: number;
  baseVersion: number;
  phase: 'collecting' | 'closed';
  selected: string[];
  startedAt: number;
}

const DEFAULTS = {
  fraction: 1,
  minClients: 2,
  maxClients: Number.POSITIVE_INFINITY,
  roundTimeoutMs: 30_000,
  quorum: 1,
  epochs: 1,
  maxNormRatio: 10,
  clientTtlMs: 60_000,
  keepVersions: 20,
  keyPrefix: 'fl/',
  newcomerDelayMs: 250,
};

function validateOptions(o: CoordinatorOptions): void {
  const bad = (field: string, why: string): never => {
    throw new InvalidFederationOptionsError(`coordinator option ${field} ${why}`, { field });
  };
  if (!ID_PATTERN.test(o.domain)) bad('domain', `"${o.domain}" is not a valid domain id`);
  if (o.models.length === 0) bad('models', 'must name at least one model');
  const names = new Set<string>();
  for (const m of o.models) {
    if (!ID_PATTERN.test(m.name)) bad('models[].name', `"${m.name}" is not a valid model name (letters, digits, '-', '_')`);
    if (names.has(m.name)) bad('models[].name', `"${m.name}" appears twice`);
    names.add(m.name);
  }
  if (o.fraction !== undefined && !(o.fraction > 0 && o.fraction <= 1)) bad('fraction', 'must be in (0, 1]');
  if (o.quorum !== undefined && !(o.quorum > 0 && o.quorum <= 1)) bad('quorum', 'must be in (0, 1]');
  if (o.minClients !== undefined && !(Number.isInteger(o.minClients) && o.minClients >= 1)) bad('minClients', 'must be an integer >= 1');
  if (o.maxClients !== undefined && !(o.maxClients >= (o.minClients ?? DEFAULTS.minClients))) bad('maxClients', 'must be >= minClients');
  if (o.roundTimeoutMs !== undefined && !(o.roundTimeoutMs > 0)) bad('roundTimeoutMs', 'must be > 0');
  if (o.epochs !== undefined && !(Number.isInteger(o.epochs) && o.epochs >= 1)) bad('epochs', 'must be an integer >= 1');
  if (o.maxDeltaNorm !== undefined && !(o.maxDeltaNorm > 0)) bad('maxDeltaNorm', 'must be > 0');
  if (o.maxNormRatio !== undefined && !(o.maxNormRatio > 1)) bad('maxNormRatio', 'must be > 1');
  if (o.roundIntervalMs !== undefined && !(o.roundIntervalMs > 0)) bad('roundIntervalMs', 'must be > 0');
}

/**
 * The federation coordinator of one domain (DESIGN.md §4). Runs rounds per model, persists every
 * published version and the round state in the KeyValueStore, and after a restart resumes from the
 * last committed version: an interrupted round is recorded as aborted and never published.
 */
export function createCoordinator(options: CoordinatorOptions): Coordinator {
  validateOptions(options);
  const bus = options.bus;
  const domain = options.domain;
  const kv = options.kv;
  const clock = options.clock ?? systemClock();
  const rng = options.rng ?? seededRng(`coordinator:${domain}:${clock.now()}`);
  const logger = (options.logger ?? silentLogger()).child({ module: 'fl-coordinator', domain });
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const agentId = bus.self.agentId;
  const prefix = o.keyPrefix;

  const metrics = options.metrics
    ? {
        rounds: options.metrics.counter({ name: 'sliceguard_fl_rounds_total', help: 'FL rounds by outcome', labelNames: ['model', 'outcome'] }),
        updates: options.metrics.counter({
          name: 'sliceguard_fl_updates_total',
          help: 'FL updates by result (accepted or the reject reason)',
          labelNames: ['model', 'result'],
        }),
        roundSeconds: options.metrics.histogram({
          name: 'sliceguard_fl_round_duration_seconds',
          help: 'FL round duration',
          labelNames: ['model'],
          buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120],
        }),
      }
    : undefined;

  const models = new Map<string, ModelState>();
  for (const config of options.models) {
    models.set(config.name, {
      config,
      aggregator: config.aggregator ?? aggregatorFromSpec('trust-filter+clip+median'),
      nextRound: 1,
      lastClosedRound: 0,
      clients: new Map(),
      adopting: false,
    });
  }
  const stats: CoordinatorStats = { rounds: { published: 0, failed: 0, aborted: 0 }, accepted: 0, rejected: emptyRejects(), dropped: 0 };
  const subscriptions: Subscription[] = [];
  let state: 'idle' | 'started' | 'stopping' | 'stopped' = 'idle';
  let autoTimer: TimerHandle | undefined;
  let autoRunning: Promise<void> | undefined;

  const key = (model: string, ...parts: string[]): string => `${prefix}${model}/${parts.join('/')}`;

  function modelState(name: string): ModelState {
    const m = models.get(name);
    if (!m) throw new UnknownModelError(name, [...models.keys()]);
    return m;
  }

  function evidence(clientId: string, positive: number, negative: number, reason: string): void {
    if (!options.trustSink || (positive === 0 && negative === 0)) return;
    try {
      options.trustSink.record({ subject: clientId, attribute: 'fl_quality', positive, negative, source: agentId, at: clock.now(), reason });
    } catch (error) {
      logger.warn({ err: error, clientId }, 'trust sink failed to record FL evidence');
    }
  }

  function reject(m: ModelState, clientId: string, reason: UpdateRejectReason, message: string, round?: ActiveRound): void {
    stats.rejected[reason]++;
    metrics?.updates.inc({ model: m.config.name, result: reason });
    round?.rejected.push({ clientId, reason, message });
    logger.debug({ model: m.config.name, clientId, reason, message }, 'FL update rejected');
    evidence(clientId, 0, REJECT_EVIDENCE[reason], `update rejected: ${reason}`);
  }

  async function loadModel(m: ModelState): Promise<void> {
    const name = m.config.name;
    try {
      const headRaw = await kv.get(key(name, 'head'));
      if (headRaw) {
        const { version } = decodeJson<{ version: number }>(headRaw);
        const bytes = await kv.get(key(name, 'v', sortableNumber(version, 12)));
        if (!bytes) throw new PersistenceError(`model ${name}: head points to version ${version}, which is missing from the store`, { model: name, version });
        setHead(m, bytes);
      } else if (m.config.initial) {
        const initial = m.config.initial;
        if (!allFinite(initial.values)) throw new InvalidFederationOptionsError(`model ${name}: initial weights contain NaN or Infinity`, { model: name });
        const header: Omit<GlobalHeader, 'type' | 'layout'> = {
          model: name,
          version: 1,
          round: 0,
          contributors: 0,
          samples: 0,
          createdAt: clock.now(),
          aggregator: 'initial',
        };
        await commit(m, encodeGlobal(header, initial), undefined);
      }
      const roundRaw = await kv.get(key(name, 'round'));
      if (roundRaw) {
        const rec = decodeJson<RoundRecord>(roundRaw);
        m.nextRound = rec.round + 1;
        m.lastClosedRound = rec.round;
        if (rec.phase === 'collecting') {
          // crashed mid-round: nothing of it was published; record it as aborted and move on
          const report: RoundReport = {
            model: name,
            round: rec.round,
            baseVersion: rec.baseVersion,
            outcome: 'aborted',
            reason: 'coordinator restarted during the round',
            selected: rec.selected,
            accepted: [],
            contributors: [],
            rejected: [],
            dropped: rec.selected,
            aggregator: m.aggregator.name,
            startedAt: rec.startedAt,
            durationMs: clock.now() - rec.startedAt,
          };
          await kv.batch([
            { type: 'put', key: key(name, 'round'), value: encodeJson({ ...rec, phase: 'closed' }) },
            { type: 'put', key: key(name, 'report', sortableNumber(rec.round, 12)), value: encodeJson(report) },
          ]);
          stats.rounds.aborted++;
          logger.warn({ model: name, round: rec.round }, 'resumed after a crash: interrupted round aborted');
        }
      }
      if (m.head && m.head.round >= m.nextRound) m.nextRound = m.head.round + 1;
    } catch (error) {
      if (error instanceof PersistenceError || error instanceof InvalidFederationOptionsError) throw error;
      throw new PersistenceError(`model ${name}: cannot load the coordinator state from the store`, { model: name }, error);
    }
  }

  function setHead(m: ModelState, bytes: Uint8Array): void {
    const { header, weights } = decodeGlobal(bytes);
    m.head = { version: header.version, round: header.round, weights, header };
    m.headBytes = bytes;
  }

  /** Stores a version, moves the head and closes the round in one atomic batch, then prunes old versions. */
  async function commit(m: ModelState, bytes: Uint8Array, report: RoundReport | undefined): Promise<void> {
    const name = m.config.name;
    const { header } = decodeGlobal(bytes);
    const ops: Parameters<KeyValueStore['batch']>[0] = [
      { type: 'put', key: key(name, 'v', sortableNumber(header.version, 12)), value: bytes },
      { type: 'put', key: key(name, 'head'), value: encodeJson({ version: header.version, round: header.round }) },
    ];
    if (report) {
      ops.push({ type: 'put', key: key(name, 'report', sortableNumber(report.round, 12)), value: encodeJson(report) });
      ops.push({
        type: 'put',
        key: key(name, 'round'),
        value: encodeJson({ round: report.round, baseVersion: report.baseVersion, phase: 'closed', selected: report.selected, startedAt: report.startedAt }),
      });
    }
    await kv.batch(ops);
    setHead(m, bytes);
    const old = header.version - o.keepVersions;
    if (old >= 1) {
      const stale: Parameters<KeyValueStore['batch']>[0] = [];
      for await (const [k] of kv.entries({ gte: key(name, 'v', ''), lte: key(name, 'v', sortableNumber(old, 12)) })) stale.push({ type: 'del', key: k });
      if (stale.length > 0) await kv.batch(stale);
    }
  }

  async function publishHead(m: ModelState): Promise<void> {
    if (!m.headBytes) return;
    await bus.publish(flSubject(domain, m.config.name, 'global'), m.headBytes);
  }

  function onJoin(m: ModelState, msg: InboundMessage): void {
    let join: JoinMessage;
    try {
      join = msg.json<JoinMessage>();
    } catch {
      reject(m, msg.sender.agentId, 'malformed', 'join is not JSON');
      return;
    }
    if (join?.type !== 'join' || join.model !== m.config.name || msg.sender.domain !== domain || msg.sender.level === 'coordinator') {
      reject(m, msg.sender.agentId, 'malformed', 'join for another model or from a principal that cannot train');
      return;
    }
    const known = m.clients.has(msg.sender.agentId);
    m.clients.set(msg.sender.agentId, { lastSeen: clock.now(), samples: typeof join.samples === 'number' ? join.samples : undefined });
    const behind = typeof join.installedVersion === 'number' && m.head !== undefined && join.installedVersion < m.head.version;
    if ((!known || behind) && m.headBytes && !m.headRepublish) {
      // newcomers and clients behind get the current model soon; joins arriving together share one broadcast
      m.headRepublish = clock.setTimeout(() => {
        m.headRepublish = undefined;
        if (state === 'started') void publishHead(m).catch((error) => logger.warn({ err: error }, 'could not republish the head model'));
      }, o.newcomerDelayMs);
    }
  }

  function onUpdate(m: ModelState, msg: InboundMessage): void {
    const clientId = msg.sender.agentId;
    const round = m.active;
    let decoded: ReturnType<typeof decodeUpdate>;
    try {
      decoded = decodeUpdate(msg.data);
    } catch (error) {
      reject(m, clientId, 'malformed', error instanceof Error ? error.message : String(error), round);
      return;
    }
    const h = decoded.header;
    if (h.model !== m.config.name) {
      reject(m, clientId, 'malformed', `update names model "${h.model}" on the subject of "${m.config.name}"`, round);
      return;
    }
    if (!round || round.closed || h.round !== round.round) {
      if (h.round <= m.lastClosedRound || (round !== undefined && h.round < round.round) || round?.closed) {
        reject(m, clientId, 'late', `round ${h.round} is closed`, round);
      } else {
        reject(m, clientId, 'unknown_round', `no round ${h.round} is open`, round);
      }
      return;
    }
    if (!round.selected.has(clientId)) {
      reject(m, clientId, 'not_selected', `not selected for round ${round.round}`, round);
      return;
    }
    if (round.responded.has(clientId)) {
      reject(m, clientId, 'duplicate', `already sent an update for round ${round.round}`, round);
      return;
    }
    round.responded.add(clientId);
    if (h.baseVersion !== round.baseVersion) {
      reject(m, clientId, 'wrong_version', `trained from version ${h.baseVersion}, the round is on version ${round.baseVersion}`, round);
      round.wake();
      return;
    }
    if (!(Number.isInteger(h.samples) && h.samples > 0)) {
      reject(m, clientId, 'bad_samples', `samples must be a positive integer, got ${h.samples}`, round);
      round.wake();
      return;
    }
    const reference = m.head?.weights ?? firstReceived(round);
    let deltaNorm = 0;
    if (reference) {
      const check = checkUpdate(decoded.weights, reference, { maxDeltaNorm: m.head ? o.maxDeltaNorm : undefined });
      if (!check.ok) {
        reject(m, clientId, check.reason, check.message, round);
        round.wake();
        return;
      }
      deltaNorm = m.head ? check.deltaNorm : 0;
    } else if (!allFinite(decoded.weights.values)) {
      reject(m, clientId, 'non_finite', 'contains NaN or Infinity', round);
      round.wake();
      return;
    }
    round.received.set(clientId, { clientId, weights: decoded.weights, samples: h.samples, loss: h.loss, deltaNorm });
    round.wake();
  }

  function firstReceived(round: ActiveRound): FlatWeights | undefined {
    for (const r of round.received.values()) return r.weights;
    return undefined;
  }

  function select(m: ModelState): string[] {
    const now = clock.now();
    const live = [...m.clients.entries()]
      .filter(([id, c]) => now - c.lastSeen <= o.clientTtlMs && !(options.trustView?.isQuarantined(id) ?? false))
      .map(([id]) => id)
      .sort();
    // Fisher–Yates with the injected rng: reproducible selection in simulations
    for (let i = live.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [live[i], live[j]] = [live[j], live[i]];
    }
    const wanted = Math.min(live.length, o.maxClients, Math.max(o.minClients, Math.ceil(o.fraction * live.length)));
    return live.slice(0, m.head ? wanted : Math.min(wanted, 1)).sort();
  }

  async function runRound(name: string, runOptions: { signal?: AbortSignal } = {}): Promise<RoundReport> {
    if (state !== 'started') throw new NotStartedError('coordinator');
    const m = modelState(name);
    if (m.active) throw new RoundInProgressError(name, m.active.round);
    if (m.adopting) throw new RoundInProgressError(name, m.nextRound);
    const startedAt = clock.now();
    const roundNo = m.nextRound++;
    const baseVersion = m.head?.version ?? 0;
    const selected = select(m);
    const base: RoundReport = {
      model: name,
      round: roundNo,
      baseVersion,
      outcome: 'failed',
      selected,
      accepted: [],
      contributors: [],
      rejected: [],
      dropped: [],
      aggregator: m.head ? m.aggregator.name : 'seed',
      startedAt,
      durationMs: 0,
    };
    const needed = m.head ? o.minClients : 1;
    if (selected.length < needed) {
      m.lastClosedRound = roundNo;
      return finish(m, { ...base, reason: `${selected.length} live client(s), the round needs ${needed}` });
    }
    let wakeUp: () => void = () => {};
    const round: ActiveRound = {
      round: roundNo,
      baseVersion,
      selected: new Set(selected),
      deadline: startedAt + o.roundTimeoutMs,
      startedAt,
      target: Math.max(1, Math.ceil(o.quorum * selected.length)),
      received: new Map(),
      responded: new Set(),
      rejected: base.rejected,
      wake: () => wakeUp(),
      closed: false,
    };
    m.active = round;
    let roundEnded: () => void = () => {};
    m.roundDone = new Promise<void>((r) => {
      roundEnded = r;
    });
    try {
      await kv.put(key(name, 'round'), encodeJson({ round: roundNo, baseVersion, phase: 'collecting', selected, startedAt } satisfies RoundRecord));
      // the announcement names the base version and its layout but carries no weights: clients have
      // the base installed from the last global broadcast (a client behind asks for it with a join)
      const announceWeights = { layout: m.head?.weights.layout ?? [], values: new Float32Array(0) };
      await bus.publish(
        flSubject(domain, name, 'announce'),
        encodeAnnounce(
          { model: name, round: roundNo, version: baseVersion, selected, deadline: round.deadline, epochs: o.epochs, batchSize: o.batchSize },
          announceWeights,
        ),
      );
      const outcome = await new Promise<'complete' | 'deadline' | 'aborted'>((resolve) => {
        const done = (why: 'complete' | 'deadline' | 'aborted'): void => {
          clock.clearTimeout(timer);
          runOptions.signal?.removeEventListener('abort', onAbort);
          stopHooks.delete(onAbort);
          wakeUp = () => {};
          resolve(why);
        };
        const onAbort = (): void => done('aborted');
        const timer = clock.setTimeout(() => done('deadline'), Math.max(0, round.deadline - clock.now()));
        wakeUp = () => {
          if (round.received.size >= round.target || round.responded.size >= round.selected.size) done('complete');
        };
        if (runOptions.signal?.aborted || state !== 'started') done('aborted');
        else runOptions.signal?.addEventListener('abort', onAbort, { once: true });
        stopHooks.add(onAbort);
      });
      round.closed = true;
      m.lastClosedRound = roundNo;
      const dropped = selected.filter((id) => !round.responded.has(id));
      stats.dropped += dropped.length;
      if (outcome === 'aborted') {
        return finish(m, { ...base, outcome: 'aborted', reason: 'aborted', dropped, accepted: [...round.received.keys()] }, true);
      }
      return await aggregateAndPublish(m, round, { ...base, dropped });
    } finally {
      m.active = undefined;
      m.roundDone = undefined;
      roundEnded();
    }
  }

  async function aggregateAndPublish(m: ModelState, round: ActiveRound, report: RoundReport): Promise<RoundReport> {
    const name = m.config.name;
    let updates = [...round.received.values()];
    if (m.head) {
      const screened = screenRound(
        updates.map((u) => ({ ...u, values: u.weights.values })),
        { maxNormRatio: o.maxNormRatio },
      );
      for (const r of screened.rejected) reject(m, r.clientId, r.reason, r.message, round);
      updates = screened.kept;
    }
    if (m.head && m.config.validation) updates = await validateOnHeldOut(m, round, updates);
    if (options.trustView) {
      const screened = screenRound(
        updates.map((u) => ({ ...u, values: u.weights.values })),
        { maxNormRatio: Number.POSITIVE_INFINITY, trustView: options.trustView },
      );
      for (const r of screened.rejected) reject(m, r.clientId, r.reason, r.message, round);
      updates = screened.kept;
    }
    report.accepted = updates.map((u) => u.clientId);
    stats.accepted += updates.length;
    if (updates.length > 0) metrics?.updates.inc({ model: name, result: 'accepted' }, updates.length);
    const needed = m.head ? o.minClients : 1;
    if (updates.length < needed) {
      return finish(m, { ...report, reason: `${updates.length} accepted update(s), the round needs ${needed}` }, true);
    }
    let values: Float32Array;
    let contributors: string[];
    const layout = (m.head?.weights ?? updates[0].weights).layout;
    if (!m.head) {
      // seeding round: adopt one client's model as version 1 (no global exists to aggregate against)
      values = updates[0].weights.values;
      contributors = [updates[0].clientId];
    } else {
      try {
        const result = m.aggregator.aggregate(
          updates.map((u) => ({ clientId: u.clientId, values: u.weights.values, samples: u.samples })),
          { global: m.head.weights.values, trust: options.trustView },
        );
        values = result.values;
        contributors = result.contributors;
      } catch (error) {
        logger.warn({ err: error, model: name, round: round.round }, 'aggregation failed; nothing published');
        return finish(m, { ...report, reason: `aggregation failed: ${error instanceof Error ? error.message : String(error)}` }, true);
      }
    }
    if (values.length !== layout.reduce((s, t) => s + t.length, 0) || !allFinite(values)) {
      return finish(m, { ...report, reason: 'aggregate has the wrong size or non-finite values; nothing published' }, true);
    }
    const version = (m.head?.version ?? 0) + 1;
    const samples = updates.filter((u) => contributors.includes(u.clientId)).reduce((s, u) => s + u.samples, 0);
    const bytes = encodeGlobal(
      {
        model: name,
        version,
        round: round.round,
        contributors: contributors.length,
        samples,
        createdAt: clock.now(),
        aggregator: report.aggregator,
      },
      { layout, values },
    );
    const previous = m.head?.weights.values;
    const done: RoundReport = { ...report, outcome: 'published', version, contributors, durationMs: clock.now() - report.startedAt };
    await commit(m, bytes, done);
    stats.rounds.published++;
    metrics?.rounds.inc({ model: name, outcome: 'published' });
    metrics?.roundSeconds.observe({ model: name }, done.durationMs / 1000);
    await publishHead(m);
    notifyPublished(m, done);
    notifyRound(done);
    await publishReport(done);
    // behaviour evidence: an update pointing the same way as the aggregate is good, against it bad
    if (previous) {
      const direction = directionEvidence(
        updates.map((u) => ({ clientId: u.clientId, values: u.weights.values })),
        values,
        previous,
      );
      for (const e of direction) evidence(e.clientId, e.positive, e.negative, `update accepted, cosine ${e.cosine.toFixed(2)} with the aggregate`);
    }
    logger.info({ model: name, round: round.round, version, accepted: updates.length, dropped: report.dropped.length }, 'FL round published');
    return done;
  }

  async function validateOnHeldOut(m: ModelState, round: ActiveRound, updates: Received[]): Promise<Received[]> {
    const v = m.config.validation!;
    const head = m.head!;
    const tolerance = v.tolerance ?? 0.5;
    v.model.setWeights(head.weights);
    const baseline = await v.model.evaluate(v.rows);
    const kept: Received[] = [];
    for (const u of updates) {
      v.model.setWeights(u.weights);
      const loss = await v.model.evaluate(v.rows);
      if (Number.isFinite(loss) && loss <= baseline * (1 + tolerance)) kept.push(u);
      else reject(m, u.clientId, 'validation_loss', `validation loss ${loss.toPrecision(4)} > baseline ${baseline.toPrecision(4)} × ${1 + tolerance}`, round);
    }
    v.model.setWeights(head.weights);
    return kept;
  }

  async function publishReport(report: RoundReport): Promise<void> {
    try {
      await bus.publishJson(flSubject(domain, report.model, 'round'), report);
    } catch (error) {
      logger.warn({ err: error }, 'could not publish the round report');
    }
  }

  async function finish(m: ModelState, report: RoundReport, persist = false): Promise<RoundReport> {
    const done = { ...report, durationMs: clock.now() - report.startedAt };
    stats.rounds[done.outcome]++;
    metrics?.rounds.inc({ model: m.config.name, outcome: done.outcome });
    if (persist || done.outcome !== 'published') {
      await kv.batch([
        {
          type: 'put',
          key: key(m.config.name, 'round'),
          value: encodeJson({ round: done.round, baseVersion: done.baseVersion, phase: 'closed', selected: done.selected, startedAt: done.startedAt }),
        },
        { type: 'put', key: key(m.config.name, 'report', sortableNumber(done.round, 12)), value: encodeJson(done) },
      ]);
    }
    notifyRound(done);
    await publishReport(done);
    logger.info({ model: m.config.name, round: done.round, outcome: done.outcome, reason: done.reason }, 'FL round closed without a new version');
    return done;
  }

  const stopHooks = new Set<() => void>();
  const publishedListeners = new Set<(e: PublishedEvent) => void>();
  const roundListeners = new Set<(r: RoundReport) => void>();

  function notifyRound(report: RoundReport): void {
    for (const l of roundListeners) {
      try {
        l(report);
      } catch (error) {
        logger.warn({ err: error }, 'round listener failed');
      }
    }
  }

  function notifyPublished(m: ModelState, report?: RoundReport): void {
    const head = m.head!;
    for (const l of publishedListeners) {
      try {
        l({ model: m.config.name, version: head.version, header: head.header, weights: head.weights, report });
      } catch (error) {
        logger.warn({ err: error }, 'published listener failed');
      }
    }
  }

  async function adopt(name: string, weights: FlatWeights, adoptOptions: AdoptOptions): Promise<number> {
    if (state !== 'started') throw new NotStartedError('coordinator');
    const m = modelState(name);
    while (m.active || m.adopting) await (m.roundDone ?? new Promise((r) => setImmediate(r)));
    if (!m.head) throw new InvalidFederationOptionsError(`model ${name} has no version yet; adopt needs a head to match`, { model: name });
    if (!layoutsEqual(weights.layout, m.head.weights.layout) || weights.values.length !== m.head.weights.values.length) {
      throw new LayoutMismatchError(`adopted weights for ${name} do not match the head's layout`, { model: name });
    }
    if (!allFinite(weights.values)) throw new InvalidFederationOptionsError(`adopted weights for ${name} contain NaN or Infinity`, { model: name });
    m.adopting = true;
    try {
      const version = m.head.version + 1;
      const bytes = encodeGlobal(
        {
          model: name,
          version,
          round: m.lastClosedRound,
          contributors: adoptOptions.contributors ?? 0,
          samples: adoptOptions.samples,
          createdAt: clock.now(),
          aggregator: adoptOptions.aggregator,
        },
        weights,
      );
      await commit(m, bytes, undefined);
      await publishHead(m);
      notifyPublished(m);
      logger.info({ model: name, version, aggregator: adoptOptions.aggregator }, 'adopted a model version');
      return version;
    } finally {
      m.adopting = false;
    }
  }

  function scheduleAuto(): void {
    if (o.roundIntervalMs === undefined || state !== 'started') return;
    autoTimer = clock.setTimeout(() => {
      autoRunning = (async () => {
        for (const name of models.keys()) {
          if (state !== 'started') return;
          try {
            await runRound(name);
          } catch (error) {
            logger.warn({ err: error, model: name }, 'automatic FL round failed');
          }
        }
      })().finally(() => {
        autoRunning = undefined;
        scheduleAuto();
      });
    }, o.roundIntervalMs);
  }

  return {
    agentId,
    async start() {
      if (state === 'started') return;
      if (state !== 'idle') throw new NotStartedError('a stopped coordinator');
      for (const m of models.values()) await loadModel(m);
      for (const m of models.values()) {
        subscriptions.push(bus.subscribe(flSubject(domain, m.config.name, 'join'), (msg) => onJoin(m, msg)));
        subscriptions.push(bus.subscribe(flSubject(domain, m.config.name, 'update'), (msg) => onUpdate(m, msg)));
      }
      state = 'started';
      await bus.flush();
      for (const m of models.values()) await publishHead(m);
      scheduleAuto();
      logger.info({ models: [...models.keys()] }, 'FL coordinator started');
    },
    async stop() {
      if (state !== 'started') {
        state = 'stopped';
        return;
      }
      state = 'stopping';
      clock.clearTimeout(autoTimer);
      for (const m of models.values()) clock.clearTimeout(m.headRepublish);
      for (const hook of stopHooks) hook();
      stopHooks.clear();
      await autoRunning;
      for (const s of subscriptions) s.unsubscribe();
      subscriptions.length = 0;
      state = 'stopped';
    },
    runRound,
    head: (name) => modelState(name).head,
    clients(name) {
      const m = modelState(name);
      const now = clock.now();
      return [...m.clients.entries()].filter(([, c]) => now - c.lastSeen <= o.clientTtlMs).map(([id]) => id).sort();
    },
    async history(name, limit = 20) {
      modelState(name);
      const out: RoundReport[] = [];
      for await (const [, v] of kv.entries({ gte: key(name, 'report', ''), lt: key(name, 'report', '~'), reverse: true, limit })) {
        out.push(decodeJson<RoundReport>(v));
      }
      return out;
    },
    stats: () => structuredClone(stats),
    onRound(listener) {
      roundListeners.add(listener);
      return () => roundListeners.delete(listener);
    },
    onPublished(listener) {
      publishedListeners.add(listener);
      return () => publishedListeners.delete(listener);
    },
    adopt,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
