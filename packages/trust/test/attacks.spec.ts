import assert from 'node:assert/strict';
import { type EvaluationOptions, type ScenarioName, type ScenarioResult, evaluateTrust } from '../src/index.js';

/**
 * Each attack of issue 5 as a test: a seeded simulation on a SimulatedClock (src/evaluation.ts), at a
 * smaller size than the documented run (docs/trust.md) so the suite stays fast.
 */
const SMALL: EvaluationOptions = { agents: 30, rounds: 100, halfLifeRounds: 30 };

async function scenario(name: ScenarioName, seed = 11): Promise<ScenarioResult> {
  const [result] = await evaluateTrust({ ...SMALL, seed, scenarios: [name] });
  assert.ok(result, `scenario ${name} ran`);
  return result;
}

function noHonestQuarantined(r: ScenarioResult): void {
  assert.equal(r.honestWronglyQuarantined, 0, `honest agents quarantined in ${r.scenario}`);
  assert.ok(r.honestLowestScore > 0.25, `lowest honest score ${r.honestLowestScore}`);
}

function allQuarantinedWithin(r: ScenarioResult, n: number): void {
  assert.equal(r.attackersNeverQuarantined, 0, `${r.scenario}: ${JSON.stringify(r.interactionsToQuarantine)}`);
  assert.ok((r.maxInteractionsToQuarantine ?? Number.POSITIVE_INFINITY) <= n, `${r.scenario}: ${JSON.stringify(r.interactionsToQuarantine)}`);
}

describe('trust attacks (seeded simulation on a simulated clock)', () => {
  it('consistently malicious agents are quarantined within 20 interactions; no honest agent is', async () => {
    const r = await scenario('malicious');
    assert.ok(r.attackers >= 3);
    allQuarantinedWithin(r, 20);
    noHonestQuarantined(r);
  });

  it('an on-off attacker loses trust in its first bad phase and never regains it within one forgetting period', async () => {
    const r = await scenario('on-off');
    assert.ok((r.actionsImposed ?? 0) >= r.attackers, `actions imposed: ${r.actionsImposed}`);
    assert.ok((r.interactionsToFirstAction ?? []).every((n) => n !== null && n <= 30), JSON.stringify(r.interactionsToFirstAction));
    assert.equal(r.actionsRegainedWithinHalfLife, 0);
    assert.equal(r.regainedWithinHalfLife, false);
    noHonestQuarantined(r);
  });

  it('bad-mouthing by 20 % of raters moves honest scores by less than 0.1', async () => {
    const r = await scenario('bad-mouthing');
    assert.ok(r.maxHonestScoreShift !== undefined && r.maxHonestScoreShift < 0.1, `shift ${r.maxHonestScoreShift}`);
    assert.ok(r.maxHonestScoreShift > 0, 'the attack did reach the ratings (a zero shift would mean it was not simulated)');
    noHonestQuarantined(r);
  });

  it('ballot-stuffing colluders cannot keep their malicious beneficiaries out of quarantine', async () => {
    const r = await scenario('ballot-stuffing');
    allQuarantinedWithin(r, 20);
    noHonestQuarantined(r);
  });

  it('whitewashing: every fresh identity is quarantined again and never gets its reports counted', async () => {
    const r = await scenario('whitewashing');
    assert.ok(r.interactionsToQuarantine.length > r.attackers, 'the attackers came back under fresh identities');
    allQuarantinedWithin(r, 20);
    assert.equal(r.freshIdentityReportsCounted, false);
    // a fresh identity's aggregation weight stays inside the reduced band (factor 0.25 × a score below 0.6)
    assert.ok((r.freshIdentityMaxWeight ?? 1) < 0.25 * 0.6, `fresh identity weight ${r.freshIdentityMaxWeight}`);
    noHonestQuarantined(r);
  });

  it('a colluding group of 20 % is quarantined and barely moves honest scores', async () => {
    const r = await scenario('collusion-20');
    allQuarantinedWithin(r, 20);
    assert.ok((r.maxHonestScoreShift ?? 1) < 0.1, `shift ${r.maxHonestScoreShift}`);
    noHonestQuarantined(r);
  });

  it('is reproducible: the same seed gives the same results', async () => {
    const a = await evaluateTrust({ agents: 20, rounds: 40, seed: 5, scenarios: ['malicious', 'bad-mouthing'] });
    const b = await evaluateTrust({ agents: 20, rounds: 40, seed: 5, scenarios: ['malicious', 'bad-mouthing'] });
    assert.deepEqual(a, b);
  });
});
