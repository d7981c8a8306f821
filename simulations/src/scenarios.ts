import type { ExampleName, Topology } from '@sliceguard/topology';
import { type AttackWindow, flashCrowd, hulk, signalingStorm, slowloris, volumetricDos } from './attacks.js';
import type { SimulationEngine } from './engine.js';
import type { Figures } from './evaluate.js';
import type { FaultSpec } from './layer.js';
import type { ModelOverrides } from './models/index.js';
import type { Check, SimulationReport } from './report/model.js';
import type { TrafficGenerator } from './traffic.js';
import { httpUsers, ranUsers } from './workload.js';

export interface ScenarioContext {
  engine: SimulationEngine;
  topology: Topology;
  short: boolean;
}

/** What a scenario puts into the world: demand, attacks (with their ground truth), faults. */
export interface ScenarioSetup {
  generators: TrafficGenerator[];
  windows: AttackWindow[];
  faults?: FaultSpec[];
  modelOverrides?: Record<string, ModelOverrides>;
  /** Simulated length of the run, ms. */
  durationMs: number;
  /** Normal-only phase at the start (detector training / warm-up), ms. */
  trainingMs: number;
}

export interface ScenarioDefinition {
  name: string;
  /** One line for `--list`. */
  summary: string;
  topology: ExampleName;
  /** NF loops' sampling period. Default 5 s. */
  samplingPeriodMs?: number;
  /** Which detector the NF loops run: the LSTM autoencoder (trained at the end of the training phase) or the statistical baseline. */
  detector?: 'lstm' | 'statistical';
  /** Whether the MANO runs its own autoscaler (self-optimisation loop). Default true. */
  autoscaler?: boolean;
  /** Whether the NF detectors are also trained by federated learning (coordinator per domain). Default false. */
  federated?: boolean;
  /** The brokers the loops talk over: the in-process LocalBus (default) or a 3-node nats-server cluster the layer starts (real time for the messages). */
  brokers?: 'local' | 'nats-cluster';
  build(ctx: ScenarioContext): ScenarioSetup;
  /** The scenario's key outcomes, checked on the figures. */
  checks(figures: Figures, report: Omit<SimulationReport, 'checks'>): Check[];
}

const MIN = 60_000;

function check(name: string, pass: boolean, detail: string): Check {
  return { name, pass, detail };
}

/** After an agent-restart fault, the restarted loop escalates again (it resumed its work). */
function restartResumed(r: Omit<SimulationReport, 'checks'>): Check {
  const restart = r.faults.find((x) => x.kind === 'agent-restart');
  if (!restart) return check('restarted agent resumed its loop', false, 'no agent-restart fault applied');
  const after = r.messages.filter((m) => m.from === restart.target && m.kind === 'escalate' && m.t > restart.t);
  const lost = r.notes.filter((n) => n.startsWith('lost message'));
  return check(
    'restarted agent resumed its loop',
    restart.detail?.includes('started again') === true && after.length > 0 && lost.length === 0,
    `${restart.target} restarted at ${restart.t}s; ${after.length} escalation(s) from it afterwards; ${lost.length} message(s) lost`,
  );
}

/** Checks shared by attack scenarios. */
function detectedAll(f: Figures): Check {
  const missed = f.windows.filter((w) => w.cls === 'attack' && !w.detected).map((w) => w.id);
  return check('every attack detected', missed.length === 0 && f.detection.attacks > 0, missed.length ? `missed: ${missed.join(', ')}` : `${f.detection.attacksDetected}/${f.detection.attacks}`);
}

function noMitigationOutside(f: Figures): Check {
  return check('no mitigation outside attack windows', f.mitigationsOutsideAttacks === 0, `${f.mitigationsOutsideAttacks} mitigation(s) outside attack windows (+ grace)`);
}

function noBenignMitigation(f: Figures): Check {
  return check('no benign traffic mitigated', f.benignMitigations === 0 && f.legitFilteredShare === 0, `${f.benignMitigations} block/rate-limit on benign sources; ${(f.legitFilteredShare * 100).toFixed(4)} % of legitimate traffic filtered`);
}

