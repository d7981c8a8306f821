import assert from 'node:assert/strict';
import { addEvidence, capCounts, countsAt, decayFactor, opinionOf } from '../src/index.js';

const close = (actual: number, expected: number, eps = 1e-9): void => {
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
};

describe('subjective-logic arithmetic', () => {
  it('maps evidence to belief, disbelief, uncertainty and E = b + a·u (hand-computed)', () => {
    // r = 3, s = 1, W = 8, a = 0.4: total 12 → b = 0.25, d = 1/12, u = 2/3, E = 0.25 + 0.4·2/3
    const o = opinionOf({ r: 3, s: 1 }, 0.4, 8);
    close(o.belief, 0.25);
    close(o.disbelief, 1 / 12);
    close(o.uncertainty, 2 / 3);
    close(o.expectation, 0.25 + 0.4 * (2 / 3));
    close(o.belief + o.disbelief + o.uncertainty, 1);
  });

  it('gives the base rate with full uncertainty when there is no evidence', () => {
    const o = opinionOf({ r: 0, s: 0 }, 0.4, 8);
    assert.equal(o.uncertainty, 1);
    assert.equal(o.expectation, 0.4);
  });

  it('halves evidence after one half-life and quarters it after two', () => {
    close(decayFactor(1000, 1000), 0.5);
    close(decayFactor(2000, 1000), 0.25);
    assert.equal(decayFactor(0, 1000), 1);
    assert.equal(decayFactor(-5, 1000), 1);
  });

  it('forgets positive and negative evidence at their own half-lives', () => {
    const c = countsAt({ r: 8, s: 8, at: 0 }, 1000, { positive: 1000, negative: 4000 });
    close(c.r, 4);
    close(c.s, 8 * 2 ** -0.25);
  });

  it('adds an observation after bringing stored evidence up to date, and counts an old observation decayed', () => {
    // stored r=4 at t=0; at t=1000 (half-life 1000) add 1 positive observed at t=0 and 2 negative observed now
    const a = addEvidence({ r: 4, s: 0, at: 0 }, 1, 0, 0, 1000, 1000);
    close(a.r, 2 + 0.5);
    const b = addEvidence(a, 0, 2, 1000, 1000, 1000);
    close(b.s, 2);
    close(b.r, 2.5);
    assert.equal(b.at, 1000);
  });

  it('counts an observation stamped in the future as made now', () => {
    const a = addEvidence({ r: 0, s: 0, at: 0 }, 1, 0, 5000, 1000, 1000);
    close(a.r, 1);
    assert.equal(a.at, 1000);
  });

  it('caps evidence mass keeping the ratio', () => {
    const c = capCounts({ r: 6, s: 2 }, 4);
    close(c.r, 3);
    close(c.s, 1);
    assert.deepEqual(capCounts({ r: 1, s: 1 }, 4), { r: 1, s: 1 });
  });
});
