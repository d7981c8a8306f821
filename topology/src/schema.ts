import { type Static, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { ID_PATTERN, NF_KINDS, SUBSLICE_KINDS, TLA_ATTRIBUTES } from '@sliceguard/core';

/**
 * The raw shape of a topology file (docs/topology.md). Structural checks (types, required fields,
 * unknown fields, id characters, enums) come from this schema; cross-references and bounds that a
 * schema cannot express are checked in validate.ts.
 */
const literals = <T extends readonly string[]>(values: T, options: { default?: T[number] } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<TLiteral<T[number]>[]>;

export const IdSchema = Type.String({ pattern: ID_PATTERN.source, description: 'an id' });
export const METRIC_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

const Strict = { additionalProperties: false } as const;

export const TlaAttributeSchema = Type.Object(
  {
    weight: Type.Number({ minimum: 0 }),
    required: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  Strict,
);

const unit = () => Type.Optional(Type.Number({ minimum: 0, maximum: 1 }));

export const TlaSchema = Type.Object(
  {
    attributes: Type.Optional(
      Type.Object(Object.fromEntries(TLA_ATTRIBUTES.map((a) => [a, Type.Optional(TlaAttributeSchema)])) as Record<string, TSchema>, Strict),
    ),
    thresholds: Type.Optional(
      Type.Object({ reduceWeight: unit(), ignoreReports: unit(), quarantine: unit(), revoke: unit() }, Strict),
    ),
    location: Type.Optional(Type.String({ minLength: 1 })),
    halfLifeMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  Strict,
);

export const SslaSchema = Type.Object(
  {
    timeToDetectMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    timeToMitigateMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    availability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  Strict,
);

const PoliciesSchema = Type.Array(Type.String({ minLength: 1 }));

const common = {
  tla: Type.Optional(TlaSchema),
  ssla: Type.Optional(SslaSchema),
  policies: Type.Optional(PoliciesSchema),
};

export const ReplicasSchema = Type.Object(
  {
    min: Type.Optional(Type.Integer({ minimum: 1 })),
    max: Type.Optional(Type.Integer({ minimum: 1 })),
    initial: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  Strict,
);

export const NfSchema = Type.Object(
  {
    id: IdSchema,
    // a string here; checked against NF_CATALOGUE in validate.ts so the error can suggest names
    type: Type.String(),
    kind: Type.Optional(literals(NF_KINDS, { default: 'cnf' })),
    metrics: Type.Optional(Type.Array(Type.String({ pattern: METRIC_PATTERN.source }), { minItems: 1 })),
    replicas: Type.Optional(ReplicasSchema),
    location: Type.Optional(Type.String({ minLength: 1 })),
    chain: Type.Optional(Type.Array(IdSchema)),
    exporter: Type.Optional(Type.Object({ url: Type.String({ minLength: 1 }) }, Strict)),
    ...common,
  },
  Strict,
);

export const ISOLATION_LEVELS = ['shared', 'dedicated'] as const;
export type Isolation = (typeof ISOLATION_LEVELS)[number];

/** A sub-slice entry: a definition (id, kind, nfs…) or `ref: <sub-slice id>` (checked in validate.ts). */
export const SubsliceSchema = Type.Object(
  {
    ref: Type.Optional(IdSchema),
    id: Type.Optional(IdSchema),
    kind: Type.Optional(literals(SUBSLICE_KINDS)),
    isolation: Type.Optional(literals(ISOLATION_LEVELS, { default: 'dedicated' })),
    nfs: Type.Optional(Type.Array(NfSchema)),
    ...common,
  },
  Strict,
);

export const SliceSchema = Type.Object(
  {
    id: IdSchema,
    service: Type.Optional(Type.String({ pattern: ID_PATTERN.source })),
    isolation: Type.Optional(literals(ISOLATION_LEVELS, { default: 'dedicated' })),
    spans: Type.Optional(Type.Array(IdSchema)),
    subslices: Type.Array(SubsliceSchema),
    ...common,
  },
  Strict,
);

export const DomainSchema = Type.Object(
  {
    id: IdSchema,
    name: Type.Optional(Type.String()),
    location: Type.Optional(Type.String({ minLength: 1 })),
    trustedDomains: Type.Optional(Type.Array(IdSchema)),
    slices: Type.Array(SliceSchema),
    ...common,
  },
  Strict,
);

export const SUPPORTED_VERSIONS = [1] as const;

export const TopologySchema = Type.Object(
  {
    version: Type.Number(),
    domains: Type.Array(DomainSchema, { minItems: 1 }),
  },
  Strict,
);

export type RawTopology = Static<typeof TopologySchema>;
export type RawDomain = Static<typeof DomainSchema>;
export type RawSlice = Static<typeof SliceSchema>;
export type RawSubslice = Static<typeof SubsliceSchema>;
export type RawNf = Static<typeof NfSchema>;
export type RawTla = Static<typeof TlaSchema>;
export type RawSsla = Static<typeof SslaSchema>;
