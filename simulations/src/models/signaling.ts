import { bounded, type Forward, jitter, type ModelContext, type ModelInput, type ModelOutput, type NfModel } from './types.js';

/**
 * RAN NFs (gnb, cu, du): radio-side signaling. Each attached UE group offers RRC setups, attaches
 * (registrations) and PDU session requests; the gNB spends CPU per signaling message and relays
 * registrations and sessions to the AMF (control plane) and user-plane bytes to the transport /
 * UPF. A signaling storm (many UEs attaching and detaching) shows as mild rate increases spread over
 * several gNBs — well within each gNB's capacity — and as an overload at the AMF/SMF.
 */
export interface RanModelParams {
  /** Signaling messages per second one replica handles. */
  capacityMsgs: number;
  msgsPerRrc: number;
  msgsPerAttach: number;
  msgsPerSession: number;
  baseLatencyMs: number;
  /** User-plane bytes per second per attached UE (daily pattern comes from the UE count). */
  bytesPerUe: number;
}

export const RAN_DEFAULTS: RanModelParams = {
  capacityMsgs: 6000,
  msgsPerRrc: 5,
  msgsPerAttach: 8,
  msgsPerSession: 4,
  baseLatencyMs: 15,
  bytesPerUe: 60_000,
};

export function createRanModel(ctx: ModelContext, overrides: Partial<RanModelParams> = {}): NfModel {
  const p = { ...RAN_DEFAULTS, ...overrides };
  const noise = ctx.noise ?? 0.03;
  return {
    nf: ctx.nf,
    family: 'ran',
    step(input: ModelInput): ModelOutput {
      const replicas = Math.max(1, input.replicas);
      let rrc = 0;
      let attaches = 0;
      let sessions = 0;
      let ues = 0;
      let legitProcs = 0;
      const stats = new Map<string, Record<string, number>>();
      const forward: Forward[] = [];
      for (const f of input.flows) {
        const s = f.signaling ?? { rrcSetups: 0, attaches: 0, sessions: 0 };
        rrc += s.rrcSetups;
        attaches += s.attaches;
        sessions += s.sessions;
        ues += f.ues ?? 0;
        if (f.cls === 'legit') legitProcs += s.rrcSetups;
        const msgs = s.rrcSetups * p.msgsPerRrc + s.attaches * p.msgsPerAttach + s.sessions * p.msgsPerSession;
        const cur = stats.get(f.source) ?? { signaling_msgs_per_s: 0, attach_rate: 0, rrc_setup_rate: 0, active_ues: 0 };
        cur.signaling_msgs_per_s += msgs;
        cur.attach_rate += s.attaches;
        cur.rrc_setup_rate += s.rrcSetups;
        cur.active_ues += f.ues ?? 0;
        stats.set(f.source, cur);
        if (s.attaches > 0 || s.sessions > 0) {
          forward.push({ to: 'amf', flow: { ...f, rps: 0, holdConnections: 0, signaling: { rrcSetups: 0, attaches: s.attaches, sessions: s.sessions } } });
        }
        if ((f.ues ?? 0) > 0) {
          forward.push({
            to: 'user-plane',
            flow: { ...f, rps: 0, holdConnections: 0, signaling: undefined, packetsPerS: ((f.ues ?? 0) * p.bytesPerUe) / 1200, bytesPerPacket: 1200 },
          });
        }
      }
      const msgs = rrc * p.msgsPerRrc + attaches * p.msgsPerAttach + sessions * p.msgsPerSession;
      const rho = msgs / (p.capacityMsgs * replicas);
      const latency = p.baseLatencyMs / (1 - Math.min(rho, 0.95));
      const raw: Record<string, number> = {
        rrc_setup_rate: rrc,
        attach_rate: attaches,
        signaling_msgs_per_s: msgs,
        cpu_usage: 100 * Math.min(1, 0.04 + 0.9 * rho),
        active_ues: ues,
        memory_used: 300 + ues * 0.05,
        prb_utilization: Math.min(1, ues / 800),
        throughput_mbps: (ues * p.bytesPerUe * 8) / 1e6,
      };
      const metrics: Record<string, number> = {};
      for (const name of ctx.nf.metrics) metrics[name] = bounded(name, jitter(ctx.rng, raw[name] ?? 0, noise));
      const legitFail = rho > 1 ? legitProcs * (1 - 1 / rho) : 0;
      return {
        metrics,
        flowStats: { build: () => stats, keys: ['signaling_msgs_per_s', 'attach_rate'] },
        forward,
        legit: { offered: legitProcs, served: legitProcs - legitFail, failed: legitFail, latencyMs: latency },
        latencyMs: latency,
        utilisation: rho,
      };
    },
  };
}

