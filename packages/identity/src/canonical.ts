import { InvalidInputError } from '@sliceguard/core';

/**
 * Canonical JSON: what sliceguard signs. Objects have their keys sorted by UTF-16 code units
 * (JavaScript's default sort), `undefined` members are omitted, no whitespace, strings as
 * JSON.stringify writes them, numbers must be safe integers (no floats, NaN or -0 ambiguity).
 * The same value always yields the same bytes, whatever order its keys were built in.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new InvalidInputError(`canonical JSON allows only safe integers, got ${value} at ${path}`, { field: path });
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(obj[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new InvalidInputError(`canonical JSON cannot encode a ${typeof value} at ${path}`, { field: path });
  }
}
