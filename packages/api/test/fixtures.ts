import type { ActionOutcome } from '@sliceguard/core';
import { SliceguardError } from '@sliceguard/core';
import { type AgentProviders, ConflictError, type LoopStatus, type PolicyView } from '../src/index.js';

/** Small in-memory providers standing in for an agent, recording what they were asked. */
export function fakeProviders() {
  const calls: Array<{ op: string; by?: string; args: unknown[] }> = [];
  const policies = new Map<string, PolicyView>([['p-block', { id: 'p-block', version: 1, sha256: 'aa', text: 'on: anomaly' }]]);
  const loop: LoopStatus = {
    agentId: 'd1:amf-1',
    level: 'nf',
    lifecycle: 'active',
    iteration: 42,
    stageTimings: { ms: { count: 42, lastMs: 0.2, meanMs: 0.3 }, ae: { count: 42, lastMs: 1.5, meanMs: 1.2 }, de: { count: 3, lastMs: 0.1, meanMs: 0.1 }, es: { count: 1, lastMs: 4, meanMs: 4 } },
    config: { samplingMs: 1000 },
  };
  const incident = {
    id: 'inc-1',
    agentId: 'd1:amf-1',
    status: 'open',
    kind: 'signaling_ddos',
    events: [{ id: 'ev-1', type: 'anomaly', evidence: { detector: 'lstm-ae', score: 0.9, threshold: 0.5, contributors: [{ metric: 'reg_rate', share: 0.8 }], window: { start: 0, end: 10 } } }],
  };
  const providers: AgentProviders = {
    status: { status: () => ({ agentId: 'd1:amf-1', role: 'agent', startedAt: 5, loops: [loop] }) },
    readiness: { readiness: async () => ({ ready: true, checks: { bus: { ok: true }, store: { ok: true } } }) },
    incidents: {
      list: async (q) => {
        calls.push({ op: 'incidents.list', args: [q] });
        return q.status === undefined || q.status === 'open' ? [incident] : [];
      },
      get: async (id) => (id === 'inc-1' ? incident : undefined),
    },
    decisions: {
      list: async (q) => {
        calls.push({ op: 'decisions.list', args: [q] });
        return [{ id: 'dec-1', eventId: 'ev-1', actions: [], reason: 'p-block matched', at: 11, outcomes: [] }];
      },
      get: async (id) => (id === 'dec-1' ? { id: 'dec-1', eventId: 'ev-1', actions: [], reason: 'r', at: 11 } : undefined),
    },
    trust: {
      scores: async () => [{ agentId: 'd1:amf-1', score: 0.9, weight: 1, quarantined: false }],
      score: async (id) => (id === 'd1:amf-1' ? { agentId: id, score: 0.9, weight: 1, quarantined: false, uncertainty: 0.1 } : undefined),
    },
    models: {
      models: async () => [{ modelId: 'lstm-ae', version: 3 }],
      rounds: async (q) => {
        calls.push({ op: 'rounds', args: [q] });
        return [{ round: 3, status: 'completed', participants: 8 }];
      },
      round: async (r) => (r === 3 ? { round: 3, status: 'completed' } : undefined),
    },
    policies: {
      list: async () => [...policies.values()],
      get: async (id) => policies.get(id),
      add: async (input, by) => {
        calls.push({ op: 'policies.add', by: by.id, args: [input] });
        const id = input.id ?? 'p-new';
        if (policies.has(id)) throw new ConflictError(`policy ${id} exists`, { policy: id });
        if (input.text.includes('conflict')) throw new SliceguardError('POLICY_ERR_CONFLICT_RULES', 'conflicts with p-block', { details: { with: 'p-block' } });
        if (input.text.includes('boom')) throw new Error('database exploded');
        const p = { id, version: 1, sha256: 'bb', text: input.text };
        policies.set(id, p);
        return p;
      },
      replace: async (id, input, by) => {
        calls.push({ op: 'policies.replace', by: by.id, args: [id, input] });
        const old = policies.get(id);
        if (!old) throw new SliceguardError('POLICY_ERR_NOT_FOUND', `no policy ${id}`);
        const p = { ...old, version: old.version + 1, text: input.text };
        policies.set(id, p);
        return p;
      },
      remove: async (id, by) => {
        calls.push({ op: 'policies.remove', by: by.id, args: [id] });
        if (!policies.delete(id)) throw new SliceguardError('POLICY_ERR_NOT_FOUND', `no policy ${id}`);
      },
    },
    loops: {
      activate: async (id, by) => {
        calls.push({ op: 'loops.activate', by: by.id, args: [id] });
        return { ...loop, agentId: id, lifecycle: 'active' };
      },
      deactivate: async (id, reason, by) => {
        calls.push({ op: 'loops.deactivate', by: by.id, args: [id, reason] });
        return { ...loop, agentId: id, lifecycle: 'inactive' };
      },
      reconfigure: async (id, change, by) => {
        calls.push({ op: 'loops.reconfigure', by: by.id, args: [id, change] });
        return { ...loop, agentId: id, config: { ...loop.config, ...change } };
      },
    },
    mitigation: {
      mitigate: async (req, by) => {
        calls.push({ op: 'mitigate', by: by.id, args: [req] });
        const outcome: ActionOutcome = { id: 'act-1', type: req.type, target: req.target, status: 'succeeded', at: 12 };
        return outcome;
      },
    },
  };
  return { providers, calls, policies };
}
