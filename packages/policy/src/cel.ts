import { Environment } from '@marcbachmann/cel-js';
import type { TrustView } from '@sliceguard/core';

/**
 * CEL support: one Environment per compiled policy set. Conditions are type-checked at load time
 * (unknown variables, wrong overloads, syntax) and evaluated synchronously at decision time.
 *
 * Functions that need the current event or trust view (`contribution`, `trust`, `quarantined`)
 * read a per-environment slot that the engine fills just before a synchronous evaluation; the slot
 * belongs to this environment object, not to the module.
 */
export interface EvaluationSlot {
  contributions: Record<string, number>;
  trust?: TrustView;
}

export interface CelRuntime {
  readonly env: Environment;
  readonly slot: EvaluationSlot;
}

/** Variables every condition and template sees (documented in docs/policy.md). */
export const CEL_VARIABLES: Record<string, string> = {
  event: 'map',
  facts: 'map',
  knowledge: 'map',
  topology: 'map',
  indicators: 'map',
  agent: 'map',
  now: 'double',
  item: 'dyn',
  index: 'double',
};

export function createCelRuntime(): CelRuntime {
  const slot: EvaluationSlot = { contributions: {} };
  const env = new Environment({ homogeneousAggregateLiterals: false, enableOptionalTypes: true });
  for (const [name, type] of Object.entries(CEL_VARIABLES)) env.registerVariable(name, type);
  // JSON numbers are CEL doubles; let `event.count + 1` and `now - 5000` work without `1.0`.
  for (const op of ['+', '-', '*', '/'] as const) {
    env.registerOperator(`double ${op} int`, (a: number, b: bigint) => arith(op, a, Number(b)));
    env.registerOperator(`int ${op} double`, (a: bigint, b: number) => arith(op, Number(a), b));
  }
  env.registerFunction('contribution(string): double', (metric: string) => slot.contributions[metric] ?? 0);
  env.registerFunction('trust(string): double', (agentId: string) => slot.trust?.score(agentId) ?? 0.5);
  env.registerFunction('quarantined(string): bool', (agentId: string) => slot.trust?.isQuarantined(agentId) ?? false);
  env.registerFunction('ms(string): double', (text: string) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
    if (!m) throw new Error(`bad duration "${text}" (use 500ms, 30s, 10m, 1h, 2d)`);
    const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    return Number(m[1]) * unit[m[2]];
  });
  return { env, slot };
}

function arith(op: '+' | '-' | '*' | '/', a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
  }
}

export interface CompiledExpression {
  source: string;
  evaluate(activation: Record<string, unknown>): unknown;
}

export interface CelCompileError {
  message: string;
  /** Offset of the problem inside the expression text. */
  offset: number;
}

/** Compiles and type-checks an expression; returns the compiled form or the first error. */
export function compileExpression(
  runtime: CelRuntime,
  source: string,
  expect: 'bool' | 'list' | 'any',
): CompiledExpression | CelCompileError {
  const checked = runtime.env.check(source);
  if (!checked.valid) {
    const err = checked.error as { message?: string; summary?: string; range?: { start: number } } | undefined;
    return { message: firstLine(err?.summary ?? err?.message ?? 'invalid expression'), offset: err?.range?.start ?? 0 };
  }
  const type = String(checked.type ?? 'dyn');
  if (expect === 'bool' && type !== 'bool' && type !== 'dyn') {
    return { message: `condition must be a boolean, this expression is a ${type}`, offset: 0 };
  }
  if (expect === 'list' && !type.startsWith('list') && type !== 'dyn') {
    return { message: `forEach must be a list, this expression is a ${type}`, offset: 0 };
  }
  let program: (ctx: Record<string, unknown>) => unknown;
  try {
    program = runtime.env.parse(source) as unknown as (ctx: Record<string, unknown>) => unknown;
  } catch (err) {
    const e = err as { message?: string; summary?: string; range?: { start: number } };
    return { message: firstLine(e.summary ?? e.message ?? String(err)), offset: e.range?.start ?? 0 };
  }
  return { source, evaluate: (activation) => normalize(program(activation)) };
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** CEL ints are bigints; actions and params use plain JSON numbers. */
export function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = normalize(v);
    return out;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v);
    return out;
  }
  return value;
}

export function isCompileError<T extends object>(x: T | CelCompileError): x is CelCompileError {
  return typeof (x as CelCompileError).offset === 'number' && typeof (x as CelCompileError).message === 'string';
}

/**
 * A string with `${expr}` parts. A string that is exactly one `${expr}` yields the expression's value
 * (list, number…); otherwise the parts are joined as text.
 */
export interface CompiledTemplate {
  source: string;
  /** True when the template has no expression (a literal string). */
  literal: boolean;
  render(activation: Record<string, unknown>): unknown;
}

export interface TemplatePart {
  text?: string;
  expression?: string;
  /** Offset of the expression text within the template. */
  offset: number;
}

/** Splits `${...}` parts, honouring nested braces and quoted strings inside expressions. */
export function splitTemplate(source: string): TemplatePart[] | CelCompileError {
  const parts: TemplatePart[] = [];
  let i = 0;
  let text = '';
  let textStart = 0;
  while (i < source.length) {
    if (source[i] === '$' && source[i + 1] === '{') {
      if (text) parts.push({ text, offset: textStart });
      text = '';
      let depth = 1;
      let j = i + 2;
      let quote: string | undefined;
      for (; j < source.length; j++) {
        const c = source[j];
        if (quote) {
          if (c === '\\') j++;
          else if (c === quote) quote = undefined;
          continue;
        }
        if (c === '"' || c === "'") quote = c;
        else if (c === '{') depth++;
        else if (c === '}' && --depth === 0) break;
      }
      if (depth !== 0) return { message: `unterminated \${ in template (missing })`, offset: i };
      const expression = source.slice(i + 2, j);
      if (!expression.trim()) return { message: `empty \${} in template`, offset: i };
      parts.push({ expression, offset: i + 2 });
      i = j + 1;
      textStart = i;
      continue;
    }
    text += source[i];
    i++;
  }
  if (text) parts.push({ text, offset: textStart });
  return parts;
}

export function compileTemplate(runtime: CelRuntime, source: string): CompiledTemplate | CelCompileError {
  const parts = splitTemplate(source);
  if (!Array.isArray(parts)) return parts;
  const compiled: Array<{ text?: string; expr?: CompiledExpression }> = [];
  for (const p of parts) {
    if (p.expression === undefined) {
      compiled.push({ text: p.text });
      continue;
    }
    const expr = compileExpression(runtime, p.expression, 'any');
    if (isCompileError(expr)) return { message: expr.message, offset: p.offset + expr.offset };
    compiled.push({ expr });
  }
  if (compiled.length === 0 || compiled.every((c) => c.expr === undefined)) {
    return { source, literal: true, render: () => source };
  }
  if (compiled.length === 1 && compiled[0].expr) {
    const only = compiled[0].expr;
    return { source, literal: false, render: (a) => only.evaluate(a) };
  }
  return {
    source,
    literal: false,
    render: (a) =>
      compiled
        .map((c) => {
          if (c.text !== undefined) return c.text;
          const v = c.expr!.evaluate(a);
          return typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : JSON.stringify(v);
        })
        .join(''),
  };
}
