import assert from 'node:assert/strict';
import { type KeyValueStore, SimulatedClock, type TrustEvidence, memoryKv, utf8 } from '@sliceguard/core';
import { createTrustManager, type TrustManager, type TrustTransitionEvent } from '../src/index.js';

const HOUR = 3600_000;
const close = (actual: number, expected: number, eps = 1e-9): void => {
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
};

function ev(subject: string, attribute: TrustEvidence['attribute'], positive: number, negative: number, at: number, reason?: string): TrustEvidence {
  return { subject, attribute, positive, negative, source: 'd1:tsm', at, ...(reason ? { reason } : {}) };
}

async function setup(defaults: Parameters<typeof createTrustManager>[0]['defaults'] = {}, kv?: KeyValueStore) {
  const clock = new SimulatedClock(1_000_000);
  // the hand-computed values below use W = 8 (a·W = 3.2)
  const trust = await createTrustManager({ clock, self: 'd1:tsm', defaults: { halfLifeMs: HOUR, priorWeight: 8, ...defaults }, ...(kv ? { kv } : {}) });
  const events: TrustTransitionEvent[] = [];
  trust.onTransition((e) => events.push(e));
  return { clock, trust, events };
}

describe('trust manager: scores', () => {
  it('gives a newcomer the base rate, no say in correlation and a reduced weight — but no quarantine', async () => {
    const { trust } = await setup();
    assert.equal(trust.score('d1:new'), 0.4);
    assert.equal(trust.isQuarantined('d1:new'), false);
    close(trust.weight('d1:new'), 0.4 * 0.25);
    assert.deepEqual(trust.actions('d1:new'), ['reduceWeight', 'ignoreReports']);
    trust.register('d1:new');
    assert.equal(trust.status('d1:new'), 'reports_ignored');
    assert.equal(trust.snapshot('d1:new').uncertainty, 1);
  });

  it('fuses attribute evidence by TLA weight and ignores attributes the TLA does not count (hand-computed)', async () => {
    const { trust, clock } = await setup();
    trust.register('d1:nf', { tla: { attributes: { report_accuracy: { weight: 2 }, fl_quality: { weight: 1 } } } });
    const t = clock.now();
    trust.record(ev('d1:nf', 'report_accuracy', 3, 0, t));
    trust.record(ev('d1:nf', 'fl_quality', 0, 2, t));
    trust.record(ev('d1:nf', 'ssla', 0, 5, t)); // not in this TLA
    // weights normalise to 1 and 0.5: R = 3, S = 0.5·2 = 1; E = (3 + 0.4·8) / (3 + 1 + 8)
    close(trust.score('d1:nf'), 6.2 / 12);
    const snap = trust.snapshot('d1:nf');
    close(snap.uncertainty, 8 / 12);
    assert.equal(snap.attributes.find((a) => a.attribute === 'ssla')?.weight, 0);
  });

  it('forgets: positive evidence halves per half-life, negative evidence at a quarter of that pace (hand-computed)', async () => {
    const { trust, clock } = await setup();
    trust.register('d1:nf', { tla: { attributes: { report_accuracy: { weight: 2 }, fl_quality: { weight: 1 } } } });
    trust.record(ev('d1:nf', 'report_accuracy', 3, 0, clock.now()));
    trust.record(ev('d1:nf', 'fl_quality', 0, 2, clock.now()));
    await clock.advance(HOUR);
    const r = 1.5;
    const s = 0.5 * 2 * 2 ** -0.25;
    close(trust.score('d1:nf'), (r + 3.2) / (r + s + 8));
    await clock.advance(100 * HOUR);
    close(trust.score('d1:nf'), 0.4, 1e-3);
  });

  it('caps the score at the expectation of a breached required attribute', async () => {
    const { trust, clock } = await setup();
    const all = { weight: 1 };
    trust.register('d1:upf', {
      tla: { attributes: { compliance: { weight: 1, required: 0.8 }, fl_quality: all }, location: 'FR' },
    });
    trust.record(ev('d1:upf', 'fl_quality', 10, 0, clock.now()));
    close(trust.score('d1:upf'), 13.2 / 18);
    trust.observeLocation('d1:upf', 'US');
    // compliance: s = 2 → E_c = 3.2/10 = 0.32 < 0.8 → the score is capped at 0.32
    const snap = trust.snapshot('d1:upf');
    assert.deepEqual(snap.breaches, ['compliance']);
    close(snap.score, 0.32);
    assert.match(trust.evidence('d1:upf').at(-1)?.reason ?? '', /declared location FR, observed US/);
  });

  it('rejects malformed evidence with TRUST_ERR_INVALID_EVIDENCE naming the field', async () => {
    const { trust, clock } = await setup();
    const good = ev('d1:nf', 'ssla', 1, 0, clock.now());
    const cases: [Partial<TrustEvidence> & Record<string, unknown>, string][] = [
      [{ positive: Number.NaN }, 'evidence.positive'],
      [{ negative: -1 }, 'evidence.negative'],
      [{ positive: 1e6 }, 'evidence.positive'],
      [{ attribute: 'vibes' as TrustEvidence['attribute'] }, 'evidence.attribute'],
      [{ subject: 'no spaces allowed' }, 'evidence.subject'],
      [{ at: Number.POSITIVE_INFINITY }, 'evidence.at'],
      [{ source: '' }, 'evidence.source'],
    ];
    for (const [patch, field] of cases) {
      assert.throws(
        () => trust.record({ ...good, ...patch } as TrustEvidence),
        (e: Error & { code?: string; details?: Record<string, unknown> }) => e.code === 'TRUST_ERR_INVALID_EVIDENCE' && e.details?.field === field,
        field,
      );
    }
    assert.throws(() => trust.record({ ...good, positive: 0, negative: 0 }), /no observation/);
    assert.equal(trust.evidence('d1:nf').length, 0);
  });

  it('rejects a bad TLA and bad defaults with their field', async () => {
    const { trust } = await setup();
    assert.throws(
      () => trust.register('d1:x', { tla: { attributes: { ssla: { weight: -1 } } } }),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => e.code === 'TRUST_ERR_INVALID_TLA' && e.details?.field === 'attributes.ssla.weight',
    );
    assert.throws(() => trust.register('d1:x', { tla: { attributes: { ssla: { weight: 1 } }, thresholds: { quarantine: 2 } } }), /thresholds.quarantine/);
    assert.throws(() => trust.register('d1:x', { tla: { attributes: { nonsense: { weight: 1 } } as never } }), /unknown TLA attribute "nonsense"/);
    await assert.rejects(
      createTrustManager({ clock: new SimulatedClock(), defaults: { baseRate: 2 } }),
      (e: Error & { code?: string }) => e.code === 'TRUST_ERR_INVALID_OPTIONS' && /defaults.baseRate/.test(e.message),
    );
  });
});

