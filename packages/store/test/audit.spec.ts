import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import fc from 'fast-check';
import { join } from 'node:path';
import { type KeyValueStore, fromUtf8, memoryKv, SimulatedClock, toHex, utf8 } from '@sliceguard/core';
import { type AuditRecord, AuditLog, auditRecordHash, nodeEd25519Signer, verifyAuditLog } from '../src/audit.js';
import { Database } from '../src/database.js';
import { openLevelKv } from '../src/level-kv.js';
import { createStore } from '../src/store.js';
import { tempDir } from './helpers.js';

const seed = new Uint8Array(32).fill(7);

function log(kv: KeyValueStore, maxRecords?: number): AuditLog {
  return new AuditLog(new Database(kv), { signer: nodeEd25519Signer(seed), clock: new SimulatedClock(1_000), maxRecords });
}

async function fill(a: AuditLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await a.append({ kind: i % 2 ? 'decision' : 'lifecycle', actor: 'd1:amf-1', subject: `s${i}`, data: { i, from: 'active', to: 'updating' } });
  }
}

async function rewrite(kv: KeyValueStore, seq: number, change: (r: AuditRecord) => void): Promise<string> {
  const key = `audit/r/${String(seq).padStart(16, '0')}`;
  const r = JSON.parse(fromUtf8((await kv.get(key))!)) as AuditRecord;
  change(r);
  await kv.put(key, utf8(JSON.stringify(r)));
  return key;
}

