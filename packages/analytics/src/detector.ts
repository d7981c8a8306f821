import type { Logger, Sample, StreamingDetector, Verdict } from '@sliceguard/core';
import { silentLogger } from '@sliceguard/core';
import type { ScoreBaseline } from './baseline.js';
import { restoreScoreBaseline } from './baseline.js';
import { InvalidOptionsError, InvalidSampleError, NotTrainedError } from './errors.js';
import type { LstmAutoencoder } from './lstm.js';
import type { Threshold } from './threshold.js';
import { restoreThreshold } from './threshold.js';

/**
 * Streaming and batched scoring over one shared LSTM autoencoder.
 *
 * Each agent (NF) has its own window buffer and its own copy of the model's threshold state (so an
 * adaptive threshold follows that agent's data). `createBatchedScorer` collects the windows that
 * became complete for many agents and scores them in one inference call — how one process serves
 * thousands of NF agents sharing a model. `createLstmDetector` is the single-agent StreamingDetector
 * built on the same code path, so both give the same verdicts.
 *
 * Gaps (documented): a metric that is absent or not finite in a sample is held at the agent's last
 * value for it (`gaps: 'hold'`, default); a sample arriving before any value was seen for such a
 * metric is dropped (counted in stats). With `gaps: 'error'` the sample is rejected. A pause longer
 * than `maxGapMs` between samples clears the agent's window, so a window never spans an outage.
 *
 * Relative score: when the model has a score baseline (`model.baseline`), each agent also keeps its
 * own copy of it (starting from the training tail); a verdict's score is then the window score divided
 * by the agent's baseline, judged against a threshold calibrated on relative training scores, and
 * the baseline learns from every normal window (flagged runs only once they last `adaptAfter`).
 * A gap reset clears the window, not the baseline (it is the agent's error level).
 */
export interface ScorerOptions {
  model: LstmAutoencoder;
  /**
   * Default: the model's calibrated threshold (each agent gets its own copy of its state). With a
   * model that has a score baseline it must be calibrated on relative training scores.
   */
  threshold?: Threshold;
  /** Default 'hold'. */
  gaps?: 'hold' | 'error';
  /** Clear an agent's window when samples are further apart than this. Default Infinity. */
  maxGapMs?: number;
  /** Contributors listed per verdict. Default 5. */
  maxContributors?: number;
  /** Name in verdicts/evidence. Default 'lstm-ae'. */
  name?: string;
  logger?: Logger;
}

export interface AgentSample {
  agentId: string;
  sample: Sample;
}

export interface BatchedScorer {
  readonly name: string;
  readonly metrics: readonly string[];
  /** Buffers samples (in order per agent) and scores every window completed by them in one inference call. */
  pushMany(entries: readonly AgentSample[]): Promise<Map<string, Verdict[]>>;
  /** Forgets one agent's window and threshold state, or every agent's. */
  reset(agentId?: string): void;
  agents(): string[];
  stats(): { samples: number; dropped: number; windowsScored: number; inferenceCalls: number; gapResets: number };
}

class AgentWindow {
  readonly rows: Float32Array;
  readonly times: Float64Array;
  head = 0;
  count = 0;
  lastAt = Number.NEGATIVE_INFINITY;
  readonly last: Float64Array;
  threshold: Threshold;
  baseline: ScoreBaseline | undefined;

