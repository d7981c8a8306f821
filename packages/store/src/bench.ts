import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionOutcome, Decision, KeyValueStore } from '@sliceguard/core';
import { memoryKv, SimulatedClock, sortableNumber } from '@sliceguard/core';
import { type AuditEntry, nodeEd25519Signer, verifyAuditLog } from './audit.js';
import { openLevelKv } from './level-kv.js';
import type {
  DelegationRecord,
  IncidentRecord,
  MetricWindowRecord,
  ModelCheckpointRecord,
  PolicyVersionRecord,
  TrustEvidenceRecord,
} from './records.js';
import { createStore, defaultRetention, type RepositoryName, type SliceguardStore } from './store.js';

export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

async function rate(n: number, fn: (i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const s = (performance.now() - t0) / 1000;
  return Math.round(n / s);
}

const value = (size: number, seed: number): Uint8Array => new Uint8Array(size).map((_, i) => (i * 31 + seed) & 0xff);

async function kvRates(kv: KeyValueStore, n: number): Promise<Record<string, number>> {
  const put = await rate(n, (i) => kv.put(`k/${sortableNumber(i)}`, value(256, i)));
  const get = await rate(n, async (i) => {
    await kv.get(`k/${sortableNumber((i * 7919) % n)}`);
  });
  const batches = Math.max(1, Math.floor(n / 100));
  const batchRecords =
    (await rate(batches, (b) =>
      kv.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: `b/${sortableNumber(b * 100 + j)}`, value: value(256, j) }))),
    )) * 100;
  const t0 = performance.now();
  let scanned = 0;
  for await (const _ of kv.entries({ gte: 'k/', lt: 'k0' })) scanned++;
  const scan = Math.round(scanned / ((performance.now() - t0) / 1000));
  return { putPerSec: put, getPerSec: get, batchRecordsPerSec: batchRecords, scanRecordsPerSec: scan };
}

// --- representative records (sizes as the agents produce them) ----------------------------------
const evidence = (i: number) => ({
  detector: 'lstm-ae',
  score: 0.91 + (i % 7) / 100,
  threshold: 0.62,
  contributors: [
    { metric: 'registration_rate', share: 0.61 },
    { metric: 'auth_failures', share: 0.22 },
    { metric: 'cpu', share: 0.1 },
  ],
  window: { start: i * 1000, end: i * 1000 + 30_000 },
  indicators: [{ kind: 'source', value: `10.0.${i % 250}.${i % 200}` }],
});

