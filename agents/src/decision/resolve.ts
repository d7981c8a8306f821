import type { AgentLevel, Clock, DecisionEngine, IdGenerator, Logger } from '@sliceguard/core';
import type { LoopCoordinator, PolicySet } from '@sliceguard/policy';
import { createPolicyEngine, loadPolicies } from '@sliceguard/policy';
import type { AgentSpec } from '@sliceguard/topology';
import { withFallback } from '../agent.js';
import { defaultDecisionEngine } from './default-engine.js';
import type { DefaultDecisionEngineOptions } from './default-engine.js';

export interface ResolveDecisionEngineOptions {
  spec: AgentSpec;
  clock: Clock;
  ids: IdGenerator;
  logger?: Logger;
  /** 'topology' (default): the spec's policy files, with the built-in rules as fallback; 'builtin': built-in rules only. */
  policies?: 'topology' | 'builtin';
  /** Loaded policy sets shared between agents of one process (key: the sorted file list). */
  cache?: Map<string, Promise<PolicySet>>;
  /** Run-time conflict coordination shared by the engines of one domain. */
  coordinator?: LoopCoordinator;
  builtin?: Partial<Omit<DefaultDecisionEngineOptions, 'ids' | 'clock'>>;
}

/** The decision engine an agent runs: its topology policies (ECA, CEL) falling back to the built-in rules. */
export async function resolveDecisionEngine(options: ResolveDecisionEngineOptions): Promise<DecisionEngine> {
  const { spec, clock, ids } = options;
  const level = spec.level as AgentLevel;
  const builtin = defaultDecisionEngine(level, { ids, clock, ...(options.builtin ?? {}) });
  if ((options.policies ?? 'topology') === 'builtin' || spec.policies.length === 0) return builtin;
  const key = [...spec.policies].sort().join('\n');
  let set = options.cache?.get(key);
  if (!set) {
    set = loadPolicies(spec.policies);
    options.cache?.set(key, set);
  }
  const engine = createPolicyEngine({
    policies: await set,
    clock,
    scope: {
      agentId: spec.agentId,
      level,
      domain: spec.domain,
      ...(spec.slice ? { slice: spec.slice } : {}),
      ...(spec.subslice ? { subslice: spec.subslice.id, subsliceKind: spec.subslice.kind } : {}),
      ...(spec.nf ? { nfType: spec.nf.type } : {}),
    },
    ...(options.coordinator ? { coordinator: options.coordinator } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return withFallback(engine, builtin);
}
