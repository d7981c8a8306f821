import { resolve } from 'node:path';
import { toHex } from '@sliceguard/core';
import { KEY_FILE_TYPE, generateKeyPair, readKeyFile, writeKeyFile } from '@sliceguard/identity';
import type { Command } from 'commander';
import { type CliContext, emit } from '../context.js';

/** `sliceguard keys generate|show`: Ed25519 key files (JSON, mode 0600; docs/identity.md). */
export function register(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('create and inspect Ed25519 key files (agents, coordinators, domain roots)');

  keys
    .command('generate')
    .description('generate an Ed25519 key pair and write it to a key file with mode 0600')
    .requiredOption('--out <file>', 'where to write the key file')
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print the result as JSON')
    .action((opts: { out: string; force: boolean; json?: boolean }) => {
      const path = resolve(opts.out);
      const keyPair = generateKeyPair();
      writeKeyFile(path, keyPair, { force: opts.force });
      const publicKey = toHex(keyPair.publicKey);
      emit(ctx, opts.json, { path, type: KEY_FILE_TYPE, publicKey }, () => `wrote ${path} (mode 0600)\npublic key ${publicKey}`);
    });

  keys
    .command('show')
    .description('print the public key of a key file (never the secret); checks its permissions and format')
    .argument('<file>', 'key file')
    .option('--json', 'print the result as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const path = resolve(file);
      const keyPair = readKeyFile(path);
      const publicKey = toHex(keyPair.publicKey);
      emit(ctx, opts.json, { path, type: KEY_FILE_TYPE, publicKey }, () => `${path}\npublic key ${publicKey}`);
    });
}
