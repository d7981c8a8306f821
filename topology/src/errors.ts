import { SliceguardError } from '@sliceguard/core';

/** One problem in a topology file: where it is, what is wrong and how to fix it. */
export interface TopologyIssue {
  file?: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Path of the offending field, e.g. `domains[0].slices[1].subslices[0].nfs[2].type` ('' for the file). */
  path: string;
  message: string;
  hint: string;
}

export function formatIssue(issue: TopologyIssue): string {
  const where = `${issue.file ?? '<text>'}:${issue.line}:${issue.column}`;
  return `${where}${issue.path ? ` ${issue.path}` : ''}: ${issue.message}\n    hint: ${issue.hint}`;
}

/** Every problem found in a topology, reported at once. Code TOPOLOGY_ERR_INVALID. */
export class TopologyError extends SliceguardError {
  readonly issues: readonly TopologyIssue[];

  constructor(issues: TopologyIssue[], file?: string) {
    const n = issues.length;
    const head = `${file ?? 'topology'} is invalid: ${n} problem${n === 1 ? '' : 's'}`;
    super('TOPOLOGY_ERR_INVALID', `${head}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, {
      details: { file, issues: n },
    });
    this.issues = Object.freeze([...issues]);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** The topology file could not be read. Code TOPOLOGY_ERR_READ. */
export class TopologyReadError extends SliceguardError {
  constructor(file: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'no such file' : String((cause as Error)?.message ?? cause);
    super('TOPOLOGY_ERR_READ', `cannot read topology file ${file}: ${reason}`, {
      cause,
      details: { file, hint: 'check the path; example topologies are in topology/examples/' },
    });
  }
}

/** A name that is not one of the bundled example topologies. Code TOPOLOGY_ERR_UNKNOWN_EXAMPLE. */
export class UnknownExampleError extends SliceguardError {
  constructor(name: string, known: readonly string[]) {
    super('TOPOLOGY_ERR_UNKNOWN_EXAMPLE', `no example topology named "${name}"`, { details: { known: known.join(', ') } });
  }
}
