import assert from 'node:assert/strict';
import { SimulatedClock, type TimerEvent } from '@sliceguard/core';
import { describe, it } from 'mocha';
import { createPolicyEngine, createPolicyTimers, openPolicyStore, parsePolicyText } from '../src/index.js';

describe('policy timers', () => {
  it('raise the timer events `every` asks for, follow store changes, and drive timer policies', async () => {
    const clock = new SimulatedClock(0);
    const store = await openPolicyStore({ clock });
    await store.upsert([
      {
        file: 't.yaml',
        text: `
policies:
  - id: rebalance
    on: { event: timer, name: rebalance, every: 1m }
    when: knowledge.load < 0.3
    do: [ { action: scale_in, target: amf } ]
`,
      },
    ]);
    const fired: TimerEvent[] = [];
    const timers = createPolicyTimers({ clock, policies: store, source: 'mno:embb-cn', target: 'embb-cn', onTimer: (e) => fired.push(e) });
    timers.start();
    await clock.advance(180_000);
    assert.deepEqual(fired.map((e) => [e.name, e.at]), [['rebalance', 60_000], ['rebalance', 120_000], ['rebalance', 180_000]]);
    const engine = createPolicyEngine({ policies: store, clock });
    const [d] = await engine.decide(fired[0], { agentId: 'mno:embb-cn', level: 'subslice', now: clock.now(), facts: { knowledge: { load: 0.1 } } });
    assert.equal(d.actions[0].type, 'scale_in');
    await store.remove(['rebalance']);
    assert.deepEqual(timers.scheduled(), []);
    await clock.advance(120_000);
    assert.equal(fired.length, 3);
    timers.stop();
    assert.equal(clock.pendingTimers, 0);
  });

  it('rejects `every` without a single name and periods below 100 ms', () => {
    const bad = parsePolicyText('policies:\n  - id: t\n    on: { event: timer, every: 1m }\n    do: [ { action: notify } ]\n', 't.yaml');
    assert.match(bad.issues[0].message, /needs exactly one timer `name`/);
    const fast = parsePolicyText('policies:\n  - id: t\n    on: { event: timer, name: x, every: 10ms }\n    do: [ { action: notify } ]\n', 't.yaml');
    assert.match(fast.issues[0].message, /invalid timer period "10ms"/);
    assert.equal(fast.issues[0].line, 3);
  });
});
