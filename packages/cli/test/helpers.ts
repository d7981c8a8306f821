import { main } from '../src/main.js';

/** Runs `sliceguard ...args` in-process and captures its exit code, stdout and stderr. */
export async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'sliceguard', ...args], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}
