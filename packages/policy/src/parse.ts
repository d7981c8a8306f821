import { ACTION_TYPES, AGENT_LEVELS, type ActionType, type AgentLevel, SUBSLICE_KINDS } from '@sliceguard/core';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar, type YAMLMap } from 'yaml';
import {
  type CelCompileError,
  type CelRuntime,
  type CompiledExpression,
  type CompiledTemplate,
  compileExpression,
  compileTemplate,
  createCelRuntime,
  isCompileError,
} from './cel.js';
import { parseDuration } from './duration.js';
import type { PolicyIssue, PolicyLocation } from './errors.js';
import {
  type ActionStep,
  EVENT_TYPES,
  type ParamTemplate,
  type Policy,
  type PolicyGuards,
  type PolicyScope,
  type PolicyTrigger,
  SCOPE_KEYS,
} from './model.js';

export const POLICY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const VSF_KINDS = ['vfirewall', 'vids', 'dpi'] as const;
export const MONITORING_MODES = ['aggregate', 'per_flow'] as const;

const POLICY_KEYS = ['id', 'description', 'scope', 'on', 'when', 'do', 'priority', 'guards', 'enabled'];
const STEP_KEYS = ['action', 'target', 'forEach', 'params', 'expiresIn'];
const GUARD_KEYS = ['cooldown', 'frequency', 'bounds', 'blocks', 'per'];
const COMMON_SELECTORS = ['event', 'minSeverity', 'maxSeverity', 'target', 'source'];
/** Selectors each event type accepts besides the common ones. */
export const TRIGGER_SELECTORS: Record<string, readonly string[]> = {
  anomaly: ['level', 'metric', 'indicator'],
  incident: ['level', 'kind', 'metric', 'indicator'],
  delegation: ['action', 'from'],
  management: ['kind'],
  timer: ['name', 'every'],
  ssla_violation: ['metric'],
  trust: ['to', 'from', 'subject'],
};

export interface ParseResult {
  policies: Policy[];
  issues: PolicyIssue[];
}

interface Ctx {
  file: string;
  text: string;
  lc: LineCounter;
  issues: PolicyIssue[];
  runtime: CelRuntime;
}

/** Parses and validates one policy file's text. Never throws for bad input: problems go to `issues`. */
export function parsePolicyText(text: string, file = '<text>', runtime: CelRuntime = createCelRuntime()): ParseResult {
  const lc = new LineCounter();
  const ctx: Ctx = { file, text, lc, issues: [], runtime };
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    ctx.issues.push({
      file,
      line: pos.line,
      column: pos.col,
      path: '',
      message: `YAML syntax: ${e.message.split('\n')[0]}`,
      hint: 'fix the YAML syntax (indentation, quoting, unbalanced brackets)',
      severity: 'error',
    });
  }
  if (doc.errors.length > 0) return { policies: [], issues: ctx.issues };
  const root = doc.contents as Node | null;
  let list: Node | undefined;
  if (root === null || root === undefined) {
    issue(ctx, undefined, '', 'the policy file is empty', 'add `policies:` with a list of policies');
    return { policies: [], issues: ctx.issues };
  }
  if (isSeq(root)) list = root;
  else if (isMap(root)) {
    checkKeys(ctx, root, '', ['version', 'policies']);
    const version = root.get('version', true) as Node | undefined;
    if (version !== undefined && !(isScalar(version) && version.value === 1)) {
      issue(ctx, version, 'version', `unsupported policy language version ${JSON.stringify(toJs(version))}`, 'use `version: 1`');
    }
    list = root.get('policies', true) as Node | undefined;
    if (!list) {
      issue(ctx, root, 'policies', 'missing `policies`', 'add `policies:` with a list of policies');
      return { policies: [], issues: ctx.issues };
    }
  } else {
    issue(ctx, root, '', 'a policy file is a map with `policies:` (or a list of policies)', 'see docs/policy.md');
    return { policies: [], issues: ctx.issues };
  }
  if (!isSeq(list)) {
    issue(ctx, list, 'policies', '`policies` must be a list', 'write each policy as a `- id: ...` item');
    return { policies: [], issues: ctx.issues };
  }
  const policies: Policy[] = [];
  const seen = new Map<string, PolicyLocation>();
  list.items.forEach((item, index) => {
    const path = `policies[${index}]`;
    const policy = parsePolicy(ctx, item as Node, path);
    if (!policy) return;
    const earlier = seen.get(policy.id);
    if (earlier) {
      issue(
        ctx,
        (item as YAMLMap).get('id', true) as Node,
        `${path}.id`,
        `duplicate policy id "${policy.id}" (first defined at line ${earlier.line})`,
        'policy ids must be unique',
      );
      return;
    }
    seen.set(policy.id, policy.location);
    policies.push(policy);
  });
  return { policies, issues: ctx.issues };
}

