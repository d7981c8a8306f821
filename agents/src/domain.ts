import type { SecurityEvent } from '@sliceguard/core';
import { idGenerator, seededRng, silentLogger } from '@sliceguard/core';
import type { SslaManager } from '@sliceguard/policy';
import { createSslaManager } from '@sliceguard/policy';
import type { RevocationList } from '@sliceguard/identity';
import { publishRevocations } from '@sliceguard/bus';
import type { TrustManager, TrustTransitionEvent } from '@sliceguard/trust';
import type { Agent, AgentOptions } from './agent.js';
import { createAgent } from './agent.js';
import { AgentConfigError } from './errors.js';
import type { Supervisor, SupervisorOptions } from './supervisor.js';
import { createSupervisor } from './supervisor.js';

export interface DomainAgentOptions extends AgentOptions {
  /** The Trust Manager of the domain (createTrustManager); every agent of the domain is registered with its TLA. */
  trustManager?: TrustManager;
  supervisor?: Partial<Omit<SupervisorOptions, 'spec' | 'directory' | 'bus' | 'clock' | 'ids' | 'knowledge' | 'logger'>>;
  /**
   * Revokes agents' credentials when the Trust Manager reaches its `revoke` threshold (wire the
   * manager's `onRevoke` to `DomainAgent.revoke`). Given when this agent holds the domain root
   * (`sliceguard up`, in-process): map agent ids to credential ids and publish the signed list.
   * Omitted: the revocation is recorded as needing the root (an operator runs it).
   */
  revocation?: {
    /** Signs the next cumulative revocation list (a DomainAuthority, or a root key with a persisted sequence). */
    authority: { revoke(credentialIds: string[]): RevocationList | Promise<RevocationList> };
    /** Agent id → credential id of the credentials issued to it. */
    credentialOf: (agentId: string) => string | undefined;
  };
}

export interface DomainAgent extends Agent {
  readonly supervisor: Supervisor;
  readonly ssla: SslaManager;
  readonly trustManager?: TrustManager;
  /** The Trust Manager's `onRevoke` target: revokes the agent's credential (or records that the root must). */
  revoke(agentId: string, event: TrustTransitionEvent): Promise<void>;
}

/**
 * The domain agent: the Trust & Security Manager host. Its own loop correlates slice incidents;
 * around it sit the Security Orchestrator (the supervisor: lifecycle of every loop of the domain
 * over the bus), the SSLA manager (time to detect / mitigate of incidents reported by the slices)
 * and the Trust Manager (evidence from bus rejections and from the coordination layer).
 */
