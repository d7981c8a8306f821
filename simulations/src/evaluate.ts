import type { AttackWindow } from './attacks.js';
import type { Recorder, SeriesPoint } from './recorder.js';

/** Figures of one attack (or benign surge) window. Times are seconds since the start of the run. */
export interface WindowFigures {
  id: string;
  kind: string;
  cls: 'attack' | 'legit';
  targets: string[];
  /** NF whose legitimate latency the figures below describe. */
  impact: string;
  startS: number;
  endS: number;
  detected: boolean;
  detectedAtS?: number;
  detectedAt?: string;
  timeToDetectS?: number;
  /** Time to detect in sampling periods of the NF loops. */
  timeToDetectPeriods?: number;
  mitigatedAtS?: number;
  /** From detection to the first period in which the attack was contained (traffic or effect). */
  timeToMitigateS?: number;
  /** Succeeded mitigation actions (block, rate_limit, deploy_vsf, isolate, update_config, scale_out) in the window. */
  mitigationActions: number;
  legitP95BaselineMs?: number;
  legitP95DuringMs?: number;
  /** p95 over the minute after the window ends. */
  legitP95AfterMs?: number;
  /** From detection until the legitimate response time is back within 20 % of the baseline. */
  recoveryAfterDetectionS?: number;
  /** Legitimate windows: blocks / rate limits that hit its sources, and legitimate traffic filtered. */
  benignMitigations?: number;
  legitFilteredShare?: number;
}

export interface DetectionQuality {
  samples: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  precision: number;
  recall: number;
  /** Alarm episodes (runs of anomalous verdicts per NF) and how many overlapped an attack. */
  episodes: number;
  trueEpisodes: number;
  episodePrecision: number;
  attacks: number;
  attacksDetected: number;
  attackRecall: number;
}

export interface Figures {
  windows: WindowFigures[];
  detection: DetectionQuality;
  perNf: Record<string, Omit<DetectionQuality, 'attacks' | 'attacksDetected' | 'attackRecall'>>;
  /** Succeeded mitigations outside every attack window (plus grace). */
  mitigationsOutsideAttacks: number;
  /** Blocks / rate limits on sources that never attacked, and the share of legitimate traffic filtered. */
  benignMitigations: number;
  legitFilteredShare: number;
  actions: Record<string, number>;
  messages: { byKind: Record<string, number>; sent: number; delivered: number; rejected: Record<string, number> };
  sslaViolations: { window: string; metric: string; targetS: number; observedS: number }[];
}

export const MITIGATION_TYPES = ['block', 'rate_limit', 'deploy_vsf', 'isolate', 'update_config', 'scale_out'] as const;
const TRAFFIC_MITIGATIONS = ['block', 'rate_limit', 'isolate'];

export interface EvaluateOptions {
  windows: readonly AttackWindow[];
  samplingPeriodMs: number;
  /** Seconds after a window's end during which detections and mitigations still count. Default 60. */
  graceS?: number;
  /** Seconds at the start ignored for baselines (warm-up). Default 60. */
  warmupS?: number;
  /** SSLA of the protected slice, if any. */
  ssla?: { timeToDetectMs?: number; timeToMitigateMs?: number };
}

function p95(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
}

