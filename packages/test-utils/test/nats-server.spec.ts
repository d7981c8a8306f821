import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startNatsCluster, startNatsServer, waitUntil } from '../src/index.js';

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('test-utils: nats-server harness', () => {
  it('starts a server on a free port, restarts it and stops it', async () => {
    const server = await startNatsServer();
    try {
      assert.ok(await canConnect(server.port), 'server accepts TCP connections');
      await server.kill();
      assert.equal(await canConnect(server.port), false, 'killed server refuses connections');
      await server.restart();
      assert.ok(await canConnect(server.port), 'restarted server accepts connections');
    } finally {
      await server.stop();
    }
    assert.equal(await canConnect(server.port), false);
  });

  it('applies a max_payload limit (through a config file) that the server announces', async () => {
    const server = await startNatsServer({ maxPayload: 65536 });
    try {
      const res = await fetch(`http://127.0.0.1:${server.monitorPort}/varz`);
      const body = (await res.json()) as { max_payload: number };
      assert.equal(body.max_payload, 65536);
    } finally {
      await server.stop();
    }
  });

  it('starts a 3-node cluster with routes between every pair', async () => {
    const cluster = await startNatsCluster(3);
    try {
      assert.equal(cluster.urls.length, 3);
      for (const node of cluster.nodes) {
        const res = await fetch(`http://127.0.0.1:${node.monitorPort}/routez`);
        const body = (await res.json()) as { num_routes: number };
        assert.equal(body.num_routes, 2);
      }
    } finally {
      await cluster.stop();
    }
  });
});

describe('test-utils: waitUntil', () => {
  it('resolves once the check holds and rejects with what it waited for on timeout', async () => {
    let n = 0;
    await waitUntil(() => ++n >= 3, { intervalMs: 1 });
    assert.equal(n, 3);
    await assert.rejects(waitUntil(() => false, { timeoutMs: 20, what: () => 'the moon' }), /timed out after 20 ms waiting for the moon/);
  });
});
