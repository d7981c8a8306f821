import type { ActionOutcome, ActionRequest, SecurityEvent, Verdict } from '@sliceguard/core';
import type { World } from './world.js';

/**
 * Everything a run produces for its report, as plain JSON-able rows. Times are seconds since the
 * start of the run (simulated), rounded to milliseconds, so reports are stable across machines.
 * The security layer calls the `on*` methods; the world's ticks are sampled automatically.
 */
export interface SeriesPoint {
  t: number;
  metrics: Record<string, number>;
  /** Mean latency of legitimate requests served in the period, ms (ground truth). */
  legitLatencyMs: number;
  legitOffered: number;
  legitFailed: number;
  /** Legitimate traffic removed by filters / isolation in the period (benign collateral). */
  legitFiltered: number;
  attackOffered: number;
  attackAdmitted: number;
}

export interface VerdictRow {
  t: number;
  nf: string;
  score: number;
  threshold: number;
  anomalous: boolean;
  top?: string;
}

export interface EventRow {
  t: number;
  type: string;
  level?: string;
  kind?: string;
  source: string;
  target: string;
  severity: number;
  correlationId?: string;
  indicators?: string[];
}

export interface ActionRow {
  t: number;
  id: string;
  type: string;
  target: string;
  source?: string;
  status: string;
  requestedBy: string;
  policyId?: string;
  detail?: string;
  /** reconfigure_monitoring: the granularity asked for (`per_flow` / `aggregate`), when given. */
  mode?: string;
}

export interface MessageRow {
  t: number;
  kind: string;
  from: string;
  to?: string;
  subject: string;
}

export interface TrustRow {
  t: number;
  agentId: string;
  score: number;
}

export interface FlRoundRow {
  t: number;
  round: number;
  domain: string;
  /** Global model loss on the coordinator's validation data (lower is better). */
  loss?: number;
  accepted: number;
  rejected: number;
  note?: string;
}

export interface FaultRow {
  t: number;
  kind: string;
  target: string;
  detail?: string;
}

const ms3 = (x: number) => Math.round(x * 1000) / 1000;
const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : 0);

export class Recorder {
  readonly series = new Map<string, SeriesPoint[]>();
  readonly verdicts: VerdictRow[] = [];
  readonly events: EventRow[] = [];
  readonly actions: ActionRow[] = [];
  readonly messages: MessageRow[] = [];
  readonly trust: TrustRow[] = [];
  readonly flRounds: FlRoundRow[] = [];
  readonly faults: FaultRow[] = [];
  readonly notes: string[] = [];
  busStats: { sent: number; delivered: number; rejected: Record<string, number> } = { sent: 0, delivered: 0, rejected: {} };
  private readonly acc = new Map<string, { n: number; metrics: Record<string, number>; latW: number; lat: number; legit: number; failed: number; filtered: number; att: number; adm: number }>();

  constructor(
    private readonly startMs: number,
    readonly periodMs: number,
  ) {}

  t(at: number): number {
    return ms3((at - this.startMs) / 1000);
  }

  /** Samples the world's ticks into one point per NF per period. */
  attach(world: World): void {
    world.onTick((nf, truth, metrics) => {
      const a = this.acc.get(nf) ?? { n: 0, metrics: {}, latW: 0, lat: 0, legit: 0, failed: 0, filtered: 0, att: 0, adm: 0 };
      a.n++;
      for (const [k, v] of Object.entries(metrics)) a.metrics[k] = (a.metrics[k] ?? 0) + v;
      const w = Math.max(truth.legit.served, 1e-9);
      a.latW += w;
      a.lat += w * truth.legit.latencyMs;
      a.legit += truth.legit.offered;
      a.failed += truth.legit.failed;
      a.filtered += truth.legitFiltered;
      a.att += truth.attackOffered;
      a.adm += truth.attackAdmitted;
      this.acc.set(nf, a);
      const elapsed = truth.at - this.startMs;
      if (elapsed > 0 && elapsed % this.periodMs === 0) this.flush(nf, truth.at);
    });
  }

  private flush(nf: string, at: number): void {
    const a = this.acc.get(nf);
    if (!a || a.n === 0) return;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(a.metrics)) metrics[k] = r4(v / a.n);
    const point: SeriesPoint = {
      t: this.t(at),
      metrics,
      legitLatencyMs: r4(a.latW > 0 ? a.lat / a.latW : 0),
      legitOffered: r4(a.legit / a.n),
      legitFailed: r4(a.failed / a.n),
      legitFiltered: r4(a.filtered / a.n),
      attackOffered: r4(a.att / a.n),
      attackAdmitted: r4(a.adm / a.n),
    };
    const list = this.series.get(nf) ?? [];
    list.push(point);
    this.series.set(nf, list);
    this.acc.delete(nf);
  }

  onVerdict(nf: string, v: Verdict): void {
    const row: VerdictRow = { t: this.t(v.at), nf, score: r4(v.score), threshold: r4(v.threshold), anomalous: v.anomalous };
    if (v.contributors[0]) row.top = v.contributors[0].metric;
    this.verdicts.push(row);
  }

  onEvent(e: SecurityEvent): void {
    const row: EventRow = { t: this.t(e.at), type: e.type, source: e.source, target: e.target, severity: r4(e.severity) };
    if ('level' in e) row.level = e.level;
    if ('kind' in e && typeof e.kind === 'string') row.kind = e.kind;
    if (e.correlationId) row.correlationId = e.correlationId;
    if ((e.type === 'anomaly' || e.type === 'incident') && e.evidence.indicators?.length) {
      row.indicators = e.evidence.indicators.slice(0, 10).map((i) => `${i.kind}:${i.value}`);
    }
    this.events.push(row);
  }

  onAction(request: ActionRequest, outcome: ActionOutcome): void {
    const row: ActionRow = {
      t: this.t(outcome.at),
      id: request.id,
      type: request.type,
      target: request.target,
      status: outcome.status,
      requestedBy: request.requestedBy,
    };
    if (typeof request.params.source === 'string') row.source = request.params.source;
    if (request.policyId) row.policyId = request.policyId;
    const mode = request.params.mode ?? request.params.granularity;
    if (request.type === 'reconfigure_monitoring' && typeof mode === 'string') row.mode = mode;
    if (outcome.detail) row.detail = outcome.detail;
    this.actions.push(row);
  }

  onMessage(row: Omit<MessageRow, 't'> & { at: number }): void {
    const { at, ...rest } = row;
    this.messages.push({ t: this.t(at), ...rest });
  }

  onTrust(agentId: string, score: number, at: number): void {
    this.trust.push({ t: this.t(at), agentId, score: r4(score) });
  }

  onFlRound(row: Omit<FlRoundRow, 't'> & { at: number }): void {
    const { at, ...rest } = row;
    const out: FlRoundRow = { t: this.t(at), ...rest };
    if (out.loss !== undefined) out.loss = r4(out.loss);
    this.flRounds.push(out);
  }

  onFault(kind: string, target: string, at: number, detail?: string): void {
    const row: FaultRow = { t: this.t(at), kind, target };
    if (detail) row.detail = detail;
    this.faults.push(row);
  }

  note(text: string): void {
    this.notes.push(text);
  }
}
