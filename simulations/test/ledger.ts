import assert from 'node:assert/strict';

/**
 * Asserts the report's coordination ledger lost nothing: escalations and delegations were sent, every
 * one was received, and every delegation's outcome came back.
 */
export function assertLedgerComplete(report: { notes: readonly string[] }): void {
  const ledger = report.notes.find((n) => n.startsWith('coordination ledger'));
  const m = /escalations (\d+) sent \/ (\d+) received; delegations (\d+) sent \/ (\d+) received \/ (\d+) outcomes back; \d+ retried copies; (\d+) lost/.exec(ledger ?? '');
  assert.ok(m, ledger);
  const [, escSent, escRecv, delSent, delRecv, outcomes, lost] = m.map(Number);
  assert.ok(escSent > 0 && delSent > 0, ledger);
  assert.equal(escRecv, escSent, ledger);
  assert.equal(delRecv, delSent, ledger);
  assert.equal(outcomes, delSent, ledger);
  assert.equal(lost, 0, ledger);
}
