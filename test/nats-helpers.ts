// Services for the serving tests: a private nats-server (JetStream on, loopback,
// a free port, a temp store) and search nodes as `faiss-native serve` child processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { answers, freePort, scratchDir, waitFor } from './distributed-helpers';

export { waitFor };

/** Why the NATS-backed tests cannot run here, or undefined when they can. */
export const natsServerMissing =
  spawnSync('nats-server', ['--version']).status === 0 ? undefined : 'nats-server is not installed (scripts/install-system-deps.sh installs it)';

export interface NatsServer {
  url: string;
  stop(): Promise<void>;
}

/** A nats-server of its own; maxPayload small enough makes RemoteIndex split batches. */
export async function startNats(options: { maxPayload?: number } = {}): Promise<NatsServer> {
  const port = await freePort();
  const dir = scratchDir('faiss-native-nats-');
  const config = path.join(dir, 'nats.conf');
  writeFileSync(config, `max_payload: ${options.maxPayload ?? 1048576}\n`);
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'js'), '-c', config], { stdio: 'ignore' });
  // A NATS server greets every connection with an INFO line.
  await waitFor(() => answers(port, 'INFO'), `nats-server on port ${port}`);
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const cli = path.join(__dirname, '..', 'dist', 'distributed', 'cli.js');

export interface NodeProcess {
  child: ChildProcess;
  /** Resolves with the banner once the node serves what the alias named when it started. */
  ready: Promise<string>;
  /** SIGTERM (drains) or SIGKILL; resolves with its exit code or signal once it exited. */
  stop(signal?: NodeJS.Signals): Promise<string>;
}

/** `npx faiss-native serve` in a child process, one OpenMP thread. */
export function startNode(options: { nats: string; store: string; alias: string; shards?: number[]; lingerMs?: number }): NodeProcess {
  const args = [cli, 'serve', '--nats', options.nats, '--store', options.store, '--alias', options.alias, '--threads', '1', '--linger-ms', String(options.lingerMs ?? 500)];
  if (options.shards) args.push('--shards', options.shards.join(','));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const ready = new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    exited.then(([code, signal]) => reject(new Error(`search node exited (${signal ?? code}) before it was ready`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, killedBy] = await exited;
      return String(killedBy ?? code);
    },
  };
}
