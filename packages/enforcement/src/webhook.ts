import { type ActionOutcome, type ActionRequest, type ActionType, type Clock, toHex } from '@sliceguard/core';
import { EnforcementOptionsError } from './errors.js';
import { outcomeOf } from './interface.js';
import type { Actuator } from '@sliceguard/core';

export interface WebhookActuatorOptions {
  clock: Clock;
  /** The external orchestrator's endpoint (http or https). */
  url: string;
  /** Signs the exact body bytes (Ed25519, e.g. identity's `sign(secretKey, msg)`); hex goes in `signatureHeader`. */
  sign?: (body: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** Identifies the signing key to the receiver (x-sliceguard-key-id). */
  keyId?: string;
  /** Default `x-sliceguard-signature`. */
  signatureHeader?: string;
  /** Retries after the first attempt on network errors, timeouts, 408, 429 and 5xx. Default 3. */
  retries?: number;
  /** First backoff; doubles each retry up to maxBackoffMs. Defaults 200 / 5000 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-attempt timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** Action types sent to this webhook. Default ['webhook']. */
  handles?: readonly ActionType[];
  headers?: Record<string, string>;
  fetch?: typeof globalThis.fetch;
  name?: string;
}

/** What the receiver gets: the action and when it was sent; the signature covers these exact bytes. */
export interface WebhookBody {
  action: ActionRequest;
  sentAt: number;
  attempt: number;
}

const RETRYABLE = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * POSTs actions to an external orchestrator: JSON body signed with the injected signer, an
 * `idempotency-key` header (the action id), retries with exponential backoff, a per-attempt
 * timeout, and the caller's AbortSignal honoured throughout.
 */
export function webhookActuator(options: WebhookActuatorOptions): Actuator {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (err) {
    throw new EnforcementOptionsError(`webhook url "${options.url}" is not a valid URL: ${(err as Error).message}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EnforcementOptionsError(`webhook url must be http(s), got ${url.protocol}`);
  const { clock } = options;
  const retries = options.retries ?? 3;
  const backoff = options.backoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const header = options.signatureHeader ?? 'x-sliceguard-signature';
  const doFetch = options.fetch ?? globalThis.fetch;
  const encoder = new TextEncoder();

  return {
    name: options.name ?? `webhook:${url.host}`,
    handles: options.handles ?? ['webhook'],
    async execute(request: ActionRequest, opts = {}): Promise<ActionOutcome> {
      let lastError = '';
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (opts.signal?.aborted) return outcomeOf(request, 'failed', clock.now(), `aborted after ${attempt} attempt(s): ${lastError || 'aborted'}`);
        if (attempt > 0) {
          try {
            await clock.sleep(Math.min(maxBackoff, backoff * 2 ** (attempt - 1)), opts.signal);
          } catch {
            return outcomeOf(request, 'failed', clock.now(), `aborted during backoff after ${attempt} attempt(s): ${lastError}`);
          }
        }
        const body: WebhookBody = { action: request, sentAt: clock.now(), attempt: attempt + 1 };
        const bytes = encoder.encode(JSON.stringify(body));
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'idempotency-key': request.id,
          ...options.headers,
        };
        if (options.sign) headers[header] = toHex(await options.sign(bytes));
        if (options.keyId) headers['x-sliceguard-key-id'] = options.keyId;
        const controller = new AbortController();
        const onAbort = (): void => controller.abort(opts.signal?.reason);
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        const timer = clock.setTimeout(() => controller.abort(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
        try {
          const res = await doFetch(url, { method: 'POST', headers, body: bytes, signal: controller.signal });
          const text = await res.text();
          if (res.ok) {
            let response: unknown = text.slice(0, 4096);
            try {
              response = JSON.parse(text);
            } catch {
              // plain text is fine
            }
            return outcomeOf(request, 'succeeded', clock.now(), undefined, { status: res.status, attempts: attempt + 1, response });
          }
          lastError = `HTTP ${res.status}: ${text.slice(0, 200)}`;
          if (!RETRYABLE(res.status)) return outcomeOf(request, 'failed', clock.now(), lastError, { status: res.status, attempts: attempt + 1 });
        } catch (err) {
          if (opts.signal?.aborted) return outcomeOf(request, 'failed', clock.now(), `aborted: ${String(opts.signal.reason ?? 'aborted')}`, { attempts: attempt + 1 });
          const cause = controller.signal.aborted ? controller.signal.reason : err;
          lastError = (cause as Error)?.message ?? String(cause);
        } finally {
          clock.clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
        }
      }
      return outcomeOf(request, 'failed', clock.now(), `gave up after ${retries + 1} attempt(s): ${lastError}`, { attempts: retries + 1 });
    },
  };
}
