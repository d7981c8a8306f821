import type { ActionRequest } from '@sliceguard/core';
import type { ActionStep, ParamTemplate, Policy, PolicyScope, PolicyTrigger } from './model.js';
import { SCOPE_KEYS } from './model.js';

export const CONFLICT_KINDS = ['scale_direction', 'block_allow', 'rate_limit_mismatch', 'vsf_deploy_remove'] as const;
export type ConflictKind = (typeof CONFLICT_KINDS)[number];

export interface ConflictSide {
  policyId: string;
  file: string;
  line: number;
  column: number;
  /** Field path of the contradicting action, e.g. `policies[3].do[0]`. */
  path: string;
  priority: number;
  priorityExplicit: boolean;
  action: string;
}

export interface PolicyConflict {
  kind: ConflictKind;
  /** The shared target (and source/path) as written in the policies. */
  target: string;
  a: ConflictSide;
  b: ConflictSide;
  /** True when both priorities are explicit and differ; `winner` then names the higher one. */
  resolved: boolean;
  winner?: string;
  message: string;
}

const DESCRIBE: Record<ConflictKind, string> = {
  scale_direction: 'scale out vs scale in',
  block_allow: 'block vs allow of the same source',
  rate_limit_mismatch: 'two different rate limits',
  vsf_deploy_remove: 'deploy vs remove of the same VSF',
};

function intersects(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return true;
  return a.some((x) => b.includes(x));
}

export function scopesOverlap(a: PolicyScope, b: PolicyScope): boolean {
  return SCOPE_KEYS.every((k) => intersects(a[k], b[k]));
}

export function triggersOverlap(a: PolicyTrigger, b: PolicyTrigger): boolean {
  if (a.event !== b.event) return false;
  const keys = ['level', 'kind', 'name', 'action', 'metric', 'to', 'from', 'subject', 'target', 'source'] as const;
  if (!keys.every((k) => intersects(a[k], b[k]))) return false;
  const lo = Math.max(a.minSeverity ?? 0, b.minSeverity ?? 0);
  const hi = Math.min(a.maxSeverity ?? 1, b.maxSeverity ?? 1);
  return lo <= hi;
}

function paramText(step: ActionStep, key: string): string | undefined {
  const p = step.compiledParams;
  if (p.kind === 'literal') {
    const v = (p.value as Record<string, unknown> | undefined)?.[key];
    return v === undefined ? undefined : JSON.stringify(v);
  }
  if (p.kind !== 'map') return undefined;
  const entry = p.entries.find(([k]) => k === key);
  return entry ? templateText(entry[1]) : undefined;
}

function templateText(p: ParamTemplate): string {
  switch (p.kind) {
    case 'literal':
      return JSON.stringify(p.value);
    case 'template':
      return p.template.source;
    case 'list':
      return `[${p.items.map(templateText).join(',')}]`;
    case 'map':
      return `{${p.entries.map(([k, v]) => `${k}:${templateText(v)}`).join(',')}}`;
  }
}

/** The target an action step acts on, as written (two steps with the same text act on the same thing). */
function stepTarget(step: ActionStep): string {
  const target = step.target?.source ?? '$' + '{event.target}';
  return step.forEach ? `${target} for each ${step.forEach.source}` : target;
}

/** Static contradiction between two action steps (as written), or undefined. */
export function stepsContradict(a: ActionStep, b: ActionStep): ConflictKind | undefined {
  if (stepTarget(a) !== stepTarget(b)) return undefined;
  const pair = new Set([a.action, b.action]);
  if (pair.has('scale_out') && pair.has('scale_in')) return 'scale_direction';
  const sameFlow = paramText(a, 'source') === paramText(b, 'source') && paramText(a, 'path') === paramText(b, 'path');
  if (pair.has('block') && pair.has('allow') && sameFlow) return 'block_allow';
  if (a.action === 'rate_limit' && b.action === 'rate_limit' && sameFlow && paramText(a, 'rps') !== paramText(b, 'rps')) {
    return 'rate_limit_mismatch';
  }
  if (pair.has('deploy_vsf') && pair.has('remove_vsf') && paramText(a, 'vsf') === paramText(b, 'vsf')) return 'vsf_deploy_remove';
  return undefined;
}

/** Run-time contradiction between two concrete actions (values already evaluated), or undefined. */
export function actionsContradict(a: ActionRequest, b: ActionRequest): ConflictKind | undefined {
  if (a.target !== b.target) return undefined;
  const pair = new Set([a.type, b.type]);
  if (pair.has('scale_out') && pair.has('scale_in')) return 'scale_direction';
  const sameFlow = a.params.source === b.params.source && a.params.path === b.params.path;
  if (pair.has('block') && pair.has('allow') && sameFlow) return 'block_allow';
  if (a.type === 'rate_limit' && b.type === 'rate_limit' && sameFlow && a.params.rps !== b.params.rps) return 'rate_limit_mismatch';
  if (pair.has('deploy_vsf') && pair.has('remove_vsf') && a.params.vsf === b.params.vsf) return 'vsf_deploy_remove';
  return undefined;
}

function side(policy: Policy, stepIndex: number): ConflictSide {
  const step = policy.do[stepIndex];
  return {
    policyId: policy.id,
    file: step.location.file,
    line: step.location.line,
    column: step.location.column,
    path: step.location.path,
    priority: policy.priority,
    priorityExplicit: policy.priorityExplicit,
    action: step.action,
  };
}

/**
 * Finds every pair of enabled policies whose scopes and triggers overlap and whose actions
 * contradict on the same target. A conflict is resolved only when both policies state a priority
 * explicitly and the priorities differ (the higher one wins at run time).
 */
export function detectConflicts(policies: readonly Policy[]): PolicyConflict[] {
  const byEvent = new Map<string, Policy[]>();
  for (const p of policies) {
    if (!p.enabled) continue;
    const list = byEvent.get(p.on.event) ?? [];
    list.push(p);
    byEvent.set(p.on.event, list);
  }
  const conflicts: PolicyConflict[] = [];
  for (const group of byEvent.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = group[i];
        const b = group[j];
        if (!triggersOverlap(a.on, b.on) || !scopesOverlap(a.scope, b.scope)) continue;
        a.do.forEach((sa, ia) => {
          b.do.forEach((sb, ib) => {
            const kind = stepsContradict(sa, sb);
            if (!kind) return;
            const resolved = a.priorityExplicit && b.priorityExplicit && a.priority !== b.priority;
            const winner = resolved ? (a.priority > b.priority ? a.id : b.id) : undefined;
            conflicts.push({
              kind,
              target: stepTarget(sa),
              a: side(a, ia),
              b: side(b, ib),
              resolved,
              winner,
              message: `${DESCRIBE[kind]} on ${stepTarget(sa)}: "${a.id}" and "${b.id}" overlap in scope and trigger${
                resolved ? `; resolved by priority, "${winner}" wins` : '; give both explicit, different priorities or narrow one of them'
              }`,
            });
          });
        });
      }
    }
  }
  return conflicts;
}
