import { parentPort, workerData } from 'node:worker_threads';
import { TrustStore } from '@sliceguard/identity';
import type { Credential, KeyPair } from '@sliceguard/identity';
import { connect } from 'nats';
import type { Envelope } from './envelope.js';
import { createLocalNetwork, localBus } from './local.js';
import { connectNatsBus, toNatsHeaders } from './nats.js';

/**
 * Benchmark helper run in a worker thread: a NatsBus that signs and publishes `count` messages as
 * fast as the receiver's credit allows (the receiver posts how many it has delivered), so signing
 * does not share the receiver's thread and the server never buffers more than `window` messages.
 */
interface PublisherData {
  url: string;
  subject: string;
  count: number;
  payloadBytes: number;
  window: number;
  batch: number;
  keyPair: KeyPair;
  credential: Credential;
  root: { domain: string; publicKey: string };
  /** Sign everything first, then publish with the plain client (measures the receiver alone). */
  presigned?: boolean;
}

async function main(): Promise<void> {
  const d = workerData as PublisherData;
  const port = parentPort;
  if (!port) throw new Error('bench-publisher must run in a worker thread');
  const trustStore = new TrustStore({ roots: [d.root] });
  if (d.presigned) return presigned(d, port, trustStore);
  const bus = await connectNatsBus({
    servers: d.url,
    identity: { keyPair: { publicKey: new Uint8Array(d.keyPair.publicKey), secretKey: new Uint8Array(d.keyPair.secretKey) }, credential: d.credential },
    trustStore,
    ...(d.batch > 1 ? { batch: { maxMessages: d.batch } } : {}),
  });
  let delivered = 0;
  let done = false;
  let wake: (() => void) | undefined;
  port.on('message', (m: { delivered?: number; done?: boolean }) => {
    if (m.done) done = true;
    if (m.delivered !== undefined) delivered = m.delivered;
    wake?.();
  });
  const payload = new Uint8Array(d.payloadBytes).fill(0x61);
  port.postMessage({ ready: true });
  let sent = 0;
  while (sent < d.count) {
    while (sent - delivered >= d.window) await new Promise<void>((r) => (wake = r));
    const burst = Math.min(d.count - sent, d.window - (sent - delivered), 256);
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < burst; i++) pending.push(bus.publish(d.subject, payload));
    sent += burst;
    await Promise.all(pending);
  }
  await bus.flush();
  port.postMessage({ sent });
  while (!done) await new Promise<void>((r) => (wake = r));
  await bus.close();
  port.removeAllListeners('message');
  port.unref();
}

async function presigned(d: PublisherData, port: NonNullable<typeof parentPort>, trustStore: TrustStore): Promise<void> {
  const identity = { keyPair: { publicKey: new Uint8Array(d.keyPair.publicKey), secretKey: new Uint8Array(d.keyPair.secretKey) }, credential: d.credential };
  const sealer = localBus({ network: createLocalNetwork(), identity, trustStore, ...(d.batch > 1 ? { batch: { maxMessages: d.batch } } : {}) });
  const payload = new Uint8Array(d.payloadBytes).fill(0x61);
  const envelopes: Envelope[] = [];
  if (d.batch > 1) {
    (sealer as unknown as { transmit(e: Envelope): void }).transmit = (e) => envelopes.push(e);
    for (let i = 0; i < d.count; i += d.batch) {
      await Promise.all(Array.from({ length: Math.min(d.batch, d.count - i) }, () => sealer.publish(d.subject, payload)));
    }
  } else {
    for (let i = 0; i < d.count; i++) envelopes.push(sealer.sealForTest(d.subject, payload));
  }
  await sealer.close();
  const nc = await connect({ servers: d.url });
  let delivered = 0;
  let done = false;
  let wake: (() => void) | undefined;
  port.on('message', (m: { delivered?: number; done?: boolean }) => {
    if (m.done) done = true;
    if (m.delivered !== undefined) delivered = m.delivered;
    wake?.();
  });
  port.postMessage({ ready: true });
  for (let i = 0; i < envelopes.length; i++) {
    while (i - delivered >= d.window) await new Promise<void>((r) => (wake = r));
    const e = envelopes[i];
    nc.publish(e.subject, e.data, { headers: toNatsHeaders(e.headers) });
    if (i % 256 === 255) await nc.flush();
  }
  await nc.flush();
  port.postMessage({ sent: envelopes.length });
  while (!done) await new Promise<void>((r) => (wake = r));
  await nc.close();
  port.removeAllListeners('message');
  port.unref();
}

main().catch((error) => {
  parentPort?.postMessage({ error: (error as Error).stack ?? String(error) });
});
