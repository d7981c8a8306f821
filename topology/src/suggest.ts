/** Edit distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost));
    }
    prev = cur;
  }
  return prev[n];
}

/**
 * The known names closest to `value` (at most `limit`), nearest first. Names within a distance of
 * about a third of their length, or that share a prefix, count as near.
 */
export function nearest(value: string, known: readonly string[], limit = 3): string[] {
  const v = value.toLowerCase();
  return known
    .map((name) => {
      const d = editDistance(v, name.toLowerCase());
      const prefix = name.toLowerCase().startsWith(v.slice(0, 2)) && v.length >= 2 ? 0.5 : 0;
      return { name, score: d - prefix, near: d <= Math.max(2, Math.ceil(name.length / 3)) || prefix > 0 };
    })
    .filter((c) => c.near)
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((c) => c.name);
}

/** "did you mean "x"?" or "" */
export function didYouMean(value: string, known: readonly string[]): string {
  const near = nearest(value, known);
  if (near.length === 0) return '';
  return `did you mean ${near.map((n) => `"${n}"`).join(' or ')}?`;
}
