import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { Clock, Logger } from '@sliceguard/core';
import { SliceguardError, silentLogger, systemClock } from '@sliceguard/core';
import { type TSchema, Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type ApiAuthOptions, type ApiScope, createAuthenticator, hasScope } from './auth.js';
import { ApiError, type ErrorBody, FeatureUnavailableError, NotFoundError, statusOf } from './errors.js';
import { fastifyLogger } from './logger.js';
import { createPromRegistry, type PromMetricsRegistry, SLICEGUARD_METRICS } from './metrics.js';
import type { AgentProviders, ApiPrincipal } from './providers.js';
import { clockRateLimitStore } from './rate-limit.js';
import * as S from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
    principal?: ApiPrincipal;
  }
}

export interface AgentAppOptions {
  /** Agent or coordinator id shown in status and logs. */
  agentId: string;
  role?: 'agent' | 'coordinator';
  providers?: AgentProviders;
  auth?: ApiAuthOptions;
  clock?: Clock;
  logger?: Logger;
  /** The registry /metrics serves (share it with the agent's packages); a fresh one by default. */
  metrics?: PromMetricsRegistry;
  /** Per client and mutating route (default 30 requests per 60 000 ms of the clock); false disables. */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Called (and awaited) before a mutating request reaches its provider: an `operator_request` audit record. */
  audit?: (entry: { kind: string; actor: string; subject?: string; data: unknown }) => Promise<unknown>;
  /** Reported in the OpenAPI document. */
  version?: string;
}

export const defaultAgentAppOptions = Object.freeze({
  role: 'agent' as const,
  rateLimit: Object.freeze({ max: 30, timeWindowMs: 60_000 }),
  bodyLimit: 1 << 20,
  version: '0.1.0',
});

type Feature = keyof AgentProviders;

function errorBody(code: string, message: string, details: Record<string, unknown> | undefined, requestId: string): ErrorBody {
  return { error: { code, message, ...(details && Object.keys(details).length > 0 ? { details } : {}), requestId } };
}

const errorResponses = { '4xx': S.ErrorSchema, '5xx': S.ErrorSchema };
const security: Array<Record<string, string[]>> = [{ bearer: [] }, { operatorSignature: [] }];

/**
 * Builds the HTTP API of one agent or coordinator (no socket: call `app.listen()` yourself, or test
 * with `app.inject()`). Every route is always registered so the OpenAPI document is the same
 * everywhere; routes of providers the agent does not have answer 404 API_ERR_FEATURE_UNAVAILABLE.
 */
