import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryKv, seededRng, silentLogger, systemClock } from '@sliceguard/core';
import { connectNatsBus } from '@sliceguard/bus';
import type { NatsBus } from '@sliceguard/bus';
import { createCoordinator } from '@sliceguard/federation';
import type { Coordinator } from '@sliceguard/federation';
import { createDomainAuthority, TrustStore, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { edgeTopologyYaml, type NatsServerHandle, startNatsServer, waitUntil } from '@sliceguard/test-utils';
import type { RunningAgent } from '../src/index.js';
import { runAgentProcess } from '../src/index.js';

const METRICS = ['cpu_usage', 'http_requests_per_s', 'http_response_ms'];
const TOPOLOGY = edgeTopologyYaml(['web-1', 'web-2'].map((id) => `id: ${id}, type: web, kind: cnf, metrics: [${METRICS.join(', ')}]`));

function csv(seed: string, load: number, rows = 300): string {
  const rng = seededRng(seed);
  const lines = [METRICS.join(',')];
  for (let i = 0; i < rows; i++) lines.push([0.4 * load + rng.normal(0, 0.02), 200 * load + rng.normal(0, 10), 35 + rng.normal(0, 2)].map((v) => v.toFixed(4)).join(','));
  return `${lines.join('\n')}\n`;
}

describe('integration: NF agent processes run FL clients for their LSTM over a real nats-server', function () {
  this.timeout(60_000);
  let nats: NatsServerHandle;
  let dir: string;
  let coordinatorBus: NatsBus | undefined;
  let coordinator: Coordinator | undefined;
  const agents: RunningAgent[] = [];
  const authority = createDomainAuthority('d1');
  const roots = [{ domain: 'd1', publicKey: authority.publicKeyHex }];

  const startAgent = (name: string): Promise<RunningAgent> =>
    runAgentProcess({
      topologyFile: join(dir, 'topology.yaml'),
      agentId: `d1:${name}`,
      nats: nats.url,
      keyFile: join(dir, name, 'agent.key'),
      credentialFile: join(dir, name, 'agent.cred'),
      dataDir: join(dir, name, 'data'),
      roots,
      csv: join(dir, name, 'metrics.csv'),
      samplingMs: 50,
      logLevel: 'silent',
      httpPort: 0,
      detector: 'lstm',
      learning: { window: 5, units: 4, bufferSize: 80, minSamples: 20, backend: 'cpu', heartbeatMs: 500 },
    });

  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'sg-learning-'));
    writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
    const trustStore = new TrustStore({ roots });
    coordinatorBus = await connectNatsBus({ servers: nats.url, identity: authority.issue({ agentId: 'd1:fl', level: 'coordinator' }), trustStore, clock: systemClock(), logger: silentLogger() });
    coordinator = createCoordinator({ bus: coordinatorBus, domain: 'd1', kv: memoryKv(), models: [{ name: 'web' }], minClients: 2, roundTimeoutMs: 30_000 });
    await coordinator.start();
    for (const [name, load] of [
      ['web-1', 1],
      ['web-2', 1.4],
    ] as const) {
      // default credential: the NF level's scopes include sg.d1._fl.*.join and sg.d1._fl.*.update
      const id = authority.issue({ agentId: `d1:${name}`, level: 'nf', slice: 's1', subslice: 'edge1', nf: name });
      const adir = join(dir, name);
      mkdirSync(adir, { recursive: true });
      writeKeyFile(join(adir, 'agent.key'), id.keyPair);
      writeCredentialFile(join(adir, 'agent.cred'), id.credential);
      writeFileSync(join(adir, 'metrics.csv'), csv(name, load));
      agents.push(await startAgent(name));
    }
    // no domain agent here: activate the NF loops directly
    for (const a of agents) await a.agent.loop.activate('test', 'test');
  });
  after(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    await coordinator?.stop();
    await coordinatorBus?.close().catch(() => {});
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown detector before connecting', async () => {
    await assert.rejects(
      runAgentProcess({
        topologyFile: join(dir, 'topology.yaml'),
        agentId: 'd1:web-1',
        nats: 'nats://127.0.0.1:1',
        keyFile: join(dir, 'web-1', 'agent.key'),
        credentialFile: join(dir, 'web-1', 'agent.cred'),
        dataDir: join(dir, 'unused'),
        roots,
        csv: join(dir, 'web-1', 'metrics.csv'),
        logLevel: 'silent',
        detector: 'isolation-forest' as 'lstm',
      }),
      /detector must be one of statistical, lstm/,
    );
  });

  it('both agents join, train and send updates; each installs the aggregated version and reports it on its HTTP API', async () => {
    const c = coordinator!;
    await waitUntil(() => c.clients('web').length === 2, { timeoutMs: 20_000, what: () => `two clients joined (${c.clients('web').join(', ')})` });
    const seed = await c.runRound('web');
    assert.equal(seed.outcome, 'published', JSON.stringify(seed));
    await waitUntil(() => agents.every((a) => a.learner!.state().installedVersion === 1), { timeoutMs: 20_000, what: 'version 1 installed by both agents' });
    const round = await c.runRound('web');
    assert.equal(round.outcome, 'published', JSON.stringify(round));
    assert.equal(round.version, 2);
    assert.deepEqual([...round.accepted].sort(), ['d1:web-1', 'd1:web-2']);
    await waitUntil(() => agents.every((a) => a.learner!.state().installedVersion === 2), { timeoutMs: 20_000, what: 'version 2 installed by both agents' });
    const thresholds: number[] = [];
    for (const a of agents) {
      const res = await fetch(`${a.httpAddress}/v1/status`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { loops: { config: { learning: { installedVersion: number; active: string; threshold: number; mode: string; trained: number } } }[] };
      const learning = body.loops[0].config.learning;
      assert.equal(learning.installedVersion, 2);
      assert.equal(learning.active, 'lstm');
      assert.equal(learning.mode, 'federated');
      assert.ok(learning.trained >= 1);
      assert.ok(learning.threshold > 0);
      thresholds.push(learning.threshold);
    }
    // one global model, two thresholds: each agent recalibrated on its own (differently loaded) data
    assert.notEqual(thresholds[0], thresholds[1]);
  });

  it('a restarted agent process reloads its installed model and buffer from its LevelDB store', async () => {
    const old = agents.pop()!;
    const rows = old.learner!.state().bufferedRows;
    await old.stop();
    const again = await startAgent('web-2');
    agents.push(again);
    const s = again.learner!.state();
    assert.equal(s.installedVersion, 2);
    assert.equal(s.active, 'lstm');
    assert.equal(s.bufferedRows, rows, 'the whole buffer was persisted at stop');
  });
});
