import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;

/** `['domains', 0, 'slices', 1, 'id']` → `domains[0].slices[1].id` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export interface Position {
  line: number;
  column: number;
}

/**
 * Finds where `path` sits in the YAML document. With `key: true` the position of the mapping key is
 * preferred (unknown fields); when the path does not exist (missing fields) the deepest existing
 * ancestor is used, so the user lands on the object that needs the field.
 */
export function locate(doc: Document, counter: LineCounter, path: readonly PathSegment[], options: { key?: boolean } = {}): Position {
  let node: unknown = doc.contents;
  let best: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      const keyNode = isScalar(pair.key) ? (pair.key as Node) : undefined;
      const valueNode = (pair.value as Node | null) ?? undefined;
      if (last && options.key && keyNode) {
        best = keyNode;
        break;
      }
      best = valueNode?.range ? valueNode : (keyNode ?? best);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      best = item;
      node = item;
    } else {
      break;
    }
  }
  const offset = best?.range?.[0] ?? 0;
  const pos = counter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
