/**
 * Traffic as the models see it: flows keyed by source, offered to an NF in one tick. `cls` and `tag`
 * are ground truth for scoring detections; agents never see them (they see metrics and per-flow
 * statistics only).
 */
export type TrafficClass = 'legit' | 'attack';

export interface Flow {
  /** Source address or UE group; what a block / rate limit names. */
  source: string;
  cls: TrafficClass;
  /** Generator that produced the flow ('users', 'flash-crowd', 'hulk-1', ...). */
  tag: string;
  /** HTTP requests per second offered (0 for pure packet floods). */
  rps: number;
  /** Probability that a request hits a cache (popular content ≈ 0.9, randomised URLs 0). */
  hitProbability: number;
  /** Service demand of one request relative to a plain cached GET (1). */
  work: number;
  reqBytes: number;
  respBytes: number;
  /** Connections the source tries to hold open (keep-alive sessions, Slowloris). */
  holdConnections: number;
  /** True when held connections never complete a request (Slowloris): they send no requests. */
  slow?: boolean;
  /** Raw packet flood on top of requests (volumetric DoS). */
  packetsPerS?: number;
  bytesPerPacket?: number;
  /** RAN / core signaling procedures per second (signaling storm, legitimate UEs). */
  signaling?: { rrcSetups: number; attaches: number; sessions: number };
  /** Attached UEs behind this source (RAN). */
  ues?: number;
}

export function emptyFlow(source: string, cls: TrafficClass, tag: string): Flow {
  return { source, cls, tag, rps: 0, hitProbability: 0.9, work: 1, reqBytes: 400, respBytes: 20_000, holdConnections: 0 };
}

/** Scales the per-second quantities of a flow by `factor` (admission control, forwarding). */
export function scaleFlow(flow: Flow, factor: number): Flow {
  const f = Math.max(0, factor);
  const out: Flow = { ...flow, rps: flow.rps * f, holdConnections: flow.holdConnections * f };
  if (flow.packetsPerS !== undefined) out.packetsPerS = flow.packetsPerS * f;
  if (flow.signaling) {
    out.signaling = { rrcSetups: flow.signaling.rrcSetups * f, attaches: flow.signaling.attaches * f, sessions: flow.signaling.sessions * f };
  }
  return out;
}

/** Something that offers traffic to entry NFs each tick (legitimate users, attacks). */
export interface TrafficGenerator {
  readonly id: string;
  readonly cls: TrafficClass;
  /** NF ids the generator sends to directly. */
  readonly targets: readonly string[];
  /** Flows offered to `nf` during the tick starting at `now` (empty when inactive). */
  flows(nf: string, now: number, dtMs: number): Flow[];
}