export async function createDomainAgent(options: DomainAgentOptions): Promise<DomainAgent> {
  const { spec, clock } = options;
  if (spec.level !== 'domain') throw new AgentConfigError(`${spec.agentId} is a ${spec.level} agent, not a domain agent`, { agentId: spec.agentId });
  const trustManager = options.trustManager;
  if (trustManager) {
    for (const s of options.directory.values()) {
      if (s.domain !== spec.domain) continue;
      // An entity without TLA attributes is judged on the manager's default TLA.
      const hasTla = Object.values(s.tla.attributes ?? {}).some((a) => (a?.weight ?? 0) > 0);
      trustManager.register(s.agentId, { ...(hasTla ? { tla: s.tla } : {}), ...(s.agentId === spec.agentId ? { anchor: true } : {}) });
    }
  }
  const agent = await createAgent({
    ...options,
    ...(trustManager ? { trustSink: options.trustSink ?? trustManager, trust: options.trust ?? trustManager } : {}),
  });
  let violationSink: ((event: SecurityEvent) => void) | undefined;
  const ssla = createSslaManager({
    clock,
    spec: spec.ssla,
    target: spec.domain,
    source: spec.agentId,
    onViolation: (event) => violationSink?.(event),
  });
  violationSink = (event) => {
    if (!agent.loop.pushEvent(event)) void agent.knowledge.record('incident', event, clock.now());
  };
  agent.coordinator.on((n) => {
    if (n.type === 'escalation_received') {
      const ev = n.message.event as SecurityEvent & { evidence?: { window?: { start: number } } };
      const corr = n.message.correlationId;
      ssla.recordOnset(corr, ev.evidence?.window?.start ?? ev.at);
      ssla.recordDetection(corr, ev.at);
    } else if (n.type === 'incident_outcome' && n.message.success) {
      ssla.recordMitigation(n.message.correlationId, n.message.at);
    }
  });
  const supervisor = createSupervisor({
    spec,
    directory: options.directory,
    bus: options.bus,
    clock,
    ids: options.ids ?? idGenerator(options.rng?.fork('supervisor') ?? seededRng(`${spec.agentId}:supervisor`), `${spec.agentId}-sup`),
    knowledge: agent.knowledge,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.coordination?.heartbeatMs !== undefined ? { heartbeatMs: options.coordination.heartbeatMs } : {}),
    onLoopEvent: (kind, agentId, details) => {
      agent.loop.pushEvent({ type: 'management', id: `${kind}-${agentId}-${clock.now()}`, at: clock.now(), source: spec.agentId, target: agentId, severity: 0.6, kind, details });
      trustManager?.record({ subject: agentId, attribute: 'ssla', positive: kind === 'loop_back' ? 0.5 : 0, negative: kind === 'loop_missing' ? 1 : 0, source: spec.agentId, at: clock.now(), reason: kind });
    },
    // A quarantined agent's loop that restarts (reports `instantiated`) stays out of service.
    ...(trustManager ? { mayActivate: (agentId: string) => !trustManager.actions(agentId).includes('quarantine') } : {}),
    ...(options.supervisor ?? {}),
  });
  // Bus rejections (weighted by reason, capped per minute) and signed peer ratings feed the manager.
  const detachTrust = trustManager ? trustManager.attachToBus(options.bus, { domain: spec.domain }) : () => {};
  const logger = options.logger ?? silentLogger();
  const offTransition = trustManager
    ? trustManager.onTransition((e) => {
        if (!agent.loop.pushEvent(e)) void agent.knowledge.record('incident', e, clock.now());
        if (e.subject === spec.agentId || !supervisor.loops().some((l) => l.agentId === e.subject)) return;
        // The Security Orchestrator takes a quarantined agent's loop out of service, and back when lifted.
        const command = e.added.includes('quarantine') ? 'deactivate' : e.lifted.includes('quarantine') && !e.active.includes('quarantine') ? 'activate' : undefined;
        if (!command) return;
        void agent.knowledge.record('lifecycle', { what: `trust_${command}`, agentId: e.subject, from: e.from, to: e.to, score: e.score }, clock.now()).catch(() => {});
        supervisor
          .command(e.subject, command, `trust ${e.from} -> ${e.to} (score ${e.score.toFixed(2)})`)
          .catch((error: unknown) => logger.warn({ err: error, agentId: e.subject, command }, 'trust lifecycle command not acknowledged'));
      })
    : () => {};
  const revoked = new Set<string>();
  const revoke = async (agentId: string, event: TrustTransitionEvent): Promise<void> => {
    const r = options.revocation;
    const credentialId = r?.credentialOf(agentId);
    if (!r || !credentialId) {
      // Revocation is final for the trust manager; without the root it cannot be published here.
      await agent.knowledge.record('decision', { what: r ? 'revocation_without_credential' : 'revocation_needs_root', agentId, score: event.score, reason: event.reason, credentialId: credentialId ?? null }, clock.now());
      logger.warn({ agentId, score: event.score }, r ? 'trust: no credential found for the agent to revoke' : 'trust: revocation needs the domain root (run `sliceguard credential revoke`)');
      return;
    }
    revoked.add(credentialId);
    await publishRevocations(options.bus, await r.authority.revoke([...revoked]));
    await agent.knowledge.record('decision', { what: 'credential_revoked', agentId, credentialId, score: event.score, reason: event.reason }, clock.now());
  };
  const baseStart = agent.start.bind(agent);
  const baseStop = agent.stop.bind(agent);
  return Object.assign(agent, {
    supervisor,
    ssla,
    ...(trustManager ? { trustManager } : {}),
    revoke,
    async start() {
      await baseStart();
      if (agent.loop.state === 'instantiated') await agent.loop.activate('domain agent start', spec.agentId);
      await supervisor.start();
      trustManager?.start();
    },
    async stop() {
      supervisor.stop();
      ssla.stop();
      detachTrust();
      offTransition();
      trustManager?.stop();
      await baseStop();
    },
  });
}
