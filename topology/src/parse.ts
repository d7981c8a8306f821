import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { SslaSpec, TlaSpec } from '@sliceguard/core';
import type { TSchema } from '@sinclair/typebox';
import { Value, type ValueError, ValueErrorType } from '@sinclair/typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { NF_CATALOGUE, NF_TYPES, isNfType } from './catalogue.js';
import { type TopologyIssue, TopologyError, TopologyReadError } from './errors.js';
import { formatPath, locate, type PathSegment, type Position } from './locate.js';
import {
  type RawDomain,
  type RawNf,
  type RawSlice,
  type RawSsla,
  type RawSubslice,
  type RawTla,
  type RawTopology,
  SUPPORTED_VERSIONS,
  TopologySchema,
} from './schema.js';
import { didYouMean } from './suggest.js';
import type { Governed, SourceRef, Topology, TopologyDomain, TopologyNf, TopologySlice, TopologySubslice } from './types.js';
import { validateSemantics } from './validate.js';

export interface ParseOptions {
  /** Directory relative policy paths are resolved against; default: the file's directory, else cwd. */
  baseDir?: string;
  /** Check that referenced policy files exist (default true). */
  checkFiles?: boolean;
}

/** Reads and validates a topology file; throws TopologyReadError or TopologyError. */
export async function loadTopology(path: string, options: ParseOptions = {}): Promise<Topology> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TopologyReadError(file, error);
  }
  return parseTopology(text, file, options);
}

const MINIMAL_EXAMPLE =
  'start from "version: 1" and a "domains:" list, e.g. topology/examples/vcdn-edge.yaml (docs/topology.md describes every field)';

/**
 * Parses and validates topology YAML. Every problem is collected and thrown at once as a
 * TopologyError whose issues carry file, line, column, field path and a hint.
 */
export function parseTopology(text: string, file?: string, options: ParseOptions = {}): Topology {
  const absFile = file === undefined ? undefined : resolve(file);
  const baseDir = options.baseDir ?? (absFile ? dirname(absFile) : process.cwd());
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const issues: TopologyIssue[] = [];
  const at = (path: readonly PathSegment[], message: string, hint: string, opts: { key?: boolean } = {}): void => {
    const pos = locate(doc, counter, path, opts);
    issues.push({ file: absFile, line: pos.line, column: pos.column, path: formatPath(path), message, hint });
  };

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = counter.linePos(error.pos[0]);
      issues.push({
        file: absFile,
        line: pos.line,
        column: pos.col,
        path: '',
        message: `YAML syntax error: ${error.message.split('\n')[0]}`,
        hint: yamlHint(error.code),
      });
    }
    throw new TopologyError(issues, absFile);
  }
  if (doc.contents === null || text.trim() === '') {
    issues.push({ file: absFile, line: 1, column: 1, path: '', message: 'the topology file is empty', hint: MINIMAL_EXAMPLE });
    throw new TopologyError(issues, absFile);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    at([], `the top level must be a mapping with "version" and "domains", got ${describe(raw)}`, MINIMAL_EXAMPLE);
    throw new TopologyError(issues, absFile);
  }

  const record = raw as Record<string, unknown>;
  if (!('version' in record)) {
    at([], 'missing "version"', 'add "version: 1" as the first line of the file');
  } else if (!SUPPORTED_VERSIONS.includes(record.version as 1)) {
    at(['version'], `unsupported version ${JSON.stringify(record.version)}`, `this sliceguard reads version ${SUPPORTED_VERSIONS.join(', ')}: set "version: 1"`);
  }

  schemaIssues(raw, at);
  validateSemantics(record, { at, baseDir, checkFiles: options.checkFiles ?? true });
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new TopologyError(issues, absFile);
  }

  const typed = Value.Default(TopologySchema, structuredClone(raw)) as RawTopology;
  const source = (path: readonly PathSegment[]): SourceRef => {
    const pos: Position = locate(doc, counter, path);
    return { ...(absFile ? { file: absFile } : {}), line: pos.line, column: pos.column };
  };
  return buildTopology(typed, absFile, baseDir, source);
}

