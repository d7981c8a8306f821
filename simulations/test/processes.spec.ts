import assert from 'node:assert/strict';
import { resolveAgents, loadTopology, examplePath } from '@sliceguard/topology';
import { startNatsServer, type NatsServerHandle } from '@sliceguard/test-utils';
import { agentsSecurityLayer, InvalidSimulationOptionsError, placeAgents, runScenario, SimulationRunError } from '../src/index.js';
import { assertLedgerComplete } from './ledger.js';

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
    assertLedgerComplete(report);
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
    // the rogue's FL client (in its host) poisons too: the coordinator in host 0 rejects its ×50 updates
    assert.match(report.faults.find((x) => x.kind === 'fl-poisoning')?.detail ?? '', new RegExp(`now sends updates scaled ×50 \\(its FL client in agents host ${hostOf.get(report.faults.find((x) => x.kind === 'rogue-agent')!.target)}\\)`));
    assert.ok(report.flRounds.some((r) => /mno:gnb-3 \(norm_exceeded\)/.test(r.note ?? '')), JSON.stringify(report.flRounds));
    // the rogue is quarantined; the honest holder of the stolen key is not (its revoked credential's
    // rejections count once, each rejected message once) — as in one process
    const rogue = report.faults.find((x) => x.kind === 'rogue-agent')!.target;
    const trustActions = report.actions.filter((a) => a.type === 'quarantine' || a.type === 'revoke').map((a) => `${a.type} ${a.target} at ${a.t} s`);
    assert.ok(trustActions.some((a) => a.startsWith(`quarantine ${rogue} `)), trustActions.join('; '));
    assert.equal(trustActions.filter((a) => a.includes(` ${stolen!.target} `)).length, 0, trustActions.join('; '));
    const victimTrust = report.trust.filter((t) => t.agentId === stolen!.target).at(-1)?.score ?? 0;
    assert.ok(victimTrust > 0.25, `victim's trust ${victimTrust} must stay above the quarantine threshold`);
    // with the victim in service, every FL round after the rogue's quarantine still has 2 clients
    const quarantinedAt = report.actions.find((a) => a.type === 'quarantine' && a.target === rogue)!.t;
    const later = report.flRounds.filter((r) => r.t > quarantinedAt);
    assert.ok(later.length > 0 && later.every((r) => /^published/.test(r.note ?? '')), JSON.stringify(later));
  });

  it('fl-poisoning in 2 agents hosts: coordinator in host 0, FL clients in their NFs\' hosts; the poisoned updates are rejected and the global model stays usable', async () => {
    let hosts: Hosts = [];
    const { report } = await runScenario('fl-poisoning', {
      seed: 1,
      short: true,
      pace: 200,
      security: agentsSecurityLayer({ nats: server.url, processes: 2, onHosts: (h) => (hosts = h) }),
    });
    const hostOf = new Map(hosts.flatMap((h) => h.agents.map((a) => [a, h.index] as const)));
    // the two poisoning clients run in different processes, and not both beside the coordinator
    const poisoned = report.faults.filter((x) => x.kind === 'fl-poisoning');
    assert.equal(poisoned.length, 2, JSON.stringify(report.faults));
    for (const f of poisoned) assert.match(f.detail ?? '', new RegExp(`^${f.target} now sends .* \\(its FL client in agents host ${hostOf.get(`mno:${f.target}`)}\\)$`), f.detail);
    assert.notEqual(hostOf.get('mno:gnb-1'), hostOf.get('mno:gnb-2'));
    // as in one process: rounds published, the ×50 update rejected every round after the fault, the global model usable
    const published = report.flRounds.filter((r) => r.note?.startsWith('published'));
    assert.ok(published.length >= 3, JSON.stringify(report.flRounds));
    const after = report.flRounds.filter((r) => r.t > poisoned[0].t);
    assert.ok(after.length >= 3 && after.every((r) => r.note?.includes('mno:gnb-1 (norm_exceeded)')), JSON.stringify(after));
    const losses = published.map((r) => r.loss).filter((l): l is number => l !== undefined);
    assert.ok(losses.length > 0 && losses.every((l) => Number.isFinite(l) && l < 1), JSON.stringify(losses));
    // the global model's validation loss does not grow after the poisoning starts
    const before = published.filter((r) => r.t <= poisoned[0].t && r.loss !== undefined).at(-1)?.loss;
    assert.ok(before !== undefined && after.every((r) => r.loss === undefined || r.loss <= before * 1.05), JSON.stringify(report.flRounds));
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
    assert.ok(report.notes.includes('processes: 2/2 agents host(s) exited cleanly'), report.notes.join('\n'));
  });

  it('broker-failover in 2 agents hosts over the cluster the scenario starts: the busiest node is killed, every connection (agents, hosts, simulation) fails over, nothing lost', async () => {
    let hosts: Hosts = [];
    const { report } = await runScenario('broker-failover', {
      seed: 1,
      short: true,
      pace: 200,
      // no nats: the scenario's own 3-node cluster (a given server is not the simulation's to kill)
      security: agentsSecurityLayer({ processes: 2, onHosts: (h) => (hosts = h) }),
    });
    assert.equal(hosts.length, 2);
    const crash = report.faults.find((x) => x.kind === 'broker-crash');
    // a node with agents on it was killed, and with it the harness connection of a host or of the simulation (the observer's node never)
    assert.match(crash?.detail ?? '', /^killed nats-server nats-1 \(port \d+, SIGKILL\) with [1-9]\d* agent connection\(s\), \d+ FL connection\(s\) and the harness connection\(s\) of (host \d|the simulation)/, crash?.detail);
    assert.match(crash!.detail!, /every client \(14 in 2 agents host\(s\), and the simulation's\) reconnected/);
    assertLedgerComplete(report);
    assert.equal(report.notes.filter((n) => n.startsWith('lost message')).length, 0);
    // coordination went on after the crash, across processes
    assert.ok(report.messages.some((x) => x.kind === 'delegate' && x.t > crash!.t), 'a delegation after the crash');
    assert.ok(report.checks.every((c) => c.pass), JSON.stringify(report.checks));
    assert.ok(report.notes.includes('processes: 2/2 agents host(s) exited cleanly'), report.notes.join('\n'));
    for (const h of hosts) assert.equal(alive(h.pid), false, `host ${h.index} (pid ${h.pid}) exited`);
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

  it('rejects a bad process count and, for a scenario without its own cluster, a run without a nats-server', async () => {
    for (const processes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => agentsSecurityLayer({ nats: 'nats://127.0.0.1:4222', processes }), InvalidSimulationOptionsError, String(processes));
    }
    await assert.rejects(runScenario('signaling-storm', { seed: 1, short: true, security: agentsSecurityLayer({ processes: 2 }) }), (e: unknown) => {
      assert.ok(e instanceof InvalidSimulationOptionsError, String(e));
      assert.match((e as Error).message, /processes needs a nats-server .*only a scenario that starts its own nats-server cluster, such as broker-failover/);
      return true;
    });
  });

  it('broker-failover with a given nats-server: the broker crash is refused with the reason (the simulation kills only a node of the cluster it started)', async () => {
    const { report } = await runScenario('broker-failover', { seed: 1, short: true, pace: 400, security: agentsSecurityLayer({ nats: server.url, processes: 1 }) });
    const crash = report.faults.find((x) => x.kind === 'broker-crash');
    assert.match(crash?.detail ?? '', /^failed: broker-crash needs the scenario's own nats-server cluster \(brokers: 'nats-cluster'; run it without --nats\), not the given server nats:/, crash?.detail);
    assert.equal(report.checks.find((c) => c.name === 'broker crashed during the run')?.pass, false);
  });
});
