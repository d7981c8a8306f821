import type { Bus, Clock, FlatWeights, InboundMessage, Logger, Subscription, TimerHandle, TrainableModel } from '@sliceguard/core';
import { ID_PATTERN, layoutsEqual, silentLogger, systemClock } from '@sliceguard/core';
import { InvalidFederationOptionsError } from './errors.js';
import { coordinatorIdOf, decodeAnnounce, decodeGlobal, encodeUpdate, flSubject, isFromCoordinator, type JoinMessage } from './protocol.js';
import { allFinite, cloneWeights } from './weights.js';

export interface InstallEvent {
  model: string;
  version: number;
  round: number;
  weights: FlatWeights;
}

export interface FederatedClientOptions {
  bus: Bus;
  domain: string;
  /** The model (NF type) this client trains, e.g. `streamer`. */
  model: string;
  trainable: TrainableModel;
  /** The client's recent normal data, in the model's feature order. Never leaves the client. */
  data: () => Float32Array[] | Promise<Float32Array[]>;
  clock?: Clock;
  logger?: Logger;
  /** Agent id expected on announcements and global models. Default `<domain>:fl`. */
  coordinatorId?: string;
  /** Join heartbeat period (clock ms). Default 10,000; keep it below the coordinator's client TTL. */
  heartbeatMs?: number;
  /** Called after a new global model is installed: recalibrate the detector threshold here. */
  onInstall?: (event: InstallEvent) => void | Promise<void>;
  /** Fewest local rows worth training on; below it the client skips the round. Default 1. */
  minSamples?: number;
}

export type ClientEvent =
  | { type: 'installed'; version: number; round: number }
  | { type: 'ignored'; what: 'announce' | 'global'; reason: 'not_coordinator' | 'stale_version' | 'layout_mismatch' | 'non_finite' | 'malformed'; detail: string }
  | { type: 'trained'; round: number; samples: number; loss: number }
  | { type: 'skipped'; round: number; reason: string }
  | { type: 'failed'; round: number; error: Error };

export interface FederatedClient {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Version of the global model installed in the trainable model (0: none yet). */
  readonly installedVersion: number;
  onEvent(listener: (event: ClientEvent) => void): () => void;
}

/**
 * The NF side of federated learning: joins the domain's rounds for one model, trains locally on its
 * own recent normal data when selected, sends signed updates, and installs new global models only
 * after checking that they come from the domain's coordinator, are newer than the installed one and
 * have the model's layout. Raw data never leaves the client; only weights are sent.
 */
