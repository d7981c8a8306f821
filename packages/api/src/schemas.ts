import { ACTION_TYPES } from '@sliceguard/core';
import { type Static, Type } from '@sinclair/typebox';

/** JSON schemas (TypeBox) of every request and response; they also generate docs/openapi.json. */

export const AgentIdParam = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$',
  description: 'Agent / loop id (`<domain>:<entity>`)',
});
export const IdParam = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$' });

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code (docs/api.md)' }),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      requestId: Type.Optional(Type.String()),
    }),
  },
  { $id: 'Error', description: 'The one error format of the API' },
);

const Free = Type.Record(Type.String(), Type.Unknown());

export const HealthSchema = Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() });
export const ReadySchema = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) })),
});

export const StageTimingSchema = Type.Object({
  count: Type.Integer({ minimum: 0 }),
  lastMs: Type.Number(),
  meanMs: Type.Number(),
  maxMs: Type.Optional(Type.Number()),
});
export const LoopStatusSchema = Type.Object(
  {
    agentId: Type.String(),
    level: Type.String(),
    lifecycle: Type.String(),
    iteration: Type.Integer({ minimum: 0 }),
    stageTimings: Type.Record(Type.String(), StageTimingSchema, { description: 'by stage: ms, ae, de, es' }),
    config: Type.Optional(Free),
  },
  { additionalProperties: true },
);
export const StatusSchema = Type.Object(
  {
    agentId: Type.String(),
    role: Type.Union([Type.Literal('agent'), Type.Literal('coordinator')]),
    startedAt: Type.Number(),
    loops: Type.Array(LoopStatusSchema),
  },
  { additionalProperties: true },
);

export const ListQuery = Type.Object(
  {
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'clock ms' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);
export const IncidentListQuery = Type.Composite(
  [
    ListQuery,
    Type.Object({
      status: Type.Optional(
        Type.Union(['open', 'mitigating', 'escalated', 'resolved', 'dismissed'].map((s) => Type.Literal(s))),
      ),
    }),
  ],
  { additionalProperties: false },
);
export const DecisionListQuery = Type.Composite([ListQuery, Type.Object({ eventId: Type.Optional(IdParam) })], { additionalProperties: false });
export const RoundListQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) }, { additionalProperties: false });

const Loose = (description: string) => Type.Object({ id: Type.String() }, { additionalProperties: true, description });
export const IncidentSchema = Loose('An incident with its events and their evidence (store IncidentRecord)');
export const DecisionSchema = Loose('A decision (core Decision) with the outcomes of its actions');
export const TrustScoreSchema = Type.Object(
  {
    agentId: Type.String(),
    score: Type.Number({ minimum: 0, maximum: 1 }),
    weight: Type.Number({ minimum: 0, maximum: 1 }),
    quarantined: Type.Boolean(),
    uncertainty: Type.Optional(Type.Number()),
    attributes: Type.Optional(Type.Record(Type.String(), Type.Number())),
  },
  { additionalProperties: true },
);
export const ModelSchema = Type.Object({ modelId: Type.String(), version: Type.Integer() }, { additionalProperties: true });
export const RoundSchema = Type.Object({ round: Type.Integer(), status: Type.String() }, { additionalProperties: true });
export const PolicySchema = Type.Object(
  { id: Type.String(), version: Type.Integer({ minimum: 1 }), sha256: Type.String(), text: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

const PolicyText = Type.String({ minLength: 1, maxLength: 262_144, description: 'The policy document (YAML or JSON)' });
export const PolicyAddBody = Type.Object({ id: Type.Optional(IdParam), text: PolicyText }, { additionalProperties: false });
export const PolicyReplaceBody = Type.Object({ text: PolicyText }, { additionalProperties: false });

export const DeactivateBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
export const ReconfigureBody = Type.Object(
  {
    samplingMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000, description: 'monitoring sampling period' })),
    metrics: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 200, uniqueItems: true })),
    granularity: Type.Optional(Type.Union([Type.Literal('aggregate'), Type.Literal('per_flow')])),
    thresholds: Type.Optional(Type.Record(Type.String(), Type.Number())),
    params: Type.Optional(Free),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const MitigationBody = Type.Object(
  {
    type: Type.Union(ACTION_TYPES.map((t) => Type.Literal(t))),
    target: Type.String({ minLength: 1, maxLength: 200 }),
    params: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    expiresInMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 * 1000 })),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export const OutcomeSchema = Type.Object({ id: Type.String(), status: Type.String() }, { additionalProperties: true });

export type IncidentListQueryT = Static<typeof IncidentListQuery>;
export type DecisionListQueryT = Static<typeof DecisionListQuery>;
export type PolicyAddBodyT = Static<typeof PolicyAddBody>;
export type ReconfigureBodyT = Static<typeof ReconfigureBody>;
export type MitigationBodyT = Static<typeof MitigationBody>;
