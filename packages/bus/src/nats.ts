import { type ConnectionOptions, type Msg, type MsgHdrs, type NatsConnection, connect, headers as natsHeaders } from 'nats';
import { type Envelope, type EnvelopeHeaders, H_BATCH, H_CHUNK, H_CRED, H_EPOCH, H_PROTO, H_SEQ, H_SIG, H_TS } from './envelope.js';
import { BusError } from './errors.js';
import type { SignedBusOptions } from './options.js';
import { SignedBus, type TransportSubscription } from './signed-bus.js';

export interface NatsBusOptions extends SignedBusOptions {
  /** One URL or several (a cluster): the client fails over between them. */
  servers: string | string[];
  /** Connection name shown by the server (default: the agent id). */
  name?: string;
  /** Messages accepted while disconnected (the client buffers them until it reconnects). Default 10,000. */
  maxBufferedMessages?: number;
  /** Bytes accepted while disconnected. Default 16 MiB. Beyond either bound publish fails with BUS_ERR_BUFFER_FULL. */
  maxBufferedBytes?: number;
  /** Wait between reconnect attempts (ms). Default 250. */
  reconnectTimeWaitMs?: number;
  /** Reconnect attempts before giving up; -1 = forever (default). */
  maxReconnectAttempts?: number;
  /** Initial connect timeout (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Ping interval (ms) to detect a dead server that did not close the socket. Default 10,000. */
  pingIntervalMs?: number;
}

const HEADER_FIELDS: Array<[keyof EnvelopeHeaders, string]> = [
  ['proto', H_PROTO],
  ['cred', H_CRED],
  ['ts', H_TS],
  ['epoch', H_EPOCH],
  ['seq', H_SEQ],
  ['chunk', H_CHUNK],
  ['batch', H_BATCH],
  ['sig', H_SIG],
];

/** The envelope's headers as NATS headers (also used by tests to inject raw envelopes). */
export function toNatsHeaders(h: EnvelopeHeaders): MsgHdrs {
  const out = natsHeaders();
  for (const [field, name] of HEADER_FIELDS) {
    const v = h[field];
    if (v !== undefined) out.set(name, v);
  }
  return out;
}

export function fromNatsMsg(msg: Msg): Envelope {
  const h = msg.headers;
  const headers: EnvelopeHeaders = {};
  if (h) {
    for (const [field, name] of HEADER_FIELDS) {
      const v = h.get(name);
      if (v !== '') headers[field] = v;
    }
  }
  return { subject: msg.subject, ...(msg.reply ? { reply: msg.reply } : {}), headers, data: msg.data };
}

/**
 * The Bus over a real nats-server (`nats` 2.x client): reconnects forever across the given servers,
 * resubscribes (the client does), bounds what it buffers while disconnected, maps the client's
 * status events to BusStatus, chunks payloads above the server's max_payload.
 */
export class NatsBus extends SignedBus {
  private connected = true;
  private bufferedBytes = 0;
  private readonly maxBufferedMessages: number;
  private readonly maxBufferedBytes: number;
  private statusLoop?: Promise<void>;
  private closingByUs = false;
  private stopStatus: () => void = () => {};

  constructor(
    private readonly nc: NatsConnection,
    options: NatsBusOptions,
  ) {
    super(options);
    this.maxBufferedMessages = options.maxBufferedMessages ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.statusLoop = this.watchStatus();
    nc.closed().then((error) => {
      this.stopStatus();
      if (!this.closingByUs) {
        this.logger.warn({ err: error }, 'NATS connection closed');
        this.shutdown(error instanceof Error ? error : undefined);
      }
    });
  }

  /** The server this bus is connected to now (host:port). */
  get server(): string {
    return this.nc.getServer();
  }

