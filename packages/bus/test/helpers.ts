import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NatsServerHandle, startNatsServer } from '@sliceguard/test-utils';

/**
 * nats-server 2.9 has no --max_payload flag (the harness's `maxPayload` option passes one), so a
 * small max_payload goes through a config file.
 */
export async function startServerWithMaxPayload(maxPayload: number): Promise<NatsServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-nats-conf-'));
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, `max_payload: ${maxPayload}\n`);
  const handle = await startNatsServer({ args: ['-c', conf] });
  return {
    ...handle,
    get pid() {
      return handle.pid;
    },
    stop: async () => {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
