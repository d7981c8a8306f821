import { type TlaAttribute, type TlaSpec, type TlaThresholds, TLA_ATTRIBUTES } from '@sliceguard/core';
import { InvalidTlaError } from './errors.js';

/** The actions a TLA can tie to thresholds, from mildest to harshest. */
export const TRUST_ACTIONS = ['reduceWeight', 'ignoreReports', 'quarantine', 'revoke'] as const;
export type TrustAction = (typeof TRUST_ACTIONS)[number];

/**
 * Where the evidence for each TLA attribute comes from in a running sliceguard system, and which
 * adapter (src/evidence.ts) turns that signal into evidence. docs/trust.md reproduces this table.
 */
export const TLA_EVIDENCE_SOURCES: Record<TlaAttribute, { signal: string; adapter: string }> = {
  security_measures: {
    signal: 'credential validity and time to expiry (checked when the agent registers and periodically); VSFs deployed',
    adapter: 'credentialEvidence',
  },
  compliance: {
    signal: "declared operating location (TLA `location`) against the location observed for the agent's NF",
    adapter: 'locationEvidence',
  },
  ssla: {
    signal: 'delegations: acknowledgement latency against the expected ack time, deadlines met or missed',
    adapter: 'delegationEvidence',
  },
  message_validity: {
    signal: 'bus rejections attributed to the claimed sender, by reason (Bus.onReject); malformed ratings',
    adapter: 'rejectionEvidence (wired by attachToBus)',
  },
  report_accuracy: {
    signal: "incidents confirmed or contradicted by peers and outcomes; peer ratings that agree or disagree with the trust manager's confident view",
    adapter: 'reportEvidence',
  },
  fl_quality: {
    signal: 'federated updates accepted or rejected by the coordinator, distance from the aggregate',
    adapter: 'flUpdateEvidence',
  },
};

export interface ResolvedTla {
  /** Per attribute weight scaled so that the largest is 1; 0 when the attribute does not count. */
  weights: Record<TlaAttribute, number>;
  required: Partial<Record<TlaAttribute, number>>;
  /** Thresholds per action; 0 disables an action. */
  thresholds: Record<TrustAction, number>;
  halfLifeMs: number;
  location?: string;
}

function fail(message: string, field: string, value: unknown, file?: string): never {
  throw new InvalidTlaError(message, { field, value, ...(file ? { file } : {}) });
}

function unit(value: unknown, field: string, file?: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    fail(`${field} must be a number between 0 and 1 (got ${JSON.stringify(value)})`, field, value, file);
  }
  return value;
}

/**
 * Validates a TLA and fills in the manager's defaults. Thresholds missing from the TLA take the
 * defaults; a threshold of 0 disables that action. `where` names the TLA in error details.
 */
export function resolveTla(
  spec: TlaSpec | undefined,
  defaults: { tla: TlaSpec; thresholds: Record<TrustAction, number>; halfLifeMs: number },
  where?: string,
): ResolvedTla {
  const source = spec ?? defaults.tla;
  if (typeof source !== 'object' || source === null || typeof source.attributes !== 'object' || source.attributes === null) {
    fail('a TLA needs an `attributes` map (attribute name → { weight, required? })', 'attributes', source, where);
  }
  const weights = Object.fromEntries(TLA_ATTRIBUTES.map((a) => [a, 0])) as Record<TlaAttribute, number>;
  const required: Partial<Record<TlaAttribute, number>> = {};
  // a TLA that names no attribute (a topology that sets only thresholds or a location) counts the defaults'
  const attributes = Object.keys(source.attributes).length > 0 ? source.attributes : defaults.tla.attributes;
  for (const [name, attr] of Object.entries(attributes)) {
    if (!(TLA_ATTRIBUTES as readonly string[]).includes(name)) {
      fail(`unknown TLA attribute "${name}"; known: ${TLA_ATTRIBUTES.join(', ')}`, `attributes.${name}`, name, where);
    }
    if (attr === undefined) continue;
    const w = attr.weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      fail(`attributes.${name}.weight must be a finite number ≥ 0 (got ${JSON.stringify(w)})`, `attributes.${name}.weight`, w, where);
    }
    weights[name as TlaAttribute] = w;
    if (attr.required !== undefined) required[name as TlaAttribute] = unit(attr.required, `attributes.${name}.required`, where);
  }
  const max = Math.max(...Object.values(weights));
  if (!(max > 0)) fail('a TLA needs at least one attribute with a weight > 0', 'attributes', attributes, where);
  for (const a of TLA_ATTRIBUTES) weights[a] /= max;

  const given: TlaThresholds = source.thresholds ?? {};
  const thresholds = { ...defaults.thresholds };
  for (const action of TRUST_ACTIONS) {
    const v = given[action];
    if (v !== undefined) thresholds[action] = unit(v, `thresholds.${action}`, where);
  }
  const halfLifeMs = source.halfLifeMs ?? defaults.halfLifeMs;
  if (typeof halfLifeMs !== 'number' || !(halfLifeMs > 0)) {
    fail(`halfLifeMs must be a positive number of milliseconds (got ${JSON.stringify(halfLifeMs)})`, 'halfLifeMs', halfLifeMs, where);
  }
  if (source.location !== undefined && (typeof source.location !== 'string' || source.location.length === 0)) {
    fail('location must be a non-empty string (ISO country or site id)', 'location', source.location, where);
  }
  return { weights, required, thresholds, halfLifeMs, ...(source.location ? { location: source.location } : {}) };
}
