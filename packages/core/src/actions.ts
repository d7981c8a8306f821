/**
 * The Enforcement Service contract: a decision becomes ActionRequests, each executed by the actuator
 * that handles its type and answered by an ActionOutcome. Requests are idempotent by `id`.
 */
export const ACTION_TYPES = [
  'rate_limit', // limit a source / path / NF to N requests per second
  'block', // drop traffic from a source (optionally for a duration)
  'allow', // explicitly allow a source (whitelist)
  'scale_out', // add replicas through the MANO
  'scale_in', // remove replicas through the MANO
  'deploy_vsf', // deploy a virtual security function (vfirewall, vids, dpi) in front of an NF
  'remove_vsf',
  'isolate', // cut an NF off its slice
  'update_config', // push a configuration change to an NF through the MANO
  'reconfigure_monitoring', // sampling period, per-flow vs aggregate, which metrics
  'webhook', // POST to an external orchestrator
  'escalate', // report to the parent loop
  'delegate', // ask a child / peer loop to act
  'notify', // tell people (logged, exported)
  'quarantine', // deactivate a loop (trust)
  'revoke', // revoke a credential (trust)
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export interface ActionRequest {
  /** Correlation id; executing the same id twice returns the first outcome. */
  id: string;
  type: ActionType;
  /** What the action acts on: NF id, sub-slice id, source address… */
  target: string;
  params: Record<string, unknown>;
  /** Agent id of the loop that decided it. */
  requestedBy: string;
  /** Policy that produced it, if any. */
  policyId?: string;
  /** Clock ms after which the action is undone (a block for 10 minutes…). */
  expiresAt?: number;
  at: number;
}

export type ActionStatus = 'succeeded' | 'failed' | 'rejected' | 'blocked' | 'expired';

export interface ActionOutcome {
  id: string;
  type: ActionType;
  target: string;
  status: ActionStatus;
  detail?: string;
  /** Actuator-specific result, e.g. { replicas: 3 }. */
  result?: Record<string, unknown>;
  at: number;
}

export interface Actuator {
  readonly name: string;
  readonly handles: readonly ActionType[];
  execute(request: ActionRequest, options?: { signal?: AbortSignal }): Promise<ActionOutcome>;
}
