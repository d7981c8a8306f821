import {
  AGENT_ID_PATTERN,
  type Bus,
  type Counter,
  type Gauge,
  type KeyValueStore,
  type KvOperation,
  type Logger,
  type TlaAttribute,
  type TlaSpec,
  TLA_ATTRIBUTES,
  type TrustEvidence,
  type TrustSink,
  type TrustView,
  decodeJson,
  encodeJson,
  silentLogger,
  sortableNumber,
} from '@sliceguard/core';
import { CorruptTrustStateError, InvalidEvidenceError, InvalidRatingError, TrustClosedError, TrustStoreError } from './errors.js';
import { locationEvidence } from './evidence.js';
import { type DecayingCounts, addEvidence, capCounts, countsAt, decayFactor, opinionOf } from './opinion.js';
import { type TrustDefaults, type TrustManagerOptions, parseTrustDefaults } from './options.js';
import { type AttachOptions, attachTrustToBus } from './ratings.js';
import { type ResolvedTla, TRUST_ACTIONS, type TrustAction, resolveTla } from './tla.js';
import {
  type AttributeView,
  type PeerRating,
  STATUS_OF_ACTION,
  TRUST_STATUSES,
  type TrustSnapshot,
  type TrustStatus,
  type TrustTransitionEvent,
} from './types.js';

export interface RegisterOptions {
  /** The agent's TLA (topology's `tla`); omitted: the manager's default TLA. */
  tla?: TlaSpec;
  /** Pre-trusted anchor (domain agents): its ratings weigh `anchorWeight` whatever its score. */
  anchor?: boolean;
}

export interface RateResult {
  accepted: number;
  /** Entries dropped, with why (self-rating, unknown id, bad numbers). */
  rejected: { index: number; reason: string }[];
}

export interface TrustManager extends TrustSink, TrustView {
  /** Declares an agent with its TLA (the domain agent calls this for every agent of the topology). */
  register(agentId: string, options?: RegisterOptions): void;
  /** Adds evidence. Throws InvalidEvidenceError (TRUST_ERR_INVALID_EVIDENCE) on malformed input. */
  record(evidence: TrustEvidence): void;
  /** Folds in a peer's ratings; `rater` must come from a verified message, never from a payload. */
  rate(rater: string, ratings: readonly PeerRating[], at?: number): RateResult;
  /** Checks an agent's observed operating location against its TLA's declared one (compliance evidence). */
  observeLocation(agentId: string, observed: string, at?: number): void;
  snapshot(agentId: string): TrustSnapshot;
  /** Every known agent, sorted by id. */
  list(): TrustSnapshot[];
  status(agentId: string): TrustStatus;
  actions(agentId: string): TrustAction[];
  /** The agent's most recent evidence, newest last. */
  evidence(agentId: string, limit?: number): TrustEvidence[];
  /** Transition events, newest last (of one agent, or of all agents). */
  history(agentId?: string, limit?: number): TrustTransitionEvent[];
  onTransition(listener: (event: TrustTransitionEvent) => void): () => void;
  /** Re-evaluates every agent now (the timer does this every `evaluateIntervalMs`). */
  evaluateAll(): TrustTransitionEvent[];
  /**
   * Operator forgiveness (e.g. after an NF was redeployed): drops the agent's negative evidence and the
   * ratings about it, then re-evaluates. A revocation is not undone: that identity stays revoked.
   */
  forgive(agentId: string, reason: string): TrustTransitionEvent | undefined;
  /** Subscribes to signed peer ratings and wires `bus.onReject`; returns a detach function. */
  attachToBus(bus: Bus, options: AttachOptions): () => void;
  /** Starts the periodic re-evaluation timer (idempotent). */
  start(): void;
  /** Stops the timer (idempotent). */
  stop(): void;
  /** Resolves when every change so far is in the store; rejects with TrustStoreError if a write failed (it is retried on the next flush). */
  flush(): Promise<void>;
  /** Stops, flushes and detaches from buses. Does not close the injected store. Idempotent. */
  close(): Promise<void>;
  readonly defaults: Readonly<TrustDefaults>;
}

interface AgentRecord {
  id: string;
  tlaSpec?: TlaSpec;
  tla: ResolvedTla;
  anchor: boolean;
  firstSeen: number;
  attributes: Partial<Record<TlaAttribute, DecayingCounts>>;
  /** Active actions → since when. */
  flags: Partial<Record<TrustAction, number>>;
  /** Actions imposed by evidence → the earliest time they may be lifted. */
  heldUntil: Partial<Record<TrustAction, number>>;
  revocationPending: boolean;
  /** Referral trust: how often this agent's ratings agreed / disagreed with confident direct evidence. */
  referral: DecayingCounts;
  /** Bumped on every change of attribute evidence or TLA (memoises the direct score per instant). */
  version: number;
  direct?: { now: number; version: number; value: DirectScore };
  evidence: { seq: number; evidence: TrustEvidence }[];
  history: { seq: number; event: TrustTransitionEvent }[];
}

interface PersistedAgent {
  v: 1;
  id: string;
  tla?: TlaSpec;
  anchor: boolean;
  firstSeen: number;
  attributes: Partial<Record<TlaAttribute, DecayingCounts>>;
  flags: Partial<Record<TrustAction, number>>;
  heldUntil?: Partial<Record<TrustAction, number>>;
  revocationPending: boolean;
  referral?: DecayingCounts;
}

interface DirectScore {
  direct: number;
  uncertainty: number;
  mass: number;
  breaches: TlaAttribute[];
}

interface ScoreParts {
  score: number;
  direct: number;
  uncertainty: number;
  indirect: number;
  indirectShare: number;
  raters: number;
  attributes: AttributeView[];
  breaches: TlaAttribute[];
}

interface TrustMetrics {
  evidence: Counter;
  ratings: Counter;
  transitions: Counter;
  rejections: Counter;
  agents: Gauge;
  score: Gauge;
}

const SEVERITY: Record<TrustStatus, number> = {
  trusted: 0,
  weight_reduced: 0.25,
  reports_ignored: 0.5,
  quarantined: 0.75,
  revoked: 1,
};