  constructor(window: number, features: number, threshold: Threshold, baseline: ScoreBaseline | undefined) {
    this.rows = new Float32Array(window * features);
    this.times = new Float64Array(window);
    this.last = new Float64Array(features).fill(Number.NaN);
    this.threshold = threshold;
    this.baseline = baseline;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

export function createBatchedScorer(options: ScorerOptions): BatchedScorer {
  const model = options.model;
  const base = options.threshold ?? model.threshold;
  if (!base) throw new NotTrainedError('the model has no threshold: calibrate it on training data or pass one', {});
  if (!model.scaler.fitted) throw new NotTrainedError('the model has no fitted scaler: train it or load a saved model', {});
  const gaps = options.gaps ?? 'hold';
  if (gaps !== 'hold' && gaps !== 'error') throw new InvalidOptionsError(`gaps must be 'hold' or 'error', got ${String(gaps)}`, { option: 'gaps' });
  const maxGapMs = options.maxGapMs ?? Number.POSITIVE_INFINITY;
  if (!(maxGapMs > 0)) throw new InvalidOptionsError(`maxGapMs must be > 0, got ${maxGapMs}`, { option: 'maxGapMs' });
  const maxContributors = options.maxContributors ?? 5;
  const name = options.name ?? 'lstm-ae';
  const logger = options.logger ?? silentLogger();
  const metrics = model.metrics;
  const f = metrics.length;
  const w = model.window;
  const baseState = base.toJSON();
  const baselineState = model.baseline ? structuredClone(model.baseline) : undefined;
  const windows = new Map<string, AgentWindow>();
  const counters = { samples: 0, dropped: 0, windowsScored: 0, inferenceCalls: 0, gapResets: 0 };
  const raw = new Float64Array(f);
  const scaled = new Float32Array(f);

  const agentWindow = (agentId: string): AgentWindow => {
    let a = windows.get(agentId);
    if (!a) {
      a = new AgentWindow(w, f, restoreThreshold(baseState), baselineState ? restoreScoreBaseline(baselineState) : undefined);
      windows.set(agentId, a);
    }
    return a;
  };

  /** Appends a sample; returns true when the agent's window is complete. */
  const append = (agentId: string, sample: Sample): boolean => {
    if (!sample || typeof sample.at !== 'number' || !Number.isFinite(sample.at)) {
      throw new InvalidSampleError(`agent ${agentId}: sample.at must be a finite clock time in ms`, { agentId });
    }
    const a = agentWindow(agentId);
    if (sample.at < a.lastAt) {
      throw new InvalidSampleError(`agent ${agentId}: sample time ${sample.at} is before the previous sample (${a.lastAt})`, { agentId, at: sample.at });
    }
    counters.samples++;
    const values = sample.values ?? {};
    const missing: string[] = [];
    for (let j = 0; j < f; j++) {
      const v = values[metrics[j]];
      if (typeof v === 'number' && Number.isFinite(v)) raw[j] = v;
      else if (gaps === 'hold' && Number.isFinite(a.last[j])) raw[j] = a.last[j];
      else missing.push(metrics[j]);
    }
    if (missing.length > 0) {
      if (gaps === 'error') throw new InvalidSampleError(`agent ${agentId}: sample at ${sample.at} lacks a finite value for ${missing.join(', ')}`, { agentId, metrics: missing });
      counters.dropped++;
      logger.debug({ agentId, missing }, 'analytics: sample dropped (no value to hold yet)');
      return false;
    }
    if (sample.at - a.lastAt > maxGapMs && a.count > 0) {
      a.clear();
      counters.gapResets++;
    }
    a.lastAt = sample.at;
    a.last.set(raw);
    model.scaler.transformRow(raw, scaled);
    a.rows.set(scaled, a.head * f);
    a.times[a.head] = sample.at;
    a.head = (a.head + 1) % w;
    if (a.count < w) a.count++;
    return a.count === w;
  };

  const copyWindow = (a: AgentWindow, out: Float32Array, offset: number): { start: number; end: number } => {
    // oldest row first: rows [head, w) then [0, head)
    const tail = (w - a.head) * f;
    out.set(a.rows.subarray(a.head * f), offset);
    out.set(a.rows.subarray(0, a.head * f), offset + tail);
    return { start: a.times[a.head], end: a.times[(a.head + w - 1) % w] };
  };

  return {
    name,
    metrics,
    async pushMany(entries) {
      const ready: { agentId: string; a: AgentWindow; span: { start: number; end: number }; at: number }[] = [];
      const staging: Float32Array[] = [];
      for (const { agentId, sample } of entries) {
        if (append(agentId, sample)) {
          const a = agentWindow(agentId);
          const buf = new Float32Array(w * f);
          const span = copyWindow(a, buf, 0);
          staging.push(buf);
          ready.push({ agentId, a, span, at: sample.at });
        }
      }
      const result = new Map<string, Verdict[]>();
      if (ready.length === 0) return result;
      const data = new Float32Array(ready.length * w * f);
      staging.forEach((buf, i) => {
        data.set(buf, i * w * f);
      });
      const { scores, perMetric } = await model.scoreWindows(data, ready.length, Math.max(4096, ready.length));
      counters.inferenceCalls++;
      counters.windowsScored += ready.length;
      ready.forEach(({ agentId, a, span, at }, i) => {
        const raw = scores[i];
        const score = a.baseline ? a.baseline.relative(raw) : raw;
        const { threshold, anomalous } = a.threshold.observe(score);
        a.baseline?.observe(raw, anomalous);
        const shares: { metric: string; share: number }[] = [];
        let sum = 0;
        for (let j = 0; j < f; j++) sum += perMetric[i * f + j];
        if (sum > 0) for (let j = 0; j < f; j++) shares.push({ metric: metrics[j], share: perMetric[i * f + j] / sum });
        shares.sort((x, y) => y.share - x.share);
        const verdict: Verdict = { at, score, threshold, anomalous, contributors: shares.slice(0, maxContributors), window: span };
        const list = result.get(agentId);
        if (list) list.push(verdict);
        else result.set(agentId, [verdict]);
      });
      return result;
    },
    reset(agentId) {
      if (agentId === undefined) windows.clear();
      else windows.delete(agentId);
    },
    agents: () => [...windows.keys()],
    stats: () => ({ ...counters }),
  };
}

/** A StreamingDetector for one agent over a shared model (the batched scorer with one agent). */
export function createLstmDetector(options: ScorerOptions): StreamingDetector & { stats: BatchedScorer['stats'] } {
  const scorer = createBatchedScorer(options);
  const self = 'self';
  return {
    name: scorer.name,
    metrics: scorer.metrics,
    async push(sample) {
      const verdicts = await scorer.pushMany([{ agentId: self, sample }]);
      return verdicts.get(self)?.[0];
    },
    reset: () => scorer.reset(),
    stats: () => scorer.stats(),
  };
}
