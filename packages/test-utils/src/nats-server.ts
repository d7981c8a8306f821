import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SliceguardError } from '@sliceguard/core';

export const NATS_INSTALL_HINT =
  'nats-server was not found on PATH. The integration tests run a real NATS server: install it with ' +
  '`apt-get install nats-server` (Debian/Ubuntu), or download it from the NATS releases and put it on PATH, ' +
  'or set NATS_SERVER=/path/to/nats-server.';

export class NatsServerMissingError extends SliceguardError {
  constructor(cause?: unknown) {
    super('TEST_ERR_NATS_SERVER_MISSING', NATS_INSTALL_HINT, { cause });
  }
}

/** Resolves the nats-server binary or throws NatsServerMissingError (never skips silently). */
export function natsServerBinary(): string {
  const candidate = process.env.NATS_SERVER ?? 'nats-server';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new NatsServerMissingError(probe.error);
  return candidate;
}

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface NatsServerOptions {
  port?: number;
  /** Bytes; nats-server's default is 1 MiB. */
  maxPayload?: number;
  /** Cluster settings when part of a cluster. */
  cluster?: { name: string; port: number; routes: number[] };
  jetstream?: boolean;
  /** Extra arguments passed through. */
  args?: string[];
  readyTimeoutMs?: number;
}

export interface NatsServerHandle {
  readonly port: number;
  readonly url: string;
  readonly monitorPort: number;
  readonly pid: number | undefined;
  /** Stops with SIGTERM (SIGKILL after 3 s) and waits for exit. Idempotent. */
  stop(): Promise<void>;
  /** Kills with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts again on the same ports (after stop/kill). */
  restart(): Promise<void>;
  /** Whatever the server wrote (for debugging failures). */
  output(): string;
}

async function waitReady(monitorPort: number, child: ChildProcess, timeoutMs: number, wantRoutes = 0): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`http://127.0.0.1:${monitorPort}/${wantRoutes > 0 ? 'routez' : 'healthz'}`);
      if (res.ok) {
        if (wantRoutes === 0) return;
        const body = (await res.json()) as { num_routes?: number };
        if ((body.num_routes ?? 0) >= wantRoutes) return;
      }
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nats-server not ready after ${timeoutMs} ms`, { cause: lastError });
}

/** Starts a nats-server on free ports and waits until its health endpoint answers. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = natsServerBinary();
  const port = options.port ?? (await freePort());
  const monitorPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'sg-nats-'));
  let child: ChildProcess | undefined;
  let log = '';
  const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), ...(options.args ?? [])];
  if (options.maxPayload) {
    // nats-server 2.9 has no --max_payload flag: the limit is only settable in a config file
    const conf = join(storeDir, 'nats.conf');
    writeFileSync(conf, `max_payload: ${Math.trunc(options.maxPayload)}\n`);
    args.push('-c', conf);
  }
  if (options.jetstream) args.push('-js', '-sd', storeDir);
  if (options.cluster) {
    args.push('--cluster_name', options.cluster.name, '--cluster', `nats://127.0.0.1:${options.cluster.port}`);
    if (options.cluster.routes.length > 0) {
      args.push('--routes', options.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
    }
  }

  const launch = async (): Promise<void> => {
    log = '';
    const c = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    c.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    try {
      await waitReady(monitorPort, c, options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      c.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${log}`, { cause: error });
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    monitorPort,
    get pid() {
      return child?.pid;
    },
    stop: async () => {
      await terminate('SIGTERM');
      rmSync(storeDir, { recursive: true, force: true });
    },
    kill: () => terminate('SIGKILL'),
    restart: async () => {
      await terminate('SIGTERM');
      await launch();
    },
    output: () => log,
  };
}

export interface NatsClusterHandle {
  readonly nodes: NatsServerHandle[];
  /** Client URLs of every node (give them all to a client so it can fail over). */
  readonly urls: string[];
  stop(): Promise<void>;
}

/** Starts a 3-node (by default) full-mesh cluster and waits until every node sees its routes. */
export async function startNatsCluster(size = 3, options: Omit<NatsServerOptions, 'cluster' | 'port'> = {}): Promise<NatsClusterHandle> {
  const clusterPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const name = `sg-test-${process.pid}-${clusterPorts[0]}`;
  const nodes: NatsServerHandle[] = [];
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await startNatsServer({
          ...options,
          cluster: { name, port: clusterPorts[i], routes: clusterPorts.filter((_, j) => j !== i) },
        }),
      );
    }
    const deadline = Date.now() + 10_000;
    for (const node of nodes) {
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${node.monitorPort}/routez`);
        const body = (await res.json()) as { num_routes?: number };
        if ((body.num_routes ?? 0) >= size - 1) break;
        if (Date.now() > deadline) throw new Error(`cluster routes not established: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
