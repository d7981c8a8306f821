import type { ActionOutcome, Decision } from '@sliceguard/core';
import type { AuditEntry } from './audit.js';
import { StoreOptionsError } from './errors.js';
import type { DelegationRecord, IncidentRecord, LoopStateRecord } from './records.js';
import { isOpenIncident, isPendingDelegation, type SliceguardStore } from './store.js';

/** Everything that changes together in one step of a loop; written in one atomic batch. */
export interface DurableChange {
  loopState?: LoopStateRecord;
  incidents?: readonly IncidentRecord[];
  delegations?: readonly DelegationRecord[];
  decisions?: readonly Decision[];
  outcomes?: readonly ActionOutcome[];
  /** Audit records describing the change (needs a store with an audit log). */
  audit?: readonly AuditEntry[];
}

/** What a restarted loop resumes with. */
export interface DurableSnapshot {
  loopState: LoopStateRecord | undefined;
  openIncidents: IncidentRecord[];
  pendingDelegations: DelegationRecord[];
}

/**
 * The write-ahead helper for a loop's crash-critical state: "incident + pending delegations + loop
 * state" (plus the decisions, outcomes and audit records of the same step) are committed in one
 * atomic LevelDB batch. The rule that makes kill -9 safe: acknowledge anything to anyone (reply
 * `accepted` to a delegation, publish an escalation, answer an operator's POST) only after the
 * `commit` that records it has resolved. After a restart, `recover()` returns exactly the
 * committed state.
 */
export class DurableState {
  readonly agentId: string;
  private readonly store: SliceguardStore;

  constructor(store: SliceguardStore, agentId: string) {
    this.store = store;
    this.agentId = agentId;
  }

  commit(change: DurableChange): Promise<void> {
    if (change.audit && change.audit.length > 0 && !this.store.audit) {
      throw new StoreOptionsError('DurableState.commit got audit entries but the store has no audit log (pass options.audit)', {
        agentId: this.agentId,
      });
    }
    if (change.loopState && change.loopState.agentId !== this.agentId) {
      throw new StoreOptionsError(`loop state of ${change.loopState.agentId} committed through the DurableState of ${this.agentId}`, {
        agentId: this.agentId,
      });
    }
    const s = this.store;
    return s.transaction(async (tx) => {
      for (const i of change.incidents ?? []) await s.incidents.stagePut(tx, i);
      for (const d of change.delegations ?? []) await s.delegations.stagePut(tx, d);
      for (const d of change.decisions ?? []) await s.decisions.stagePut(tx, d);
      for (const o of change.outcomes ?? []) await s.outcomes.stagePut(tx, o);
      if (change.loopState) await s.loopStates.stagePut(tx, change.loopState);
      for (const a of change.audit ?? []) await s.audit!.stageAppend(tx, a);
    });
  }

  async recover(): Promise<DurableSnapshot> {
    const s = this.store;
    const loopState = await s.loopStates.get(this.agentId);
    const openIncidents: IncidentRecord[] = [];
    for await (const i of s.incidents.values()) if (i.agentId === this.agentId && isOpenIncident(i)) openIncidents.push(i);
    const pendingDelegations: DelegationRecord[] = [];
    for await (const d of s.delegations.values()) {
      const mine = d.direction === 'outgoing' ? d.from === this.agentId : d.to === this.agentId;
      if (mine && isPendingDelegation(d)) pendingDelegations.push(d);
    }
    return { loopState, openIncidents, pendingDelegations };
  }
}
