import assert from 'node:assert/strict';
import { createLocalNetwork, localBus } from '@sliceguard/bus';
import { SimulatedClock, type Bus } from '@sliceguard/core';
import { createDomainAuthority } from '@sliceguard/identity';
import { createRatingReporter, createTrustManager, ratingsSubject } from '../src/index.js';

describe('trust manager over a signed bus (LocalBus)', () => {
  async function world() {
    const clock = new SimulatedClock(1_800_000_000_000);
    const authority = createDomainAuthority('d1', { clock });
    const network = createLocalNetwork();
    const busFor = (claims: Parameters<typeof authority.issue>[0]) =>
      localBus({ network, identity: authority.issue(claims), trustStore: authority.trustStore(), clock });
    const tsmStore = authority.trustStore();
    const tsmBus = localBus({ network, identity: authority.issue({ agentId: 'd1:tsm', level: 'domain' }), trustStore: tsmStore, clock });
    const sliceBus = busFor({ agentId: 'd1:slice-a', level: 'slice', slice: 'a' });
    const nfIdentity = authority.issue({ agentId: 'd1:gnb-1', level: 'nf', slice: 'a', subslice: 'ran', nf: 'gnb-1' });
    const nfBus = localBus({ network, identity: nfIdentity, trustStore: authority.trustStore(), clock });
    const trust = await createTrustManager({ clock, self: 'd1:tsm', defaults: { raterRefreshMs: 0 } });
    trust.register('d1:slice-a', { anchor: true });
    trust.register('d1:gnb-1');
    const detach = trust.attachToBus(tsmBus, { domain: 'd1' });
    const settle = async (): Promise<void> => {
      await clock.advance(1);
    };
    const close = async (): Promise<void> => {
      detach();
      await trust.close();
      for (const b of [tsmBus, sliceBus, nfBus] as Bus[]) await b.close();
    };
    return { clock, authority, network, tsmStore, tsmBus, sliceBus, nfBus, nfIdentity, trust, detach, settle, close };
  }

  it('folds in a peer rating with the rater taken from the verified sender, never from the payload', async () => {
    const w = await world();
    const reporter = createRatingReporter({ bus: w.sliceBus, domain: 'd1', clock: w.clock });
    for (let i = 0; i < 3; i++) reporter.observe('d1:gnb-1', false);
    await reporter.publish();
    // a payload that claims to come from someone else changes nothing about who rated
    await w.sliceBus.publishJson(ratingsSubject('d1'), { v: 1, rater: 'd1:someone-else', ratings: [{ subject: 'd1:gnb-1', positive: 0, negative: 1 }] });
    await w.settle();
    const snap = w.trust.snapshot('d1:gnb-1');
    assert.equal(snap.raters, 1);
    assert.ok(snap.indirect < 0.4, `indirect ${snap.indirect} should fall below the base rate`);
    assert.ok(snap.score < 0.4);
    assert.equal(w.trust.list().some((s) => s.agentId === 'd1:someone-else'), false);
    await w.close();
  });

  it('counts a malformed ratings message against its (verified) sender and ignores self-ratings', async () => {
    const w = await world();
    await w.nfBus.publishJson(ratingsSubject('d1'), { v: 2, ratings: 'lots' });
    await w.nfBus.publishJson(ratingsSubject('d1'), { v: 1, ratings: [{ subject: 'd1:gnb-1', positive: 10, negative: 0 }] });
    await w.settle();
    const last = w.trust.evidence('d1:gnb-1').at(-1);
    assert.equal(last?.attribute, 'message_validity');
    assert.match(last?.reason ?? '', /malformed ratings message: unsupported ratings message version 2/);
    assert.equal(w.trust.snapshot('d1:gnb-1').raters, 0, 'an agent cannot rate itself');
    await w.close();
  });

  it('turns bus rejections into message_validity evidence for the claimed sender, capped per bucket', async () => {
    const w = await world();
    const list = w.authority.revoke([w.nfIdentity.credential.id]);
    // only the trust manager's bus learns of the revocation: the NF keeps publishing with its credential
    w.tsmStore.applyRevocations(list);
    for (let i = 0; i < 3; i++) {
      await w.nfBus.publishJson(ratingsSubject('d1'), { v: 1, ratings: [{ subject: 'd1:slice-a', positive: 0, negative: 1 }] });
    }
    await w.settle();
    assert.equal(w.tsmBus.stats().rejected.revoked, 3);
    const bad = w.trust.evidence('d1:gnb-1').filter((e) => e.attribute === 'message_validity');
    assert.equal(bad.length, 1, 'three rejections in one bucket count once');
    assert.equal(bad[0]?.negative, 1);
    assert.match(bad[0]?.reason ?? '', /message rejected \(revoked\)/);
    assert.equal(w.trust.snapshot('d1:slice-a').raters, 0, 'a rejected message never reaches the manager');
    await w.close();
  });

  it('counts a revoked sender once, however long its messages keep being rejected; other reasons once per bucket', async () => {
    const w = await world();
    w.tsmStore.applyRevocations(w.authority.revoke([w.nfIdentity.credential.id]));
    // the holder of a revoked credential (or a thief with it) keeps publishing for five minutes
    for (let minute = 0; minute < 5; minute++) {
      await w.nfBus.publishJson(ratingsSubject('d1'), { v: 1, ratings: [{ subject: 'd1:slice-a', positive: 0, negative: 1 }] });
      await w.clock.advance(60_000);
    }
    assert.equal(w.tsmBus.stats().rejected.revoked, 5);
    const revoked = w.trust.evidence('d1:gnb-1').filter((e) => /\(revoked\)/.test(e.reason ?? ''));
    assert.equal(revoked.length, 1, 'five rejections as revoked over five minutes count once');
    // out of scope (needs the sender's own valid signature): once per minute
    const rogueIdentity = w.authority.issue({ agentId: 'd1:gnb-2', level: 'nf', slice: 'a', subslice: 'ran', nf: 'gnb-2' });
    const rogue = localBus({ network: w.network, identity: rogueIdentity, trustStore: w.authority.trustStore(), clock: w.clock });
    Object.defineProperty(rogue, 'mayPublish', { value: () => true });
    w.trust.register('d1:gnb-2');
    const sub = w.tsmBus.subscribe('sg.d1.>', () => {});
    for (let minute = 0; minute < 3; minute++) {
      // a delegation in its sibling's name: outside its credential's scope
      await rogue.publishJson('sg.d1.a.ran.gnb-1.delegate', { forged: minute });
      await w.clock.advance(60_000);
    }
    assert.equal(w.tsmBus.stats().rejected.out_of_scope, 3);
    assert.equal(w.trust.evidence('d1:gnb-2').filter((e) => /\(out_of_scope\)/.test(e.reason ?? '')).length, 3);
    sub.unsubscribe();
    await rogue.close();
    await w.close();
  });

  it('optionally counts verified traffic as positive message_validity evidence, one observation per sender per period', async () => {
    const w = await world();
    const detach = w.trust.attachToBus(w.tsmBus, { domain: 'd1', rejections: false, validMessages: { pattern: 'sg.d1.>', intervalMs: 10_000 } });
    for (let i = 0; i < 5; i++) await w.nfBus.publishJson('sg.d1.a.ran.gnb-1.telemetry', { i });
    await w.settle();
    assert.equal(w.trust.evidence('d1:gnb-1').length, 0);
    await w.clock.advance(10_000);
    const got = w.trust.evidence('d1:gnb-1');
    assert.equal(got.length, 1);
    assert.deepEqual([got[0]?.attribute, got[0]?.positive, got[0]?.reason], ['message_validity', 1, '5 verified message(s)']);
    await w.clock.advance(10_000);
    assert.equal(w.trust.evidence('d1:gnb-1').length, 1, 'no traffic, no evidence');
    detach();
    await w.close();
    assert.equal(w.clock.pendingTimers, 0);
  });

  it('stops listening once detached', async () => {
    const w = await world();
    w.detach();
    await w.sliceBus.publishJson(ratingsSubject('d1'), { v: 1, ratings: [{ subject: 'd1:gnb-1', positive: 0, negative: 3 }] });
    await w.settle();
    assert.equal(w.trust.snapshot('d1:gnb-1').raters, 0);
    await w.close();
  });
});
