import type { Bus, BusStats, InboundMessage, MessageHandler, Principal, PrincipalLevel, Subscription } from '@sliceguard/core';
import { decodeJson, emptyRejectCounts, encodeJson, subjectMatches } from '@sliceguard/core';

/**
 * A test double of core's Bus for unit tests that do not exercise signing: delivers in-process,
 * asynchronously, with the sender principal set from the constructor (as a verified bus would from
 * the credential). The integration tests use the real LocalBus / NatsBus.
 */
export interface MemoryNetwork {
  subs: Set<{ pattern: string; handler: MessageHandler; closed: boolean }>;
}

export function memoryNetwork(): MemoryNetwork {
  return { subs: new Set() };
}

export function principal(agentId: string, level: PrincipalLevel, domain = 'd1'): Principal {
  return { agentId, level, domain, publicKey: '00'.repeat(32), credentialId: `cred-${agentId}` };
}

export function memoryBus(network: MemoryNetwork, self: Principal): Bus {
  let seq = 0;
  let published = 0;
  let delivered = 0;
  const mine = new Set<{ pattern: string; handler: MessageHandler; closed: boolean }>();
  const bus: Bus = {
    self,
    async publish(subject, data) {
      published++;
      const msg: InboundMessage = {
        subject,
        data: new Uint8Array(data),
        sender: self,
        timestamp: Date.now(),
        seq: ++seq,
        json: <T>() => decodeJson<T>(data),
      };
      for (const s of network.subs) {
        if (s.closed || !subjectMatches(s.pattern, subject)) continue;
        setImmediate(() => {
          if (s.closed) return;
          delivered++;
          void s.handler(msg);
        });
      }
    },
    publishJson(subject, value) {
      return bus.publish(subject, encodeJson(value));
    },
    subscribe(pattern, handler): Subscription {
      const entry = { pattern, handler, closed: false };
      network.subs.add(entry);
      mine.add(entry);
      return {
        pattern,
        get closed() {
          return entry.closed;
        },
        unsubscribe() {
          entry.closed = true;
          network.subs.delete(entry);
        },
      };
    },
    async request() {
      throw new Error('memory bus: request not supported');
    },
    async requestJson() {
      throw new Error('memory bus: request not supported');
    },
    async respond() {},
    async respondJson() {},
    async flush() {},
    async drain() {
      await bus.close();
    },
    async close() {
      for (const e of mine) {
        e.closed = true;
        network.subs.delete(e);
      }
    },
    onStatus: () => () => {},
    onReject: () => () => {},
    stats(): BusStats {
      return { published, delivered, rejected: emptyRejectCounts(), buffered: 0, droppedWhileDisconnected: 0 };
    },
  };
  return bus;
}
