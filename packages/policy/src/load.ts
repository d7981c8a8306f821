import { readFile } from 'node:fs/promises';
import { type CelRuntime, createCelRuntime } from './cel.js';
import { detectConflicts, type PolicyConflict } from './conflicts.js';
import { PolicyConflictError, type PolicyIssue, PolicyIoError, PolicyValidationError } from './errors.js';
import type { Policy, PolicySet } from './model.js';
import { parsePolicyText } from './parse.js';

/** A policy source: a file path, or text with a name to report errors against. */
export type PolicyInput = string | { text: string; file?: string };

export interface PolicyCheckReport {
  ok: boolean;
  files: string[];
  policies: number;
  /** Validation errors and warnings with file, line, column and field path. */
  issues: PolicyIssue[];
  /** Every conflict found; unresolved ones make `ok` false. */
  conflicts: PolicyConflict[];
}

export function createPolicySet(
  policies: readonly Policy[],
  version = 1,
  resolvedConflicts: readonly PolicyConflict[] = [],
): PolicySet {
  const byId = new Map(policies.map((p) => [p.id, p]));
  return Object.freeze({
    version,
    policies: Object.freeze([...policies]),
    resolvedConflicts: Object.freeze([...resolvedConflicts]),
    get: (id: string) => byId.get(id),
  });
}

async function readInput(input: PolicyInput): Promise<{ text: string; file: string }> {
  if (typeof input !== 'string') return { text: input.text, file: input.file ?? '<text>' };
  try {
    return { text: await readFile(input, 'utf8'), file: input };
  } catch (err) {
    throw new PolicyIoError(input, err);
  }
}

/** Parses texts (already read) and checks them together: duplicates across files, then conflicts. */
export function checkPolicyTexts(
  sources: ReadonlyArray<{ text: string; file: string }>,
  runtime: CelRuntime = createCelRuntime(),
): PolicyCheckReport & { parsed: Policy[] } {
  const issues: PolicyIssue[] = [];
  const parsed: Policy[] = [];
  const seen = new Map<string, Policy>();
  for (const src of sources) {
    const result = parsePolicyText(src.text, src.file, runtime);
    issues.push(...result.issues);
    for (const p of result.policies) {
      const earlier = seen.get(p.id);
      if (earlier) {
        issues.push({
          ...(p.fieldLocations.id ?? p.location),
          message: `duplicate policy id "${p.id}" (also defined at ${earlier.location.file}:${earlier.location.line})`,
          hint: 'policy ids must be unique across all loaded files',
          severity: 'error',
        });
        continue;
      }
      seen.set(p.id, p);
      parsed.push(p);
    }
  }
  const conflicts = detectConflicts(parsed);
  const ok = !issues.some((i) => i.severity === 'error') && conflicts.every((c) => c.resolved);
  return { ok, files: sources.map((s) => s.file), policies: parsed.length, issues, conflicts, parsed };
}

/** Reads, validates and conflict-checks policy files without throwing on bad policies (for `policy check`). */
export async function checkPolicies(inputs: readonly PolicyInput[]): Promise<PolicyCheckReport> {
  const sources = await Promise.all(inputs.map(readInput));
  const { parsed: _parsed, ...report } = checkPolicyTexts(sources);
  return report;
}

/**
 * Loads policy files (or texts) into a validated, conflict-checked PolicySet.
 * Throws PolicyValidationError (every issue with file:line:column and field path) or
 * PolicyConflictError (unresolved conflicts with both locations).
 */
export async function loadPolicies(
  inputs: readonly PolicyInput[],
  options: { runtime?: CelRuntime; version?: number } = {},
): Promise<PolicySet> {
  const sources = await Promise.all(inputs.map(readInput));
  return buildPolicySet(sources, options);
}

/** Synchronous variant of loadPolicies for texts already in memory. */
export function parsePolicies(
  sources: ReadonlyArray<{ text: string; file?: string }>,
  options: { runtime?: CelRuntime; version?: number } = {},
): PolicySet {
  return buildPolicySet(
    sources.map((s) => ({ text: s.text, file: s.file ?? '<text>' })),
    options,
  );
}

function buildPolicySet(sources: Array<{ text: string; file: string }>, options: { runtime?: CelRuntime; version?: number }): PolicySet {
  const report = checkPolicyTexts(sources, options.runtime ?? createCelRuntime());
  if (report.issues.some((i) => i.severity === 'error')) throw new PolicyValidationError(report.issues);
  const unresolved = report.conflicts.filter((c) => !c.resolved);
  if (unresolved.length > 0) throw new PolicyConflictError(unresolved);
  return createPolicySet(report.parsed, options.version ?? 1, report.conflicts);
}
