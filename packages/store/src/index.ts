export {
  AUDIT_ANCHOR_TAG,
  AUDIT_SIGNATURE_TAG,
  AuditLog,
  type AuditAnchor,
  type AuditBreak,
  type AuditBreakReason,
  type AuditEntry,
  type AuditKind,
  type AuditLogOptions,
  type AuditRecord,
  type AuditSigner,
  type AuditVerifyReport,
  auditRecordHash,
  defaultAuditLogOptions,
  GENESIS_HASH,
  nodeEd25519Signer,
  nodeEd25519Verifier,
  type SignatureVerifier,
  readAuditRecords,
  type VerifyAuditOptions,
  verifyAuditLog,
} from './audit.js';
export { checkpointEncoding } from './checkpoint-encoding.js';
export { Database, Transaction } from './database.js';
export { type DurableChange, type DurableSnapshot, DurableState } from './durable.js';
export { canonicalJson, type Encoding, jsonEncoding } from './encoding.js';
export {
  STORE_ERROR_CODES,
  StoreClosedError,
  StoreCorruptedError,
  StoreDecodeError,
  StoreError,
  type StoreErrorCode,
  StoreInvalidRecordError,
  StoreLockedError,
  StoreOptionsError,
  StoreUnwritableError,
} from './errors.js';
export { defaultLevelKvOptions, type LevelKeyValueStore, type LevelKvOptions, openLevelKv } from './level-kv.js';
export { prefixedKv } from './prefixed-kv.js';
export {
  DELEGATION_STATUSES,
  type DelegationRecord,
  type DelegationStatus,
  INCIDENT_STATUSES,
  type IncidentRecord,
  type IncidentStatus,
  LIFECYCLE_STATES,
  type LifecycleState,
  type LoopStateRecord,
  type MetricWindowRecord,
  type ModelCheckpointRecord,
  type PolicyVersionRecord,
  type TrustEvidenceRecord,
} from './records.js';
export { type ListQuery, Repository, type RepositoryOptions, type RetentionOptions } from './repository.js';
export {
  createStore,
  defaultRetention,
  isOpenIncident,
  isPendingDelegation,
  openStore,
  REPOSITORY_NAMES,
  type RepositoryName,
  type SliceguardStore,
  type StoreOptions,
} from './store.js';
