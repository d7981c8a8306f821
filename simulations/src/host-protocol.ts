import type { ActionOutcome, ActionRequest, SecurityEvent, Verdict } from '@sliceguard/core';
import type { Credential } from '@sliceguard/identity';
import type { AgentSpec } from '@sliceguard/topology';
import type { FlRoundReport } from './fl-layer.js';
import type { LedgerNotice } from './ledger.js';

/**
 * What a `processes` run (processes-layer.ts, the simulation process) and its agents hosts
 * (agents-host.ts, the child processes) exchange. Bootstrap (credentials, options) and the hosts'
 * readiness go over the child's IPC channel; everything during the run crosses the process boundary
 * as signed NATS messages (the bus package's envelope) under `sg.<d>._sim.…`, where `<d>` is the
 * topology's first domain, whose root issues the harness principals:
 *
 * | subject | from → to | what |
 * |---|---|---|
 * | `sg.<d>._sim.clock` | world → every host | `{seq, t}`: the simulated time reached; the host runs its clock up to `t` and acknowledges |
 * | `sg.<d>._sim.host.<i>.ack` | host i → world | `{seq, t, rows}`: the tick is done; what its agents recorded since the last ack |
 * | `sg.<d>._sim.host.<i>.sample` | host i → world (request) | `{nf, windowMs, perFlow, metrics}` → `{sample}`: the NF's metric feed |
 * | `sg.<d>._sim.host.<i>.actuate` | host i → world (request) | `{agentId, op: execute | undo, request, outcome?}` → `{outcome}` or `{error}` |
 * | `sg.<d>._sim.host.<i>.flrows` | host i → world (request) | `{nf, from, to}` → `{rows}`: the NF's normal samples (s of the run) its FL client trains on |
 * | `sg.<d>._sim.cmd.<i>` | world → host i (request) | `{cmd: restart | crash | rogue | steal | revoke | train | poison | fl-validation | brokers | reconnected | stop, …}` → `{detail?, rows?, busStats?, …}` |
 *
 * The world signs as `<d>:sim-world` (scope `sg.<d>._sim.>`), host i as `<d>:sim-host-<i>` (scope
 * `sg.<d>._sim.host.<i>.>`); each side checks the verified sender of what it acts on. The agents
 * themselves keep their ordinary credentials and talk over their own NATS connections.
 */
export const HOST_PROTOCOL_VERSION = 1;

export function simSubjects(domain: string) {
  const base = `sg.${domain}._sim`;
  return {
    clock: `${base}.clock`,
    cmd: (i: number) => `${base}.cmd.${i}`,
    hostScope: (i: number) => `${base}.host.${i}.>`,
    worldScope: `${base}.>`,
    ack: (i: number) => `${base}.host.${i}.ack`,
    sample: (i: number) => `${base}.host.${i}.sample`,
    actuate: (i: number) => `${base}.host.${i}.actuate`,
    flRows: (i: number) => `${base}.host.${i}.flrows`,
    /** `what` from any host: the host index is the 5th token. */
    anyHost: (what: 'ack' | 'sample' | 'actuate' | 'flrows') => `${base}.host.*.${what}`,
  };
}

export const worldAgentId = (domain: string) => `${domain}:sim-world`;
export const hostAgentId = (domain: string, index: number) => `${domain}:sim-host-${index}`;

/** The host index of a `sg.<d>._sim.host.<i>.<what>` subject. */
export function hostIndexOf(subject: string): number {
  const token = subject.split('.')[4];
  return token !== undefined && /^\d+$/.test(token) ? Number(token) : -1;
}

/**
 * Where each agent runs: the domain agents (Security Orchestrators, with their domain's Trust
 * Manager and root) in host 0; every other loop round-robin over the hosts in the topology's order
 * (NF, sub-slice, slice agents of one sub-slice usually land in different hosts, so coordination
 * crosses process boundaries).
 */
export function placeAgents(specs: readonly AgentSpec[], count: number): Map<string, number> {
  const placement = new Map<string, number>();
  let k = 0;
  for (const spec of specs) {
    if (spec.level === 'coordinator') continue;
    placement.set(spec.agentId, spec.level === 'domain' ? 0 : k++ % count);
  }
  return placement;
}

export interface HexKeyPair {
  publicKey: string;
  secretKey: string;
}

export interface HostIdentity {
  agentId: string;
  keyPair: HexKeyPair;
  credential: Credential;
}

/** Everything a host needs to start, sent once over IPC. */
export interface HostInit {
  v: typeof HOST_PROTOCOL_VERSION;
  index: number;
  count: number;
  topologyFile: string;
  nats: string[];
  /** Where this host's harness connection starts (the agents' connections are spread over `nats`). */
  harnessServers: string[];
  /** The simulation's start (ms since the epoch) and the simulated time now: the host's clock starts there. */
  startMs: number;
  nowMs: number;
  seed: string;
  controlDomain: string;
  /** This host's harness principal. */
  host: HostIdentity;
  /** The identities of the agents placed here (issued by their domain roots in the simulation process). */
  agents: HostIdentity[];
  /** Every domain root's public key; the secret key only for the host of the domain agents. */
  roots: { domain: string; publicKey: string; secretKey?: string }[];
  placement: [string, number][];
  policies: 'topology' | 'builtin';
  samplingPeriodMs: number;
  zThreshold?: number;
  lstm?: { window?: number; epochs?: number; batchSize?: number; units?: number; maxWindows?: number };
  trustEveryMs: number;
  /**
   * Federated learning (scenarios with `federated`): the coordinators of the domains (host 0, with
   * the domain's Trust Manager) and the FL clients of the NFs whose agents run here, each with the
   * principal the simulation process issued (fl-layer.ts).
   */
  fl?: {
    coordinators: { domain: string; identity: HostIdentity; models: { type: string; metrics: string[] }[] }[];
    clients: { domain: string; type: string; nf: string; metrics: string[]; identity: HostIdentity }[];
  };
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export type ParentMessage = { type: 'init'; init: HostInit };
export type ChildMessage = { type: 'started'; agents: string[] } | { type: 'ready' } | { type: 'error'; message: string };

/** What a host's agents recorded, batched per clock tick (plain JSON). */
export interface HostRows {
  verdicts: { nf: string; v: Verdict }[];
  events: SecurityEvent[];
  actions: { request: ActionRequest; outcome: ActionOutcome }[];
  notes: string[];
  ledger: LedgerNotice[];
  trust: { agentId: string; score: number; at: number }[];
  /** FL round reports of the coordinators here (host 0), with the global model's validation loss. */
  flRounds: FlRoundReport[];
}

export function emptyRows(): HostRows {
  return { verdicts: [], events: [], actions: [], notes: [], ledger: [], trust: [], flRounds: [] };
}

/** A NATS connection of an agents host and the server it is connected to now (`brokers` command). */
export interface HostConnection {
  /** The agent id, `fl:<agent id>` for an FL client or coordinator, or the host's harness principal. */
  name: string;
  kind: 'agent' | 'fl' | 'harness';
  server: string;
}

export interface BusTotals {
  sent: number;
  delivered: number;
  rejected: Record<string, number>;
}
