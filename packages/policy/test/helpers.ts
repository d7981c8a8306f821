import type { AnomalyEvent, DelegationEvent, IncidentEvent, ManagementEvent } from '@sliceguard/core';

let seq = 0;

export function anomaly(over: Partial<AnomalyEvent> & { sources?: string[]; contributors?: Array<[string, number]> } = {}): AnomalyEvent {
  const { sources, contributors, ...rest } = over;
  return {
    id: `a${++seq}`,
    type: 'anomaly',
    at: 0,
    source: 'd:nf1',
    target: 'nf1',
    severity: 0.5,
    level: 'nf',
    evidence: {
      detector: 'test',
      score: 2,
      threshold: 1,
      contributors: (contributors ?? [['http_requests_per_s', 1]]).map(([metric, share]) => ({ metric, share })),
      window: { start: 0, end: 1000 },
      indicators: (sources ?? []).map((value) => ({ kind: 'source', value })),
    },
    ...rest,
  };
}

export function incident(over: Partial<IncidentEvent> = {}): IncidentEvent {
  return {
    id: `i${++seq}`,
    type: 'incident',
    at: 0,
    source: 'd:edge',
    target: 'nf1',
    severity: 0.7,
    level: 'subslice',
    kind: 'http_flood',
    children: ['a1', 'a2'],
    evidence: { detector: 'correlation', score: 2, threshold: 1, contributors: [], window: { start: 0, end: 1000 } },
    ...over,
  };
}

export function delegation(over: Partial<DelegationEvent> = {}): DelegationEvent {
  return {
    id: `d${++seq}`,
    type: 'delegation',
    at: 0,
    source: 'd:slice',
    target: 'cn',
    severity: 0.6,
    action: 'scale_out',
    params: {},
    deadline: 30_000,
    from: 'd:slice',
    ...over,
  };
}

export function management(kind: string, details: Record<string, unknown>, over: Partial<ManagementEvent> = {}): ManagementEvent {
  return { id: `m${++seq}`, type: 'management', at: 0, source: 'd:mano', target: 'amf', severity: 0.1, kind, details, ...over };
}

export const fixture = (name: string): string => new URL(`../../test/fixtures/${name}`, import.meta.url).pathname;