describe('AuditLog', () => {
  const publicKey = toHex(nodeEd25519Signer(seed).publicKey);

  it('appends a hash chain that verifies against the signer key', async () => {
    const kv = memoryKv();
    const a = log(kv);
    await fill(a, 20);
    const records = await a.list();
    equal(records.length, 20);
    equal(records[0].prevHash, '0'.repeat(64));
    for (let i = 1; i < records.length; i++) equal(records[i].prevHash, records[i - 1].hash);
    const report = await verifyAuditLog(kv, { publicKey });
    equal(report.ok, true);
    equal(report.checked, 20);
    equal(report.authenticated, true);
    deepStrictEqual(report.head, { seq: 20, hash: records[19].hash });
  });

  it('detects altered content and points at the record', async () => {
    const kv = memoryKv();
    await fill(log(kv), 10);
    const key = await rewrite(kv, 6, (r) => {
      (r.data as { to: string }).to = 'terminated';
    });
    const report = await verifyAuditLog(kv, { publicKey });
    equal(report.ok, false);
    deepStrictEqual({ ...report.firstBroken, message: undefined }, { index: 5, seq: 6, key, reason: 'hash_mismatch', message: undefined });
    equal(report.checked, 6);
  });

  it('detects a re-hashed forgery by its signature', async () => {
    const kv = memoryKv();
    await fill(log(kv), 10);
    await rewrite(kv, 3, (r) => {
      r.actor = 'attacker';
      r.hash = auditRecordHash(r);
    });
    const report = await verifyAuditLog(kv, { publicKey });
    equal(report.firstBroken?.reason, 'bad_signature');
    equal(report.firstBroken?.seq, 3);
  });

  it('detects a removed record, a forged prevHash and a foreign key', async () => {
    const kv = memoryKv();
    await fill(log(kv), 10);
    await kv.del('audit/r/0000000000000004');
    const gap = await verifyAuditLog(kv, { publicKey });
    deepStrictEqual([gap.firstBroken?.reason, gap.firstBroken?.index, gap.firstBroken?.seq], ['sequence_gap', 3, 5]);

    const kv2 = memoryKv();
    await fill(log(kv2), 5);
    await rewrite(kv2, 2, (r) => {
      r.prevHash = 'f'.repeat(64);
    });
    equal((await verifyAuditLog(kv2, { publicKey })).firstBroken?.reason, 'prev_hash_mismatch');

    const kv3 = memoryKv();
    await fill(log(kv3), 3);
    const other = toHex(nodeEd25519Signer(new Uint8Array(32).fill(9)).publicKey);
    const foreign = await verifyAuditLog(kv3, { publicKey: other });
    deepStrictEqual([foreign.firstBroken?.reason, foreign.firstBroken?.index], ['unknown_key', 0]);
    // without an expected key the log is only self-consistent
    const self = await verifyAuditLog(kv3);
    equal(self.ok, true);
    equal(self.authenticated, false);
  });

  it('prunes large logs in chunks of 1 % (one anchor signature per chunk)', async () => {
    const kv = memoryKv();
    const a = log(kv, 200);
    await fill(a, 202);
    equal((await a.list()).length, 202);
    await fill(a, 1);
    const kept = await a.list();
    deepStrictEqual([kept.length, kept[0].seq], [200, 4]);
    equal((await verifyAuditLog(kv, { publicKey })).anchor?.seq, 3);
  });

  it('prunes behind a signed anchor and still verifies; a forged anchor or front truncation is caught', async () => {
    const kv = memoryKv();
    const a = log(kv, 5);
    await fill(a, 12);
    const kept = await a.list();
    deepStrictEqual(
      kept.map((r) => r.seq),
      [8, 9, 10, 11, 12],
    );
    const report = await verifyAuditLog(kv, { publicKey });
    equal(report.ok, true);
    equal(report.anchor?.seq, 7);
    equal(report.anchor?.hash, kept[0].prevHash);

    await kv.del('audit/r/0000000000000008');
    equal((await verifyAuditLog(kv, { publicKey })).firstBroken?.reason, 'sequence_gap');

    const kv2 = memoryKv();
    await fill(log(kv2, 5), 12);
    const anchor = JSON.parse(fromUtf8((await kv2.get('audit/anchor'))!));
    anchor.seq = 8;
    await kv2.put('audit/anchor', utf8(JSON.stringify(anchor)));
    const forged = await verifyAuditLog(kv2, { publicKey });
    deepStrictEqual([forged.firstBroken?.reason, forged.firstBroken?.index], ['anchor_invalid', -1]);
  });

  it('property: any single alteration, removal (except of the newest) or swap is caught at its position', async () => {
    const signer = nodeEd25519Signer(seed);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 25 }),
        fc.nat(),
        fc.constantFrom('alter', 'remove', 'swap', 'rehash'),
        async (n, pick, tamper) => {
          const kv = memoryKv();
          const a = new AuditLog(new Database(kv), { signer, clock: new SimulatedClock(0) });
          await fill(a, n);
          const k = (pick % (n - 1)) + 1; // seq 1..n-1: never the newest
          const keyOf = (seq: number) => `audit/r/${String(seq).padStart(16, '0')}`;
          const expected = { alter: 'hash_mismatch', remove: 'sequence_gap', swap: 'sequence_gap', rehash: 'bad_signature' }[tamper];
          if (tamper === 'alter') {
            await rewrite(kv, k, (r) => {
              r.kind = 'policy';
            });
          }
          if (tamper === 'rehash') {
            await rewrite(kv, k, (r) => {
              r.data = { forged: true };
              r.hash = auditRecordHash(r);
            });
          }
          if (tamper === 'remove') await kv.del(keyOf(k));
          if (tamper === 'swap') {
            const [x, y] = [await kv.get(keyOf(k)), await kv.get(keyOf(k + 1))];
            await kv.put(keyOf(k), y!);
            await kv.put(keyOf(k + 1), x!);
          }
          const report = await verifyAuditLog(kv, { publicKey: toHex(signer.publicKey) });
          equal(report.ok, false);
          equal(report.firstBroken?.reason, expected);
          equal(report.firstBroken?.index, k - 1);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('continues the chain after reopening LevelDB', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const kv1 = await openLevelKv(join(dir, 'db'));
      await fill(log(kv1), 4);
      await kv1.close();
      const kv2 = await openLevelKv(join(dir, 'db'));
      const a = log(kv2);
      deepStrictEqual((await a.head()).seq, 4);
      await fill(a, 3);
      const report = await verifyAuditLog(kv2, { publicKey });
      equal(report.ok, true);
      equal(report.head?.seq, 7);
      await kv2.close();
    } finally {
      await cleanup();
    }
  });

  it('writes audit records atomically with the state they describe; a failed transaction changes nothing', async () => {
    const kv = memoryKv();
    const s = createStore(kv, { clock: new SimulatedClock(0), audit: { signer: nodeEd25519Signer(seed) } });
    await s.transaction(async (tx) => {
      await s.decisions.stagePut(tx, { id: 'dec-1', eventId: 'ev-1', actions: [], reason: 'r', at: 1 });
      await s.audit!.stageAppend(tx, { kind: 'decision', actor: 'a', subject: 'dec-1', data: { id: 'dec-1' } });
    });
    await rejects(
      s.transaction(async (tx) => {
        await s.decisions.stagePut(tx, { id: 'dec-2', eventId: 'ev-2', actions: [], reason: 'r', at: 2 });
        await s.audit!.stageAppend(tx, { kind: 'decision', actor: 'a', data: { id: 'dec-2' } });
        throw new Error('enforcement refused');
      }),
      /enforcement refused/,
    );
    equal(await s.decisions.has('dec-2'), false);
    equal((await s.audit!.head()).seq, 1);
    await s.audit!.append({ kind: 'policy', actor: 'operator', data: { policyId: 'p1', change: 'add' } });
    equal((await verifyAuditLog(kv, { publicKey })).ok, true);
  });

  it('counts committed records by kind in the injected metrics registry', async () => {
    const counted: Array<[Record<string, string | number> | undefined, number | undefined]> = [];
    const metrics = {
      counter: () => ({ inc: (labels?: Record<string, string | number>, value?: number) => void counted.push([labels, value]) }),
      gauge: () => ({ set() {}, inc() {}, dec() {} }),
      histogram: () => ({ observe() {} }),
    };
    const kv = memoryKv();
    const a = new AuditLog(new Database(kv), { signer: nodeEd25519Signer(seed), clock: new SimulatedClock(0), metrics });
    await a.append({ kind: 'trust', actor: 'x', data: {} });
    await rejects(
      new Database(kv).transaction(async (tx) => {
        await a.stageAppend(tx, { kind: 'policy', actor: 'x', data: {} });
        throw new Error('rolled back');
      }),
    );
    deepStrictEqual(counted, [[{ kind: 'trust' }, undefined]]);
  });

  it('record() appends in call order without awaiting and reports failures to onError', async () => {
    const kv = memoryKv();
    const a = log(kv);
    const failed: string[] = [];
    const onError = (e: unknown) => failed.push((e as { code: string }).code);
    for (let i = 0; i < 20; i++) a.record({ kind: 'lifecycle', actor: 'a', data: { i } }, onError);
    a.record({ kind: 'trust', actor: 'a', data: { bad: Number.POSITIVE_INFINITY } }, onError);
    a.record({ kind: 'trust', actor: 'a', data: { i: 20 } }, onError);
    await a.flush();
    deepStrictEqual(
      (await a.list()).map((r) => (r.data as { i: number }).i),
      Array.from({ length: 21 }, (_, i) => i),
    );
    deepStrictEqual(failed, ['STORE_ERR_INVALID_RECORD']);
    equal((await verifyAuditLog(kv, { publicKey })).ok, true);
  });

  it('refuses entries that are not JSON and reports signer failures', async () => {
    const kv = memoryKv();
    await rejects(log(kv).append({ kind: 'trust', actor: 'x', data: { score: Number.NaN } }), { code: 'STORE_ERR_INVALID_RECORD' });
    const broken = new AuditLog(new Database(kv), {
      clock: new SimulatedClock(0),
      signer: {
        publicKey: new Uint8Array(32),
        sign: () => {
          throw new Error('hsm offline');
        },
      },
    });
    await rejects(broken.append({ kind: 'trust', actor: 'x', data: {} }), (e: Error & { code?: string }) => e.code === 'STORE_ERR_AUDIT_SIGNER' && /hsm offline/.test(e.message));
    ok((await verifyAuditLog(kv)).ok);
  });
});