export const sampleRecords = {
  history: (i: number): MetricWindowRecord => ({
    id: `w-${i}`,
    source: 'd1:amf-1',
    start: i * 10_000,
    end: (i + 1) * 10_000,
    metrics: ['cpu', 'mem', 'registration_rate', 'auth_failures', 'pdu_sessions', 'latency_ms', 'rx_bytes', 'tx_bytes'],
    samples: Array.from({ length: 10 }, (_, r) => Array.from({ length: 8 }, (_, c) => Math.round(((i + r) * 13 + c * 7) % 1000) / 10)),
  }),
  incidents: (i: number): IncidentRecord => ({
    id: `inc-d1:amf-1-${i}`,
    agentId: 'd1:amf-1',
    level: 'nf',
    kind: 'signaling_ddos',
    target: 'amf-1',
    severity: 0.8,
    status: 'resolved',
    openedAt: i * 1000,
    updatedAt: i * 1000 + 5000,
    resolvedAt: i * 1000 + 5000,
    correlationId: `corr-${i}`,
    events: [0, 1, 2].map((k) => ({
      id: `ev-${i}-${k}`,
      type: 'anomaly' as const,
      at: i * 1000 + k,
      source: 'd1:amf-1',
      target: 'amf-1',
      severity: 0.8,
      level: 'nf' as const,
      evidence: evidence(i + k),
    })),
    decisionIds: [`dec-${i}`],
    actionIds: [`act-${i}-0`, `act-${i}-1`],
  }),
  decisions: (i: number): Decision => ({
    id: `dec-${i}`,
    eventId: `ev-${i}-0`,
    policyId: 'ddos-signaling-scale-out',
    reason: 'anomaly score 0.93 > 0.62 on registration_rate; policy ddos-signaling-scale-out',
    at: i * 1000,
    actions: [0, 1].map((k) => ({
      id: `act-${i}-${k}`,
      type: k === 0 ? ('rate_limit' as const) : ('scale_out' as const),
      target: k === 0 ? `10.0.${i % 250}.1` : 'amf',
      params: k === 0 ? { rps: 50, durationMs: 600_000 } : { replicas: 1 },
      requestedBy: 'd1:amf-1',
      policyId: 'ddos-signaling-scale-out',
      at: i * 1000,
    })),
  }),
  outcomes: (i: number): ActionOutcome => ({
    id: `act-${i}-0`,
    type: 'rate_limit',
    target: `10.0.${i % 250}.1`,
    status: 'succeeded',
    detail: 'limit installed on the edge filter',
    result: { rps: 50 },
    at: i * 1000 + 40,
  }),
  delegations: (i: number): DelegationRecord => ({
    id: `dlg-${i}`,
    direction: 'outgoing',
    from: 'd1:slice-embb',
    to: 'd1:cn',
    action: 'scale_out',
    target: 'amf',
    params: { replicas: 2 },
    deadline: i * 1000 + 30_000,
    status: 'done',
    createdAt: i * 1000,
    updatedAt: i * 1000 + 900,
    correlationId: `corr-${i}`,
    incidentId: `inc-${i}`,
  }),
  trustEvidence: (i: number): TrustEvidenceRecord => ({
    id: `tev-${i}`,
    subject: `d1:nf-${i % 50}`,
    attribute: 'report_accuracy',
    positive: 1,
    negative: 0,
    source: 'd1:ran',
    at: i * 1000,
    reason: 'incident confirmed by peers',
  }),
  checkpoints: (i: number): ModelCheckpointRecord => ({
    id: `lstm-ae-v${i}`,
    modelId: 'lstm-ae',
    version: i,
    round: i,
    at: i * 1000,
    // an LSTM autoencoder of the analytics package's default size is ~ 20 k parameters
    weights: { layout: [{ name: 'all', shape: [20_000], offset: 0, length: 20_000 }], values: Float32Array.from({ length: 20_000 }, (_, k) => Math.sin(k + i)) },
    metrics: { loss: 0.012, samples: 5000, clients: 8 },
  }),
  policyVersions: (i: number): PolicyVersionRecord => ({
    id: `pv-${i}`,
    policyId: `policy-${i % 20}`,
    version: Math.floor(i / 20) + 1,
    change: 'replace',
    text: 'x'.repeat(1200),
    sha256: 'a'.repeat(64),
    author: 'operator:alice',
    at: i * 1000,
  }),
  loopStates: (i: number) => ({
    agentId: `d1:nf-${i}`,
    lifecycle: 'active' as const,
    config: { samplingMs: 1000, metrics: ['cpu', 'mem', 'registration_rate'], granularity: 'aggregate' },
    iteration: i * 10,
    updatedAt: i * 1000,
  }),
};

const auditEntry = (i: number): AuditEntry => ({
  kind: 'decision',
  actor: 'd1:amf-1',
  subject: `dec-${i}`,
  data: { decision: `dec-${i}`, policy: 'ddos-signaling-scale-out', actions: ['rate_limit', 'scale_out'], eventId: `ev-${i}-0` },
});

