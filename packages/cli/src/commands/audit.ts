import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@sliceguard/core';
import { type LevelKeyValueStore, openLevelKv, readAuditRecords, verifyAuditLog } from '@sliceguard/store';
import type { AuditRecord, AuditVerifyReport } from '@sliceguard/store';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

/**
 * `--public-key` takes the 64-hex Ed25519 key itself, or a file holding it: plain hex, or JSON
 * with a `publicKey` field (a key file or a credential).
 */
export function readPublicKey(value: string): string {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  if (!existsSync(value)) {
    throw new InvalidInputError(`--public-key ${value} is neither 64 hex characters nor a file`, { option: '--public-key', value });
  }
  const text = readFileSync(value, 'utf8').trim();
  let candidate = text;
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as { publicKey?: unknown; claims?: { publicKey?: unknown } };
      candidate = String(json.publicKey ?? json.claims?.publicKey ?? '');
    } catch (cause) {
      throw new InvalidInputError(`--public-key file ${value} is not valid JSON`, { file: value }, cause);
    }
  }
  if (!/^[0-9a-fA-F]{64}$/.test(candidate)) {
    throw new InvalidInputError(`--public-key file ${value} holds no 32-byte hex public key (plain hex or JSON { "publicKey": "…" })`, { file: value });
  }
  return candidate.toLowerCase();
}

/**
 * Opens the data directory; with `snapshot`, a copy of it (LevelDB admits one process, so this is
 * how to check the log of a running agent: its files are append-only and the copy recovers from
 * its own write-ahead log).
 */
async function openForReading(dir: string, snapshot: boolean): Promise<{ kv: LevelKeyValueStore; done: () => Promise<void> }> {
  if (!snapshot) {
    const kv = await openLevelKv(dir, { createIfMissing: false });
    return { kv, done: () => kv.close() };
  }
  if (!existsSync(dir)) throw new InvalidInputError(`data directory ${dir} does not exist`, { dir });
  const copy = mkdtempSync(join(tmpdir(), 'sg-audit-snapshot-'));
  cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith('/LOCK') });
  const kv = await openLevelKv(copy, { createIfMissing: false });
  return {
    kv,
    done: async () => {
      await kv.close();
      rmSync(copy, { recursive: true, force: true });
    },
  };
}

function describeReport(r: AuditVerifyReport, dir: string): string {
  const keyNote = r.authenticated
    ? `signatures checked against ${r.publicKey}`
    : `signatures checked against the log's own key ${r.publicKey ?? '(none)'} — pass --public-key to authenticate it`;
  if (r.ok) {
    const range = r.head ? `seq ${r.anchor ? r.anchor.seq + 1 : 1}..${r.head.seq}` : 'empty';
    return [
      `audit log OK: ${r.checked} records (${range}) in ${dir}`,
      r.head ? `  head ${r.head.hash}` : '  no records yet',
      r.anchor ? `  retention anchor: records up to seq ${r.anchor.seq} pruned, anchor hash ${r.anchor.hash}` : '',
      `  ${keyNote}`,
    ]
      .filter(Boolean)
      .join('\n');
  }
  const b = r.firstBroken!;
  return [
    `audit log BROKEN in ${dir}`,
    `  first broken record: index ${b.index}${b.seq !== null ? `, seq ${b.seq}` : ''}, key ${b.key}`,
    `  ${b.reason}: ${b.message}`,
    `  ${r.checked > 0 ? `${r.checked - 1} records before it verified` : ''}`,
    `  ${keyNote}`,
  ]
    .filter((l) => l.trim() !== '')
    .join('\n');
}

/** Registers `sliceguard audit verify|show`. */
export function register(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('inspect and verify an agent’s tamper-evident audit log');

  audit
    .command('verify')
    .description('check the hash chain and signatures of the audit log in a data directory; exit 1 at the first broken record')
    .requiredOption('--data-dir <dir>', 'the agent’s data directory (stop the agent first, or use --snapshot: LevelDB allows one process)')
    .option('--public-key <hexOrFile>', 'Ed25519 public key the log must be signed with (hex, or a file with hex / JSON publicKey)')
    .option('--prefix <prefix>', 'audit key prefix', 'audit')
    .option('--snapshot', 'verify a copy of the directory (works while the agent runs)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { dataDir: string; publicKey?: string; prefix: string; snapshot?: boolean; json?: boolean }) => {
      const publicKey = opts.publicKey === undefined ? undefined : readPublicKey(opts.publicKey);
      const { kv, done } = await openForReading(opts.dataDir, opts.snapshot === true);
      try {
        const report = await verifyAuditLog(kv, { prefix: opts.prefix, publicKey });
        emit(ctx, opts.json, { dataDir: opts.dataDir, ...report }, () => describeReport(report, opts.dataDir));
        if (!report.ok) ctx.setExitCode(1);
      } finally {
        await done();
      }
    });

  audit
    .command('show')
    .description('print audit records (oldest first, or newest first with --reverse)')
    .requiredOption('--data-dir <dir>', 'the agent’s data directory')
    .option('--from-seq <n>', 'first sequence number', (v) => parsePositive(v, '--from-seq'))
    .option('--limit <n>', 'at most this many records', (v) => parsePositive(v, '--limit'), 50)
    .option('--reverse', 'newest first')
    .option('--prefix <prefix>', 'audit key prefix', 'audit')
    .option('--snapshot', 'read a copy of the directory (works while the agent runs)')
    .option('--json', 'print JSON')
    .action(async (opts: { dataDir: string; fromSeq?: number; limit: number; reverse?: boolean; prefix: string; snapshot?: boolean; json?: boolean }) => {
      const { kv, done } = await openForReading(opts.dataDir, opts.snapshot === true);
      try {
        const records: AuditRecord[] = await readAuditRecords(kv, { prefix: opts.prefix, fromSeq: opts.fromSeq, limit: opts.limit, reverse: opts.reverse });
        emit(ctx, opts.json, records, () =>
          records.length === 0
            ? 'no audit records'
            : records
                .map((r) => `#${r.seq} ${new Date(r.at).toISOString()} ${r.kind} by ${r.actor}${r.subject ? ` on ${r.subject}` : ''} ${JSON.stringify(r.data)}`)
                .join('\n'),
        );
      } finally {
        await done();
      }
    });
}

function parsePositive(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`${option} must be a positive integer, got ${value}`, { option, value });
  return n;
}
