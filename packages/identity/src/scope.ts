import { subjectMatches } from '@sliceguard/core';

/**
 * Does a pattern `inner` only ever match subjects that `outer` matches? Used to check that a
 * credential's scopes stay inside its root's authority.
 */
export function patternWithin(inner: string, outer: string): boolean {
  const a = inner.split('.');
  const b = outer.split('.');
  for (let i = 0; i < b.length; i++) {
    const o = b[i];
    if (o === '>') return a.length > i;
    if (i >= a.length) return false;
    const t = a[i];
    if (t === '>') return false;
    if (o === '*') continue;
    if (t === '*' || t !== o) return false;
  }
  return a.length === b.length;
}

/** Subject within any of the patterns. */
export function subjectInScopes(scopes: readonly string[], subject: string): boolean {
  for (const s of scopes) if (subjectMatches(s, subject)) return true;
  return false;
}
