import assert from 'node:assert/strict';
import { type BusStatus, type InboundMessage, utf8 } from '@sliceguard/core';
import { createDomainAuthority } from '@sliceguard/identity';
import { startNatsCluster, startNatsServer } from '@sliceguard/test-utils';
import { type NatsBus, connectNatsBus } from '../src/index.js';
import { waitFor } from './compliance.js';

describe('NatsBus: reconnects, buffering, cluster failover', function () {
  this.timeout(60_000);
  const d1 = createDomainAuthority('d1');
  const store = d1.trustStore();
  const identity = () => d1.issue({ agentId: 'd1:tsm', level: 'domain' });

  it('reconnects after a server restart and resumes its subscriptions', async () => {
    const server = await startNatsServer();
    const buses: NatsBus[] = [];
    try {
      const rx = await connectNatsBus({ servers: server.url, identity: identity(), trustStore: store });
      const tx = await connectNatsBus({ servers: server.url, identity: identity(), trustStore: store });
      buses.push(rx, tx);
      const statuses: BusStatus['type'][] = [];
      rx.onStatus((s) => statuses.push(s.type));
      const got: InboundMessage[] = [];
      rx.subscribe('sg.d1.>', (m) => {
        got.push(m);
      });
      await rx.flush();
      await tx.publish('sg.d1.a', utf8('before'));
      await waitFor(() => got.length === 1, 5000, 'delivery before restart');
      await server.restart();
      await waitFor(() => statuses.includes('reconnected'), 15_000, 'rx reconnected');
      await waitFor(() => tx.isConnected, 15_000, 'tx reconnected');
      assert.ok(statuses.includes('disconnected'));
      await tx.flush();
      await tx.publish('sg.d1.b', utf8('after'));
      await waitFor(() => got.length === 2, 10_000, 'delivery after restart');
      assert.equal(got[1].subject, 'sg.d1.b');
    } finally {
      await Promise.all(buses.map((b) => b.close()));
      await server.stop();
    }
  });

  it('buffers within a bound while disconnected, drops and counts beyond it, publishes again after reconnecting', async () => {
    const server = await startNatsServer();
    const buses: NatsBus[] = [];
    try {
      const tx = await connectNatsBus({ servers: server.url, identity: identity(), trustStore: store, maxBufferedMessages: 5 });
      buses.push(tx);
      const down = new Promise<void>((resolve) => tx.onStatus((s) => s.type === 'disconnected' && resolve()));
      await server.stop();
      await down;
      for (let i = 0; i < 5; i++) await tx.publish('sg.d1.q', utf8(String(i)));
      await assert.rejects(tx.publish('sg.d1.q', utf8('6')), { code: 'BUS_ERR_BUFFER_FULL' });
      assert.equal(tx.stats().buffered, 5);
      assert.equal(tx.stats().droppedWhileDisconnected, 1);
      await server.restart();
      // a subscriber that joins after the restart cannot see the buffered ones; check they reach the server
      const rx = await connectNatsBus({ servers: server.url, identity: identity(), trustStore: store });
      buses.push(rx);
      const got: string[] = [];
      rx.subscribe('sg.d1.q', (m) => {
        got.push(Buffer.from(m.data).toString());
      });
      await rx.flush();
      await waitFor(() => tx.isConnected && tx.stats().buffered === 0, 15_000, 'tx reconnected');
      await tx.publish('sg.d1.q', utf8('live'));
      await waitFor(() => got.includes('live'), 10_000, 'live message after reconnect');
    } finally {
      await Promise.all(buses.map((b) => b.close()));
      await server.stop();
    }
  });

  it('keeps delivering through a 3-node cluster when the node a client uses is killed', async () => {
    const cluster = await startNatsCluster(3);
    const buses: NatsBus[] = [];
    try {
      const rx = await connectNatsBus({ servers: cluster.urls, identity: identity(), trustStore: store });
      const tx = await connectNatsBus({ servers: cluster.urls, identity: identity(), trustStore: store });
      buses.push(rx, tx);
      const got = new Set<number>();
      rx.subscribe('sg.d1.seq', (m) => {
        got.add(Number(Buffer.from(m.data).toString()));
      });
      await rx.flush();
      // wait for the subscription to propagate over the routes
      let n = 0;
      await waitFor(
        () => {
          void tx.publish('sg.d1.seq', utf8(String(n++)));
          return got.size > 0;
        },
        10_000,
        'first delivery through the cluster',
      );
      const rxServer = rx.server;
      const victim = cluster.nodes.find((node) => rxServer.endsWith(`:${node.port}`));
      assert.ok(victim, `rx connected to ${rxServer}, not one of ${cluster.urls}`);
      await victim.kill();
      await waitFor(() => rx.server !== rxServer, 15_000, 'rx failover to another node');
      await waitFor(() => !tx.server.endsWith(`:${victim.port}`), 15_000, 'tx on a live node');
      const start = n;
      await waitFor(
        () => {
          void tx.publish('sg.d1.seq', utf8(String(n++))).catch(() => {});
          return [...got].some((v) => v >= start);
        },
        15_000,
        'delivery after failover',
      );
      const after = n;
      for (let i = 0; i < 20; i++) await tx.publish('sg.d1.seq', utf8(String(n++)));
      await waitFor(() => [...got].filter((v) => v >= after).length === 20, 10_000, 'all messages after failover');
    } finally {
      await Promise.all(buses.map((b) => b.close()));
      await cluster.stop();
    }
  });

  it('leaves no sockets, timers or worker threads behind after close', async () => {
    const server = await startNatsServer();
    try {
      const count = (): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
        return out;
      };
      await new Promise((r) => setTimeout(r, 50));
      const before = count();
      const a = await connectNatsBus({ servers: server.url, identity: identity(), trustStore: store, verifyWorkers: 1 });
      const b = await connectNatsBus({ servers: server.url, identity: identity(), trustStore: store });
      b.subscribe('sg.d1._._._.control', (m) => {
        void b.respond(m, m.data);
      });
      await b.flush();
      await a.request('sg.d1._._._.control', utf8('ping'), { timeoutMs: 5000 });
      await assert.rejects(a.request('sg.d1.none', utf8('x'), { timeoutMs: 100 }));
      await Promise.all([a.drain(), b.close()]);
      await new Promise((r) => setTimeout(r, 100));
      const after = count();
      for (const kind of ['TCPSocketWrap', 'Timeout', 'MessagePort', 'Worker']) {
        assert.ok((after[kind] ?? 0) <= (before[kind] ?? 0), `${kind}: ${before[kind] ?? 0} before, ${after[kind] ?? 0} after (${JSON.stringify(after)})`);
      }
    } finally {
      await server.stop();
    }
  });

  it('fails to connect with a clear error', async () => {
    await assert.rejects(
      connectNatsBus({ servers: 'nats://127.0.0.1:1', identity: identity(), trustStore: store, maxReconnectAttempts: 0, connectTimeoutMs: 1000 }),
      (e: Error & { code: string }) => e.code === 'BUS_ERR_CONNECT' && e.message.includes('127.0.0.1:1'),
    );
  });
});
