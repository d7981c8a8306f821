import type { ActionRequest, AgentLevel, Clock } from '@sliceguard/core';
import { actionsContradict } from './conflicts.js';
import type { PolicyGuards } from './model.js';

/** One loop's intent to act on a target, as submitted to the coordinator. */
export interface CoordinationClaim {
  agentId: string;
  level: AgentLevel;
  policyId: string;
  priority: number;
  decisionId: string;
  action: ActionRequest;
  blocks?: PolicyGuards['blocks'];
}

export interface CoordinationVerdict {
  allowed: boolean;
  /** `agentId/policyId` of the claim that won. */
  by?: string;
  reason?: string;
}

export interface CoordinationRecord extends CoordinationVerdict {
  at: number;
  claim: CoordinationClaim;
}

/**
 * Run-time coordination between the loops of one domain: every engine submits its actions before
 * returning them; contradicting or duplicate actions on the same target within the window, and
 * actions of loops another loop's policy `blocks`, are refused. Every verdict is recorded.
 */
export interface LoopCoordinator {
  arbitrate(claim: CoordinationClaim): CoordinationVerdict;
  /** Verdicts, newest last (bounded by maxRecords). */
  records(filter?: { target?: string; blockedOnly?: boolean }): CoordinationRecord[];
  readonly windowMs: number;
}

export interface LoopCoordinatorOptions {
  clock: Clock;
  /** How long an action holds its target against contradicting or duplicate actions. Default 60 s. */
  windowMs?: number;
  /** Records kept. Default 10,000. */
  maxRecords?: number;
}

/** Action types where a second identical action by another loop would double the effect. */
const NON_IDEMPOTENT = new Set(['scale_out', 'scale_in', 'deploy_vsf']);

export function createLoopCoordinator(options: LoopCoordinatorOptions): LoopCoordinator {
  const windowMs = options.windowMs ?? 60_000;
  const maxRecords = options.maxRecords ?? 10_000;
  const claims = new Map<string, Array<{ at: number; claim: CoordinationClaim }>>();
  const history: CoordinationRecord[] = [];

  const record = (at: number, claim: CoordinationClaim, verdict: CoordinationVerdict): CoordinationVerdict => {
    history.push({ at, claim, ...verdict });
    if (history.length > maxRecords) history.splice(0, history.length - maxRecords);
    return verdict;
  };

  return {
    windowMs,
    arbitrate(claim) {
      const now = options.clock.now();
      const target = claim.action.target;
      const live = (claims.get(target) ?? []).filter((c) => now - c.at < Math.max(windowMs, c.claim.blocks?.windowMs ?? 0));
      claims.set(target, live);
      for (const { at, claim: other } of live) {
        const sameLoopPolicy = other.agentId === claim.agentId && other.policyId === claim.policyId;
        if (sameLoopPolicy) continue;
        const name = `${other.agentId}/${other.policyId}`;
        const b = other.blocks;
        if (b && other.agentId !== claim.agentId && now - at < b.windowMs) {
          const hit =
            b.levels?.includes(claim.level) || b.agents?.includes(claim.agentId) || b.policies?.includes(claim.policyId);
          if (hit) {
            return record(now, claim, {
              allowed: false,
              by: name,
              reason: `loop ${other.agentId} holds ${target} (policy ${other.policyId} blocks ${claim.level} loops) until ${at + b.windowMs}`,
            });
          }
        }
        if (now - at >= windowMs) continue;
        const kind = actionsContradict(other.action, claim.action);
        if (kind && claim.priority <= other.priority) {
          return record(now, claim, {
            allowed: false,
            by: name,
            reason: `${kind}: ${name} acted on ${target} at ${at} with priority ${other.priority} >= ${claim.priority}`,
          });
        }
        if (
          !kind &&
          other.agentId !== claim.agentId &&
          other.action.type === claim.action.type &&
          NON_IDEMPOTENT.has(claim.action.type) &&
          other.action.params.vsf === claim.action.params.vsf
        ) {
          return record(now, claim, {
            allowed: false,
            by: name,
            reason: `duplicate ${claim.action.type} on ${target}: ${name} already did it at ${at}`,
          });
        }
      }
      live.push({ at: now, claim });
      return record(now, claim, { allowed: true });
    },
    records(filter = {}) {
      return history.filter(
        (r) => (!filter.target || r.claim.action.target === filter.target) && (!filter.blockedOnly || !r.allowed),
      );
    },
  };
}
