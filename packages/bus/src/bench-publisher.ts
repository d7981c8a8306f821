import { parentPort, workerData } from 'node:worker_threads';
import { TrustStore } from '@sliceguard/identity';
import type { Credential, KeyPair } from '@sliceguard/identity';
import { connectNatsBus } from './nats.js';

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
}

async function main(): Promise<void> {
  const d = workerData as PublisherData;
  const port = parentPort;
  if (!port) throw new Error('bench-publisher must run in a worker thread');
  const trustStore = new TrustStore({ roots: [d.root] });
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

main().catch((error) => {
  parentPort?.postMessage({ error: (error as Error).stack ?? String(error) });
});