function yamlHint(code: string): string {
  const hints: Record<string, string> = {
    DUPLICATE_KEY: 'a key appears twice in the same mapping: remove or rename one of them',
    BAD_INDENT: 'check the indentation (spaces, consistent per level) and that every [ or { is closed',
    TAB_AS_INDENT: 'YAML does not allow tabs for indentation: use spaces',
    MISSING_CHAR: 'a closing quote or bracket is missing',
    UNEXPECTED_TOKEN: 'check the punctuation on this line (":" after keys, "- " before list items)',
    BLOCK_AS_IMPLICIT_KEY: 'a key is missing its ":" or a value is indented under the wrong key',
    MULTILINE_IMPLICIT_KEY: 'a key is missing its ":" or a value spans lines without quotes',
  };
  return hints[code] ?? 'fix the YAML syntax at this position (indentation, ":" after keys, "- " before list items, matching quotes)';
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text "${value}"`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

const EXPECTED: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.Array]: 'a list',
  [ValueErrorType.Object]: 'a mapping',
  [ValueErrorType.String]: 'text',
  [ValueErrorType.Number]: 'a number',
  [ValueErrorType.Integer]: 'a whole number',
  [ValueErrorType.Boolean]: 'true or false',
};

const FIELD_HINTS: Record<string, string> = {
  id: 'add "id: <name>" (letters, digits, "-" or "_"; unique within the domain)',
  type: `add "type: <NF type>", one of: ${NF_TYPES.join(', ')}`,
  domains: 'add a "domains:" list with at least one domain',
  slices: 'add a "slices:" list (it may be empty: "slices: []")',
  subslices: 'add a "subslices:" list (RAN, CN, TN or edge parts of the slice)',
  weight: 'each TLA attribute needs "weight: <number>"',
  url: 'add "url: http://host:port/metrics"',
};

function pathOf(error: ValueError): PathSegment[] {
  return error.path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function lastName(path: readonly PathSegment[]): string {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return '';
}

function schemaIssues(raw: unknown, at: (p: readonly PathSegment[], m: string, h: string, o?: { key?: boolean }) => void): void {
  const seen = new Set<string>();
  for (const error of Value.Errors(TopologySchema, raw)) {
    const path = pathOf(error);
    const key = formatPath(path);
    if (path[0] === 'version') continue; // reported with a better message above
    // one issue per field, and nothing below a field that already has the wrong shape
    if (seen.has(key) || [...seen].some((s) => s !== '' && (key.startsWith(`${s}.`) || key.startsWith(`${s}[`)))) continue;
    seen.add(key);
    const field = lastName(path);
    const value = error.value;
    switch (error.type) {
      case ValueErrorType.ObjectAdditionalProperties: {
        const known = Object.keys((error.schema as { properties?: Record<string, unknown> }).properties ?? {});
        const dym = didYouMean(field, known);
        at(path, `unknown field "${field}"`, `${dym ? `${dym} ` : ''}fields allowed here: ${known.join(', ')}`, { key: true });
        break;
      }
      case ValueErrorType.ObjectRequiredProperty:
        at(path, `missing required field "${field}"`, FIELD_HINTS[field] ?? `add "${field}:"`);
        break;
      case ValueErrorType.StringPattern:
        if (field === 'metrics') {
          at(path, `"${value}" is not a valid metric name`, 'metric names are lower_snake_case: letters, digits and "_", starting with a letter');
        } else {
          const fixed = String(value)
            .replace(/[^A-Za-z0-9_-]+/g, '-')
            .replace(/^[-_]+/, '')
            .slice(0, 63);
          at(
            path,
            `"${value}" is not a valid id`,
            `ids start with a letter or digit and contain only letters, digits, "-" and "_" (at most 63 characters; no dots or spaces, they become subject tokens)${fixed ? `, e.g. "${fixed}"` : ''}`,
          );
        }
        break;
      case ValueErrorType.Union: {
        const options = ((error.schema as { anyOf?: TSchema[] }).anyOf ?? []).map((s) => String((s as { const?: unknown }).const));
        const dym = typeof value === 'string' ? didYouMean(value, options) : '';
        at(path, `${JSON.stringify(value)} is not a valid ${field}`, `${dym ? `${dym} ` : ''}use one of: ${options.join(', ')}`);
        break;
      }
      case ValueErrorType.ArrayMinItems:
        at(path, `"${field}" must not be empty`, FIELD_HINTS[field] ?? `list at least one item under "${field}"`);
        break;
      case ValueErrorType.StringMinLength:
        at(path, `"${field}" must not be empty`, `give "${field}" a value or remove the line`);
        break;
      case ValueErrorType.NumberMinimum:
      case ValueErrorType.IntegerMinimum:
      case ValueErrorType.NumberExclusiveMinimum:
      case ValueErrorType.NumberMaximum:
        at(path, `${field} ${JSON.stringify(value)} is out of range: ${error.message.toLowerCase()}`, boundsHint(error.schema));
        break;
      default: {
        const expected = EXPECTED[error.type];
        if (expected) {
          at(path, `"${field}" must be ${expected}, got ${describe(value)}`, shapeHint(field, expected));
        } else {
          at(path, error.message, 'see docs/topology.md for the expected shape of this field');
        }
      }
    }
  }
}

function boundsHint(schema: TSchema): string {
  const s = schema as { minimum?: number; maximum?: number; exclusiveMinimum?: number };
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  return `use a value ${parts.join(' and ')}`;
}

function shapeHint(field: string, expected: string): string {
  if (expected === 'a list') return `write "${field}" as a YAML list: one "- item" per line, or [a, b]`;
  if (expected === 'a mapping') return `write "${field}" as nested "key: value" lines (or remove it)`;
  if (expected === 'text') return `quote the value: ${field}: "..."`;
  return `write "${field}" as ${expected}`;
}

// ---------------------------------------------------------------------------------------------
// Building the resolved model once the file is valid

function cleanTla(tla: RawTla | undefined): Partial<TlaSpec> {
  if (!tla) return {};
  const out: Partial<TlaSpec> = {};
  if (tla.attributes) out.attributes = tla.attributes as TlaSpec['attributes'];
  if (tla.thresholds) out.thresholds = tla.thresholds;
  if (tla.location !== undefined) out.location = tla.location;
  if (tla.halfLifeMs !== undefined) out.halfLifeMs = tla.halfLifeMs;
  return out;
}

/** Child overrides per field; attributes and thresholds merge per key. */
function mergeTla(parent: TlaSpec, child: RawTla | undefined): TlaSpec {
  const c = cleanTla(child);
  const merged: TlaSpec = { ...parent, ...c, attributes: { ...parent.attributes, ...(c.attributes ?? {}) } };
  if (parent.thresholds || c.thresholds) merged.thresholds = { ...parent.thresholds, ...c.thresholds };
  return merged;
}

function mergeSsla(parent: SslaSpec, child: RawSsla | undefined): SslaSpec {
  return { ...parent, ...(child ?? {}) };
}

function govern(parent: Governed, raw: { tla?: RawTla; ssla?: RawSsla; policies?: string[] }, baseDir: string): Governed {
  return {
    tla: mergeTla(parent.tla, raw.tla),
    ssla: mergeSsla(parent.ssla, raw.ssla),
    policies: raw.policies ? raw.policies.map((p) => (isAbsolute(p) ? p : resolve(baseDir, p))) : [...parent.policies],
  };
}

type SourceOf = (path: readonly PathSegment[]) => SourceRef;

function buildTopology(raw: RawTopology, file: string | undefined, baseDir: string, source: SourceOf): Topology {
  const root: Governed = { tla: { attributes: {} }, ssla: {}, policies: [] };
  const domains = raw.domains.map((d, di) => buildDomain(d, root, baseDir, source, ['domains', di]));
  return { version: 1, ...(file ? { file } : {}), baseDir, domains };
}

function buildDomain(d: RawDomain, root: Governed, baseDir: string, source: SourceOf, path: PathSegment[]): TopologyDomain {
  const gov = govern(root, d, baseDir);
  const defined = new Map<string, TopologySubslice>();
  const slices: TopologySlice[] = d.slices.map((s, si) => {
    const sgov = govern(gov, s, baseDir);
    const spath = [...path, 'slices', si];
    const subslices: (TopologySubslice | string)[] = s.subslices.map((ss, ssi) => {
      if (ss.ref !== undefined) return ss.ref;
      const built = buildSubslice(ss, s, sgov, baseDir, source, [...spath, 'subslices', ssi]);
      defined.set(built.id, built);
      return built;
    });
    return {
      id: s.id,
      ...(s.service ? { service: s.service } : {}),
      isolation: s.isolation ?? 'dedicated',
      spans: s.spans ?? [],
      subslices: subslices as TopologySubslice[],
      ...sgov,
      source: source(spath),
    };
  });
  // resolve `ref:` entries to the defining slice's object
  for (const slice of slices) {
    slice.subslices = slice.subslices.map((entry) => {
      if (typeof entry !== 'string') return entry;
      const target = defined.get(entry)!;
      target.sharedWith.push(slice.id);
      return target;
    });
  }
  return {
    id: d.id,
    ...(d.name !== undefined ? { name: d.name } : {}),
    ...(d.location !== undefined ? { location: d.location } : {}),
    trustedDomains: d.trustedDomains ?? [],
    slices,
    ...gov,
    source: source(path),
  };
}

function buildSubslice(
  ss: RawSubslice,
  slice: RawSlice,
  parent: Governed,
  baseDir: string,
  source: SourceOf,
  path: PathSegment[],
): TopologySubslice {
  const gov = govern(parent, ss, baseDir);
  return {
    id: ss.id!,
    kind: ss.kind!,
    isolation: ss.isolation ?? 'dedicated',
    definedIn: slice.id,
    sharedWith: [],
    nfs: (ss.nfs ?? []).map((nf, ni) => buildNf(nf, gov, baseDir, source, [...path, 'nfs', ni])),
    ...gov,
    source: source(path),
  };
}

function buildNf(nf: RawNf, parent: Governed, baseDir: string, source: SourceOf, path: PathSegment[]): TopologyNf {
  if (!isNfType(nf.type)) throw new Error(`unreachable: NF type ${nf.type} passed validation`);
  const min = nf.replicas?.min ?? 1;
  const initial = nf.replicas?.initial ?? min;
  const max = nf.replicas?.max ?? Math.max(min, initial);
  return {
    id: nf.id,
    type: nf.type,
    kind: nf.kind ?? 'cnf',
    metrics: nf.metrics ? [...nf.metrics] : [...NF_CATALOGUE[nf.type].metrics],
    replicas: { min, max, initial },
    ...(nf.location !== undefined ? { location: nf.location } : {}),
    ...(nf.chain !== undefined ? { chain: [...nf.chain] } : {}),
    ...(nf.exporter !== undefined ? { exporter: { url: nf.exporter.url } } : {}),
    ...govern(parent, nf, baseDir),
    source: source(path),
  };
}
