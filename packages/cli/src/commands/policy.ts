import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { AGENT_LEVELS, type AgentLevel, type DecisionContext, InvalidInputError, type SecurityEvent, systemClock } from '@sliceguard/core';
import { openLevelKv } from '@sliceguard/store';
import { loadTopology, resolveAgents } from '@sliceguard/topology';
import {
  checkPolicies,
  createPolicyEngine,
  loadPolicies,
  openPolicyStore,
  type PolicyChange,
  type PolicyStore,
  policyAppliesTo,
  type PolicyCheckReport,
  type PolicyConflict,
  type PolicyIssue,
} from '@sliceguard/policy';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

function formatIssue(i: PolicyIssue): string {
  return `${i.file}:${i.line}:${i.column} ${i.severity} ${i.path ? `${i.path}: ` : ''}${i.message}${i.hint ? `\n    hint: ${i.hint}` : ''}`;
}

function formatConflict(c: PolicyConflict): string {
  const side = (s: PolicyConflict['a']) => `${s.policyId} (${s.action}, priority ${s.priorityExplicit ? s.priority : 'not set'}) at ${s.file}:${s.line}:${s.column}`;
  return `${c.resolved ? 'resolved conflict' : 'CONFLICT'} ${c.kind}: ${c.message}\n    ${side(c.a)}\n    ${side(c.b)}`;
}

