import type { Flow } from '../traffic.js';
import { bounded, type Forward, jitter, type ModelContext, type ModelInput, type ModelOutput, type NfModel } from './types.js';

/**
 * An HTTP server NF (streamer, cache, web, lb, dns) as a fluid queue with connection slots:
 *
 * - CPU work arrives as requests × work (a cache miss costs `missWork`); the server completes at most
 *   `capacityRps` work units per second per replica; the rest waits in a backlog bounded by
 *   `maxQueueS` seconds of work (beyond it requests are dropped with 503).
 * - Response time = service time / (1 − ρ) (M/M/1, ρ capped) + backlog wait + downstream latency for
 *   proxied requests + origin latency for cache misses + waiting for a connection slot.
 * - Connection slots (`maxConnections` per replica) are shared by legitimate keep-alive sessions,
 *   in-flight requests and Slowloris' half-open connections; a slow connection lives until the
 *   header timeout (`config.headerTimeoutMs`, NGINX default 60 s), the attacker reopens it at up to
 *   `slowOpenRate` per second per source, capped by `config.maxConnectionsPerSource`. Legitimate
 *   connections that find no slot wait (latency) or time out (failures) — without CPU load, which is
 *   why Slowloris shows in open connections and response time, not in CPU.
 * - A packet flood consumes link capacity (`linkBytesPerS`, beyond it packets drop and legitimate
 *   requests see retransmission delays) and CPU for packet processing (`ppsCapacity`).
 *
 * Rates (requests/s, bytes/s, open connections) are NF totals; cpu_usage, load1 and memory_used are
 * per-replica averages.
 */
export interface HttpModelParams {
  capacityRps: number;
  cores: number;
  maxConnections: number;
  baseServiceMs: number;
  memBaseMb: number;
  memPerConnMb: number;
  linkBytesPerS: number;
  ppsCapacity: number;
  maxQueueS: number;
  keepAliveS: number;
  slotWaitMs: number;
  slowOpenRate: number;
  defaultHeaderTimeoutMs: number;
  /** Cache: misses cost more and add origin latency; hit ratio is reported. */
  cache: boolean;
  missWork: number;
  originLatencyMs: number;
  /** Share of served legitimate requests fetched from the next NF in the chain (proxied). */
  forwardLegit: number;
  /** Share of served requests for non-cacheable (random) URLs forwarded downstream. */
  forwardMiss: number;
}

export const HTTP_DEFAULTS: Record<string, HttpModelParams> = {
  streamer: {
    capacityRps: 600,
    cores: 2,
    maxConnections: 1024,
    baseServiceMs: 12,
    memBaseMb: 180,
    memPerConnMb: 0.06,
    linkBytesPerS: 125_000_000,
    ppsCapacity: 400_000,
    maxQueueS: 4,
    keepAliveS: 15,
    slotWaitMs: 4000,
    slowOpenRate: 150,
    defaultHeaderTimeoutMs: 60_000,
    cache: false,
    missWork: 1,
    originLatencyMs: 0,
    forwardLegit: 0.35,
    forwardMiss: 1,
  },
  cache: {
    capacityRps: 900,
    cores: 2,
    maxConnections: 2048,
    baseServiceMs: 4,
    memBaseMb: 900,
    memPerConnMb: 0.04,
    linkBytesPerS: 125_000_000,
    ppsCapacity: 400_000,
    maxQueueS: 4,
    keepAliveS: 30,
    slotWaitMs: 4000,
    slowOpenRate: 150,
    defaultHeaderTimeoutMs: 60_000,
    cache: true,
    missWork: 3,
    originLatencyMs: 40,
    forwardLegit: 0,
    forwardMiss: 0,
  },
};

export function httpParams(type: string): HttpModelParams {
  if (type === 'cache') return HTTP_DEFAULTS.cache;
  const base = HTTP_DEFAULTS.streamer;
  if (type === 'lb') return { ...base, capacityRps: 3000, baseServiceMs: 2, forwardLegit: 1, forwardMiss: 1, memBaseMb: 120 };
  if (type === 'web') return { ...base, forwardLegit: 0.2 };
  if (type === 'dns') return { ...base, capacityRps: 5000, baseServiceMs: 1, forwardLegit: 0, forwardMiss: 0, keepAliveS: 0, memBaseMb: 60 };
  return base;
}

const ALIASES: Record<string, string> = { dns_queries_per_s: 'http_requests_per_s', dns_response_ms: 'http_response_ms' };

