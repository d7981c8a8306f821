import type { SimulatedMano, TrafficFilter } from '@sliceguard/enforcement';

/**
 * What the traffic models obey. The models never mitigate by themselves: they ask a TrafficGate
 * whether a source may reach an NF (blocks, rate limits; a vFirewall's rules arrive here too) and a
 * CapacityView how many replicas, which configuration and whether the NF is isolated. The
 * enforcement package's traffic filter and simulated MANO drive them through the adapters below;
 * tests may pass their own implementations.
 */
export interface GateVerdict {
  blocked: boolean;
  /** Requests/s cap for this source at this NF (undefined = unlimited). */
  rpsLimit?: number;
}

export interface TrafficGate {
  verdict(nf: string, source: string, now: number): GateVerdict;
}

export interface CapacityView {
  replicas(nf: string): number;
  /** Deployed virtual security functions in front of the NF, e.g. ['vfirewall']. */
  vsfs(nf: string): readonly string[];
  /** Effective NF configuration (e.g. headerTimeoutMs, maxConnectionsPerSource). */
  config(nf: string): Readonly<Record<string, unknown>>;
  isolated(nf: string): boolean;
  /** Offered load / capacity measured by the model each tick (feeds the MANO's autoscaler). */
  reportUtilisation?(nf: string, utilisation: number): void;
  /** All of the above at once (one lookup per NF per tick), when the view can do it cheaply. */
  snapshot?(nf: string): NfCapacity;
}

export interface NfCapacity {
  replicas: number;
  config: Readonly<Record<string, unknown>>;
  isolated: boolean;
}

export function capacityOf(view: CapacityView, nf: string): NfCapacity {
  return view.snapshot ? view.snapshot(nf) : { replicas: view.replicas(nf), config: view.config(nf), isolated: view.isolated(nf) };
}

/** The enforcement package's traffic filter as a TrafficGate. */
export function filterGate(filter: TrafficFilter): TrafficGate {
  return {
    verdict(nf, source, now) {
      const v = filter.verdict(nf, source, undefined, now);
      if (v.action === 'block') return { blocked: true };
      if (v.action === 'rate_limit' && v.rps !== undefined) return { blocked: false, rpsLimit: v.rps };
      return { blocked: false };
    },
  };
}

/** The enforcement package's simulated MANO as a CapacityView. */
export function manoCapacity(mano: SimulatedMano): CapacityView {
  return {
    replicas: (nf) => mano.state(nf).replicas,
    vsfs: (nf) => mano.state(nf).vsfs.map((v) => v.kind),
    config: (nf) => mano.state(nf).config,
    isolated: (nf) => mano.state(nf).isolated,
    reportUtilisation: (nf, u) => mano.reportUtilisation(nf, u),
    snapshot: (nf) => {
      const s = mano.state(nf);
      return { replicas: s.replicas, config: s.config, isolated: s.isolated };
    },
  };
}

/** No mitigation at all: the unprotected baseline. */
export const OPEN_GATE: TrafficGate = { verdict: () => ({ blocked: false }) };

export function fixedCapacity(replicas: ReadonlyMap<string, number> = new Map()): CapacityView {
  return { replicas: (nf) => replicas.get(nf) ?? 1, vsfs: () => [], config: () => ({}), isolated: () => false };
}
