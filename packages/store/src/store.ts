import type { ActionOutcome, Clock, Decision, KeyValueStore, MetricsRegistry } from '@sliceguard/core';
import { AuditLog, type AuditSigner } from './audit.js';
import { checkpointEncoding } from './checkpoint-encoding.js';
import { Database, type Transaction } from './database.js';
import { type LevelKvOptions, openLevelKv } from './level-kv.js';
import type {
  DelegationRecord,
  IncidentRecord,
  LoopStateRecord,
  MetricWindowRecord,
  ModelCheckpointRecord,
  PolicyVersionRecord,
  TrustEvidenceRecord,
} from './records.js';
import { Repository, type RetentionOptions } from './repository.js';

export const REPOSITORY_NAMES = [
  'history',
  'incidents',
  'decisions',
  'outcomes',
  'delegations',
  'trustEvidence',
  'checkpoints',
  'policyVersions',
  'loopStates',
] as const;
export type RepositoryName = (typeof REPOSITORY_NAMES)[number];

const DAY = 24 * 3600 * 1000;

/**
 * Default retention per repository. With the record sizes measured by the `store` benchmark
 * (docs/store.md) these bound one agent's data directory to ~110 MiB of uncompressed records
 * (~35 MiB on disk after LevelDB's compression), the audit log being half of it.
 */
export const defaultRetention: Readonly<Record<RepositoryName, RetentionOptions>> = Object.freeze({
  history: { maxRecords: 10_000, maxAgeMs: DAY },
  incidents: { maxRecords: 5_000, maxAgeMs: 30 * DAY },
  decisions: { maxRecords: 20_000, maxAgeMs: 30 * DAY },
  outcomes: { maxRecords: 20_000, maxAgeMs: 30 * DAY },
  delegations: { maxRecords: 5_000, maxAgeMs: 7 * DAY },
  trustEvidence: { maxRecords: 50_000, maxAgeMs: 30 * DAY },
  checkpoints: { maxRecords: 20 },
  policyVersions: { maxRecords: 1_000 },
  loopStates: { maxRecords: 1_000 },
});

export interface StoreOptions {
  clock: Clock;
  /** Per-repository overrides of `defaultRetention` (merged field by field). */
  retention?: Partial<Record<RepositoryName, RetentionOptions>>;
  /** When given, the store has a signed audit log (`store.audit`). */
  audit?: { signer: AuditSigner; maxRecords?: number; prefix?: string };
  /** Optional metrics (the audit log counts its records). */
  metrics?: MetricsRegistry;
}

export interface SliceguardStore {
  readonly kv: KeyValueStore;
  readonly db: Database;
  readonly history: Repository<MetricWindowRecord>;
  /** Open / mitigating / escalated incidents are never pruned. */
  readonly incidents: Repository<IncidentRecord>;
  readonly decisions: Repository<Decision>;
  readonly outcomes: Repository<ActionOutcome>;
  /** Pending / accepted delegations are never pruned. */
  readonly delegations: Repository<DelegationRecord>;
  readonly trustEvidence: Repository<TrustEvidenceRecord>;
  readonly checkpoints: Repository<ModelCheckpointRecord>;
  readonly policyVersions: Repository<PolicyVersionRecord>;
  readonly loopStates: Repository<LoopStateRecord>;
  readonly audit: AuditLog | undefined;
  /** One atomic batch over several repositories and the audit log. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function isOpenIncident(i: IncidentRecord): boolean {
  return i.status === 'open' || i.status === 'mitigating' || i.status === 'escalated';
}

export function isPendingDelegation(d: DelegationRecord): boolean {
  return d.status === 'pending' || d.status === 'accepted';
}

/** Builds the repositories (and the audit log) over any KeyValueStore — LevelDB or memoryKv. */
export function createStore(kv: KeyValueStore, options: StoreOptions): SliceguardStore {
  const db = new Database(kv, { clock: options.clock });
  const retention = (name: RepositoryName): RetentionOptions => ({ ...defaultRetention[name], ...(options.retention?.[name] ?? {}) });
  const store: SliceguardStore = {
    kv,
    db,
    history: new Repository<MetricWindowRecord>(db, {
      prefix: 'hist',
      idOf: (w) => w.id,
      timeOf: (w) => w.end,
      partitionOf: (w) => w.source,
      retention: retention('history'),
    }),
    incidents: new Repository<IncidentRecord>(db, {
      prefix: 'inc',
      idOf: (i) => i.id,
      timeOf: (i) => i.openedAt,
      retention: retention('incidents'),
      protect: isOpenIncident,
    }),
    decisions: new Repository<Decision>(db, {
      prefix: 'dec',
      idOf: (d) => d.id,
      timeOf: (d) => d.at,
      partitionOf: (d) => d.eventId,
      retention: retention('decisions'),
    }),
    outcomes: new Repository<ActionOutcome>(db, {
      prefix: 'out',
      idOf: (o) => o.id,
      timeOf: (o) => o.at,
      retention: retention('outcomes'),
    }),
    delegations: new Repository<DelegationRecord>(db, {
      prefix: 'dlg',
      idOf: (d) => d.id,
      timeOf: (d) => d.createdAt,
      retention: retention('delegations'),
      protect: isPendingDelegation,
    }),
    trustEvidence: new Repository<TrustEvidenceRecord>(db, {
      prefix: 'tev',
      idOf: (e) => e.id,
      timeOf: (e) => e.at,
      partitionOf: (e) => e.subject,
      retention: retention('trustEvidence'),
    }),
    checkpoints: new Repository<ModelCheckpointRecord>(db, {
      prefix: 'ckpt',
      encoding: checkpointEncoding(),
      idOf: (c) => c.id,
      timeOf: (c) => c.at,
      partitionOf: (c) => c.modelId,
      retention: retention('checkpoints'),
    }),
    policyVersions: new Repository<PolicyVersionRecord>(db, {
      prefix: 'pol',
      idOf: (p) => p.id,
      timeOf: (p) => p.at,
      partitionOf: (p) => p.policyId,
      retention: retention('policyVersions'),
    }),
    loopStates: new Repository<LoopStateRecord>(db, {
      prefix: 'loop',
      idOf: (s) => s.agentId,
      timeOf: (s) => s.updatedAt,
      retention: retention('loopStates'),
    }),
    audit: options.audit ? new AuditLog(db, { clock: options.clock, metrics: options.metrics, ...options.audit }) : undefined,
    transaction: (fn) => db.transaction(fn),
    close: () => kv.close(),
  };
  return store;
}

/** Opens LevelDB in `dir` and builds the store on it. */
export async function openStore(dir: string, options: StoreOptions & { level?: LevelKvOptions }): Promise<SliceguardStore> {
  const kv = await openLevelKv(dir, options.level);
  return createStore(kv, options);
}
