import { type ActionRequest, type AnomalyEvent, type Actuator, type SecurityEvent, SimulatedClock, seededRng } from '@sliceguard/core';
import { createPolicyEngine } from './engine.js';
import { parsePolicies } from './load.js';

/**
 * Policy benchmarks: load/validate/conflict-check time and decision throughput with 1,000 loaded
 * policies (and 10 for comparison, same run), and the time from an event entering `decide` to the
 * first actuator `execute` call of the resulting actions (the enforcement call), p50 / p99.
 */
export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
}

const LEVELS = ['nf', 'subslice', 'slice', 'domain'];
const NF_TYPES = ['streamer', 'cache', 'amf', 'smf', 'gnb', 'upf'];
const CONDITIONS = [
  'event.severity > 0.3',
  "size(indicators.source) > 0 && trust(event.source) >= 0.4",
  "contribution('http_requests_per_s') >= 0.3 || contribution('open_connections') >= 0.5",
  "has(knowledge.monitoring) && knowledge.monitoring.mode == 'per_flow'",
  'now - event.at < 60000.0 && event.evidence.score > 1.5 * event.evidence.threshold',
];

/**
 * A synthetic policy file: 1/4 match the benchmark loop's scope, all with explicit priorities.
 * `dense`: in-scope policies apply to every NF (the worst case: ~80 decisions per event with 1,000
 * policies). `targeted`: each policy selects one of 50 NFs (`on.target`), like a per-NF generated set.
 */
