import { SliceguardError } from '@sliceguard/core';

/** Where in a policy file something is: 1-based line and column, and the field path. */
export interface PolicyLocation {
  file: string;
  line: number;
  column: number;
  /** Field path such as `policies[2].do[0].params.rps`. */
  path: string;
}

export interface PolicyIssue extends PolicyLocation {
  message: string;
  /** How to fix it. */
  hint?: string;
  severity: 'error' | 'warning';
}

/** Stable error codes of @sliceguard/policy (documented in docs/policy.md). */
export const POLICY_ERROR_CODES = {
  invalid: 'POLICY_ERR_INVALID',
  conflict: 'POLICY_ERR_CONFLICT',
  notFound: 'POLICY_ERR_NOT_FOUND',
  io: 'POLICY_ERR_IO',
  evaluation: 'POLICY_ERR_EVALUATION',
  options: 'POLICY_ERR_OPTIONS',
} as const;

export class PolicyError extends SliceguardError {}

function formatIssues(issues: readonly PolicyIssue[]): string {
  return issues
    .map((i) => `${i.file}:${i.line}:${i.column} ${i.path ? `${i.path}: ` : ''}${i.message}${i.hint ? ` (${i.hint})` : ''}`)
    .join('\n');
}

/** A policy file (or text) failed validation; `issues` lists every problem with its location. */
export class PolicyValidationError extends PolicyError {
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[], cause?: unknown) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(POLICY_ERROR_CODES.invalid, `${errors.length} policy error(s):\n${formatIssues(errors)}`, {
      cause,
      details: { issues },
    });
    this.issues = issues;
  }
}

/** Policies whose scopes and triggers overlap and whose actions contradict, unresolved by priority. */
export class PolicyConflictError extends PolicyError {
  readonly conflicts: readonly import('./conflicts.js').PolicyConflict[];
  constructor(conflicts: readonly import('./conflicts.js').PolicyConflict[]) {
    const text = conflicts
      .map(
        (c) =>
          `${c.kind}: ${c.a.policyId} (${c.a.file}:${c.a.line}) vs ${c.b.policyId} (${c.b.file}:${c.b.line}) on ${c.target}`,
      )
      .join('\n');
    super(
      POLICY_ERROR_CODES.conflict,
      `${conflicts.length} unresolved policy conflict(s) (give the policies different explicit priorities, or narrow their scopes or triggers):\n${text}`,
      { details: { conflicts } },
    );
    this.conflicts = conflicts;
  }
}

export class PolicyNotFoundError extends PolicyError {
  constructor(id: string) {
    super(POLICY_ERROR_CODES.notFound, `no policy with id "${id}"`, { details: { id } });
  }
}

export class PolicyIoError extends PolicyError {
  constructor(file: string, cause: unknown) {
    super(POLICY_ERROR_CODES.io, `cannot read policy file ${file}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
      details: { file },
    });
  }
}

export class PolicyOptionsError extends PolicyError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(POLICY_ERROR_CODES.options, message, { details });
  }
}