export async function buildAgentApp(options: AgentAppOptions): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock();
  const logger = (options.logger ?? silentLogger()).child({ component: 'api', agentId: options.agentId });
  const metrics = options.metrics ?? createPromRegistry();
  const providers = options.providers ?? {};
  const role = options.role ?? defaultAgentAppOptions.role;
  const limits = options.rateLimit === undefined ? defaultAgentAppOptions.rateLimit : options.rateLimit;
  const authenticator = createAuthenticator(options.auth ?? {}, clock);
  const startedAt = clock.now();
  const httpRequests = metrics.counter(SLICEGUARD_METRICS.httpRequests);
  const httpDuration = metrics.histogram(SLICEGUARD_METRICS.httpRequestDuration);

  const app = Fastify({
    loggerInstance: fastifyLogger(logger),
    bodyLimit: options.bodyLimit ?? defaultAgentAppOptions.bodyLimit,
    // our onResponse hook logs each request once, at debug, with the route and status
    logController: new LogController({ disableRequestLogging: true }),
  });

  // Query strings and path parameters are text, so they are coerced ("10" → 10); JSON bodies are
  // not: {"text": 5} is a type error, not the string "5". Unknown fields are refused, not dropped.
  const ajvOptions = { removeAdditional: false, allErrors: true, useDefaults: true, strict: false } as const;
  const coercing = new Ajv({ ...ajvOptions, coerceTypes: 'array' });
  const strictBodies = new Ajv({ ...ajvOptions, coerceTypes: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictBodies : coercing).compile(schema));
  app.removeContentTypeParser(['text/plain']);

  // keep the raw body: signed requests cover the exact bytes sent
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (cause) {
      done(new ApiError('API_ERR_BAD_JSON', `request body is not valid JSON: ${(cause as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError & { validationContext?: string }, request, reply) => {
    let status: number;
    let body: ErrorBody;
    if (error.validation) {
      const where = error.validationContext ?? 'request';
      const issues = error.validation.map((v) => ({
        in: where,
        path: v.instancePath === '' ? '/' : v.instancePath,
        message: v.message ?? 'is invalid',
        ...(v.keyword === 'additionalProperties' ? { property: (v.params as { additionalProperty?: string }).additionalProperty } : {}),
      }));
      const first = issues[0];
      status = 400;
      body = errorBody(
        'API_ERR_VALIDATION',
        `invalid ${where}: ${first.path} ${first.message}${first.property ? ` (${first.property})` : ''}`,
        { issues },
        request.id,
      );
    } else if (error instanceof SliceguardError) {
      status = statusOf(error);
      body = errorBody(error.code, error.message, { ...error.details }, request.id);
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      body = errorBody('API_ERR_UNSUPPORTED_MEDIA_TYPE', `unsupported content type ${request.headers['content-type'] ?? '(none)'}; send application/json`, undefined, request.id);
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = errorBody('API_ERR_PAYLOAD_TOO_LARGE', error.message, undefined, request.id);
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      body = errorBody('API_ERR_VALIDATION', error.message, { fastifyCode: error.code }, request.id);
    } else {
      status = 500;
      request.log.error({ err: error, url: request.url }, 'unhandled API error');
      body = errorBody('API_ERR_INTERNAL', 'internal error (see the agent log for this requestId)', undefined, request.id);
    }
    if (status >= 500 && error instanceof SliceguardError) {
      request.log.error({ code: body.error.code, url: request.url, err: error.cause ?? error }, body.error.message);
    }
    void reply.status(status).type('application/json').send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(errorBody('API_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; see /openapi.json`, undefined, request.id));
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    httpRequests.inc({ method: request.method, route, status_code: reply.statusCode });
    httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    logger.debug({ reqId: request.id, method: request.method, route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'sliceguard agent API',
        version: options.version ?? defaultAgentAppOptions.version,
        description:
          'HTTP API of a sliceguard agent or federation coordinator. Errors: { error: { code, message, details?, requestId } } (codes in docs/api.md). ' +
          'Mutating routes need a bearer token or an Ed25519-signed request (x-sg-operator, x-sg-timestamp, x-sg-signature) and are rate limited.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          operatorSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'x-sg-signature',
            description:
              'hex Ed25519 signature over "sliceguard-api-v1\\n<METHOD>\\n<path?query>\\n<x-sg-timestamp>\\n<sha256 hex of body>" by the key of x-sg-operator',
          },
        },
      },
    },
  });
  if (limits !== false) {
    await app.register(rateLimit, {
      global: false,
      store: clockRateLimitStore(clock),
      errorResponseBuilder: (_request, context) =>
        new ApiError('API_ERR_RATE_LIMITED', `rate limit of ${context.max} requests per ${limits.timeWindowMs} ms exceeded; retry in ${context.after}`, {
          max: context.max,
          retryAfterMs: context.ttl,
        }),
    });
  }

  const need = <K extends Feature>(feature: K, label: string): NonNullable<AgentProviders[K]> => {
    const p = providers[feature];
    if (!p) throw new FeatureUnavailableError(label);
    return p as NonNullable<AgentProviders[K]>;
  };

  const requirePrincipal = async (request: FastifyRequest, scope: ApiScope): Promise<void> => {
    const principal = await authenticator.authenticate({ method: request.method, url: request.url, headers: request.headers, rawBody: request.rawBody });
    if (!principal) {
      throw new ApiError('API_ERR_UNAUTHORIZED', 'authentication required: send "Authorization: Bearer <token>" or a signed request (x-sg-operator, x-sg-timestamp, x-sg-signature)');
    }
    if (!hasScope(principal, scope)) {
      throw new ApiError('API_ERR_FORBIDDEN', `${principal.id} lacks scope ${scope}`, { principal: principal.id, scope });
    }
    request.principal = principal;
  };

  const readGuard = options.auth?.protectReads
    ? { preValidation: async (request: FastifyRequest) => requirePrincipal(request, 'read') }
    : {};
  const readSecurity = options.auth?.protectReads ? { security } : {};

  interface RouteSpec {
    tags: string[];
    summary: string;
    params?: TSchema;
    querystring?: TSchema;
    body?: TSchema;
    response: TSchema;
    status?: number;
  }
  const schemaOf = (spec: RouteSpec, secured: boolean) => ({
    tags: spec.tags,
    summary: spec.summary,
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.querystring ? { querystring: spec.querystring } : {}),
    ...(spec.body ? { body: spec.body } : {}),
    response: { [spec.status ?? 200]: spec.response, ...errorResponses },
    ...(secured ? { security } : readSecurity),
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the route's JSON schema has validated params, query and body
  type Validated = any;
  type Handler = (request: FastifyRequest & { params: Validated; query: Validated; body: Validated }, reply: FastifyReply) => Promise<unknown>;

  const read = (url: string, spec: RouteSpec, handler: Handler): void => {
    app.get(url, { schema: schemaOf(spec, false), ...readGuard }, handler);
  };

  const mutate = (method: 'POST' | 'PUT' | 'DELETE', url: string, scope: ApiScope, spec: RouteSpec, kind: string, handler: Handler): void => {
    app.route({
      method,
      url,
      schema: schemaOf(spec, true),
      ...(limits !== false ? { config: { rateLimit: { max: limits.max, timeWindow: limits.timeWindowMs } } } : {}),
      preValidation: async (request) => {
        await requirePrincipal(request, scope);
        // no body at all reads as {}: optional bodies (deactivate) may be omitted, and required
        // fields are reported by name instead of "must be object"
        if (spec.body && (request.body === undefined || request.body === null)) request.body = {};
      },
      handler: async (request, reply) => {
        if (options.audit) {
          try {
            await options.audit({
              kind: 'operator_request',
              actor: request.principal!.id,
              subject: options.agentId,
              data: { request: kind, method, url: request.url, params: request.params ?? {}, body: request.body ?? null },
            });
          } catch (cause) {
            throw new ApiError('API_ERR_NOT_READY', 'the audit log refused the request record; nothing was changed', {}, cause);
          }
        }
        const result = await handler(request, reply);
        logger.info({ principal: request.principal!.id, request: kind, url: request.url }, 'operator request applied');
        return result;
      },
    });
  };

  // --- health, readiness, metrics, OpenAPI -------------------------------------------------------
  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness', response: { 200: S.HealthSchema } } }, async () => ({
    status: 'ok' as const,
    uptimeSeconds: (clock.now() - startedAt) / 1000,
  }));
  app.get(
    '/ready',
    { schema: { tags: ['health'], summary: 'Readiness (503 until every check passes)', response: { 200: S.ReadySchema, 503: S.ReadySchema } } },
    async (_request, reply) => {
      let r: { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> } = { ready: true, checks: { api: { ok: true } } };
      if (providers.readiness) {
        try {
          r = await providers.readiness.readiness();
        } catch (error) {
          r = { ready: false, checks: { readiness: { ok: false, detail: (error as Error).message } } };
        }
      }
      return reply.status(r.ready ? 200 : 503).send(r);
    },
  );
  app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics (text exposition format)' } }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.metricsText());
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // --- status ------------------------------------------------------------------------------------
  read('/v1/status', { tags: ['status'], summary: 'Loop states and stage timings', response: S.StatusSchema }, async () => {
    const status = await need('status', 'status').status();
    return { ...status, role: status.role ?? role };
  });

  // --- incidents ---------------------------------------------------------------------------------
  read(
    '/v1/incidents',
    { tags: ['incidents'], summary: 'Incidents, newest first', querystring: S.IncidentListQuery, response: Type.Array(S.IncidentSchema) },
    async (request) => need('incidents', 'incidents').list({ ...request.query }),
  );
  read(
    '/v1/incidents/:id',
    { tags: ['incidents'], summary: 'One incident with its events and evidence', params: Type.Object({ id: S.IdParam }), response: S.IncidentSchema },
    async (request) => (await need('incidents', 'incidents').get(request.params.id)) ?? Promise.reject(new NotFoundError('incident', request.params.id)),
  );

  // --- decisions ---------------------------------------------------------------------------------
  read(
    '/v1/decisions',
    { tags: ['decisions'], summary: 'Decisions and their outcomes, newest first', querystring: S.DecisionListQuery, response: Type.Array(S.DecisionSchema) },
    async (request) => need('decisions', 'decisions').list({ ...request.query }),
  );
  read(
    '/v1/decisions/:id',
    { tags: ['decisions'], summary: 'One decision', params: Type.Object({ id: S.IdParam }), response: S.DecisionSchema },
    async (request) => (await need('decisions', 'decisions').get(request.params.id)) ?? Promise.reject(new NotFoundError('decision', request.params.id)),
  );

  // --- trust -------------------------------------------------------------------------------------
  read('/v1/trust', { tags: ['trust'], summary: 'Trust scores of every known agent', response: Type.Array(S.TrustScoreSchema) }, async () =>
    need('trust', 'trust scores').scores(),
  );
  read(
    '/v1/trust/:agentId',
    { tags: ['trust'], summary: "One agent's trust score", params: Type.Object({ agentId: S.AgentIdParam }), response: S.TrustScoreSchema },
    async (request) =>
      (await need('trust', 'trust scores').score(request.params.agentId)) ?? Promise.reject(new NotFoundError('agent', request.params.agentId)),
  );

  // --- models and federated rounds ---------------------------------------------------------------
  read('/v1/models', { tags: ['federation'], summary: 'Models and their versions', response: Type.Array(S.ModelSchema) }, async () =>
    need('models', 'models').models(),
  );
  read(
    '/v1/rounds',
    { tags: ['federation'], summary: 'Federated rounds, newest first', querystring: S.RoundListQuery, response: Type.Array(S.RoundSchema) },
    async (request) => need('models', 'federated rounds').rounds({ ...request.query }),
  );
  read(
    '/v1/rounds/:round',
    { tags: ['federation'], summary: 'One federated round', params: Type.Object({ round: Type.Integer({ minimum: 0 }) }), response: S.RoundSchema },
    async (request) =>
      (await need('models', 'federated rounds').round(request.params.round)) ?? Promise.reject(new NotFoundError('round', String(request.params.round))),
  );

  // --- policies ----------------------------------------------------------------------------------
  read('/v1/policies', { tags: ['policies'], summary: 'Active policies', response: Type.Array(S.PolicySchema) }, async () =>
    need('policies', 'policies').list(),
  );
  read(
    '/v1/policies/:id',
    { tags: ['policies'], summary: 'One policy with its text', params: Type.Object({ id: S.IdParam }), response: S.PolicySchema },
    async (request) => (await need('policies', 'policies').get(request.params.id)) ?? Promise.reject(new NotFoundError('policy', request.params.id)),
  );
  mutate(
    'POST',
    '/v1/policies',
    'policies:write',
    { tags: ['policies'], summary: 'Add a policy (validated and conflict-checked)', body: S.PolicyAddBody, response: S.PolicySchema, status: 201 },
    'policy.add',
    async (request, reply) => reply.status(201).send(await need('policies', 'policies').add(request.body, request.principal!)),
  );
  mutate(
    'PUT',
    '/v1/policies/:id',
    'policies:write',
    { tags: ['policies'], summary: 'Replace a policy', params: Type.Object({ id: S.IdParam }), body: S.PolicyReplaceBody, response: S.PolicySchema },
    'policy.replace',
    async (request) => need('policies', 'policies').replace(request.params.id, request.body, request.principal!),
  );
  mutate(
    'DELETE',
    '/v1/policies/:id',
    'policies:write',
    { tags: ['policies'], summary: 'Remove a policy', params: Type.Object({ id: S.IdParam }), response: Type.Null(), status: 204 },
    'policy.remove',
    async (request, reply) => {
      await need('policies', 'policies').remove(request.params.id, request.principal!);
      return reply.status(204).send();
    },
  );

  // --- loop control ------------------------------------------------------------------------------
  const loopParams = Type.Object({ loopId: S.AgentIdParam });
  mutate(
    'POST',
    '/v1/loops/:loopId/activate',
    'loops:control',
    { tags: ['loops'], summary: 'Activate a loop', params: loopParams, response: S.LoopStatusSchema },
    'loop.activate',
    async (request) => need('loops', 'loop control').activate(request.params.loopId, request.principal!),
  );
  mutate(
    'POST',
    '/v1/loops/:loopId/deactivate',
    'loops:control',
    { tags: ['loops'], summary: 'Deactivate a loop', params: loopParams, body: S.DeactivateBody, response: S.LoopStatusSchema },
    'loop.deactivate',
    async (request) => need('loops', 'loop control').deactivate(request.params.loopId, request.body?.reason, request.principal!),
  );
  mutate(
    'POST',
    '/v1/loops/:loopId/reconfigure',
    'loops:control',
    {
      tags: ['loops'],
      summary: 'Reconfigure a loop at run time (sampling, metrics, granularity, thresholds)',
      params: loopParams,
      body: S.ReconfigureBody,
      response: S.LoopStatusSchema,
    },
    'loop.reconfigure',
    async (request) => need('loops', 'loop control').reconfigure(request.params.loopId, request.body, request.principal!),
  );

  // --- manual mitigation -------------------------------------------------------------------------
  mutate(
    'POST',
    '/v1/mitigations',
    'mitigations:write',
    { tags: ['mitigation'], summary: 'Execute a manual mitigation action', body: S.MitigationBody, response: S.OutcomeSchema },
    'mitigation',
    async (request) => need('mitigation', 'manual mitigation').mitigate(request.body, request.principal!),
  );

  await app.ready();
  return app;
}

/** The OpenAPI document of the API (what docs/openapi.json holds), without a socket. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const app = await buildAgentApp({ agentId: 'openapi' });
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
