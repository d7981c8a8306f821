import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger, SimulatedClock } from '@sliceguard/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {
  type AgentAppOptions,
  buildAgentApp,
  createPromRegistry,
  credentialOperators,
  openApiDocument,
  SLICEGUARD_METRICS,
  signRequest,
} from '../src/index.js';
import { fakeProviders } from './fixtures.js';

const TOKEN = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';
const bearer = { authorization: `Bearer ${TOKEN}` };

function ed25519() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { raw: new Uint8Array(spki.subarray(spki.length - 32)), sign: (m: Uint8Array) => new Uint8Array(edSign(null, m, privateKey)) };
}
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const verify = (pub: Uint8Array, m: Uint8Array, s: Uint8Array) =>
  edVerify(null, m, createPublicKey({ key: Buffer.concat([SPKI, pub]), format: 'der', type: 'spki' }), s);

function errorCode(r: LightMyRequestResponse): string {
  return (r.json() as { error: { code: string } }).error.code;
}

describe('buildAgentApp', () => {
  let app: FastifyInstance;
  let fake: ReturnType<typeof fakeProviders>;
  let clock: SimulatedClock;
  const operator = ed25519();
  const audits: Array<{ kind: string; actor: string; data: unknown }> = [];

  async function build(extra: Partial<AgentAppOptions> = {}): Promise<FastifyInstance> {
    return buildAgentApp({
      agentId: 'd1:amf-1',
      clock,
      providers: fake.providers,
      auth: {
        tokens: [
          { token: TOKEN, principal: 'alice', scopes: ['*'] },
          { token: VIEWER, principal: 'bob', scopes: ['read'] },
        ],
        operators: {
          resolve: (id) => (id === 'op-carol' ? { publicKey: operator.raw, scopes: ['policies:write', 'loops:control'] } : undefined),
          verify,
        },
      },
      audit: async (e) => {
        audits.push(e);
      },
      ...extra,
    });
  }

  beforeEach(async () => {
    clock = new SimulatedClock(1_700_000_000_000);
    fake = fakeProviders();
    audits.length = 0;
    app = await build();
  });
  afterEach(async () => app.close());

  describe('health, readiness, status', () => {
    it('GET /health and /ready', async () => {
      await clock.advance(2500);
      const h = await app.inject('/health');
      deepStrictEqual(h.json(), { status: 'ok', uptimeSeconds: 2.5 });
      const r = await app.inject('/ready');
      equal(r.statusCode, 200);
      equal(r.json().checks.bus.ok, true);
    });

    it('GET /ready answers 503 while a check fails', async () => {
      fake.providers.readiness = { readiness: async () => ({ ready: false, checks: { bus: { ok: false, detail: 'connecting' } } }) };
      const a = await build();
      const r = await a.inject('/ready');
      equal(r.statusCode, 503);
      equal(r.json().checks.bus.detail, 'connecting');
      await a.close();
      fake.providers.readiness = {
        readiness: async () => {
          throw new Error('store closed');
        },
      };
      const b = await build();
      const thrown = await b.inject('/ready');
      deepStrictEqual([thrown.statusCode, thrown.json().checks.readiness.detail], [503, 'store closed']);
      await b.close();
    });

    it('GET /v1/status returns loop states and stage timings', async () => {
      const r = await app.inject('/v1/status');
      equal(r.statusCode, 200);
      const body = r.json();
      equal(body.loops[0].lifecycle, 'active');
      equal(body.loops[0].stageTimings.ae.meanMs, 1.2);
    });
  });

  describe('read routes', () => {
    it('incidents: list with filters, one with evidence, 404 for unknown, 400 for bad query', async () => {
      const list = await app.inject('/v1/incidents?status=open&limit=10&since=5');
      equal(list.statusCode, 200);
      deepStrictEqual(fake.calls.at(-1)?.args[0], { status: 'open', limit: 10, since: 5 });
      const defaults = await app.inject('/v1/incidents');
      equal(defaults.statusCode, 200);
      deepStrictEqual(fake.calls.at(-1)?.args[0], { limit: 100 });
      const one = await app.inject('/v1/incidents/inc-1');
      equal(one.json().events[0].evidence.contributors[0].metric, 'reg_rate');
      const missing = await app.inject('/v1/incidents/inc-9');
      equal(missing.statusCode, 404);
      equal(errorCode(missing), 'API_ERR_NOT_FOUND');
      for (const q of ['status=burning', 'limit=0', 'limit=abc', 'since=-1', 'color=red']) {
        const bad = await app.inject(`/v1/incidents?${q}`);
        equal(bad.statusCode, 400, q);
        equal(errorCode(bad), 'API_ERR_VALIDATION');
        equal(bad.json().error.details.issues[0].in, 'querystring');
      }
      const badId = await app.inject('/v1/incidents/..%2Fetc');
      equal(badId.statusCode, 400);
    });

    it('decisions: list and one', async () => {
      equal((await app.inject('/v1/decisions?eventId=ev-1')).json()[0].id, 'dec-1');
      deepStrictEqual(fake.calls.at(-1)?.args[0], { eventId: 'ev-1', limit: 100 });
      equal((await app.inject('/v1/decisions/dec-1')).json().eventId, 'ev-1');
      equal((await app.inject('/v1/decisions/dec-2')).statusCode, 404);
    });

    it('trust: scores and one agent (ids with a colon)', async () => {
      equal((await app.inject('/v1/trust')).json()[0].score, 0.9);
      equal((await app.inject('/v1/trust/d1:amf-1')).json().uncertainty, 0.1);
      equal((await app.inject('/v1/trust/d1:nobody')).statusCode, 404);
    });

    it('models and rounds', async () => {
      equal((await app.inject('/v1/models')).json()[0].version, 3);
      equal((await app.inject('/v1/rounds?limit=5')).json()[0].participants, 8);
      deepStrictEqual(fake.calls.at(-1)?.args[0], { limit: 5 });
      equal((await app.inject('/v1/rounds/3')).json().status, 'completed');
      equal((await app.inject('/v1/rounds/4')).statusCode, 404);
      equal((await app.inject('/v1/rounds/x')).statusCode, 400);
    });

    it('policies: list and one', async () => {
      equal((await app.inject('/v1/policies')).json().length, 1);
      equal((await app.inject('/v1/policies/p-block')).json().text, 'on: anomaly');
      equal((await app.inject('/v1/policies/p-none')).statusCode, 404);
    });

    it('absent providers answer 404 API_ERR_FEATURE_UNAVAILABLE (a coordinator without incidents)', async () => {
      const coord = await buildAgentApp({ agentId: 'd1:fl', role: 'coordinator', clock, providers: { models: fake.providers.models } });
      for (const url of ['/v1/status', '/v1/incidents', '/v1/decisions', '/v1/trust', '/v1/policies']) {
        const r = await coord.inject(url);
        equal(r.statusCode, 404, url);
        equal(errorCode(r), 'API_ERR_FEATURE_UNAVAILABLE');
      }
      equal((await coord.inject('/v1/models')).statusCode, 200);
      await coord.close();
    });

    it('unknown routes get the error format', async () => {
      const r = await app.inject('/v2/nothing');
      equal(r.statusCode, 404);
      equal(errorCode(r), 'API_ERR_ROUTE_NOT_FOUND');
      ok(r.json().error.requestId);
    });

    it('protectReads requires a principal with scope read', async () => {
      const a = await build({ auth: { tokens: [{ token: VIEWER, principal: 'bob', scopes: ['read'] }, { token: TOKEN, principal: 'eve', scopes: ['mitigations:write'] }], protectReads: true } });
      equal((await a.inject('/v1/incidents')).statusCode, 401);
      equal((await a.inject({ url: '/v1/incidents', headers: { authorization: `Bearer ${VIEWER}` } })).statusCode, 200);
      equal((await a.inject({ url: '/v1/incidents', headers: bearer })).statusCode, 403);
      equal((await a.inject('/health')).statusCode, 200);
      await a.close();
    });
  });

  describe('mutating routes', () => {
    it('policies: add (201), replace, remove (204) with a bearer token, each audited first', async () => {
      const add = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { id: 'p-2', text: 'on: incident' } });
      equal(add.statusCode, 201);
      equal(add.json().id, 'p-2');
      deepStrictEqual(fake.calls.at(-1), { op: 'policies.add', by: 'alice', args: [{ id: 'p-2', text: 'on: incident' }] });
      const rep = await app.inject({ method: 'PUT', url: '/v1/policies/p-2', headers: bearer, payload: { text: 'on: anomaly' } });
      equal(rep.json().version, 2);
      const del = await app.inject({ method: 'DELETE', url: '/v1/policies/p-2', headers: bearer });
      equal(del.statusCode, 204);
      equal(del.body, '');
      deepStrictEqual(
        audits.map((a) => [a.kind, a.actor, (a.data as { request: string }).request]),
        [
          ['operator_request', 'alice', 'policy.add'],
          ['operator_request', 'alice', 'policy.replace'],
          ['operator_request', 'alice', 'policy.remove'],
        ],
      );
    });

    it('policies: bad bodies are 400 with every issue, provider refusals keep their code', async () => {
      const cases: Array<[unknown, string]> = [
        [{}, "must have required property 'text'"],
        [{ text: '' }, 'must NOT have fewer than 1 characters'],
        [{ text: 'x', extra: true }, 'must NOT have additional properties'],
        [{ text: 5 }, 'must be string'],
        [{ id: 'has space', text: 'x' }, 'must match pattern'],
      ];
      for (const [payload, message] of cases) {
        const r = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: payload as object });
        equal(r.statusCode, 400, JSON.stringify(payload));
        ok(r.json().error.details.issues.some((i: { message: string }) => i.message.includes(message)), r.body);
      }
      const dup = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { id: 'p-block', text: 'x' } });
      deepStrictEqual([dup.statusCode, errorCode(dup)], [409, 'API_ERR_CONFLICT']);
      const conflict = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { text: 'conflict' } });
      deepStrictEqual([conflict.statusCode, errorCode(conflict), conflict.json().error.details.with], [409, 'POLICY_ERR_CONFLICT_RULES', 'p-block']);
      const gone = await app.inject({ method: 'PUT', url: '/v1/policies/p-x', headers: bearer, payload: { text: 'y' } });
      deepStrictEqual([gone.statusCode, errorCode(gone)], [404, 'POLICY_ERR_NOT_FOUND']);
      const boom = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { text: 'boom' } });
      deepStrictEqual([boom.statusCode, errorCode(boom)], [500, 'API_ERR_INTERNAL']);
      ok(!boom.body.includes('exploded'), 'internal error details stay in the log');
    });

    it('rejects malformed JSON, wrong content types and oversized bodies', async () => {
      const badJson = await app.inject({ method: 'POST', url: '/v1/policies', headers: { ...bearer, 'content-type': 'application/json' }, payload: '{"text": ' });
      deepStrictEqual([badJson.statusCode, errorCode(badJson)], [400, 'API_ERR_BAD_JSON']);
      const text = await app.inject({ method: 'POST', url: '/v1/policies', headers: { ...bearer, 'content-type': 'text/plain' }, payload: 'hello' });
      deepStrictEqual([text.statusCode, errorCode(text)], [415, 'API_ERR_UNSUPPORTED_MEDIA_TYPE']);
      const small = await build({ bodyLimit: 100 });
      const big = await small.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { text: 'x'.repeat(500) } });
      deepStrictEqual([big.statusCode, errorCode(big)], [413, 'API_ERR_PAYLOAD_TOO_LARGE']);
      await small.close();
    });

    it('loops: activate, deactivate, reconfigure (validated)', async () => {
      const act = await app.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/activate', headers: bearer });
      equal(act.json().lifecycle, 'active');
      const de = await app.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/deactivate', headers: bearer, payload: { reason: 'maintenance' } });
      equal(de.json().lifecycle, 'inactive');
      deepStrictEqual(fake.calls.at(-1)?.args, ['d1:amf-1', 'maintenance']);
      const noBody = await app.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/deactivate', headers: bearer });
      equal(noBody.statusCode, 200, noBody.body);
      deepStrictEqual(fake.calls.at(-1)?.args, ['d1:amf-1', undefined]);
      const noPolicy = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer });
      ok(noPolicy.json().error.message.includes("required property 'text'"), noPolicy.body);
      const re = await app.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/reconfigure', headers: bearer, payload: { samplingMs: 250, granularity: 'per_flow' } });
      equal(re.json().config.samplingMs, 250);
      for (const payload of [{}, { samplingMs: 1 }, { granularity: 'fine' }, { metrics: [] }, { metrics: ['a', 'a'] }, { thresholds: { cpu: 'high' } }]) {
        const r = await app.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/reconfigure', headers: bearer, payload });
        equal(r.statusCode, 400, JSON.stringify(payload));
      }
      equal((await app.inject({ method: 'POST', url: '/v1/loops/bad%20id/activate', headers: bearer })).statusCode, 400);
    });

    it('mitigations: executes a valid action, refuses unknown action types', async () => {
      const ok1 = await app.inject({
        method: 'POST',
        url: '/v1/mitigations',
        headers: bearer,
        payload: { type: 'block', target: '10.0.0.66', params: { durationMs: 600000 }, reason: 'manual block of the flood source' },
      });
      equal(ok1.statusCode, 200);
      equal(ok1.json().status, 'succeeded');
      const noParams = await app.inject({ method: 'POST', url: '/v1/mitigations', headers: bearer, payload: { type: 'scale_out', target: 'amf', reason: 'r' } });
      equal(noParams.statusCode, 200);
      deepStrictEqual((fake.calls.at(-1)!.args[0] as { params: unknown }).params, {});
      const bad = await app.inject({ method: 'POST', url: '/v1/mitigations', headers: bearer, payload: { type: 'nuke', target: 'x', reason: 'r' } });
      equal(bad.statusCode, 400);
    });

    it('every mutating route refuses unauthenticated (401), bad token (401) and out-of-scope (403) calls', async () => {
      const routes: Array<[string, string, object | undefined]> = [
        ['POST', '/v1/policies', { text: 'x' }],
        ['PUT', '/v1/policies/p-block', { text: 'x' }],
        ['DELETE', '/v1/policies/p-block', undefined],
        ['POST', '/v1/loops/d1:amf-1/activate', undefined],
        ['POST', '/v1/loops/d1:amf-1/deactivate', {}],
        ['POST', '/v1/loops/d1:amf-1/reconfigure', { samplingMs: 100 }],
        ['POST', '/v1/mitigations', { type: 'block', target: 'x', reason: 'r' }],
      ];
      for (const [method, url, payload] of routes) {
        const none = await app.inject({ method: method as 'POST', url, payload });
        deepStrictEqual([none.statusCode, errorCode(none)], [401, 'API_ERR_UNAUTHORIZED'], `${method} ${url}`);
        const wrong = await app.inject({ method: method as 'POST', url, payload, headers: { authorization: 'Bearer not-the-token-at-all' } });
        equal(wrong.statusCode, 401);
        const malformed = await app.inject({ method: method as 'POST', url, payload, headers: { authorization: 'Basic abc' } });
        equal(malformed.statusCode, 401);
        const viewer = await app.inject({ method: method as 'POST', url, payload, headers: { authorization: `Bearer ${VIEWER}` } });
        deepStrictEqual([viewer.statusCode, errorCode(viewer)], [403, 'API_ERR_FORBIDDEN'], `${method} ${url}`);
      }
      equal(fake.calls.filter((c) => c.op !== 'incidents.list').length, 0, 'no provider was reached');
      equal(audits.length, 0);
    });

    it('accepts a request signed by a known operator key and refuses forged, stale, replayed or out-of-scope ones', async () => {
      const body = JSON.stringify({ id: 'p-signed', text: 'on: anomaly' });
      const headers = await signRequest({ method: 'POST', url: '/v1/policies', body, operatorId: 'op-carol', timestamp: clock.now(), sign: operator.sign });
      const send = (h: Record<string, string>, payload = body) =>
        app.inject({ method: 'POST', url: '/v1/policies', headers: { ...h, 'content-type': 'application/json' }, payload });
      const good = await send(headers);
      equal(good.statusCode, 201, good.body);
      equal(fake.calls.at(-1)?.by, 'op-carol');
      const replay = await send(headers);
      deepStrictEqual([replay.statusCode, replay.json().error.message], [401, 'replayed signed request']);
      const tampered = await send(
        await signRequest({ method: 'POST', url: '/v1/policies', body, operatorId: 'op-carol', timestamp: clock.now() + 1, sign: operator.sign }),
        body.replace('anomaly', 'incident'),
      );
      equal(tampered.statusCode, 401);
      const stale = await send(await signRequest({ method: 'POST', url: '/v1/policies', body, operatorId: 'op-carol', timestamp: clock.now() - 60_000, sign: operator.sign }));
      ok(/skew/.test(stale.json().error.message));
      const mallory = ed25519();
      const forged = await send(await signRequest({ method: 'POST', url: '/v1/policies', body, operatorId: 'op-carol', timestamp: clock.now() + 2, sign: mallory.sign }));
      equal(forged.statusCode, 401);
      const unknown = await send(await signRequest({ method: 'POST', url: '/v1/policies', body, operatorId: 'op-dave', timestamp: clock.now() + 3, sign: operator.sign }));
      ok(/unknown or revoked operator/.test(unknown.json().error.message));
      const partial = await send({ 'x-sg-operator': 'op-carol' });
      equal(partial.statusCode, 401);
      const mBody = JSON.stringify({ type: 'block', target: 'x', reason: 'r' });
      const scope = await app.inject({
        method: 'POST',
        url: '/v1/mitigations',
        headers: {
          'content-type': 'application/json',
          ...(await signRequest({ method: 'POST', url: '/v1/mitigations', body: mBody, operatorId: 'op-carol', timestamp: clock.now(), sign: operator.sign })),
        },
        payload: mBody,
      });
      equal(scope.statusCode, 403);
    });

    it('credentialOperators explains every refusal of an operator credential', async () => {
      const hex = Buffer.from(operator.raw).toString('hex');
      const resolve = credentialOperators({
        clock,
        scopes: ['loops:control'],
        trustStore: {
          verifyCredential: (c: never) => {
            const cred = c as { who: string; level: string; revoked?: boolean };
            if (cred.revoked) return { ok: false, reason: 'revoked', message: 'credential c1 is revoked by d1' };
            return { ok: true, principal: { agentId: cred.who, level: cred.level, publicKey: hex } };
          },
        },
      });
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const refusal = (id: string, headers: Record<string, string>): string => {
        try {
          resolve(id, headers);
          return 'accepted';
        } catch (e) {
          return (e as Error).message;
        }
      };
      ok(refusal('op', {}).includes('x-sg-credential'));
      ok(refusal('op', { 'x-sg-credential': '%%%' }).includes('base64url'));
      ok(refusal('op', { 'x-sg-credential': b64({ who: 'op', level: 'operator', revoked: true }) }).includes('revoked'));
      ok(refusal('op', { 'x-sg-credential': b64({ who: 'op', level: 'nf' }) }).includes('not operator'));
      ok(refusal('op', { 'x-sg-credential': b64({ who: 'mallory', level: 'operator' }) }).includes('does not match'));
      const key = resolve('op', { 'x-sg-credential': b64({ who: 'op', level: 'operator' }) });
      deepStrictEqual([Buffer.from(key.publicKey).toString('hex'), key.scopes], [hex, ['loops:control']]);
    });

    it('rate-limits mutating routes per client on the injected clock (429), and reads are not limited', async () => {
      const a = await build({ rateLimit: { max: 3, timeWindowMs: 10_000 } });
      const post = () => a.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/activate', headers: bearer });
      for (let i = 0; i < 3; i++) equal((await post()).statusCode, 200);
      const limited = await post();
      deepStrictEqual([limited.statusCode, errorCode(limited)], [429, 'API_ERR_RATE_LIMITED']);
      ok(Number(limited.headers['retry-after']) > 0);
      for (let i = 0; i < 10; i++) equal((await a.inject('/v1/status')).statusCode, 200);
      await clock.advance(10_000);
      equal((await post()).statusCode, 200);
      // unauthenticated floods are limited too (before authentication runs)
      for (let i = 0; i < 2; i++) equal((await a.inject({ method: 'POST', url: '/v1/mitigations', payload: {} })).statusCode, 401);
      await a.close();
    });

    it('refuses the change when the audit log refuses its record (503), without calling the provider', async () => {
      const a = await build({
        audit: async () => {
          throw new Error('disk full');
        },
      });
      const r = await a.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/activate', headers: bearer });
      deepStrictEqual([r.statusCode, errorCode(r)], [503, 'API_ERR_NOT_READY']);
      equal(fake.calls.length, 0);
      await a.close();
    });

    it('without any configured credential, mutating routes are refused', async () => {
      const a = await buildAgentApp({ agentId: 'x', clock, providers: fake.providers });
      equal((await a.inject({ method: 'POST', url: '/v1/loops/x/activate', headers: bearer })).statusCode, 401);
      await a.close();
    });
  });

  describe('metrics, logs and OpenAPI', () => {
    it('serves /metrics that a Prometheus text-format parser reads, with the agent metrics of a per-app registry', async () => {
      const metrics = createPromRegistry();
      const a = await build({ metrics });
      const other = createPromRegistry();
      other.counter({ name: 'sliceguard_events_total', help: 'x', labelNames: ['type', 'level'] }).inc({ type: 'anomaly', level: 'nf' }, 100);
      const events = metrics.counter({ name: 'sliceguard_events_total', help: 'Security events', labelNames: ['type', 'level'] });
      events.inc({ type: 'anomaly', level: 'nf' });
      events.inc({ type: 'anomaly', level: 'nf' }, 2);
      metrics.gauge({ name: 'sliceguard_trust_score', help: 'trust', labelNames: ['subject'] }).set({ subject: 'd1:amf-1' }, 0.75);
      metrics.histogram({ name: 'sliceguard_loop_stage_duration_seconds', help: 'stage', labelNames: ['level', 'stage'], buckets: [0.001, 0.01] }).observe({ level: 'nf', stage: 'ae' }, 0.004);
      await a.inject('/health');
      const r = await a.inject('/metrics');
      equal(r.statusCode, 200);
      ok(String(r.headers['content-type']).startsWith('text/plain'));
      const families = parsePrometheusTextFormat(r.body);
      const byName = new Map(families.map((f) => [f.name, f]));
      const ev = byName.get('sliceguard_events_total');
      equal(ev?.type, 'COUNTER');
      deepStrictEqual(ev?.metrics, [{ value: '3', labels: { type: 'anomaly', level: 'nf' } }]);
      equal(byName.get('sliceguard_trust_score')?.metrics[0].value, '0.75');
      const hist = byName.get('sliceguard_loop_stage_duration_seconds');
      equal(hist?.type, 'HISTOGRAM');
      deepStrictEqual(hist?.metrics[0].buckets, { '0.001': '0', '0.01': '1', '+Inf': '1' });
      const http = byName.get('sliceguard_http_requests_total');
      ok(http?.metrics.some((m) => m.labels?.route === '/health' && m.labels?.status_code === '200' && m.value === '1'));
      await a.close();
    });

    it('every catalog metric registers in one registry and is exposed with its declared type', async () => {
      const m = createPromRegistry();
      for (const d of Object.values(SLICEGUARD_METRICS)) {
        const labels = Object.fromEntries(('labelNames' in d ? d.labelNames : []).map((l: string) => [l, 'x']));
        if (d.type === 'counter') m.counter(d).inc(labels);
        else if (d.type === 'gauge') m.gauge(d).set(labels, 1);
        else m.histogram(d).observe(labels, 0.01);
      }
      const families = new Map(parsePrometheusTextFormat(await m.metricsText()).map((f) => [f.name, f.type]));
      for (const d of Object.values(SLICEGUARD_METRICS)) {
        equal(families.get(d.name), d.type.toUpperCase(), d.name);
        ok(d.type !== 'counter' || d.name.endsWith('_total'), d.name);
        ok(d.type !== 'histogram' || d.name.endsWith('_seconds'), d.name);
      }
    });

    it('createPromRegistry returns the same metric for the same name and refuses misuse', async () => {
      const m = createPromRegistry();
      const c1 = m.counter({ name: 'sliceguard_actions_total', help: 'a', labelNames: ['type', 'status'] });
      ok(c1 === m.counter({ name: 'sliceguard_actions_total', help: 'a', labelNames: ['type', 'status'] }));
      let code = '';
      try {
        m.gauge({ name: 'sliceguard_actions_total', help: 'a', labelNames: ['type', 'status'] });
      } catch (e) {
        code = (e as { code: string }).code;
      }
      equal(code, 'CORE_ERR_INVALID_INPUT');
      let msg = '';
      try {
        m.counter({ name: 'sliceguard_actions', help: 'a' });
      } catch (e) {
        msg = (e as Error).message;
      }
      ok(/_total/.test(msg));
    });

    it('bridges fastify logs to the core logger with a component scope', async () => {
      const lines: Array<{ bindings: Record<string, unknown>; level: string; obj: unknown; msg?: string }> = [];
      const make = (bindings: Record<string, unknown>): Logger => {
        const at = (level: string) => (obj: unknown, msg?: string) => lines.push({ bindings, level, obj, msg });
        return { child: (b) => make({ ...bindings, ...b }), trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
      };
      const a = await build({ logger: make({}) });
      await a.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { text: 'boom' } });
      await a.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/activate', headers: bearer });
      const err = lines.find((l) => l.level === 'error');
      equal(err?.bindings.component, 'api');
      equal(err?.bindings.agentId, 'd1:amf-1');
      ok(lines.some((l) => l.level === 'info' && l.msg === 'operator request applied'));
      ok(lines.some((l) => l.level === 'debug' && (l.obj as { route?: string }).route === '/v1/policies'));
      await a.close();
    });

    it('writes structured pino JSON lines through core createLogger', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sg-api-log-'));
      const file = join(dir, 'agent.log');
      const fd = openSync(file, 'w');
      try {
        const a = await build({ logger: createLogger({ level: 'debug', name: 'agent', fd }) });
        await a.inject({ method: 'POST', url: '/v1/loops/d1:amf-1/activate', headers: bearer });
        await a.inject({ method: 'POST', url: '/v1/policies', headers: bearer, payload: { text: 'boom' } });
        await a.close();
        const lines = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const applied = lines.find((l) => l.msg === 'operator request applied');
        equal(applied?.component, 'api');
        equal(applied?.agentId, 'd1:amf-1');
        equal(applied?.principal, 'alice');
        equal(applied?.level, 30);
        const failure = lines.find((l) => l.level === 50 && l.msg === 'unhandled API error');
        ok(failure, 'the 500 is logged with its error');
        ok(String((failure.err as { message?: string })?.message).includes('database exploded'));
      } finally {
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('serves an OpenAPI 3 document covering every route, the same as docs/openapi.json', async () => {
      const doc = (await app.inject('/openapi.json')).json();
      ok(String(doc.openapi).startsWith('3.'));
      const paths = Object.keys(doc.paths);
      for (const p of ['/health', '/ready', '/metrics', '/v1/status', '/v1/incidents/{id}', '/v1/policies/{id}', '/v1/loops/{loopId}/reconfigure', '/v1/mitigations']) {
        ok(paths.includes(p), p);
      }
      deepStrictEqual(doc.paths['/v1/mitigations'].post.security, [{ bearer: [] }, { operatorSignature: [] }]);
      ok(doc.paths['/v1/policies'].post.responses['4XX']);
      const here = dirname(fileURLToPath(import.meta.url));
      const committed = JSON.parse(readFileSync(join(here, '..', '..', '..', '..', 'docs', 'openapi.json'), 'utf8'));
      deepStrictEqual(committed, await openApiDocument(), 'docs/openapi.json is stale: run `node packages/cli/bin/sliceguard.js api openapi --out docs/openapi.json`');
    });
  });
});
