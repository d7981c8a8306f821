import type { ActionOutcome, ActionRequest, Clock } from '@sliceguard/core';
import { InvalidActionParamsError } from './errors.js';
import { outcomeOf, type UndoableActuator } from './interface.js';

export type FilterAction = 'block' | 'allow' | 'rate_limit';

export interface FilterRule {
  id: string;
  /** NF id the rule protects, or `*` for every target. */
  target: string;
  /** Exact address, prefix ending in `*` (`10.0.*`), or IPv4 CIDR (`10.0.0.0/8`); absent = any source. */
  source?: string;
  /** Exact path or prefix ending in `*` (`/video/*`); absent = any path. */
  path?: string;
  action: FilterAction;
  /** rate_limit: requests per second admitted for the traffic the rule matches. */
  rps?: number;
  /** rate_limit: bucket size (default = rps). */
  burst?: number;
  createdAt: number;
  expiresAt?: number;
  requestId?: string;
  requestedBy?: string;
}

export interface FilterVerdict {
  action: FilterAction | 'none';
  ruleId?: string;
  rps?: number;
}

/**
 * Per-target traffic rules (block, allow, rate limit) with expiry, and the query API the
 * simulations' traffic models obey. Precedence when several rules match: allow > block > the
 * lowest rate limit. `admit` is per request (token bucket per rule); `admittedFraction` is for
 * fluid models that move rates, not requests.
 */
export interface TrafficFilter extends UndoableActuator {
  addRule(rule: Omit<FilterRule, 'id' | 'createdAt'> & { id?: string }): FilterRule;
  removeRule(id: string): boolean;
  rules(target?: string): FilterRule[];
  verdict(target: string, source: string, path?: string, now?: number): FilterVerdict;
  /** One request: true if it passes. Consumes a token of a matching rate limit. */
  admit(target: string, source: string, path?: string, now?: number): boolean;
  /** Share (0..1) of `offeredRps` from this source/path that passes. */
  admittedFraction(target: string, source: string, path: string | undefined, offeredRps: number, now?: number): number;
  stats(): { admitted: number; dropped: number; rules: number };
}

export interface TrafficFilterOptions {
  clock: Clock;
  name?: string;
}

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function sourceMatches(pattern: string | undefined, source: string): boolean {
  if (pattern === undefined || pattern === '*') return true;
  if (pattern.endsWith('*')) return source.startsWith(pattern.slice(0, -1));
  const slash = pattern.indexOf('/');
  if (slash > 0) {
    const net = ipv4(pattern.slice(0, slash));
    const bits = Number(pattern.slice(slash + 1));
    const addr = ipv4(source);
    if (net === undefined || addr === undefined || !(bits >= 0 && bits <= 32)) return false;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (net & mask) === (addr & mask);
  }
  return pattern === source;
}

function pathMatches(pattern: string | undefined, path: string | undefined): boolean {
  if (pattern === undefined || pattern === '*') return true;
  if (path === undefined) return false;
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  return pattern === path;
}

function validPattern(source: string): boolean {
  if (source.includes('/')) {
    const [net, bits] = source.split('/');
    return ipv4(net) !== undefined && /^\d+$/.test(bits) && Number(bits) <= 32;
  }
  return source.length > 0 && source.length <= 256;
}

interface TargetRules {
  /** Rules whose source is one exact address, by address. */
  exact: Map<string, FilterRule[]>;
  /** Rules with a prefix / CIDR / no source. */
  patterns: FilterRule[];
}

function isExactSource(source: string | undefined): source is string {
  return source !== undefined && source !== '*' && !source.endsWith('*') && !source.includes('/');
}

