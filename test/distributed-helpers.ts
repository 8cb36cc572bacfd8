// Services and data for the distributed build tests: a private redis-server
// on a free loopback port, an in-process S3 server, and worker processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Why the Redis-backed tests cannot run here, or undefined when they can. */
export const redisServerMissing =
  spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed (scripts/install-system-deps.sh installs it)';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a server on the loopback port answers (after `send`, if given) with text starting with `prefix`. */
export async function answers(port: number, prefix: string, send?: string): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith(prefix));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, '127.0.0.1', () => send && socket.write(send));
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGKILL with kill: true) and starts it again on the same port and directory. */
  restart(options?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of its own: loopback only, in a temp dir; appendOnly keeps its data across restart(). */
export async function startRedis(options: { appendOnly?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'faiss-native-redis-'));
  let child: ChildProcess;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no',
        ...(options.appendOnly ? ['--appendfsync', 'always'] : [])],
      { stdio: 'ignore' },
    );
    await waitFor(() => answers(port, '+PONG', 'PING\r\n'), `redis-server on port ${port}`);
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await once(child, 'exit');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart({ kill = false } = {}) {
      await stop(kill ? 'SIGKILL' : 'SIGTERM');
      await start();
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  ready: Promise<void>;
  /** Resolves with the first line of its output containing text. */
  line(text: string, timeoutMs?: number): Promise<string>;
  child: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

const workerScript = path.join(__dirname, 'fixtures', 'distributed-worker.mjs');

/** runBuildWorker in a child process; `fault` names a hook the fixture installs (see the fixture). */
export function startWorker(env: { redisUrl: string; storeDir?: string; s3?: string; s3Prefix?: string; fault?: string; lockMs?: number; name?: string }): WorkerProcess {
  const child = spawn(process.execPath, [workerScript], {
    env: {
      ...process.env,
      WORKER_REDIS: env.redisUrl,
      WORKER_STORE_DIR: env.storeDir ?? '',
      WORKER_S3: env.s3 ?? '',
      WORKER_S3_PREFIX: env.s3Prefix ?? '',
      WORKER_FAULT: env.fault ?? '',
      WORKER_LOCK_MS: String(env.lockMs ?? 2000),
      WORKER_NAME: env.name ?? 'worker',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(([code, signal]) => String(signal ?? code));
  let ready: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.includes('ready')) ready();
  });
  return {
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
    ready: readyPromise,
    async line(wanted, timeoutMs = 20_000) {
      await waitFor(async () => text.includes(wanted), `'${wanted}' from a worker`, timeoutMs);
      return text.split('\n').find((line) => line.includes(wanted))!;
    },
  };
}

/** Writes rows as an .fvecs file (each row: int32 dimension, then its floats). */
export function writeFvecs(file: string, vectors: Float32Array, dimension: number): void {
  const rows = vectors.length / dimension;
  const out = Buffer.alloc(rows * (4 + 4 * dimension));
  for (let row = 0; row < rows; row++) {
    const at = row * (4 + 4 * dimension);
    out.writeInt32LE(dimension, at);
    Buffer.from(vectors.buffer, vectors.byteOffset + row * dimension * 4, dimension * 4).copy(out, at + 4);
  }
  writeFileSync(file, out);
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
