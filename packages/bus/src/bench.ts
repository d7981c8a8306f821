import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { systemClock, utf8 } from '@sliceguard/core';
import { type AgentIdentity, type TrustStore, createDomainAuthority, createVerifier, generateKeyPair, nobleVerify, sign } from '@sliceguard/identity';
import { startNatsServer } from '@sliceguard/test-utils';
import { connect } from 'nats';
import { createLocalNetwork, localBus } from './local.js';
import { connectNatsBus } from './nats.js';

/**
 * `sliceguard bench --only bus`: every figure is measured in this one run so the ratios compare like
 * with like. It starts its own nats-server (via @sliceguard/test-utils).
 */
export interface BenchOptions {
  quick: boolean;
  log(line: string): void;
}

const PAYLOAD = 1024;

function rate(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Verifications per second on this thread for `ms` milliseconds. */
function verifyRate(verifyOnce: () => boolean, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 20; i++) if (!verifyOnce()) throw new Error('benchmark signature did not verify');
    n += 20;
    t = performance.now();
  }
  return rate(n, t - t0);
}

async function rawNats(url: string, count: number): Promise<number> {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  let got = 0;
  let t0 = 0;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => (resolve = r));
  sub.subscribe('bench.raw', {
    callback: () => {
      if (++got === count) resolve();
    },
  });
  await sub.flush();
  const payload = new Uint8Array(PAYLOAD).fill(0x61);
  t0 = performance.now();
  for (let i = 0; i < count; i++) {
    pub.publish('bench.raw', payload);
    if (i % 1000 === 999) await pub.flush();
  }
  await done;
  const ms = performance.now() - t0;
  await Promise.all([pub.close(), sub.close()]);
  return rate(count, ms);
}

async function signedNats(
  url: string,
  count: number,
  sender: AgentIdentity,
  receiver: AgentIdentity,
  root: { domain: string; publicKey: string },
  batch: number,
  trustStore: TrustStore,
  receiverOptions: { verifyWorkers?: number; maxSkewMs?: number } = {},
  presigned = false,
): Promise<{ rate: number; rejected: number }> {
  const rx = await connectNatsBus({ servers: url, identity: receiver, trustStore, ...receiverOptions });
  const subject = 'sg.d1.s1.cn.upf1.telemetry';
  let delivered = 0;
  let first = 0;
  let last = 0;
  const worker = new Worker(new URL('./bench-publisher.js', import.meta.url), {
    workerData: { url, subject, count, payloadBytes: PAYLOAD, window: 4000, batch, keyPair: sender.keyPair, credential: sender.credential, root, presigned },
  });
  const exited = new Promise((r) => worker.once('exit', r));
  let check: NodeJS.Timeout | undefined;
  try {
    let finished: () => void = () => {};
    const allDelivered = new Promise<void>((r) => (finished = r));
    rx.subscribe(subject, () => {
      if (delivered === 0) first = performance.now();
      delivered++;
      if (delivered % 500 === 0) worker.postMessage({ delivered });
      if (delivered === count) {
        last = performance.now();
        finished();
      }
    });
    await rx.flush();
    const failed = new Promise<never>((_, reject) => {
      worker.on('message', (m: { error?: string }) => m.error && reject(new Error(m.error)));
      worker.on('error', reject);
      let seen = -1;
      check = setInterval(() => {
        if (delivered === seen) reject(new Error(`signed NATS stage stalled at ${delivered}/${count} deliveries; rejected ${JSON.stringify(rx.stats().rejected)}`));
        seen = delivered;
      }, 30_000);
    });
    await Promise.race([allDelivered, failed]);
    worker.postMessage({ done: true });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    const rejected = Object.values(rx.stats().rejected).reduce((a, b) => a + b, 0);
    // first delivery → last delivery: count − 1 intervals
    return { rate: rate(count - 1, last - first), rejected };
  } finally {
    clearInterval(check);
    await worker.terminate();
    await rx.close();
  }
}