function parsePolicy(ctx: Ctx, node: Node, path: string): Policy | undefined {
  if (!isMap(node)) {
    issue(ctx, node, path, 'a policy must be a map', 'start it with `- id: my-policy`');
    return undefined;
  }
  const before = errorCount(ctx);
  checkKeys(ctx, node, path, POLICY_KEYS);
  const fieldLocations: Record<string, PolicyLocation> = {};
  for (const pair of node.items) {
    const key = String((pair.key as Scalar | null)?.value ?? '');
    fieldLocations[key] = location(ctx, (pair.value as Node) ?? (pair.key as Node), `${path}.${key}`);
  }
  const idNode = node.get('id', true) as Node | undefined;
  const id = requireString(ctx, idNode, `${path}.id`, node, 'give the policy an id such as `id: vcdn-nf-rate-limit`');
  if (id !== undefined && !POLICY_ID_PATTERN.test(id)) {
    issue(ctx, idNode, `${path}.id`, `invalid policy id "${id}"`, 'use letters, digits, `_`, `-` and `.` (at most 128)');
  }
  const description = optionalString(ctx, node.get('description', true) as Node | undefined, `${path}.description`);
  const enabledNode = node.get('enabled', true) as Node | undefined;
  let enabled = true;
  if (enabledNode !== undefined) {
    if (isScalar(enabledNode) && typeof enabledNode.value === 'boolean') enabled = enabledNode.value;
    else issue(ctx, enabledNode, `${path}.enabled`, '`enabled` must be true or false');
  }
  const scope = parseScope(ctx, node.get('scope', true) as Node | undefined, `${path}.scope`);
  const on = parseTrigger(ctx, node.get('on', true) as Node | undefined, `${path}.on`, node);
  const whenNode = node.get('when', true) as Node | undefined;
  let when: CompiledExpression | undefined;
  if (whenNode !== undefined) {
    const src = requireString(ctx, whenNode, `${path}.when`, node, 'write the condition as a CEL string');
    if (src !== undefined) {
      const compiled = compileExpression(ctx.runtime, src, 'bool');
      if (isCompileError(compiled)) celIssue(ctx, whenNode as Scalar, `${path}.when`, compiled);
      else when = compiled;
    }
  }
  const priorityNode = node.get('priority', true) as Node | undefined;
  let priority = 0;
  if (priorityNode !== undefined) {
    const v = isScalar(priorityNode) ? priorityNode.value : undefined;
    if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 1_000_000) priority = v;
    else issue(ctx, priorityNode, `${path}.priority`, '`priority` must be an integer', 'higher wins, e.g. `priority: 50`');
  }
  const steps = parseSteps(ctx, node.get('do', true) as Node | undefined, `${path}.do`, node);
  const guards = parseGuards(ctx, node.get('guards', true) as Node | undefined, `${path}.guards`);
  if (guards.bounds && steps && !steps.some((s) => s.action === 'scale_out' || s.action === 'scale_in')) {
    warn(ctx, node.get('guards', true) as Node, `${path}.guards.bounds`, '`bounds` has no effect: the policy has no scale_out / scale_in action');
  }
  if (errorCount(ctx) > before || id === undefined || !on || !steps || !scope) return undefined;
  return {
    id,
    description,
    scope,
    on,
    when,
    do: steps,
    priority,
    priorityExplicit: priorityNode !== undefined,
    guards,
    enabled,
    location: location(ctx, node, path),
    fieldLocations,
    raw: toJs(node) as Record<string, unknown>,
    runtime: ctx.runtime,
  };
}