const round = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? undefined : Math.round(x * 10 ** d) / 10 ** d);

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export function evaluate(rec: Recorder, options: EvaluateOptions): Figures {
  const grace = options.graceS ?? 60;
  const warmup = options.warmupS ?? 60;
  const periodS = options.samplingPeriodMs / 1000;
  const windows = options.windows.map((w) => ({ ...w, s: w.startMs / 1000, e: w.endMs / 1000 }));
  const attacks = windows.filter((w) => w.cls === 'attack');
  const attackSources = new Set(attacks.flatMap((w) => w.sources));
  const inAttack = (t: number, g = grace) => attacks.some((w) => t >= w.s && t <= w.e + g);
  // the MANO's own autoscaler is part of the network, not a security mitigation
  const loopActions = rec.actions.filter((a) => a.status === 'succeeded' && !a.requestedBy.startsWith('mano:'));
  const pointAt = (nf: string, t: number): SeriesPoint | undefined => rec.series.get(nf)?.find((p) => p.t >= t - 1e-9);

  // NFs that carried attack traffic during each window (targets and what the chain forwarded to)
  const touched = (w: (typeof windows)[number]) =>
    [...rec.series.entries()].filter(([, pts]) => pts.some((p) => p.t > w.s && p.t <= w.e + periodS && p.attackOffered > 0)).map(([nf]) => nf);

  const baselineOf = (nf: string): number | undefined => {
    const pts = (rec.series.get(nf) ?? []).filter((p) => p.t > warmup && !windows.some((w) => p.t > w.s && p.t <= w.e + grace * 2));
    return p95(pts.map((p) => p.legitLatencyMs));
  };

  const windowFigures: WindowFigures[] = windows.map((w) => {
    const nfs = w.cls === 'attack' ? [...new Set([...w.targets, ...touched(w)])] : w.targets;
    const detections = [
      ...rec.verdicts.filter((v) => v.anomalous && nfs.includes(v.nf) && v.t >= w.s && v.t <= w.e + grace).map((v) => ({ t: v.t, by: v.nf })),
      ...rec.events
        .filter((e) => (e.type === 'anomaly' || e.type === 'incident') && e.t >= w.s && e.t <= w.e + grace)
        .filter((e) => nfs.includes(e.target) || nfs.some((nf) => e.source.endsWith(`:${nf}`)))
        .map((e) => ({ t: e.t, by: e.source })),
    ].sort((a, b) => a.t - b.t);
    const first = detections[0];
    const mitigations = loopActions.filter((a) => (MITIGATION_TYPES as readonly string[]).includes(a.type) && a.t >= w.s && a.t <= w.e + grace);
    const target = w.impact ?? w.targets[0];
    const baseline = baselineOf(target);
    const pts = rec.series.get(target) ?? [];
    const during = pts.filter((p) => p.t > w.s && p.t <= w.e);
    const after = pts.filter((p) => p.t > w.e && p.t <= w.e + 60);
    const fig: WindowFigures = {
      id: w.id,
      kind: w.kind,
      cls: w.cls,
      targets: w.targets,
      impact: target,
      startS: w.s,
      endS: w.e,
      detected: first !== undefined,
      mitigationActions: mitigations.length,
      legitP95BaselineMs: round(baseline),
      legitP95DuringMs: round(p95(during.map((p) => p.legitLatencyMs))),
      legitP95AfterMs: round(p95(after.map((p) => p.legitLatencyMs))),
    };
    if (first) {
      fig.detectedAtS = first.t;
      fig.detectedAt = first.by;
      fig.timeToDetectS = round(first.t - w.s);
      fig.timeToDetectPeriods = round((first.t - w.s) / periodS, 2);
      if (w.cls === 'attack' && baseline !== undefined) {
        // contained: attack traffic ≤ 10 % admitted at every target, or its effect on users gone
        const contained = (p: SeriesPoint) => (p.attackOffered > 0 && p.attackAdmitted <= 0.1 * p.attackOffered) || p.legitLatencyMs <= 1.2 * baseline;
        const later = pts.filter((p) => p.t >= first.t && p.t <= w.e);
        const idx = later.findIndex((p, i) => contained(p) && later.slice(i, i + 3).every(contained));
        if (idx >= 0) {
          fig.mitigatedAtS = later[idx].t;
          fig.timeToMitigateS = round(later[idx].t - first.t);
        }
        const rec2 = pts.filter((p) => p.t >= first.t);
        const ok = (p: SeriesPoint) => p.legitLatencyMs <= 1.2 * baseline;
        const r = rec2.findIndex((p, i) => ok(p) && rec2.slice(i, i + 3).every(ok));
        if (r >= 0) fig.recoveryAfterDetectionS = round(rec2[r].t - first.t);
      }
    }
    if (w.cls === 'legit') {
      const srcs = new Set(w.sources);
      fig.benignMitigations = loopActions.filter((a) => TRAFFIC_MITIGATIONS.includes(a.type) && a.source !== undefined && srcs.has(a.source)).length;
      const offered = during.reduce((a, p) => a + p.legitOffered, 0);
      const filtered = during.reduce((a, p) => a + p.legitFiltered, 0);
      fig.legitFilteredShare = round(offered > 0 ? filtered / (offered + filtered) : 0, 5);
    }
    return clean(fig);
  });

  // per-sample quality: a verdict is positive-labelled when attack traffic reached its NF in that period
  const perNf: Figures['perNf'] = {};
  const totals = { tp: 0, fp: 0, fn: 0, tn: 0, episodes: 0, trueEpisodes: 0 };
  const byNf = new Map<string, typeof rec.verdicts>();
  for (const v of rec.verdicts) byNf.set(v.nf, [...(byNf.get(v.nf) ?? []), v]);
  for (const [nf, vs] of byNf) {
    const q = { tp: 0, fp: 0, fn: 0, tn: 0, episodes: 0, trueEpisodes: 0 };
    let open: { start: number; end: number } | undefined;
    const closeEpisode = () => {
      if (!open) return;
      q.episodes++;
      const o = open;
      if (attacks.some((w) => o.end >= w.s && o.start <= w.e + grace)) q.trueEpisodes++;
      open = undefined;
    };
    for (const v of vs) {
      const p = pointAt(nf, v.t);
      const positive = (p?.attackAdmitted ?? 0) > 0;
      if (v.anomalous && positive) q.tp++;
      else if (v.anomalous) q.fp++;
      else if (positive) q.fn++;
      else q.tn++;
      if (v.anomalous) {
        if (open && v.t - open.end <= 30) open.end = v.t;
        else {
          closeEpisode();
          open = { start: v.t, end: v.t };
        }
      }
    }
    closeEpisode();
    perNf[nf] = quality(q);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += q[k];
  }
  const detected = windowFigures.filter((w) => w.cls === 'attack' && w.detected).length;
  const detection: DetectionQuality = {
    ...quality(totals),
    attacks: attacks.length,
    attacksDetected: detected,
    attackRecall: attacks.length ? round(detected / attacks.length, 4)! : 1,
  };

  const succeeded = loopActions;
  const actions: Record<string, number> = {};
  for (const a of rec.actions.filter((x) => x.status === 'succeeded')) {
    const key = a.requestedBy.startsWith('mano:') ? `${a.type} (MANO autoscaler)` : a.type;
    actions[key] = (actions[key] ?? 0) + 1;
  }
  const mitigationsOutsideAttacks = succeeded.filter((a) => (MITIGATION_TYPES as readonly string[]).includes(a.type) && !inAttack(a.t, grace * 2)).length;
  const benignMitigations = succeeded.filter((a) => TRAFFIC_MITIGATIONS.includes(a.type) && a.source !== undefined && !attackSources.has(a.source)).length;
  let legitOffered = 0;
  let legitFiltered = 0;
  for (const pts of rec.series.values()) {
    for (const p of pts) {
      legitOffered += p.legitOffered;
      legitFiltered += p.legitFiltered;
    }
  }
  const byKind: Record<string, number> = {};
  for (const m of rec.messages) byKind[m.kind] = (byKind[m.kind] ?? 0) + 1;

  const sslaViolations: Figures['sslaViolations'] = [];
  for (const w of windowFigures) {
    if (w.cls !== 'attack') continue;
    const ttd = options.ssla?.timeToDetectMs;
    const ttm = options.ssla?.timeToMitigateMs;
    if (ttd !== undefined && (w.timeToDetectS === undefined || w.timeToDetectS * 1000 > ttd)) {
      sslaViolations.push({ window: w.id, metric: 'time_to_detect', targetS: ttd / 1000, observedS: w.timeToDetectS ?? -1 });
    }
    if (ttm !== undefined && w.detected && (w.timeToMitigateS === undefined || w.timeToMitigateS * 1000 > ttm)) {
      sslaViolations.push({ window: w.id, metric: 'time_to_mitigate', targetS: ttm / 1000, observedS: w.timeToMitigateS ?? -1 });
    }
  }

  return {
    windows: windowFigures,
    detection,
    perNf,
    mitigationsOutsideAttacks,
    benignMitigations,
    legitFilteredShare: round(legitOffered > 0 ? legitFiltered / (legitOffered + legitFiltered) : 0, 6)!,
    actions,
    messages: { byKind, ...rec.busStats },
    sslaViolations,
  };
}

function quality(q: { tp: number; fp: number; fn: number; tn: number; episodes: number; trueEpisodes: number }) {
  return {
    samples: q.tp + q.fp + q.fn + q.tn,
    truePositives: q.tp,
    falsePositives: q.fp,
    falseNegatives: q.fn,
    trueNegatives: q.tn,
    precision: round(q.tp + q.fp > 0 ? q.tp / (q.tp + q.fp) : 1, 4)!,
    recall: round(q.tp + q.fn > 0 ? q.tp / (q.tp + q.fn) : 1, 4)!,
    episodes: q.episodes,
    trueEpisodes: q.trueEpisodes,
    episodePrecision: round(q.episodes > 0 ? q.trueEpisodes / q.episodes : 1, 4)!,
  };
}
