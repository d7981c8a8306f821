import type { TrustView } from '@sliceguard/core';
import type { UpdateRejectReason } from './weights.js';
import { deltaCosine } from './weights.js';

/** An update that passed the per-message checks (shape, finiteness, absolute norm bound). */
export interface ScreenedUpdate {
  clientId: string;
  values: Float32Array;
  samples: number;
  /** ‖update − global‖. */
  deltaNorm: number;
}

export interface ScreeningOptions {
  /** Reject deltas above this multiple of the round's median delta norm (needs ≥ 3 updates). Default 10. */
  maxNormRatio?: number;
  /** Quarantined senders are rejected as `untrusted`. */
  trustView?: TrustView;
}

export interface ScreeningResult<U extends ScreenedUpdate> {
  kept: U[];
  rejected: Array<{ clientId: string; reason: UpdateRejectReason; message: string }>;
}

/**
 * The round-level checks that need the whole round (used by the coordinator and the evaluation):
 * a scaled or random update stands out against the round's median delta norm, and quarantined
 * senders do not count.
 */
export function screenRound<U extends ScreenedUpdate>(updates: readonly U[], options: ScreeningOptions = {}): ScreeningResult<U> {
  const ratio = options.maxNormRatio ?? 10;
  const rejected: ScreeningResult<U>['rejected'] = [];
  let kept = [...updates];
  if (kept.length >= 3) {
    const norms = kept.map((u) => u.deltaNorm).sort((a, b) => a - b);
    const median = norms[norms.length >> 1];
    if (median > 0) {
      const limit = median * ratio;
      kept = kept.filter((u) => {
        if (u.deltaNorm <= limit) return true;
        rejected.push({
          clientId: u.clientId,
          reason: 'norm_exceeded',
          message: `delta norm ${u.deltaNorm.toPrecision(4)} is over ${ratio}× the round median ${median.toPrecision(4)}`,
        });
        return false;
      });
    }
  }
  const tv = options.trustView;
  if (tv) {
    kept = kept.filter((u) => {
      if (!tv.isQuarantined(u.clientId)) return true;
      rejected.push({ clientId: u.clientId, reason: 'untrusted', message: 'sender is quarantined' });
      return false;
    });
  }
  return { kept, rejected };
}

/**
 * fl_quality evidence for accepted updates: the cosine between the update's delta and the
 * aggregate's delta maps to (positive, negative) = ((1 + cos) / 2, (1 − cos) / 2), so an update
 * pushing against the consensus (sign flipping, backdoor directions) loses trust even when a robust
 * rule kept it from doing harm.
 */
export function directionEvidence(
  updates: readonly { clientId: string; values: Float32Array }[],
  aggregate: Float32Array,
  previous: Float32Array,
): Array<{ clientId: string; positive: number; negative: number; cosine: number }> {
  return updates.map((u) => {
    const cosine = deltaCosine(u.values, aggregate, previous);
    return { clientId: u.clientId, positive: (1 + cosine) / 2, negative: (1 - cosine) / 2, cosine };
  });
}

/** Trust evidence weight of each rejection: malformed or poisoned updates weigh more than lateness. */
export const REJECT_EVIDENCE: Record<UpdateRejectReason, number> = {
  malformed: 1,
  not_selected: 0.5,
  unknown_round: 0.5,
  late: 0.25,
  duplicate: 0.5,
  wrong_version: 0.5,
  wrong_shape: 1,
  non_finite: 1,
  bad_samples: 1,
  norm_exceeded: 1,
  validation_loss: 1,
  untrusted: 0,
};