function ttdWithin(f: Figures, kind: string, periods: number): Check {
  const ws = f.windows.filter((w) => w.kind === kind);
  const bad = ws.filter((w) => w.timeToDetectPeriods === undefined || w.timeToDetectPeriods > periods);
  return check(
    `${kind}: time to detect ≤ ${periods} sampling periods`,
    ws.length > 0 && bad.length === 0,
    ws.map((w) => `${w.id}: ${w.timeToDetectPeriods ?? 'not detected'}`).join(', '),
  );
}

function recoveryWithin(f: Figures, seconds: number): Check {
  const ws = f.windows.filter((w) => w.cls === 'attack');
  const bad = ws.filter((w) => w.recoveryAfterDetectionS === undefined || w.recoveryAfterDetectionS > seconds);
  return check(
    `legitimate p95 back within 20 % of baseline ≤ ${seconds} s after detection`,
    ws.length > 0 && bad.length === 0,
    ws.map((w) => `${w.id}: ${w.recoveryAfterDetectionS ?? 'never'} s`).join(', '),
  );
}

const nfIdsOfType = (t: Topology, ...types: string[]): string[] =>
  t.domains.flatMap((d) => d.slices.flatMap((s) => s.subslices.filter((ss) => ss.definedIn === s.id).flatMap((ss) => ss.nfs.filter((n) => types.includes(n.type)).map((n) => n.id))));

