import assert from 'node:assert/strict';
import { SimulatedClock } from '@sliceguard/core';
import { createTrustManager } from '../src/index.js';

const close = (actual: number, expected: number, eps = 1e-9): void => {
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
};

async function setup() {
  const clock = new SimulatedClock(0);
  // W = 8 for the hand-computed values; rater weights refresh at every change
  const trust = await createTrustManager({ clock, self: 'd1:tsm', defaults: { halfLifeMs: 3600_000, priorWeight: 8, raterRefreshMs: 0 } });
  const good = (id: string, n = 10): void => {
    for (let left = n; left > 0; left -= 10) trust.record({ subject: id, attribute: 'ssla', positive: Math.min(10, left), negative: 0, source: 'd1:tsm', at: clock.now() });
  };
  return { clock, trust, good };
}

describe('indirect trust: peer ratings', () => {
  it("folds an anchor's rating in with a share bounded by its confidence (hand-computed)", async () => {
    const { trust } = await setup();
    trust.register('d1:slice', { anchor: true });
    trust.rate('d1:slice', [{ subject: 'd1:nf', positive: 4, negative: 0 }]);
    // direct 0.4 (no evidence); indirect r = 4: E = (4 + 3.2)/12 = 0.6, u = 8/12 → share 0.3·(1/3) = 0.1
    const s = trust.snapshot('d1:nf');
    close(s.indirect, 0.6);
    close(s.indirectShare, 0.1);
    close(s.score, 0.9 * 0.4 + 0.1 * 0.6);
  });

  it('caps what one rater can say about one subject, however often it says it', async () => {
    const { trust } = await setup();
    trust.register('d1:slice', { anchor: true });
    for (let i = 0; i < 50; i++) trust.rate('d1:slice', [{ subject: 'd1:nf', positive: 10, negative: 0 }]);
    // capped at mass 4: the same as one rating of 4
    close(trust.snapshot('d1:nf').score, 0.42);
  });

  it('gives newcomers and distrusted agents no say (their weight is 0)', async () => {
    const { trust, clock } = await setup();
    trust.rate('d1:fresh', [{ subject: 'd1:nf', positive: 0, negative: 10 }]);
    trust.record({ subject: 'd1:bad', attribute: 'ssla', positive: 0, negative: 10, source: 'd1:tsm', at: clock.now() });
    trust.rate('d1:bad', [{ subject: 'd1:nf', positive: 0, negative: 10 }]);
    assert.equal(trust.score('d1:nf'), 0.4);
    assert.equal(trust.snapshot('d1:nf').raters, 0);
  });

  it('keeps a 20 % bad-mouthing minority from moving an honest score by 0.1, and takes their say away', async () => {
    const { trust, good } = await setup();
    const honest = Array.from({ length: 8 }, (_, i) => `d1:h${i}`);
    const liars = ['d1:l0', 'd1:l1'];
    for (const id of [...honest, ...liars, 'd1:target']) good(id, 20);
    const baseline = trust.score('d1:target');
    for (let round = 0; round < 5; round++) {
      for (const h of honest) trust.rate(h, [{ subject: 'd1:target', positive: 1, negative: 0 }]);
      for (const l of liars) trust.rate(l, [{ subject: 'd1:target', positive: 0, negative: 1 }]);
    }
    const withLiars = trust.score('d1:target');
    const honestOnly = await setup();
    for (const id of [...honest, 'd1:target']) honestOnly.good(id, 20);
    for (let round = 0; round < 5; round++) for (const h of honest) honestOnly.trust.rate(h, [{ subject: 'd1:target', positive: 1, negative: 0 }]);
    const withoutLiars = honestOnly.trust.score('d1:target');
    assert.ok(Math.abs(withoutLiars - withLiars) < 0.1, `shift ${withoutLiars - withLiars}`);
    assert.ok(withLiars > baseline - 0.1);
    // their ratings contradicted the manager's confident view: their referral trust fell
    assert.ok(trust.snapshot('d1:l0').referral < 0.3, `liar referral ${trust.snapshot('d1:l0').referral}`);
    assert.ok(trust.snapshot('d1:h0').referral > 0.6, `honest referral ${trust.snapshot('d1:h0').referral}`);
    // …and nothing else: their own TLA score is untouched
    close(trust.snapshot('d1:l0').direct, trust.snapshot('d1:h0').direct);
  });

  it("propagates trust EigenTrust-style: when anchors discredit a rater, that rater's ratings lose weight", async () => {
    const { trust, good } = await setup();
    for (const a of ['d1:slice-a', 'd1:slice-b']) trust.register(a, { anchor: true });
    good('d1:rater', 10); // trusted directly: 13.2/18 = 0.733
    trust.rate('d1:rater', [{ subject: 'd1:nf', positive: 0, negative: 4 }]);
    const before = trust.snapshot('d1:nf');
    assert.ok(before.raters === 1 && before.score < 0.4, `the rater's bad rating counts: ${before.score}`);
    const raterBefore = trust.score('d1:rater');
    trust.rate('d1:slice-a', [{ subject: 'd1:rater', positive: 0, negative: 4 }]);
    trust.rate('d1:slice-b', [{ subject: 'd1:rater', positive: 0, negative: 4 }]);
    assert.ok(trust.score('d1:rater') < raterBefore, 'the anchors lowered the rater');
    const after = trust.snapshot('d1:nf');
    assert.ok(after.score > before.score, `the rater's rating weighs less now (${before.score} → ${after.score})`);
  });

  it('updates the indirect opinion in place as ratings arrive, matching a full recomputation', async () => {
    const { trust, good } = await setup();
    const raters = Array.from({ length: 6 }, (_, i) => `d1:r${i}`);
    for (const id of raters) good(id, 10);
    trust.register('d1:slice', { anchor: true });
    trust.score('d1:nf'); // cache the (empty) indirect opinion at this instant
    raters.forEach((r, i) => {
      trust.rate(r, [{ subject: 'd1:nf', positive: i % 3, negative: 1 + (i % 2) }]);
    });
    trust.rate('d1:slice', [{ subject: 'd1:nf', positive: 3, negative: 0 }]);
    trust.rate('d1:r0', [{ subject: 'd1:nf', positive: 2, negative: 0 }]); // a second rating from the same rater
    const incremental = trust.snapshot('d1:nf');
    trust.register('d1:someone-new'); // invalidates every cached opinion
    const full = trust.snapshot('d1:nf');
    close(incremental.indirect, full.indirect, 1e-12);
    close(incremental.score, full.score, 1e-12);
    assert.equal(incremental.raters, full.raters);
  });

  it('rejects malformed entries one by one, and a bad rater id outright', async () => {
    const { trust } = await setup();
    const r = trust.rate('d1:slice', [
      { subject: 'd1:nf', positive: 1, negative: 0 },
      { subject: 'd1:slice', positive: 1, negative: 0 },
      { subject: 'not an id', positive: 1, negative: 0 },
      { subject: 'd1:nf', positive: Number.NaN, negative: 0 },
      { subject: 'd1:nf', positive: 0, negative: 0 },
      { subject: 'd1:nf', positive: 11, negative: 0 },
    ]);
    assert.equal(r.accepted, 1);
    assert.deepEqual(
      r.rejected.map((x) => x.index),
      [1, 2, 3, 4, 5],
    );
    assert.match(r.rejected[0]?.reason ?? '', /cannot rate itself/);
    assert.throws(() => trust.rate('bad rater', []), (e: Error & { code?: string }) => e.code === 'TRUST_ERR_INVALID_RATING');
  });
});