export function syntheticPolicies(count: number, seed = 7, mode: 'dense' | 'targeted' = 'dense'): string {
  const rng = seededRng(seed);
  const lines = ['version: 1', 'policies:'];
  for (let i = 0; i < count; i++) {
    const inScope = i % 4 === 0;
    const level = inScope ? 'nf' : LEVELS[1 + rng.int(3)];
    const nfType = inScope ? 'streamer' : rng.pick(NF_TYPES);
    const event = rng.next() < 0.7 ? 'anomaly' : rng.pick(['incident', 'delegation', 'management', 'timer']);
    const targetSel = mode === 'targeted' ? `, target: nf${i % 50}` : '';
    const on =
      event === 'anomaly'
        ? `{ event: anomaly, minSeverity: ${(rng.next() * 0.6).toFixed(2)}${targetSel} }`
        : event === 'incident'
          ? `{ event: incident, kind: [http_flood, slowloris] }`
          : event === 'delegation'
            ? '{ event: delegation, action: scale_out }'
            : event === 'management'
              ? '{ event: management, kind: topology }'
              : `{ event: timer, name: t${i % 10} }`;
    lines.push(
      `  - id: p${i}`,
      `    scope: { level: ${level}, nfType: ${nfType} }`,
      `    on: ${on}`,
      `    when: "${rng.pick(CONDITIONS)}"`,
      `    priority: ${i}`,
      '    do:',
    );
    const r = rng.next();
    const tpl = (expr: string): string => `'$` + `{${expr}}'`;
    if (r < 0.4) lines.push('      - action: rate_limit', '        forEach: indicators.source', `        params: { source: ${tpl('item')}, rps: ${10 + (i % 50)} }`, '        expiresIn: 10m');
    else if (r < 0.6) lines.push('      - action: reconfigure_monitoring', '        params: { mode: per_flow, samplingPeriodMs: 1000 }');
    else if (r < 0.8) lines.push('      - action: escalate', `        params: { kind: ${tpl('event.type')} }`);
    else lines.push('      - action: notify', `        params: { message: 'policy p${i} on $` + `{event.target}' }`);
    if (rng.next() < 0.3) lines.push('    guards: { cooldown: 30s }');
  }
  return `${lines.join('\n')}\n`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(policyCount: number, events: number, seed: number, mode: 'dense' | 'targeted') {
  const text = syntheticPolicies(policyCount, seed, mode);
  const t0 = performance.now();
  const set = parsePolicies([{ text, file: `synthetic-${policyCount}.yaml` }]);
  const loadMs = performance.now() - t0;
  const clock = new SimulatedClock(1_000_000);
  const engine = createPolicyEngine({ policies: set, clock, scope: { agentId: 'bench:streamer', level: 'nf', nfType: 'streamer' } });
  let firstCall = 0;
  let executed = 0;
  const actuator: Actuator = {
    name: 'bench',
    handles: ['rate_limit', 'reconfigure_monitoring', 'escalate', 'notify'],
    async execute(r: ActionRequest) {
      if (firstCall === 0) firstCall = performance.now();
      executed++;
      return { id: r.id, type: r.type, target: r.target, status: 'succeeded', at: clock.now() };
    },
  };
  const rng = seededRng(seed + 1);
  const trust = { score: () => 0.8, weight: () => 1, isQuarantined: () => false };
  const latencies: number[] = [];
  let decisions = 0;
  let blocked = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < events; i++) {
    const event: AnomalyEvent = {
      id: `e${i}`,
      type: 'anomaly',
      at: clock.now(),
      source: `bench:nf${rng.int(50)}`,
      target: `nf${rng.int(50)}`,
      severity: rng.next(),
      level: 'nf',
      evidence: {
        detector: 'bench',
        score: 1 + rng.next() * 2,
        threshold: 1,
        contributors: [
          { metric: 'http_requests_per_s', share: rng.next() },
          { metric: 'open_connections', share: rng.next() * 0.5 },
        ],
        window: { start: 0, end: 1 },
        indicators: Array.from({ length: rng.int(4) }, () => ({ kind: 'source', value: `203.0.113.${rng.int(255)}` })),
      },
    };
    firstCall = 0;
    const t = performance.now();
    const ds = await engine.decide(event as SecurityEvent, { agentId: 'bench:streamer', level: 'nf', now: clock.now(), trust, facts: { knowledge: { monitoring: { mode: i % 2 ? 'per_flow' : 'aggregate' } } } });
    for (const d of ds) {
      decisions++;
      if (d.blocked) {
        blocked++;
        continue;
      }
      for (const a of d.actions) await actuator.execute(a);
    }
    if (firstCall > 0) latencies.push((firstCall - t) * 1000);
    await clock.advance(50);
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  latencies.sort((a, b) => a - b);
  return {
    mode,
    policies: policyCount,
    inScope: set.policies.filter((p) => p.scope.level?.includes('nf') && p.scope.nfType?.includes('streamer')).length,
    loadMs: Math.round(loadMs),
    resolvedConflicts: set.resolvedConflicts.length,
    events,
    eventsPerSecond: Math.round(events / elapsed),
    decisionsPerSecond: Math.round(decisions / elapsed),
    /** The machine is shared: throughput per second of this process's CPU time is the steadier figure. */
    eventsPerCpuSecond: Math.round(events / cpuSeconds),
    decisionsPerCpuSecond: Math.round(decisions / cpuSeconds),
    decisionsPerEvent: +(decisions / events).toFixed(2),
    blockedShare: +(blocked / Math.max(1, decisions)).toFixed(3),
    actionsExecuted: executed,
    eventToEnforcementUs: { p50: +percentile(latencies, 50).toFixed(1), p99: +percentile(latencies, 99).toFixed(1), max: +(latencies[latencies.length - 1] ?? 0).toFixed(1) },
  };
}

export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const count = options.quick ? 200 : 1_000;
  const denseEvents = options.quick ? 200 : 5_000;
  const events = options.quick ? 300 : 20_000;
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  for (const [name, n, ev, mode] of [
    ['targeted', count, events, 'targeted'],
    ['dense', count, denseEvents, 'dense'],
    ['small', 10, events, 'dense'],
  ] as const) {
    options.log(`${name}: ${n} policies, ${ev} events`);
    const r = await measure(n, ev, 7, mode);
    options.log(`${name}: ${r.eventsPerCpuSecond} events/CPU-s, ${r.decisionsPerCpuSecond} decisions/CPU-s, p99 ${r.eventToEnforcementUs.p99} µs`);
    results[name] = r;
  }
  return {
    ...results,
    ratioEventsPerCpuSecondTargetedVsSmall: +(results.targeted.eventsPerCpuSecond / results.small.eventsPerCpuSecond).toFixed(3),
    note: 'eventToEnforcementUs: from decide() entry to the first Actuator.execute call of its actions (in-process actuator), wall clock on a shared machine; *PerCpuSecond divide by this process CPU time',
  };
}
