import assert from 'node:assert/strict';
import { type InboundMessage, SimulatedClock, childrenSubject, loopSubject, subjectMatches, utf8 } from '@sliceguard/core';
import { createDomainAuthority } from '@sliceguard/identity';
import { ReplayWindow, SubjectIndex, createLocalNetwork, localBus, subjectClass } from '../src/index.js';

describe('bus: subject index and replay window', () => {
  it('SubjectIndex agrees with subjectMatches on every pattern/subject pair', () => {
    const patterns = ['a.b.c', 'a.*.c', 'a.>', '*.b.>', '>', 'a.b', '*', 'a.*', 'x.y.z', 'a.b.c.>', '*.*.*'];
    const subjects = ['a.b.c', 'a.x.c', 'a.b', 'a', 'x.b.c.d', 'x.y.z', 'a.b.c.d', 'q'];
    const index = new SubjectIndex<string>();
    for (const p of patterns) index.add(p, p);
    for (const s of subjects) {
      assert.deepEqual(index.match(s).sort(), patterns.filter((p) => subjectMatches(p, s)).sort(), s);
    }
    for (const p of patterns) assert.ok(index.remove(p, p));
    assert.equal(index.size, 0);
    assert.deepEqual(index.match('a.b.c'), []);
  });

  it('classifies subjects into a bounded label set and counts messages by direction and class', async () => {
    const p = { domain: 'd1', slice: 's1', subslice: 'ran', nf: 'gnb-1' };
    assert.equal(subjectClass(loopSubject('nf', p, 'escalate')), 'escalate');
    assert.equal(subjectClass(loopSubject('subslice', p, 'delegate')), 'delegate');
    assert.equal(subjectClass('sg.d1._fl.gnb.update'), 'fl');
    assert.equal(subjectClass('sg.d1._sys.revocations'), 'sys');
    assert.equal(subjectClass('_INBOX.abc.1'), 'inbox');
    assert.equal(subjectClass('sg.d1.s1.ran.gnb-1.made-up'), 'other');
    assert.equal(subjectClass('elsewhere.x'), 'other');

    const counted = new Map<string, number>();
    const metrics = {
      counter: (o: { name: string }) => ({
        inc: (labels: Record<string, string | number> = {}, v = 1) => {
          const key = `${o.name}${JSON.stringify(labels)}`;
          counted.set(key, (counted.get(key) ?? 0) + v);
        },
      }),
      gauge: () => ({ set() {}, inc() {}, dec() {} }),
      histogram: () => ({ observe() {} }),
    };
    const clock = new SimulatedClock(Date.UTC(2026, 0, 1));
    const network = createLocalNetwork();
    const authority = createDomainAuthority('d1', { clock });
    const trustStore = authority.trustStore();
    const nf = localBus({ network, identity: authority.issue({ agentId: 'd1:gnb-1', level: 'nf', slice: 's1', subslice: 'ran', nf: 'gnb-1' }), trustStore, clock, metrics });
    const parent = localBus({ network, identity: authority.issue({ agentId: 'd1:ran', level: 'subslice', slice: 's1', subslice: 'ran' }), trustStore, clock, metrics });
    const got: string[] = [];
    parent.subscribe(childrenSubject('subslice', p, 'escalate'), (m) => {
      got.push(m.subject);
    });
    await nf.publish(loopSubject('nf', p, 'escalate'), utf8('{}'));
    await clock.advance(1);
    assert.equal(got.length, 1);
    assert.equal(counted.get('sliceguard_bus_messages_total{"direction":"out","subject_class":"escalate"}'), 1);
    assert.equal(counted.get('sliceguard_bus_messages_total{"direction":"in","subject_class":"escalate"}'), 1);
    await nf.close();
    await parent.close();
  });

  it('ReplayWindow accepts out-of-order fresh sequences and refuses repeats and too-old ones', () => {
    const w = new ReplayWindow({ size: 64, idleMs: 1000 });
    const accept = (seq: number): boolean => {
      if (w.seen('k', seq)) return false;
      w.record('k', seq, 0);
      return true;
    };
    assert.equal(accept(5), true);
    assert.equal(accept(3), true);
    assert.equal(accept(5), false);
    assert.equal(accept(3), false);
    assert.equal(accept(200), true);
    assert.equal(accept(137), true);
    assert.equal(accept(136), false, 'outside the window');
    assert.equal(accept(199), true);
    w.record('other', 1, 0);
    assert.equal(w.sweep(5000), 2);
    assert.equal(w.tracked, 0);
  });
});

