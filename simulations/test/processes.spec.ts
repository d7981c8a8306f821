import assert from 'node:assert/strict';
import { resolveAgents, loadTopology, examplePath } from '@sliceguard/topology';
import { startNatsServer, type NatsServerHandle } from '@sliceguard/test-utils';
import { agentsSecurityLayer, InvalidSimulationOptionsError, placeAgents, runScenario, SimulationRunError } from '../src/index.js';

type Hosts = readonly { index: number; pid: number; agents: readonly string[] }[];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('simulations: agents spread over processes (--processes) over a real nats-server', function () {
  this.timeout(120_000);
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('places the domain agents in host 0 and the other loops round-robin', async () => {
    const specs = resolveAgents(await loadTopology(examplePath('embb-5g'))).filter((s) => s.level !== 'coordinator');
    const placement = placeAgents(specs, 3);
    assert.equal(placement.size, specs.length);
    for (const s of specs.filter((x) => x.level === 'domain')) assert.equal(placement.get(s.agentId), 0);
    const loops = specs.filter((x) => x.level !== 'domain').map((s) => placement.get(s.agentId));
    assert.deepEqual(loops, loops.map((_, k) => k % 3));
  });

  it('signaling-storm in 2 agents hosts: detected, AMF/SMF scaled out by a loop in a child process, restart resumed, nothing lost, hosts exit', async () => {
    let hosts: Hosts = [];
    const { report } = await runScenario('signaling-storm', {
      seed: 1,
      short: true,
      pace: 200,
      security: agentsSecurityLayer({ nats: server.url, processes: 2, onHosts: (h) => (hosts = h) }),
    });
    // two child processes, every agent of the topology in exactly one of them
    assert.equal(hosts.length, 2);
    for (const h of hosts) assert.ok(h.pid > 0 && h.pid !== process.pid && h.agents.length > 0, JSON.stringify(h));
    const hostOf = new Map(hosts.flatMap((h) => h.agents.map((a) => [a, h.index] as const)));
    assert.equal(hostOf.size, hosts[0].agents.length + hosts[1].agents.length, 'no agent runs twice');
    assert.ok(hostOf.has('mno:tsm') && hostOf.has('mno:embb-cn') && hostOf.has('mno:gnb-1'));

    // detection from the NF agents' detectors, in the children (reconstruction scores crossed over)
    assert.equal(report.figures.detection.attacksDetected, 1, JSON.stringify(report.figures.windows));
    assert.ok(report.verdicts.length > 100 && report.verdicts.some((v) => v.anomalous));
    // mitigation: a loop in a child process asked, the world's MANO carried it out
    const scaled = report.actions.filter((a) => a.type === 'scale_out' && a.status === 'succeeded' && /amf|smf/.test(a.target) && !a.requestedBy.startsWith('mano:'));
    assert.ok(scaled.length > 0, JSON.stringify(report.actions.filter((a) => a.type === 'scale_out')));
    for (const a of scaled) assert.ok(hostOf.has(a.requestedBy), `${a.requestedBy} runs in an agents host`);
    assert.ok(report.figures.messages.byKind.delegate > 0, 'delegation observed on the wire');
    assert.equal(report.figures.benignMitigations, 0);
    // the RAN sub-slice agent restarted inside its host and escalated again
    const restart = report.faults.find((x) => x.kind === 'agent-restart');
    assert.match(restart?.detail ?? '', new RegExp(`stopped and started again in agents host ${hostOf.get(restart!.target)}`));
    assert.ok(report.messages.some((m) => m.from === restart!.target && m.kind === 'escalate' && m.t > restart!.t));
    // nothing lost across processes: every escalation and delegation received, every outcome back
    const ledger = report.notes.find((n) => n.startsWith('coordination ledger'));
    const m = /escalations (\d+) sent \/ (\d+) received; delegations (\d+) sent \/ (\d+) received \/ (\d+) outcomes back; \d+ retried copies; (\d+) lost/.exec(ledger ?? '');
    assert.ok(m, ledger);
    const [, escSent, escRecv, delSent, delRecv, outcomes, lost] = m.map(Number);
    assert.ok(escSent > 0 && delSent > 0, ledger);
    assert.equal(escRecv, escSent, ledger);
    assert.equal(delRecv, delSent, ledger);
    assert.equal(outcomes, delSent, ledger);
    assert.equal(lost, 0, ledger);
    assert.equal(report.figures.messages.sent > 0, true);
    assert.deepEqual(report.figures.messages.rejected, {}, 'no signed message rejected');
    // trust scores come from the domain agent's Trust Manager in host 0
    assert.ok(report.trust.some((t) => t.agentId === 'mno:gnb-1'));
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
    // the hosts exited on their own, cleanly
    assert.ok(report.notes.includes('processes: 2/2 agents host(s) exited cleanly'), report.notes.join('\n'));
    for (const h of hosts) assert.equal(alive(h.pid), false, `host ${h.index} (pid ${h.pid}) exited`);
  });

  it('rogue-agent in 2 agents hosts: the rogue is quarantined by the Trust Manager of host 0; the stolen key is revoked by the root there and refused everywhere', async () => {
    let hosts: Hosts = [];
    const { report } = await runScenario('rogue-agent', {
      seed: 1,
      short: true,
      pace: 200,
      security: agentsSecurityLayer({ nats: server.url, processes: 2, onHosts: (h) => (hosts = h) }),
    });
    const hostOf = new Map(hosts.flatMap((h) => h.agents.map((a) => [a, h.index] as const)));
    const stolen = report.faults.find((x) => x.kind === 'stolen-key' && x.detail?.startsWith('result:'));
    // this test means something only when the victim runs in another process than the domain root
    assert.notEqual(hostOf.get(stolen!.target), hostOf.get('mno:tsm'));
    assert.match(stolen?.detail ?? '', /deliveredAfterRevocation=0 .*revoked=true/);
    assert.ok(Number(/rejectedRevokedByAgents=(\d+)/.exec(stolen!.detail!)![1]) > 0, stolen!.detail);
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
    // what a multi-process run does not do is said, not silently dropped
    assert.match(report.faults.find((x) => x.kind === 'fl-poisoning')?.detail ?? '', /^skipped: .* does not support fl-poisoning/);
    assert.ok(report.notes.some((n) => n.startsWith('processes: federated learning is not run')));
  });

  it('a crashed agents host is reported and ends the run; the other host exits', async () => {
    let hosts: Hosts = [];
    let killed = false;
    const run = runScenario('signaling-storm', {
      seed: 1,
      short: true,
      pace: 200,
      security: agentsSecurityLayer({ nats: server.url, processes: 2, onHosts: (h) => (hosts = h) }),
      onProgress: (done) => {
        if (!killed && done >= 60_000 && hosts[1]) {
          killed = true;
          process.kill(hosts[1].pid, 'SIGKILL');
        }
      },
    });
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof SimulationRunError, String(e));
      assert.match((e as Error).message, new RegExp(`agents host 1 \\(pid ${hosts[1].pid};.*\\) exited with signal SIGKILL during the run`));
      return true;
    });
    assert.ok(killed);
    for (const h of hosts) assert.equal(alive(h.pid), false, `host ${h.index} (pid ${h.pid}) exited`);
  });

  it('rejects a bad process count and a run without a nats-server', () => {
    for (const processes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => agentsSecurityLayer({ nats: 'nats://127.0.0.1:4222', processes }), InvalidSimulationOptionsError, String(processes));
    }
    assert.throws(() => agentsSecurityLayer({ processes: 2 }), /processes needs a nats-server/);
  });
});
