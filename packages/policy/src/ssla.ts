import type { Clock, SslaSpec, SslaViolationEvent, TimerHandle } from '@sliceguard/core';

export interface IncidentTimes {
  id: string;
  onset: number;
  detection?: number;
  mitigation?: number;
  timeToDetectMs?: number;
  timeToMitigateMs?: number;
  violations: SslaViolationEvent[];
}

export interface SslaReport {
  target: string;
  spec: SslaSpec;
  incidents: IncidentTimes[];
  timeToDetect: { count: number; meanMs?: number; maxMs?: number; withinTarget: number };
  timeToMitigate: { count: number; meanMs?: number; maxMs?: number; withinTarget: number };
  availability?: { observed: number; target?: number; violated: boolean; observedMs: number };
  violations: number;
  compliant: boolean;
}

/**
 * The SSLA part of the Security Policy & SSLA Manager: measures each incident's time to detect
 * (onset → first detection) and time to mitigate (detection → first successful mitigation), and the
 * managed service's availability, against the SslaSpec from the topology. A violation becomes a
 * core SslaViolationEvent (given to `onViolation`, typically fed back into the policy engine) as
 * soon as it is certain: a deadline passing with no detection/mitigation raises it on the clock,
 * without waiting for the late event.
 */
export interface SslaManager {
  /** Attack/incident onset (from the simulation's ground truth or the earliest evidence window). */
  recordOnset(incidentId: string, at?: number): void;
  recordDetection(incidentId: string, at?: number): void;
  recordMitigation(incidentId: string, at?: number): void;
  /** Service state changes for availability (up = meets its service level). */
  recordServiceState(up: boolean, at?: number): void;
  /** Evaluates availability now; raises a violation when it fell below the target. */
  checkAvailability(at?: number): SslaViolationEvent | undefined;
  report(at?: number): SslaReport;
  violations(): readonly SslaViolationEvent[];
  stop(): void;
}

export interface SslaManagerOptions {
  clock: Clock;
  spec: SslaSpec;
  /** The managed entity (slice / sub-slice / NF id) the SSLA is about. */
  target: string;
  /** Agent id raising the violation events. */
  source: string;
  onViolation?: (event: SslaViolationEvent) => void;
  /** Availability is only judged after this much observed time. Default 60 s. */
  minAvailabilityWindowMs?: number;
}