function parseScope(ctx: Ctx, node: Node | undefined, path: string): PolicyScope | undefined {
  if (node === undefined) return {};
  if (!isMap(node)) {
    issue(ctx, node, path, '`scope` must be a map', 'e.g. `scope: { level: nf, nfType: [amf] }`');
    return undefined;
  }
  checkKeys(ctx, node, path, SCOPE_KEYS);
  const scope: PolicyScope = {};
  for (const key of SCOPE_KEYS) {
    const n = node.get(key, true) as Node | undefined;
    if (n === undefined) continue;
    const values = stringList(ctx, n, `${path}.${key}`);
    if (!values) continue;
    if (key === 'level') {
      const bad = values.filter((v) => !(AGENT_LEVELS as readonly string[]).includes(v));
      if (bad.length) issue(ctx, n, `${path}.level`, `unknown level ${bad.map((b) => `"${b}"`).join(', ')}`, `use ${AGENT_LEVELS.join(', ')}`);
      scope.level = values as AgentLevel[];
    } else if (key === 'subsliceKind') {
      const bad = values.filter((v) => !(SUBSLICE_KINDS as readonly string[]).includes(v));
      if (bad.length) issue(ctx, n, `${path}.subsliceKind`, `unknown sub-slice kind ${bad.join(', ')}`, `use ${SUBSLICE_KINDS.join(', ')}`);
      scope.subsliceKind = values;
    } else scope[key] = values;
  }
  return scope;
}

function parseTrigger(ctx: Ctx, node: Node | undefined, path: string, parent: Node): PolicyTrigger | undefined {
  if (node === undefined) {
    issue(ctx, parent, path, 'missing `on` (the event that triggers the policy)', `e.g. \`on: { event: anomaly }\`; events: ${EVENT_TYPES.join(', ')}`);
    return undefined;
  }
  if (isScalar(node)) {
    const event = String(node.value);
    if (!(EVENT_TYPES as readonly string[]).includes(event)) {
      issue(ctx, node, path, `unknown event type "${event}"`, `use one of ${EVENT_TYPES.join(', ')}`);
      return undefined;
    }
    return { event: event as PolicyTrigger['event'] };
  }
  if (!isMap(node)) {
    issue(ctx, node, path, '`on` must be an event type or a map', 'e.g. `on: { event: incident, kind: http_flood }`');
    return undefined;
  }
  const eventNode = node.get('event', true) as Node | undefined;
  const event = requireString(ctx, eventNode, `${path}.event`, node, `name the event type: ${EVENT_TYPES.join(', ')}`);
  if (event === undefined) return undefined;
  if (!(EVENT_TYPES as readonly string[]).includes(event)) {
    issue(ctx, eventNode, `${path}.event`, `unknown event type "${event}"`, `use one of ${EVENT_TYPES.join(', ')}`);
    return undefined;
  }
  const allowed = [...COMMON_SELECTORS, ...(TRIGGER_SELECTORS[event] ?? [])];
  checkKeys(ctx, node, path, allowed, `selectors for ${event}: ${allowed.filter((k) => k !== 'event').join(', ')}`);
  const trigger: PolicyTrigger = { event: event as PolicyTrigger['event'] };
  for (const key of ['minSeverity', 'maxSeverity'] as const) {
    const n = node.get(key, true) as Node | undefined;
    if (n === undefined) continue;
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v === 'number' && v >= 0 && v <= 1) trigger[key] = v;
    else issue(ctx, n, `${path}.${key}`, `\`${key}\` must be a number between 0 and 1`);
  }
  if (trigger.minSeverity !== undefined && trigger.maxSeverity !== undefined && trigger.minSeverity > trigger.maxSeverity) {
    issue(ctx, node, `${path}.minSeverity`, 'minSeverity is greater than maxSeverity: the policy can never fire');
  }
  for (const key of ['level', 'kind', 'name', 'action', 'metric', 'indicator', 'to', 'from', 'subject', 'target', 'source'] as const) {
    const n = node.get(key, true) as Node | undefined;
    if (n === undefined || !allowed.includes(key)) continue;
    const values = stringList(ctx, n, `${path}.${key}`);
    if (values) trigger[key] = values;
  }
  const everyNode = node.get('every', true) as Node | undefined;
  if (everyNode !== undefined && allowed.includes('every')) {
    const ms = parseDuration(toJs(everyNode));
    if (ms === undefined || ms < 100) issue(ctx, everyNode, `${path}.every`, `invalid timer period ${JSON.stringify(toJs(everyNode))}`, 'a duration of at least 100ms, e.g. 1m');
    else if (trigger.name?.length !== 1) issue(ctx, everyNode, `${path}.every`, '`every` needs exactly one timer `name`', 'e.g. `on: { event: timer, name: rebalance, every: 1m }`');
    else trigger.everyMs = ms;
  }
  if (trigger.action) {
    const bad = trigger.action.filter((a) => !(ACTION_TYPES as readonly string[]).includes(a));
    if (bad.length) issue(ctx, node.get('action', true) as Node, `${path}.action`, `unknown action ${bad.join(', ')}`, `use ${ACTION_TYPES.join(', ')}`);
  }
  return trigger;
}

