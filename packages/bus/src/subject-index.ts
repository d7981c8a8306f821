interface Node<T> {
  literal: Map<string, Node<T>>;
  star?: Node<T>;
  /** Items subscribed with `>` at this depth. */
  tail: Set<T>;
  /** Items whose pattern ends exactly here. */
  here: Set<T>;
}

function node<T>(): Node<T> {
  return { literal: new Map(), tail: new Set(), here: new Set() };
}

/**
 * A subject trie like nats-server's sublist: literal tokens are indexed, `*` and `>` are branches,
 * so matching a subject costs O(tokens × wildcard branches), not O(subscriptions).
 */
export class SubjectIndex<T> {
  private readonly root: Node<T> = node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(pattern: string, item: T): void {
    const tokens = pattern.split('.');
    let n = this.root;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === '>') {
        n.tail.add(item);
        this.count++;
        return;
      }
      let next: Node<T> | undefined;
      if (t === '*') {
        if (!n.star) n.star = node();
        next = n.star;
      } else {
        next = n.literal.get(t);
        if (!next) n.literal.set(t, (next = node()));
      }
      n = next;
    }
    n.here.add(item);
    this.count++;
  }

  remove(pattern: string, item: T): boolean {
    const tokens = pattern.split('.');
    const path: Array<[Node<T>, string]> = [];
    let n: Node<T> | undefined = this.root;
    for (let i = 0; i < tokens.length && n; i++) {
      const t = tokens[i];
      if (t === '>') {
        const removed = n.tail.delete(item);
        if (removed) this.count--;
        this.prune(path, n);
        return removed;
      }
      path.push([n, t]);
      n = t === '*' ? n.star : n.literal.get(t);
    }
    if (!n) return false;
    const removed = n.here.delete(item);
    if (removed) this.count--;
    this.prune(path, n);
    return removed;
  }

  private prune(path: Array<[Node<T>, string]>, leaf: Node<T>): void {
    let child = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (child.here.size > 0 || child.tail.size > 0 || child.literal.size > 0 || child.star) return;
      const [parent, t] = path[i];
      if (t === '*') parent.star = undefined;
      else parent.literal.delete(t);
      child = parent;
    }
  }

  /** Every item whose pattern matches `subject` (appended to `out`). */
  match(subject: string, out: T[] = []): T[] {
    this.walk(this.root, subject.split('.'), 0, out);
    return out;
  }

  private walk(n: Node<T>, tokens: string[], i: number, out: T[]): void {
    if (i === tokens.length) {
      for (const item of n.here) out.push(item);
      return;
    }
    for (const item of n.tail) out.push(item);
    const lit = n.literal.get(tokens[i]);
    if (lit) this.walk(lit, tokens, i + 1, out);
    if (n.star) this.walk(n.star, tokens, i + 1, out);
  }
}