/** Bytes on disk per record of one repository: write n records into a fresh LevelDB, compact, measure. */
async function bytesPerRecord(name: RepositoryName, n: number): Promise<{ logicalBytes: number; diskBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), `sg-bench-${name}-`));
  try {
    const kv = await openLevelKv(dir);
    const store = createStore(kv, { clock: new SimulatedClock(0), retention: { [name]: { maxRecords: n + 1 } } });
    const repo = store[name] as unknown as { putMany(v: unknown[]): Promise<void> };
    const make = sampleRecords[name] as (i: number) => unknown;
    for (let i = 0; i < n; i += 100) await repo.putMany(Array.from({ length: Math.min(100, n - i) }, (_, k) => make(i + k)));
    let logical = 0;
    for await (const [k, v] of kv.entries()) logical += k.length + v.length;
    await kv.compact();
    await kv.close();
    return { logicalBytes: Math.round(logical / n), diskBytes: Math.round(dirBytes(dir) / n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function auditBytesPerRecord(n: number): Promise<{ logicalBytes: number; diskBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-audit-'));
  try {
    const kv = await openLevelKv(dir);
    const store = createStore(kv, { clock: new SimulatedClock(0), audit: { signer: nodeEd25519Signer() } });
    for (let i = 0; i < n; i += 100) await store.audit!.appendMany(Array.from({ length: Math.min(100, n - i) }, (_, k) => auditEntry(i + k)));
    let logical = 0;
    for await (const [k, v] of kv.entries()) logical += k.length + v.length;
    await kv.compact();
    await kv.close();
    return { logicalBytes: Math.round(logical / n), diskBytes: Math.round(dirBytes(dir) / n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function storeOn(kvFactory: () => Promise<KeyValueStore>): Promise<SliceguardStore> {
  return createStore(await kvFactory(), { clock: new SimulatedClock(0), audit: { signer: nodeEd25519Signer() } });
}

/** `sliceguard bench --only store`: LevelDB vs memory rates, audit append/verify rates, bytes per record and the disk bound. */
export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const n = options.quick ? 1_000 : 20_000;
  const sizeN = options.quick ? 300 : 3_000;
  const dirs: string[] = [];
  const level = async (): Promise<KeyValueStore> => {
    const d = mkdtempSync(join(tmpdir(), 'sg-bench-'));
    dirs.push(d);
    return openLevelKv(d);
  };
  try {
    options.log(`kv rates, ${n} ops of 256 B`);
    const memKv = memoryKv();
    const mem = await kvRates(memKv, n);
    const lvKv = await level();
    const lv = await kvRates(lvKv, n);
    await lvKv.close();
    options.log(`LevelDB with sync: true (fsync per write), ${n / 20} puts`);
    const syncDir = mkdtempSync(join(tmpdir(), 'sg-bench-sync-'));
    dirs.push(syncDir);
    const syncKv = await openLevelKv(syncDir, { sync: true });
    const syncPut = await rate(n / 20, (i) => syncKv.put(`k/${sortableNumber(i)}`, value(256, i)));
    const syncBatch = (await rate(Math.max(1, n / 2000), (b) =>
      syncKv.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: `b/${sortableNumber(b * 100 + j)}`, value: value(256, j) }))),
    )) * 100;
    await syncKv.close();

    options.log('repository puts (incident records, with id index)');
    const memStore = await storeOn(async () => memoryKv());
    const memRepo = await rate(n / 4, (i) => memStore.incidents.put(sampleRecords.incidents(i)));
    const lvStore = await storeOn(level);
    const lvRepo = await rate(n / 4, (i) => lvStore.incidents.put(sampleRecords.incidents(i)));

    options.log('audit append (hash + Ed25519 sign + LevelDB put) and verify');
    const appendOne = await rate(n / 4, async (i) => {
      await lvStore.audit!.append(auditEntry(i));
    });
    const batches = Math.max(1, Math.floor(n / 400));
    const appendBatched = (await rate(batches, async (b) => {
      await lvStore.audit!.appendMany(Array.from({ length: 100 }, (_, k) => auditEntry(b * 100 + k)));
    })) * 100;
    const records = n / 4 + batches * 100;
    const t0 = performance.now();
    const report = await verifyAuditLog(lvStore.kv);
    const verifyPerSec = Math.round(records / ((performance.now() - t0) / 1000));
    if (!report.ok || report.checked !== records) throw new Error(`audit verify failed in the benchmark: ${JSON.stringify(report.firstBroken)}`);
    await lvStore.close();

    options.log(`bytes per record (${sizeN} records per repository, after compaction)`);
    const sizes: Record<string, { logicalBytes: number; diskBytes: number; maxRecords: number | null; boundBytes: number | null }> = {};
    let bound = 0;
    for (const name of Object.keys(sampleRecords) as RepositoryName[]) {
      const count = name === 'checkpoints' ? Math.min(sizeN, 50) : sizeN;
      const s = await bytesPerRecord(name, count);
      const max = defaultRetention[name].maxRecords ?? null;
      const b = max === null ? null : Math.max(s.logicalBytes, s.diskBytes) * max;
      if (b !== null) bound += b;
      sizes[name] = { ...s, maxRecords: max, boundBytes: b };
    }
    const audit = await auditBytesPerRecord(sizeN);
    const auditMax = 100_000;
    sizes.audit = { ...audit, maxRecords: auditMax, boundBytes: Math.max(audit.logicalBytes, audit.diskBytes) * auditMax };
    bound += sizes.audit.boundBytes!;

    return {
      ops: n,
      kv: { memory: mem, leveldb: lv, leveldbSync: { putPerSec: syncPut, batchRecordsPerSec: syncBatch }, ratioMemoryOverLevel: Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, Math.round((v / lv[k]) * 10) / 10])) },
      repositoryIncidentPutPerSec: { memory: memRepo, leveldb: lvRepo },
      audit: { appendPerSec: appendOne, appendBatchedPerSec: appendBatched, verifyPerSec, recordsVerified: records },
      bytesPerRecord: sizes,
      defaultRetentionBoundMiB: Math.round((bound / (1 << 20)) * 10) / 10,
    };
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
