import type { AgentLevel, IdGenerator, IncidentEvent, Indicator, MetricContribution, SecurityEvent, TrustView } from '@sliceguard/core';
import type { AnalyticsEngine, StageContext } from '@sliceguard/mape';
import { classifyContributors } from './classify.js';

export interface CorrelatorOptions {
  agentId: string;
  level: Exclude<AgentLevel, 'nf'>;
  /** The entity incidents are about (sub-slice, slice or domain id). */
  target: string;
  /** Agent ids whose reports count (the loop's children). */
  children: readonly string[];
  ids: IdGenerator;
  /** Children that must report the same kind within the window before an incident is raised (default 1). */
  k?: number;
  /** Reports older than this no longer count (default 60 s). */
  windowMs?: number;
  /** An indicator reported by at least this many children is "shared" (default 2). */
  minSharedIndicator?: number;
  /** While an incident stays open, re-announce it at most this often unless it grows (default 30 s). */
  reemitMs?: number;
  /** Reports of quarantined children, or of children with weight 0, are ignored. */
  trust?: TrustView;
}

interface ChildReport {
  child: string;
  event: SecurityEvent & { evidence?: IncidentEvent['evidence'] };
  kind: string;
  receivedAt: number;
}

interface OpenIncident {
  correlationId: string;
  lastEmit: number;
  children: number;
  severity: number;
}

/** Kind of a child's report: the escalation's kind when given, else derived from its evidence. */
export function reportKind(event: SecurityEvent): string {
  const k = (event as { kind?: unknown }).kind;
  if (typeof k === 'string' && k.length > 0) return k;
  const ev = (event as { evidence?: { contributors?: MetricContribution[] } }).evidence;
  return classifyContributors(ev?.contributors ?? []);
}

/**
 * The AE of sub-slice, slice and domain loops: correlates the children's reports (anomalies,
 * incidents) into the loop's own incidents. Per kind, the children that reported it within the
 * window are counted; at `k` or more an incident is raised (its evidence score is the children's
 * summed trust weight; quarantined or zero-weight children are ignored) whose `children`
 * lists the child events, whose severity grows with the share of children involved, and whose
 * evidence carries the indicators seen by several children first. An open incident keeps its
 * correlation id (the children's own id when they all share one, so an incident keeps its id up
 * the hierarchy) and is re-announced when more children join or every `reemitMs`.
 */
export function correlator(options: CorrelatorOptions): AnalyticsEngine & { stats(): { reports: number; ignored: number; incidents: number } } {
  const k = options.k ?? 1;
  const windowMs = options.windowMs ?? 60_000;
  const minShared = options.minSharedIndicator ?? 2;
  const reemitMs = options.reemitMs ?? 30_000;
  const children = new Set(options.children);
  const n = Math.max(1, children.size);
  const latest = new Map<string, ChildReport>(); // key: child|kind
  const open = new Map<string, OpenIncident>(); // key: kind
  const counters = { reports: 0, ignored: 0, incidents: 0 };

  const weightOf = (child: string): number => {
    if (!options.trust) return 1;
    if (options.trust.isQuarantined(child)) return 0;
    return options.trust.weight(child);
  };

  const perKind = new Map<string, number>(); // live reports per kind
  const forget = (key: string, r: ChildReport): void => {
    latest.delete(key);
    const n = (perKind.get(r.kind) ?? 1) - 1;
    if (n > 0) perKind.set(r.kind, n);
    else {
      perKind.delete(r.kind);
      open.delete(r.kind); // no report of this kind left: the incident is closed
    }
  };
  const prune = (now: number): void => {
    // Oldest first (a re-reported key is moved to the end), so stop at the first live report.
    for (const [key, r] of latest) {
      if (now - r.receivedAt <= windowMs) break;
      forget(key, r);
    }
  };

  const evaluate = (kind: string, context: StageContext): IncidentEvent[] => {
    const reports = [...latest.values()].filter((r) => r.kind === kind);
    const weight = reports.reduce((a, r) => a + weightOf(r.child), 0);
    if (reports.length < k) return [];
    const now = context.now;
    const correlationIds = new Set(reports.map((r) => r.event.correlationId ?? r.event.id));
    let inc = open.get(kind);
    const maxChildSeverity = Math.max(...reports.map((r) => r.event.severity));
    const share = Math.min(1, reports.length / n);
    const severity = Math.min(1, 0.5 * maxChildSeverity + 0.5 * share);
    let emit = false;
    if (!inc) {
      const reuse = correlationIds.size === 1 ? [...correlationIds][0] : undefined;
      inc = { correlationId: reuse ?? options.ids.next('inc'), lastEmit: now, children: reports.length, severity };
      open.set(kind, inc);
      emit = true;
    } else if (reports.length > inc.children || severity >= inc.severity + 0.2 || now - inc.lastEmit >= reemitMs) {
      emit = true;
    }
    if (!emit) return [];
    inc.lastEmit = now;
    inc.children = reports.length;
    inc.severity = severity;
    // Indicators: shared ones (seen by ≥ minShared children) first, then the rest, deduplicated.
    const seenBy = new Map<string, { indicator: Indicator; children: Set<string> }>();
    for (const r of reports) {
      for (const i of r.event.evidence?.indicators ?? []) {
        const key = `${i.kind}:${i.value}`;
        let e = seenBy.get(key);
        if (!e) seenBy.set(key, (e = { indicator: { kind: i.kind, value: i.value }, children: new Set() }));
        e.children.add(r.child);
      }
    }
    const indicators = [...seenBy.values()]
      .sort((a, b) => b.children.size - a.children.size)
      .filter((e, idx) => e.children.size >= minShared || idx < 20)
      .slice(0, 20)
      .map((e) => e.indicator);
    const shared = [...seenBy.values()].filter((e) => e.children.size >= minShared).length;
    const contrib = new Map<string, number>();
    for (const r of reports) for (const c of r.event.evidence?.contributors ?? []) contrib.set(c.metric, (contrib.get(c.metric) ?? 0) + c.share / reports.length);
    const starts = reports.map((r) => r.event.evidence?.window.start ?? r.event.at);
    counters.incidents++;
    const incident: IncidentEvent & { sharedIndicators: number; reporters: string[] } = {
      type: 'incident',
      id: options.ids.next('inc'),
      at: now,
      source: options.agentId,
      target: options.target,
      severity,
      correlationId: inc.correlationId,
      level: options.level,
      kind,
      children: reports.map((r) => r.event.id),
      reporters: reports.map((r) => r.child),
      sharedIndicators: shared,
      evidence: {
        detector: 'correlator',
        score: weight,
        threshold: k,
        contributors: [...contrib]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([metric, s]) => ({ metric, share: s })),
        window: { start: Math.min(...starts), end: now },
        indicators,
      },
    };
    return [incident];
  };

  return {
    name: `correlator:${options.level}`,
    stats: () => ({ ...counters }),
    async analyzeReport(report, context) {
      if (report.type !== 'anomaly' && report.type !== 'incident') return [];
      const child = report.source;
      if (!children.has(child) || weightOf(child) <= 0) {
        counters.ignored++;
        return [];
      }
      counters.reports++;
      const kind = reportKind(report);
      const key = `${child}|${kind}`;
      if (latest.has(key)) latest.delete(key); // keep the map in receipt order
      else perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
      latest.set(key, { child, event: report, kind, receivedAt: context.now });
      prune(context.now);
      return evaluate(kind, context);
    },
    async tick(context) {
      prune(context.now);
      return [];
    },
    reset() {
      latest.clear();
      open.clear();
      perKind.clear();
    },
  };
}