export function createSslaManager(options: SslaManagerOptions): SslaManager {
  const { clock, spec } = options;
  const incidents = new Map<string, IncidentTimes>();
  const timers = new Map<string, TimerHandle>();
  const raised: SslaViolationEvent[] = [];
  const minWindow = options.minAvailabilityWindowMs ?? 60_000;
  let serviceStart: number | undefined;
  let lastChange: number | undefined;
  let up = true;
  let downMs = 0;
  let availabilityViolated = false;

  const raise = (incident: IncidentTimes | undefined, metric: string, targetValue: number, observed: number, at: number): SslaViolationEvent => {
    const event: SslaViolationEvent = {
      id: `ssla:${options.target}:${incident?.id ?? 'service'}:${metric}`,
      type: 'ssla_violation',
      at,
      source: options.source,
      target: options.target,
      severity: Math.min(1, targetValue > 0 ? observed / targetValue / 2 : 1),
      correlationId: incident?.id,
      metric,
      target_value: targetValue,
      observed,
    };
    incident?.violations.push(event);
    raised.push(event);
    options.onViolation?.(event);
    return event;
  };

  const arm = (incident: IncidentTimes, metric: 'time_to_detect' | 'time_to_mitigate', from: number, limit: number): void => {
    const key = `${incident.id}:${metric}`;
    clock.clearTimeout(timers.get(key));
    const delay = from + limit - clock.now();
    timers.set(
      key,
      clock.setTimeout(
        () => {
          timers.delete(key);
          const done = metric === 'time_to_detect' ? incident.detection : incident.mitigation;
          if (done === undefined && !incident.violations.some((v) => v.metric === metric)) {
            raise(incident, metric, limit, clock.now() - from, clock.now());
          }
        },
        Math.max(0, delay + 1),
      ),
    );
  };

  const incident = (id: string, at: number): IncidentTimes => {
    let i = incidents.get(id);
    if (!i) {
      i = { id, onset: at, violations: [] };
      incidents.set(id, i);
    }
    return i;
  };

  return {
    recordOnset(id, at = clock.now()) {
      const i = incident(id, at);
      i.onset = Math.min(i.onset, at);
      if (spec.timeToDetectMs !== undefined && i.detection === undefined) arm(i, 'time_to_detect', i.onset, spec.timeToDetectMs);
    },
    recordDetection(id, at = clock.now()) {
      const i = incident(id, at);
      if (i.detection !== undefined) return;
      i.detection = at;
      i.timeToDetectMs = at - i.onset;
      clock.clearTimeout(timers.get(`${id}:time_to_detect`));
      if (spec.timeToDetectMs !== undefined && i.timeToDetectMs > spec.timeToDetectMs && !i.violations.some((v) => v.metric === 'time_to_detect')) {
        raise(i, 'time_to_detect', spec.timeToDetectMs, i.timeToDetectMs, at);
      }
      if (spec.timeToMitigateMs !== undefined && i.mitigation === undefined) arm(i, 'time_to_mitigate', at, spec.timeToMitigateMs);
    },
    recordMitigation(id, at = clock.now()) {
      const i = incident(id, at);
      if (i.mitigation !== undefined) return;
      if (i.detection === undefined) {
        i.detection = at;
        i.timeToDetectMs = at - i.onset;
      }
      i.mitigation = at;
      i.timeToMitigateMs = at - i.detection;
      clock.clearTimeout(timers.get(`${id}:time_to_mitigate`));
      clock.clearTimeout(timers.get(`${id}:time_to_detect`));
      if (spec.timeToMitigateMs !== undefined && i.timeToMitigateMs > spec.timeToMitigateMs && !i.violations.some((v) => v.metric === 'time_to_mitigate')) {
        raise(i, 'time_to_mitigate', spec.timeToMitigateMs, i.timeToMitigateMs, at);
      }
    },
    recordServiceState(isUp, at = clock.now()) {
      if (serviceStart === undefined) {
        serviceStart = at;
        lastChange = at;
        up = isUp;
        return;
      }
      if (!up) downMs += at - (lastChange ?? at);
      lastChange = at;
      up = isUp;
    },
    checkAvailability(at = clock.now()) {
      if (spec.availability === undefined || serviceStart === undefined) return undefined;
      const total = at - serviceStart;
      if (total < minWindow) return undefined;
      const down = downMs + (up ? 0 : at - (lastChange ?? at));
      const observed = 1 - down / total;
      if (observed < spec.availability && !availabilityViolated) {
        availabilityViolated = true;
        return raise(undefined, 'availability', spec.availability, observed, at);
      }
      if (observed >= spec.availability) availabilityViolated = false;
      return undefined;
    },
    report(at = clock.now()) {
      const list = [...incidents.values()].map((i) => ({ ...i, violations: [...i.violations] }));
      const summarize = (values: number[], limit: number | undefined) => ({
        count: values.length,
        meanMs: values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined,
        maxMs: values.length ? Math.max(...values) : undefined,
        withinTarget: limit === undefined ? values.length : values.filter((v) => v <= limit).length,
      });
      let availability: SslaReport['availability'];
      if (serviceStart !== undefined) {
        const total = Math.max(1, at - serviceStart);
        const down = downMs + (up ? 0 : at - (lastChange ?? at));
        const observed = 1 - down / total;
        availability = {
          observed,
          target: spec.availability,
          violated: spec.availability !== undefined && total >= minWindow && observed < spec.availability,
          observedMs: total,
        };
      }
      return {
        target: options.target,
        spec,
        incidents: list,
        timeToDetect: summarize(list.flatMap((i) => (i.timeToDetectMs !== undefined ? [i.timeToDetectMs] : [])), spec.timeToDetectMs),
        timeToMitigate: summarize(list.flatMap((i) => (i.timeToMitigateMs !== undefined ? [i.timeToMitigateMs] : [])), spec.timeToMitigateMs),
        availability,
        violations: raised.length,
        compliant: raised.length === 0 && !availability?.violated,
      };
    },
    violations: () => [...raised],
    stop() {
      for (const t of timers.values()) clock.clearTimeout(t);
      timers.clear();
    },
  };
}
