import { waitUntil } from '@sliceguard/test-utils';
import assert from 'node:assert/strict';
import { type Bus, type Clock, type InboundMessage, type RejectReason, loopSubject, systemClock, systemSubject, utf8 } from '@sliceguard/core';
import { type AgentIdentity, type DomainAuthority, type TrustStore, createDomainAuthority } from '@sliceguard/identity';
import { type Envelope, type SignedBusOptions, publishRevocations, subscribeRevocations } from '../src/index.js';

/** A bus under test plus the means to inject raw envelopes (as an attacker on the wire would). */
export type TestBus = Bus & { sealForTest(subject: string, data: Uint8Array, options?: { reply?: string; chunk?: string }): Envelope };

export interface Fabric {
  bus(identity: AgentIdentity, trustStore: TrustStore, options?: Partial<SignedBusOptions>): Promise<TestBus>;
  /** Puts a raw envelope on the wire. */
  inject(env: Envelope): Promise<void>;
  close(): Promise<void>;
}

export type FabricFactory = (options: { maxPayload?: number }) => Promise<Fabric>;

export const waitFor = (cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> => waitUntil(cond, { timeoutMs, what });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The behaviour every Bus implementation must show (run against LocalBus and NatsBus). */
export function busCompliance(name: string, factory: FabricFactory): void {
  describe(`${name}: Bus compliance`, function () {
    this.timeout(30_000);
    let fabric: Fabric;
    let d1: DomainAuthority;
    let store: TrustStore;
    let buses: Bus[];
    const placement = { domain: 'd1', slice: 's1', subslice: 'cn', nf: 'upf1' };
    const nfSubject = loopSubject('nf', placement, 'telemetry');

    const make = async (identity: AgentIdentity, options: Partial<SignedBusOptions> = {}, trust = store): Promise<TestBus> => {
      const b = await fabric.bus(identity, trust, options);
      buses.push(b);
      return b;
    };
    const nfIdentity = (): AgentIdentity => d1.issue({ agentId: 'd1:upf1', level: 'nf', ...placement });
    const domainIdentity = (): AgentIdentity => d1.issue({ agentId: 'd1:tsm', level: 'domain' });

    beforeEach(async () => {
      fabric = await factory({});
      d1 = createDomainAuthority('d1');
      store = d1.trustStore();
      buses = [];
    });
    afterEach(async () => {
      await Promise.all(buses.map((b) => b.close()));
      await fabric.close();
    });

    /** A receiver subscribed to `pattern`, collecting deliveries and rejections. */
    const receiver = async (pattern = 'sg.d1.>', trust = store) => {
      const bus = await make(domainIdentity(), {}, trust);
      const got: InboundMessage[] = [];
      const rejects: Array<{ reason: RejectReason; subject: string; sender?: string }> = [];
      bus.subscribe(pattern, (m) => {
        got.push(m);
      });
      bus.onReject((reason, info) => rejects.push({ reason, ...info }));
      await bus.flush();
      return { bus, got, rejects };
    };

    it('delivers signed messages with the verified sender, asynchronously', async () => {
      const r = await receiver();
      const sender = await make(nfIdentity());
      let inPublish = false;
      r.bus.subscribe(nfSubject, () => assert.equal(inPublish, false, 'delivered synchronously inside publish'));
      inPublish = true;
      const p = sender.publishJson(nfSubject, { cpu: 0.5 });
      inPublish = false;
      await p;
      await waitFor(() => r.got.length === 1, 5000, 'delivery');
      const m = r.got[0];
      assert.equal(m.subject, nfSubject);
      assert.deepEqual(m.json(), { cpu: 0.5 });
      assert.equal(m.sender.agentId, 'd1:upf1');
      assert.equal(m.sender.level, 'nf');
      assert.equal(m.sender.nf, 'upf1');
      assert.equal(m.seq, 1);
      assert.ok(Math.abs(m.timestamp - Date.now()) < 5000);
      assert.equal(r.bus.stats().delivered >= 1, true);
      assert.equal(sender.stats().published, 1);
    });

    it('matches * and > wildcards like NATS', async () => {
      const bus = await make(domainIdentity());
      const seen: Record<string, string[]> = { star: [], gt: [], exact: [] };
      bus.subscribe('sg.d1.*._._.status', (m) => {
        seen.star.push(m.subject);
      });
      bus.subscribe('sg.d1.s1.>', (m) => {
        seen.gt.push(m.subject);
      });
      bus.subscribe('sg.d1.s2._._.status', (m) => {
        seen.exact.push(m.subject);
      });
      await bus.flush();
      const pub = await make(domainIdentity());
      for (const s of ['sg.d1.s1._._.status', 'sg.d1.s2._._.status', 'sg.d1.s1.cn._.status', 'sg.d1._._._.status']) await pub.publish(s, utf8('x'));
      await waitFor(() => seen.star.length === 3 && seen.gt.length === 2 && seen.exact.length === 1, 5000, 'wildcard deliveries');
      await sleep(50);
      assert.deepEqual(seen.star.sort(), ['sg.d1._._._.status', 'sg.d1.s1._._.status', 'sg.d1.s2._._.status']);
      assert.deepEqual(seen.gt.sort(), ['sg.d1.s1._._.status', 'sg.d1.s1.cn._.status']);
      assert.deepEqual(seen.exact, ['sg.d1.s2._._.status']);
    });

    it('gives each message to exactly one member of a queue group', async () => {
      const counts = [0, 0, 0];
      for (let i = 0; i < 3; i++) {
        const b = await make(domainIdentity());
        b.subscribe('sg.d1.work', () => {
          counts[i]++;
        }, { queue: 'workers' });
        await b.flush();
      }
      const pub = await make(domainIdentity());
      for (let i = 0; i < 30; i++) await pub.publish('sg.d1.work', utf8(String(i)));
      await waitFor(() => counts.reduce((a, b) => a + b, 0) === 30, 5000, 'queue deliveries');
      await sleep(50);
      assert.equal(counts.reduce((a, b) => a + b, 0), 30);
      assert.ok(counts.filter((c) => c > 0).length >= 2, `load spread: ${counts}`);
    });

    it('does request/reply, times out, honours AbortSignal and reports no responders', async () => {
      const server = await make(domainIdentity());
      server.subscribe('sg.d1._._._.control', async (m) => {
        const q = m.json<{ n: number }>();
        if (q.n >= 0) await server.respondJson(m, { double: q.n * 2, asker: m.sender.agentId });
      });
      await server.flush();
      const client = await make(nfIdentity(), {}, store);
      // an NF may publish only in its own scope: give the client a domain identity for control
      const ctl = await make(domainIdentity());
      assert.deepEqual(await ctl.requestJson('sg.d1._._._.control', { n: 21 }), { double: 42, asker: 'd1:tsm' });
      await assert.rejects(ctl.request('sg.d1._._._.control', utf8('{"n":-1}'), { timeoutMs: 200 }), { code: 'BUS_ERR_TIMEOUT' });
      const ac = new AbortController();
      const p = ctl.request('sg.d1._._._.control', utf8('{"n":-1}'), { timeoutMs: 5000, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user gave up')), 20);
      await assert.rejects(p, { code: 'BUS_ERR_ABORTED' });
      await assert.rejects(ctl.request('sg.d1.nobody.listens', utf8('x'), { timeoutMs: 2000 }), (e: Error & { code: string }) => ['BUS_ERR_NO_RESPONDERS'].includes(e.code));
      await assert.rejects(client.request('sg.d1._._._.control', utf8('{}')), { code: 'BUS_ERR_OUT_OF_SCOPE' });
    });

    it('refuses to publish outside its own scope or on invalid subjects', async () => {
      const nf = await make(nfIdentity());
      await assert.rejects(nf.publish('sg.d1.s2.cn.upf9.telemetry', utf8('x')), { code: 'BUS_ERR_OUT_OF_SCOPE' });
      await assert.rejects(nf.publish('sg.d1.*.x', utf8('x')), { code: 'BUS_ERR_INVALID_SUBJECT' });
      await assert.rejects(nf.publish('sg..x', utf8('x')), { code: 'BUS_ERR_INVALID_SUBJECT' });
      assert.throws(() => nf.subscribe('sg.>.x', () => {}), { code: 'BUS_ERR_INVALID_SUBJECT' });
    });

    async function expectRejected(r: { got: InboundMessage[]; rejects: Array<{ reason: RejectReason }>; bus: Bus }, reason: RejectReason, send: () => Promise<void>): Promise<void> {
      const before = r.bus.stats().rejected[reason];
      const delivered = r.got.length;
      await send();
      await waitFor(() => r.bus.stats().rejected[reason] === before + 1, 5000, `a ${reason} rejection`);
      await sleep(30);
      assert.equal(r.got.length, delivered, `a ${reason} message reached a handler`);
      assert.equal(r.bus.stats().rejected[reason], before + 1);
      assert.ok(r.rejects.some((x) => x.reason === reason));
    }

    it('rejects forged signatures, tampered payloads and re-published subjects (bad_signature)', async () => {
      const r = await receiver();
      const nf = await make(nfIdentity());
      const good = nf.sealForTest(nfSubject, utf8('{"cpu":1}'));
      const sig = Buffer.from(good.headers.sig as string, 'base64url');
      sig[5] ^= 0x40;
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...good, headers: { ...good.headers, sig: sig.toString('base64url') } }));
      const good2 = nf.sealForTest(nfSubject, utf8('{"cpu":1}'));
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...good2, data: utf8('{"cpu":9}') }));
      const good3 = nf.sealForTest(nfSubject, utf8('{"cpu":1}'));
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...good3, subject: loopSubject('nf', placement, 'anomaly') }));
      // an attacker with its own key but a stolen credential
      const thief = d1.issue({ agentId: 'd1:thief', level: 'nf', ...placement });
      const stolen = nf.sealForTest(nfSubject, utf8('x'));
      const thiefBus = await make({ keyPair: thief.keyPair, credential: thief.credential });
      const forged = thiefBus.sealForTest(nfSubject, utf8('x'));
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...forged, headers: { ...forged.headers, cred: stolen.headers.cred } }));
      // untouched copies still pass
      await fabric.inject(nf.sealForTest(nfSubject, utf8('ok')));
      await waitFor(() => r.got.length === 1, 5000, 'the genuine message');
    });

    it('verifies the echo of its own messages: genuine echoes pass, a tampered copy of its own signature does not', async () => {
      const r = await receiver();
      const own = 'sg.d1._._._.control';
      await r.bus.publish(own, utf8('{"n":1}'));
      await waitFor(() => r.got.length === 1, 5000, 'the echo of its own message');
      assert.equal(r.got[0].sender.agentId, r.bus.self.agentId);
      const sealed = r.bus.sealForTest(own, utf8('{"n":2}'));
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...sealed, data: utf8('{"n":3}') }));
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...sealed, subject: 'sg.d1._._._.status' }));
      const sig = Buffer.from(sealed.headers.sig as string, 'base64url');
      sig[7] ^= 0x01;
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...sealed, headers: { ...sealed.headers, sig: sig.toString('base64url') } }));
      await fabric.inject(sealed);
      await waitFor(() => r.got.length === 2, 5000, 'the genuine sealed copy');
    });

    it('rejects a replayed message but accepts a restarted sender (new epoch)', async () => {
      const r = await receiver();
      const id = nfIdentity();
      const nf = await make(id);
      const env = nf.sealForTest(nfSubject, utf8('once'));
      await fabric.inject(env);
      await waitFor(() => r.got.length === 1, 5000, 'first copy');
      await expectRejected(r, 'replayed', () => fabric.inject(env));
      const restarted = await make(id);
      await restarted.publish(nfSubject, utf8('after restart'));
      await waitFor(() => r.got.length === 2, 5000, 'restarted sender');
      assert.equal(r.got[1].seq, 1);
    });

    it('rejects stale and future timestamps', async () => {
      const r = await receiver();
      const shifted = (ms: number): Clock => ({ ...systemClock(), now: () => Date.now() + ms });
      const past = await make(nfIdentity(), { clock: shifted(-60_000) });
      await expectRejected(r, 'stale', () => past.publish(nfSubject, utf8('old')));
      const ahead = await make(nfIdentity(), { clock: shifted(60_000) });
      await expectRejected(r, 'future', () => ahead.publish(nfSubject, utf8('new')));
      const slightly = await make(nfIdentity(), { clock: shifted(-10_000) });
      await slightly.publish(nfSubject, utf8('within skew'));
      await waitFor(() => r.got.length === 1, 5000, 'message within skew');
    });

    it('rejects expired, not-yet-valid, unknown-root and out-of-scope senders', async () => {
      const r = await receiver('>');
      const now = Date.now();
      const expired = await make(d1.issue({ agentId: 'd1:old', level: 'nf', ...placement, notBefore: now - 7_200_000, expiresAt: now - 3_600_000 }));
      await expectRejected(r, 'expired', () => expired.publish(nfSubject, utf8('x')));
      const early = await make(d1.issue({ agentId: 'd1:early', level: 'nf', ...placement, notBefore: now + 3_600_000, expiresAt: now + 7_200_000 }));
      await expectRejected(r, 'not_yet_valid', () => early.publish(nfSubject, utf8('x')));
      const rogue = createDomainAuthority('d1');
      const impostor = await make(rogue.issue({ agentId: 'd1:upf1', level: 'nf', ...placement }), {}, rogue.trustStore());
      await expectRejected(r, 'unknown_root', () => impostor.publish(nfSubject, utf8('x')));
      // a valid NF whose envelope (signed by itself) names a subject outside its scope
      const nf = await make(nfIdentity());
      const other = 'sg.d1.s1.cn.smf1.telemetry';
      await expectRejected(r, 'out_of_scope', async () => {
        const base = nf.sealForTest(nfSubject, utf8('x'));
        const sealed = (nf as unknown as { seal(o: { subject: string; data: Uint8Array }): Envelope }).seal({ subject: other, data: utf8('x') });
        assert.equal(base.headers.cred, sealed.headers.cred);
        await fabric.inject(sealed);
      });
      // malformed: missing headers
      await expectRejected(r, 'malformed', () => fabric.inject({ subject: nfSubject, headers: { proto: 'sg/1' }, data: utf8('x') }));
    });

    it('refuses a revoked credential from the moment the signed list arrives; old or forged lists change nothing', async () => {
      const r = await receiver();
      const outcomes: string[] = [];
      const revSub = subscribeRevocations(r.bus, store, { onOutcome: (o) => outcomes.push(o.applied ? 'applied' : o.reason) });
      await r.bus.flush();
      const id = nfIdentity();
      const nf = await make(id);
      await nf.publish(nfSubject, utf8('before'));
      await waitFor(() => r.got.length === 1, 5000, 'before revocation');
      const tsm = await make(domainIdentity());
      const list1 = d1.revoke([]);
      const list2 = d1.revoke([id.credential.id]);
      await publishRevocations(tsm, list2);
      await waitFor(() => revSub.applied === 1, 5000, 'revocation list');
      await expectRejected(r, 'revoked', () => nf.publish(nfSubject, utf8('after')));
      // an older list replayed later does not un-revoke; a list signed by another key is refused
      await publishRevocations(tsm, list1);
      const rogue = createDomainAuthority('d1');
      const forged = rogue.revoke([]);
      await publishRevocations(tsm, { ...forged, seq: 99 });
      await tsm.publish('sg.d1._sys.revocations', utf8('{"not":"a list"}'));
      await waitFor(() => revSub.refused === 3, 5000, 'refused lists');
      assert.deepEqual(outcomes, ['applied', 'stale_sequence', 'unknown_root', 'malformed']);
      assert.equal(store.revocationSeq('d1'), 2);
      await expectRejected(r, 'revoked', () => nf.publish(nfSubject, utf8('still revoked')));
      revSub.unsubscribe();
      assert.equal(revSub.closed, true);
    });

    it('verifies cross-domain senders only when their root is trusted', async () => {
      const d2 = createDomainAuthority('d2');
      const r = await receiver('sg.*._._._.status');
      const foreign = await make(d2.issue({ agentId: 'd2:tsm', level: 'domain' }), {}, d2.trustStore());
      await expectRejected(r, 'unknown_root', () => foreign.publish(systemSubject('d2', 'x').replace('_sys.x', '_._._.status'), utf8('x')));
      store.addRoot('d2', d2.publicKeyHex);
      await foreign.publish('sg.d2._._._.status', utf8('hello'));
      await waitFor(() => r.got.length === 1, 5000, 'cross-domain delivery');
      assert.equal(r.got[0].sender.domain, 'd2');
    });

    it('counts a handler that throws without losing other deliveries', async () => {
      const bus = await make(domainIdentity());
      let ok = 0;
      bus.subscribe('sg.d1.h', () => {
        throw new Error('boom');
      });
      bus.subscribe('sg.d1.h', async () => {
        ok++;
      });
      await bus.flush();
      await bus.publish('sg.d1.h', utf8('x'));
      await waitFor(() => ok === 1 && bus.stats().rejected.handler_error === 1, 5000, 'handler error');
    });

    it('is idempotent on drain/close and refuses use afterwards', async () => {
      const bus = await make(domainIdentity());
      const statuses: string[] = [];
      bus.onStatus((s) => statuses.push(s.type));
      const sub = bus.subscribe('sg.d1.x', () => {});
      await Promise.all([bus.drain(), bus.drain(), bus.close()]);
      await bus.close();
      assert.equal(sub.closed, true);
      assert.ok(statuses.includes('closed'));
      await assert.rejects(bus.publish('sg.d1.x', utf8('x')), { code: 'BUS_ERR_CLOSED' });
    });

    it('batch mode: one signature over several messages, each still verified and replay-checked', async () => {
      const r = await receiver();
      const nf = await make(nfIdentity(), { batch: { maxMessages: 8 } });
      await Promise.all(Array.from({ length: 20 }, (_, i) => nf.publish(nfSubject, utf8(String(i)))));
      await waitFor(() => r.got.length === 20, 5000, 'batched deliveries');
      assert.deepEqual(r.got.map((m) => Number(Buffer.from(m.data).toString())), Array.from({ length: 20 }, (_, i) => i));
      // tamper with one message of a batch: only that one is refused
      const sealed: Envelope[] = [];
      const batcher = await make(nfIdentity(), { batch: { maxMessages: 4 } });
      const orig = (batcher as unknown as { transmit(e: Envelope): void }).transmit.bind(batcher);
      (batcher as unknown as { transmit(e: Envelope): void }).transmit = (e) => sealed.push(e);
      await Promise.all([0, 1, 2].map((i) => batcher.publish(nfSubject, utf8(`b${i}`))));
      assert.equal(new Set(sealed.map((e) => e.headers.sig)).size, 1);
      (batcher as unknown as { transmit(e: Envelope): void }).transmit = orig;
      await fabric.inject(sealed[0]);
      await waitFor(() => r.got.length === 21, 5000, 'first batch member');
      await expectRejected(r, 'bad_signature', () => fabric.inject({ ...sealed[1], data: utf8('evil') }));
      await fabric.inject(sealed[2]);
      await waitFor(() => r.got.length === 22, 5000, 'untampered batch members');
      await expectRejected(r, 'replayed', () => fabric.inject(sealed[2]));
    });
  });

  describe(`${name}: chunking above max_payload`, function () {
    this.timeout(60_000);
    let fabric: Fabric;
    let d1: DomainAuthority;
    let store: TrustStore;
    let buses: Bus[];
    const maxPayload = 64 * 1024;

    beforeEach(async () => {
      fabric = await factory({ maxPayload });
      d1 = createDomainAuthority('d1');
      store = d1.trustStore();
      buses = [];
    });
    afterEach(async () => {
      await Promise.all(buses.map((b) => b.close()));
      await fabric.close();
    });
    const make = async (options: Partial<SignedBusOptions> = {}): Promise<TestBus> => {
      const b = await fabric.bus(d1.issue({ agentId: 'd1:fl', level: 'coordinator' }), store, options);
      buses.push(b);
      return b;
    };
    const subject = 'sg.d1._fl.lstm.global';

    it('splits a 5 MB payload into signed chunks and reassembles it intact', async () => {
      const rx = await make();
      const got: InboundMessage[] = [];
      rx.subscribe(subject, (m) => {
        got.push(m);
      });
      await rx.flush();
      const tx = await make();
      const sent: Envelope[] = [];
      const orig = (tx as unknown as { transmit(e: Envelope): void }).transmit.bind(tx);
      (tx as unknown as { transmit(e: Envelope): void }).transmit = (e) => {
        sent.push(e);
        orig(e);
      };
      const payload = new Uint8Array(5 * 1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
      await tx.publish(subject, payload);
      await waitFor(() => got.length === 1, 30_000, '5 MB message');
      assert.ok(sent.length >= Math.ceil(payload.length / maxPayload), `expected chunks, got ${sent.length} messages`);
      assert.ok(sent.every((e) => e.data.length < maxPayload));
      assert.equal(got[0].data.length, payload.length);
      assert.ok(Buffer.from(got[0].data).equals(Buffer.from(payload)));
      assert.equal(got[0].sender.agentId, 'd1:fl');
      assert.equal(rx.stats().delivered, 1);
      assert.equal(tx.stats().published, 1);
      // a large request and a large reply
      rx.subscribe('sg.d1._fl.lstm.pull', (m) => {
        void rx.respond(m, payload.subarray(0, 300_000));
      });
      await rx.flush();
      const reply = await tx.request('sg.d1._fl.lstm.pull', payload.subarray(0, 200_000), { timeoutMs: 20_000 });
      assert.equal(reply.data.length, 300_000);
    });

    it('fails the whole message when a chunk is missing, corrupt or the digest is wrong (chunk_integrity)', async () => {
      const rx = await make({ chunkTimeoutMs: 300 });
      const got: InboundMessage[] = [];
      const rejects: RejectReason[] = [];
      rx.subscribe(subject, (m) => {
        got.push(m);
      });
      rx.onReject((r) => rejects.push(r));
      await rx.flush();
      const tx = await make();
      const capture = (): Envelope[] => {
        const sent: Envelope[] = [];
        (tx as unknown as { transmit(e: Envelope): void }).transmit = (e) => sent.push(e);
        return sent;
      };
      const payload = new Uint8Array(200_000).fill(7);
      // missing chunk
      let sent = capture();
      await tx.publish(subject, payload);
      assert.ok(sent.length >= 3);
      for (const e of sent.filter((_, i) => i !== 1)) await fabric.inject(e);
      await waitFor(() => rx.stats().rejected.chunk_integrity === 1, 5000, 'timeout of an incomplete message');
      // corrupt chunk: its signature fails, then the message times out
      sent = capture();
      await tx.publish(subject, payload);
      for (const [i, e] of sent.entries()) await fabric.inject(i === 0 ? { ...e, data: new Uint8Array(e.data.length) } : e);
      await waitFor(() => rx.stats().rejected.chunk_integrity === 2, 5000, 'corrupt chunk');
      assert.equal(rx.stats().rejected.bad_signature, 1);
      // validly signed chunks whose declared digest does not match
      const seal = (e: Envelope, chunk: string): Envelope => tx.sealForTest(e.subject, e.data, { chunk });
      sent = capture();
      await tx.publish(subject, payload);
      const wrong = 'f'.repeat(64);
      for (const e of sent) await fabric.inject(seal(e, (e.headers.chunk as string).replace(/[0-9a-f]{64}$/, wrong)));
      await waitFor(() => rx.stats().rejected.chunk_integrity === 3, 5000, 'digest mismatch');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(got.length, 0);
      assert.equal(rejects.filter((r) => r === 'chunk_integrity').length, 3);
    });
  });
}
