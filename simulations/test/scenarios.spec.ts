import assert from 'node:assert/strict';
import { agentsSecurityLayer, runScenario } from '../src/index.js';

/** Each scenario in short mode with the real agents (statistical detector: no TensorFlow in unit tests). */
const loops = () => agentsSecurityLayer({ detector: 'statistical' });

describe('simulations: scenarios with the agents (short mode)', function () {
  this.timeout(120_000);

  it('vcdn-ddos: both Hulk floods and the Slowloris attack are detected and contained; deterministic for a seed', async () => {
    const a = await runScenario('vcdn-ddos', { seed: 11, short: true, security: loops() });
    const f = a.report.figures;
    assert.equal(f.detection.attacksDetected, 3, JSON.stringify(f.windows));
    for (const w of f.windows.filter((x) => x.kind === 'hulk')) assert.ok(w.timeToDetectPeriods! <= 2, `${w.id} TTD ${w.timeToDetectPeriods}`);
    for (const w of f.windows) assert.ok(w.timeToMitigateS !== undefined, `${w.id} contained`);
    assert.equal(f.mitigationsOutsideAttacks, 0);
    assert.equal(f.benignMitigations, 0);
    assert.ok((f.actions.block ?? 0) > 0, 'the loops blocked the attackers');
    assert.ok(a.report.messages.some((m) => m.kind === 'escalate'), 'NF loops escalated');
    const b = await runScenario('vcdn-ddos', { seed: 11, short: true, security: loops() });
    assert.equal(JSON.stringify(b.report), JSON.stringify(a.report), 'same seed, same report');
  });

  it('flash-crowd: the legitimate surge is detected as unusual but nobody is blocked or rate-limited', async () => {
    const { report } = await runScenario('flash-crowd', { seed: 3, short: true, security: loops() });
    assert.equal(report.figures.benignMitigations, 0);
    assert.equal(report.figures.legitFilteredShare, 0);
    assert.equal(report.actions.filter((a) => a.status === 'succeeded' && ['block', 'rate_limit', 'isolate'].includes(a.type)).length, 0);
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
  });

  it('signaling-storm: RAN anomalies escalate, the slice delegates, the CN sub-slice scales AMF/SMF out', async () => {
    const { report } = await runScenario('signaling-storm', { seed: 2, short: true, security: loops() });
    assert.equal(report.figures.detection.attacksDetected, 1);
    assert.ok(report.figures.messages.byKind.delegate > 0, 'delegation observed');
    assert.ok(report.actions.some((a) => a.type === 'scale_out' && a.status === 'succeeded' && /amf|smf/.test(a.target) && !a.requestedBy.startsWith('mano:')));
  });
});

describe('simulations: federated learning and trust scenarios (short mode)', function () {
  this.timeout(120_000);

  it('fl-poisoning: rounds run and the poisoned updates are rejected while the global model stays usable', async () => {
    const { report } = await runScenario('fl-poisoning', { seed: 1, short: true, security: loops() });
    const published = report.flRounds.filter((r) => r.note?.startsWith('published'));
    assert.ok(published.length >= 3, JSON.stringify(report.flRounds));
    assert.ok(report.flRounds.some((r) => r.note?.includes('mno:gnb-1 (norm_exceeded)')), 'the ×50 update is rejected');
    const losses = published.map((r) => r.loss).filter((l): l is number => l !== undefined);
    assert.ok(losses.length > 0 && losses.every((l) => Number.isFinite(l) && l < 1));
    assert.ok(report.faults.every((f) => !f.detail?.startsWith('skipped')));
  });

  it('rogue-agent: forged out-of-scope messages are rejected and counted, trust drops, the rogue is quarantined', async () => {
    const { report } = await runScenario('rogue-agent', { seed: 1, short: true, security: loops() });
    assert.ok((report.figures.messages.rejected.out_of_scope ?? 0) > 0, JSON.stringify(report.figures.messages));
    const q = report.actions.find((a) => a.type === 'quarantine');
    assert.equal(q?.target, 'mno:gnb-3');
    const innocent = report.trust.filter((t) => t.agentId === 'mno:gnb-1').at(-1)?.score ?? 0;
    const rogue = report.trust.filter((t) => t.agentId === 'mno:gnb-3').at(-1)?.score ?? 1;
    assert.ok(rogue < 0.2 && innocent > rogue, `rogue ${rogue}, innocent ${innocent}`);
  });
});