export function createTrafficFilter(options: TrafficFilterOptions): TrafficFilter {
  const { clock } = options;
  const rules = new Map<string, FilterRule>();
  // index: target → exact sources / patterns, so a verdict looks at the rules that can match only
  const index = new Map<string, TargetRules>();
  const byRequest = new Map<string, string>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  let nextExpiry = Number.POSITIVE_INFINITY;
  let nextId = 1;
  let admitted = 0;
  let dropped = 0;

  const indexRule = (r: FilterRule): void => {
    let t = index.get(r.target);
    if (!t) {
      t = { exact: new Map(), patterns: [] };
      index.set(r.target, t);
    }
    if (isExactSource(r.source)) {
      const list = t.exact.get(r.source);
      if (list) list.push(r);
      else t.exact.set(r.source, [r]);
    } else t.patterns.push(r);
  };
  const unindexRule = (r: FilterRule): void => {
    const t = index.get(r.target);
    if (!t) return;
    if (isExactSource(r.source)) {
      const list = t.exact.get(r.source)?.filter((x) => x !== r) ?? [];
      if (list.length) t.exact.set(r.source, list);
      else t.exact.delete(r.source);
    } else t.patterns = t.patterns.filter((x) => x !== r);
  };
  const removeRule = (id: string): boolean => {
    const r = rules.get(id);
    if (!r) return false;
    rules.delete(id);
    buckets.delete(id);
    unindexRule(r);
    if (r.requestId && byRequest.get(r.requestId) === id) byRequest.delete(r.requestId);
    return true;
  };
  /** Drops expired rules; cheap unless a rule is due. */
  const sweep = (now: number): void => {
    if (now < nextExpiry) return;
    nextExpiry = Number.POSITIVE_INFINITY;
    for (const r of [...rules.values()]) {
      if (r.expiresAt === undefined) continue;
      if (r.expiresAt <= now) removeRule(r.id);
      else nextExpiry = Math.min(nextExpiry, r.expiresAt);
    }
  };
  const live = (now: number): FilterRule[] => {
    sweep(now);
    return [...rules.values()];
  };

  const verdict = (target: string, source: string, path: string | undefined, now: number): FilterVerdict => {
    sweep(now);
    let block: FilterRule | undefined;
    let limit: FilterRule | undefined;
    for (const t of [index.get(target), target === '*' ? undefined : index.get('*')]) {
      if (!t) continue;
      for (const list of [t.exact.get(source), t.patterns]) {
        if (!list) continue;
        for (const r of list) {
          if (!sourceMatches(r.source, source) || !pathMatches(r.path, path)) continue;
          if (r.action === 'allow') return { action: 'allow', ruleId: r.id };
          if (r.action === 'block') block ??= r;
          else if (!limit || (r.rps ?? 0) < (limit.rps ?? 0)) limit = r;
        }
      }
    }
    if (block) return { action: 'block', ruleId: block.id };
    if (limit) return { action: 'rate_limit', ruleId: limit.id, rps: limit.rps };
    return { action: 'none' };
  };

  const addRule: TrafficFilter['addRule'] = (rule) => {
    if (!['block', 'allow', 'rate_limit'].includes(rule.action)) throw new InvalidActionParamsError(`unknown filter action ${rule.action}`);
    if (rule.action === 'rate_limit' && !(typeof rule.rps === 'number' && rule.rps > 0)) {
      throw new InvalidActionParamsError(`rate_limit needs a positive rps, got ${JSON.stringify(rule.rps)}`);
    }
    if (rule.source !== undefined && !validPattern(rule.source)) throw new InvalidActionParamsError(`invalid source pattern "${rule.source}"`);
    const full: FilterRule = { ...rule, id: rule.id ?? `rule-${nextId++}`, createdAt: clock.now() };
    if (rules.has(full.id)) removeRule(full.id);
    rules.set(full.id, full);
    indexRule(full);
    if (full.expiresAt !== undefined) nextExpiry = Math.min(nextExpiry, full.expiresAt);
    if (full.requestId) byRequest.set(full.requestId, full.id);
    return full;
  };

  const filter: TrafficFilter = {
    name: options.name ?? 'traffic-filter',
    handles: ['block', 'allow', 'rate_limit'] as const,
    async execute(request: ActionRequest): Promise<ActionOutcome> {
      const now = clock.now();
      const existing = byRequest.get(request.id);
      if (existing && rules.has(existing)) return outcomeOf(request, 'succeeded', now, 'rule already installed', { ruleId: existing });
      const p = request.params;
      try {
        for (const k of ['source', 'path'] as const) {
          if (p[k] !== undefined && typeof p[k] !== 'string') throw new InvalidActionParamsError(`params.${k} must be a string`);
        }
        if (request.type !== 'rate_limit' && p.source === undefined && p.path === undefined) {
          throw new InvalidActionParamsError(`${request.type} needs params.source or params.path`);
        }
        const rule = addRule({
          target: request.target,
          source: p.source as string | undefined,
          path: p.path as string | undefined,
          action: request.type as FilterAction,
          rps: p.rps as number | undefined,
          burst: typeof p.burst === 'number' ? p.burst : undefined,
          expiresAt: request.expiresAt,
          requestId: request.id,
          requestedBy: request.requestedBy,
        });
        return outcomeOf(request, 'succeeded', now, undefined, { ruleId: rule.id, rules: rules.size });
      } catch (err) {
        return outcomeOf(request, 'rejected', now, (err as Error).message);
      }
    },
    async undo(request, outcome) {
      const id = (outcome.result?.ruleId as string | undefined) ?? byRequest.get(request.id);
      const removed = id !== undefined && removeRule(id);
      return outcomeOf(request, 'expired', clock.now(), removed ? `rule ${id} removed` : 'rule already gone', { ruleId: id });
    },
    addRule,
    removeRule,
    rules: (target) => live(clock.now()).filter((r) => target === undefined || r.target === target || r.target === '*'),
    verdict: (target, source, path, now = clock.now()) => verdict(target, source, path, now),
    admit(target, source, path, now = clock.now()) {
      const v = verdict(target, source, path, now);
      let ok = v.action !== 'block';
      if (v.action === 'rate_limit') {
        const rule = rules.get(v.ruleId!)!;
        const cap = rule.burst ?? rule.rps!;
        const b = buckets.get(rule.id) ?? { tokens: cap, at: now };
        b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * rule.rps!);
        b.at = now;
        ok = b.tokens >= 1;
        if (ok) b.tokens -= 1;
        buckets.set(rule.id, b);
      }
      if (ok) admitted++;
      else dropped++;
      return ok;
    },
    admittedFraction(target, source, path, offeredRps, now = clock.now()) {
      const v = verdict(target, source, path, now);
      if (v.action === 'block') return 0;
      if (v.action === 'rate_limit' && offeredRps > 0) return Math.min(1, v.rps! / offeredRps);
      return 1;
    },
    stats: () => ({ admitted, dropped, rules: live(clock.now()).length }),
  };
  return filter;
}