export function createHttpModel(ctx: ModelContext, overrides: Partial<HttpModelParams> = {}): NfModel {
  const p: HttpModelParams = { ...httpParams(ctx.nf.type), ...overrides };
  const { rng } = ctx;
  const noise = ctx.noise ?? 0.03;
  let backlog = 0;
  let load1 = 0;
  let lastRtMs = p.baseServiceMs;
  let legitHeld = 0;
  let burstHeld = 0;
  const slowHeld = new Map<string, number>();

  return {
    nf: ctx.nf,
    family: 'http',
    step(input: ModelInput): ModelOutput {
      const dt = input.dtMs / 1000;
      const replicas = Math.max(1, input.replicas);
      const headerTimeoutMs = Number(input.config.headerTimeoutMs ?? p.defaultHeaderTimeoutMs);
      const perSourceCap = Number(input.config.maxConnectionsPerSource ?? Number.POSITIVE_INFINITY);

      // --- link: packet floods and request bytes share it
      let reqBytes = 0;
      let floodBytes = 0;
      let floodPps = 0;
      for (const f of input.flows) {
        reqBytes += f.rps * f.reqBytes;
        floodBytes += (f.packetsPerS ?? 0) * (f.bytesPerPacket ?? 0);
        floodPps += f.packetsPerS ?? 0;
      }
      const linkCap = p.linkBytesPerS * replicas;
      const linkUtil = (reqBytes + floodBytes) / linkCap;
      const linkLoss = linkUtil > 1 ? 1 - 1 / linkUtil : 0;

      // --- CPU work and the fluid queue
      const packetCpu = Math.min(0.9, floodPps / (p.ppsCapacity * replicas));
      const capacity = p.capacityRps * replicas * (1 - packetCpu);
      let offeredReq = 0;
      let offeredWork = 0;
      let legitReq = 0;
      let hitWeighted = 0;
      for (const f of input.flows) {
        if (f.slow) continue;
        const rps = f.rps * (1 - linkLoss);
        const work = p.cache ? f.work * (f.hitProbability + (1 - f.hitProbability) * p.missWork) : f.work;
        offeredReq += rps;
        offeredWork += rps * work;
        hitWeighted += rps * f.hitProbability;
        if (f.cls === 'legit') legitReq += rps;
      }
      const avgWork = offeredReq > 0 ? offeredWork / offeredReq : 1;
      const arrivals = offeredWork * dt;
      const pending = backlog + arrivals;
      const servedWork = Math.min(capacity * dt, pending);
      backlog = pending - servedWork;
      const maxBacklog = capacity * p.maxQueueS;
      // beyond the bounded queue requests are dropped (503): they simply are not served
      if (backlog > maxBacklog) backlog = maxBacklog;
      const rho = capacity > 0 ? arrivals / (capacity * dt) : 10;
      const servedReq = servedWork / avgWork / dt;
      
      // --- latency before slot waits
      const missRatio = offeredReq > 0 ? 1 - hitWeighted / offeredReq : 0;
      const serviceMs = (p.baseServiceMs * avgWork) / (1 - Math.min(rho, 0.95));
      const queueMs = capacity > 0 ? (backlog / capacity) * 1000 : 0;
      const proxiedMs = p.forwardLegit * input.downstreamLatencyMs;
      const originMs = p.cache ? missRatio * p.originLatencyMs : 0;
      const retransMs = linkLoss * 1000;
      const baseRtMs = serviceMs + queueMs + proxiedMs + originMs + retransMs;

      // --- connection slots
      const slots = p.maxConnections * replicas;
      let slowDemand = 0;
      const slowWant = new Map<string, number>();
      for (const f of input.flows) {
        if (!f.slow) continue;
        const held = (slowHeld.get(f.source) ?? 0) * Math.exp(-input.dtMs / Math.max(1, headerTimeoutMs));
        slowHeld.set(f.source, held);
        const target = Math.min(f.holdConnections, perSourceCap);
        const want = Math.max(0, Math.min(target - held, p.slowOpenRate * dt));
        if (held > target) slowHeld.set(f.source, target);
        slowWant.set(f.source, want);
        slowDemand += want;
      }
      for (const source of [...slowHeld.keys()]) {
        if (!slowWant.has(source)) {
          const held = (slowHeld.get(source) ?? 0) * Math.exp(-input.dtMs / Math.max(1, headerTimeoutMs));
          if (held < 0.5) slowHeld.delete(source);
          else slowHeld.set(source, held);
        }
      }
      let legitKeep = 0;
      for (const f of input.flows) if (f.cls === 'legit' && !f.slow) legitKeep += f.holdConnections;
      const legitWantTotal = legitKeep + legitReq * (lastRtMs / 1000);
      const burstWantTotal = Math.max(0, offeredReq - legitReq) * (lastRtMs / 1000);
      legitHeld *= p.keepAliveS > 0 ? Math.exp(-dt / p.keepAliveS) : 0;
      burstHeld = 0; // short-lived: re-acquired every tick
      const slowTotal = () => [...slowHeld.values()].reduce((a, b) => a + b, 0);
      let free = Math.max(0, slots - slowTotal() - legitHeld);
      const legitDemand = Math.max(0, legitWantTotal - legitHeld);
      const totalDemand = slowDemand + legitDemand + burstWantTotal;
      const share = totalDemand > 0 ? Math.min(1, free / totalDemand) : 1;
      for (const [source, want] of slowWant) slowHeld.set(source, (slowHeld.get(source) ?? 0) + want * share);
      legitHeld += legitDemand * share;
      burstHeld = burstWantTotal * share;
      free = Math.max(0, slots - slowTotal() - legitHeld - burstHeld);
      const legitUnmet = legitWantTotal > 0 ? Math.max(0, legitWantTotal - legitHeld) / legitWantTotal : 0;
      const burstUnmet = burstWantTotal > 0 ? 1 - share : 0;

      const legitRtMs = baseRtMs + legitUnmet * p.slotWaitMs;
      const allRtMs = offeredReq > 0 ? (legitReq * legitRtMs + (offeredReq - legitReq) * (baseRtMs + burstUnmet * p.slotWaitMs)) / offeredReq : baseRtMs;
      lastRtMs = Math.min(allRtMs, 30_000);

      // --- completions per class (slot time-outs fail part of the unmet legitimate requests)
      const servedShare = offeredReq > 0 ? Math.min(1, servedReq / offeredReq) : 0;
      const legitFailedSlots = legitReq * legitUnmet * 0.3;
      const legitServed = Math.max(0, legitReq * servedShare - legitFailedSlots);
      const legitOffered = input.flows.reduce((a, f) => a + (f.cls === 'legit' && !f.slow ? f.rps : 0), 0);
      const completed = Math.max(0, servedReq - legitFailedSlots);

      // --- per-flow statistics and forwarding
      const forward: Forward[] = [];
      const chain = ctx.nf.chain ?? [];
      let bytesOut = 0;
      for (const f of input.flows) {
        const served = f.slow ? 0 : f.rps * (1 - linkLoss) * servedShare;
        bytesOut += served * f.respBytes;
        if (served > 0 && chain.length > 0) {
          // proxied to the next hop; the client address travels along (X-Forwarded-For)
          const fraction = p.forwardLegit * f.hitProbability + p.forwardMiss * (1 - f.hitProbability);
          const rps = (served * fraction) / chain.length;
          if (rps > 0) for (const next of chain) forward.push({ to: next, flow: { ...f, rps, holdConnections: 0, slow: false } });
        }
      }
      const flows = input.flows;
      const held = new Map(slowHeld);
      // in-flight requests hold a connection for their response time (Little's law), shared out like the slots
      const inFlightLegit = (legitRtMs / 1000) * (1 - legitUnmet);
      const inFlightOther = (allRtMs / 1000) * share;
      const buildFlows = () => {
        const stats = new Map<string, Record<string, number>>();
        for (const f of flows) {
          const cur = stats.get(f.source) ?? { http_requests_per_s: 0, open_connections: 0, net_in_bytes: 0 };
          cur.http_requests_per_s += f.rps;
          cur.net_in_bytes += f.rps * f.reqBytes + (f.packetsPerS ?? 0) * (f.bytesPerPacket ?? 0);
          cur.open_connections += f.slow
            ? (held.get(f.source) ?? 0)
            : f.holdConnections * (1 - legitUnmet) + f.rps * (f.cls === 'legit' ? inFlightLegit : inFlightOther);
          stats.set(f.source, cur);
        }
        for (const [source, n] of held) if (!stats.has(source)) stats.set(source, { http_requests_per_s: 0, open_connections: n, net_in_bytes: 0 });
        return stats;
      };

      const openConnections = slowTotal() + legitHeld + burstHeld;
      const cpuFrac = Math.min(1, Math.min(rho, 1) * 0.95 + packetCpu + 0.02);
      const loadTarget = p.cores * (Math.min(rho, 4) + packetCpu);
      load1 += (loadTarget - load1) * (1 - Math.exp(-dt / 60));
      const raw: Record<string, number> = {
        cpu_usage: 100 * cpuFrac,
        load1,
        memory_used: p.memBaseMb + (openConnections / replicas) * p.memPerConnMb + (backlog / replicas) * 0.02,
        net_in_bytes: Math.min(linkCap, reqBytes + floodBytes) + slowTotal() * 40,
        net_out_bytes: Math.min(linkCap, bytesOut),
        open_connections: openConnections,
        http_requests_per_s: completed,
        http_response_ms: completed > 0 ? allRtMs : lastRtMs,
        cache_hit_ratio: offeredReq > 0 ? hitWeighted / offeredReq : 1,
      };
      const metrics: Record<string, number> = {};
      for (const name of ctx.nf.metrics) {
        const v = raw[ALIASES[name] ?? name];
        metrics[name] = v === undefined ? 0 : bounded(name, name === 'cache_hit_ratio' ? jitter(rng, v, noise / 3) : jitter(rng, v, noise));
      }
      return {
        metrics,
        flowStats: { build: buildFlows, keys: ['http_requests_per_s', 'open_connections', 'net_in_bytes'] },
        forward,
        legit: {
          offered: legitOffered,
          served: legitServed,
          failed: Math.max(0, legitOffered - legitServed),
          latencyMs: legitRtMs,
        },
        latencyMs: lastRtMs,
        utilisation: rho,
      };
    },
  };
}

export type { Flow };
