import {
  type ActionOutcome,
  type ActionRequest,
  type Clock,
  type Logger,
  type ManagementEvent,
  silentLogger,
  type TimerHandle,
} from '@sliceguard/core';
import { EnforcementOptionsError } from './errors.js';
import type { TrafficFilter } from './filter.js';
import { outcomeOf, type UndoableActuator } from './interface.js';

export const VSF_KINDS = ['vfirewall', 'vids', 'dpi'] as const;
export type VsfKind = (typeof VSF_KINDS)[number];

export interface ManagedNf {
  id: string;
  type?: string;
  replicas: { min: number; max: number; initial: number };
  /** Requests (or messages) per second one replica serves at 100 % utilisation. Default 100. */
  capacityPerReplica?: number;
  config?: Record<string, unknown>;
}

export interface VsfInstance {
  id: string;
  kind: VsfKind;
  /** vfirewall: sources it drops (installed in the traffic filter when one is given). */
  rules: string[];
  deployedAt: number;
  requestedBy: string;
}

/** An intent that holds an NF against scaling in a direction (e.g. a security loop just scaled it out). */
export interface ScaleHold {
  by: string;
  direction: 'scale_in' | 'scale_out' | 'any';
  until: number;
  reason?: string;
}

export interface PendingOperation {
  requestId: string;
  type: string;
  by: string;
  startedAt: number;
  completesAt: number;
  /** Replicas being added (+) or removed (-). */
  delta?: number;
}

export interface NfResourceState {
  id: string;
  type?: string;
  replicas: number;
  min: number;
  max: number;
  capacityPerReplica: number;
  /** replicas × capacityPerReplica. */
  capacity: number;
  utilisation?: number;
  vsfs: VsfInstance[];
  config: Record<string, unknown>;
  isolated: boolean;
  holds: ScaleHold[];
  pending: PendingOperation[];
}

export interface ManoEvent {
  kind: 'scaled' | 'vsf_deployed' | 'vsf_removed' | 'config_updated' | 'isolated' | 'restored' | 'autoscale_deferred';
  nf: string;
  by: string;
  at: number;
  details: Record<string, unknown>;
}

export interface AutoscalerOptions {
  /** How often the MANO's own self-optimisation loop looks at utilisation. Default 15 s. */
  periodMs?: number;
  /** Scale out above this utilisation. Default 0.8. */
  scaleOutAbove?: number;
  /** Scale in below this utilisation. Default 0.3. */
  scaleInBelow?: number;
  /** Minimum time between two autoscaling operations on one NF. Default 60 s. */
  cooldownMs?: number;
}

export interface SimulatedManoOptions {
  clock: Clock;
  nfs: readonly ManagedNf[];
  /** Operation delays on the clock (ms). Defaults: scale 5000, vsfDeploy 8000, vsfRemove 2000, config 1000, isolate 500. */
  delays?: Partial<Record<'scale' | 'vsfDeploy' | 'vsfRemove' | 'config' | 'isolate', number>>;
  /** The MANO's own self-optimisation loop; `false` turns it off. */
  autoscaler?: AutoscalerOptions | false;
  /** When given, a vFirewall's rules become block rules in this filter while it is deployed. */
  trafficFilter?: TrafficFilter;
  logger?: Logger;
  /** Events kept in history. Default 1000. */
  maxEvents?: number;
}

/**
 * A simulated MANO (NFVO + VNFM): scales NFs within their bounds, deploys VSFs in front of them and
 * updates their configuration, each with a delay on the clock; keeps the resource state the
 * simulations' metric models read (`capacity`); and runs its own autoscaler, which respects the
 * holds (intents) security loops place, so the two loops coordinate instead of undoing each other.
 */
export interface SimulatedMano extends UndoableActuator {
  state(nf: string): NfResourceState;
  states(): NfResourceState[];
  /** Offered load / capacity, as the metric model measured it (drives the autoscaler). */
  reportUtilisation(nf: string, utilisation: number): void;
  hold(nf: string, hold: ScaleHold): void;
  releaseHolds(nf: string, by?: string): void;
  onEvent(listener: (event: ManoEvent) => void): () => void;
  events(): readonly ManoEvent[];
  autoscalerStats(): { scaledOut: number; scaledIn: number; deferred: number };
  start(): void;
  stop(): void;
}

