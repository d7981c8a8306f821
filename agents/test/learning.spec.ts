import assert from 'node:assert/strict';
import type { Sample, StreamingDetector, Verdict } from '@sliceguard/core';
import { memoryKv, SimulatedClock, seededRng } from '@sliceguard/core';
import { createLocalNetwork, localBus } from '@sliceguard/bus';
import { LstmAutoencoder } from '@sliceguard/analytics';
import { createDomainAuthority } from '@sliceguard/identity';
import type { AgentSpec } from '@sliceguard/topology';
import { loadTopology, examplePath, resolveAgents } from '@sliceguard/topology';
import { createNfLearner, federatedLstm, federatedTypes } from '../src/index.js';

const METRICS = ['a', 'b'];

/** A baseline that flags any sample whose `a` exceeds 100. */
function fakeBaseline(): StreamingDetector {
  return {
    name: 'fake',
    metrics: METRICS,
    async push(s: Sample): Promise<Verdict> {
      const anomalous = (s.values.a ?? 0) > 100;
      return { at: s.at, score: anomalous ? 10 : 0, threshold: 1, anomalous, contributors: [], window: { start: s.at, end: s.at } };
    },
    reset() {},
  };
}

function nfSpec(): AgentSpec {
  return {
    agentId: 'd1:n1',
    level: 'nf',
    domain: 'd1',
    placement: { domain: 'd1', slice: 's', subslice: 'e', nf: 'n1' },
    nf: { id: 'n1', type: 'web', kind: 'cnf', metrics: METRICS, replicas: { min: 1, max: 1, initial: 1 } },
    childIds: [],
  } as unknown as AgentSpec;
}

