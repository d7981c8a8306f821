/** Detection quality at a fixed threshold, computed three ways (see ../shared/data/README.md). */
export interface DetectionScores {
  threshold: number;
  /** Point-wise F1, no adjustment. */
  f1: number;
  precision: number;
  recall: number;
  /** F1 with point adjustment (a segment counts as detected if any point in it is flagged). */
  f1PointAdjusted: number;
  /** Event-wise F1: recall over anomaly segments, precision over flagged segments (runs of alarms). */
  f1Event: number;
}

function f1Of(tp: number, fp: number, fn: number): { f1: number; precision: number; recall: number } {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return { f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall), precision, recall };
}

function segments(flags: ArrayLike<number | boolean>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= flags.length; i++) {
    const on = i < flags.length && Boolean(flags[i]);
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  }
  return out;
}

export function detectionScores(scores: Float32Array, labels: Uint8Array, threshold: number): DetectionScores {
  const pred = Uint8Array.from(scores, (s) => (s > threshold ? 1 : 0));
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    if (pred[i] && labels[i]) tp++;
    else if (pred[i]) fp++;
    else if (labels[i]) fn++;
  }
  const point = f1Of(tp, fp, fn);
  const adjusted = Uint8Array.from(pred);
  const truth = segments(labels);
  for (const [a, b] of truth) {
    let hit = false;
    for (let i = a; i < b && !hit; i++) hit = pred[i] === 1;
    if (hit) for (let i = a; i < b; i++) adjusted[i] = 1;
  }
  let tpa = 0;
  let fpa = 0;
  let fna = 0;
  for (let i = 0; i < labels.length; i++) {
    if (adjusted[i] && labels[i]) tpa++;
    else if (adjusted[i]) fpa++;
    else if (labels[i]) fna++;
  }
  const alarms = segments(pred);
  const overlaps = (s: [number, number], set: Array<[number, number]>): boolean => set.some(([a, b]) => s[0] < b && a < s[1]);
  const detected = truth.filter((s) => overlaps(s, alarms)).length;
  const trueAlarms = alarms.filter((s) => overlaps(s, truth)).length;
  const eventP = alarms.length === 0 ? 0 : trueAlarms / alarms.length;
  const eventR = truth.length === 0 ? 0 : detected / truth.length;
  return {
    threshold,
    f1: point.f1,
    precision: point.precision,
    recall: point.recall,
    f1PointAdjusted: f1Of(tpa, fpa, fna).f1,
    f1Event: eventP + eventR === 0 ? 0 : (2 * eventP * eventR) / (eventP + eventR),
  };
}

/** The q-quantile (0..1) of values (linear interpolation); the detector threshold from training scores. */
export function quantile(values: Float32Array, q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = Float64Array.from(values).sort();
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