  private async watchStatus(): Promise<void> {
    const iterator = this.nc.status();
    this.stopStatus = () => (iterator as { stop?: () => void }).stop?.();
    for await (const s of iterator) {
      const server = typeof s.data === 'string' ? s.data : undefined;
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          this.emitStatus({ type: 'disconnected', ...(server ? { server } : {}) });
          break;
        case 'reconnecting':
          this.connected = false;
          this.emitStatus({ type: 'reconnecting' });
          break;
        case 'reconnect':
          this.connected = true;
          this.statsData.buffered = 0;
          this.bufferedBytes = 0;
          this.emitStatus({ type: 'reconnected', ...(server ? { server } : {}) });
          break;
        case 'error':
          this.emitStatus({ type: 'error', error: new BusError('BUS_ERR_CONNECT', `NATS async error: ${String(s.data)}`, { data: String(s.data) }) });
          break;
        default:
          break;
      }
    }
  }

  protected transmit(env: Envelope): void {
    if (!this.connected) {
      const size = env.data.length + 1024;
      if (this.statsData.buffered >= this.maxBufferedMessages || this.bufferedBytes + size > this.maxBufferedBytes) {
        this.statsData.droppedWhileDisconnected++;
        throw new BusError('BUS_ERR_BUFFER_FULL', `disconnected from NATS and ${this.statsData.buffered} messages (${this.bufferedBytes} bytes) already buffered; ${env.subject} dropped`, {
          subject: env.subject,
          buffered: this.statsData.buffered,
        });
      }
      this.statsData.buffered++;
      this.bufferedBytes += size;
    }
    try {
      this.nc.publish(env.subject, env.data, { headers: toNatsHeaders(env.headers), ...(env.reply !== undefined ? { reply: env.reply } : {}) });
    } catch (error) {
      throw new BusError('BUS_ERR_CLOSED', `cannot publish on ${env.subject}: ${(error as Error).message}`, { subject: env.subject }, error);
    }
  }

  protected openSubscription(pattern: string, queue: string | undefined, onEnvelope: (env: Envelope) => void): TransportSubscription {
    const sub = this.nc.subscribe(pattern, {
      ...(queue !== undefined ? { queue } : {}),
      callback: (error, msg) => {
        if (error) {
          this.emitStatus({ type: 'error', error });
          return;
        }
        // the server answers a request nobody subscribes to with a 503 status (no payload, no signature)
        if (msg.headers?.code === 503 && this.isOwnInbox(msg.subject)) {
          this.noResponders(msg.subject);
          return;
        }
        onEnvelope(fromNatsMsg(msg));
      },
    });
    return {
      close: () => {
        try {
          if (!sub.isClosed()) sub.unsubscribe();
        } catch {
          // the connection is already closed: nothing to unsubscribe
        }
      },
    };
  }

  protected maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** True while connected to a server (false while disconnected or reconnecting). */
  get isConnected(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  protected async transportFlush(): Promise<void> {
    try {
      await this.nc.flush();
    } catch (error) {
      throw new BusError('BUS_ERR_DISCONNECTED', `flush failed: ${(error as Error).message} (the client reconnects on its own; retry)`, {}, error);
    }
  }

  protected async transportDrain(): Promise<void> {
    this.closingByUs = true;
    if (!this.nc.isClosed()) {
      try {
        await this.nc.drain();
      } catch (error) {
        if (!this.nc.isClosed()) await this.nc.close();
        this.logger.debug({ err: error }, 'drain failed, closed instead');
      }
    }
    this.stopStatus();
    await this.statusLoop;
  }

  protected async transportClose(): Promise<void> {
    this.closingByUs = true;
    if (!this.nc.isClosed()) await this.nc.close();
    this.stopStatus();
    await this.statusLoop;
  }
}

/** Connects to NATS and returns a signing, verifying Bus. Throws BUS_ERR_CONNECT with the servers tried. */
export async function connectNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  if (servers.length === 0) throw new BusError('BUS_ERR_INVALID_OPTIONS', 'connectNatsBus needs at least one server URL', { field: 'servers' });
  const connectOptions: ConnectionOptions = {
    servers,
    name: options.name ?? options.identity.credential.claims.agentId,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
    reconnectJitter: 50,
    timeout: options.connectTimeoutMs ?? 5000,
    pingInterval: options.pingIntervalMs ?? 10_000,
    maxPingOut: 2,
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
  };
  let nc: NatsConnection;
  try {
    nc = await connect(connectOptions);
  } catch (error) {
    throw new BusError(
      'BUS_ERR_CONNECT',
      `cannot connect to NATS at ${servers.join(', ')}: ${(error as Error).message}. Is nats-server running there? (\`sliceguard up\` starts one; tests use startNatsServer())`,
      { servers },
      error,
    );
  }
  try {
    const bus = new NatsBus(nc, options);
    return bus;
  } catch (error) {
    await nc.close();
    throw error;
  }
}
