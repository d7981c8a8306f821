import assert from 'node:assert/strict';
import {
  type Bus,
  type InboundMessage,
  type MessageHandler,
  type Principal,
  SimulatedClock,
  TimeoutError,
  utf8,
  fromUtf8,
} from '@sliceguard/core';
import { describe, it } from 'mocha';
import { createLoopCoordinator, createPolicyEngine, parsePolicies, remoteLoopCoordinator, serveLoopCoordinator } from '../src/index.js';
import { anomaly, incident } from './helpers.js';

/** A minimal in-memory Bus (request/reply only) standing in for @sliceguard/bus in unit tests. */
function testNetwork() {
  const handlers = new Map<string, MessageHandler>();
  let seq = 0;
  const bus = (self: Principal): Bus => {
    const message = (subject: string, data: Uint8Array, reply?: string): InboundMessage => ({
      subject,
      data,
      sender: self,
      timestamp: 0,
      seq: ++seq,
      reply,
      json: <T>() => JSON.parse(fromUtf8(data)) as T,
    });
    const b: Partial<Bus> = {
      self,
      subscribe(pattern, handler) {
        handlers.set(pattern, handler);
        return { pattern, closed: false, unsubscribe: () => handlers.delete(pattern) };
      },
      async requestJson<T>(subject: string, value: unknown) {
        const handler = handlers.get(subject);
        if (!handler) throw new TimeoutError(`no responder on ${subject}`);
        const reply = `_INBOX.${++seq}`;
        const answer = new Promise<T>((resolve) => handlers.set(reply, (m) => resolve(m.json<T>())));
        await handler(message(subject, utf8(JSON.stringify(value)), reply));
        return answer;
      },
      async respondJson(msg, value) {
        await handlers.get(msg.reply!)?.(message(msg.reply!, utf8(JSON.stringify(value))));
        handlers.delete(msg.reply!);
      },
    };
    return b as Bus;
  };
  return { bus };
}

const principal = (agentId: string, level: Principal['level']): Principal => ({ agentId, level, domain: 'd', publicKey: '00', credentialId: `c-${agentId}` });

const yaml = `
policies:
  - id: nf-scale-out
    scope: { level: nf }
    on: anomaly
    priority: 10
    do: [ { action: scale_out } ]
  - id: ss-scale-in
    scope: { level: subslice }
    on: incident
    priority: 5
    do: [ { action: scale_in } ]
`;

describe('loop coordinator over the bus', () => {
  it('engines in other processes are coordinated by the domain coordinator', async () => {
    const clock = new SimulatedClock();
    const net = testNetwork();
    const subject = 'sg.d._sys.policy.coordinate';
    const domainCoordinator = createLoopCoordinator({ clock });
    serveLoopCoordinator({ bus: net.bus(principal('d:tsm', 'domain')), coordinator: domainCoordinator, subject });
    const set = parsePolicies([{ text: yaml }]);
    const nfEngine = createPolicyEngine({ policies: set, clock, scope: { agentId: 'd:nf1', level: 'nf' }, coordinator: remoteLoopCoordinator({ bus: net.bus(principal('d:nf1', 'nf')), subject }) });
    const ssEngine = createPolicyEngine({ policies: set, clock, scope: { agentId: 'd:edge', level: 'subslice' }, coordinator: remoteLoopCoordinator({ bus: net.bus(principal('d:edge', 'subslice')), subject }) });
    const [out] = await nfEngine.decide(anomaly(), { agentId: 'd:nf1', level: 'nf', now: 0 });
    assert.equal(out.blocked, undefined);
    const [back] = await ssEngine.decide(incident(), { agentId: 'd:edge', level: 'subslice', now: 0 });
    assert.equal(back.blocked?.by, 'loop:d:nf1/nf-scale-out');
    assert.equal(domainCoordinator.records({ blockedOnly: true }).length, 1);
  });

  it('refuses a claim made for another loop than the verified sender', async () => {
    const clock = new SimulatedClock();
    const net = testNetwork();
    const subject = 'sg.d._sys.policy.coordinate';
    serveLoopCoordinator({ bus: net.bus(principal('d:tsm', 'domain')), coordinator: createLoopCoordinator({ clock }), subject });
    const liar = net.bus(principal('d:nf2', 'nf'));
    const verdict = await liar.requestJson<{ allowed: boolean; reason: string }>(subject, {
      agentId: 'd:nf1',
      level: 'nf',
      policyId: 'p',
      priority: 0,
      decisionId: 'x',
      action: { id: 'a', type: 'scale_out', target: 'nf1', params: {}, requestedBy: 'd:nf1', at: 0 },
    });
    assert.equal(verdict.allowed, false);
    assert.match(verdict.reason, /sent by d:nf2/);
  });

  it('an unreachable coordinator allows by default and blocks when asked to', async () => {
    const clock = new SimulatedClock();
    const net = testNetwork();
    const set = parsePolicies([{ text: yaml }]);
    const open = createPolicyEngine({ policies: set, clock, scope: { agentId: 'd:nf1', level: 'nf' }, coordinator: remoteLoopCoordinator({ bus: net.bus(principal('d:nf1', 'nf')), subject: 'nobody' }) });
    const [d1] = await open.decide(anomaly(), { agentId: 'd:nf1', level: 'nf', now: 0 });
    assert.equal(d1.blocked, undefined);
    const closed = createPolicyEngine({
      policies: set,
      clock,
      scope: { agentId: 'd:nf1', level: 'nf' },
      coordinator: remoteLoopCoordinator({ bus: net.bus(principal('d:nf1', 'nf')), subject: 'nobody', onUnavailable: 'block' }),
    });
    const [d2] = await closed.decide(anomaly(), { agentId: 'd:nf1', level: 'nf', now: 0 });
    assert.equal(d2.blocked?.by, 'loop:coordinator-unavailable');
  });
});
