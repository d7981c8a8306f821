import assert from 'node:assert/strict';
import { type Rng, SimulatedClock, seededRng, utf8 } from '@sliceguard/core';
import { createDomainAuthority } from '@sliceguard/identity';
import { type Envelope, EnvelopeVerifier, ReplayWindow, createLocalNetwork, createVerifierCaches, localBus } from '../src/index.js';

type Headers = Envelope['headers'];
const FIELDS: Array<keyof Headers> = ['proto', 'cred', 'ts', 'epoch', 'seq', 'chunk', 'batch', 'sig'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./*>: \u0000\u00e9';

function randomString(rng: Rng, max: number): string {
  let s = '';
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) s += ALPHABET[rng.int(ALPHABET.length)];
  return s;
}

function mutateString(rng: Rng, s: string): string {
  if (s.length === 0) return randomString(rng, 8);
  const i = rng.int(s.length);
  switch (rng.int(5)) {
    case 0:
      return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rng.int(7))) + s.slice(i + 1);
    case 1:
      return s.slice(0, i) + s.slice(i + 1);
    case 2:
      return s.slice(0, i) + ALPHABET[rng.int(ALPHABET.length)] + s.slice(i);
    case 3:
      return s.slice(0, i);
    default:
      return randomString(rng, 40);
  }
}

function mutate(rng: Rng, env: Envelope, donors: Envelope[]): Envelope {
  const headers: Headers = { ...env.headers };
  let { subject, reply, data } = env;
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(8)) {
      case 0: {
        const f = FIELDS[rng.int(FIELDS.length)];
        headers[f] = mutateString(rng, headers[f] ?? '');
        break;
      }
      case 1: {
        const f = FIELDS[rng.int(FIELDS.length)];
        delete headers[f];
        break;
      }
      case 2: {
        // splice a field from another valid message (signature, credential, seq…)
        const f = FIELDS[rng.int(FIELDS.length)];
        const donor = donors[rng.int(donors.length)];
        if (donor.headers[f] !== undefined) headers[f] = donor.headers[f];
        break;
      }
      case 3: {
        const copy = new Uint8Array(data.length + (data.length === 0 ? 1 : 0));
        copy.set(data);
        copy[rng.int(copy.length)] ^= 1 << rng.int(8);
        data = copy;
        break;
      }
      case 4:
        subject = rng.next() < 0.5 ? mutateString(rng, subject) : donors[rng.int(donors.length)].subject;
        break;
      case 5:
        reply = rng.next() < 0.5 ? `_INBOX.${randomString(rng, 6)}` : undefined;
        break;
      case 6: {
        const sig = Buffer.from(headers.sig ?? '', 'base64url');
        if (sig.length > 0) sig[rng.int(sig.length)] ^= 1 << rng.int(8);
        headers.sig = sig.toString('base64url');
        break;
      }
      default:
        headers.ts = String(Number(headers.ts ?? '0') + (rng.int(3) - 1));
        break;
    }
  }
  return { subject, ...(reply !== undefined ? { reply } : {}), headers, data };
}

function sameEnvelope(a: Envelope, b: Envelope): boolean {
  return (
    a.subject === b.subject &&
    (a.reply ?? '') === (b.reply ?? '') &&
    FIELDS.every((f) => a.headers[f] === b.headers[f]) &&
    Buffer.from(a.data).equals(Buffer.from(b.data))
  );
}

describe('bus: envelope verifier fuzz', function () {
  this.timeout(60_000);

  it('survives 100,000 random and mutated envelopes without a crash or an accepted forgery', async () => {
    const rng = seededRng('sliceguard-fuzz');
    const clock = new SimulatedClock(1_800_000_000_000);
    const d1 = createDomainAuthority('d1', { clock });
    const store = d1.trustStore();
    const network = createLocalNetwork();
    const senders = [0, 1, 2].map((i) =>
      localBus({ network, clock, trustStore: store, identity: d1.issue({ agentId: `d1:n${i}`, level: 'nf', slice: 's1', subslice: 'cn', nf: `n${i}` }) }),
    );
    const valid: Envelope[] = [];
    for (let i = 0; i < 300; i++) {
      const s = senders[i % 3];
      valid.push(s.sealForTest(`sg.d1.s1.cn.n${i % 3}.telemetry`, utf8(JSON.stringify({ i, pad: 'x'.repeat(i % 50) })), i % 7 === 0 ? { reply: '_INBOX.abc.1' } : {}));
    }
    // batch-signed envelopes (Merkle proofs) join the corpus
    const batcher = localBus({ network, clock, trustStore: store, batch: { maxMessages: 16 }, identity: d1.issue({ agentId: 'd1:n9', level: 'nf', slice: 's1', subslice: 'cn', nf: 'n9' }) });
    (batcher as unknown as { transmit(e: Envelope): void }).transmit = (e) => valid.push(e);
    await Promise.all(Array.from({ length: 60 }, (_, i) => batcher.publish('sg.d1.s1.cn.n9.telemetry', utf8(`batched ${i}`))));
    assert.equal(valid.length, 360);
    assert.ok(valid.slice(300).every((e) => e.headers.batch !== undefined));
    // no shared signature cache: every candidate is verified from its bytes
    const verifier = new EnvelopeVerifier({ trustStore: store, clock, maxSkewMs: 30_000, inboxPrefix: '_INBOX' }, createVerifierCaches());
    const replay = new ReplayWindow({ idleMs: 61_000 });
    const accepted = new Set<number>();
    let acceptedCount = 0;
    const reasons: Record<string, number> = {};
    const N = 100_000;
    for (let n = 0; n < N; n++) {
      let candidate: Envelope;
      const pick = rng.int(100);
      if (pick < 3) {
        candidate = valid[rng.int(valid.length)]; // genuine (first time accepted, then a replay)
      } else if (pick < 8) {
        candidate = { subject: randomString(rng, 30), headers: Object.fromEntries(FIELDS.filter(() => rng.next() < 0.5).map((f) => [f, randomString(rng, 90)])), data: utf8(randomString(rng, 30)) };
      } else {
        candidate = mutate(rng, valid[rng.int(valid.length)], valid);
      }
      const out = verifier.verify(candidate, replay);
      if (out.ok) {
        const original = valid.findIndex((v) => sameEnvelope(v, candidate));
        assert.ok(original >= 0, `accepted a forged envelope: ${JSON.stringify({ ...candidate, data: Buffer.from(candidate.data).toString() })}`);
        assert.ok(!accepted.has(original), `accepted envelope ${original} twice (replay)`);
        accepted.add(original);
        acceptedCount++;
      } else {
        reasons[out.reason] = (reasons[out.reason] ?? 0) + 1;
      }
    }
    assert.ok(acceptedCount > 0 && acceptedCount <= valid.length);
    // the mutator must reach the deep checks, not only the parser
    for (const r of ['malformed', 'bad_signature', 'replayed', 'out_of_scope']) assert.ok((reasons[r] ?? 0) > 100, `few ${r}: ${JSON.stringify(reasons)}`);
  });
});
