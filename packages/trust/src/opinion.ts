/**
 * Beta reputation / subjective-logic arithmetic (Jøsang & Ismail 2002; Jøsang 2016 ch. 3).
 *
 * Evidence is a pair (r, s) of positive and negative observation weights. With a non-informative
 * prior weight W and base rate a, the binomial opinion is
 *   b = r / (r + s + W),  d = s / (r + s + W),  u = W / (r + s + W),  E = b + a·u.
 * Forgetting multiplies the counts by 2^(-Δt / halfLife): old evidence fades, uncertainty grows back
 * and E drifts back to the base rate a. Positive and negative evidence may have different half-lives
 * (bad behaviour remembered longer: trust is hard to win and easy to lose).
 */
export type HalfLife = number | { positive: number; negative: number };

function halfLives(h: HalfLife): { positive: number; negative: number } {
  return typeof h === 'number' ? { positive: h, negative: h } : h;
}
export interface EvidenceCounts {
  /** Positive evidence weight. */
  r: number;
  /** Negative evidence weight. */
  s: number;
}

export interface Opinion {
  belief: number;
  disbelief: number;
  uncertainty: number;
  baseRate: number;
  /** Expected probability E = b + a·u. */
  expectation: number;
}

export function opinionOf(counts: EvidenceCounts, baseRate: number, priorWeight: number): Opinion {
  const total = counts.r + counts.s + priorWeight;
  const belief = counts.r / total;
  const disbelief = counts.s / total;
  const uncertainty = priorWeight / total;
  return { belief, disbelief, uncertainty, baseRate, expectation: belief + baseRate * uncertainty };
}

/** Factor by which evidence `elapsedMs` old is scaled (1 when no time has passed, ½ after one half-life). */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  if (!(elapsedMs > 0)) return 1;
  if (!Number.isFinite(halfLifeMs)) return 1;
  return 2 ** (-elapsedMs / halfLifeMs);
}

/** Evidence with its reference time; the stored form of every counter. */
export interface DecayingCounts extends EvidenceCounts {
  /** Clock ms at which r and s were last brought up to date. */
  at: number;
}

/** The counts as they stand at `now` (not mutating). */
export function countsAt(c: DecayingCounts, now: number, halfLife: HalfLife): EvidenceCounts {
  const h = halfLives(halfLife);
  return { r: c.r * decayFactor(now - c.at, h.positive), s: c.s * decayFactor(now - c.at, h.negative) };
}

/**
 * Adds an observation made at `observedAt` to `c`, bringing everything to `now` first.
 * An observation stamped in the future (clock skew) counts as made now.
 */
export function addEvidence(
  c: DecayingCounts,
  positive: number,
  negative: number,
  observedAt: number,
  now: number,
  halfLife: HalfLife,
): DecayingCounts {
  const h = halfLives(halfLife);
  const base = countsAt(c, now, h);
  const age = now - Math.min(observedAt, now);
  return {
    r: base.r + positive * decayFactor(age, h.positive),
    s: base.s + negative * decayFactor(age, h.negative),
    at: Math.max(now, c.at),
  };
}

/** Scales counts down (keeping their ratio) so that r + s ≤ cap. */
export function capCounts(c: EvidenceCounts, cap: number): EvidenceCounts {
  const total = c.r + c.s;
  if (total <= cap || total === 0) return { r: c.r, s: c.s };
  const k = cap / total;
  return { r: c.r * k, s: c.s * k };
}