/**
 * Core control-plane NFs (amf, smf, ausf, udm, nrf, pcf, nssf) as a fluid queue of procedures:
 * the AMF handles registrations (and relays sessions to the SMF), the SMF handles sessions. CPU per
 * procedure, a bounded queue (`queue_len`, in messages) and latency that grows as utilisation nears
 * one; scale-out multiplies capacity.
 */
export interface CoreModelParams {
  /** Procedures per second one replica completes. */
  capacity: number;
  /** Relative cost of a session procedure at the AMF (it only relays it). */
  relayWork: number;
  msgsPerProcedure: number;
  baseLatencyMs: number;
  maxQueueS: number;
  memBaseMb: number;
}

export const CORE_DEFAULTS: Record<string, CoreModelParams> = {
  amf: { capacity: 250, relayWork: 0.3, msgsPerProcedure: 10, baseLatencyMs: 30, maxQueueS: 8, memBaseMb: 400 },
  smf: { capacity: 300, relayWork: 0, msgsPerProcedure: 8, baseLatencyMs: 25, maxQueueS: 8, memBaseMb: 350 },
  other: { capacity: 800, relayWork: 0, msgsPerProcedure: 4, baseLatencyMs: 10, maxQueueS: 8, memBaseMb: 250 },
};

export function createCoreModel(ctx: ModelContext, overrides: Partial<CoreModelParams> = {}): NfModel {
  const type = ctx.nf.type;
  const p = { ...(CORE_DEFAULTS[type] ?? CORE_DEFAULTS.other), ...overrides };
  const noise = ctx.noise ?? 0.03;
  let backlog = 0;
  return {
    nf: ctx.nf,
    family: 'core',
    step(input: ModelInput): ModelOutput {
      const dt = input.dtMs / 1000;
      const replicas = Math.max(1, input.replicas);
      let registrations = 0;
      let sessions = 0;
      let legitRegs = 0;
      let legitSessions = 0;
      const stats = new Map<string, Record<string, number>>();
      for (const f of input.flows) {
        const s = f.signaling ?? { rrcSetups: 0, attaches: 0, sessions: 0 };
        registrations += s.attaches;
        sessions += s.sessions;
        if (f.cls === 'legit') {
          legitRegs += s.attaches;
          legitSessions += s.sessions;
        }
        const cur = stats.get(f.source) ?? { registration_rate: 0, session_rate: 0 };
        cur.registration_rate += s.attaches;
        cur.session_rate += s.sessions;
        stats.set(f.source, cur);
      }
      // the AMF does registrations and relays sessions; the SMF does sessions; others do both
      const work = type === 'amf' ? registrations + sessions * p.relayWork : type === 'smf' ? sessions : registrations + sessions;
      const legitWork = type === 'amf' ? legitRegs + legitSessions * p.relayWork : type === 'smf' ? legitSessions : legitRegs + legitSessions;
      const capacity = p.capacity * replicas;
      const pending = backlog + work * dt;
      const served = Math.min(capacity * dt, pending);
      backlog = pending - served;
      const maxBacklog = capacity * p.maxQueueS;
      let dropped = 0;
      if (backlog > maxBacklog) {
        dropped = backlog - maxBacklog;
        backlog = maxBacklog;
      }
      const rho = work / capacity;
      const latency = p.baseLatencyMs / (1 - Math.min(rho, 0.95)) + (backlog / capacity) * 1000;
      const servedShare = work > 0 ? Math.min(1, served / dt / work) * (1 - dropped / (work * dt)) : 1;
      const forward: Forward[] = [];
      if (type === 'amf' && sessions > 0) {
        for (const f of input.flows) {
          if (f.signaling && f.signaling.sessions > 0) {
            forward.push({ to: 'smf', flow: { ...f, signaling: { rrcSetups: 0, attaches: 0, sessions: f.signaling.sessions * servedShare } } });
          }
        }
      }
      const raw: Record<string, number> = {
        registration_rate: type === 'smf' ? 0 : registrations * servedShare,
        session_rate: sessions * servedShare,
        signaling_msgs_per_s: (served / dt) * p.msgsPerProcedure,
        http_requests_per_s: (served / dt) * 2,
        http_response_ms: latency,
        cpu_usage: 100 * Math.min(1, 0.03 + 0.95 * Math.min(rho, 1)),
        memory_used: p.memBaseMb + backlog * 0.01 + registrations * 0.2,
        queue_len: backlog * p.msgsPerProcedure,
      };
      const metrics: Record<string, number> = {};
      for (const name of ctx.nf.metrics) metrics[name] = bounded(name, jitter(ctx.rng, raw[name] ?? 0, noise));
      return {
        metrics,
        flowStats: { build: () => stats, keys: ['registration_rate', 'session_rate'] },
        forward,
        legit: { offered: legitWork, served: legitWork * servedShare, failed: legitWork * (1 - servedShare), latencyMs: latency },
        latencyMs: latency,
        utilisation: rho,
      };
    },
  };
}
