import { type KeyObject, createPublicKey, verify } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * Worker side of the verification pool: receives a batch of Ed25519 jobs packed into one buffer
 * (inputs back to back, 64-byte signatures, 32-byte keys) and answers one byte per job.
 */
interface Batch {
  id: number;
  data: Uint8Array;
  inputEnds: Uint32Array;
  sigs: Uint8Array;
  keys: Uint8Array;
}

const keys = new Map<string, KeyObject | null>();

function keyFor(raw: Uint8Array): KeyObject | null {
  const hex = Buffer.from(raw).toString('hex');
  let k = keys.get(hex);
  if (k === undefined) {
    try {
      k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
    } catch {
      k = null;
    }
    if (keys.size > 10_000) keys.clear();
    keys.set(hex, k);
  }
  return k;
}

parentPort?.on('message', (b: Batch) => {
  const n = b.inputEnds.length;
  const results = new Uint8Array(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = b.inputEnds[i];
    const key = keyFor(b.keys.subarray(i * 32, i * 32 + 32));
    results[i] = key && verify(null, b.data.subarray(start, end), key, b.sigs.subarray(i * 64, i * 64 + 64)) ? 1 : 0;
    start = end;
  }
  parentPort?.postMessage({ id: b.id, results }, [results.buffer]);
});