export async function run(options: BenchOptions): Promise<Record<string, unknown>> {
  const quick = options.quick;
  const log = options.log;
  const server = await startNatsServer();
  try {
    const d1 = createDomainAuthority('d1');
    const trustStore = d1.trustStore();
    const root = { domain: 'd1', publicKey: d1.publicKeyHex };
    const sender = d1.issue({ agentId: 'd1:upf1', level: 'nf', slice: 's1', subslice: 'cn', nf: 'upf1' });
    const receiver = d1.issue({ agentId: 'd1:tsm', level: 'domain' });

    // 1. Ed25519 verify rates on one core (a ~1.2 KB message, as the bus signs)
    const kp = generateKeyPair();
    const msg = new Uint8Array(PAYLOAD + 200).fill(0x62);
    const sig = sign(kp.secretKey, msg);
    const verifier = createVerifier(kp.publicKey);
    const verifyOnce = (): boolean => verifier(msg, sig);
    const nodeVerify = verifyRate(verifyOnce, quick ? 300 : 2000);
    // The machine may be shared: the verify rate is re-measured around each NATS stage and each
    // ratio uses the mean of the measurements just before and after that stage.
    const adjacent = async <T>(stage: () => Promise<T>): Promise<{ result: T; verifyRate: number }> => {
      const before = verifyRate(verifyOnce, quick ? 200 : 700);
      const result = await stage();
      const after = verifyRate(verifyOnce, quick ? 200 : 700);
      return { result, verifyRate: Math.round((before + after) / 2) };
    };
    const nobleRate = verifyRate(() => nobleVerify(kp.publicKey, msg, sig), quick ? 300 : 2000);
    log(`verify/s: node:crypto ${nodeVerify}, @noble/ed25519 ${nobleRate}`);

    // 2. raw NATS, unsigned
    const rawCount = quick ? 20_000 : 200_000;
    const raw = await rawNats(server.url, rawCount);
    log(`raw NATS publish→deliver (1 KB): ${raw}/s`);

    // 3. NatsBus signed + verified, publisher in a worker thread
    const signedCount = quick ? 3000 : 40_000;
    const s1 = await adjacent(() => signedNats(server.url, signedCount, sender, receiver, root, 1, trustStore));
    const signed = s1.result;
    log(`NatsBus signed delivery: ${signed.rate}/s (${(signed.rate / s1.verifyRate).toFixed(2)} × adjacent verify rate ${s1.verifyRate}/s)`);
    const s2 = await adjacent(() => signedNats(server.url, signedCount, sender, receiver, root, 1, trustStore, { verifyWorkers: 1 }));
    const workers = s2.result;
    log(`NatsBus signed delivery, verification on a worker thread: ${workers.rate}/s (${(workers.rate / s2.verifyRate).toFixed(2)} × adjacent verify rate ${s2.verifyRate}/s)`);
    // pre-signed envelopes are older when they arrive: a wide skew keeps them valid (same cost per check)
    const wide = { maxSkewMs: 3_600_000 };
    const r1 = await adjacent(() => signedNats(server.url, signedCount, sender, receiver, root, 1, trustStore, wide, true));
    log(`NatsBus receiver only (pre-signed envelopes): ${r1.result.rate}/s (${(r1.result.rate / r1.verifyRate).toFixed(2)} × adjacent verify rate ${r1.verifyRate}/s)`);
    const r2 = await adjacent(() => signedNats(server.url, signedCount, sender, receiver, root, 1, trustStore, { ...wide, verifyWorkers: 1 }, true));
    log(`NatsBus receiver only, verification on a worker thread: ${r2.result.rate}/s (${(r2.result.rate / r2.verifyRate).toFixed(2)} × adjacent verify rate ${r2.verifyRate}/s)`);
    const batchSize = 64;
    const r3 = await adjacent(() => signedNats(server.url, quick ? 10_000 : 100_000, sender, receiver, root, batchSize, trustStore, wide, true));
    log(`NatsBus receiver only, batch-signed (${batchSize}/signature): ${r3.result.rate}/s (${(r3.result.rate / r3.verifyRate).toFixed(2)} × adjacent verify rate ${r3.verifyRate}/s)`);
    const s3 = await adjacent(() => signedNats(server.url, quick ? 10_000 : 100_000, sender, receiver, root, batchSize, trustStore));
    const batched = s3.result;
    log(`NatsBus batch-signed delivery (${batchSize}/signature): ${batched.rate}/s (${(batched.rate / s3.verifyRate).toFixed(2)} × adjacent verify rate ${s3.verifyRate}/s)`);

    // 4. LocalBus signed + verified (sender and receiver share this thread)
    const network = createLocalNetwork();
    const lrx = localBus({ network, identity: receiver, trustStore });
    const ltx = localBus({ network, identity: sender, trustStore });
    const localCount = quick ? 2000 : 20_000;
    let localGot = 0;
    lrx.subscribe('sg.d1.>', () => {
      localGot++;
    });
    const payload = new Uint8Array(PAYLOAD).fill(0x61);
    const localVerifyBefore = verifyRate(verifyOnce, quick ? 200 : 700);
    let t0 = performance.now();
    for (let i = 0; i < localCount; i++) {
      await ltx.publish('sg.d1.s1.cn.upf1.telemetry', payload);
    }
    await network.settled();
    const localRate = rate(localGot, performance.now() - t0);
    const localVerify = Math.round((localVerifyBefore + verifyRate(verifyOnce, quick ? 200 : 700)) / 2);
    // fan-out: one message verified once per network, checked per receiver
    const fanout = 100;
    const rxs = Array.from({ length: fanout }, () => localBus({ network, identity: receiver, trustStore }));
    let fanGot = 0;
    for (const r of rxs) {
      r.subscribe('sg.d1.s1.>', () => {
        fanGot++;
      });
    }
    const fanMsgs = quick ? 200 : 2000;
    t0 = performance.now();
    for (let i = 0; i < fanMsgs; i++) await ltx.publish('sg.d1.s1.cn.upf1.telemetry', payload);
    await network.settled();
    const fanRate = rate(fanGot, performance.now() - t0);
    await Promise.all([lrx, ltx, ...rxs].map((b) => b.close()));
    log(`LocalBus signed delivery: ${localRate}/s (sign + verify on one thread); fan-out to ${fanout}: ${fanRate} deliveries/s`);

    // 5. request/reply latency over NATS
    const responder = await connectNatsBus({ servers: server.url, identity: receiver, trustStore });
    const requester = await connectNatsBus({ servers: server.url, identity: receiver, trustStore, clock: systemClock() });
    responder.subscribe('sg.d1._._._.control', (m) => {
      void responder.respond(m, m.data);
    });
    await responder.flush();
    const reqCount = quick ? 200 : 2000;
    const lat: number[] = [];
    const body = utf8('{"cmd":"ping"}');
    for (let i = 0; i < reqCount; i++) {
      const t = performance.now();
      await requester.request('sg.d1._._._.control', body, { timeoutMs: 5000 });
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    await Promise.all([responder.close(), requester.close()]);
    const p50 = Number(percentile(lat, 50).toFixed(3));
    const p99 = Number(percentile(lat, 99).toFixed(3));
    log(`signed request/reply over NATS: p50 ${p50} ms, p99 ${p99} ms`);

    return {
      payloadBytes: PAYLOAD,
      verifyPerSec: { nodeCrypto: nodeVerify, noble: nobleRate },
      rawNatsPerSec: raw,
      natsBusSignedPerSec: signed.rate,
      natsBusWorkerVerifyPerSec: workers.rate,
      natsBusBatchedPerSec: batched.rate,
      natsBusReceiverOnlyPerSec: { perMessage: r1.result.rate, workerVerify: r2.result.rate, batched: r3.result.rate },
      batchSize,
      localBusSignedPerSec: localRate,
      localBusFanout: { receivers: fanout, deliveriesPerSec: fanRate },
      requestReplyMs: { p50, p99, count: reqCount },
      rejectedDuringBench: signed.rejected + workers.rejected + batched.rejected + r1.result.rejected + r2.result.rejected + r3.result.rejected,
      adjacentVerifyPerSec: { receiverOnly: r1.verifyRate, receiverOnlyWorkers: r2.verifyRate, receiverOnlyBatched: r3.verifyRate, signed: s1.verifyRate, workers: s2.verifyRate, batched: s3.verifyRate, local: localVerify },
      ratios: {
        natsSignedOverVerify: Number((signed.rate / s1.verifyRate).toFixed(3)),
        natsWorkerVerifyOverVerify: Number((workers.rate / s2.verifyRate).toFixed(3)),
        natsBatchedOverVerify: Number((batched.rate / s3.verifyRate).toFixed(3)),
        receiverOnlyOverVerify: Number((r1.result.rate / r1.verifyRate).toFixed(3)),
        receiverOnlyWorkersOverVerify: Number((r2.result.rate / r2.verifyRate).toFixed(3)),
        receiverOnlyBatchedOverVerify: Number((r3.result.rate / r3.verifyRate).toFixed(3)),
        localSignedOverVerify: Number((localRate / localVerify).toFixed(3)),
        natsSignedOverRaw: Number((signed.rate / raw).toFixed(4)),
        nodeOverNoble: Number((nodeVerify / nobleRate).toFixed(1)),
      },
      target: {
        natsSignedOverVerifyAtLeast: 0.7,
        metEndToEnd: signed.rate / s1.verifyRate >= 0.7,
        metReceiverOnly: r1.result.rate / r1.verifyRate >= 0.7,
      },
      cpus: availableParallelism(),
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      counts: { raw: rawCount, signed: signedCount, local: localCount, requests: reqCount },
    };
  } finally {
    await server.stop();
  }
}
