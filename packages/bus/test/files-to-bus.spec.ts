import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InboundMessage, utf8 } from '@sliceguard/core';
import { TrustStore, createDomainAuthority, generateKeyPair, readCredentialFile, readKeyFile, writeCredentialFile, writeKeyFile } from '@sliceguard/identity';
import { createLocalNetwork, localBus } from '../src/index.js';
import { waitFor } from './compliance.js';

describe('bus: identities loaded from key and credential files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-files-bus-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an agent whose key and credential come from files talks to a receiver trusting the root by public key', async () => {
    // what `sliceguard keys generate` + `sliceguard credential issue` produce
    const rootKey = generateKeyPair();
    writeKeyFile(join(dir, 'root.key'), rootKey);
    const agentKey = generateKeyPair();
    writeKeyFile(join(dir, 'agent.key'), agentKey);
    const authority = createDomainAuthority('d1', { keyPair: readKeyFile(join(dir, 'root.key')) });
    const cred = authority.issueFor(Buffer.from(agentKey.publicKey).toString('hex'), { agentId: 'd1:upf1', level: 'nf', slice: 's1', subslice: 'cn', nf: 'upf1' });
    writeCredentialFile(join(dir, 'agent.cred.json'), cred);

    const identity = { keyPair: readKeyFile(join(dir, 'agent.key')), credential: readCredentialFile(join(dir, 'agent.cred.json')) };
    const trust = new TrustStore({ roots: [{ domain: 'd1', publicKey: Buffer.from(rootKey.publicKey).toString('hex') }] });
    const network = createLocalNetwork();
    const agent = localBus({ network, identity, trustStore: trust });
    const tsm = localBus({ network, identity: authority.issue({ agentId: 'd1:tsm', level: 'domain' }), trustStore: trust });
    const got: InboundMessage[] = [];
    tsm.subscribe('sg.d1.>', (m) => {
      got.push(m);
    });
    await agent.publishJson('sg.d1.s1.cn.upf1.telemetry', { cpu: 0.4 });
    await waitFor(() => got.length === 1, 2000, 'delivery');
    assert.equal(got[0].sender.agentId, 'd1:upf1');
    assert.equal(got[0].sender.credentialId, cred.id);
    // a key file that does not match the credential is refused at construction
    assert.throws(() => localBus({ network, identity: { keyPair: generateKeyPair(), credential: identity.credential }, trustStore: trust }), { code: 'BUS_ERR_INVALID_OPTIONS' });
    await Promise.all([agent.close(), tsm.close()]);
    await assert.rejects(agent.publish('sg.d1.s1.cn.upf1.telemetry', utf8('x')), { code: 'BUS_ERR_CLOSED' });
  });
});
