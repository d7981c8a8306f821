export interface WaitUntilOptions {
  /** Wall-clock budget (default 5000 ms). */
  timeoutMs?: number;
  /** Polling interval (default 5 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message (a function is read only on timeout). */
  what?: string | (() => string);
}

/**
 * Polls `check` in wall-clock time until it holds, or rejects with "timed out after N ms waiting for
 * <what>". For integration tests whose progress comes from real I/O (NATS, child processes).
 */
export async function waitUntil(check: () => boolean, options: WaitUntilOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      const what = typeof options.what === 'function' ? options.what() : (options.what ?? 'condition');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 5));
  }
}
