import assert from 'node:assert/strict';
import { loopSubject, SimulatedClock, seededRng } from '@sliceguard/core';
import type { RejectReason } from '@sliceguard/core';
import { createLocalNetwork } from '@sliceguard/bus';
import { examplePath, loadTopology } from '@sliceguard/topology';
import { createRatingReporter } from '@sliceguard/trust';
import type { InProcessTopology } from '../src/index.js';
import { startTopologyInProcess } from '../src/index.js';
import { run, settle } from './helpers.js';

describe('integration: trust manager wired into the domain agent (in process)', function () {
  this.timeout(30_000);
  let topo: InProcessTopology;
  const clock = new SimulatedClock(1_700_000_000_000);

  before(async () => {
    const topology = await loadTopology(examplePath('embb-5g'));
    topo = await startTopologyInProcess({ topology, network: createLocalNetwork(), clock, rng: seededRng(11), policies: 'builtin', coordination: { heartbeatMs: 0 }, mano: { autoscaler: false } });
    await topo.ready();
  });
  after(async () => {
    await topo?.stop();
  });

  it('signed peer ratings published by an NF agent reach the domain trust manager', async () => {
    const trust = topo.resources.get('mno')!.trust!;
    // A newcomer's reports are ignored (prior 0.4 < 0.5): the rater first earns trust by behaving.
    for (const attribute of ['security_measures', 'compliance', 'ssla', 'message_validity', 'report_accuracy', 'fl_quality'] as const) {
      for (let i = 0; i < 3; i++) trust.record({ subject: 'mno:gnb-1', attribute, positive: 10, negative: 0, source: 'test', at: clock.now() });
    }
    trust.evaluateAll();
    assert.ok(!trust.actions('mno:gnb-1').includes('ignoreReports'), 'the rater is trusted');
    const before = trust.snapshot('mno:gnb-3');
    // An NF agent's default credential scopes cover sg.<d>._sys.>, so it may publish ratings.
    const rejects: RejectReason[] = [];
    const off = topo.buses.get(topo.domains.get('mno')!.id)!.onReject((r) => rejects.push(r)) ?? (() => {});
    const reporter = createRatingReporter({ bus: topo.buses.get('mno:gnb-1')!, domain: 'mno', clock });
    for (let i = 0; i < 8; i++) reporter.observe('mno:gnb-3', false);
    await reporter.publish();
    await settle(5);
    // The raters' weights are refreshed at most every raterRefreshMs.
    await run(clock, trust.defaults.raterRefreshMs + 1000, 1000);
    trust.evaluateAll();
    off();
    assert.deepEqual(rejects, [], 'the ratings message is accepted');
    const after = trust.snapshot('mno:gnb-3');
    assert.equal(after.raters, before.raters + 1, 'one more rater');
    assert.ok(after.indirect < before.indirect, `indirect trust fell (${before.indirect} → ${after.indirect})`);
  });

  it('a quarantined loop that restarts is not re-activated by the security orchestrator', async () => {
    const trust = topo.resources.get('mno')!.trust!;
    const victim = 'mno:gnb-3';
    for (let i = 0; i < 40 && !trust.actions(victim).includes('quarantine'); i++) {
      trust.record({ subject: victim, attribute: 'message_validity', positive: 0, negative: 1, source: 'test', at: clock.now(), reason: 'bad messages' });
      await settle(1);
    }
    await run(clock, 3_000, 250);
    assert.ok(trust.actions(victim).includes('quarantine') && !trust.actions(victim).includes('revoke'), `quarantined, not revoked (${trust.actions(victim).join(',')})`);
    const agent = topo.agent(victim)!;
    assert.equal(agent.loop.state, 'inactive');
    // The loop announces a restart, as a restarted process does: the orchestrator withholds activation.
    const spec = agent.spec;
    await topo.buses.get(victim)!.publishJson(loopSubject('nf', spec.placement, 'status'), { v: 1, kind: 'status', from: victim, level: 'nf', state: 'instantiated', heartbeat: false, at: clock.now() });
    await run(clock, 3_000, 250);
    assert.equal(agent.loop.state, 'inactive', 'not re-activated while quarantined');
    const withheld = await topo.domains.get('mno')!.knowledge.query('coordination');
    assert.ok(JSON.stringify(withheld).includes('activation_withheld'), 'the withheld activation is recorded');
  });

  it('quarantine deactivates the loop over the bus; revocation publishes a signed list that every bus applies', async () => {
    const trust = topo.resources.get('mno')!.trust!;
    const victim = 'mno:gnb-2';
    const domainBus = topo.buses.get(topo.domains.get('mno')!.id)!;
    const got: string[] = [];
    const rejects: RejectReason[] = [];
    const sub = domainBus.subscribe('sg.mno._sys.probe.>', (m) => {
      got.push(m.sender.agentId);
    });
    const off = domainBus.onReject((r, info) => {
      if (info.sender === victim) rejects.push(r);
    });
    await topo.buses.get(victim)!.publishJson('sg.mno._sys.probe.x', { n: 1 });
    await settle(5);
    assert.deepEqual(got, [victim], 'delivered before the revocation');
    assert.equal(topo.agent(victim)!.loop.state, 'active');

    const events: string[] = [];
    const domain = topo.domains.get('mno')!;
    domain.loop.on((n) => {
      if (n.type === 'event' && n.event.type === 'trust') events.push(`${(n.event as { subject: string }).subject}:${(n.event as { to: string }).to}`);
    });
    for (let i = 0; i < 40; i++) {
      trust.record({ subject: victim, attribute: 'message_validity', positive: 0, negative: 1, source: 'test', at: clock.now(), reason: 'forged messages' });
      await settle(1);
    }
    await run(clock, 5_000, 250);
    assert.ok(trust.actions(victim).includes('quarantine'), `quarantined (${trust.actions(victim).join(',')})`);
    assert.equal(topo.agent(victim)!.loop.state, 'inactive', 'the security orchestrator deactivated the quarantined loop');
    assert.ok(events.some((e) => e.startsWith(victim)), `the trust transition reached the domain loop (${events.join(' ')})`);

    assert.ok(trust.actions(victim).includes('revoke'), 'revoke threshold reached');
    await topo.buses.get(victim)!.publishJson('sg.mno._sys.probe.y', { n: 2 });
    await settle(5);
    assert.deepEqual(got, [victim], 'nothing delivered after the revocation list arrived');
    assert.ok(rejects.includes('revoked'), `refused as revoked (${rejects.join(',')})`);
    const decisions = await domain.knowledge.query('decision');
    assert.ok(JSON.stringify(decisions).includes('credential_revoked'), 'the revocation is in the domain knowledge');
    sub.unsubscribe();
    off();
  });
});
