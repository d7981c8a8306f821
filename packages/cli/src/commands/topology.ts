import {
  type AgentSpec,
  formatIssue,
  loadTopology,
  resolveAgents,
  type Topology,
  TopologyError,
  type TopologySubslice,
} from '@sliceguard/topology';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

interface TreeNode {
  kind: 'domain' | 'coordinator' | 'slice' | 'subslice' | 'nf';
  id: string;
  label: string;
  agentId: string;
  prefix: string;
  children: TreeNode[];
}

function counts(topology: Topology): Record<string, number> {
  const slices = topology.domains.flatMap((d) => d.slices);
  const subslices = new Set<TopologySubslice>(slices.flatMap((s) => s.subslices));
  return {
    domains: topology.domains.length,
    slices: slices.length,
    subslices: subslices.size,
    nfs: [...subslices].reduce((n, ss) => n + ss.nfs.length, 0),
    agents: resolveAgents(topology).length,
  };
}

function buildTree(topology: Topology): TreeNode[] {
  const agents = new Map<string, AgentSpec>(resolveAgents(topology).map((a) => [a.agentId, a]));
  const node = (kind: TreeNode['kind'], id: string, agentId: string, label: string, children: TreeNode[] = []): TreeNode => ({
    kind,
    id,
    label,
    agentId,
    prefix: agents.get(agentId)?.subjects.prefix ?? '',
    children,
  });
  return topology.domains.map((d) => {
    const fl = node('coordinator', 'fl', `${d.id}:fl`, 'FL coordinator');
    const slices = d.slices.map((s) => {
      const subs = s.subslices.map((ss) => {
        const shared = ss.definedIn !== s.id ? `, shared from slice ${ss.definedIn}` : ss.sharedWith.length ? `, shared with ${ss.sharedWith.join(', ')}` : '';
        const nfs =
          ss.definedIn !== s.id
            ? []
            : ss.nfs.map((nf) => {
                const r = nf.replicas;
                const replicas = r.min === r.max ? `${r.initial}` : `${r.initial} in ${r.min}..${r.max}`;
                const chain = nf.chain?.length ? ` → ${nf.chain.join(', ')}` : '';
                return node('nf', nf.id, `${d.id}:${nf.id}`, `${nf.type} ${nf.kind}, replicas ${replicas}${chain}`);
              });
        return node('subslice', ss.id, `${d.id}:${ss.id}`, `${ss.kind}, ${ss.isolation}${shared}`, nfs);
      });
      const spans = s.spans.length ? `, spans ${s.spans.join(', ')}` : '';
      return node('slice', s.id, `${d.id}:${s.id}`, `${s.service ?? 'service unset'}, ${s.isolation}${spans}`, subs);
    });
    const trust = d.trustedDomains.length ? `, trusts ${d.trustedDomains.join(', ')}` : '';
    return node('domain', d.id, `${d.id}:tsm`, `${d.name ?? d.id}${trust}`, [fl, ...slices]);
  });
}

function renderTree(nodes: TreeNode[]): string {
  const lines: string[] = [];
  const walk = (n: TreeNode, indent: string, branch: string): void => {
    lines.push(`${indent}${branch}${n.kind === 'subslice' ? 'sub-slice' : n.kind} ${n.id} (${n.label})  agent ${n.agentId}  ${n.prefix}`);
    const childIndent = indent + (branch === '' ? '' : branch === '└─ ' ? '   ' : '│  ');
    n.children.forEach((c, i) => {
      walk(c, childIndent, i === n.children.length - 1 ? '└─ ' : '├─ ');
    });
  };
  for (const n of nodes) walk(n, '', '');
  return lines.join('\n');
}

/** Registers `topology validate` and `topology show`. */
export function register(program: Command, ctx: CliContext): void {
  const topology = program.command('topology').description('Validate and inspect topology files (docs/topology.md)');

  topology
    .command('validate')
    .description('Check a topology file; prints every problem with file:line:column, field path and a hint (exit 1 when invalid)')
    .argument('<file>', 'topology YAML file')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      try {
        const t = await loadTopology(file);
        const c = counts(t);
        emit(ctx, opts.json, { valid: true, file: t.file, ...c }, () => `${t.file} is valid: ${c.domains} domain(s), ${c.slices} slice(s), ${c.subslices} sub-slice(s), ${c.nfs} NF(s), ${c.agents} agents`);
      } catch (error) {
        if (!(error instanceof TopologyError)) throw error;
        ctx.setExitCode(1);
        const file = error.details.file as string | undefined;
        emit(ctx, opts.json, { valid: false, file, issues: error.issues }, () =>
          [`${file ?? 'topology'} is invalid: ${error.issues.length} problem(s)`, ...error.issues.map((i) => formatIssue(i))].join('\n'),
        );
      }
    });

  topology
    .command('show')
    .description('Print the topology as a tree: domain → slice → sub-slice → NF, with agent ids and subject prefixes')
    .argument('<file>', 'topology YAML file')
    .option('--json', 'print the tree as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const t = await loadTopology(file);
      const tree = buildTree(t);
      emit(ctx, opts.json, { file: t.file, domains: tree }, () => renderTree(tree));
    });
}