function parseSteps(ctx: Ctx, node: Node | undefined, path: string, parent: Node): ActionStep[] | undefined {
  if (node === undefined) {
    issue(ctx, parent, path, 'missing `do` (the actions to take)', 'add `do:` with at least one `- action: ...`');
    return undefined;
  }
  if (!isSeq(node) || node.items.length === 0) {
    issue(ctx, node, path, '`do` must be a non-empty list of actions', 'e.g. `do: [ { action: notify } ]`');
    return undefined;
  }
  const steps: ActionStep[] = [];
  node.items.forEach((item, i) => {
    const step = parseStep(ctx, item as Node, `${path}[${i}]`);
    if (step) steps.push(step);
  });
  return steps.length === node.items.length ? steps : undefined;
}

function parseStep(ctx: Ctx, node: Node, path: string): ActionStep | undefined {
  if (!isMap(node)) {
    issue(ctx, node, path, 'an action must be a map', 'e.g. `- action: rate_limit` with `params: { rps: 20 }`');
    return undefined;
  }
  const before = errorCount(ctx);
  checkKeys(ctx, node, path, STEP_KEYS);
  const actionNode = node.get('action', true) as Node | undefined;
  const action = requireString(ctx, actionNode, `${path}.action`, node, `name the action: ${ACTION_TYPES.join(', ')}`);
  if (action !== undefined && !(ACTION_TYPES as readonly string[]).includes(action)) {
    issue(ctx, actionNode, `${path}.action`, `unknown action "${action}"${suggest(action, ACTION_TYPES)}`, `use one of ${ACTION_TYPES.join(', ')}`);
  }
  let target: CompiledTemplate | undefined;
  const targetNode = node.get('target', true) as Node | undefined;
  if (targetNode !== undefined) {
    const src = requireString(ctx, targetNode, `${path}.target`, node);
    if (src !== undefined) target = template(ctx, targetNode as Scalar, `${path}.target`, src);
  }
  let forEach: CompiledExpression | undefined;
  const forNode = node.get('forEach', true) as Node | undefined;
  if (forNode !== undefined) {
    const src = requireString(ctx, forNode, `${path}.forEach`, node, 'a CEL expression giving a list, e.g. `indicators.source`');
    if (src !== undefined) {
      const compiled = compileExpression(ctx.runtime, src, 'list');
      if (isCompileError(compiled)) celIssue(ctx, forNode as Scalar, `${path}.forEach`, compiled);
      else forEach = compiled;
    }
  }
  let expiresInMs: number | undefined;
  const expNode = node.get('expiresIn', true) as Node | undefined;
  if (expNode !== undefined) {
    expiresInMs = parseDuration(isScalar(expNode) ? expNode.value : undefined);
    if (expiresInMs === undefined || expiresInMs <= 0) {
      issue(ctx, expNode, `${path}.expiresIn`, `invalid duration ${JSON.stringify(toJs(expNode))}`, 'use e.g. 500ms, 30s, 10m, 1h');
    }
  }
  const paramsNode = node.get('params', true) as Node | undefined;
  let params: Record<string, unknown> = {};
  let compiledParams: ParamTemplate = { kind: 'map', entries: [] };
  if (paramsNode !== undefined) {
    if (!isMap(paramsNode)) issue(ctx, paramsNode, `${path}.params`, '`params` must be a map');
    else {
      params = toJs(paramsNode) as Record<string, unknown>;
      compiledParams = compileParam(ctx, paramsNode, `${path}.params`);
      if (action && errorCount(ctx) === before) checkParams(ctx, action as ActionType, paramsNode, `${path}.params`);
    }
  } else if (action && errorCount(ctx) === before) checkParams(ctx, action as ActionType, undefined, `${path}.params`, node);
  if (errorCount(ctx) > before || action === undefined) return undefined;
  return {
    action: action as ActionType,
    target,
    forEach,
    params,
    compiledParams,
    expiresInMs,
    location: location(ctx, node, path),
  };
}

