import { resolve } from 'node:path';
import { InvalidInputError, PRINCIPAL_LEVELS, type PrincipalLevel, toHex } from '@sliceguard/core';
import {
  type CredentialCheck,
  TrustStore,
  createDomainAuthority,
  readCredentialFile,
  readKeyFile,
  readRevocationFile,
  signRevocationList,
  writeCredentialFile,
  writeRevocationFile,
} from '@sliceguard/identity';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d", "12h", "90m", "45s", "500ms" → milliseconds. */
export function parseDuration(text: string, option = '--valid-for'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new InvalidInputError(`${option} "${text}" is not a duration: use a number and a unit (ms, s, m, h, d, w), e.g. 30d`, { option, value: text });
  const ms = Math.round(Number(m[1]) * UNITS[m[2]]);
  if (!(ms > 0)) throw new InvalidInputError(`${option} must be positive`, { option, value: text });
  return ms;
}

function parseTime(text: string | undefined, option: string): number {
  if (text === undefined) return Date.now();
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(t)) throw new InvalidInputError(`${option} "${text}" is not an ISO time or epoch milliseconds`, { option, value: text });
  return t;
}

interface IssueOpts {
  rootKey: string;
  domain: string;
  agentId: string;
  level: string;
  slice?: string;
  subslice?: string;
  nf?: string;
  publicKey?: string;
  key?: string;
  scope: string[];
  validFor: string;
  out: string;
  force: boolean;
  json?: boolean;
}

interface VerifyOpts {
  root: string[];
  rootKey: string[];
  revocations: string[];
  at?: string;
  json?: boolean;
}

interface RevokeOpts {
  rootKey: string;
  domain: string;
  id: string[];
  seq: string;
  previous?: string;
  out: string;
  force: boolean;
  json?: boolean;
}