describe('trust manager: thresholds, hysteresis and events', () => {
  it('imposes an action below its threshold and lifts it only above threshold + hysteresis (no flapping)', async () => {
    const { trust, clock, events } = await setup({ actionHold: 0 });
    const t = clock.now();
    trust.record(ev('d1:a', 'report_accuracy', 10, 0, t)); // E = 13.2/18 = 0.733 → initial restrictions lifted
    assert.equal(trust.status('d1:a'), 'trusted');
    assert.deepEqual(events.at(-1)?.lifted, ['reduceWeight', 'ignoreReports']);
    for (let i = 0; i < 3; i++) trust.record(ev('d1:a', 'report_accuracy', 0, 1, t)); // 13.2/21 = 0.629
    assert.equal(trust.status('d1:a'), 'trusted');
    trust.record(ev('d1:a', 'report_accuracy', 0, 2, t, 'incident contradicted')); // 13.2/23 = 0.574 < 0.6
    const down = events.at(-1);
    assert.equal(down?.type, 'trust');
    assert.equal(down?.from, 'trusted');
    assert.equal(down?.to, 'weight_reduced');
    assert.deepEqual(down?.added, ['reduceWeight']);
    close(down?.score ?? 0, Math.round((13.2 / 23) * 1e4) / 1e4);
    assert.equal(down?.cause?.reason, 'incident contradicted');
    assert.equal(down?.evidence.length, 5);
    assert.match(down?.reason ?? '', /score 0.574 < reduceWeight 0.6/);
    const before = events.length;
    trust.record(ev('d1:a', 'report_accuracy', 5, 0, t)); // 18.2/28 = 0.65: above 0.6, below 0.7
    assert.equal(trust.status('d1:a'), 'weight_reduced');
    trust.record(ev('d1:a', 'report_accuracy', 0, 1, t)); // 18.2/29 = 0.628
    trust.record(ev('d1:a', 'report_accuracy', 1, 0, t)); // 19.2/30 = 0.64
    assert.equal(events.length, before, 'scores inside the hysteresis band cause no transitions');
    trust.record(ev('d1:a', 'report_accuracy', 5, 0, t)); // 24.2/35 = 0.691
    assert.equal(trust.status('d1:a'), 'weight_reduced');
    trust.record(ev('d1:a', 'report_accuracy', 0.5, 0, t)); // 24.7/35.5 = 0.696: not above 0.7
    assert.equal(trust.status('d1:a'), 'weight_reduced');
    trust.record(ev('d1:a', 'report_accuracy', 1, 0, t)); // 25.7/36.5 = 0.704 > 0.7
    assert.equal(trust.status('d1:a'), 'trusted');
    assert.deepEqual(events.at(-1)?.lifted, ['reduceWeight']);
  });

  it('holds an imposed action for one forgetting period whatever the score does meanwhile', async () => {
    const { trust, clock } = await setup();
    trust.record(ev('d1:a', 'report_accuracy', 10, 0, clock.now()));
    trust.record(ev('d1:a', 'report_accuracy', 0, 5, clock.now()));
    assert.equal(trust.status('d1:a'), 'weight_reduced');
    const heldUntil = trust.snapshot('d1:a').heldUntil.reduceWeight;
    assert.equal(heldUntil, clock.now() + HOUR);
    trust.record(ev('d1:a', 'report_accuracy', 10, 0, clock.now()));
    trust.record(ev('d1:a', 'report_accuracy', 10, 0, clock.now()));
    assert.ok(trust.score('d1:a') > 0.75);
    assert.equal(trust.status('d1:a'), 'weight_reduced', 'still held');
    await clock.advance(HOUR - 1);
    trust.record(ev('d1:a', 'report_accuracy', 10, 0, clock.now()));
    assert.ok(trust.score('d1:a') > 0.75);
    assert.equal(trust.status('d1:a'), 'weight_reduced');
    await clock.advance(1);
    trust.evaluateAll();
    assert.equal(trust.status('d1:a'), 'trusted');
  });

  it('quarantines, then revokes through the callback, retrying a failed revocation', async () => {
    const clock = new SimulatedClock(0);
    const calls: string[] = [];
    let fail = true;
    const trust = await createTrustManager({
      clock,
      self: 'd1:tsm',
      defaults: { halfLifeMs: HOUR, priorWeight: 8 },
      onRevoke: (agentId, event) => {
        calls.push(`${agentId}:${event.to}`);
        if (fail) throw new Error('revocation list unreachable');
      },
    });
    trust.record(ev('d1:bad', 'fl_quality', 0, 4, 0)); // 3.2/12 = 0.267
    assert.equal(trust.isQuarantined('d1:bad'), false);
    trust.record(ev('d1:bad', 'fl_quality', 0, 1, 0)); // 3.2/13 = 0.246 < 0.25
    assert.equal(trust.isQuarantined('d1:bad'), true);
    assert.equal(trust.weight('d1:bad'), 0);
    assert.equal(trust.status('d1:bad'), 'quarantined');
    trust.record(ev('d1:bad', 'fl_quality', 0, 10, 0));
    trust.record(ev('d1:bad', 'fl_quality', 0, 10, 0)); // 3.2/33 = 0.097 < 0.1
    assert.equal(trust.status('d1:bad'), 'revoked');
    await clock.advance(0);
    assert.deepEqual(calls, ['d1:bad:revoked']);
    assert.equal(trust.snapshot('d1:bad').revocationPending, true);
    fail = false;
    trust.evaluateAll();
    await clock.advance(0);
    assert.deepEqual(calls, ['d1:bad:revoked', 'd1:bad:revoked']);
    assert.equal(trust.snapshot('d1:bad').revocationPending, false);
    trust.evaluateAll();
    await clock.advance(0);
    assert.equal(calls.length, 2, 'a completed revocation is not repeated');
    // revocation is final: good behaviour does not lift it
    for (let i = 0; i < 10; i++) trust.record(ev('d1:bad', 'fl_quality', 10, 0, 0));
    assert.equal(trust.status('d1:bad'), 'revoked');
    await trust.close();
  });

  it('discounts good behaviour of a quarantined agent (probation)', async () => {
    const { trust, clock } = await setup();
    trust.record(ev('d1:q', 'ssla', 0, 5, clock.now()));
    assert.equal(trust.isQuarantined('d1:q'), true);
    trust.record(ev('d1:q', 'ssla', 4, 0, clock.now()));
    close(trust.snapshot('d1:q').attributes.find((a) => a.attribute === 'ssla')?.positive ?? 0, 1);
  });

  it('forgives on operator request: negative evidence dropped, revocation aside', async () => {
    const { trust, clock, events } = await setup();
    trust.record(ev('d1:q', 'ssla', 1, 10, clock.now())); // 4.2/19 = 0.221
    assert.equal(trust.isQuarantined('d1:q'), true);
    const e = trust.forgive('d1:q', 'NF redeployed');
    assert.equal(trust.isQuarantined('d1:q'), false);
    assert.equal(trust.status('d1:q'), 'reports_ignored');
    assert.equal(e, events.at(-1));
    assert.deepEqual(e?.lifted, ['quarantine']);
    assert.match(e?.reason ?? '', /forgiven: NF redeployed/);
    close(trust.score('d1:q'), (1 + 3.2) / (1 + 8));
  });

  it('re-evaluates on its timer, so forgetting alone can move an agent across a threshold', async () => {
    const { trust, clock, events } = await setup({ evaluateIntervalMs: 60_000 });
    trust.record(ev('d1:a', 'ssla', 10, 0, clock.now()));
    assert.equal(trust.status('d1:a'), 'trusted');
    trust.start();
    trust.start();
    await clock.advance(10 * HOUR); // evidence fades, the score returns toward the base rate 0.4
    assert.equal(trust.status('d1:a'), 'reports_ignored');
    assert.equal(events.at(-1)?.cause, undefined);
    trust.stop();
    assert.equal(clock.pendingTimers, 0);
  });

  it('keeps going when a transition listener throws', async () => {
    const { trust, clock } = await setup();
    trust.onTransition(() => {
      throw new Error('listener bug');
    });
    trust.record(ev('d1:a', 'ssla', 0, 10, clock.now()));
    assert.equal(trust.isQuarantined('d1:a'), true);
  });
});