function compileParam(ctx: Ctx, node: Node, path: string): ParamTemplate {
  // collections without any template collapse into one literal (rendered without walking them)
  if (isMap(node)) {
    const entries = node.items.map((pair) => {
      const key = String((pair.key as Scalar | null)?.value ?? '');
      return [key, compileParam(ctx, pair.value as Node, `${path}.${key}`)] as [string, ParamTemplate];
    });
    if (entries.every(([, v]) => v.kind === 'literal')) return { kind: 'literal', value: toJs(node) };
    return { kind: 'map', entries };
  }
  if (isSeq(node)) {
    const items = node.items.map((n, i) => compileParam(ctx, n as Node, `${path}[${i}]`));
    if (items.every((v) => v.kind === 'literal')) return { kind: 'literal', value: toJs(node) };
    return { kind: 'list', items };
  }
  if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    const t = template(ctx, node, path, node.value);
    if (t) return { kind: 'template', template: t };
  }
  return { kind: 'literal', value: toJs(node) };
}

/** Action-specific checks of literal params (templated values are checked when evaluated). */
function checkParams(ctx: Ctx, action: ActionType, node: YAMLMap | undefined, path: string, stepNode?: Node): void {
  const at = (key: string): Node | undefined => node?.get(key, true) as Node | undefined;
  const val = (key: string): unknown => {
    const n = at(key);
    return n === undefined ? undefined : toJs(n);
  };
  const isTemplated = (key: string): boolean => {
    const v = val(key);
    return typeof v === 'string' && v.includes('${');
  };
  const where = node ?? stepNode;
  const need = (key: string, hint: string): boolean => {
    if (val(key) === undefined) {
      issue(ctx, where, `${path}.${key}`, `${action} needs \`params.${key}\``, hint);
      return false;
    }
    return true;
  };
  const positive = (key: string, integer: boolean): void => {
    const v = val(key);
    if (v === undefined || isTemplated(key)) return;
    if (typeof v !== 'number' || !(v > 0) || (integer && !Number.isInteger(v))) {
      issue(ctx, at(key), `${path}.${key}`, `\`${key}\` must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
    }
  };
  switch (action) {
    case 'rate_limit':
      if (need('rps', 'e.g. `params: { rps: 20 }` (requests per second)')) positive('rps', false);
      break;
    case 'block':
    case 'allow':
      if (val('source') === undefined && val('path') === undefined) {
        issue(ctx, where, `${path}.source`, `${action} needs \`params.source\` or \`params.path\``, 'e.g. `params: { source: "$' + '{item}" }`');
      }
      positive('repeatFactor', false);
      break;
    case 'scale_out':
    case 'scale_in':
      positive('count', true);
      break;
    case 'deploy_vsf':
    case 'remove_vsf':
      if (need('vsf', `one of ${VSF_KINDS.join(', ')}`) && !isTemplated('vsf') && !(VSF_KINDS as readonly unknown[]).includes(val('vsf'))) {
        issue(ctx, at('vsf'), `${path}.vsf`, `unknown VSF ${JSON.stringify(val('vsf'))}`, `use one of ${VSF_KINDS.join(', ')}`);
      }
      break;
    case 'reconfigure_monitoring': {
      const mode = val('mode');
      if (mode === undefined && val('samplingPeriodMs') === undefined && val('metrics') === undefined) {
        issue(ctx, where, path, 'reconfigure_monitoring needs `mode`, `samplingPeriodMs` or `metrics`', 'e.g. `params: { mode: per_flow, samplingPeriodMs: 1000 }`');
      }
      if (mode !== undefined && !isTemplated('mode') && !(MONITORING_MODES as readonly unknown[]).includes(mode)) {
        issue(ctx, at('mode'), `${path}.mode`, `unknown monitoring mode ${JSON.stringify(mode)}`, `use ${MONITORING_MODES.join(' or ')}`);
      }
      positive('samplingPeriodMs', false);
      break;
    }
    case 'delegate':
      if (need('action', 'what the other loop should do, e.g. `action: scale_out`') && !isTemplated('action')) {
        if (!(ACTION_TYPES as readonly unknown[]).includes(val('action'))) {
          issue(ctx, at('action'), `${path}.action`, `unknown delegated action ${JSON.stringify(val('action'))}`, `use one of ${ACTION_TYPES.join(', ')}`);
        }
      }
      positive('deadlineMs', false);
      break;
    case 'update_config':
      if (!node || node.items.length === 0) issue(ctx, where, path, 'update_config needs at least one configuration parameter');
      break;
    default:
      break;
  }
}

