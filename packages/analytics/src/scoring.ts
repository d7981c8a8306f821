import { InvalidSampleError } from './errors.js';

/**
 * Detection quality against 0/1 labels, all at one fixed threshold:
 * - point-wise precision / recall / F1 (no adjustment);
 * - point-adjusted F1 (an anomaly event counts as fully detected when any of its points is flagged —
 *   the common, flattering convention of the SMD literature);
 * - event-wise: event recall (events with at least one flagged point) and the composite F1 of
 *   Garg et al. 2021 (harmonic mean of point-wise precision and event recall);
 * - mean detection delay: rows from an event's first point to its first flagged point, over the
 *   detected events;
 * - ROC-AUC of the raw score (threshold-free; ties get half credit).
 */
export interface DetectionReport {
  rows: number;
  anomalousRows: number;
  flaggedRows: number;
  events: number;
  detectedEvents: number;
  precision: number;
  recall: number;
  f1: number;
  pointAdjusted: { precision: number; recall: number; f1: number };
  eventRecall: number;
  compositeF1: number;
  /** Mean over detected events, in rows; null when no event was detected. */
  meanDetectionDelayRows: number | null;
  rocAuc: number | null;
}

export function anomalyEvents(labels: ArrayLike<number>): { start: number; end: number }[] {
  const events: { start: number; end: number }[] = [];
  let start = -1;
  for (let i = 0; i <= labels.length; i++) {
    const on = i < labels.length && labels[i] === 1;
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      events.push({ start, end: i - 1 });
      start = -1;
    }
  }
  return events;
}

function prf(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

export function detectionReport(labels: ArrayLike<number>, flags: ArrayLike<number | boolean>, scores: ArrayLike<number>): DetectionReport {
  const n = labels.length;
  if (flags.length !== n || scores.length !== n) {
    throw new InvalidSampleError(`labels (${n}), flags (${flags.length}) and scores (${scores.length}) must have one entry per row`, {});
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let flagged = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] === 1;
    const p = Boolean(flags[i]);
    if (p) flagged++;
    if (y) positives++;
    if (y && p) tp++;
    else if (!y && p) fp++;
    else if (y && !p) fn++;
  }
  const point = prf(tp, fp, fn);
  const events = anomalyEvents(labels);
  let detected = 0;
  let delaySum = 0;
  let paTp = 0;
  let paFn = 0;
  for (const e of events) {
    let first = -1;
    for (let i = e.start; i <= e.end; i++) {
      if (flags[i]) {
        first = i;
        break;
      }
    }
    const len = e.end - e.start + 1;
    if (first >= 0) {
      detected++;
      delaySum += first - e.start;
      paTp += len;
    } else paFn += len;
  }
  const pa = prf(paTp, fp, paFn);
  const eventRecall = events.length > 0 ? detected / events.length : 0;
  const compositeF1 = point.precision + eventRecall > 0 ? (2 * point.precision * eventRecall) / (point.precision + eventRecall) : 0;
  return {
    rows: n,
    anomalousRows: positives,
    flaggedRows: flagged,
    events: events.length,
    detectedEvents: detected,
    ...point,
    pointAdjusted: pa,
    eventRecall,
    compositeF1,
    meanDetectionDelayRows: detected > 0 ? delaySum / detected : null,
    rocAuc: rocAuc(labels, scores),
  };
}

/** Mann–Whitney ROC-AUC with average ranks for ties; null without both classes. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = labels.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
