import type { ActionRequest, AgentLevel, Bus, Clock, InboundMessage, Logger, Subscription } from '@sliceguard/core';
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
  /** Synchronous in process; a remote coordinator (over the bus) answers asynchronously. */
  arbitrate(claim: CoordinationClaim): CoordinationVerdict | Promise<CoordinationVerdict>;
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

export function createLoopCoordinator(options: LoopCoordinatorOptions): LoopCoordinator & { arbitrate(claim: CoordinationClaim): CoordinationVerdict } {
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

export interface ServeLoopCoordinatorOptions {
  bus: Bus;
  coordinator: LoopCoordinator;
  /** Request subject, e.g. systemSubject(domain, 'policy', 'coordinate'); senders' credentials must allow it. */
  subject: string;
  logger?: Logger;
}

/**
 * Serves a domain's coordinator over the bus, for loops in other processes. The claim's `agentId` and
 * `level` must be the verified sender's (a loop cannot claim for another); mismatches are refused.
 */
export function serveLoopCoordinator(options: ServeLoopCoordinatorOptions): Subscription {
  const { bus, coordinator } = options;
  return bus.subscribe(options.subject, async (msg: InboundMessage) => {
    if (!msg.reply) return;
    let verdict: CoordinationVerdict;
    try {
      const claim = msg.json<CoordinationClaim>();
      if (!claim || typeof claim !== 'object' || !claim.action || typeof claim.action.target !== 'string') {
        verdict = { allowed: false, by: 'coordinator', reason: 'malformed coordination claim' };
      } else if (claim.agentId !== msg.sender.agentId || claim.level !== msg.sender.level) {
        verdict = { allowed: false, by: 'coordinator', reason: `claim for ${claim.agentId} (${claim.level}) sent by ${msg.sender.agentId} (${msg.sender.level})` };
      } else verdict = await coordinator.arbitrate(claim);
    } catch (err) {
      verdict = { allowed: false, by: 'coordinator', reason: `bad claim: ${(err as Error).message}` };
    }
    try {
      await bus.respondJson(msg, verdict);
    } catch (err) {
      options.logger?.warn({ err: String(err) }, 'coordination reply failed');
    }
  });
}

export interface RemoteLoopCoordinatorOptions {
  bus: Bus;
  subject: string;
  /** Default 2000 ms. */
  timeoutMs?: number;
  /**
   * When the coordinator does not answer: `allow` (default — a mitigation is not held back by a
   * missing coordinator; the verdict's reason says so) or `block`.
   */
  onUnavailable?: 'allow' | 'block';
  logger?: Logger;
}

/** A LoopCoordinator that asks a coordinator served elsewhere (serveLoopCoordinator) over the bus. */
export function remoteLoopCoordinator(options: RemoteLoopCoordinatorOptions): LoopCoordinator {
  const unavailable = options.onUnavailable ?? 'allow';
  const local: CoordinationRecord[] = [];
  return {
    windowMs: Number.NaN,
    async arbitrate(claim) {
      let verdict: CoordinationVerdict;
      try {
        verdict = await options.bus.requestJson<CoordinationVerdict>(options.subject, claim, { timeoutMs: options.timeoutMs ?? 2000 });
        if (typeof verdict?.allowed !== 'boolean') throw new Error('malformed coordinator answer');
      } catch (err) {
        options.logger?.warn({ err: String(err), action: claim.action.id }, 'loop coordinator unavailable');
        verdict =
          unavailable === 'allow'
            ? { allowed: true, reason: `coordinator unavailable (${(err as Error).message}); allowed` }
            : { allowed: false, by: 'coordinator-unavailable', reason: (err as Error).message };
      }
      local.push({ at: claim.action.at, claim, ...verdict });
      if (local.length > 1000) local.shift();
      return verdict;
    },
    records: (filter = {}) =>
      local.filter((r) => (!filter.target || r.claim.action.target === filter.target) && (!filter.blockedOnly || !r.allowed)),
  };
}