function parseGuards(ctx: Ctx, node: Node | undefined, path: string): PolicyGuards {
  const guards: PolicyGuards = { per: 'target' };
  if (node === undefined) return guards;
  if (!isMap(node)) {
    issue(ctx, node, path, '`guards` must be a map', `keys: ${GUARD_KEYS.join(', ')}`);
    return guards;
  }
  checkKeys(ctx, node, path, GUARD_KEYS);
  const cd = node.get('cooldown', true) as Node | undefined;
  if (cd !== undefined) {
    const ms = parseDuration(toJs(cd));
    if (ms === undefined || ms <= 0) issue(ctx, cd, `${path}.cooldown`, `invalid duration ${JSON.stringify(toJs(cd))}`, 'use e.g. 30s, 5m');
    else guards.cooldownMs = ms;
  }
  const fr = node.get('frequency', true) as Node | undefined;
  if (fr !== undefined) {
    if (!isMap(fr)) issue(ctx, fr, `${path}.frequency`, '`frequency` must be a map', 'e.g. `frequency: { count: 3, window: 10m }`');
    else {
      checkKeys(ctx, fr, `${path}.frequency`, ['count', 'window']);
      const count = toJs(fr.get('count', true) as Node);
      const windowMs = parseDuration(toJs(fr.get('window', true) as Node));
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
        issue(ctx, (fr.get('count', true) as Node) ?? fr, `${path}.frequency.count`, '`count` must be an integer >= 1');
      } else if (windowMs === undefined || windowMs <= 0) {
        issue(ctx, (fr.get('window', true) as Node) ?? fr, `${path}.frequency.window`, '`window` must be a duration', 'e.g. 10m');
      } else guards.frequency = { count, windowMs };
    }
  }
  const bd = node.get('bounds', true) as Node | undefined;
  if (bd !== undefined) {
    if (!isMap(bd)) issue(ctx, bd, `${path}.bounds`, '`bounds` must be a map', 'e.g. `bounds: { resource: replicas, min: 1, max: 6 }`');
    else {
      checkKeys(ctx, bd, `${path}.bounds`, ['resource', 'min', 'max']);
      const resource = toJs(bd.get('resource', true) as Node) ?? 'replicas';
      const min = toJs(bd.get('min', true) as Node);
      const max = toJs(bd.get('max', true) as Node);
      let ok = true;
      for (const [k, v] of [
        ['min', min],
        ['max', max],
      ] as const) {
        if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
          issue(ctx, bd.get(k, true) as Node, `${path}.bounds.${k}`, `\`${k}\` must be a non-negative integer`);
          ok = false;
        }
      }
      if (min === undefined && max === undefined) {
        issue(ctx, bd, `${path}.bounds`, '`bounds` needs `min` and/or `max`');
        ok = false;
      }
      if (ok && typeof min === 'number' && typeof max === 'number' && min > max) {
        issue(ctx, bd, `${path}.bounds`, `bounds min ${min} is greater than max ${max}`, 'swap them');
        ok = false;
      }
      if (typeof resource !== 'string') {
        issue(ctx, bd.get('resource', true) as Node, `${path}.bounds.resource`, '`resource` must be a string such as replicas');
        ok = false;
      }
      if (ok) guards.bounds = { resource: resource as string, min: min as number | undefined, max: max as number | undefined };
    }
  }
  const bl = node.get('blocks', true) as Node | undefined;
  if (bl !== undefined) {
    if (!isMap(bl)) issue(ctx, bl, `${path}.blocks`, '`blocks` must be a map', 'e.g. `blocks: { levels: [nf], window: 5m }`');
    else {
      checkKeys(ctx, bl, `${path}.blocks`, ['levels', 'agents', 'policies', 'window']);
      const windowMs = parseDuration(toJs(bl.get('window', true) as Node));
      const levelsNode = bl.get('levels', true) as Node | undefined;
      const levels = levelsNode ? stringList(ctx, levelsNode, `${path}.blocks.levels`) : undefined;
      const badLevels = (levels ?? []).filter((l) => !(AGENT_LEVELS as readonly string[]).includes(l));
      if (badLevels.length) issue(ctx, levelsNode, `${path}.blocks.levels`, `unknown level ${badLevels.join(', ')}`, `use ${AGENT_LEVELS.join(', ')}`);
      const agentsNode = bl.get('agents', true) as Node | undefined;
      const agents = agentsNode ? stringList(ctx, agentsNode, `${path}.blocks.agents`) : undefined;
      const polNode = bl.get('policies', true) as Node | undefined;
      const pols = polNode ? stringList(ctx, polNode, `${path}.blocks.policies`) : undefined;
      if (windowMs === undefined || windowMs <= 0) {
        issue(ctx, (bl.get('window', true) as Node) ?? bl, `${path}.blocks.window`, '`blocks` needs a `window` duration', 'e.g. `window: 5m`');
      } else if (!levels && !agents && !pols) {
        issue(ctx, bl, `${path}.blocks`, '`blocks` needs `levels`, `agents` or `policies`', 'say which loops it holds off the target');
      } else if (!badLevels.length) guards.blocks = { levels: levels as AgentLevel[] | undefined, agents, policies: pols, windowMs };
    }
  }
  const per = node.get('per', true) as Node | undefined;
  if (per !== undefined) {
    const v = toJs(per);
    if (v === 'target' || v === 'policy') guards.per = v;
    else issue(ctx, per, `${path}.per`, '`per` must be `target` or `policy`');
  }
  return guards;
}