describe('LocalBus on a SimulatedClock, at scale', function () {
  this.timeout(60_000);

  it('times requests and chunk reassembly on the simulated clock', async () => {
    const clock = new SimulatedClock(1_000_000);
    const d1 = createDomainAuthority('d1', { clock });
    const network = createLocalNetwork();
    const a = localBus({ network, clock, trustStore: d1.trustStore(), identity: d1.issue({ agentId: 'd1:tsm', level: 'domain' }) });
    const b = localBus({ network, clock, trustStore: d1.trustStore(), identity: d1.issue({ agentId: 'd1:tsm2', level: 'domain' }) });
    b.subscribe('sg.d1.slow', () => {});
    let outcome = 'pending';
    a.request('sg.d1.slow', utf8('x'), { timeoutMs: 10_000 }).then(
      () => (outcome = 'answered'),
      (e: Error & { code: string }) => (outcome = e.code),
    );
    await clock.advance(9_999);
    assert.equal(outcome, 'pending');
    await clock.advance(1);
    assert.equal(outcome, 'BUS_ERR_TIMEOUT');
    // a message stamped by a sender whose simulated time is far ahead is refused as future
    const ahead = new SimulatedClock(1_000_000 + 120_000);
    const c = localBus({ network, clock: ahead, trustStore: d1.trustStore(), identity: d1.issue({ agentId: 'd1:tsm3', level: 'domain' }) });
    const got: InboundMessage[] = [];
    b.subscribe('sg.d1.t', (m) => {
      got.push(m);
    });
    await c.publish('sg.d1.t', utf8('x'));
    await clock.advance(0);
    assert.equal(b.stats().rejected.future, 1);
    await a.publish('sg.d1.t', utf8('ok'));
    await clock.advance(0);
    assert.equal(got.length, 1);
    await Promise.all([a.close(), b.close(), c.close()]);
    assert.equal(clock.pendingTimers, 0, 'timers leaked');
  });

  it('runs 2,000 buses on one network: fan-out to all, fan-in by wildcard, per-receiver checks', async () => {
    const clock = new SimulatedClock(2_000_000);
    const d1 = createDomainAuthority('d1', { clock });
    const store = d1.trustStore();
    const network = createLocalNetwork();
    const N = 2000;
    const placement = (i: number) => ({ domain: 'd1', slice: `s${i % 10}`, subslice: 'cn', nf: `nf${i}` });
    const nfs = Array.from({ length: N }, (_, i) =>
      localBus({ network, clock, trustStore: store, identity: d1.issue({ agentId: `d1:nf${i}`, level: 'nf', ...placement(i) }) }),
    );
    const tsm = localBus({ network, clock, trustStore: store, identity: d1.issue({ agentId: 'd1:tsm', level: 'domain' }) });
    let control = 0;
    for (const [i, b] of nfs.entries()) {
      b.subscribe(loopSubject('nf', placement(i), 'delegate'), () => {
        control++;
      });
      b.subscribe('sg.d1._._._.control', () => {
        control++;
      });
    }
    const telemetry: string[] = [];
    tsm.subscribe(childrenSubject('subslice', { domain: 'd1', slice: 's3', subslice: 'cn' }, 'telemetry'), (m) => {
      telemetry.push(m.sender.agentId);
    });
    const t0 = performance.now();
    await tsm.publish('sg.d1._._._.control', utf8('{"cmd":"tighten"}'));
    await tsm.publish(loopSubject('nf', placement(42), 'delegate'), utf8('{"action":"rate-limit"}'));
    await Promise.all(nfs.map((b, i) => b.publish(loopSubject('nf', placement(i), 'telemetry'), utf8('{"cpu":0.3}'))));
    await clock.advance(0);
    await network.settled();
    const ms = performance.now() - t0;
    assert.equal(control, N + 1);
    assert.equal(telemetry.length, N / 10);
    assert.ok(telemetry.every((id) => Number(id.split('nf')[1]) % 10 === 3));
    assert.equal(nfs.reduce((a, b) => a + b.stats().rejected.bad_signature, 0), 0);
    const total = nfs.reduce((a, b) => a + b.stats().delivered, 0);
    assert.equal(total, N + 1);
    // a revoked NF is refused from the moment its domain's list is applied
    assert.equal(store.applyRevocations(d1.revoke([nfs[3].self.credentialId])).applied, true);
    await nfs[3].publish(loopSubject('nf', placement(3), 'telemetry'), utf8('{"cpu":0.9}'));
    await nfs[13].publish(loopSubject('nf', placement(13), 'telemetry'), utf8('{"cpu":0.9}'));
    await clock.advance(0);
    assert.equal(tsm.stats().rejected.revoked, 1);
    assert.equal(telemetry.length, N / 10 + 1);
    assert.ok(ms < 20_000, `took ${ms} ms`);
    await Promise.all([...nfs, tsm].map((b) => b.close()));
    assert.equal(network.stats().subscriptions, 0);
  });
});

describe('bus: Merkle batch proofs', () => {
  it('every proof folds to the root; a wrong leaf, index or proof does not', async () => {
    const { merkleTree, merkleRoot } = await import('../src/envelope.js');
    const { createHash } = await import('node:crypto');
    for (const n of [1, 2, 3, 5, 8, 13, 64]) {
      const leaves = Array.from({ length: n }, (_, i) => createHash('sha256').update(`leaf ${i}`).digest());
      const tree = merkleTree(leaves);
      assert.equal(tree.size, 2 ** Math.ceil(Math.log2(n)));
      leaves.forEach((leaf, i) => {
        assert.ok(merkleRoot(leaf, i, tree.size, tree.proofs[i])?.equals(tree.root));
        if (n > 1) {
          assert.ok(!merkleRoot(leaf, (i + 1) % n, tree.size, tree.proofs[i])?.equals(tree.root));
          assert.ok(!merkleRoot(leaves[(i + 1) % n], i, tree.size, tree.proofs[i])?.equals(tree.root));
        }
      });
      assert.equal(merkleRoot(leaves[0], 0, tree.size * 2, tree.proofs[0]), undefined);
    }
  });
});
