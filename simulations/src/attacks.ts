import type { Rng } from '@sliceguard/core';
import { poisson } from './engine.js';
import { InvalidSimulationOptionsError } from './errors.js';
import { emptyFlow, type Flow, type TrafficClass, type TrafficGenerator } from './traffic.js';

/** Ground truth of an attack (or a benign surge) for scoring detections and mitigations. */
export interface AttackWindow {
  id: string;
  kind: AttackKind;
  cls: TrafficClass;
  targets: string[];
  /** Offsets from the start of the run, ms. */
  startMs: number;
  endMs: number;
  /** Source addresses the generator uses (what a correct mitigation blocks). */
  sources: string[];
  /** Where legitimate users feel the attack (default: the first target), e.g. the AMF for a RAN storm. */
  impact?: string;
}

export const ATTACK_KINDS = ['hulk', 'slowloris', 'signaling-storm', 'volumetric-dos', 'flash-crowd'] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

export interface WindowOptions {
  id: string;
  targets: readonly string[];
  /** NF whose legitimate users' latency measures the attack's impact (default: the first target). */
  impact?: string;
  /** Offset of the start from the start of the run, ms. */
  startMs: number;
  durationMs: number;
  /** Linear ramp at both ends, ms. Default 5 s (flash crowd: 60 s). */
  rampMs?: number;
}

function attackAddress(prefix: string, i: number): string {
  return `${prefix}.${(i % 250) + 1}`;
}

function checkWindow(kind: string, o: WindowOptions): void {
  if (!(o.durationMs > 0) || !(o.startMs >= 0) || o.targets.length === 0) {
    throw new InvalidSimulationOptionsError(`${kind} "${o.id}" needs targets, startMs ≥ 0 and durationMs > 0`, { ...o });
  }
}

/** A generator active in [start, start + duration) with linear ramps, scaling `build`'s flows. */
function windowed(
  kind: AttackKind,
  cls: TrafficClass,
  o: WindowOptions,
  runStartMs: number,
  sources: string[],
  build: (nf: string, intensity: number, dtMs: number) => Flow[],
): { generator: TrafficGenerator; window: AttackWindow } {
  checkWindow(kind, o);
  const ramp = o.rampMs ?? (kind === 'flash-crowd' ? 60_000 : 5_000);
  const start = runStartMs + o.startMs;
  const end = start + o.durationMs;
  const generator: TrafficGenerator = {
    id: o.id,
    cls,
    targets: [...o.targets],
    flows(nf, now, dtMs) {
      if (now < start || now >= end || !o.targets.includes(nf)) return [];
      const up = ramp > 0 ? Math.min(1, (now - start + dtMs) / ramp) : 1;
      const down = ramp > 0 ? Math.min(1, (end - now) / ramp) : 1;
      return build(nf, Math.max(0, Math.min(up, down)), dtMs);
    },
  };
  return {
    generator,
    window: {
      id: o.id,
      kind,
      cls,
      targets: [...o.targets],
      startMs: o.startMs,
      endMs: o.startMs + o.durationMs,
      sources,
      ...(o.impact !== undefined ? { impact: o.impact } : {}),
    },
  };
}

export interface HulkOptions extends WindowOptions {
  /** Attacking hosts. Default 20. */
  bots?: number;
  /** Requests/s per bot at full intensity. Default 60. */
  rpsPerBot?: number;
  /** Source prefix (three octets). Default '203.0.113'. */
  prefix?: string;
}

/** Hulk: an HTTP GET flood with randomised URLs (every request misses the cache) from many bots. */
export function hulk(rng: Rng, runStartMs: number, o: HulkOptions) {
  const bots = o.bots ?? 20;
  const sources = Array.from({ length: bots }, (_, i) => attackAddress(o.prefix ?? '203.0.113', i));
  return windowed('hulk', 'attack', o, runStartMs, sources, (_nf, intensity, dtMs) => {
    const dt = dtMs / 1000;
    return sources.map((source) => {
      const f = emptyFlow(source, 'attack', o.id);
      f.rps = poisson(rng, (o.rpsPerBot ?? 60) * intensity * dt) / dt;
      f.hitProbability = 0;
      f.work = 1.3;
      f.reqBytes = 700;
      f.respBytes = 6_000;
      return f;
    });
  });
}

export interface SlowlorisOptions extends WindowOptions {
  /** Attacking hosts. Default 2. */
  hosts?: number;
  /** Connections each host tries to hold open. Default 1500. */
  connectionsPerHost?: number;
  prefix?: string;
}