/** `sliceguard credential issue|verify|revoke` (docs/identity.md). */
export function register(program: Command, ctx: CliContext): void {
  const credential = program.command('credential').description('issue, verify and revoke credentials signed by a domain root key');

  credential
    .command('issue')
    .description('sign a credential binding a public key to an agent id, level, placement and publish scopes')
    .requiredOption('--root-key <file>', "the domain root's key file")
    .requiredOption('--domain <id>', 'the issuing domain')
    .requiredOption('--agent-id <id>', 'agent id, e.g. d1:upf1')
    .requiredOption('--level <level>', `one of ${PRINCIPAL_LEVELS.join('|')}`)
    .option('--slice <id>', 'slice id')
    .option('--subslice <id>', 'sub-slice id')
    .option('--nf <id>', 'network function id')
    .option('--public-key <hex>', "the holder's public key (64 hex characters)")
    .option('--key <file>', "the holder's key file (its public key is used)")
    .option('--scope <pattern>', 'subject pattern the holder may publish on (repeat; default: the level\'s own subjects)', collect, [])
    .option('--valid-for <duration>', 'validity, e.g. 30d, 12h', '365d')
    .requiredOption('--out <file>', 'where to write the credential (JSON)')
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print the credential as JSON')
    .action((opts: IssueOpts) => {
      if (!(PRINCIPAL_LEVELS as readonly string[]).includes(opts.level)) {
        throw new InvalidInputError(`--level "${opts.level}" must be one of ${PRINCIPAL_LEVELS.join(', ')}`, { option: '--level', value: opts.level });
      }
      if ((opts.publicKey === undefined) === (opts.key === undefined)) {
        throw new InvalidInputError('give exactly one of --public-key HEX or --key FILE for the holder', { option: '--public-key/--key' });
      }
      const holder = opts.key !== undefined ? toHex(readKeyFile(resolve(opts.key)).publicKey) : (opts.publicKey as string).toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(holder)) throw new InvalidInputError('--public-key must be 64 hex characters (a 32-byte Ed25519 key)', { option: '--public-key' });
      const validForMs = parseDuration(opts.validFor);
      const authority = createDomainAuthority(opts.domain, { keyPair: readKeyFile(resolve(opts.rootKey)) });
      const cred = authority.issueFor(
        holder,
        {
          agentId: opts.agentId,
          level: opts.level as PrincipalLevel,
          ...(opts.slice !== undefined ? { slice: opts.slice } : {}),
          ...(opts.subslice !== undefined ? { subslice: opts.subslice } : {}),
          ...(opts.nf !== undefined ? { nf: opts.nf } : {}),
          ...(opts.scope.length > 0 ? { scopes: opts.scope } : {}),
        },
        { validForMs },
      );
      const path = resolve(opts.out);
      writeCredentialFile(path, cred, { force: opts.force });
      emit(ctx, opts.json, cred, () =>
        [
          `wrote ${path}`,
          `id        ${cred.id}`,
          `agent     ${cred.claims.agentId} (${cred.claims.level})`,
          `scopes    ${cred.claims.scopes.join(', ')}`,
          `valid     ${new Date(cred.claims.notBefore).toISOString()} .. ${new Date(cred.claims.expiresAt).toISOString()}`,
        ].join('\n'),
      );
    });

  credential
    .command('verify')
    .description('verify a credential against trusted domain roots (and revocation lists); exits 1 when invalid')
    .argument('<file>', 'credential file')
    .option('--root <domain=pubhex>', 'trust this root public key for a domain (repeat)', collect, [])
    .option('--root-key <[domain=]file>', "trust the public key of this key file (domain defaults to the credential's issuer; repeat)", collect, [])
    .option('--revocations <file>', 'apply a signed revocation list first (repeat)', collect, [])
    .option('--at <time>', 'verify at this time (ISO or epoch ms) instead of now')
    .option('--json', 'print the verdict as JSON')
    .action((file: string, opts: VerifyOpts) => {
      const path = resolve(file);
      const cred = readCredentialFile(path);
      const store = new TrustStore();
      for (const r of opts.root) {
        const m = /^([^=]+)=([0-9a-fA-F]{64})$/.exec(r);
        if (!m) throw new InvalidInputError(`--root "${r}" must be DOMAIN=PUBLICKEYHEX`, { option: '--root', value: r });
        store.addRoot(m[1], m[2]);
      }
      for (const r of opts.rootKey) {
        const eq = r.indexOf('=');
        const [domain, keyFile] = eq > 0 ? [r.slice(0, eq), r.slice(eq + 1)] : [cred.issuer, r];
        store.addRoot(domain, readKeyFile(resolve(keyFile)).publicKey);
      }
      if (store.roots().length === 0) throw new InvalidInputError('give at least one trusted root: --root DOMAIN=PUBHEX or --root-key FILE', { option: '--root' });
      const revocationOutcomes = opts.revocations.map((f) => {
        const list = readRevocationFile(resolve(f));
        const outcome = store.applyRevocations(list);
        return { file: resolve(f), domain: list.domain, seq: list.seq, ...(outcome.applied ? { applied: true } : { applied: false, reason: outcome.reason, message: outcome.message }) };
      });
      const at = parseTime(opts.at, '--at');
      const check: CredentialCheck = store.verifyCredential(cred, at);
      const verdict = {
        file: path,
        id: cred.id,
        agentId: cred.claims.agentId,
        issuer: cred.issuer,
        valid: check.ok,
        ...(check.ok ? {} : { reason: check.reason, message: check.message }),
        at: new Date(at).toISOString(),
        revocations: revocationOutcomes,
      };
      if (!check.ok) ctx.setExitCode(1);
      emit(ctx, opts.json, verdict, () => {
        const lines = revocationOutcomes.filter((r) => !r.applied).map((r) => `warning: revocation list ${r.file} not applied: ${'message' in r ? r.message : ''}`);
        lines.push(check.ok ? `valid: ${cred.id} (${cred.claims.agentId}, ${cred.claims.level}) issued by ${cred.issuer}` : `INVALID (${check.reason}): ${check.message}`);
        return lines.join('\n');
      });
    });

  credential
    .command('revoke')
    .description("sign a domain's revocation list (cumulative; its --seq must grow with every new list)")
    .requiredOption('--root-key <file>', "the domain root's key file")
    .requiredOption('--domain <id>', 'the domain whose credentials are revoked')
    .option('--id <credentialId>', 'credential id to revoke (repeat)', collect, [])
    .requiredOption('--seq <n>', 'sequence number of this list (greater than any list published before)')
    .option('--previous <file>', 'include every id of this earlier list (its seq must be lower)')
    .requiredOption('--out <file>', 'where to write the list (JSON)')
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print the list as JSON')
    .action((opts: RevokeOpts) => {
      const seq = Number(opts.seq);
      if (!Number.isSafeInteger(seq) || seq < 1) throw new InvalidInputError(`--seq "${opts.seq}" must be an integer ≥ 1`, { option: '--seq', value: opts.seq });
      for (const id of opts.id) {
        if (!/^[0-9a-f]{32}$/.test(id)) throw new InvalidInputError(`--id "${id}" is not a credential id (32 hex characters)`, { option: '--id', value: id });
      }
      const ids = new Set(opts.id);
      if (opts.previous !== undefined) {
        const prev = readRevocationFile(resolve(opts.previous));
        if (prev.domain !== opts.domain) throw new InvalidInputError(`--previous list is for domain ${prev.domain}, not ${opts.domain}`, { option: '--previous' });
        if (prev.seq >= seq) throw new InvalidInputError(`--seq ${seq} must be greater than the previous list's ${prev.seq}`, { option: '--seq' });
        for (const id of prev.revoked) ids.add(id);
      }
      if (ids.size === 0) throw new InvalidInputError('nothing to revoke: give --id CRED_ID (repeat) or --previous FILE', { option: '--id' });
      const list = signRevocationList(readKeyFile(resolve(opts.rootKey)), opts.domain, seq, ids, Date.now());
      const path = resolve(opts.out);
      writeRevocationFile(path, list, { force: opts.force });
      emit(ctx, opts.json, list, () => `wrote ${path}: ${opts.domain} revocation list #${seq} with ${list.revoked.length} credential(s)`);
    });
}
