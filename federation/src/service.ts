import type { Bus, Clock, FlatWeights, KeyValueStore, Logger, TrustSink, TrustView } from '@sliceguard/core';
import { silentLogger, systemClock, toHex } from '@sliceguard/core';
import { connectNatsBus, type NatsBus } from '@sliceguard/bus';
import type { AgentIdentity, TrustStore } from '@sliceguard/identity';
import { openLevelKv } from '@sliceguard/store';
import { createTrustManager, type TrustManager } from '@sliceguard/trust';
import { aggregatorFromSpec } from './aggregators.js';
import { type Coordinator, createCoordinator } from './coordinator.js';
import { bridgeCrossDomain, type CrossDomainBridge } from './cross-domain.js';
import { InvalidFederationOptionsError } from './errors.js';
import { createDomainGossip, type DomainGossip } from './gossip.js';

export interface CoordinatorServiceOptions {
  domain: string;
  /** NATS server URLs (a cluster: several). */
  servers: string[];
  identity: AgentIdentity;
  trustStore: TrustStore;
  /** LevelDB directory of the coordinator (model versions, round state, reports). */
  dataDir: string;
  /** Model names, one per NF type. */
  models: string[];
  /** Version-1 weights per model (e.g. a saved LSTM with its scaler, `sliceguard coordinator --initial`); without them the first round seeds it from one client. */
  initial?: Readonly<Record<string, FlatWeights>>;
  /** Aggregator spec (aggregatorFromSpec). Default `trust-filter+clip+median`. */
  aggregator?: string;
  fraction?: number;
  minClients?: number;
  roundTimeoutMs?: number;
  /** Automatic rounds; omit to drive rounds yourself (runRound). */
  roundIntervalMs?: number;
  epochs?: number;
  /** Cross-domain gossip: listen addresses and partner coordinators to dial. */
  p2p?: { listen: string[]; peers: string[] };
  clock?: Clock;
  logger?: Logger;
  /**
   * fl_quality evidence sink and aggregation weights. Default: a trust manager of this coordinator
   * (@sliceguard/trust, persisted in the same store under `trust/`), so repeat offenders lose weight
   * and get quarantined; pass the domain's Trust Manager instead to share one view, or set
   * `localTrust: false` to run without trust.
   */
  trustSink?: TrustSink;
  trustView?: TrustView;
  localTrust?: boolean;
}

export interface CoordinatorService {
  coordinator: Coordinator;
  bus: Bus;
  kv: KeyValueStore;
  gossip?: DomainGossip;
  stop(): Promise<void>;
}

/**
 * The composition root of `sliceguard coordinator`: NATS bus with the coordinator's credential,
 * LevelDB store, coordinator, and optionally the cross-domain gossip and its bridge. Stops in
 * reverse order.
 */
export async function startCoordinatorService(options: CoordinatorServiceOptions): Promise<CoordinatorService> {
  const claims = options.identity.credential.claims;
  if (claims.level !== 'coordinator' || claims.domain !== options.domain) {
    throw new InvalidFederationOptionsError(
      `credential of ${claims.agentId} is a ${claims.level} credential of domain ${claims.domain}; the coordinator of ${options.domain} needs a coordinator credential of ${options.domain}`,
      { field: 'credential', agentId: claims.agentId },
    );
  }
  if (toHex(options.identity.keyPair.publicKey) !== claims.publicKey.toLowerCase()) {
    throw new InvalidFederationOptionsError('the key file does not match the credential (different public key)', { field: 'key' });
  }
  if (options.models.length === 0) throw new InvalidFederationOptionsError('name at least one model (--model NAME)', { field: 'models' });
  for (const name of Object.keys(options.initial ?? {})) {
    if (!options.models.includes(name)) throw new InvalidFederationOptionsError(`initial weights for ${name}, which is not one of the models (${options.models.join(', ')})`, { field: 'initial' });
  }
  const clock = options.clock ?? systemClock();
  const logger = options.logger ?? silentLogger();
  const kv = await openLevelKv(options.dataDir);
  let bus: NatsBus | undefined;
  let gossip: DomainGossip | undefined;
  let bridge: CrossDomainBridge | undefined;
  let coordinator: Coordinator | undefined;
  let localTrust: TrustManager | undefined;
  try {
    if (options.trustSink === undefined && options.trustView === undefined && options.localTrust !== false) {
      localTrust = await createTrustManager({ clock, kv, keyPrefix: 'trust/', self: claims.agentId, logger });
      localTrust.start();
    }
    const trustSink = options.trustSink ?? localTrust;
    const trustView = options.trustView ?? localTrust;
    bus = await connectNatsBus({ servers: options.servers, identity: options.identity, trustStore: options.trustStore, clock, logger });
    const aggregator = aggregatorFromSpec(options.aggregator ?? 'trust-filter+clip+median');
    coordinator = createCoordinator({
      bus,
      domain: options.domain,
      kv,
      models: options.models.map((name) => ({ name, aggregator, ...(options.initial?.[name] ? { initial: options.initial[name] } : {}) })),
      clock,
      logger,
      fraction: options.fraction,
      minClients: options.minClients,
      roundTimeoutMs: options.roundTimeoutMs,
      roundIntervalMs: options.roundIntervalMs,
      epochs: options.epochs,
      trustSink,
      trustView,
    });
    await coordinator.start();
    if (options.p2p) {
      gossip = createDomainGossip({
        domain: options.domain,
        identity: options.identity,
        trustStore: options.trustStore,
        listen: options.p2p.listen,
        peers: options.p2p.peers,
        clock,
        logger,
        trustSink,
      });
      await gossip.start();
      bridge = bridgeCrossDomain({ coordinator, gossip, domain: options.domain, logger, trustView });
    }
  } catch (error) {
    await coordinator?.stop();
    await bus?.close();
    await localTrust?.close();
    await kv.close();
    throw error;
  }
  const natsBus = bus;
  const started = { coordinator, bus: bus as Bus, kv, gossip };
  let stopped = false;
  return {
    ...started,
    async stop() {
      if (stopped) return;
      stopped = true;
      bridge?.stop();
      await gossip?.stop();
      await started.coordinator.stop();
      // A NATS connection drained while its server is gone keeps reconnecting and holds the process
      // open: drain only while connected, close otherwise.
      await (natsBus.isConnected ? natsBus.drain() : natsBus.close());
      await localTrust?.close();
      await kv.close();
    },
  };
}
