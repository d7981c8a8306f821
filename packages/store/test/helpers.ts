import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory and its cleanup. */
export function tempDir(tag = 'sg-store-'): { dir: string; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), tag));
  return { dir, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}
