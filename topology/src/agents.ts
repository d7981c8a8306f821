import {
  agentIdOf,
  loopPrefix,
  loopScope,
  type Placement,
  type PrincipalLevel,
  type SslaSpec,
  SUBJECT_ROOT,
  type SubsliceKind,
  type TlaSpec,
} from '@sliceguard/core';
import type { NfSpec, Topology, TopologyNf } from './types.js';

/** The domain agent's and the FL coordinator's entity ids: `<domain>:tsm`, `<domain>:fl`. */
export const DOMAIN_AGENT_ENTITY = 'tsm';
export const COORDINATOR_ENTITY = 'fl';

/** Everything needed to start one loop (or the domain's FL coordinator). */
export interface AgentSpec {
  agentId: string;
  level: Extract<PrincipalLevel, 'nf' | 'subslice' | 'slice' | 'domain' | 'coordinator'>;
  placement: Placement;
  /** The loop this one escalates to; absent for domain agents and coordinators. */
  parentId?: string;
  /** Loops this one supervises and delegates to (file order). */
  childIds: string[];
  domain: string;
  slice?: string;
  subslice?: { id: string; kind: SubsliceKind };
  nf?: NfSpec;
  tla: TlaSpec;
  ssla: SslaSpec;
  /** Absolute paths of the effective policy files. */
  policies: string[];
  /** Subject prefix (without channel) and the publish scope its credential grants. */
  subjects: { prefix: string; scope: string };
  /**
   * Sub-slice agents of a shared sub-slice: agent ids of the other slices that reference it. Slice
   * agents: shared sub-slices defined elsewhere that this slice uses (they report to their defining
   * slice, so subscribe to their prefix to see them).
   */
  sharedWith?: string[];
  sharedChildIds?: string[];
  /** Slice agents of an E2E slice: the same slice's agents in the other domains it spans. */
  peerIds?: string[];
  /** Domain agents: domains whose roots this domain trusts. */
  trustedDomains?: string[];
}

function nfSpec(nf: TopologyNf): NfSpec {
  const spec: NfSpec = {
    id: nf.id,
    type: nf.type,
    kind: nf.kind,
    metrics: [...nf.metrics],
    replicas: { ...nf.replicas },
  };
  if (nf.location !== undefined) spec.location = nf.location;
  if (nf.chain !== undefined) spec.chain = [...nf.chain];
  if (nf.exporter !== undefined) spec.exporter = { ...nf.exporter };
  return spec;
}

/**
 * One AgentSpec per loop, in a stable order: per domain the domain agent, the FL coordinator, then
 * each slice followed by its sub-slices, each followed by its NFs. A shared sub-slice has a single
 * agent placed under (and reporting to) the slice that defines it.
 */
export function resolveAgents(topology: Topology): AgentSpec[] {
  const out: AgentSpec[] = [];
  for (const domain of topology.domains) {
    const d = domain.id;
    const domainAgentId = agentIdOf(d, DOMAIN_AGENT_ENTITY);
    const domainPlacement: Placement = { domain: d };
    const domainAgent: AgentSpec = {
      agentId: domainAgentId,
      level: 'domain',
      placement: domainPlacement,
      childIds: domain.slices.map((s) => agentIdOf(d, s.id)),
      domain: d,
      tla: domain.tla,
      ssla: domain.ssla,
      policies: [...domain.policies],
      subjects: { prefix: loopPrefix('domain', domainPlacement), scope: loopScope('domain', domainPlacement) },
      trustedDomains: [...domain.trustedDomains],
    };
    out.push(domainAgent);
    const flPrefix = `${SUBJECT_ROOT}.${d}._fl`;
    out.push({
      agentId: agentIdOf(d, COORDINATOR_ENTITY),
      level: 'coordinator',
      placement: { domain: d },
      childIds: [],
      domain: d,
      tla: domain.tla,
      ssla: domain.ssla,
      policies: [],
      subjects: { prefix: flPrefix, scope: `${flPrefix}.>` },
    });
    for (const slice of domain.slices) {
      const sliceId = agentIdOf(d, slice.id);
      const slicePlacement: Placement = { domain: d, slice: slice.id };
      const own = slice.subslices.filter((ss) => ss.definedIn === slice.id);
      const borrowed = slice.subslices.filter((ss) => ss.definedIn !== slice.id);
      const sliceAgent: AgentSpec = {
        agentId: sliceId,
        level: 'slice',
        placement: slicePlacement,
        parentId: domainAgentId,
        childIds: own.map((ss) => agentIdOf(d, ss.id)),
        domain: d,
        slice: slice.id,
        tla: slice.tla,
        ssla: slice.ssla,
        policies: [...slice.policies],
        subjects: { prefix: loopPrefix('slice', slicePlacement), scope: loopScope('slice', slicePlacement) },
      };
      if (borrowed.length > 0) sliceAgent.sharedChildIds = borrowed.map((ss) => agentIdOf(d, ss.id));
      if (slice.spans.length > 0) sliceAgent.peerIds = slice.spans.map((other) => agentIdOf(other, slice.id));
      out.push(sliceAgent);
      for (const ss of own) {
        const ssPlacement: Placement = { domain: d, slice: slice.id, subslice: ss.id };
        const ssAgent: AgentSpec = {
          agentId: agentIdOf(d, ss.id),
          level: 'subslice',
          placement: ssPlacement,
          parentId: sliceId,
          childIds: ss.nfs.map((nf) => agentIdOf(d, nf.id)),
          domain: d,
          slice: slice.id,
          subslice: { id: ss.id, kind: ss.kind },
          tla: ss.tla,
          ssla: ss.ssla,
          policies: [...ss.policies],
          subjects: { prefix: loopPrefix('subslice', ssPlacement), scope: loopScope('subslice', ssPlacement) },
        };
        if (ss.sharedWith.length > 0) ssAgent.sharedWith = ss.sharedWith.map((s) => agentIdOf(d, s));
        out.push(ssAgent);
        for (const nf of ss.nfs) {
          const nfPlacement: Placement = { domain: d, slice: slice.id, subslice: ss.id, nf: nf.id };
          out.push({
            agentId: agentIdOf(d, nf.id),
            level: 'nf',
            placement: nfPlacement,
            parentId: ssAgent.agentId,
            childIds: [],
            domain: d,
            slice: slice.id,
            subslice: { id: ss.id, kind: ss.kind },
            nf: nfSpec(nf),
            tla: nf.tla,
            ssla: nf.ssla,
            policies: [...nf.policies],
            subjects: { prefix: loopPrefix('nf', nfPlacement), scope: loopScope('nf', nfPlacement) },
          });
        }
      }
    }
  }
  return out;
}
