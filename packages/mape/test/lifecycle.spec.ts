import assert from 'node:assert/strict';
import type { Decision, DecisionEngine } from '@sliceguard/core';
import { memoryKv, SimulatedClock } from '@sliceguard/core';
import type { LifecycleTransition } from '../src/index.js';
import { actuatorEnforcement, canTransition, createLoop, InvalidTransitionError, LOOP_STATES, openKnowledge } from '../src/index.js';

const noDecisions: DecisionEngine = { decide: async () => [] as Decision[] };

async function makeLoop() {
  const clock = new SimulatedClock(1_000);
  const knowledge = await openKnowledge({ kv: memoryKv() });
  const loop = createLoop({
    id: 'd:nf1',
    level: 'nf',
    clock,
    knowledge,
    ae: { name: 'none' },
    de: noDecisions,
    es: actuatorEnforcement({ actuators: [], clock }),
  });
  return { clock, knowledge, loop };
}

describe('mape lifecycle', () => {
  it('walks instantiated → active ⇄ inactive → updating → terminated, recording every transition', async () => {
    const { clock, knowledge, loop } = await makeLoop();
    assert.equal(loop.state, 'instantiated');
    await loop.activate('orchestrator start', 'd:tsm');
    await clock.advance(10);
    await loop.deactivate('maintenance', 'd:tsm');
    await loop.activate('back', 'd:tsm');
    await loop.deactivate('before update', 'd:tsm');
    await loop.update(() => {}, 'new policies', 'd:tsm');
    assert.equal(loop.state, 'inactive', 'update returns to the state it came from');
    await loop.terminate('slice removed', 'd:tsm');
    const recorded = (await knowledge.query<LifecycleTransition>('lifecycle')).map((r) => r.value);
    assert.deepEqual(
      recorded.map((t) => `${t.from}->${t.to}`),
      [
        'instantiated->active',
        'active->inactive',
        'inactive->active',
        'active->inactive',
        'inactive->updating',
        'updating->inactive',
        'inactive->terminated',
      ],
    );
    assert.ok(recorded.every((t) => t.by === 'd:tsm' && t.reason.length > 0 && t.at >= 1_000));
    assert.equal(recorded[1].at, 1_010);
  });

  it('refuses invalid transitions with an error naming the allowed ones', async () => {
    const { loop } = await makeLoop();
    await assert.rejects(
      () => loop.update(() => {}, 'too early'),
      (e: unknown) => e instanceof InvalidTransitionError && e.code === 'MAPE_ERR_INVALID_TRANSITION' && /instantiated/.test(e.message),
    );
    await loop.activate('go');
    await assert.rejects(() => loop.activate('again'), /cannot go from "active" to "active"; from "active" it may go to: inactive, updating, terminated/);
    await loop.terminate('bye');
    for (const op of [() => loop.activate('x'), () => loop.deactivate('x'), () => loop.terminate('x')]) {
      await assert.rejects(op, /final state/);
    }
    await assert.rejects(() => loop.reconfigure({ samplingPeriodMs: 5 }, 'x'), /terminated/);
  });

  it('a failed update returns to the previous state and is recorded', async () => {
    const { knowledge, loop } = await makeLoop();
    await loop.activate('go');
    await assert.rejects(
      () =>
        loop.update(() => {
          throw new Error('bad policy file');
        }, 'policy v2'),
      /bad policy file/,
    );
    assert.equal(loop.state, 'active');
    const last = (await knowledge.query<LifecycleTransition>('lifecycle', { reverse: true, limit: 1 }))[0].value;
    assert.match(last.reason, /update failed: bad policy file/);
  });

  it('the transition table is consistent', () => {
    for (const s of LOOP_STATES) assert.equal(canTransition(s, s), false, `${s} -> ${s} must not be a transition`);
    assert.equal(canTransition('terminated', 'active'), false);
    assert.equal(canTransition('inactive', 'active'), true);
  });
});
