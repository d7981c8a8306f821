import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ActionRequest, fromHex, systemClock } from '@sliceguard/core';
import { after, before, describe, it } from 'mocha';
import { webhookActuator, type WebhookBody } from '../src/index.js';

interface Received {
  body: Buffer;
  headers: IncomingMessage['headers'];
}

describe('webhook actuator (against a local node:http server)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const clock = systemClock();
  let server: Server;
  let url = '';
  const received: Received[] = [];
  let respond: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_q, res) => res.end('{}');

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks), headers: req.headers });
        respond(req, res, received.length);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orchestrator/actions`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = (id: string): ActionRequest => ({ id, type: 'webhook', target: 'vcdn', params: { scale: 'edge' }, requestedBy: 'edge:vcdn', at: 1 });
  const actuator = (extra: Partial<Parameters<typeof webhookActuator>[0]> = {}) =>
    webhookActuator({ clock, url, sign: (body) => sign(null, body, privateKey), keyId: 'edge-root', backoffMs: 20, timeoutMs: 2_000, ...extra });

  it('POSTs a signed body the receiver can verify, with the action id as idempotency key', async () => {
    received.length = 0;
    respond = (_q, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ accepted: true }));
    };
    const out = await actuator().execute(request('w1'));
    assert.equal(out.status, 'succeeded');
    assert.deepEqual(out.result?.response, { accepted: true });
    const [r] = received;
    assert.equal(r.headers['idempotency-key'], 'w1');
    assert.equal(r.headers['x-sliceguard-key-id'], 'edge-root');
    const signature = fromHex(String(r.headers['x-sliceguard-signature']));
    assert.ok(verify(null, r.body, createPublicKey(publicKey.export({ format: 'pem', type: 'spki' })), signature));
    const body = JSON.parse(r.body.toString()) as WebhookBody;
    assert.equal(body.action.id, 'w1');
    const tampered = Buffer.from(r.body.toString().replace('edge', 'core'));
    assert.equal(verify(null, tampered, publicKey, signature), false);
  });

  it('retries 503 with exponential backoff, then succeeds', async () => {
    received.length = 0;
    respond = (_q, res, n) => {
      res.statusCode = n < 3 ? 503 : 200;
      res.end(n < 3 ? 'busy' : 'ok');
    };
    const started = Date.now();
    const out = await actuator().execute(request('w2'));
    assert.deepEqual([out.status, out.result?.attempts], ['succeeded', 3]);
    assert.ok(Date.now() - started >= 20 + 40 - 5, 'waited 20 ms then 40 ms');
    assert.deepEqual(received.map((r) => (JSON.parse(r.body.toString()) as WebhookBody).attempt), [1, 2, 3]);
  });

  it('does not retry a 4xx answer and gives up after the retries', async () => {
    received.length = 0;
    respond = (_q, res) => {
      res.statusCode = 400;
      res.end('bad action');
    };
    const bad = await actuator().execute(request('w3'));
    assert.equal(bad.status, 'failed');
    assert.match(bad.detail!, /HTTP 400: bad action/);
    assert.equal(received.length, 1);
    received.length = 0;
    respond = (_q, res) => {
      res.statusCode = 500;
      res.end();
    };
    const gave = await actuator({ retries: 2 }).execute(request('w4'));
    assert.match(gave.detail!, /gave up after 3 attempt\(s\): HTTP 500/);
    assert.equal(received.length, 3);
  });

  it('times out a hanging attempt and retries it', async () => {
    received.length = 0;
    respond = (_q, res, n) => {
      if (n === 1) return; // hang
      res.end('ok');
    };
    const out = await actuator({ timeoutMs: 400, retries: 3 }).execute(request('w5'));
    assert.equal(out.status, 'succeeded');
    assert.ok(Number(out.result?.attempts) >= 2, 'the hanging first attempt timed out and was retried');
  });

  it('stops when the caller aborts', async () => {
    received.length = 0;
    const controller = new AbortController();
    respond = (_q, res) => {
      res.statusCode = 503;
      res.end();
      // the loop stops while the actuator waits for its first retry
      setTimeout(() => controller.abort(new Error('loop stopping')), 20);
    };
    const out = await actuator({ backoffMs: 1_000 }).execute(request('w6'), { signal: controller.signal });
    assert.equal(out.status, 'failed');
    assert.match(out.detail!, /aborted/);
    assert.equal(received.length, 1);
  });

  it('refuses a non-http URL at construction', () => {
    assert.throws(() => webhookActuator({ clock, url: 'ftp://x' }), /must be http\(s\)/);
    assert.throws(() => webhookActuator({ clock, url: 'not a url' }), /not a valid URL/);
  });
});