const DEFAULT_DELAYS = { scale: 5000, vsfDeploy: 8000, vsfRemove: 2000, config: 1000, isolate: 500 };

export function createSimulatedMano(options: SimulatedManoOptions): SimulatedMano {
  if (!options?.clock) throw new EnforcementOptionsError('createSimulatedMano needs a clock');
  const { clock } = options;
  const delays = { ...DEFAULT_DELAYS, ...options.delays };
  const logger = (options.logger ?? silentLogger()).child({ module: 'simulated-mano' });
  const maxEvents = options.maxEvents ?? 1000;
  const auto = options.autoscaler === false ? undefined : { periodMs: 15_000, scaleOutAbove: 0.8, scaleInBelow: 0.3, cooldownMs: 60_000, ...options.autoscaler };
  const nfs = new Map<string, NfResourceState>();
  for (const nf of options.nfs) {
    const { min, max, initial } = nf.replicas;
    if (!(Number.isInteger(min) && Number.isInteger(max) && Number.isInteger(initial) && min >= 0 && min <= initial && initial <= max)) {
      throw new EnforcementOptionsError(`NF ${nf.id}: replicas must satisfy 0 <= min <= initial <= max (integers)`, { nf: nf.id, replicas: nf.replicas });
    }
    const per = nf.capacityPerReplica ?? 100;
    nfs.set(nf.id, {
      id: nf.id,
      type: nf.type,
      replicas: initial,
      min,
      max,
      capacityPerReplica: per,
      capacity: initial * per,
      vsfs: [],
      config: { ...nf.config },
      isolated: false,
      holds: [],
      pending: [],
    });
  }
  const history: ManoEvent[] = [];
  const listeners = new Set<(e: ManoEvent) => void>();
  const lastAutoscale = new Map<string, number>();
  const stats = { scaledOut: 0, scaledIn: 0, deferred: 0 };
  let vsfSeq = 1;
  let autoTimer: TimerHandle | undefined;
  let autoSeq = 1;

  const emit = (e: ManoEvent): void => {
    history.push(e);
    if (history.length > maxEvents) history.shift();
    for (const l of listeners) l(e);
  };
  const prune = (s: NfResourceState, now: number): void => {
    s.holds = s.holds.filter((h) => h.until > now);
  };
  const pendingDelta = (s: NfResourceState): number => s.pending.reduce((a, p) => a + (p.delta ?? 0), 0);
  const heldAgainst = (s: NfResourceState, direction: 'scale_in' | 'scale_out', requester: string, now: number): ScaleHold | undefined => {
    prune(s, now);
    return s.holds.find((h) => h.by !== requester && (h.direction === direction || h.direction === 'any'));
  };

  /** Runs an operation after its delay; the NF shows it as pending meanwhile. */
  const operate = async <T>(s: NfResourceState, op: Omit<PendingOperation, 'startedAt' | 'completesAt'>, delay: number, signal: AbortSignal | undefined, apply: () => T): Promise<T> => {
    const now = clock.now();
    const pending: PendingOperation = { ...op, startedAt: now, completesAt: now + delay };
    s.pending.push(pending);
    try {
      if (delay > 0) await clock.sleep(delay, signal);
      return apply();
    } finally {
      s.pending = s.pending.filter((p) => p !== pending);
    }
  };

  const scale = async (s: NfResourceState, direction: 'scale_out' | 'scale_in', count: number, by: string, requestId: string, bounds: { min?: number; max?: number }, signal?: AbortSignal) => {
    const max = Math.min(s.max, bounds.max ?? Number.POSITIVE_INFINITY);
    const min = Math.max(s.min, bounds.min ?? 0);
    const projected = s.replicas + pendingDelta(s);
    const delta = direction === 'scale_out' ? Math.min(count, max - projected) : -Math.min(count, projected - min);
    if (delta === 0 || (direction === 'scale_out' ? delta < 0 : delta > 0)) {
      return { ok: false as const, reason: `${s.id} has ${projected} replicas (incl. pending), bounds [${min}, ${max}]` };
    }
    const previous = s.replicas;
    await operate(s, { requestId, type: direction, by, delta }, delays.scale, signal, () => {
      s.replicas = Math.max(s.min, Math.min(s.max, s.replicas + delta));
      s.capacity = s.replicas * s.capacityPerReplica;
    });
    emit({ kind: 'scaled', nf: s.id, by, at: clock.now(), details: { direction, previous, replicas: s.replicas, delta } });
    return { ok: true as const, previous, delta };
  };

  const installVsfRules = (s: NfResourceState, vsf: VsfInstance): void => {
    if (!options.trafficFilter || vsf.kind !== 'vfirewall') return;
    vsf.rules.forEach((source, i) => {
      options.trafficFilter!.addRule({ id: `${vsf.id}:${i}`, target: s.id, source, action: 'block', requestedBy: vsf.requestedBy });
    });
  };
  const removeVsfRules = (vsf: VsfInstance): void => {
    if (!options.trafficFilter) return;
    vsf.rules.forEach((_, i) => {
      options.trafficFilter!.removeRule(`${vsf.id}:${i}`);
    });
  };

  const autoscale = (): void => {
    const now = clock.now();
    for (const s of nfs.values()) {
      if (s.utilisation === undefined || s.pending.length > 0) continue;
      if (now - (lastAutoscale.get(s.id) ?? Number.NEGATIVE_INFINITY) < auto!.cooldownMs) continue;
      let direction: 'scale_out' | 'scale_in' | undefined;
      if (s.utilisation > auto!.scaleOutAbove && s.replicas < s.max) direction = 'scale_out';
      else if (s.utilisation < auto!.scaleInBelow && s.replicas > s.min) direction = 'scale_in';
      if (!direction) continue;
      const hold = heldAgainst(s, direction, 'mano:autoscaler', now);
      if (hold) {
        stats.deferred++;
        emit({ kind: 'autoscale_deferred', nf: s.id, by: 'mano:autoscaler', at: now, details: { direction, heldBy: hold.by, until: hold.until, utilisation: s.utilisation } });
        continue;
      }
      lastAutoscale.set(s.id, now);
      if (direction === 'scale_out') stats.scaledOut++;
      else stats.scaledIn++;
      scale(s, direction, 1, 'mano:autoscaler', `autoscale-${autoSeq++}`, {}).catch((err) => logger.warn({ nf: s.id, err: String(err) }, 'autoscaling failed'));
    }
  };

  /** A copy the caller cannot change the MANO through (read every tick by metric models: no structuredClone). */
  const snapshot = (s: NfResourceState): NfResourceState => {
    prune(s, clock.now());
    return {
      ...s,
      vsfs: s.vsfs.map((v) => ({ ...v, rules: [...v.rules] })),
      config: { ...s.config },
      holds: s.holds.map((h) => ({ ...h })),
      pending: s.pending.map((p) => ({ ...p })),
    };
  };

  const mano: SimulatedMano = {
    name: 'simulated-mano',
    handles: ['scale_out', 'scale_in', 'deploy_vsf', 'remove_vsf', 'update_config', 'isolate'] as const,
    async execute(request: ActionRequest, opts = {}): Promise<ActionOutcome> {
      const s = nfs.get(request.target);
      if (!s) return outcomeOf(request, 'rejected', clock.now(), `unknown NF "${request.target}" (the MANO manages ${[...nfs.keys()].join(', ')})`);
      const p = request.params;
      const by = request.requestedBy;
      try {
        switch (request.type) {
          case 'scale_out':
          case 'scale_in': {
            const count = p.count === undefined ? 1 : p.count;
            if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
              return outcomeOf(request, 'rejected', clock.now(), `params.count must be a positive integer, got ${JSON.stringify(p.count)}`);
            }
            const hold = heldAgainst(s, request.type, by, clock.now());
            if (hold) return outcomeOf(request, 'rejected', clock.now(), `${s.id} is held against ${request.type} by ${hold.by} until ${hold.until}`);
            if (request.type === 'scale_out' && typeof p.holdMs === 'number' && p.holdMs > 0) {
              s.holds.push({ by, direction: 'scale_in', until: clock.now() + p.holdMs, reason: `security scale-out ${request.id}` });
            }
            const r = await scale(s, request.type, count, by, request.id, { min: p.min as number | undefined, max: p.max as number | undefined }, opts.signal);
            if (!r.ok) return outcomeOf(request, 'rejected', clock.now(), r.reason, { replicas: s.replicas });
            return outcomeOf(request, 'succeeded', clock.now(), undefined, { replicas: s.replicas, previous: r.previous, delta: r.delta });
          }
          case 'deploy_vsf': {
            const kind = p.vsf as VsfKind;
            if (!(VSF_KINDS as readonly unknown[]).includes(kind)) {
              return outcomeOf(request, 'rejected', clock.now(), `params.vsf must be one of ${VSF_KINDS.join(', ')}, got ${JSON.stringify(p.vsf)}`);
            }
            const rules = Array.isArray(p.rules) ? p.rules.filter((r): r is string => typeof r === 'string') : [];
            const existing = s.vsfs.find((v) => v.kind === kind);
            if (existing) {
              const fresh = rules.filter((r) => !existing.rules.includes(r));
              if (fresh.length) {
                removeVsfRules(existing);
                existing.rules.push(...fresh);
                installVsfRules(s, existing);
              }
              return outcomeOf(request, 'succeeded', clock.now(), `${kind} already in front of ${s.id}`, { vsfId: existing.id, created: false, rules: existing.rules.length });
            }
            const vsf: VsfInstance = { id: `${kind}-${s.id}-${vsfSeq++}`, kind, rules, deployedAt: 0, requestedBy: by };
            await operate(s, { requestId: request.id, type: 'deploy_vsf', by }, delays.vsfDeploy, opts.signal, () => {
              vsf.deployedAt = clock.now();
              s.vsfs.push(vsf);
              installVsfRules(s, vsf);
            });
            emit({ kind: 'vsf_deployed', nf: s.id, by, at: clock.now(), details: { vsfId: vsf.id, kind, rules: rules.length } });
            return outcomeOf(request, 'succeeded', clock.now(), undefined, { vsfId: vsf.id, created: true, rules: rules.length });
          }
          case 'remove_vsf': {
            const vsf = s.vsfs.find((v) => (p.vsfId ? v.id === p.vsfId : v.kind === p.vsf));
            if (!vsf) return outcomeOf(request, 'succeeded', clock.now(), `no ${String(p.vsfId ?? p.vsf)} in front of ${s.id}`, { removed: false });
            await operate(s, { requestId: request.id, type: 'remove_vsf', by }, delays.vsfRemove, opts.signal, () => {
              s.vsfs = s.vsfs.filter((v) => v !== vsf);
              removeVsfRules(vsf);
            });
            emit({ kind: 'vsf_removed', nf: s.id, by, at: clock.now(), details: { vsfId: vsf.id } });
            return outcomeOf(request, 'succeeded', clock.now(), undefined, { vsfId: vsf.id, removed: true });
          }
          case 'update_config': {
            const change = Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'restore'));
            if (Object.keys(change).length === 0) return outcomeOf(request, 'rejected', clock.now(), 'update_config without parameters');
            const previous: Record<string, unknown> = {};
            await operate(s, { requestId: request.id, type: 'update_config', by }, delays.config, opts.signal, () => {
              for (const [k, v] of Object.entries(change)) {
                previous[k] = s.config[k] ?? null;
                if (v === null) delete s.config[k];
                else s.config[k] = v;
              }
            });
            emit({ kind: 'config_updated', nf: s.id, by, at: clock.now(), details: { change } });
            return outcomeOf(request, 'succeeded', clock.now(), undefined, { previous, config: { ...s.config } });
          }
          case 'isolate': {
            await operate(s, { requestId: request.id, type: 'isolate', by }, delays.isolate, opts.signal, () => {
              s.isolated = true;
            });
            emit({ kind: 'isolated', nf: s.id, by, at: clock.now(), details: {} });
            return outcomeOf(request, 'succeeded', clock.now(), undefined, { isolated: true });
          }
          default:
            return outcomeOf(request, 'rejected', clock.now(), `the MANO does not handle ${request.type}`);
        }
      } catch (err) {
        return outcomeOf(request, 'failed', clock.now(), (err as Error)?.message ?? String(err));
      }
    },
    async undo(request, outcome, opts = {}) {
      const s = nfs.get(request.target);
      const now = clock.now();
      if (!s) return outcomeOf(request, 'failed', now, `unknown NF ${request.target}`);
      const r = outcome.result ?? {};
      const by = request.requestedBy;
      switch (request.type) {
        case 'scale_out':
        case 'scale_in': {
          s.holds = s.holds.filter((h) => !(h.by === by && h.reason === `security scale-out ${request.id}`));
          const delta = Math.abs(Number(r.delta ?? 0));
          if (!delta) return outcomeOf(request, 'expired', now, 'nothing to undo');
          const back = await scale(s, request.type === 'scale_out' ? 'scale_in' : 'scale_out', delta, by, `${request.id}:undo`, {}, opts.signal);
          return outcomeOf(request, 'expired', clock.now(), back.ok ? 'scaled back' : back.reason, { replicas: s.replicas });
        }
        case 'deploy_vsf': {
          if (r.created !== true) return outcomeOf(request, 'expired', now, 'VSF was not created by this action');
          const vsf = s.vsfs.find((v) => v.id === r.vsfId);
          if (vsf) {
            await operate(s, { requestId: `${request.id}:undo`, type: 'remove_vsf', by }, delays.vsfRemove, opts.signal, () => {
              s.vsfs = s.vsfs.filter((v) => v !== vsf);
              removeVsfRules(vsf);
            });
            emit({ kind: 'vsf_removed', nf: s.id, by, at: clock.now(), details: { vsfId: vsf.id, expired: true } });
          }
          return outcomeOf(request, 'expired', clock.now(), `removed ${String(r.vsfId)}`);
        }
        case 'update_config': {
          const previous = (r.previous ?? {}) as Record<string, unknown>;
          for (const [k, v] of Object.entries(previous)) {
            if (v === null) delete s.config[k];
            else s.config[k] = v;
          }
          emit({ kind: 'restored', nf: s.id, by, at: now, details: { restored: Object.keys(previous) } });
          return outcomeOf(request, 'expired', now, 'configuration restored', { config: { ...s.config } });
        }
        case 'isolate':
          s.isolated = false;
          emit({ kind: 'restored', nf: s.id, by, at: now, details: { isolated: false } });
          return outcomeOf(request, 'expired', now, 'NF reconnected');
        default:
          return outcomeOf(request, 'expired', now, `nothing to undo for ${request.type}`);
      }
    },
    state: (nf) => {
      const s = nfs.get(nf);
      if (!s) throw new EnforcementOptionsError(`unknown NF "${nf}"`, { nf });
      return snapshot(s);
    },
    states: () => [...nfs.values()].map(snapshot),
    reportUtilisation(nf, utilisation) {
      const s = nfs.get(nf);
      if (s && Number.isFinite(utilisation) && utilisation >= 0) s.utilisation = utilisation;
    },
    hold(nf, hold) {
      const s = nfs.get(nf);
      if (!s) throw new EnforcementOptionsError(`unknown NF "${nf}"`, { nf });
      s.holds.push({ ...hold });
    },
    releaseHolds(nf, by) {
      const s = nfs.get(nf);
      if (s) s.holds = s.holds.filter((h) => by !== undefined && h.by !== by);
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    events: () => [...history],
    autoscalerStats: () => ({ ...stats }),
    start() {
      if (!auto || autoTimer) return;
      autoTimer = clock.setInterval(autoscale, auto.periodMs);
    },
    stop() {
      clock.clearInterval(autoTimer);
      autoTimer = undefined;
    },
  };
  return mano;
}

/**
 * A MANO event as a core ManagementEvent (kind `scale`, `topology` for VSF changes and isolation,
 * `config`, or `autoscale_deferred`), so loops can run policies on the MANO's own actions.
 */
export function manoManagementEvent(event: ManoEvent, source: string, seq: number): ManagementEvent {
  const kind: Record<ManoEvent['kind'], string> = {
    scaled: 'scale',
    vsf_deployed: 'topology',
    vsf_removed: 'topology',
    isolated: 'topology',
    restored: 'config',
    config_updated: 'config',
    autoscale_deferred: 'autoscale_deferred',
  };
  return {
    id: `mano:${event.nf}:${event.at}:${seq}`,
    type: 'management',
    at: event.at,
    source,
    target: event.nf,
    severity: 0,
    kind: kind[event.kind],
    details: { ...event.details, manoEvent: event.kind, by: event.by },
  };
}
