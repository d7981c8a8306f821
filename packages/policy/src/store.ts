import { type Clock, decodeJson, encodeJson, type KeyValueStore, sortableNumber } from '@sliceguard/core';
import { stringify } from 'yaml';
import { type CelRuntime, createCelRuntime } from './cel.js';
import { detectConflicts } from './conflicts.js';
import { PolicyConflictError, PolicyNotFoundError, PolicyValidationError } from './errors.js';
import { checkPolicyTexts, createPolicySet } from './load.js';
import type { Policy, PolicySet } from './model.js';

export interface PolicyChange {
  version: number;
  at: number;
  op: 'load' | 'add' | 'replace' | 'remove';
  policyIds: string[];
  reason?: string;
}

/**
 * The policy set of a loop (or a domain), changed while loops run. Every change is validated and
 * conflict-checked against the rest of the set first (a refused change leaves the set as it was),
 * gets the next version number, and is persisted (current set + history) when a store is given.
 */
export interface PolicyStore {
  current(): PolicySet;
  readonly version: number;
  /** Adds the policies in these texts, replacing policies with the same ids. */
  upsert(sources: ReadonlyArray<{ text: string; file?: string }>, options?: { reason?: string }): Promise<PolicyChange>;
  remove(ids: readonly string[], options?: { reason?: string }): Promise<PolicyChange>;
  history(): readonly PolicyChange[];
  onChange(listener: (set: PolicySet, change: PolicyChange) => void): () => void;
}

export interface PolicyStoreOptions {
  clock: Clock;
  /** Persistence (LevelDB via @sliceguard/store, or memoryKv). Without it, changes live in memory. */
  kv?: KeyValueStore;
  /** Key prefix in the store. Default `policy/`. */
  prefix?: string;
  runtime?: CelRuntime;
}

interface Persisted {
  version: number;
  policies: Array<{ file: string; raw: Record<string, unknown> }>;
}

/** Opens a policy store, restoring the persisted set and history when `kv` holds them. */
export async function openPolicyStore(options: PolicyStoreOptions): Promise<PolicyStore> {
  const prefix = options.prefix ?? 'policy/';
  const runtime = options.runtime ?? createCelRuntime();
  let set = createPolicySet([], 0);
  const changes: PolicyChange[] = [];
  const listeners = new Set<(s: PolicySet, c: PolicyChange) => void>();

  if (options.kv) {
    const current = await options.kv.get(`${prefix}current`);
    if (current) {
      const persisted = decodeJson<Persisted>(current);
      const byFile = new Map<string, Record<string, unknown>[]>();
      for (const p of persisted.policies) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p.raw]);
      const sources = [...byFile].map(([file, raws]) => ({ file, text: stringify({ version: 1, policies: raws }) }));
      const report = checkPolicyTexts(sources, runtime);
      if (report.issues.some((i) => i.severity === 'error')) throw new PolicyValidationError(report.issues);
      set = createPolicySet(report.parsed, persisted.version, report.conflicts);
    }
    for await (const [, value] of options.kv.entries({ gte: `${prefix}history/`, lt: `${prefix}history/~` })) {
      changes.push(decodeJson<PolicyChange>(value));
    }
  }

  const commit = async (policies: Policy[], change: Omit<PolicyChange, 'version' | 'at'>): Promise<PolicyChange> => {
    const conflicts = detectConflicts(policies);
    const unresolved = conflicts.filter((c) => !c.resolved);
    if (unresolved.length > 0) throw new PolicyConflictError(unresolved);
    const full: PolicyChange = { ...change, version: set.version + 1, at: options.clock.now() };
    const next = createPolicySet(policies, full.version, conflicts);
    if (options.kv) {
      const persisted: Persisted = {
        version: full.version,
        policies: policies.map((p) => ({ file: p.location.file, raw: p.raw })),
      };
      await options.kv.batch([
        { type: 'put', key: `${prefix}current`, value: encodeJson(persisted) },
        { type: 'put', key: `${prefix}history/${sortableNumber(full.version, 10)}`, value: encodeJson(full) },
      ]);
    }
    set = next;
    changes.push(full);
    for (const l of listeners) l(set, full);
    return full;
  };

  return {
    current: () => set,
    get version() {
      return set.version;
    },
    async upsert(sources, opts = {}) {
      const report = checkPolicyTexts(
        sources.map((s) => ({ text: s.text, file: s.file ?? '<text>' })),
        runtime,
      );
      if (report.issues.some((i) => i.severity === 'error')) throw new PolicyValidationError(report.issues);
      const ids = new Set(report.parsed.map((p) => p.id));
      const replaced = set.policies.filter((p) => ids.has(p.id)).map((p) => p.id);
      const merged = [...set.policies.filter((p) => !ids.has(p.id)), ...report.parsed];
      return commit(merged, {
        op: set.version === 0 ? 'load' : replaced.length > 0 ? 'replace' : 'add',
        policyIds: [...ids],
        reason: opts.reason,
      });
    },
    async remove(ids, opts = {}) {
      for (const id of ids) if (!set.get(id)) throw new PolicyNotFoundError(id);
      const drop = new Set(ids);
      return commit(
        set.policies.filter((p) => !drop.has(p.id)),
        { op: 'remove', policyIds: [...ids], reason: opts.reason },
      );
    },
    history: () => [...changes],
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