/** Slowloris: many half-open connections kept alive with partial headers; almost no requests or bytes. */
export function slowloris(_rng: Rng, runStartMs: number, o: SlowlorisOptions) {
  const hosts = o.hosts ?? 2;
  const sources = Array.from({ length: hosts }, (_, i) => attackAddress(o.prefix ?? '198.18.7', i));
  return windowed('slowloris', 'attack', { rampMs: 0, ...o }, runStartMs, sources, (_nf, intensity) =>
    sources.map((source) => {
      const f = emptyFlow(source, 'attack', o.id);
      f.slow = true;
      f.holdConnections = (o.connectionsPerHost ?? 1500) * intensity;
      f.reqBytes = 0;
      f.respBytes = 0;
      return f;
    }),
  );
}

export interface SignalingStormOptions extends WindowOptions {
  /** Malicious UE groups per cell. Default 16. */
  groups?: number;
  /** Extra attaches (registrations) per second per cell at full intensity. Default 180. */
  attachesPerCell?: number;
}

/** RAN signaling storm: compromised UEs attach and detach in a loop across several cells. */
export function signalingStorm(rng: Rng, runStartMs: number, o: SignalingStormOptions) {
  const groups = o.groups ?? 16;
  const sources = o.targets.flatMap((t) => Array.from({ length: groups }, (_, g) => `${t}-storm-${g}`));
  return windowed('signaling-storm', 'attack', o, runStartMs, sources, (nf, intensity, dtMs) => {
    const dt = dtMs / 1000;
    const per = ((o.attachesPerCell ?? 180) * intensity) / groups;
    return Array.from({ length: groups }, (_, g) => {
      // compromised UEs flap attach/detach; they carry no user-plane data
      const f = emptyFlow(`${nf}-storm-${g}`, 'attack', o.id);
      f.signaling = {
        rrcSetups: poisson(rng, per * 1.5 * dt) / dt,
        attaches: poisson(rng, per * dt) / dt,
        sessions: poisson(rng, per * 0.9 * dt) / dt,
      };
      return f;
    });
  });
}

export interface VolumetricOptions extends WindowOptions {
  /** Flooding hosts. Default 50. */
  sources?: number;
  /** Total flood in Mbit/s at full intensity. Default 1500. */
  totalMbps?: number;
  bytesPerPacket?: number;
  prefix?: string;
}

/** Volumetric DoS: a UDP/SYN packet flood that saturates links and packet processing. */
export function volumetricDos(rng: Rng, runStartMs: number, o: VolumetricOptions) {
  const n = o.sources ?? 50;
  const sources = Array.from({ length: n }, (_, i) => attackAddress(o.prefix ?? '192.0.2', i));
  const size = o.bytesPerPacket ?? 512;
  return windowed('volumetric-dos', 'attack', o, runStartMs, sources, (_nf, intensity) => {
    const perSourcePps = ((o.totalMbps ?? 1500) * 1e6) / 8 / size / n;
    return sources.map((source) => {
      const f = emptyFlow(source, 'attack', o.id);
      f.packetsPerS = Math.max(0, perSourcePps * intensity * (1 + rng.normal(0, 0.05)));
      f.bytesPerPacket = size;
      f.reqBytes = 0;
      f.respBytes = 0;
      return f;
    });
  });
}

export interface FlashCrowdOptions extends WindowOptions {
  /** New viewers. Default 500. */
  viewers?: number;
  /** Requests/s per viewer. Default 0.6. */
  rpsPerViewer?: number;
  prefix?: string;
}

/** A benign flash crowd: many new legitimate viewers of popular content; no source stands out. */
export function flashCrowd(rng: Rng, runStartMs: number, o: FlashCrowdOptions) {
  const n = o.viewers ?? 500;
  const prefix = o.prefix ?? '10.30';
  const sources = Array.from({ length: n }, (_, i) => `${prefix}.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`);
  // new viewers behave like the others: similar appetites (see httpUsers' heterogeneity)
  const weights = sources.map(() => Math.exp(rng.normal(0, 0.2)));
  return windowed('flash-crowd', 'legit', o, runStartMs, sources, (_nf, intensity, dtMs) => {
    const dt = dtMs / 1000;
    // the ramp is viewers arriving (and leaving), each watching at the usual rate with one connection
    const active = Math.round(n * intensity);
    const activeWeight = weights.slice(0, active).reduce((a, b) => a + b, 0) || 1;
    const perSecond = poisson(rng, (o.rpsPerViewer ?? 0.6) * active * dt) / dt;
    return sources.slice(0, active).map((source, i) => {
      const f = emptyFlow(source, 'legit', o.id);
      f.rps = ((perSecond * weights[i]) / activeWeight) * Math.max(0, 1 + rng.normal(0, 0.05));
      f.hitProbability = 0.95;
      f.reqBytes = 350;
      f.respBytes = 400_000;
      f.holdConnections = 1;
      return f;
    });
  });
}
