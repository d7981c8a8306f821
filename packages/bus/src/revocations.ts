import { type Bus, type Subscription, systemSubject } from '@sliceguard/core';
import { type RevocationList, type RevocationOutcome, type TrustStore, parseRevocationList } from '@sliceguard/identity';

export const REVOCATIONS_TOPIC = 'revocations';

export interface RevocationSubscription extends Subscription {
  /** Lists applied / refused (untrusted root, bad signature, older sequence, malformed). */
  readonly applied: number;
  readonly refused: number;
}

/**
 * Applies every signed revocation list published on `sg.<domain>._sys.revocations` (any domain, or
 * only `domains`) to `trustStore`. From that moment every bus sharing the store refuses the revoked
 * credentials (reason `revoked`). Lists are checked by the store: trusted root, valid signature,
 * sequence newer than the one held.
 */
export function subscribeRevocations(
  bus: Bus,
  trustStore: TrustStore,
  options: { domains?: string[]; onOutcome?: (outcome: RevocationOutcome | { applied: false; reason: 'malformed'; message: string }) => void } = {},
): RevocationSubscription {
  let applied = 0;
  let refused = 0;
  const patterns = options.domains ? options.domains.map((d) => systemSubject(d, REVOCATIONS_TOPIC)) : [`sg.*._sys.${REVOCATIONS_TOPIC}`];
  const subs = patterns.map((p) =>
    bus.subscribe(p, (msg) => {
      let outcome: RevocationOutcome | { applied: false; reason: 'malformed'; message: string };
      try {
        outcome = trustStore.applyRevocations(parseRevocationList(msg.json()));
      } catch (error) {
        outcome = { applied: false, reason: 'malformed', message: (error as Error).message };
      }
      if (outcome.applied) applied++;
      else refused++;
      options.onOutcome?.(outcome);
    }),
  );
  return {
    pattern: patterns.join(','),
    get closed() {
      return subs.every((s) => s.closed);
    },
    get applied() {
      return applied;
    },
    get refused() {
      return refused;
    },
    unsubscribe() {
      for (const s of subs) s.unsubscribe();
    },
  };
}

/** Publishes a signed list on its domain's revocation subject (the publisher needs `sg.<domain>._sys.>` in scope). */
export function publishRevocations(bus: Bus, list: RevocationList): Promise<void> {
  return bus.publishJson(systemSubject(list.domain, REVOCATIONS_TOPIC), list);
}