// ---------------------------------------------------------------- helpers

function template(ctx: Ctx, node: Scalar, path: string, src: string): CompiledTemplate | undefined {
  const t = compileTemplate(ctx.runtime, src);
  if (isCompileError(t)) {
    celIssue(ctx, node, path, t);
    return undefined;
  }
  return t;
}

function errorCount(ctx: Ctx): number {
  return ctx.issues.filter((i) => i.severity === 'error').length;
}

function toJs(node: Node | undefined): unknown {
  if (node === undefined || node === null) return undefined;
  return (node as { toJSON(): unknown }).toJSON();
}

export function location(ctx: { file: string; lc: LineCounter }, node: Node | undefined | null, path: string): PolicyLocation {
  const offset = node?.range?.[0] ?? 0;
  const pos = ctx.lc.linePos(offset);
  return { file: ctx.file, line: pos.line, column: pos.col, path };
}

function issue(ctx: Ctx, node: Node | undefined | null, path: string, message: string, hint?: string): void {
  ctx.issues.push({ ...location(ctx, node, path), message, hint, severity: 'error' });
}

function warn(ctx: Ctx, node: Node | undefined | null, path: string, message: string, hint?: string): void {
  ctx.issues.push({ ...location(ctx, node, path), message, hint, severity: 'warning' });
}

