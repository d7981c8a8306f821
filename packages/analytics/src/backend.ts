import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Logger } from '@sliceguard/core';
import { BackendError, InvalidOptionsError } from './errors.js';

export type Tf = typeof import('@tensorflow/tfjs');

/** 'tensorflow' is tfjs-node's native backend. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = BackendName | 'auto';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface TfRuntime {
  tf: Tf;
  backend: BackendName;
  /** Why the preferred backends were not used (empty when the first choice loaded). */
  fallbacks: { backend: BackendName; reason: string }[];
}

export interface LoadTfOptions {
  /** 'auto' (default): tfjs-node if it loads, else WASM, else CPU. A named backend is required, not a preference. */
  backend?: BackendPreference;
  logger?: Logger;
}

// A variable specifier keeps TypeScript from resolving the optional package at build time.
const TFJS_NODE = '@tensorflow/tfjs-node';

/**
 * Loads TensorFlow.js lazily (nothing in this package imports it statically, so agents that only
 * run the statistical detector never pay for it) and selects a backend. tfjs keeps its engine in a
 * process-wide singleton; this function reads the current backend from it instead of caching state
 * here, and logs the choice only when it changes the engine's backend (i.e. once per process).
 *
 * tfjs prints an "install tfjs-node" banner through console.warn/log on first use of the CPU
 * backend; production mode (set before any tensor exists) silences tfjs's own console output so
 * --json output on stdout stays clean.
 */
export async function loadTf(options: LoadTfOptions = {}): Promise<TfRuntime> {
  const preference = options.backend ?? 'auto';
  if (preference !== 'auto' && !BACKEND_NAMES.includes(preference)) {
    throw new InvalidOptionsError(`unknown backend "${String(preference)}"; use auto, ${BACKEND_NAMES.join(', ')}`, { option: 'backend' });
  }
  const logger = options.logger;
  let tf: Tf;
  try {
    tf = (await import('@tensorflow/tfjs')) as Tf;
  } catch (cause) {
    throw new BackendError('cannot load @tensorflow/tfjs; install it with `npm install @tensorflow/tfjs`', {}, cause);
  }
  // silence tfjs's console banners and warnings (must precede the first tensor on the CPU backend)
  tf.env().set('PROD', true);

  const order: BackendName[] = preference === 'auto' ? [...BACKEND_NAMES] : [preference];
  const fallbacks: TfRuntime['fallbacks'] = [];
  const current = tf.engine().backendName as string | null;
  if (preference === 'auto' && current && (BACKEND_NAMES as readonly string[]).includes(current)) {
    // a backend was already chosen in this process: keep it (switching would dispose every live model)
    return { tf, backend: current as BackendName, fallbacks };
  }
  for (const name of order) {
    if (current === name) return { tf, backend: name, fallbacks };
    try {
      await prepare(name, tf);
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      logger?.info({ backend: name, fallbacks }, `analytics: TensorFlow.js backend ${name}`);
      return { tf, backend: name, fallbacks };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
      fallbacks.push({ backend: name, reason });
      logger?.debug({ backend: name, reason }, 'analytics: TensorFlow.js backend unavailable');
      if (preference !== 'auto') {
        throw new BackendError(`TensorFlow.js backend "${name}" cannot be used: ${reason}`, { backend: name, hint: hintFor(name) }, cause);
      }
    }
  }
  throw new BackendError('no TensorFlow.js backend could be initialised', { fallbacks });
}

function hintFor(name: BackendName): string {
  if (name === 'tensorflow') return 'install @tensorflow/tfjs-node (its installer downloads libtensorflow) or use --backend wasm';
  if (name === 'wasm') return 'install @tensorflow/tfjs-backend-wasm or use --backend cpu';
  return 'reinstall @tensorflow/tfjs';
}

async function prepare(name: BackendName, tf: Tf): Promise<void> {
  if (name === 'tensorflow') {
    // registers the 'tensorflow' backend on import; fails when the package or libtensorflow is absent
    await import(TFJS_NODE);
    if (!tf.findBackendFactory('tensorflow')) throw new Error('@tensorflow/tfjs-node loaded but did not register its backend');
    return;
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // in Node the .wasm files are read from the package's dist directory, not fetched
    const require = createRequire(import.meta.url);
    const dir = `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
    try {
      wasm.setWasmPaths(dir);
    } catch (error) {
      // the backend was initialised earlier in this process, with its paths already set
      if (!(error instanceof Error && /already initialized/.test(error.message))) throw error;
    }
  }
}
