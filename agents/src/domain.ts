import type { SecurityEvent } from '@sliceguard/core';
import { idGenerator, seededRng } from '@sliceguard/core';
import type { SslaManager } from '@sliceguard/policy';
import { createSslaManager } from '@sliceguard/policy';
import type { TrustManager } from '@sliceguard/trust';
import type { Agent, AgentOptions } from './agent.js';
import { createAgent } from './agent.js';
import { AgentConfigError } from './errors.js';
import type { Supervisor, SupervisorOptions } from './supervisor.js';
import { createSupervisor } from './supervisor.js';

export interface DomainAgentOptions extends AgentOptions {
  /** The Trust Manager of the domain (createTrustManager); every agent of the domain is registered with its TLA. */
  trustManager?: TrustManager;
  supervisor?: Partial<Omit<SupervisorOptions, 'spec' | 'directory' | 'bus' | 'clock' | 'ids' | 'knowledge' | 'logger'>>;
}

export interface DomainAgent extends Agent {
  readonly supervisor: Supervisor;
  readonly ssla: SslaManager;
  readonly trustManager?: TrustManager;
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
    ...(options.supervisor ?? {}),
  });
  const offReject = trustManager
    ? options.bus.onReject((reason, info) => {
        if (!info.sender || reason === 'handler_error') return;
        trustManager.record({ subject: info.sender, attribute: 'message_validity', positive: 0, negative: 1, source: spec.agentId, at: clock.now(), reason: `bus rejected a message (${reason}) on ${info.subject}` });
      })
    : () => {};
  const baseStart = agent.start.bind(agent);
  const baseStop = agent.stop.bind(agent);
  return Object.assign(agent, {
    supervisor,
    ssla,
    ...(trustManager ? { trustManager } : {}),
    async start() {
      await baseStart();
      if (agent.loop.state === 'instantiated') await agent.loop.activate('domain agent start', spec.agentId);
      await supervisor.start();
    },
    async stop() {
      supervisor.stop();
      ssla.stop();
      offReject();
      await baseStop();
    },
  });
}