/** Places a CEL error at its exact character when the scalar is plain or quoted on one line. */
function celIssue(ctx: Ctx, node: Scalar, path: string, err: CelCompileError): void {
  let offset = node.range?.[0] ?? 0;
  const type = node.type;
  if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') offset += 1 + err.offset;
  else if (type === 'PLAIN') offset += err.offset;
  else offset = blockScalarOffset(ctx, node, err.offset) ?? offset;
  const pos = ctx.lc.linePos(offset);
  ctx.issues.push({
    file: ctx.file,
    line: pos.line,
    column: pos.col,
    path,
    message: `CEL: ${err.message}`,
    hint: 'see the CEL variables and functions in docs/policy.md',
    severity: 'error',
  });
}

/**
 * Maps an offset inside a block scalar's value (`|` or `>`: lines joined by newlines or spaces)
 * back to the source: rebuild the value line by line, remembering where each character came from.
 */
function blockScalarOffset(ctx: Ctx, node: Scalar, valueOffset: number): number | undefined {
  const [start, end] = node.range ?? [0, 0];
  const lineStarts = ctx.lc.lineStarts;
  const header = ctx.lc.linePos(start).line;
  const sources: number[] = [];
  let indent: number | undefined;
  for (let l = header; l < lineStarts.length; l++) {
    const from = lineStarts[l];
    if (from >= end) break;
    const to = l + 1 < lineStarts.length ? lineStarts[l + 1] - 1 : ctx.text.length;
    const line = ctx.text.slice(from, to);
    if (line.trim() === '') continue;
    indent ??= line.length - line.trimStart().length;
    for (let i = indent; i < line.length; i++) sources.push(from + i);
    sources.push(to);
  }
  if (sources.length === 0) return undefined;
  return sources[Math.min(valueOffset, sources.length - 1)];
}

function checkKeys(ctx: Ctx, node: YAMLMap, path: string, allowed: readonly string[], hint?: string): void {
  for (const pair of node.items) {
    const key = String((pair.key as Scalar | null)?.value ?? '');
    if (!allowed.includes(key)) {
      issue(ctx, pair.key as Node, path ? `${path}.${key}` : key, `unknown field "${key}"${suggest(key, allowed)}`, hint ?? `allowed: ${allowed.join(', ')}`);
    }
  }
}

function requireString(ctx: Ctx, node: Node | undefined, path: string, parent: Node, hint?: string): string | undefined {
  if (node === undefined) {
    issue(ctx, parent, path, `missing \`${path.split('.').pop()}\``, hint);
    return undefined;
  }
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
    issue(ctx, node, path, `\`${path.split('.').pop()}\` must be a non-empty string`, hint);
    return undefined;
  }
  return node.value;
}

function optionalString(ctx: Ctx, node: Node | undefined, path: string): string | undefined {
  if (node === undefined) return undefined;
  if (!isScalar(node) || typeof node.value !== 'string') {
    issue(ctx, node, path, 'must be a string');
    return undefined;
  }
  return node.value;
}

function stringList(ctx: Ctx, node: Node, path: string): string[] | undefined {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) return [String(node.value)];
  if (isSeq(node) && node.items.length > 0 && node.items.every((i) => isScalar(i) && typeof (i as Scalar).value === 'string')) {
    return node.items.map((i) => String((i as Scalar).value));
  }
  issue(ctx, node, path, 'must be a string or a non-empty list of strings', 'e.g. `[amf, smf]`');
  return undefined;
}

function suggest(word: string, options: readonly string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
