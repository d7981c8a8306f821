import assert from 'node:assert/strict';
import { SimulatedClock } from '@sliceguard/core';
import { createDomainAuthority } from '@sliceguard/identity';
import {
  DEFAULT_REJECTION_WEIGHTS,
  credentialEvidence,
  delegationEvidence,
  flUpdateEvidence,
  locationEvidence,
  rejectionEvidence,
  reportEvidence,
  validMessagesEvidence,
} from '../src/index.js';

describe('evidence adapters', () => {
  const cred = { claims: { agentId: 'd1:nf-1', notBefore: 1000, expiresAt: 10_000_000 } };

  it('credential validity: valid, close to expiry, expired, not yet valid, revoked', () => {
    assert.equal(credentialEvidence(cred, 5000).positive, 1);
    const near = credentialEvidence(cred, 10_000_000 - 60_000);
    assert.equal(near.positive, 0.5);
    assert.match(near.reason ?? '', /close to expiry/);
    assert.equal(credentialEvidence(cred, 10_000_000).negative, 1);
    assert.equal(credentialEvidence(cred, 500).negative, 1);
    assert.equal(credentialEvidence(cred, 5000, { revoked: true }).negative, 1);
    assert.equal(credentialEvidence(cred, 5000).attribute, 'security_measures');
  });

  it("takes @sliceguard/identity's credentials as they are", () => {
    const clock = new SimulatedClock(1_800_000_000_000);
    const authority = createDomainAuthority('d1', { clock });
    const { credential } = authority.issue({ agentId: 'd1:amf-1', level: 'nf', slice: 's', subslice: 'cn', nf: 'amf-1' }, { validForMs: 3600_000 * 24 });
    const ok = credentialEvidence(credential, clock.now(), { source: 'd1:tsm' });
    assert.deepEqual([ok.subject, ok.positive, ok.source], ['d1:amf-1', 1, 'd1:tsm']);
    assert.equal(credentialEvidence(credential, clock.now() + 3600_000 * 24).negative, 1);
  });

  it('location: match is positive, mismatch is a double negative (rule breach), case-insensitive', () => {
    const ok = locationEvidence('d1:upf', 'FR', 'fr', 1);
    assert.deepEqual([ok.positive, ok.negative, ok.attribute], [1, 0, 'compliance']);
    const bad = locationEvidence('d1:upf', 'FR', 'US', 1);
    assert.deepEqual([bad.positive, bad.negative], [0, 2]);
    assert.match(bad.reason ?? '', /declared location FR, observed US/);
  });

  it('delegations: done in time, late ack, missed deadline, never acknowledged, rejected', () => {
    const base = { agentId: 'd1:cn', delegator: 'd1:slice', requestedAt: 0, deadline: 10_000 };
    assert.deepEqual(pick(delegationEvidence({ ...base, acknowledgedAt: 100, completedAt: 5000 }, 5000)), [1, 0]);
    assert.deepEqual(pick(delegationEvidence({ ...base, acknowledgedAt: 3000, completedAt: 5000 }, 5000)), [0.5, 0.5]);
    assert.deepEqual(pick(delegationEvidence({ ...base, acknowledgedAt: 100, completedAt: 12_000 }, 12_000)), [0, 1]);
    assert.deepEqual(pick(delegationEvidence({ ...base }, 11_000)), [0, 1]);
    assert.deepEqual(pick(delegationEvidence({ ...base, acknowledgedAt: 100 }, 11_000)), [0, 1]);
    assert.deepEqual(pick(delegationEvidence({ ...base, acknowledgedAt: 100, rejected: true }, 200)), [0.5, 0]);
    assert.equal(delegationEvidence({ ...base }, 1).attribute, 'ssla');
  });

  it('reports: confirmed is positive, contradicted negative', () => {
    assert.deepEqual(pick(reportEvidence('d1:ran', 'confirmed', 'd1:slice', 1)), [1, 0]);
    assert.deepEqual(pick(reportEvidence('d1:ran', 'contradicted', 'd1:slice', 1)), [0, 1]);
  });

  it('FL updates: rejected negative; accepted near the aggregate positive; far outliers slide to negative', () => {
    assert.deepEqual(pick(flUpdateEvidence({ agentId: 'd1:a', accepted: false, reason: 'NaN' }, 1)), [0, 1]);
    assert.deepEqual(pick(flUpdateEvidence({ agentId: 'd1:a', accepted: true }, 1)), [1, 0]);
    assert.deepEqual(pick(flUpdateEvidence({ agentId: 'd1:a', accepted: true, distance: 1.5, medianDistance: 1 }, 1)), [1, 0]);
    assert.deepEqual(pick(flUpdateEvidence({ agentId: 'd1:a', accepted: true, distance: 3, medianDistance: 1 }, 1)), [0.5, 0.5]);
    assert.deepEqual(pick(flUpdateEvidence({ agentId: 'd1:a', accepted: true, distance: 9, medianDistance: 1 }, 1)), [0, 1]);
  });

  it('bus rejections weigh by how attributable the reason is; zero-weight reasons give no evidence', () => {
    const scope = rejectionEvidence('d1:x', 'out_of_scope', 'sg.d1.s.>', 1, DEFAULT_REJECTION_WEIGHTS);
    assert.equal(scope?.negative, 1);
    assert.equal(rejectionEvidence('d1:x', 'bad_signature', 's', 1, DEFAULT_REJECTION_WEIGHTS)?.negative, 0.1);
    assert.equal(rejectionEvidence('d1:x', 'malformed', 's', 1, DEFAULT_REJECTION_WEIGHTS), undefined);
    assert.equal(validMessagesEvidence('d1:x', 0, 1), undefined);
    assert.equal(validMessagesEvidence('d1:x', 12, 1)?.positive, 1);
  });
});

function pick(e: { positive: number; negative: number }): [number, number] {
  return [e.positive, e.negative];
}
