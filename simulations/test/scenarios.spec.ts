import assert from 'node:assert/strict';
import { agentsSecurityLayer, runScenario } from '../src/index.js';
import { assertLedgerComplete } from './ledger.js';

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
    // agent-restart: the RAN sub-slice agent is stopped and started mid-incident; its loop resumes
    const restart = report.faults.find((x) => x.kind === 'agent-restart');
    assert.match(restart?.detail ?? '', /started again/);
    assert.ok(report.messages.some((m) => m.from === restart!.target && m.kind === 'escalate' && m.t > restart!.t), 'the restarted loop escalates again');
    assert.equal(report.notes.filter((n) => n.startsWith('lost message')).length, 0, report.notes.join('\n'));
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
  });

  it('progressive-dos: coarse anomaly, per-flow statistics, the volumetric flood blocked; the flash crowd before it dismissed', async () => {
    const { report } = await runScenario('progressive-dos', { seed: 1, short: true, security: loops() });
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
    assert.ok(report.actions.some((a) => a.type === 'notify' && a.policyId === 'vcdn-nf-dismiss-flash-crowd'), 'a fortuitous event was dismissed');
    assert.ok(report.actions.some((a) => a.type === 'reconfigure_monitoring' && a.mode === 'aggregate'), 'monitoring went back to aggregate');
    assert.equal(report.figures.benignMitigations, 0);
  });

  it('multi-domain: both attacks detected, indicators shared between domains, no benign mitigation', async () => {
    const { report } = await runScenario('multi-domain', { seed: 1, short: true, security: loops() });
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
  });
});

describe('simulations: broker failover over a real nats-server cluster (short mode)', function () {
  this.timeout(120_000);

  it('a broker killed mid-storm: the clients fail over, no escalation, delegation or outcome is lost, the storm is still mitigated', async () => {
    const { report } = await runScenario('broker-failover', { seed: 1, short: true, security: loops() });
    const crash = report.faults.find((x) => x.kind === 'broker-crash');
    assert.match(crash?.detail ?? '', /^killed nats-server .* with [1-9]\d* agent connection/);
    assertLedgerComplete(report);
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
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
    const q = report.actions.filter((a) => a.type === 'quarantine' || a.type === 'revoke');
    // the rogue and only the rogue: the honest holder of the stolen key (gnb-2) is never quarantined
    assert.deepEqual(q.map((a) => `${a.type} ${a.target}`), ['quarantine mno:gnb-3']);
    const innocent = report.trust.filter((t) => t.agentId === 'mno:gnb-1').at(-1)?.score ?? 0;
    const rogue = report.trust.filter((t) => t.agentId === 'mno:gnb-3').at(-1)?.score ?? 1;
    assert.ok(rogue < 0.2 && innocent > rogue, `rogue ${rogue}, innocent ${innocent}`);
    // stolen-key: gnb-2's key is used by an attacker; after the root's revocation, nothing signed with it gets through
    const stolen = report.faults.find((x) => x.kind === 'stolen-key' && x.detail?.startsWith('result:'));
    const n = (k: string) => Number(new RegExp(`${k}=(\\d+)`).exec(stolen?.detail ?? '')?.[1]);
    assert.ok(n('forgedAfterRevocation') > 0, stolen?.detail);
    assert.equal(n('deliveredAfterRevocation'), 0, stolen?.detail);
    assert.ok(n('rejectedRevokedByObserver') >= n('forgedAfterRevocation'), stolen?.detail);
    assert.ok((report.figures.messages.rejected.revoked ?? 0) > 0, JSON.stringify(report.figures.messages));
  });
});
