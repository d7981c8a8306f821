import { decodeJson, encodeJson } from '@sliceguard/core';

/** How a repository turns its values into bytes and back (lodestar's Repository keeps one per bucket). */
export interface Encoding<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** UTF-8 JSON, the default encoding. */
export function jsonEncoding<T>(): Encoding<T> {
  return { encode: (v) => encodeJson(v), decode: (b) => decodeJson<T>(b) };
}

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped, non-finite numbers
 * refused (JSON would silently turn them into null, which would change what was hashed).
 */
export function canonicalJson(value: unknown): string {
  return canon(value, '$');
}

function canon(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not a finite number`);
      return JSON.stringify(value);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => (v === undefined ? 'null' : canon(v, `${path}[${i}]`))).join(',')}]`;
      if (ArrayBuffer.isView(value)) throw new TypeError(`${path}: typed arrays are not JSON; convert to an array or hex first`);
      const obj = value as Record<string, unknown>;
      if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return canon((obj as { toJSON(): unknown }).toJSON(), path);
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canon(obj[k], `${path}.${k}`)}`).join(',')}}`;
    }
    case 'undefined':
      return 'null';
    default:
      throw new TypeError(`${path}: ${typeof value} is not JSON`);
  }
}
