import type { FlatWeights, Logger, TrustView } from '@sliceguard/core';
import { layoutsEqual, silentLogger } from '@sliceguard/core';
import type { Coordinator } from './coordinator.js';
import type { DomainGossip, DomainModel } from './gossip.js';
import { allFinite } from './weights.js';

export interface DomainContribution {
  domain: string;
  /** Agent id of the coordinator whose model it is (the trust subject). */
  from: string;
  samples: number;
  weight: number;
}

export interface CombinedModel {
  weights: FlatWeights;
  samples: number;
  parts: DomainContribution[];
}

/**
 * Combines this domain's model with partner domains' models: a mean weighted by each model's
 * sample count times the trust weight of the coordinator that sent it (this domain counts with
 * trust 1). Partner models with another layout, non-finite values, zero weight or quarantined
 * senders are left out.
 */
export function combineDomainModels(
  local: { domain: string; from: string; weights: FlatWeights; samples: number },
  remotes: readonly DomainModel[],
  options: { trust?: TrustView } = {},
): CombinedModel {
  const parts: Array<DomainContribution & { values: Float32Array }> = [
    { domain: local.domain, from: local.from, samples: local.samples, weight: Math.max(local.samples, 0), values: local.weights.values },
  ];
  for (const r of remotes) {
    if (!layoutsEqual(r.weights.layout, local.weights.layout) || r.weights.values.length !== local.weights.values.length) continue;
    if (!allFinite(r.weights.values) || !(r.samples > 0)) continue;
    const t = options.trust ? (options.trust.isQuarantined(r.from) ? 0 : options.trust.weight(r.from)) : 1;
    if (!(t > 0)) continue;
    parts.push({ domain: r.domain, from: r.from, samples: r.samples, weight: r.samples * Math.min(1, t), values: r.weights.values });
  }
  let total = parts.reduce((s, p) => s + p.weight, 0);
  if (!(total > 0)) {
    // nothing has samples: keep the local model
    parts[0].weight = 1;
    total = 1;
  }
  const d = local.weights.values.length;
  const acc = new Float64Array(d);
  for (const p of parts) {
    if (p.weight === 0) continue;
    const f = p.weight / total;
    for (let i = 0; i < d; i++) acc[i] += f * p.values[i];
  }
  return {
    weights: { layout: local.weights.layout, values: Float32Array.from(acc) },
    samples: parts.reduce((s, p) => s + p.samples, 0),
    parts: parts.map(({ values: _values, ...rest }) => ({ ...rest, weight: rest.weight / total })),
  };
}

export interface CrossDomainBridgeOptions {
  coordinator: Coordinator;
  gossip: DomainGossip;
  domain: string;
  /** Models shared across domains. Default: every model the coordinator publishes. */
  models?: string[];
  trustView?: TrustView;
  logger?: Logger;
}

export interface CrossDomainBridge {
  stop(): void;
  /** Latest partner model per domain and model. */
  partnerModels(model: string): DomainModel[];
}

/**
 * Wires a coordinator to the cross-domain gossip: every version a local round produces is published
 * to partner domains; every partner model received is combined (samples × trust) with this domain's
 * latest round-produced model and adopted as a new local version (aggregator `cross-domain`), which
 * the coordinator publishes to its clients. Adopted versions are not re-gossiped, so contributions
 * are never echoed or counted twice.
 */
export function bridgeCrossDomain(options: CrossDomainBridgeOptions): CrossDomainBridge {
  const logger = (options.logger ?? silentLogger()).child({ module: 'fl-cross-domain', domain: options.domain });
  const wanted = options.models ? new Set(options.models) : undefined;
  const local = new Map<string, { weights: FlatWeights; samples: number; version: number }>();
  const partners = new Map<string, Map<string, DomainModel>>();
  let chain: Promise<void> = Promise.resolve();

  const combineAndAdopt = (model: string): void => {
    chain = chain
      .then(async () => {
        const mine = local.get(model);
        const theirs = [...(partners.get(model)?.values() ?? [])];
        if (!mine || theirs.length === 0) return;
        const combined = combineDomainModels(
          { domain: options.domain, from: options.coordinator.agentId, weights: mine.weights, samples: mine.samples },
          theirs,
          { trust: options.trustView },
        );
        const version = await options.coordinator.adopt(model, combined.weights, {
          samples: combined.samples,
          aggregator: 'cross-domain',
          contributors: combined.parts.length,
        });
        logger.info({ model, version, parts: combined.parts }, 'adopted the cross-domain combination');
      })
      .catch((error) => logger.warn({ err: error, model }, 'cross-domain combination failed'));
  };

  const offPublished = options.coordinator.onPublished((event) => {
    if (wanted && !wanted.has(event.model)) return;
    if (event.header.aggregator === 'cross-domain' || event.header.aggregator === 'initial') return;
    local.set(event.model, { weights: event.weights, samples: event.header.samples, version: event.version });
    void options.gossip
      .publishModel({ model: event.model, version: event.version, samples: event.header.samples, weights: event.weights })
      .catch((error) => logger.warn({ err: error, model: event.model }, 'could not gossip the model to partner domains'));
    if ((partners.get(event.model)?.size ?? 0) > 0) combineAndAdopt(event.model);
  });

  const offModel = options.gossip.onModel((remote) => {
    if (wanted && !wanted.has(remote.model)) return;
    let byDomain = partners.get(remote.model);
    if (!byDomain) partners.set(remote.model, (byDomain = new Map()));
    byDomain.set(remote.domain, remote);
    combineAndAdopt(remote.model);
  });

  return {
    stop() {
      offPublished();
      offModel();
    },
    partnerModels: (model) => [...(partners.get(model)?.values() ?? [])],
  };
}