describe('agents: the NF learner (LSTM as a trainable detector)', function () {
  this.timeout(30_000);

  it('federatedLstm carries the scaler in the weights, and refuses a bad scaler or layout without touching the model', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => Float32Array.from([10 + (i % 5), 200 + 3 * (i % 7)]));
    const a = await LstmAutoencoder.create({ metrics: METRICS, window: 4, encoderUnits: [3], seed: 1 }, { backend: 'cpu' });
    const b = await LstmAutoencoder.create({ metrics: METRICS, window: 4, encoderUnits: [3], seed: 2 }, { backend: 'cpu' });
    try {
      const fa = federatedLstm(a);
      const fb = federatedLstm(b);
      const unfitted = fa.getWeights();
      assert.deepEqual(unfitted.layout.slice(-2).map((l) => l.name), ['scaler/offset', 'scaler/scale']);
      assert.deepEqual([...unfitted.values.slice(-2)], [0, 0], 'an unfitted scaler reports scale 0');
      fb.setWeights(unfitted);
      assert.equal(b.scaler.fitted, false, 'scale 0 is not installed as a scaler');

      await fa.fit(rows, { epochs: 1 });
      assert.ok(a.scaler.fitted);
      const w = fa.getWeights();
      fb.setWeights(w);
      assert.deepEqual(b.scaler.toJSON().offset, a.scaler.toJSON().offset.map((x) => Math.fround(x)));
      assert.deepEqual([...fb.getWeights().values], [...w.values]);
      assert.ok(Math.abs((await fa.evaluate(rows)) - (await fb.evaluate(rows))) < 1e-6);

      const before = [...fb.getWeights().values];
      const bad = { layout: w.layout, values: Float32Array.from(w.values) };
      bad.values[bad.values.length - 1] = -1; // a negative scale
      bad.values[0] += 1;
      assert.throws(() => fb.setWeights(bad), /non-positive scales/);
      assert.deepEqual([...fb.getWeights().values], before, 'a refused version leaves the model unchanged');
      assert.throws(() => fb.setWeights({ layout: w.layout.slice(0, -1), values: w.values }), /layout differs/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('buffers only samples the answering detector did not flag (bounded), trains locally when the buffer is full and swaps the LSTM in', async () => {
    const clock = new SimulatedClock(1_000_000);
    const authority = createDomainAuthority('d1', { clock });
    const bus = localBus({ network: createLocalNetwork(), identity: authority.issue({ agentId: 'd1:n1', level: 'nf', slice: 's', subslice: 'e', nf: 'n1' }), trustStore: authority.trustStore(), clock });
    const learner = await createNfLearner({
      spec: nfSpec(),
      bus,
      clock,
      baseline: fakeBaseline(),
      federated: false,
      window: 4,
      units: 3,
      bufferSize: 40,
      minSamples: 12,
      epochs: 2,
      backend: 'cpu',
    });
    const rng = seededRng(3);
    const installed = new Promise<void>((r) => learner.onEvent((e) => e.type === 'installed' && r()));
    try {
      await learner.start();
      let t = clock.now();
      const push = (a: number): Promise<Verdict | undefined> => learner.detector.push({ at: (t += 1000), values: { a, b: 200 + rng.normal(0, 3) } });
      for (let i = 0; i < 30; i++) await push(10 + rng.normal(0, 1));
      for (let i = 0; i < 5; i++) await push(500);
      await push(Number.NaN); // incomplete: neither buffered nor scored by the LSTM
      assert.equal(learner.state().bufferedRows, 30, 'flagged and incomplete samples stay out of the buffer');
      assert.equal(learner.state().active, 'baseline');
      for (let i = 0; i < 20; i++) await push(10 + rng.normal(0, 1));
      assert.equal(learner.state().bufferedRows, 40, 'the buffer is bounded');
      await installed;
      const s = learner.state();
      assert.equal(s.mode, 'local');
      assert.equal(s.active, 'lstm');
      assert.equal(s.installedVersion, 1);
      assert.equal(s.trained, 1);
      assert.ok(s.threshold! > 0);
      assert.equal(learner.client, undefined);
      // the LSTM answers now (primed: the first sample after the swap already has a full window)
      const v = await push(10);
      assert.ok(v && learner.detector.name.startsWith('lstm-ae'), learner.detector.name);
      assert.equal(v.threshold, s.threshold);
      const attack = await push(5000);
      assert.equal(attack?.anomalous, true);
    } finally {
      await learner.stop();
      await bus.close();
    }
  });

  it('keeps its installed model and buffer in the agent store: a restarted learner detects at once; a stored model that no longer fits is ignored', async () => {
    const clock = new SimulatedClock(2_000_000);
    const authority = createDomainAuthority('d1', { clock });
    const bus = localBus({ network: createLocalNetwork(), identity: authority.issue({ agentId: 'd1:n1', level: 'nf', slice: 's', subslice: 'e', nf: 'n1' }), trustStore: authority.trustStore(), clock });
    const kv = memoryKv();
    const options = { spec: nfSpec(), bus, clock, baseline: fakeBaseline(), federated: false, window: 4, units: 3, bufferSize: 30, minSamples: 12, epochs: 1, backend: 'cpu' as const, kv, persistEvery: 7 };
    const rng = seededRng(5);
    let t = clock.now();
    const sample = (a: number): Sample => ({ at: (t += 1000), values: { a, b: 200 + rng.normal(0, 3) } });
    const first = await createNfLearner(options);
    const installed = new Promise<void>((r) => first.onEvent((e) => e.type === 'installed' && r()));
    await first.start();
    for (let i = 0; i < 33; i++) await first.detector.push(sample(10 + rng.normal(0, 1)));
    await installed;
    const threshold = first.state().threshold;
    await first.stop();

    const second = await createNfLearner(options);
    assert.equal(second.state().bufferedRows, 30, 'the buffer came back');
    assert.equal(second.state().active, 'baseline', 'nothing swapped in before start()');
    await second.start();
    let s = second.state();
    assert.equal(s.active, 'lstm');
    assert.equal(s.installedVersion, 1);
    assert.ok(s.threshold !== undefined && s.threshold > 0 && threshold !== undefined);
    // recalibrated on the restored buffer (which holds the rows that arrived after the first calibration too)
    assert.equal(s.calibratedOn, 30);
    // nothing from before the restart primes its window (it would span the outage): the baseline answers until it is full
    for (let i = 0; i < 3; i++) assert.equal((await second.detector.push(sample(10)))?.threshold, 1);
    const v = await second.detector.push(sample(10));
    assert.equal(v?.threshold, s.threshold, 'the restored LSTM answers once its window is full');
    assert.ok(second.detector.name.startsWith('lstm-ae'));
    await second.stop();

    // an LSTM of another size cannot take the stored weights: it starts from the baseline, and says why
    const third = await createNfLearner({ ...options, units: 4 });
    await third.start();
    s = third.state();
    assert.equal(s.active, 'baseline');
    assert.equal(s.installedVersion, 0);
    assert.match(s.lastError ?? '', /stored model does not fit this LSTM/);
    await third.stop();
    await bus.close();
  });

  it('rejects inconsistent settings and non-NF specs', async () => {
    const clock = new SimulatedClock(0);
    const authority = createDomainAuthority('d1', { clock });
    const bus = localBus({ network: createLocalNetwork(), identity: authority.issue({ agentId: 'd1:n1', level: 'nf', slice: 's', subslice: 'e', nf: 'n1' }), trustStore: authority.trustStore(), clock });
    const base = { spec: nfSpec(), bus, clock, baseline: fakeBaseline(), backend: 'cpu' as const };
    await assert.rejects(createNfLearner({ ...base, window: 10, minSamples: 5 }), /minSamples \(5\) must be > window \(10\)/);
    await assert.rejects(createNfLearner({ ...base, bufferSize: 10, minSamples: 20 }), /exceeds bufferSize/);
    await assert.rejects(createNfLearner({ ...base, units: 0 }), /units must be a positive integer/);
    await assert.rejects(createNfLearner({ ...base, spec: { ...nfSpec(), level: 'subslice', nf: undefined } as unknown as AgentSpec }), /not an NF agent/);
    await bus.close();
  });

  it('federatedTypes: NF types with at least minClients NFs per domain', async () => {
    const specs = resolveAgents(await loadTopology(examplePath('embb-5g')));
    assert.deepEqual([...federatedTypes(specs, 2)], [['mno', ['gnb']]]);
    assert.deepEqual([...federatedTypes(specs, 4)], []);
    assert.deepEqual(federatedTypes(specs, 1).get('mno'), ['amf', 'gnb', 'router', 'smf', 'upf']);
  });
});
