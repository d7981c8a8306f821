import type { AgentLevel, NfKind, SubsliceKind } from '@sliceguard/core';

/**
 * The facts an agent hands its decision engine with every event (DecisionContext.facts). The
 * policy engine exposes them to CEL as `agent`, `topology` and `knowledge` (docs/agents.md).
 */
export interface ChildFact {
  agentId: string;
  /** Entity id (sub-slice / NF / slice id). */
  id: string;
  level: AgentLevel;
  /** Sub-slice kind (ran, cn, tn, edge) for sub-slice children. */
  kind?: SubsliceKind;
  /** NF type (gnb, amf…) for NF children. */
  type?: string;
}

export interface NfFact {
  id: string;
  agentId: string;
  type: string;
  kind: NfKind;
  replicas: { min: number; max: number; initial: number };
}

export interface AgentFacts {
  agent: {
    agentId: string;
    level: AgentLevel;
    domain: string;
    slice?: string;
    subslice?: string;
    subsliceKind?: SubsliceKind;
    nf?: string;
    nfType?: string;
    parentId?: string;
  };
  topology: { parentId?: string; children: ChildFact[]; nfs: NfFact[] };
  knowledge: {
    state: string;
    monitoring: { mode: 'aggregate' | 'per_flow'; granularity: 'aggregate' | 'per_flow'; samplingPeriodMs: number; metrics: string[] };
  };
}