export function createFederatedClient(options: FederatedClientOptions): FederatedClient {
  if (!ID_PATTERN.test(options.domain)) throw new InvalidFederationOptionsError(`client: domain "${options.domain}" is not a valid id`, { field: 'domain' });
  if (!ID_PATTERN.test(options.model)) throw new InvalidFederationOptionsError(`client: model "${options.model}" is not a valid name`, { field: 'model' });
  const { bus, domain, model, trainable } = options;
  const clock = options.clock ?? systemClock();
  const logger = (options.logger ?? silentLogger()).child({ module: 'fl-client', model, agentId: bus.self.agentId });
  const coordinatorId = options.coordinatorId ?? coordinatorIdOf(domain);
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const minSamples = options.minSamples ?? 1;
  const listeners = new Set<(e: ClientEvent) => void>();
  const subs: Subscription[] = [];
  let heartbeat: TimerHandle | undefined;
  let installedVersion = 0;
  let training: AbortController | undefined;
  let work: Promise<void> = Promise.resolve();
  let running = false;

  const emit = (e: ClientEvent): void => {
    for (const l of listeners) l(e);
  };
  const ignore = (what: 'announce' | 'global', reason: Extract<ClientEvent, { type: 'ignored' }>['reason'], detail: string): void => {
    logger.debug({ what, reason, detail }, 'FL message ignored');
    emit({ type: 'ignored', what, reason, detail });
  };

  async function sendJoin(): Promise<void> {
    try {
      const rows = await options.data();
      await bus.publishJson(flSubject(domain, model, 'join'), { type: 'join', model, samples: rows.length, installedVersion } satisfies JoinMessage);
    } catch (error) {
      logger.warn({ err: error }, 'FL join heartbeat failed');
    }
  }

  async function install(weights: FlatWeights, version: number, round: number): Promise<void> {
    trainable.setWeights(weights);
    installedVersion = version;
    emit({ type: 'installed', version, round });
    if (options.onInstall) await options.onInstall({ model, version, round, weights });
  }

  /** Checks shared by announce and global: sender, layout, finiteness. */
  function acceptable(what: 'announce' | 'global', msg: InboundMessage, weights: FlatWeights): boolean {
    if (!isFromCoordinator(msg, domain, coordinatorId)) {
      ignore(what, 'not_coordinator', `sent by ${msg.sender.agentId} (${msg.sender.level}), expected coordinator ${coordinatorId}`);
      return false;
    }
    if (weights.values.length > 0 && !layoutsEqual(weights.layout, trainable.getWeights().layout)) {
      ignore(what, 'layout_mismatch', 'layout differs from the local model');
      return false;
    }
    if (!allFinite(weights.values)) {
      ignore(what, 'non_finite', 'weights contain NaN or Infinity');
      return false;
    }
    return true;
  }

  async function onGlobal(msg: InboundMessage): Promise<void> {
    let decoded: ReturnType<typeof decodeGlobal>;
    try {
      decoded = decodeGlobal(msg.data);
    } catch (error) {
      ignore('global', 'malformed', error instanceof Error ? error.message : String(error));
      return;
    }
    if (!acceptable('global', msg, decoded.weights)) return;
    if (decoded.header.model !== model) {
      ignore('global', 'malformed', `model "${decoded.header.model}" on the subject of "${model}"`);
      return;
    }
    if (decoded.header.version <= installedVersion) {
      ignore('global', 'stale_version', `version ${decoded.header.version} is not newer than the installed ${installedVersion}`);
      return;
    }
    training?.abort();
    await install(decoded.weights, decoded.header.version, decoded.header.round);
  }

  async function onAnnounce(msg: InboundMessage): Promise<void> {
    let decoded: ReturnType<typeof decodeAnnounce>;
    try {
      decoded = decodeAnnounce(msg.data);
    } catch (error) {
      ignore('announce', 'malformed', error instanceof Error ? error.message : String(error));
      return;
    }
    const h = decoded.header;
    if (!acceptable('announce', msg, decoded.weights)) return;
    if (!h.selected.includes(bus.self.agentId)) return;
    if (h.version > 0 && h.version < installedVersion) {
      ignore('announce', 'stale_version', `round ${h.round} is on version ${h.version}, installed is ${installedVersion}`);
      return;
    }
    if (h.version > 0 && h.version !== installedVersion) {
      // the base model is not here (missed broadcast): sit this round out and ask for the head
      emit({ type: 'skipped', round: h.round, reason: `base version ${h.version} is not installed (have ${installedVersion})` });
      void sendJoin();
      return;
    }
    if (h.version > 0 && !layoutsEqual(h.layout, trainable.getWeights().layout)) {
      ignore('announce', 'layout_mismatch', 'announced layout differs from the local model');
      return;
    }
    training?.abort();
    const controller = new AbortController();
    training = controller;
    try {
      const rows = await options.data();
      if (rows.length < minSamples) {
        emit({ type: 'skipped', round: h.round, reason: `${rows.length} local rows, need ${minSamples}` });
        return;
      }
      const keep = cloneWeights(trainable.getWeights());
      let trained: FlatWeights;
      let loss: number;
      try {
        const fit = await trainable.fit(rows, { epochs: h.epochs, batchSize: h.batchSize, signal: controller.signal });
        loss = fit.loss;
        trained = cloneWeights(trainable.getWeights());
      } finally {
        // the detector keeps running on the installed global model, not on the local fit
        trainable.setWeights(keep);
      }
      if (controller.signal.aborted) return;
      if (clock.now() > h.deadline) {
        emit({ type: 'skipped', round: h.round, reason: 'training finished after the round deadline' });
        return;
      }
      await bus.publish(
        flSubject(domain, model, 'update'),
        encodeUpdate({ model, round: h.round, baseVersion: h.version, samples: rows.length, loss: Number.isFinite(loss) ? loss : -1 }, trained),
      );
      emit({ type: 'trained', round: h.round, samples: rows.length, loss });
    } catch (error) {
      if (controller.signal.aborted) return;
      logger.warn({ err: error, round: h.round }, 'FL local training failed');
      emit({ type: 'failed', round: h.round, error: error instanceof Error ? error : new Error(String(error)) });
    } finally {
      if (training === controller) training = undefined;
    }
  }

  /**
   * Messages are handled one at a time, in arrival order, so an install never races a training run.
   * A global model arriving during local training means the round closed: that training is abandoned.
   * Handlers return at once so that a long local fit never holds up the bus.
   */
  const serial =
    (handler: (msg: InboundMessage) => Promise<void>, preempts: boolean) =>
    (msg: InboundMessage): void => {
      if (preempts) training?.abort();
      work = work.then(() => (running ? handler(msg) : undefined)).catch((error) => logger.warn({ err: error }, 'FL client handler failed'));
    };

  function scheduleHeartbeat(): void {
    heartbeat = clock.setTimeout(() => {
      if (!running) return;
      void sendJoin().finally(scheduleHeartbeat);
    }, heartbeatMs);
  }

  return {
    get installedVersion() {
      return installedVersion;
    },
    async start() {
      if (running) return;
      running = true;
      subs.push(bus.subscribe(flSubject(domain, model, 'global'), serial(onGlobal, true)));
      subs.push(bus.subscribe(flSubject(domain, model, 'announce'), serial(onAnnounce, false)));
      await bus.flush();
      await sendJoin();
      scheduleHeartbeat();
    },
    async stop() {
      if (!running) return;
      running = false;
      clock.clearTimeout(heartbeat);
      training?.abort();
      for (const s of subs) s.unsubscribe();
      subs.length = 0;
      await work;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
