import type { Rng } from '@sliceguard/core';
import { poisson } from './engine.js';
import { type Flow, type TrafficGenerator, emptyFlow } from './traffic.js';

/**
 * Legitimate demand: a daily pattern (sinusoid peaking at `peakHour`), slowly varying correlated
 * noise (AR(1)) and Poisson arrivals per source per tick. `dayMs` compresses the day so that a short
 * run still shows the pattern.
 */
export interface DailyPatternOptions {
  /** Relative swing around the mean (0..1). Default 0.35. */
  amplitude?: number;
  /** Length of a "day" in simulated ms. Default 24 h. */
  dayMs?: number;
  /** Hour (0..24) of the daily peak. Default 20 (evening). */
  peakHour?: number;
  /** Sd of the correlated relative noise. Default 0.05. */
  noise?: number;
  /** AR(1) coefficient per tick. Default 0.98. */
  correlation?: number;
}

export class DailyPattern {
  private readonly amplitude: number;
  private readonly dayMs: number;
  private readonly peakMs: number;
  private readonly sd: number;
  private readonly phi: number;
  private state = 0;

  constructor(
    private readonly rng: Rng,
    options: DailyPatternOptions = {},
  ) {
    this.amplitude = options.amplitude ?? 0.35;
    this.dayMs = options.dayMs ?? 86_400_000;
    this.peakMs = ((options.peakHour ?? 20) / 24) * this.dayMs;
    this.sd = options.noise ?? 0.05;
    this.phi = options.correlation ?? 0.98;
  }

  /** Multiplier of the mean rate at `now` (advances the noise state: call once per tick). */
  factor(now: number): number {
    this.state = this.phi * this.state + Math.sqrt(1 - this.phi * this.phi) * this.rng.normal(0, 1);
    const phase = (2 * Math.PI * ((now - this.peakMs) % this.dayMs)) / this.dayMs;
    return Math.max(0.05, (1 + this.amplitude * Math.cos(phase)) * (1 + this.sd * this.state));
  }
}

function address(prefix: string, i: number): string {
  return `${prefix}.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;
}

export interface HttpUsersOptions {
  id?: string;
  targets: readonly string[];
  /** Distinct user addresses per target. Default 200. */
  sources?: number;
  /** Mean requests/s per target over the day. Default 120. */
  meanRps?: number;
  /** First two octets of user addresses. Default '10.20'. */
  prefix?: string;
  pattern?: DailyPatternOptions;
  /** Mean response size (video segments). Default 400 kB. */
  respBytes?: number;
  /** Share of requests for popular (cacheable) content. Default 0.92. */
  hitProbability?: number;
  /**
   * Sd of the users' log appetite (fixed per user). Default 0.2: HLS/DASH players fetch one segment
   * per segment duration, so viewers' request rates differ little.
   */
  heterogeneity?: number;
}

/** Viewers of an HTTP service (the vCDN's streamer): many sources, each a low rate, keep-alive sessions. */
export function httpUsers(rng: Rng, options: HttpUsersOptions): TrafficGenerator {
  const n = options.sources ?? 200;
  const mean = options.meanRps ?? 120;
  const prefix = options.prefix ?? '10.20';
  const patterns = new Map(options.targets.map((t) => [t, new DailyPattern(rng.fork(`pattern-${t}`), options.pattern)]));
  // each user's share of the demand is fixed (heavier and lighter viewers)
  const weights = Array.from({ length: n }, () => Math.exp(rng.normal(0, options.heterogeneity ?? 0.2)));
  const total = weights.reduce((a, b) => a + b, 0);
  const sources = Array.from({ length: n }, (_, i) => address(prefix, i));
  return {
    id: options.id ?? 'users',
    cls: 'legit',
    targets: options.targets,
    flows(nf, now, dtMs) {
      const pattern = patterns.get(nf);
      if (!pattern) return [];
      const rate = mean * pattern.factor(now);
      const dt = dtMs / 1000;
      // Poisson arrivals in aggregate, shared by the users in proportion to their (fixed) appetite:
      // per-user rates stay smooth, as a flow probe averaging over its interval sees them
      const perSecond = poisson(rng, rate * dt) / dt;
      const out: Flow[] = [];
      for (let i = 0; i < n; i++) {
        const flow = emptyFlow(sources[i], 'legit', this.id);
        flow.rps = ((perSecond * weights[i]) / total) * Math.max(0, 1 + rng.normal(0, 0.05));
        flow.hitProbability = options.hitProbability ?? 0.92;
        flow.reqBytes = 350;
        flow.respBytes = options.respBytes ?? 400_000;
        flow.holdConnections = 1;
        out.push(flow);
      }
      return out;
    },
  };
}

export interface RanUsersOptions {
  id?: string;
  targets: readonly string[];
  /** Mean attached UEs per gNB. Default 400. */
  uesPerCell?: number;
  /** UE groups (flow keys) per gNB. Default 8. */
  groups?: number;
  pattern?: DailyPatternOptions;
}

/** Subscribers of a RAN: attached UEs per cell with RRC, registration and session churn. */
export function ranUsers(rng: Rng, options: RanUsersOptions): TrafficGenerator {
  const groups = options.groups ?? 8;
  const mean = options.uesPerCell ?? 400;
  const patterns = new Map(options.targets.map((t) => [t, new DailyPattern(rng.fork(`pattern-${t}`), options.pattern)]));
  // cells serve unequal groups of subscribers
  const weights = new Map(options.targets.map((t) => [t, Array.from({ length: groups }, () => Math.exp(rng.normal(0, 0.2)))]));
  return {
    id: options.id ?? 'subscribers',
    cls: 'legit',
    targets: options.targets,
    flows(nf, now, dtMs) {
      const pattern = patterns.get(nf);
      if (!pattern) return [];
      const dt = dtMs / 1000;
      const w = weights.get(nf)!;
      const wTotal = w.reduce((a, b) => a + b, 0);
      const cellUes = mean * pattern.factor(now);
      const out: Flow[] = [];
      for (let g = 0; g < groups; g++) {
        const ues = (cellUes * w[g]) / wTotal;
        const flow = emptyFlow(`${nf}-ues-${g}`, 'legit', this.id);
        flow.ues = ues;
        flow.signaling = {
          rrcSetups: poisson(rng, ues * 0.05 * dt) / dt,
          attaches: poisson(rng, ues * 0.004 * dt) / dt,
          sessions: poisson(rng, ues * 0.006 * dt) / dt,
        };
        out.push(flow);
      }
      return out;
    },
  };
}