const RECENT_EVIDENCE_IN_EVENTS = 10;
const POWER_ITERATIONS = 50;
const POWER_TOLERANCE = 1e-5;

function statusOf(flags: Partial<Record<TrustAction, number>>): TrustStatus {
  let status: TrustStatus = 'trusted';
  for (const a of TRUST_ACTIONS) {
    if (flags[a] !== undefined && TRUST_STATUSES.indexOf(STATUS_OF_ACTION[a]) > TRUST_STATUSES.indexOf(status)) {
      status = STATUS_OF_ACTION[a];
    }
  }
  return status;
}

function activeActions(flags: Partial<Record<TrustAction, number>>): TrustAction[] {
  return TRUST_ACTIONS.filter((a) => flags[a] !== undefined);
}

function checkAgentId(id: unknown, field: string, make: (m: string, d: Record<string, unknown>) => Error): string {
  if (typeof id !== 'string' || !AGENT_ID_PATTERN.test(id)) {
    throw make(`${field} must be an agent id like "<domain>:<entity>" (letters, digits, '_', ':', '-'); got ${JSON.stringify(id)}`, {
      field,
      value: id,
    });
  }
  return id;
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

/**
 * Creates a Trust Manager and loads any state persisted in `options.kv` (scores, actions in force,
 * evidence, history, ratings), so trust decisions survive a restart of the domain agent.
 */
export async function createTrustManager(options: TrustManagerOptions): Promise<TrustManager> {
  const defaults = parseTrustDefaults(options.defaults);
  const clock = options.clock;
  const kv = options.kv;
  const prefix = options.keyPrefix ?? 'trust/';
  const self = options.self ?? 'trust-manager';
  const logger: Logger = (options.logger ?? silentLogger()).child({ module: 'trust' });
  const fallbackTla = resolveTla(undefined, defaults, 'defaults.tla');

  const metrics: TrustMetrics | undefined = options.metrics && {
    evidence: options.metrics.counter({
      name: 'sliceguard_trust_evidence_total',
      help: 'Evidence records folded into trust scores, by TLA attribute and polarity',
      labelNames: ['attribute', 'polarity'],
    }),
    ratings: options.metrics.counter({
      name: 'sliceguard_trust_ratings_total',
      help: 'Peer rating entries received, by result',
      labelNames: ['result'],
    }),
    transitions: options.metrics.counter({
      name: 'sliceguard_trust_transitions_total',
      help: 'Trust status transitions, by new status',
      labelNames: ['to'],
    }),
    rejections: options.metrics.counter({
      name: 'sliceguard_trust_bus_rejections_total',
      help: 'Bus rejections attributed to a claimed sender, by reason and whether they counted as evidence',
      labelNames: ['reason', 'counted'],
    }),
    agents: options.metrics.gauge({
      name: 'sliceguard_trust_agents',
      help: 'Known agents by trust status',
      labelNames: ['status'],
    }),
    score: options.metrics.gauge({
      name: 'sliceguard_trust_score',
      help: 'Expected trust in [0, 1] per agent, as of its last evaluation',
      labelNames: ['subject'],
    }),
  };

  const agents = new Map<string, AgentRecord>();
  /** subject → rater → rating evidence. */
  const ratingsAbout = new Map<string, Map<string, DecayingCounts>>();
  const raters = new Set<string>();
  let raterTrust = new Map<string, number>();
  let raterDirty = true;
  let raterRefreshedAt = Number.NEGATIVE_INFINITY;
  let seq = 0;
  const listeners = new Set<(e: TrustTransitionEvent) => void>();
  const detachers = new Set<() => void>();
  let timer: ReturnType<typeof clock.setInterval> | undefined;
  let closed = false;

  // ---- persistence: a write-behind queue of batches ---------------------------------------------
  let pending: KvOperation[] = [];
  let chain: Promise<void> = Promise.resolve();
  let flushScheduled = false;
  let lastWriteError: unknown;

  const keyAgent = (id: string): string => `${prefix}agent/${id}`;
  const keyRating = (subject: string, rater: string): string => `${prefix}rating/${subject}/${rater}`;
  const keyEvidence = (id: string, n: number): string => `${prefix}evidence/${id}/${sortableNumber(n)}`;
  const keyHistory = (id: string, n: number): string => `${prefix}history/${id}/${sortableNumber(n)}`;
  const keyMeta = `${prefix}meta`;

  function writeBatch(): void {
    flushScheduled = false;
    if (!kv || pending.length === 0) return;
    const ops = pending;
    pending = [];
    ops.push({ type: 'put', key: keyMeta, value: encodeJson({ v: 1, seq }) });
    chain = chain.then(
      () =>
        kv.batch(ops).then(
          () => {
            lastWriteError = undefined;
          },
          (error: unknown) => {
            // keep the operations: the next flush retries them before anything newer
            pending = [...ops, ...pending];
            lastWriteError = error;
            logger.error({ err: error, operations: ops.length }, 'trust: writing to the store failed; will retry');
          },
        ),
      () => undefined,
    );
  }

  /** Queues writes; `build` runs only when there is a store, so memory-only managers pay nothing. */
  function persist(build: () => KvOperation[]): void {
    if (!kv) return;
    pending.push(...build());
    if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(writeBatch);
    }
  }

  function agentOps(rec: AgentRecord): KvOperation {
    const doc: PersistedAgent = {
      v: 1,
      id: rec.id,
      ...(rec.tlaSpec ? { tla: rec.tlaSpec } : {}),
      anchor: rec.anchor,
      firstSeen: rec.firstSeen,
      attributes: rec.attributes,
      flags: rec.flags,
      heldUntil: rec.heldUntil,
      revocationPending: rec.revocationPending,
      referral: rec.referral,
    };
    return { type: 'put', key: keyAgent(rec.id), value: encodeJson(doc) };
  }

  // ---- records ------------------------------------------------------------------------------------
  const warnedTlas = new Set<string>();
  function newRecord(id: string, tlaSpec: TlaSpec | undefined, anchor: boolean): AgentRecord {
    const tla = tlaSpec ? resolveTla(tlaSpec, defaults, `tla of ${id}`) : fallbackTla;
    const key = JSON.stringify(tla.thresholds);
    if (tla.thresholds.ignoreReports > 0 && defaults.baseRate >= tla.thresholds.ignoreReports && !warnedTlas.has(key)) {
      warnedTlas.add(key);
      logger.warn(
        { agentId: id, baseRate: defaults.baseRate, ignoreReports: tla.thresholds.ignoreReports },
        'trust: the base rate is not below this TLA\'s ignoreReports threshold, so a fresh identity has its reports counted (whitewashing gains a say); raise thresholds.ignoreReports above the base rate',
      );
    }
    const rec: AgentRecord = {
      id,
      tlaSpec,
      tla,
      anchor,
      firstSeen: clock.now(),
      attributes: {},
      flags: {},
      heldUntil: {},
      revocationPending: false,
      referral: { r: 0, s: 0, at: clock.now() },
      version: 0,
      evidence: [],
      history: [],
    };
    // a newcomer starts with the actions its base-rate score implies, silently: no evidence caused them;
    // pre-trusted anchors (domain agents) are exempt from actions
    const score = defaults.baseRate;
    for (const a of anchor ? [] : TRUST_ACTIONS) {
      const t = tla.thresholds[a];
      if (t > 0 && score < t && a !== 'revoke') rec.flags[a] = rec.firstSeen;
    }
    return rec;
  }

  function ensure(id: string): AgentRecord {
    const known = agents.get(id);
    if (known) return known;
    const rec = newRecord(id, undefined, id === self);
    agents.set(id, rec);
    persist(() => [agentOps(rec)]);
    updateStatusGauge();
    return rec;
  }

  function updateStatusGauge(): void {
    if (!metrics) return;
    const counts = Object.fromEntries(TRUST_STATUSES.map((s) => [s, 0])) as Record<TrustStatus, number>;
    for (const rec of agents.values()) counts[statusOf(rec.flags)]++;
    for (const s of TRUST_STATUSES) metrics.agents.set({ status: s }, counts[s]);
  }

  // ---- scoring -----------------------------------------------------------------------------------
  /** Half-lives of an agent's attribute evidence: negative evidence is remembered `negativeMemory` times longer. */
  function memoryOf(rec: AgentRecord): { positive: number; negative: number } {
    return { positive: rec.tla.halfLifeMs, negative: rec.tla.halfLifeMs * defaults.negativeMemory };
  }

  function attributeViews(rec: AgentRecord, now: number): AttributeView[] {
    return TLA_ATTRIBUTES.map((attribute) => {
      const stored = rec.attributes[attribute];
      const c = stored ? countsAt(stored, now, memoryOf(rec)) : { r: 0, s: 0 };
      const o = opinionOf(c, defaults.baseRate, defaults.priorWeight);
      const weight = rec.tla.weights[attribute];
      const required = rec.tla.required[attribute];
      return {
        attribute,
        weight,
        positive: c.r,
        negative: c.s,
        belief: o.belief,
        disbelief: o.disbelief,
        uncertainty: o.uncertainty,
        expectation: o.expectation,
        ...(required !== undefined ? { required } : {}),
        breached: isBreached(weight, required, c.r, c.s, o.expectation),
      };
    });
  }

  /** An attribute with (almost) no evidence cannot be in breach: its expectation is just the base rate. */
  function isBreached(weight: number, required: number | undefined, r: number, s: number, expectation: number): boolean {
    return weight > 0 && required !== undefined && r + s >= 1 && expectation < required;
  }

  /**
   * The direct opinion: attribute evidence fused by TLA weight (each observation counts its
   * attribute's normalised weight), then capped by the expectation of any breached required attribute.
   */
  function directScore(rec: AgentRecord, now: number): DirectScore {
    const hit = rec.direct;
    if (hit && hit.now === now && hit.version === rec.version) return hit.value;
    const value = computeDirect(rec, now);
    rec.direct = { now, version: rec.version, value };
    return value;
  }

  function computeDirect(rec: AgentRecord, now: number): DirectScore {
    let r = 0;
    let s = 0;
    let cap = 1;
    const breaches: TlaAttribute[] = [];
    for (const attribute of TLA_ATTRIBUTES) {
      const stored = rec.attributes[attribute];
      const weight = rec.tla.weights[attribute];
      if (!stored || weight <= 0) continue;
      const c = countsAt(stored, now, memoryOf(rec));
      r += weight * c.r;
      s += weight * c.s;
      const required = rec.tla.required[attribute];
      if (required !== undefined) {
        const e = opinionOf(c, defaults.baseRate, defaults.priorWeight).expectation;
        if (isBreached(weight, required, c.r, c.s, e)) {
          breaches.push(attribute);
          cap = Math.min(cap, e);
        }
      }
    }
    const o = opinionOf({ r, s }, defaults.baseRate, defaults.priorWeight);
    return { direct: Math.min(o.expectation, cap), uncertainty: o.uncertainty, mass: r + s, breaches };
  }

  /** Whether an agent's ratings are ignored outright (its own reports are ignored, or it is quarantined/revoked). */
  function silenced(rec: AgentRecord): boolean {
    return rec.flags.ignoreReports !== undefined || rec.flags.quarantine !== undefined || rec.flags.revoke !== undefined;
  }

  /** How much a rater's ratings count given its trust `t`: anchors fixed, others from 0 at their ignoreReports threshold up to 1, scaled by referral trust. */
  function weightFromTrust(rater: string, t: number | undefined, referral?: number): number {
    const rec = agents.get(rater);
    if (rater === self || rec?.anchor) return defaults.anchorWeight;
    if (!rec || silenced(rec)) return 0;
    const tau = rec.tla.thresholds.ignoreReports;
    const trust = t ?? defaults.baseRate;
    const functional = tau >= 1 ? 0 : Math.min(1, Math.max(0, (trust - tau) / (1 - tau)));
    return functional * (referral ?? referralOf(rec, clock.now()));
  }

  /** Expectation of the agent's referral opinion (base rate until its ratings were checked). */
  function referralOf(rec: AgentRecord, now: number): number {
    return opinionOf(countsAt(rec.referral, now, rec.tla.halfLifeMs), defaults.baseRate, defaults.priorWeight).expectation;
  }

  /** Rater weights from the last refresh; a rater's entry is recomputed when its flags change. */
  const weightCache = new Map<string, number>();
  function currentRaterWeight(rater: string): number {
    let w = weightCache.get(rater);
    if (w === undefined) {
      w = weightFromTrust(rater, raterTrust.get(rater));
      weightCache.set(rater, w);
    }
    return w;
  }

  /** Decayed, capped rating evidence about `subject`: [rater, r, s][]. */
  function ratingRows(subject: string, halfLifeMs: number, now: number): [string, number, number][] {
    const about = ratingsAbout.get(subject);
    if (!about) return [];
    const rows: [string, number, number][] = [];
    for (const [rater, stored] of about) {
      const c = capCounts(countsAt(stored, now, halfLifeMs), defaults.ratingCap);
      rows.push([rater, c.r, c.s]);
    }
    return rows;
  }

  function indirectFromRows(rows: readonly [string, number, number][], weight: (rater: string) => number): { expectation: number; confidence: number; raters: number } {
    let r = 0;
    let s = 0;
    let n = 0;
    for (const [rater, cr, cs] of rows) {
      const w = weight(rater);
      if (w <= 0) continue;
      r += w * cr;
      s += w * cs;
      n++;
    }
    if (n === 0) return { expectation: defaults.baseRate, confidence: 0, raters: 0 };
    const o = opinionOf({ r, s }, defaults.baseRate, defaults.priorWeight);
    return { expectation: o.expectation, confidence: 1 - o.uncertainty, raters: n };
  }

  interface IndirectEntry {
    now: number;
    version: number;
    /** Each counted rater's weighted, capped contribution (so one new rating updates the sums in O(1)). */
    rows: Map<string, [number, number]>;
    r: number;
    s: number;
    value: { expectation: number; confidence: number; raters: number };
  }
  const indirectCache = new Map<string, IndirectEntry>();
  /** Bumped whenever rater weights change; invalidates `indirectCache`. */
  let indirectVersion = 0;

  /** One rater's weighted, capped contribution to the indirect opinion about a subject, or undefined if it has no say. */
  function contribution(rater: string, stored: DecayingCounts, halfLifeMs: number, now: number): [number, number] | undefined {
    const w = currentRaterWeight(rater);
    if (w <= 0) return undefined;
    const f = decayFactor(now - stored.at, halfLifeMs);
    let cr = stored.r * f;
    let cs = stored.s * f;
    const total = cr + cs;
    if (total > defaults.ratingCap) {
      cr *= defaults.ratingCap / total;
      cs *= defaults.ratingCap / total;
    }
    return [w * cr, w * cs];
  }

  function indirectValue(r: number, s: number, n: number): { expectation: number; confidence: number; raters: number } {
    if (n === 0) return { expectation: defaults.baseRate, confidence: 0, raters: 0 };
    const o = opinionOf({ r, s }, defaults.baseRate, defaults.priorWeight);
    return { expectation: o.expectation, confidence: 1 - o.uncertainty, raters: n };
  }

  function indirectOf(rec: AgentRecord, now: number): { expectation: number; confidence: number; raters: number } {
    const hit = indirectCache.get(rec.id);
    if (hit && hit.now === now && hit.version === indirectVersion) return hit.value;
    const entry: IndirectEntry = { now, version: indirectVersion, rows: new Map(), r: 0, s: 0, value: indirectValue(0, 0, 0) };
    for (const [rater, stored] of ratingsAbout.get(rec.id) ?? []) {
      const c = contribution(rater, stored, rec.tla.halfLifeMs, now);
      if (!c) continue;
      entry.rows.set(rater, c);
      entry.r += c[0];
      entry.s += c[1];
    }
    entry.value = indirectValue(entry.r, entry.s, entry.rows.size);
    indirectCache.set(rec.id, entry);
    return entry.value;
  }

  /** A rating about `subject` by `rater` changed: update a current cache entry in place, else drop it. */
  function ratingChanged(subject: string, rater: string, stored: DecayingCounts, halfLifeMs: number, now: number): void {
    const entry = indirectCache.get(subject);
    if (!entry) return;
    if (entry.now !== now || entry.version !== indirectVersion) {
      indirectCache.delete(subject);
      return;
    }
    const old = entry.rows.get(rater);
    if (old) {
      entry.r -= old[0];
      entry.s -= old[1];
      entry.rows.delete(rater);
    }
    const c = contribution(rater, stored, halfLifeMs, now);
    if (c) {
      entry.rows.set(rater, c);
      entry.r += c[0];
      entry.s += c[1];
    }
    entry.value = indirectValue(Math.max(0, entry.r), Math.max(0, entry.s), entry.rows.size);
  }

  function combine(direct: number, ind: { expectation: number; confidence: number }): { score: number; share: number } {
    const share = defaults.indirectShare * ind.confidence;
    return { score: (1 - share) * direct + share * ind.expectation, share };
  }

  /**
   * EigenTrust-style fixed point: a rater's weight depends on its own trust, which depends on the
   * ratings about it, weighted by its raters' trust… Power iteration from the last vector, with the
   * pre-trusted anchors' weight fixed, converges in a few rounds.
   */
  function refreshRaterTrust(now: number, force = false): void {
    if (!raterDirty && !force) return;
    if (!force && now - raterRefreshedAt < defaults.raterRefreshMs) return;
    const direct = new Map<string, number>();
    const referral = new Map<string, number>();
    const rows = new Map<string, [string, number, number][]>();
    for (const r of raters) {
      const rec = agents.get(r);
      if (!rec) continue;
      direct.set(r, directScore(rec, now).direct);
      referral.set(r, referralOf(rec, now));
      rows.set(r, ratingRows(r, rec.tla.halfLifeMs, now));
    }
    let trust = new Map<string, number>();
    for (const r of direct.keys()) trust.set(r, raterTrust.get(r) ?? direct.get(r) ?? defaults.baseRate);
    for (let k = 0; k < POWER_ITERATIONS; k++) {
      const next = new Map<string, number>();
      let delta = 0;
      const current = trust;
      const weight = (rater: string): number => weightFromTrust(rater, current.get(rater), referral.get(rater));
      for (const [r, d] of direct) {
        const value = combine(d, indirectFromRows(rows.get(r) ?? [], weight)).score;
        delta = Math.max(delta, Math.abs(value - (current.get(r) ?? 0)));
        next.set(r, value);
      }
      trust = next;
      if (delta < POWER_TOLERANCE) break;
    }
    raterTrust = trust;
    weightCache.clear();
    raterDirty = false;
    raterRefreshedAt = now;
    indirectVersion++;
  }

  function scoreParts(rec: AgentRecord, now: number): Omit<ScoreParts, 'attributes'> {
    refreshRaterTrust(now);
    const d = directScore(rec, now);
    const ind = indirectOf(rec, now);
    const { score, share } = combine(d.direct, ind);
    return {
      score,
      direct: d.direct,
      uncertainty: d.uncertainty,
      indirect: ind.expectation,
      indirectShare: share,
      raters: ind.raters,
      breaches: d.breaches,
    };
  }

  function weightOf(rec: AgentRecord, score: number): number {
    if (rec.flags.quarantine !== undefined || rec.flags.revoke !== undefined) return 0;
    return rec.flags.reduceWeight !== undefined ? score * defaults.reducedWeightFactor : score;
  }

  // ---- transitions -------------------------------------------------------------------------------
  function describe(ev: TrustEvidence): string {
    const polarity = ev.negative > ev.positive ? 'negative' : 'positive';
    return `${polarity} ${ev.attribute} evidence from ${ev.source}${ev.reason ? ` (${ev.reason})` : ''}`;
  }

  function evaluate(rec: AgentRecord, cause?: TrustEvidence): TrustTransitionEvent | undefined {
    if (rec.anchor) return undefined;
    const now = clock.now();
    const parts = scoreParts(rec, now);
    const s = parts.score;
    metrics?.score.set({ subject: rec.id }, s);
    const before = { ...rec.flags };
    const added: TrustAction[] = [];
    const lifted: TrustAction[] = [];
    const why: string[] = [];
    for (const action of TRUST_ACTIONS) {
      const t = rec.tla.thresholds[action];
      const active = rec.flags[action] !== undefined;
      if (t <= 0) {
        if (active && action !== 'revoke') {
          delete rec.flags[action];
          delete rec.heldUntil[action];
          lifted.push(action);
          why.push(`${action} disabled by the TLA`);
        }
        continue;
      }
      if (!active && s < t) {
        rec.flags[action] = now;
        // imposed by evidence: stands for at least the hold period (newcomers' initial flags have no hold)
        const hold = defaults.actionHold * rec.tla.halfLifeMs;
        if (hold > 0) rec.heldUntil[action] = now + hold;
        added.push(action);
        why.push(`score ${s.toFixed(3)} < ${action} ${t}`);
      } else if (active && action !== 'revoke' && s > t + defaults.hysteresis && now >= (rec.heldUntil[action] ?? Number.NEGATIVE_INFINITY)) {
        delete rec.flags[action];
        delete rec.heldUntil[action];
        lifted.push(action);
        why.push(`score ${s.toFixed(3)} > ${action} ${t} + hysteresis ${defaults.hysteresis}`);
      }
    }
    if (added.length === 0 && lifted.length === 0) return undefined;
    if (parts.breaches.length > 0) why.push(`required level breached: ${parts.breaches.join(', ')}`);
    if (cause) why.push(`after ${describe(cause)}`);
    seq++;
    const from = statusOf(before);
    const to = statusOf(rec.flags);
    const event: TrustTransitionEvent = {
      id: `trust-${sortableNumber(seq, 8)}`,
      type: 'trust',
      at: now,
      source: self,
      target: rec.id,
      severity: SEVERITY[to],
      subject: rec.id,
      from,
      to,
      score: round(s),
      reason: why.join('; '),
      added,
      lifted,
      active: activeActions(rec.flags),
      ...(cause ? { cause } : {}),
      evidence: rec.evidence.slice(-RECENT_EVIDENCE_IN_EVENTS).map((e) => e.evidence),
      attributes: attributeViews(rec, now)
        .filter((a) => a.weight > 0)
        .map((a) => ({ attribute: a.attribute, expectation: round(a.expectation), uncertainty: round(a.uncertainty), breached: a.breached })),
      thresholds: { ...rec.tla.thresholds },
    };
    rec.history.push({ seq, event });
    const dropped: number[] = [];
    while (rec.history.length > defaults.historyRetention) dropped.push(rec.history.shift()?.seq ?? -1);
    if (added.includes('revoke')) rec.revocationPending = options.onRevoke !== undefined;
    const eventSeq = seq;
    if (raters.has(rec.id)) {
      weightCache.delete(rec.id);
      indirectVersion++;
    }
    persist(() => [
      agentOps(rec),
      { type: 'put', key: keyHistory(rec.id, eventSeq), value: encodeJson(event) },
      ...dropped.map((n): KvOperation => ({ type: 'del', key: keyHistory(rec.id, n) })),
    ]);
    raterDirty = true;
    metrics?.transitions.inc({ to });
    updateStatusGauge();
    logger.info({ subject: rec.id, from, to, score: event.score, added, lifted }, 'trust: transition');
    if (added.includes('revoke')) callRevoke(rec, event);
    for (const l of listeners) {
      try {
        l(event);
      } catch (error) {
        logger.error({ err: error, subject: rec.id }, 'trust: transition listener threw');
      }
    }
    return event;
  }

  function callRevoke(rec: AgentRecord, event: TrustTransitionEvent): void {
    const onRevoke = options.onRevoke;
    if (!onRevoke) return;
    Promise.resolve()
      .then(() => onRevoke(rec.id, event))
      .then(
        () => {
          rec.revocationPending = false;
          persist(() => [agentOps(rec)]);
        },
        (error: unknown) => {
          logger.error({ err: error, subject: rec.id }, 'trust: revocation callback failed; retried on the next evaluation');
        },
      );
  }

  function retryRevocations(): void {
    for (const rec of agents.values()) {
      if (!rec.revocationPending || rec.flags.revoke === undefined) continue;
      const last = [...rec.history].reverse().find((h) => h.event.added.includes('revoke'));
      if (last) callRevoke(rec, last.event);
    }
  }

  // ---- evidence ----------------------------------------------------------------------------------
  function validateEvidence(ev: TrustEvidence): void {
    if (typeof ev !== 'object' || ev === null) throw new InvalidEvidenceError('evidence must be an object', { value: ev });
    checkAgentId(ev.subject, 'evidence.subject', (m, d) => new InvalidEvidenceError(m, d));
    if (!(TLA_ATTRIBUTES as readonly string[]).includes(ev.attribute)) {
      throw new InvalidEvidenceError(`evidence.attribute must be one of ${TLA_ATTRIBUTES.join(', ')}; got ${JSON.stringify(ev.attribute)}`, {
        field: 'evidence.attribute',
        value: ev.attribute,
        subject: ev.subject,
      });
    }
    for (const field of ['positive', 'negative'] as const) {
      const v = ev[field];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > defaults.maxEvidencePerRecord) {
        throw new InvalidEvidenceError(`evidence.${field} must be a finite number in [0, ${defaults.maxEvidencePerRecord}]; got ${String(v)}`, {
          field: `evidence.${field}`,
          value: v,
          subject: ev.subject,
        });
      }
    }
    if (ev.positive === 0 && ev.negative === 0) {
      throw new InvalidEvidenceError('evidence carries no observation (positive and negative are both 0)', { subject: ev.subject, attribute: ev.attribute });
    }
    if (typeof ev.at !== 'number' || !Number.isFinite(ev.at)) {
      throw new InvalidEvidenceError(`evidence.at must be a clock time in ms; got ${String(ev.at)}`, { field: 'evidence.at', value: ev.at, subject: ev.subject });
    }
    if (typeof ev.source !== 'string' || ev.source.length === 0) {
      throw new InvalidEvidenceError('evidence.source must name the observer (agent id or "self")', { field: 'evidence.source', subject: ev.subject });
    }
  }

  function apply(ev: TrustEvidence): TrustTransitionEvent | undefined {
    const rec = ensure(ev.subject);
    const now = clock.now();
    const quarantined = rec.flags.quarantine !== undefined || rec.flags.revoke !== undefined;
    // probation: good behaviour of a quarantined agent is worth less, so an on-off attacker cannot
    // buy its way out quickly; its bad behaviour still counts in full
    const positive = quarantined ? ev.positive * defaults.probationWeight : ev.positive;
    const stored = rec.attributes[ev.attribute] ?? { r: 0, s: 0, at: now };
    rec.attributes[ev.attribute] = addEvidence(stored, positive, ev.negative, ev.at, now, memoryOf(rec));
    rec.version++;
    seq++;
    const entry = { seq, evidence: { ...ev } };
    rec.evidence.push(entry);
    const dropped: number[] = [];
    while (rec.evidence.length > defaults.evidenceRetention) dropped.push(rec.evidence.shift()?.seq ?? -1);
    persist(() => [
      agentOps(rec),
      { type: 'put', key: keyEvidence(rec.id, entry.seq), value: encodeJson(entry.evidence) },
      ...dropped.map((n): KvOperation => ({ type: 'del', key: keyEvidence(rec.id, n) })),
    ]);
    if (raters.has(rec.id)) raterDirty = true;
    metrics?.evidence.inc({ attribute: ev.attribute, polarity: ev.negative > ev.positive ? 'negative' : 'positive' });
    return evaluate(rec, ev);
  }

  function assertOpen(operation: string): void {
    if (closed) throw new TrustClosedError(operation);
  }

  // ---- loading -----------------------------------------------------------------------------------
  async function load(store: KeyValueStore): Promise<void> {
    const evidenceRows: [string, Uint8Array][] = [];
    const historyRows: [string, Uint8Array][] = [];
    try {
      for await (const [key, value] of store.entries({ gte: prefix, lt: `${prefix}\uffff` })) {
        const rest = key.slice(prefix.length);
        if (rest === 'meta') {
          const meta = decodeOr<{ seq: number }>(key, value);
          seq = Math.max(seq, Number(meta.seq) || 0);
        } else if (rest.startsWith('agent/')) {
          const doc = decodeOr<PersistedAgent>(key, value);
          if (doc.v !== 1 || typeof doc.id !== 'string') throw new CorruptTrustStateError(`unexpected agent record at ${key}`, { key });
          const rec = newRecord(doc.id, doc.tla, doc.anchor === true);
          rec.firstSeen = doc.firstSeen;
          rec.attributes = doc.attributes ?? {};
          rec.flags = doc.flags ?? {};
          rec.heldUntil = doc.heldUntil ?? {};
          rec.revocationPending = doc.revocationPending === true;
          if (doc.referral) rec.referral = doc.referral;
          agents.set(rec.id, rec);
        } else if (rest.startsWith('rating/')) {
          const [subject, rater] = rest.slice('rating/'.length).split('/');
          const c = decodeOr<DecayingCounts>(key, value);
          let about = ratingsAbout.get(subject);
          if (!about) ratingsAbout.set(subject, (about = new Map()));
          about.set(rater, c);
          raters.add(rater);
        } else if (rest.startsWith('evidence/')) evidenceRows.push([rest, value]);
        else if (rest.startsWith('history/')) historyRows.push([rest, value]);
      }
    } catch (error) {
      if (error instanceof CorruptTrustStateError) throw error;
      throw new TrustStoreError('could not read the trust state from the store', error, { prefix });
    }
    for (const [rest, value] of evidenceRows) {
      const [, id, n] = rest.split('/');
      const rec = agents.get(id);
      if (rec) rec.evidence.push({ seq: Number(n), evidence: decodeOr<TrustEvidence>(prefix + rest, value) });
    }
    for (const [rest, value] of historyRows) {
      const [, id, n] = rest.split('/');
      const rec = agents.get(id);
      if (rec) rec.history.push({ seq: Number(n), event: decodeOr<TrustTransitionEvent>(prefix + rest, value) });
    }
    for (const rec of agents.values()) seq = Math.max(seq, ...rec.evidence.map((e) => e.seq), ...rec.history.map((h) => h.seq));
    updateStatusGauge();
  }

  function decodeOr<T>(key: string, value: Uint8Array): T {
    try {
      return decodeJson<T>(value);
    } catch (cause) {
      throw new CorruptTrustStateError(`the trust record at key "${key}" is not valid JSON; delete that key or restore the store from a backup`, { key }, cause);
    }
  }

  if (kv) await load(kv);

  // ---- the public object -------------------------------------------------------------------------
  const manager: TrustManager = {
    defaults,

    register(agentId, opts = {}) {
      assertOpen('register');
      checkAgentId(agentId, 'agentId', (m, d) => new InvalidEvidenceError(m, d));
      const existing = agents.get(agentId);
      if (existing) {
        if (opts.tla) {
          existing.tla = resolveTla(opts.tla, defaults, `tla of ${agentId}`);
          existing.version++;
          existing.tlaSpec = opts.tla;
        }
        if (opts.anchor !== undefined) existing.anchor = opts.anchor;
        if (existing.anchor) {
          existing.flags = {};
          existing.heldUntil = {};
        }
        weightCache.delete(agentId);
        indirectVersion++;
        persist(() => [agentOps(existing)]);
        raterDirty = true;
        evaluate(existing);
        return;
      }
      const rec = newRecord(agentId, opts.tla, opts.anchor === true || agentId === self);
      agents.set(agentId, rec);
      persist(() => [agentOps(rec)]);
      raterDirty = true;
      weightCache.delete(agentId);
      indirectVersion++;
      updateStatusGauge();
    },

    record(evidence) {
      assertOpen('record evidence');
      validateEvidence(evidence);
      apply(evidence);
    },

    rate(rater, ratings, at) {
      assertOpen('rate');
      checkAgentId(rater, 'rater', (m, d) => new InvalidRatingError(m, d));
      if (!Array.isArray(ratings)) throw new InvalidRatingError('ratings must be an array of { subject, positive, negative }', { rater });
      const now = clock.now();
      const when = at ?? now;
      const result: RateResult = { accepted: 0, rejected: [] };
      const touched = new Set<string>();
      let agreed = 0;
      let contradicted = 0;
      ratings.forEach((entry, index) => {
        const reason = ratingProblem(entry, rater);
        if (reason) {
          result.rejected.push({ index, reason });
          metrics?.ratings.inc({ result: 'rejected' });
          return;
        }
        const subjectRec = ensure(entry.subject);
        let about = ratingsAbout.get(entry.subject);
        if (!about) ratingsAbout.set(entry.subject, (about = new Map()));
        const stored = about.get(rater) ?? { r: 0, s: 0, at: now };
        const updated = addEvidence(stored, entry.positive, entry.negative, when, now, subjectRec.tla.halfLifeMs);
        // keep the stored mass bounded too, so a flood of ratings cannot bank weight for later
        const capped = capCounts(updated, defaults.ratingCap * 4);
        about.set(rater, { r: capped.r, s: capped.s, at: updated.at });
        raters.add(rater);
        const saved = about.get(rater);
        persist(() => [{ type: 'put', key: keyRating(entry.subject, rater), value: encodeJson(saved) }]);
        touched.add(entry.subject);
        ratingChanged(entry.subject, rater, about.get(rater) ?? updated, subjectRec.tla.halfLifeMs, now);
        result.accepted++;
        metrics?.ratings.inc({ result: 'accepted' });
        if (defaults.credibilityWeight > 0 && rater !== self) {
          const c = credibilityOf(entry, subjectRec, now);
          if (c > 0) agreed += c;
          else if (c < 0) contradicted -= c;
        }
      });
      raterDirty = true;
      const raterRec = ensure(rater);
      if (agreed + contradicted > 0) {
        raterRec.referral = addEvidence(raterRec.referral, agreed, contradicted, now, now, raterRec.tla.halfLifeMs);
        // the rater's weight catches up at the next refresh (at most `raterRefreshMs` away): re-scoring
        // every subject it rated after each of its messages would cost O(ratings) per message
        persist(() => [agentOps(raterRec)]);
      }
      for (const subject of touched) {
        const rec = agents.get(subject);
        if (rec) evaluate(rec);
      }
      return result;
    },

    observeLocation(agentId, observed, at) {
      assertOpen('observe a location');
      const rec = ensure(checkAgentId(agentId, 'agentId', (m, d) => new InvalidEvidenceError(m, d)));
      if (!rec.tla.location) return;
      manager.record(locationEvidence(agentId, rec.tla.location, observed, at ?? clock.now()));
    },

    score(agentId) {
      const rec = agents.get(agentId);
      if (!rec) return defaults.baseRate;
      return scoreParts(rec, clock.now()).score;
    },

    weight(agentId) {
      const rec = agents.get(agentId);
      if (!rec) {
        const flags = newRecord(agentId, undefined, false).flags;
        return flags.reduceWeight !== undefined ? defaults.baseRate * defaults.reducedWeightFactor : defaults.baseRate;
      }
      return weightOf(rec, scoreParts(rec, clock.now()).score);
    },

    isQuarantined(agentId) {
      const rec = agents.get(agentId);
      return rec !== undefined && (rec.flags.quarantine !== undefined || rec.flags.revoke !== undefined);
    },

    status(agentId) {
      const rec = agents.get(agentId);
      return rec ? statusOf(rec.flags) : statusOf(newRecord(agentId, undefined, false).flags);
    },

    actions(agentId) {
      const rec = agents.get(agentId);
      return rec ? activeActions(rec.flags) : activeActions(newRecord(agentId, undefined, false).flags);
    },

    snapshot(agentId) {
      const rec = agents.get(agentId) ?? newRecord(agentId, undefined, false);
      const parts = scoreParts(rec, clock.now());
      return {
        agentId,
        score: parts.score,
        direct: parts.direct,
        uncertainty: parts.uncertainty,
        indirect: parts.indirect,
        indirectShare: parts.indirectShare,
        raters: parts.raters,
        weight: weightOf(rec, parts.score),
        referral: referralOf(rec, clock.now()),
        status: statusOf(rec.flags),
        actions: activeActions(rec.flags),
        heldUntil: { ...rec.heldUntil },
        anchor: rec.anchor,
        firstSeen: rec.firstSeen,
        attributes: attributeViews(rec, clock.now()),
        breaches: parts.breaches,
        revocationPending: rec.revocationPending,
      };
    },

    list() {
      return [...agents.keys()].sort().map((id) => manager.snapshot(id));
    },

    evidence(agentId, limit = defaults.evidenceRetention) {
      return (agents.get(agentId)?.evidence ?? []).slice(-limit).map((e) => e.evidence);
    },

    history(agentId, limit = Number.POSITIVE_INFINITY) {
      const rows = agentId
        ? (agents.get(agentId)?.history ?? [])
        : [...agents.values()].flatMap((r) => r.history).sort((a, b) => a.seq - b.seq);
      return (limit >= rows.length ? rows : rows.slice(rows.length - Math.max(0, limit))).map((h) => h.event);
    },

    onTransition(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    evaluateAll() {
      assertOpen('evaluate');
      // time passed: forgetting moved everyone's trust, so rater weights are due (throttled)
      raterDirty = true;
      pruneRatings(clock.now());
      const events: TrustTransitionEvent[] = [];
      for (const rec of agents.values()) {
        const e = evaluate(rec);
        if (e) events.push(e);
      }
      retryRevocations();
      return events;
    },

    forgive(agentId, reason) {
      assertOpen('forgive');
      const rec = agents.get(agentId);
      if (!rec) return undefined;
      const now = clock.now();
      for (const a of TLA_ATTRIBUTES) {
        const c = rec.attributes[a];
        if (c) rec.attributes[a] = { ...countsAt(c, now, memoryOf(rec)), s: 0, at: now };
        rec.version++;
      }
      rec.heldUntil = {};
      const about = ratingsAbout.get(agentId);
      if (about) {
        const gone = [...about.keys()];
        persist(() => gone.map((rater): KvOperation => ({ type: 'del', key: keyRating(agentId, rater) })));
        ratingsAbout.delete(agentId);
        indirectCache.delete(agentId);
      }
      raterDirty = true;
      persist(() => [agentOps(rec)]);
      return evaluate(rec, { subject: agentId, attribute: 'security_measures', positive: 0, negative: 0, source: 'operator', at: now, reason: `forgiven: ${reason}` });
    },

    attachToBus(bus, attachOptions) {
      assertOpen('attach to a bus');
      const detach = attachTrustToBus(manager, bus, { ...attachOptions, clock, logger, defaults, metrics: metrics && { rejections: metrics.rejections } });
      const once = (): void => {
        if (detachers.delete(once)) detach();
      };
      detachers.add(once);
      return once;
    },

    start() {
      if (timer || closed || defaults.evaluateIntervalMs <= 0) return;
      timer = clock.setInterval(() => {
        try {
          manager.evaluateAll();
        } catch (error) {
          logger.error({ err: error }, 'trust: periodic evaluation failed');
        }
      }, defaults.evaluateIntervalMs);
    },

    stop() {
      if (timer) clock.clearInterval(timer);
      timer = undefined;
    },

    async flush() {
      writeBatch();
      await chain;
      if (pending.length > 0) {
        writeBatch();
        await chain;
      }
      if (lastWriteError !== undefined) throw new TrustStoreError('could not write the trust state to the store', lastWriteError, { prefix });
    },

    async close() {
      if (closed) return;
      manager.stop();
      for (const d of [...detachers]) d();
      await manager.flush();
      closed = true;
      listeners.clear();
    },
  };

  /** Drops ratings that have faded to nothing, so a long-running manager does not keep every pair it ever saw. */
  let prunedAt = Number.NEGATIVE_INFINITY;
  function pruneRatings(now: number): void {
    // a rating needs ~10 half-lives to fade below 1e-3: checking once per half-life is plenty
    if (now - prunedAt < defaults.halfLifeMs) return;
    prunedAt = now;
    const gone: [string, string][] = [];
    for (const [subject, about] of ratingsAbout) {
      const hl = agents.get(subject)?.tla.halfLifeMs ?? defaults.halfLifeMs;
      for (const [rater, stored] of about) {
        const c = countsAt(stored, now, hl);
        if (c.r + c.s < 1e-3) {
          about.delete(rater);
          gone.push([subject, rater]);
        }
      }
      if (about.size === 0) ratingsAbout.delete(subject);
    }
    if (gone.length === 0) return;
    for (const [subject] of gone) indirectCache.delete(subject);
    persist(() => gone.map(([subject, rater]): KvOperation => ({ type: 'del', key: keyRating(subject, rater) })));
  }

  function ratingProblem(entry: PeerRating, rater: string): string | undefined {
    if (typeof entry !== 'object' || entry === null) return 'entry is not an object';
    if (typeof entry.subject !== 'string' || !AGENT_ID_PATTERN.test(entry.subject)) return `subject ${JSON.stringify(entry.subject)} is not an agent id`;
    if (entry.subject === rater) return 'an agent cannot rate itself';
    for (const f of ['positive', 'negative'] as const) {
      const v = entry[f];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > defaults.maxEvidencePerRecord) {
        return `${f} must be a finite number in [0, ${defaults.maxEvidencePerRecord}]`;
      }
    }
    if (entry.positive + entry.negative === 0) return 'rating carries no observation';
    return undefined;
  }

  /**
   * Referral check: when the manager already holds confident direct evidence about the subject, a
   * rating that agrees with it counts for the rater's referral trust, one that contradicts it against
   * — so bad-mouthers and ballot-stuffers lose the say their attack needs.
   * Returns +mass (agrees), −mass (contradicts) or 0 (no confident view to compare with).
   */
  function credibilityOf(entry: PeerRating, subjectRec: AgentRecord, now: number): number {
    const d = directScore(subjectRec, now);
    if (d.mass < defaults.credibilityMinMass) return 0;
    const share = entry.positive / (entry.positive + entry.negative);
    const mass = Math.min(1, entry.positive + entry.negative) * defaults.credibilityWeight;
    return Math.abs(share - d.direct) <= defaults.credibilityTolerance ? mass : -mass;
  }

  return manager;
}
