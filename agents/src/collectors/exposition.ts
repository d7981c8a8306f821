import { ExpositionParseError } from '../errors.js';

/**
 * A parser for the Prometheus text exposition format (version 0.0.4, and the subset of OpenMetrics
 * text that exporters commonly emit: `# EOF`, `_created` series). No maintained npm parser exists
 * (parse-prometheus-text-format was last released in 2019), so this is a small, strict one:
 *
 *   # HELP <name> <docstring>
 *   # TYPE <name> counter|gauge|histogram|summary|untyped|info|stateset|gaugehistogram|unknown
 *   <name>{<label>="<value>",...} <value> [<timestamp ms>]
 *
 * Label values may contain the escapes \\, \" and \n; values may be NaN, +Inf, -Inf. A malformed
 * line is an ExpositionParseError naming the line (strict), or skipped and counted (lenient).
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ExpositionSample {
  /** Series name as written (e.g. `http_requests_total`, `latency_bucket`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface Exposition {
  samples: ExpositionSample[];
  /** Declared type per metric family name. */
  types: Map<string, MetricType>;
  help: Map<string, string>;
  /** Lines skipped in lenient mode. */
  skipped: { line: number; reason: string }[];
}

export interface ParseExpositionOptions {
  /** Throw on the first bad line (default) or skip and report it in `skipped`. */
  strict?: boolean;
  /** Name used in error messages (URL or file). */
  source?: string;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES: Record<string, MetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'untyped',
  unknown: 'untyped',
  info: 'gauge',
  stateset: 'gauge',
  gaugehistogram: 'histogram',
};

function parseValue(text: string): number | undefined {
  switch (text) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text) && !/^[-+]?0[xX][0-9a-fA-F]+$/.test(text)) return undefined;
  const v = Number(text);
  return Number.isNaN(v) ? undefined : v;
}

/** Parses `{a="x",b="y"}` starting at `i` (the `{`); returns labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | string {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const skipSpaces = (): void => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  skipSpaces();
  if (line[i] === '}') return { labels, end: i + 1 };
  for (;;) {
    skipSpaces();
    const m = LABEL_NAME.exec(line.slice(i));
    if (!m) return `expected a label name at column ${i + 1}`;
    const name = m[0];
    i += name.length;
    skipSpaces();
    if (line[i] !== '=') return `expected '=' after label ${name} at column ${i + 1}`;
    i++;
    skipSpaces();
    if (line[i] !== '"') return `expected '"' to open the value of label ${name} at column ${i + 1}`;
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return `unterminated value of label ${name}`;
      if (c === '\\') {
        const n = line[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else return `invalid escape \\${n ?? ''} in label ${name} at column ${i + 1} (only \\\\, \\" and \\n are allowed)`;
        i += 2;
        continue;
      }
      if (c === '"') {
        i++;
        break;
      }
      value += c;
      i++;
    }
    if (Object.hasOwn(labels, name)) return `label ${name} appears twice`;
    labels[name] = value;
    skipSpaces();
    if (line[i] === ',') {
      i++;
      skipSpaces();
      if (line[i] === '}') return { labels, end: i + 1 };
      continue;
    }
    if (line[i] === '}') return { labels, end: i + 1 };
    return `expected ',' or '}' after label ${name} at column ${i + 1}`;
  }
}

export function parseExposition(text: string, options: ParseExpositionOptions = {}): Exposition {
  const strict = options.strict ?? true;
  const out: Exposition = { samples: [], types: new Map(), help: new Map(), skipped: [] };
  const lines = text.split('\n');
  const fail = (lineNo: number, reason: string, raw: string): void => {
    if (strict) throw new ExpositionParseError(reason, { line: lineNo, source: options.source, text: raw.slice(0, 200) });
    out.skipped.push({ line: lineNo, reason });
  };
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n].endsWith('\r') ? lines[n].slice(0, -1) : lines[n];
    const line = raw.trim();
    const lineNo = n + 1;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // a plain comment (or `# EOF`)
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name) {
        fail(lineNo, `invalid metric name "${name}" in # ${kind}`, raw);
        continue;
      }
      if (kind === 'TYPE') {
        const t = TYPES[rest.trim()];
        if (!t) {
          fail(lineNo, `unknown metric type "${rest.trim()}" for ${name} (expected counter, gauge, histogram, summary or untyped)`, raw);
          continue;
        }
        out.types.set(name, t);
      } else {
        out.help.set(name, rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
      }
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) {
      fail(lineNo, 'expected a metric name (letters, digits, _ and :, not starting with a digit)', raw);
      continue;
    }
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i);
      if (typeof parsed === 'string') {
        fail(lineNo, parsed, raw);
        continue;
      }
      labels = parsed.labels;
      i = parsed.end;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length === 0 || rest[0] === '') {
      fail(lineNo, `missing value for ${name}`, raw);
      continue;
    }
    if (rest.length > 2 && !rest[2].startsWith('#')) {
      fail(lineNo, `unexpected text after the value of ${name}: "${rest.slice(2).join(' ')}"`, raw);
      continue;
    }
    const value = parseValue(rest[0]);
    if (value === undefined) {
      fail(lineNo, `value "${rest[0]}" of ${name} is not a number (use a float, NaN, +Inf or -Inf)`, raw);
      continue;
    }
    const sample: ExpositionSample = { name, labels, value };
    if (rest.length >= 2 && !rest[1].startsWith('#')) {
      const ts = Number(rest[1]);
      if (!Number.isFinite(ts)) {
        fail(lineNo, `timestamp "${rest[1]}" of ${name} is not a number`, raw);
        continue;
      }
      sample.timestampMs = ts;
    }
    out.samples.push(sample);
  }
  return out;
}

/** The family a series belongs to (histogram/summary suffixes stripped when the family is typed). */
export function familyOf(name: string, types: ReadonlyMap<string, MetricType>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return name;
}