export const SCENARIOS: readonly ScenarioDefinition[] = [
  {
    name: 'vcdn-ddos',
    summary: "The first paper's PoC: vCDN edge slice (streamer → cache), LSTM autoencoder trained on normal behaviour, two Hulk floods then a Slowloris attack",
    topology: 'vcdn-edge',
    detector: 'lstm',
    // the paper's testbed had a fixed deployment: no MANO autoscaling to shift the normal profile
    autoscaler: false,
    build({ engine, short }) {
      const T = short ? 5 * MIN : 60 * MIN;
      const d = short ? MIN : 3 * MIN;
      const s0 = engine.startMs;
      const h1 = hulk(engine.fork('hulk-1'), s0, { id: 'hulk-1', targets: ['streamer'], startMs: T + (short ? 1 : 2) * MIN, durationMs: d });
      const h2 = hulk(engine.fork('hulk-2'), s0, { id: 'hulk-2', targets: ['streamer'], startMs: T + (short ? 3.5 : 9) * MIN, durationMs: d, prefix: '203.0.114' });
      const sl = slowloris(engine.fork('slowloris'), s0, { id: 'slowloris-1', targets: ['streamer'], startMs: T + (short ? 6 : 16) * MIN, durationMs: short ? 1.5 * MIN : 5 * MIN });
      return {
        generators: [httpUsers(engine.fork('users'), { targets: ['streamer'] }), h1.generator, h2.generator, sl.generator],
        windows: [h1.window, h2.window, sl.window],
        durationMs: T + (short ? 8.5 : 24) * MIN,
        trainingMs: T,
      };
    },
    checks: (f) => [detectedAll(f), ttdWithin(f, 'hulk', 2), ttdWithin(f, 'slowloris', 5), recoveryWithin(f, 30), noMitigationOutside(f)],
  },
  {
    name: 'signaling-storm',
    summary: 'eMBB slice: a signaling storm over three gNBs; RAN → slice → CN delegation scales the AMF/SMF out with the MANO',
    topology: 'embb-5g',
    build({ engine, topology, short }) {
      const gnbs = nfIdsOfType(topology, 'gnb');
      const T = short ? 5 * MIN : 20 * MIN;
      const storm = signalingStorm(engine.fork('storm'), engine.startMs, {
        id: 'storm-1',
        targets: gnbs,
        impact: nfIdsOfType(topology, 'amf')[0],
        startMs: T + MIN,
        durationMs: short ? 3 * MIN : 6 * MIN,
      });
      const ran = topology.domains[0].slices.flatMap((s) => s.subslices).find((ss) => ss.kind === 'ran');
      return {
        generators: [ranUsers(engine.fork('subscribers'), { targets: gnbs }), storm.generator],
        windows: [storm.window],
        // the RAN sub-slice agent restarts mid-incident: its loop must resume correlating and escalating
        faults: ran ? [{ atMs: T + MIN + 45_000, kind: 'agent-restart', target: `${topology.domains[0].id}:${ran.id}` }] : [],
        durationMs: T + (short ? 5 : 12) * MIN,
        trainingMs: T,
      };
    },
    checks: (f, r) => {
      const scaled = r.actions.filter((a) => a.status === 'succeeded' && a.type === 'scale_out' && !a.requestedBy.startsWith('mano:'));
      return [
        detectedAll(f),
        check('AMF/SMF scaled out by the loops', scaled.some((a) => /amf|smf/.test(a.target)), scaled.map((a) => `${a.target} by ${a.requestedBy}`).join(', ') || 'none'),
        check('delegation observed (slice → CN sub-slice)', (f.messages.byKind.delegate ?? 0) > 0, `${f.messages.byKind.delegate ?? 0} delegate message(s)`),
        noBenignMitigation(f),
        restartResumed(r),
      ];
    },
  },
  {
    name: 'progressive-dos',
    summary: 'Second paper workflow: coarse statistics → anomaly → per-flow statistics → confirm and block a volumetric DoS; a flash crowd before it is classified fortuitous',
    topology: 'vcdn-edge',
    build({ engine, short }) {
      const T = short ? 5 * MIN : 20 * MIN;
      const fc = flashCrowd(engine.fork('flash'), engine.startMs, { id: 'flash-crowd-1', targets: ['streamer'], startMs: T + MIN, durationMs: short ? 2 * MIN : 6 * MIN });
      const vol = volumetricDos(engine.fork('volumetric'), engine.startMs, { id: 'volumetric-1', targets: ['streamer'], startMs: T + (short ? 4.5 : 10) * MIN, durationMs: short ? 1.5 * MIN : 4 * MIN });
      return {
        generators: [httpUsers(engine.fork('users'), { targets: ['streamer'] }), fc.generator, vol.generator],
        windows: [fc.window, vol.window],
        durationMs: T + (short ? 7 : 18) * MIN,
        trainingMs: T,
      };
    },
    checks: (f, r) => {
      const vol = f.windows.find((w) => w.kind === 'volumetric-dos');
      const block = r.actions.find((a) => a.status === 'succeeded' && (a.type === 'block' || a.type === 'rate_limit') && vol && a.t >= vol.startS);
      // the blocking NF's monitoring when it blocked: the last granularity change before the block
      // must have switched it to per-flow statistics (coarse -> per-flow -> confirm -> mitigate)
      const changes = r.actions.filter((a) => a.status === 'succeeded' && a.type === 'reconfigure_monitoring' && a.mode !== undefined && (!block || (a.target === block.target && a.t <= block.t)));
      const refine = changes.at(-1);
      const perFlow = refine?.mode === 'per_flow';
      return [
        detectedAll(f),
        check(
          'finer monitoring before mitigation',
          block !== undefined && perFlow,
          refine ? `${refine.target} switched to ${refine.mode} at ${refine.t}s, first block at ${block?.t ?? '–'}s` : 'no reconfigure_monitoring',
        ),
        check('volumetric DoS mitigated', vol?.timeToMitigateS !== undefined, `time to mitigate ${vol?.timeToMitigateS ?? '–'} s`),
        noBenignMitigation(f),
      ];
    },
  },
  {
    name: 'flash-crowd',
    summary: 'A legitimate surge of viewers on the vCDN: the loops may scale out, but must not block or rate-limit anyone',
    topology: 'vcdn-edge',
    build({ engine, short }) {
      const T = short ? 5 * MIN : 20 * MIN;
      const a = flashCrowd(engine.fork('flash-1'), engine.startMs, { id: 'flash-crowd-1', targets: ['streamer'], startMs: T + MIN, durationMs: short ? 2 * MIN : 8 * MIN });
      const b = flashCrowd(engine.fork('flash-2'), engine.startMs, {
        id: 'flash-crowd-2',
        targets: ['streamer'],
        startMs: T + (short ? 4 : 14) * MIN,
        durationMs: short ? 2 * MIN : 5 * MIN,
        viewers: 800,
        prefix: '10.31',
      });
      return {
        generators: [httpUsers(engine.fork('users'), { targets: ['streamer'] }), a.generator, b.generator],
        windows: [a.window, b.window],
        durationMs: T + (short ? 7 : 22) * MIN,
        trainingMs: T,
      };
    },
    checks: (f, r) => {
      const traffic = r.actions.filter((a) => a.status === 'succeeded' && ['block', 'rate_limit', 'isolate'].includes(a.type));
      return [
        noBenignMitigation(f),
        check('no traffic blocked, rate-limited or isolated', traffic.length === 0, `${traffic.length} traffic mitigation(s); scale-outs and hardening are allowed`),
      ];
    },
  },
  {
    name: 'fl-poisoning',
    summary: 'Federated training of the NF detectors with two poisoning clients (scaled and sign-flipped updates); robust aggregation and trust keep the global model',
    topology: 'embb-5g',
    federated: true,
    build({ engine, topology, short }) {
      const gnbs = nfIdsOfType(topology, 'gnb');
      const T = short ? 5 * MIN : 20 * MIN;
      const storm = signalingStorm(engine.fork('storm'), engine.startMs, { id: 'storm-1', targets: gnbs, startMs: T + (short ? 4 : 10) * MIN, durationMs: short ? 2 * MIN : 4 * MIN });
      return {
        generators: [ranUsers(engine.fork('subscribers'), { targets: gnbs }), storm.generator],
        windows: [storm.window],
        faults: [
          { atMs: T, kind: 'fl-poisoning', target: gnbs[0], params: { mode: 'scale', factor: 50 } },
          { atMs: T, kind: 'fl-poisoning', target: gnbs[1], params: { mode: 'sign-flip' } },
        ],
        durationMs: T + (short ? 8 : 16) * MIN,
        trainingMs: T,
      };
    },
    checks: (f, r) => {
      const rejected = r.flRounds.reduce((a, x) => a + x.rejected, 0);
      return [
        check('FL rounds ran', r.flRounds.length > 0, `${r.flRounds.length} round(s)`),
        check('poisoned updates rejected or down-weighted', rejected > 0, `${rejected} update(s) rejected`),
        detectedAll(f),
      ];
    },
  },
  {
    name: 'rogue-agent',
    summary: 'An NF agent turns rogue (forged messages, bad-mouthing its peers, poisoned FL updates, on-off behaviour); trust drops and the agent is quarantined',
    topology: 'embb-5g',
    federated: true,
    build({ engine, topology, short }) {
      const gnbs = nfIdsOfType(topology, 'gnb');
      const T = short ? 3 * MIN : 15 * MIN;
      return {
        generators: [ranUsers(engine.fork('subscribers'), { targets: gnbs })],
        windows: [],
        faults: [
          { atMs: T + MIN, kind: 'rogue-agent', target: `${topology.domains[0].id}:${gnbs[2]}`, params: { behaviour: ['forge', 'bad-mouth', 'on-off'] } },
          { atMs: T + MIN, kind: 'fl-poisoning', target: gnbs[2], params: { mode: 'scale', factor: 50 } },
          // another gNB's key is stolen; the domain root revokes its credential a minute later
          { atMs: T + 2 * MIN, kind: 'stolen-key', target: `${topology.domains[0].id}:${gnbs[1]}`, params: { everyMs: 2000, revokeAfterMs: MIN } },
        ],
        durationMs: T + (short ? 12 : 20) * MIN,
        trainingMs: T,
      };
    },
    checks: (_f, r) => {
      const rogue = r.faults.find((x) => x.kind === 'rogue-agent')?.target;
      const quarantined = r.actions.some((a) => a.status === 'succeeded' && (a.type === 'quarantine' || a.type === 'revoke') && a.target === rogue);
      const last = rogue ? r.trust.filter((t) => t.agentId === rogue).at(-1)?.score : undefined;
      const stolen = r.faults.find((x) => x.kind === 'stolen-key' && x.detail?.startsWith('result:'));
      const n = (k: string) => Number(new RegExp(`${k}=(\\d+)`).exec(stolen?.detail ?? '')?.[1] ?? Number.NaN);
      return [
        check('rogue agent quarantined', quarantined, `trust of ${rogue ?? '?'} at the end: ${last ?? '–'}`),
        check(
          'stolen key revoked: every later message with it rejected as revoked',
          stolen !== undefined && /revoked=true/.test(stolen.detail ?? '') && n('forgedAfterRevocation') > 0 && n('deliveredAfterRevocation') === 0 && n('rejectedRevokedByObserver') >= n('forgedAfterRevocation'),
          stolen?.detail ?? 'no stolen-key result',
        ),
      ];
    },
  },
  {
    name: 'broker-failover',
    summary: 'The signaling storm over a 3-node nats-server cluster; one broker is killed mid-attack and no escalation or delegation is lost',
    topology: 'embb-5g',
    brokers: 'nats-cluster',
    build({ engine, topology, short }) {
      const gnbs = nfIdsOfType(topology, 'gnb');
      const T = short ? 4 * MIN : 10 * MIN;
      const storm = signalingStorm(engine.fork('storm'), engine.startMs, { id: 'storm-1', targets: gnbs, startMs: T + MIN, durationMs: short ? 3 * MIN : 5 * MIN });
      return {
        generators: [ranUsers(engine.fork('subscribers'), { targets: gnbs }), storm.generator],
        windows: [storm.window],
        faults: [{ atMs: T + MIN + 30_000, kind: 'broker-crash', target: 'nats-1' }],
        durationMs: T + (short ? 6 : 10) * MIN,
        trainingMs: T,
      };
    },
    checks: (f, r) => {
      const crash = r.faults.find((x) => x.kind === 'broker-crash');
      const lost = r.notes.filter((n) => n.startsWith('lost message'));
      const ledger = r.notes.find((n) => n.startsWith('coordination ledger'));
      const crashed = crash !== undefined && crash.detail?.startsWith('killed') === true;
      const after = crash ? r.messages.filter((m) => m.t >= crash.t) : [];
      const afterKinds = (k: string) => after.filter((m) => m.kind === k).length;
      const scaled = r.actions.filter((a) => a.status === 'succeeded' && a.type === 'scale_out' && !a.requestedBy.startsWith('mano:') && /amf|smf/.test(a.target));
      return [
        check('broker crashed during the run', crashed, crash?.detail ?? 'no broker-crash fault applied'),
        check(
          'no message lost across the failover',
          crashed && ledger !== undefined && lost.length === 0,
          `${ledger ?? 'no coordination ledger'}${lost.length > 0 ? `; ${lost.slice(0, 3).join('; ')}` : ''}`,
        ),
        check(
          'coordination continued after the crash',
          afterKinds('escalate') > 0 && afterKinds('delegate') > 0,
          `after the crash: ${afterKinds('escalate')} escalate, ${afterKinds('delegate')} delegate, ${afterKinds('outcome')} outcome message(s)`,
        ),
        detectedAll(f),
        check('storm mitigated: AMF/SMF scaled out by the loops', scaled.length > 0, scaled.map((a) => `${a.target} at ${a.t}s by ${a.requestedBy}`).join(', ') || 'none'),
      ];
    },
  },
  {
    name: 'multi-domain',
    summary: 'E2E slice across op-a (RAN, TN) and op-b (CN, edge): a signaling storm in op-a and a Hulk flood on op-b\'s edge; indicators are shared across domains',
    topology: 'multi-domain',
    build({ engine, topology, short }) {
      const gnbs = nfIdsOfType(topology, 'gnb');
      const streamer = nfIdsOfType(topology, 'streamer');
      const T = short ? 5 * MIN : 20 * MIN;
      const storm = signalingStorm(engine.fork('storm'), engine.startMs, {
        id: 'storm-1',
        targets: gnbs,
        impact: nfIdsOfType(topology, 'amf')[0],
        startMs: T + MIN,
        durationMs: short ? 2 * MIN : 5 * MIN,
      });
      const flood = hulk(engine.fork('hulk'), engine.startMs, { id: 'hulk-1', targets: streamer, startMs: T + (short ? 3.5 : 8) * MIN, durationMs: short ? 1.5 * MIN : 4 * MIN });
      return {
        generators: [ranUsers(engine.fork('subscribers'), { targets: gnbs }), httpUsers(engine.fork('viewers'), { targets: streamer }), storm.generator, flood.generator],
        windows: [storm.window, flood.window],
        durationMs: T + (short ? 6 : 16) * MIN,
        trainingMs: T,
      };
    },
    checks: (f) => [
      detectedAll(f),
      check('indicators shared across domains (peer messages)', (f.messages.byKind.peer ?? 0) > 0, `${f.messages.byKind.peer ?? 0} peer message(s)`),
      noBenignMitigation(f),
    ],
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

export function findScenario(name: string): ScenarioDefinition | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