describe('trust manager: persistence', () => {
  it('survives a restart on the same store: scores, actions, holds, evidence, history, ratings', async () => {
    const kv = memoryKv();
    const { trust, clock } = await setup({}, kv);
    trust.register('d1:nf', { tla: { attributes: { fl_quality: { weight: 1 }, ssla: { weight: 3 } }, thresholds: { quarantine: 0.3 } } });
    trust.record(ev('d1:nf', 'fl_quality', 0, 9, clock.now(), 'update rejected: NaN')); // S = 9/3: 3.2/11 = 0.29 < 0.3
    trust.record(ev('d1:good', 'ssla', 10, 0, clock.now()));
    trust.register('d1:slice', { anchor: true });
    trust.rate('d1:slice', [{ subject: 'd1:good', positive: 3, negative: 0 }]);
    const before = trust.list();
    const history = trust.history();
    assert.equal(trust.isQuarantined('d1:nf'), true);
    await trust.close();

    const again = await createTrustManager({ clock, kv, self: 'd1:tsm', defaults: { halfLifeMs: HOUR, priorWeight: 8 } });
    assert.deepEqual(again.list(), before);
    assert.equal(again.isQuarantined('d1:nf'), true);
    assert.deepEqual(again.history(), history);
    assert.equal(again.evidence('d1:nf').at(-1)?.reason, 'update rejected: NaN');
    assert.equal(again.snapshot('d1:good').raters, 1);
    // its TLA came back too: the quarantine threshold of 0.3 still applies
    again.record(ev('d1:nf', 'fl_quality', 10, 0, clock.now()));
    await clock.advance(HOUR);
    again.evaluateAll();
    const ids = again.history().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'event ids stay unique across restarts');
    await again.close();
  });

  it('bounds evidence and history per agent, in memory and in the store', async () => {
    const kv = memoryKv();
    const { trust, clock } = await setup({ evidenceRetention: 5 }, kv);
    for (let i = 0; i < 12; i++) trust.record(ev('d1:nf', 'ssla', 1, 0, clock.now(), `n${i}`));
    await trust.flush();
    assert.deepEqual(
      trust.evidence('d1:nf').map((e) => e.reason),
      ['n7', 'n8', 'n9', 'n10', 'n11'],
    );
    let stored = 0;
    for await (const _ of kv.entries({ gte: 'trust/evidence/', lt: 'trust/evidence/\uffff' })) stored++;
    assert.equal(stored, 5);
  });

  it('reports a failed write as TRUST_ERR_STORE and retries it on the next flush', async () => {
    const inner = memoryKv();
    let failures = 2; // flush retries once itself
    const flaky: KeyValueStore = {
      ...inner,
      batch: async (ops) => {
        if (failures-- > 0) throw new Error('disk full');
        return inner.batch(ops);
      },
    };
    const { trust, clock } = await setup({}, flaky);
    trust.record(ev('d1:nf', 'ssla', 1, 0, clock.now()));
    await assert.rejects(trust.flush(), (e: Error & { code?: string; cause?: unknown }) => e.code === 'TRUST_ERR_STORE' && (e.cause as Error).message === 'disk full');
    await trust.flush();
    assert.ok(await inner.get('trust/agent/d1:nf'));
  });

  it('refuses to start on a corrupt record, naming the key', async () => {
    const kv = memoryKv();
    await kv.put('trust/agent/d1:x', utf8('{not json'));
    await assert.rejects(
      createTrustManager({ clock: new SimulatedClock(), kv }),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => e.code === 'TRUST_ERR_CORRUPT_STATE' && e.details?.key === 'trust/agent/d1:x',
    );
  });

  it('refuses work after close', async () => {
    const { trust, clock } = await setup();
    await trust.close();
    await trust.close();
    assert.throws(() => trust.record(ev('d1:a', 'ssla', 1, 0, clock.now())), (e: Error & { code?: string }) => e.code === 'TRUST_ERR_CLOSED');
  });
});