function human(report: PolicyCheckReport): string {
  const lines = [...report.issues.map(formatIssue), ...report.conflicts.map(formatConflict)];
  const errors = report.issues.filter((i) => i.severity === 'error').length;
  const unresolved = report.conflicts.filter((c) => !c.resolved).length;
  lines.push(
    report.ok
      ? `ok: ${report.policies} policies in ${report.files.length} file(s)${report.conflicts.length ? `, ${report.conflicts.length} conflict(s) resolved by priority` : ''}`
      : `failed: ${errors} error(s), ${unresolved} unresolved conflict(s) in ${report.files.length} file(s)`,
  );
  return lines.join('\n');
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read ${what} file ${path}: ${(err as Error).message}`, { file: path });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${what} file ${path} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
}

/** Opens the versioned policy store in a LevelDB directory, runs `fn`, closes it. */
async function withStore<T>(dir: string, fn: (store: PolicyStore) => Promise<T>): Promise<T> {
  const kv = await openLevelKv(dir);
  try {
    return await fn(await openPolicyStore({ clock: systemClock(), kv }));
  } finally {
    await kv.close();
  }
}

function formatChange(c: PolicyChange): string {
  return `v${c.version} ${new Date(c.at).toISOString()} ${c.op} ${c.policyIds.join(', ')}${c.reason ? ` — ${c.reason}` : ''}`;
}

/** Registers `sliceguard policy check|show|eval|apply|remove|history`. */
export function register(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('validate, inspect and dry-run ECA security policies (docs/policy.md)');

  policy
    .command('check')
    .description('validate policy files and detect conflicts between them (exit 1 on errors or unresolved conflicts)')
    .argument('[files...]', 'policy YAML files, checked together')
    .option('--topology <file>', "also check every policy file the topology references, and warn about policies that apply to none of its loops")
    .option('--json', 'print the report as JSON')
    .action(async (given: string[], opts: { topology?: string; json?: boolean }) => {
      // the same file named on the command line and by the topology is checked once
      const files = [...new Set(given.map((f) => resolve(f)))];
      const topology = opts.topology ? await loadTopology(opts.topology) : undefined;
      const agents = topology ? resolveAgents(topology).filter((a) => a.level !== 'coordinator') : [];
      for (const a of agents) for (const f of a.policies) if (!files.includes(f)) files.push(f);
      if (files.length === 0) throw new InvalidInputError('give policy files, or --topology with a topology that references policy files');
      const report = await checkPolicies(files);
      if (topology && report.ok) {
        const set = await loadPolicies(files);
        for (const p of set.policies) {
          const used = agents.some(
            (a) =>
              a.policies.includes(p.location.file) &&
              policyAppliesTo(p, {
                agentId: a.agentId,
                level: a.level as AgentLevel,
                domain: a.domain,
                slice: a.slice,
                subslice: a.subslice?.id,
                subsliceKind: a.subslice?.kind,
                nfType: a.nf?.type,
              }),
          );
          if (!used) {
            report.issues.push({
              ...p.location,
              path: `${p.location.path}.scope`,
              message: `policy "${p.id}" applies to no loop of ${opts.topology} that loads this file`,
              hint: 'check its scope (level, subsliceKind, nfType…) against the topology, or attach the file where it is meant to run',
              severity: 'warning',
            });
          }
        }
      }
      emit(ctx, opts.json, report, () => human(report));
      if (!report.ok) ctx.setExitCode(1);
    });

  policy
    .command('show')
    .description('list the policies of valid files: scope, trigger, priority, guards, actions')
    .argument('<files...>', 'policy YAML files')
    .option('--json', 'print JSON')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const set = await loadPolicies(files);
      const rows = set.policies.map((p) => ({
        id: p.id,
        file: `${p.location.file}:${p.location.line}`,
        priority: p.priority,
        scope: p.scope,
        on: p.on,
        when: p.when?.source,
        actions: p.do.map((s) => s.action),
        guards: p.guards,
      }));
      emit(ctx, opts.json, rows, () =>
        rows
          .map((r) => {
            const scope = Object.entries(r.scope).map(([k, v]) => `${k}=${(v as string[]).join('|')}`).join(' ') || 'any loop';
            return `${r.id}  [${r.file}] priority ${r.priority}\n  scope: ${scope}\n  on: ${r.on.event}${r.when ? ` when ${r.when}` : ''}\n  do: ${r.actions.join(', ')}`;
          })
          .join('\n'),
      );
    });

  policy
    .command('eval')
    .description('dry-run: the decisions the policies would take for one event (no action is executed)')
    .argument('<files...>', 'policy YAML files')
    .requiredOption('--event <file>', 'JSON file with a SecurityEvent')
    .option('--facts <file>', 'JSON file with facts (knowledge, topology, resources)')
    .option('--level <level>', `loop level: ${AGENT_LEVELS.join(', ')}`, 'nf')
    .option('--agent <id>', 'agent id of the loop', 'cli:dry-run')
    .option('--nf-type <type>', 'NF type of the loop (scope nfType)')
    .option('--subslice-kind <kind>', 'sub-slice kind of the loop (scope subsliceKind)')
    .option('--json', 'print JSON')
    .action(async (files: string[], opts: { event: string; facts?: string; level: string; agent: string; nfType?: string; subsliceKind?: string; json?: boolean }) => {
      if (!(AGENT_LEVELS as readonly string[]).includes(opts.level)) throw new InvalidInputError(`unknown level "${opts.level}"; use ${AGENT_LEVELS.join(', ')}`);
      const set = await loadPolicies(files);
      const event = (await readJson(opts.event, 'event')) as SecurityEvent;
      if (!event || typeof event !== 'object' || typeof event.type !== 'string' || typeof event.id !== 'string') {
        throw new InvalidInputError(`event file ${opts.event} needs at least "id" and "type"`, { file: opts.event });
      }
      const facts = opts.facts ? ((await readJson(opts.facts, 'facts')) as Record<string, unknown>) : undefined;
      const clock = systemClock();
      const level = opts.level as AgentLevel;
      const engine = createPolicyEngine({ policies: set, clock, scope: { agentId: opts.agent, level, nfType: opts.nfType, subsliceKind: opts.subsliceKind } });
      const context: DecisionContext = { agentId: opts.agent, level, now: typeof event.at === 'number' ? event.at : clock.now(), facts };
      const decisions = await engine.decide(event, context);
      emit(ctx, opts.json, decisions, () =>
        decisions.length === 0
          ? 'no policy matched'
          : decisions
              .map((d) => {
                const head = `${d.blocked ? 'BLOCKED' : 'decide'} ${d.policyId}${d.blocked ? ` (${d.blocked.by}: ${d.blocked.reason})` : ''}`;
                return [head, ...d.actions.map((a) => `  ${a.type} ${a.target} ${JSON.stringify(a.params)}${a.expiresAt !== undefined ? ` until ${a.expiresAt}` : ''}`)].join('\n');
              })
              .join('\n'),
      );
    });

  policy
    .command('apply')
    .description('add or replace the policies of these files in a versioned policy store (refused if invalid or conflicting)')
    .argument('<files...>', 'policy YAML files')
    .requiredOption('--store <dir>', 'LevelDB directory of the policy store (created if missing)')
    .option('--reason <text>', 'why (kept in the history)')
    .option('--json', 'print JSON')
    .action(async (files: string[], opts: { store: string; reason?: string; json?: boolean }) => {
      const sources = await Promise.all(
        files.map(async (file) => {
          try {
            return { file, text: await readFile(file, 'utf8') };
          } catch (err) {
            throw new InvalidInputError(`cannot read policy file ${file}: ${(err as Error).message}`, { file });
          }
        }),
      );
      const change = await withStore(opts.store, (store) => store.upsert(sources, opts.reason ? { reason: opts.reason } : {}));
      emit(ctx, opts.json, change, () => formatChange(change));
    });

  policy
    .command('remove')
    .description('remove policies by id from a versioned policy store')
    .argument('<ids...>', 'policy ids')
    .requiredOption('--store <dir>', 'LevelDB directory of the policy store')
    .option('--reason <text>', 'why (kept in the history)')
    .option('--json', 'print JSON')
    .action(async (ids: string[], opts: { store: string; reason?: string; json?: boolean }) => {
      const change = await withStore(opts.store, (store) => store.remove(ids, opts.reason ? { reason: opts.reason } : {}));
      emit(ctx, opts.json, change, () => formatChange(change));
    });

  policy
    .command('history')
    .description('the versions of a policy store: every change with its time, operation, policies and reason')
    .requiredOption('--store <dir>', 'LevelDB directory of the policy store')
    .option('--json', 'print JSON')
    .action(async (opts: { store: string; json?: boolean }) => {
      const result = await withStore(opts.store, async (store) => ({
        version: store.version,
        policies: store.current().policies.map((p) => p.id),
        history: store.history(),
      }));
      emit(ctx, opts.json, result, () =>
        [...result.history.map(formatChange), `current: v${result.version}, ${result.policies.length} policies`].join('\n'),
      );
    });
}
