import { type Rng, SimulatedClock, type TlaAttribute, seededRng } from '@sliceguard/core';
import { createTrustManager, type TrustManager } from './manager.js';
import type { TrustDefaults } from './options.js';
import type { PeerRating } from './types.js';

/**
 * A reproducible, seeded simulation of the Trust Manager under the attacks of issue 5. One round is
 * one interaction per agent: the trust manager observes each agent once (a report checked, an FL
 * update screened, a delegation answered, a message verified) and every agent rates a few peers it
 * dealt with over the (simulated) signed ratings channel. Quarantined agents keep interacting — the
 * worst case for an on-off attacker, who keeps earning (probation-discounted) positive evidence.
 */
export const SCENARIOS = ['malicious', 'on-off', 'bad-mouthing', 'ballot-stuffing', 'whitewashing', 'collusion-20'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface EvaluationOptions {
  seed?: number;
  /** Agents per run, including attackers. Default 50. */
  agents?: number;
  /** Interactions per agent. Default 250. */
  rounds?: number;
  /** Forgetting half-life, in rounds. Default 50. */
  halfLifeRounds?: number;
  /** Probability that an honest agent's interaction goes wrong anyway (noise). Default 0.05. */
  honestErrorRate?: number;
  /**
   * Probability that a malicious agent's interaction is bad. Default 0.95: symmetric with the honest
   * error rate — a consistently malicious agent is also mis-observed (or gets lucky) 5 % of the time.
   */
  maliciousBadRate?: number;
  /** Peers each agent rates per round. Default 3. */
  ratingsPerRound?: number;
  /** Interactions counted as warm-up before honest agents' lowest score is taken. Default 20. */
  warmupRounds?: number;
  /** Model tunables under test (default: the package's defaults). */
  defaults?: Partial<TrustDefaults>;
  scenarios?: readonly ScenarioName[];
}

export interface ScenarioResult {
  scenario: ScenarioName;
  seed: number;
  agents: number;
  attackers: number;
  /** Interactions until each attacker (or each fresh identity) was first quarantined; null = never. */
  interactionsToQuarantine: (number | null)[];
  maxInteractionsToQuarantine: number | null;
  attackersNeverQuarantined: number;
  /** Lowest score an honest agent reached after warm-up, and over the whole run. */
  honestLowestScore: number;
  honestLowestScoreInclWarmup: number;
  honestWronglyQuarantined: number;
  honestWronglyQuarantinedFraction: number;
  /** on-off: within one half-life after the first quarantine, did any attacker leave quarantine, and its highest score then. */
  regainedWithinHalfLife?: boolean;
  maxScoreWithinHalfLifeAfterQuarantine?: number;
  /** on-off: interactions until each attacker first fell below a threshold it had earned (any action imposed by a transition); null = never. */
  interactionsToFirstAction?: (number | null)[];
  /** on-off: actions imposed on the attackers, and those lifted again within one half-life of being imposed. */
  actionsImposed?: number;
  actionsRegainedWithinHalfLife?: number;
  /** on-off: highest score an attacker reached within one half-life after an action was imposed, minus that action's lifting level (threshold + hysteresis); < 0 = never regained. */
  worstRegainMargin?: number;
  /** bad-mouthing / collusion: largest change of an honest agent's score against the same seed without the attack. */
  maxHonestScoreShift?: number;
  meanHonestScoreShiftAtEnd?: number;
  /** whitewashing: the fresh identities' largest aggregation weight and whether any had its reports counted. */
  freshIdentityMaxWeight?: number;
  freshIdentityReportsCounted?: boolean;
  /** ballot-stuffing: mean interactions to quarantine of the beneficiaries without the stuffing. */
  baselineMeanInteractionsToQuarantine?: number;
}

export interface TargetCheck {
  target: string;
  met: boolean;
  value: number | boolean | null;
}

export interface EvaluationReport {
  seeds: number[];
  options: Required<Omit<EvaluationOptions, 'seed' | 'defaults' | 'scenarios'>>;
  results: ScenarioResult[];
  targets: TargetCheck[];
}

type Role = 'honest' | 'malicious' | 'onoff' | 'badmouther' | 'stuffer' | 'colluder';

interface SimAgent {
  id: string;
  role: Role;
  /** Interactions so far (of this identity). */
  interactions: number;
  quarantinedAfter: number | null;
  quarantinedAt?: number;
  /** whitewashing: generation of the identity. */
  generation: number;
}

const OBSERVED: TlaAttribute[] = ['report_accuracy', 'fl_quality', 'ssla', 'message_validity'];
const ROUND_MS = 60_000;

interface RunConfig {
  scenario: ScenarioName;
  seed: number;
  n: number;
  rounds: number;
  halfLifeRounds: number;
  honestErrorRate: number;
  maliciousBadRate: number;
  ratingsPerRound: number;
  warmupRounds: number;
  defaults: Partial<TrustDefaults>;
  /** Run the same seed with attackers' ratings made honest (the baseline for score shifts). */
  attackRatings: boolean;
}

interface RunTrace {
  result: ScenarioResult;
  /** Honest agents' scores per round (for the shift comparison). */
  honestScores: Map<string, number[]>;
}

function roleCounts(scenario: ScenarioName, n: number): Partial<Record<Role, number>> {
  const tenth = Math.max(1, Math.round(n * 0.1));
  const fifth = Math.max(1, Math.round(n * 0.2));
  const table: Record<ScenarioName, Partial<Record<Role, number>>> = {
    malicious: { malicious: tenth },
    'on-off': { onoff: tenth },
    'bad-mouthing': { badmouther: fifth },
    'ballot-stuffing': { malicious: tenth, stuffer: tenth },
    whitewashing: { malicious: tenth },
    'collusion-20': { colluder: fifth },
  };
  return table[scenario];
}

/** Whether an agent of `role` behaves well in its `k`-th interaction (0-based). */
function behavesWell(role: Role, k: number, rng: Rng, c: RunConfig): boolean {
  switch (role) {
    case 'malicious':
    case 'colluder':
      return rng.next() >= c.maliciousBadRate;
    case 'onoff': {
      // 20 good interactions, then 10 bad ones, repeatedly: it builds trust, then spends it
      const phase = k % 30;
      return phase < 20 ? rng.next() >= c.honestErrorRate : rng.next() >= c.maliciousBadRate;
    }
    default:
      return rng.next() >= c.honestErrorRate;
  }
}

async function runScenario(c: RunConfig): Promise<RunTrace> {
  const rng = seededRng(`${c.seed}:${c.scenario}`);
  const behaviourRng = rng.fork('behaviour');
  const pickRng = rng.fork('pick');
  const ratingRng = rng.fork('ratings');
  const clock = new SimulatedClock(0);
  const halfLifeMs = c.halfLifeRounds * ROUND_MS;
  const trust: TrustManager = await createTrustManager({
    clock,
    self: 'd1:tsm',
    defaults: { halfLifeMs, evaluateIntervalMs: 0, raterRefreshMs: ROUND_MS / 2, ...c.defaults },
  });

  const counts = roleCounts(c.scenario, c.n);
  const agents: SimAgent[] = [];
  const roles: Role[] = [];
  for (const [role, k] of Object.entries(counts) as [Role, number][]) for (let i = 0; i < k; i++) roles.push(role);
  while (roles.length < c.n) roles.push('honest');
  roles.forEach((role, i) => {
    agents.push({ id: `d1:a${String(i).padStart(3, '0')}`, role, interactions: 0, quarantinedAfter: null, generation: 0 });
  });
  // two pre-trusted slice agents rate like honest peers
  const anchors = ['d1:slice-a', 'd1:slice-b'];
  for (const a of anchors) trust.register(a, { anchor: true });
  for (const a of agents) trust.register(a.id);

  const attackerRoles: Role[] = c.scenario === 'ballot-stuffing' || c.scenario === 'whitewashing' ? ['malicious'] : ['malicious', 'onoff', 'colluder'];
  const tracked: SimAgent[] = agents.filter((a) => attackerRoles.includes(a.role));
  const retired: SimAgent[] = [];
  const honest = agents.filter((a) => a.role === 'honest');
  const honestScores = new Map<string, number[]>(honest.map((a) => [a.id, []]));
  let lowest = 1;
  let lowestInclWarmup = 1;
  const wronglyQuarantined = new Set<string>();
  let regained = false;
  let maxAfterQuarantine = 0;
  let freshMaxWeight = 0;
  let freshReportsCounted = false;
  let nextId = agents.length;
  const onoffIds = new Set(agents.filter((a) => a.role === 'onoff').map((a) => a.id));
  /** on-off attacker → action → when it was imposed. */
  const imposed = new Map<string, Map<string, number>>();
  const firstActionAfter = new Map<string, number>();
  let actionsImposed = 0;
  let actionsRegained = 0;
  let worstRegainMargin = Number.NEGATIVE_INFINITY;
  trust.onTransition((e) => {
    if (!onoffIds.has(e.subject)) return;
    const agent = agents.find((a) => a.id === e.subject);
    let mine = imposed.get(e.subject);
    if (!mine) imposed.set(e.subject, (mine = new Map()));
    for (const action of e.added) {
      mine.set(action, e.at);
      actionsImposed++;
      if (!firstActionAfter.has(e.subject) && agent) firstActionAfter.set(e.subject, agent.interactions);
    }
    for (const action of e.lifted) {
      const since = mine.get(action);
      // "within one forgetting period": lifted before a full half-life has passed since it was imposed
      if (since !== undefined && e.at - since < halfLifeMs) actionsRegained++;
      mine.delete(action);
    }
  });

  for (let round = 0; round < c.rounds; round++) {
    await clock.advance(ROUND_MS);
    const now = clock.now();
    const wellThisRound = new Map<string, boolean>();
    // direct interactions, observed by the trust manager
    for (const a of agents) {
      const good = behavesWell(a.role, a.interactions, behaviourRng, c);
      const attribute = OBSERVED[behaviourRng.int(OBSERVED.length)];
      wellThisRound.set(a.id, good);
      a.interactions++;
      trust.record({
        subject: a.id,
        attribute,
        positive: good ? 1 : 0,
        negative: good ? 0 : 1,
        source: 'd1:tsm',
        at: now,
        reason: good ? 'interaction ok' : 'interaction failed',
      });
    }
    // peer ratings over the signed channel (rater = verified sender)
    const everyone = [...agents.map((a) => a.id)];
    const byId = new Map(agents.map((a) => [a.id, a]));
    const raters: { id: string; role: Role }[] = [...agents.map((a) => ({ id: a.id, role: a.role })), ...anchors.map((id) => ({ id, role: 'honest' as Role }))];
    for (const r of raters) {
      const ratings: PeerRating[] = [];
      for (let k = 0; k < c.ratingsPerRound; k++) {
        const peer = everyone[pickRng.int(everyone.length)];
        if (peer === r.id) continue;
        const target = byId.get(peer);
        // what an honest rater would report: the peer's behaviour this round, seen through its own noise
        const truth = wellThisRound.get(peer) ?? true;
        const seen = ratingRng.next() < c.honestErrorRate ? !truth : truth;
        let good = seen;
        if (c.attackRatings && target) {
          if (r.role === 'badmouther' && target.role === 'honest') good = false;
          if (r.role === 'stuffer') good = target.role === 'malicious';
          if (r.role === 'colluder') good = target.role === 'colluder';
        }
        ratings.push({ subject: peer, positive: good ? 1 : 0, negative: good ? 0 : 1 });
      }
      if (c.attackRatings && r.role === 'stuffer') {
        // ballot-stuffing: every stuffer also praises every beneficiary, every round, at full weight
        for (const b of agents) if (b.role === 'malicious') ratings.push({ subject: b.id, positive: 10, negative: 0 });
      }
      if (ratings.length > 0) trust.rate(r.id, ratings, now);
    }
    trust.evaluateAll();

    // measurements
    for (const a of honest) {
      const s = trust.score(a.id);
      honestScores.get(a.id)?.push(s);
      lowestInclWarmup = Math.min(lowestInclWarmup, s);
      if (round >= c.warmupRounds) lowest = Math.min(lowest, s);
      if (trust.isQuarantined(a.id)) wronglyQuarantined.add(a.id);
    }
    for (const a of [...tracked]) {
      const q = trust.isQuarantined(a.id);
      if (a.quarantinedAfter === null && q) {
        a.quarantinedAfter = a.interactions;
        a.quarantinedAt = now;
        if (c.scenario === 'whitewashing' && a.generation < 3) {
          // the attacker drops the identity and comes back under a fresh one
          retired.push(a);
          const fresh: SimAgent = { id: `d1:w${String(nextId++).padStart(3, '0')}`, role: 'malicious', interactions: 0, quarantinedAfter: null, generation: a.generation + 1 };
          agents.splice(agents.indexOf(a), 1, fresh);
          tracked.splice(tracked.indexOf(a), 1, fresh);
          trust.register(fresh.id);
        }
      }
      if (a.generation > 0 && a.quarantinedAfter === null) {
        freshMaxWeight = Math.max(freshMaxWeight, trust.weight(a.id));
        if (!trust.actions(a.id).includes('ignoreReports')) freshReportsCounted = true;
      }
      if (c.scenario === 'on-off' && a.quarantinedAt !== undefined && now - a.quarantinedAt <= halfLifeMs) {
        maxAfterQuarantine = Math.max(maxAfterQuarantine, trust.score(a.id));
        if (!q) regained = true;
      }
      if (c.scenario === 'on-off') {
        const score = trust.score(a.id);
        for (const [action, since] of imposed.get(a.id) ?? []) {
          if (now - since >= halfLifeMs) continue;
          const lift = trust.defaults.thresholds[action as keyof typeof trust.defaults.thresholds] + trust.defaults.hysteresis;
          worstRegainMargin = Math.max(worstRegainMargin, score - lift);
        }
      }
    }
  }

  const all = [...retired, ...tracked];
  const times = all.map((a) => a.quarantinedAfter);
  const reached = times.filter((t): t is number => t !== null);
  const result: ScenarioResult = {
    scenario: c.scenario,
    seed: c.seed,
    agents: c.n,
    attackers: agents.length - honest.length,
    interactionsToQuarantine: times,
    maxInteractionsToQuarantine: reached.length > 0 ? Math.max(...reached) : null,
    attackersNeverQuarantined: times.filter((t) => t === null).length,
    honestLowestScore: round4(lowest),
    honestLowestScoreInclWarmup: round4(lowestInclWarmup),
    honestWronglyQuarantined: wronglyQuarantined.size,
    honestWronglyQuarantinedFraction: round4(wronglyQuarantined.size / Math.max(1, honest.length)),
  };
  if (c.scenario === 'on-off') {
    result.regainedWithinHalfLife = regained;
    result.maxScoreWithinHalfLifeAfterQuarantine = round4(maxAfterQuarantine);
    result.interactionsToFirstAction = [...onoffIds].map((id) => firstActionAfter.get(id) ?? null);
    result.actionsImposed = actionsImposed;
    result.actionsRegainedWithinHalfLife = actionsRegained;
    result.worstRegainMargin = Number.isFinite(worstRegainMargin) ? round4(worstRegainMargin) : undefined;
  }
  if (c.scenario === 'whitewashing') {
    result.freshIdentityMaxWeight = round4(freshMaxWeight);
    result.freshIdentityReportsCounted = freshReportsCounted;
  }
  await trust.close();
  return { result, honestScores };
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

function shift(a: Map<string, number[]>, b: Map<string, number[]>, from: number): { max: number; meanAtEnd: number } {
  let max = 0;
  let sumEnd = 0;
  let n = 0;
  for (const [id, xs] of a) {
    const ys = b.get(id);
    if (!ys) continue;
    for (let i = from; i < Math.min(xs.length, ys.length); i++) max = Math.max(max, Math.abs(xs[i] - ys[i]));
    sumEnd += Math.abs(xs[xs.length - 1] - ys[ys.length - 1]);
    n++;
  }
  return { max: round4(max), meanAtEnd: round4(n > 0 ? sumEnd / n : 0) };
}

/** Runs every scenario for one seed. */
export async function evaluateTrust(options: EvaluationOptions = {}): Promise<ScenarioResult[]> {
  const c: Omit<RunConfig, 'scenario' | 'attackRatings'> = {
    seed: options.seed ?? 1,
    n: options.agents ?? 50,
    rounds: options.rounds ?? 250,
    halfLifeRounds: options.halfLifeRounds ?? 50,
    honestErrorRate: options.honestErrorRate ?? 0.05,
    maliciousBadRate: options.maliciousBadRate ?? 0.95,
    ratingsPerRound: options.ratingsPerRound ?? 3,
    warmupRounds: options.warmupRounds ?? 20,
    defaults: options.defaults ?? {},
  };
  const results: ScenarioResult[] = [];
  for (const scenario of options.scenarios ?? SCENARIOS) {
    const attacked = await runScenario({ ...c, scenario, attackRatings: true });
    if (scenario === 'bad-mouthing' || scenario === 'collusion-20' || scenario === 'ballot-stuffing') {
      const baseline = await runScenario({ ...c, scenario, attackRatings: false });
      const s = shift(attacked.honestScores, baseline.honestScores, c.warmupRounds);
      attacked.result.maxHonestScoreShift = s.max;
      attacked.result.meanHonestScoreShiftAtEnd = s.meanAtEnd;
      if (scenario === 'ballot-stuffing') {
        const t = baseline.result.interactionsToQuarantine.filter((x): x is number => x !== null);
        attacked.result.baselineMeanInteractionsToQuarantine = round4(t.reduce((p, x) => p + x, 0) / Math.max(1, t.length));
      }
    }
    results.push(attacked.result);
  }
  return results;
}

/** Runs every scenario for several seeds and checks the targets on all of them. */
export async function evaluateTrustSeeds(seeds: readonly number[], options: Omit<EvaluationOptions, 'seed'> = {}): Promise<EvaluationReport> {
  const results: ScenarioResult[] = [];
  for (const seed of seeds) results.push(...(await evaluateTrust({ ...options, seed })));
  const of = (name: ScenarioName): ScenarioResult[] => results.filter((r) => r.scenario === name);
  const consistently = results.filter((r) => ['malicious', 'ballot-stuffing', 'whitewashing', 'collusion-20'].includes(r.scenario));
  const worstQuarantine = Math.max(0, ...consistently.map((r) => r.maxInteractionsToQuarantine ?? Number.POSITIVE_INFINITY));
  const never = consistently.reduce((n, r) => n + r.attackersNeverQuarantined, 0);
  const onoff = of('on-off');
  const falseQ = Math.max(0, ...results.map((r) => r.honestWronglyQuarantinedFraction));
  const bm = Math.max(0, ...of('bad-mouthing').map((r) => r.maxHonestScoreShift ?? 0));
  const targets: TargetCheck[] = [
    { target: 'every consistently malicious agent quarantined within 20 interactions', met: never === 0 && worstQuarantine <= 20, value: never === 0 ? worstQuarantine : null },
    {
      target: 'an on-off attacker never regains the threshold within one forgetting period',
      met: onoff.length > 0 && onoff.every((r) => r.regainedWithinHalfLife === false && r.actionsRegainedWithinHalfLife === 0 && (r.actionsImposed ?? 0) > 0),
      value: onoff.reduce((n, r) => n + (r.actionsRegainedWithinHalfLife ?? 0), 0),
    },
    { target: 'no honest agent quarantined', met: falseQ === 0, value: falseQ },
    { target: "bad-mouthing by 20 % of raters moves an honest agent's score by < 0.1", met: bm < 0.1, value: bm },
  ];
  return {
    seeds: [...seeds],
    options: {
      agents: options.agents ?? 50,
      rounds: options.rounds ?? 250,
      halfLifeRounds: options.halfLifeRounds ?? 50,
      honestErrorRate: options.honestErrorRate ?? 0.05,
      maliciousBadRate: options.maliciousBadRate ?? 0.95,
      ratingsPerRound: options.ratingsPerRound ?? 3,
      warmupRounds: options.warmupRounds ?? 20,
    },
    results,
    targets,
  };
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface ScenarioSummary {
  scenario: ScenarioName;
  seeds: number;
  attackers: number;
  /** Interactions until quarantine, pooled over every attacker (fresh identities included) of every seed. */
  interactionsToQuarantine: Spread | null;
  attackersNeverQuarantined: number;
  honestLowestScore: Spread;
  honestLowestScoreInclWarmup: number;
  honestWronglyQuarantinedFraction: number;
  maxHonestScoreShift?: Spread;
  interactionsToFirstAction?: Spread | null;
  actionsRegainedWithinHalfLife?: number;
  worstRegainMargin?: number;
  freshIdentityMaxWeight?: number;
  freshIdentityReportsCounted?: boolean;
}

function spread(xs: number[]): Spread | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: round4(s[0]), median: round4(median), max: round4(s[s.length - 1]) };
}

/** Pools the per-seed results of each scenario (the table in docs/trust.md). */
export function summarizeEvaluation(report: EvaluationReport): ScenarioSummary[] {
  return SCENARIOS.filter((name) => report.results.some((r) => r.scenario === name)).map((scenario) => {
    const rs = report.results.filter((r) => r.scenario === scenario);
    const nums = (f: (r: ScenarioResult) => number | undefined): number[] => rs.map(f).filter((x): x is number => typeof x === 'number');
    const summary: ScenarioSummary = {
      scenario,
      seeds: rs.length,
      attackers: rs[0]?.attackers ?? 0,
      interactionsToQuarantine: spread(rs.flatMap((r) => r.interactionsToQuarantine.filter((x): x is number => x !== null))),
      attackersNeverQuarantined: rs.reduce((n, r) => n + r.attackersNeverQuarantined, 0),
      honestLowestScore: spread(nums((r) => r.honestLowestScore)) ?? { min: 0, median: 0, max: 0 },
      honestLowestScoreInclWarmup: Math.min(...nums((r) => r.honestLowestScoreInclWarmup)),
      honestWronglyQuarantinedFraction: Math.max(...nums((r) => r.honestWronglyQuarantinedFraction)),
    };
    const shifts = nums((r) => r.maxHonestScoreShift);
    if (shifts.length > 0) summary.maxHonestScoreShift = spread(shifts) ?? undefined;
    if (scenario === 'on-off') {
      summary.interactionsToFirstAction = spread(rs.flatMap((r) => (r.interactionsToFirstAction ?? []).filter((x): x is number => x !== null)));
      summary.actionsRegainedWithinHalfLife = rs.reduce((n, r) => n + (r.actionsRegainedWithinHalfLife ?? 0), 0);
      summary.worstRegainMargin = Math.max(...nums((r) => r.worstRegainMargin));
    }
    if (scenario === 'whitewashing') {
      summary.freshIdentityMaxWeight = Math.max(...nums((r) => r.freshIdentityMaxWeight));
      summary.freshIdentityReportsCounted = rs.some((r) => r.freshIdentityReportsCounted === true);
    }
    return summary;
  });
}