export type { TrustManager };

describe('trust manager: TLAs from a topology', () => {
  it('counts the default attributes when a TLA names none, keeping its thresholds and location', async () => {
    const { trust, clock } = await setup();
    trust.register('d1:nf', { tla: { attributes: {}, thresholds: { quarantine: 0.3 }, location: 'FI' } });
    const snap = trust.snapshot('d1:nf');
    assert.ok(snap.attributes.every((a) => a.weight === 1));
    trust.observeLocation('d1:nf', 'FI');
    assert.equal(trust.evidence('d1:nf').at(-1)?.reason, 'operating in declared location FI');
    trust.record(ev('d1:nf', 'ssla', 0, 4, clock.now())); // with the compliance observation: 4.2/13 = 0.323
    assert.equal(trust.isQuarantined('d1:nf'), false);
    trust.record(ev('d1:nf', 'ssla', 0, 2, clock.now())); // 4.2/15 = 0.28 < 0.3 (the TLA's threshold, not the default 0.25)
    assert.equal(trust.isQuarantined('d1:nf'), true);
  });
});

describe('trust manager: upkeep and metrics', () => {
  it('forgets ratings that have faded to nothing', async () => {
    const kv = memoryKv();
    const { trust, clock } = await setup({}, kv);
    trust.register('d1:slice', { anchor: true });
    trust.rate('d1:slice', [{ subject: 'd1:nf', positive: 2, negative: 0 }]);
    assert.equal(trust.snapshot('d1:nf').raters, 1);
    await clock.advance(12 * HOUR); // 2 · 2^-12 < 1e-3
    trust.evaluateAll();
    await trust.flush();
    assert.equal(trust.snapshot('d1:nf').raters, 0);
    assert.equal(await kv.get('trust/rating/d1:nf/d1:slice'), undefined);
  });

  it('counts evidence, ratings and transitions in the injected metrics registry', async () => {
    const counts = new Map<string, number>();
    const key = (name: string, labels?: Record<string, string | number>): string => `${name}${JSON.stringify(labels ?? {})}`;
    const counter = (name: string) => ({ inc: (labels?: Record<string, string | number>, v = 1) => counts.set(key(name, labels), (counts.get(key(name, labels)) ?? 0) + v) });
    const gauge = (name: string) => ({ ...counter(name), dec: () => {}, set: (labels: Record<string, string | number> | undefined, v: number) => counts.set(key(name, labels), v) });
    const metrics = {
      counter: (o: { name: string }) => counter(o.name),
      gauge: (o: { name: string }) => gauge(o.name),
      histogram: () => ({ observe: () => {} }),
    };
    const clock = new SimulatedClock(0);
    const trust = await createTrustManager({ clock, metrics });
    trust.record(ev('d1:a', 'fl_quality', 0, 6, 0));
    trust.rate('d1:b', [{ subject: 'd1:a', positive: 0, negative: 1 }, { subject: 'd1:b', positive: 1, negative: 0 }]);
    assert.equal(counts.get(key('sliceguard_trust_evidence_total', { attribute: 'fl_quality', polarity: 'negative' })), 1);
    assert.equal(counts.get(key('sliceguard_trust_ratings_total', { result: 'accepted' })), 1);
    assert.equal(counts.get(key('sliceguard_trust_ratings_total', { result: 'rejected' })), 1);
    assert.equal(counts.get(key('sliceguard_trust_transitions_total', { to: 'quarantined' })), 1);
    assert.equal(counts.get(key('sliceguard_trust_agents', { status: 'quarantined' })), 1);
    const score = counts.get(key('sliceguard_trust_score', { subject: 'd1:a' }));
    assert.equal(score, trust.score('d1:a'), 'the per-agent score gauge follows the last evaluation');
    assert.ok(score !== undefined && score < 0.25);
  });
});
