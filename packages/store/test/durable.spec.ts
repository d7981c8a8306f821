import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryKv, SimulatedClock, toHex } from '@sliceguard/core';
import { nodeEd25519Signer, verifyAuditLog } from '../src/audit.js';
import { DurableState } from '../src/durable.js';
import { createStore, openStore } from '../src/store.js';
import { tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'crash-writer.js');
const signer = nodeEd25519Signer(new Uint8Array(32).fill(7));

/** Runs the writer until it has acknowledged `minAcks` steps, then SIGKILLs it. */
function runAndKill(dir: string, minAcks: number, args: string[] = []): Promise<{ lastAck: number; start: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    let lastAck = 0;
    let start = -1;
    let acks = 0;
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [word, n] = line.split(' ');
        if (word === 'ready') start = Number(n);
        if (word === 'ack') {
          lastAck = Number(n);
          acks++;
        }
        nl = buf.indexOf('\n');
      }
      if (!killed && acks >= minAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (!killed) reject(new Error(`writer exited before it was killed: ${stderr}`));
      else resolve({ lastAck, start, signal });
    });
  });
}

describe('DurableState', () => {
  it('commits incident, delegations, loop state, decisions and audit in one batch and recovers them', async () => {
    const kv = memoryKv();
    const clock = new SimulatedClock(10);
    const s = createStore(kv, { clock, audit: { signer } });
    const state = new DurableState(s, 'a1');
    await state.commit({
      loopState: { agentId: 'a1', lifecycle: 'active', config: { samplingMs: 500 }, iteration: 3, updatedAt: 10 },
      incidents: [
        { id: 'i1', agentId: 'a1', level: 'subslice', kind: 'k', target: 't', severity: 1, status: 'mitigating', openedAt: 1, updatedAt: 2, events: [], decisionIds: [], actionIds: [] },
        { id: 'i2', agentId: 'a1', level: 'subslice', kind: 'k', target: 't', severity: 1, status: 'resolved', openedAt: 1, updatedAt: 2, events: [], decisionIds: [], actionIds: [] },
        { id: 'i3', agentId: 'other', level: 'subslice', kind: 'k', target: 't', severity: 1, status: 'open', openedAt: 1, updatedAt: 2, events: [], decisionIds: [], actionIds: [] },
      ],
      delegations: [
        { id: 'd1', direction: 'outgoing', from: 'a1', to: 'b', action: 'scale_out', target: 'amf', params: {}, deadline: 99, status: 'accepted', createdAt: 1, updatedAt: 1 },
        { id: 'd2', direction: 'incoming', from: 'p', to: 'a1', action: 'block', target: '10.0.0.1', params: {}, deadline: 99, status: 'done', createdAt: 1, updatedAt: 1 },
      ],
      decisions: [{ id: 'dec', eventId: 'e', actions: [], reason: 'r', at: 1 }],
      audit: [{ kind: 'incident', actor: 'a1', data: { opened: 'i1' } }],
    });
    const snap = await state.recover();
    equal(snap.loopState?.iteration, 3);
    deepStrictEqual(snap.openIncidents.map((i) => i.id), ['i1']);
    deepStrictEqual(snap.pendingDelegations.map((d) => d.id), ['d1']);
    equal((await verifyAuditLog(kv, { publicKey: toHex(signer.publicKey) })).checked, 1);
  });

  it('refuses audit entries without an audit log, and loop state of another agent', async () => {
    const s = createStore(memoryKv(), { clock: new SimulatedClock(0) });
    const state = new DurableState(s, 'a1');
    await rejects(async () => state.commit({ audit: [{ kind: 'x', actor: 'a1', data: {} }] }), { code: 'STORE_ERR_INVALID_OPTIONS' });
    await rejects(async () => state.commit({ loopState: { agentId: 'b', lifecycle: 'active', config: {}, iteration: 1, updatedAt: 1 } }), {
      code: 'STORE_ERR_INVALID_OPTIONS',
    });
  });

  it('loses nothing acknowledged when the writer process is killed with SIGKILL, twice', async function () {
    this.timeout(60_000);
    const { dir, cleanup } = tempDir('sg-crash-');
    try {
      let expectedStart = 0;
      for (let round = 0; round < 2; round++) {
        // round 1: default retention; round 2: an audit log of 40 records and 100 history windows,
        // so pruning and the signed anchor are written while the process gets killed
        const { lastAck, start, signal } = await runAndKill(dir, 150, round === 0 ? [] : ['40', '100']);
        equal(signal, 'SIGKILL');
        equal(start, expectedStart, 'the restarted writer resumes from the recovered loop state');
        ok(lastAck >= start + 150);
        const s = await openStore(dir, { clock: new SimulatedClock(0), audit: { signer } });
        try {
          const snap = await new DurableState(s, 'd1:amf-1').recover();
          const iteration = snap.loopState?.iteration ?? 0;
          // every acknowledged step is there; at most the one in flight (committed, not yet acked) more
          ok(iteration === lastAck || iteration === lastAck + 1, `iteration ${iteration}, last ack ${lastAck}`);
          equal(snap.openIncidents.length, iteration);
          equal(snap.pendingDelegations.length, iteration);
          const ids = new Set(snap.openIncidents.map((i) => i.id));
          for (let n = 1; n <= lastAck; n++) ok(ids.has(`inc-${n}`), `incident ${n} lost`);
          // atomicity: the audit chain has exactly one record per committed step and verifies
          const report = await verifyAuditLog(s.kv, { publicKey: toHex(signer.publicKey) });
          equal(report.ok, true, JSON.stringify(report.firstBroken));
          equal(report.head?.seq, iteration);
          if (round === 1) {
            ok(report.anchor !== null && report.checked <= 40, `pruned behind an anchor: ${JSON.stringify(report.anchor)}, ${report.checked} kept`);
            ok((await s.history.count()) <= 100);
          }
          expectedStart = iteration;
        } finally {
          await s.close();
        }
      }
    } finally {
      await cleanup();
    }
  });
});
