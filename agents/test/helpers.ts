import type { Rng } from '@sliceguard/core';
import type { SimulatedClock } from '@sliceguard/core';
import type { InProcessTopology } from '../src/index.js';

/** Lets every promise chain that waits on nothing but microtasks finish. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Advances the simulated clock step by step, letting the agents' async work finish after each step. */
export async function run(clock: SimulatedClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(Math.min(step, ms - t));
    await settle(2);
  }
}

/** gNB metrics: noisy normal load, or a signaling surge (`factor` × the RRC / attach / signaling rates). */
export function gnbSample(rng: Rng, at: number, factor = 1): { at: number; values: Record<string, number> } {
  return {
    at,
    values: {
      rrc_setup_rate: rng.normal(50, 3) * factor,
      attach_rate: rng.normal(20, 1.5) * factor,
      signaling_msgs_per_s: rng.normal(400, 20) * factor,
      cpu_usage: rng.normal(0.4, 0.02) * Math.min(2, factor),
      active_ues: rng.normal(300, 10),
    },
  };
}

/** Feeds every gNB one sample per simulated second for `seconds`, surging from `surgeFrom`. */
export async function driveGnbs(
  topo: InProcessTopology,
  clock: SimulatedClock,
  rng: Rng,
  gnbs: readonly string[],
  seconds: number,
  surge: { from: number; factor: number } | undefined,
): Promise<void> {
  for (let s = 0; s < seconds; s++) {
    for (const g of gnbs) {
      const factor = surge && s >= surge.from ? surge.factor : 1;
      topo.feed(g)!.push(gnbSample(rng, clock.now(), factor));
    }
    await run(clock, 1000, 250);
  }
}
