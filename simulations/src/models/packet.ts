import { bounded, type Forward, jitter, type ModelContext, type ModelInput, type ModelOutput, type NfModel } from './types.js';

/**
 * Packet-forwarding NFs (upf, router, firewall, ids): throughput bounded by the link, CPU bounded by
 * packets per second; beyond either, packets drop. A volumetric flood shows as throughput, packet
 * rate and drops; legitimate user-plane traffic loses the dropped share.
 */
export interface PacketModelParams {
  linkMbps: number;
  ppsCapacity: number;
  baseLatencyMs: number;
  memBaseMb: number;
}

export const PACKET_DEFAULTS: PacketModelParams = { linkMbps: 10_000, ppsCapacity: 2_000_000, baseLatencyMs: 0.5, memBaseMb: 512 };

export function createPacketModel(ctx: ModelContext, overrides: Partial<PacketModelParams> = {}): NfModel {
  const p = { ...PACKET_DEFAULTS, ...overrides };
  const noise = ctx.noise ?? 0.03;
  return {
    nf: ctx.nf,
    family: 'packet',
    step(input: ModelInput): ModelOutput {
      const replicas = Math.max(1, input.replicas);
      let pps = 0;
      let bps = 0;
      let legitPps = 0;
      let attackPps = 0;
      let sessions = 0;
      const stats = new Map<string, Record<string, number>>();
      for (const f of input.flows) {
        const fp = f.packetsPerS ?? 0;
        const fb = fp * (f.bytesPerPacket ?? 0);
        pps += fp;
        bps += fb;
        if (f.cls === 'legit') legitPps += fp;
        else attackPps += fp;
        sessions += f.ues ?? 0;
        const cur = stats.get(f.source) ?? { packet_rate: 0, throughput_mbps: 0 };
        cur.packet_rate += fp;
        cur.throughput_mbps += (fb * 8) / 1e6;
        stats.set(f.source, cur);
      }
      const linkBps = (p.linkMbps * 1e6) / 8;
      const util = Math.max(bps / linkBps, pps / (p.ppsCapacity * replicas));
      const passShare = util > 1 ? 1 / util : 1;
      const dropped = pps * (1 - passShare);
      const latency = p.baseLatencyMs / (1 - Math.min(util, 0.95)) + (util > 1 ? 20 : 0);
      const forward: Forward[] = [];
      for (const f of input.flows) {
        if ((f.packetsPerS ?? 0) > 0) forward.push({ to: 'user-plane', flow: { ...f, packetsPerS: (f.packetsPerS ?? 0) * passShare } });
      }
      const raw: Record<string, number> = {
        throughput_mbps: (Math.min(bps, linkBps) * 8) / 1e6,
        packet_rate: pps * passShare,
        drop_rate: dropped,
        cpu_usage: 100 * Math.min(1, 0.03 + (0.9 * pps) / (p.ppsCapacity * replicas)),
        memory_used: p.memBaseMb + sessions * 0.02,
        active_sessions: sessions,
        link_utilization: Math.min(1, bps / linkBps),
        blocked_packets_per_s: 0,
        open_connections: sessions,
        alerts_per_s: attackPps * 0.001,
      };
      const metrics: Record<string, number> = {};
      for (const name of ctx.nf.metrics) metrics[name] = bounded(name, jitter(ctx.rng, raw[name] ?? 0, noise));
      return {
        metrics,
        flowStats: { build: () => stats, keys: ['packet_rate', 'throughput_mbps'] },
        // only the router relays user-plane traffic further (to the UPF); the UPF is the anchor
        forward: ctx.nf.type === 'router' ? forward : [],
        legit: { offered: legitPps, served: legitPps * passShare, failed: legitPps * (1 - passShare), latencyMs: latency },
        latencyMs: latency,
        utilisation: util,
      };
    },
  };
}
