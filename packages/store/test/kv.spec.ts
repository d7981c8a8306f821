import { equal, ok, rejects } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryKv } from '@sliceguard/core';
import { describeKvCompliance } from '../src/compliance.js';
import { openLevelKv } from '../src/level-kv.js';
import { prefixedKv } from '../src/prefixed-kv.js';
import { tempDir } from './helpers.js';

describeKvCompliance('LevelDB (openLevelKv)', async () => {
  const { dir, cleanup } = tempDir();
  return { kv: await openLevelKv(join(dir, 'db')), cleanup };
});

describeKvCompliance('core memoryKv', async () => ({ kv: memoryKv() }));

describeKvCompliance('prefixedKv over LevelDB (neighbours under other prefixes)', async () => {
  const { dir, cleanup } = tempDir();
  const base = await openLevelKv(join(dir, 'db'));
  // keys just outside the view on both sides must never show up in it
  for (const k of ['a.', 'a0', 'a', 'b/x', '0']) await base.put(k, new Uint8Array([9]));
  return {
    kv: prefixedKv(base, 'a/'),
    cleanup: async () => {
      await base.close();
      await cleanup();
    },
  };
});

describe('prefixedKv', () => {
  it('refuses a prefix that does not end with a slash', () => {
    let code = '';
    try {
      prefixedKv(memoryKv(), 'abc');
    } catch (e) {
      code = (e as { code: string }).code;
    }
    equal(code, 'STORE_ERR_INVALID_OPTIONS');
  });
});

describe('openLevelKv errors', () => {
  it('refuses a directory another handle holds, with STORE_ERR_LOCKED and the directory', async () => {
    const { dir, cleanup } = tempDir();
    const first = await openLevelKv(dir);
    try {
      await rejects(openLevelKv(dir), (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        equal(e.code, 'STORE_ERR_LOCKED');
        equal(e.details?.dir, dir);
        ok(/another process/.test(e.message));
        ok(e.cause !== undefined);
        return true;
      });
    } finally {
      await first.close();
      await cleanup();
    }
  });

  it('reports an unwritable data directory (a path under a regular file)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'file'), 'x');
      await rejects(openLevelKv(join(dir, 'file', 'db')), { code: 'STORE_ERR_UNWRITABLE' });
    } finally {
      await cleanup();
    }
  });

  it('reports a corrupted database', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'CURRENT'), 'garbage');
      await rejects(openLevelKv(dir), (e: Error & { code?: string }) => {
        equal(e.code, 'STORE_ERR_CORRUPTED');
        ok(/move it aside/.test(e.message));
        return true;
      });
    } finally {
      await cleanup();
    }
  });

  it('refuses use after close with STORE_ERR_CLOSED', async () => {
    const { dir, cleanup } = tempDir();
    const kv = await openLevelKv(dir);
    await kv.close();
    await kv.close();
    await rejects(kv.get('x'), { code: 'STORE_ERR_CLOSED' });
    await cleanup();
  });

  it('writes with sync: true (fsync per write)', async () => {
    const { dir, cleanup } = tempDir();
    const kv = await openLevelKv(dir, { sync: true });
    await kv.batch([{ type: 'put', key: 'a', value: new Uint8Array([1]) }]);
    await kv.put('b', new Uint8Array([2]));
    equal((await kv.get('b'))?.[0], 2);
    await kv.close();
    await cleanup();
  });

  it('keeps data across close and reopen', async () => {
    const { dir, cleanup } = tempDir();
    const kv = await openLevelKv(dir);
    await kv.put('a', new Uint8Array([7]));
    await kv.close();
    const again = await openLevelKv(dir);
    equal((await again.get('a'))?.[0], 7);
    await again.close();
    await cleanup();
  });
});
