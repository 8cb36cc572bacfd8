// HTTP load: the example server in a child process, autocannon against it on
// loopback for a bounded time, one query per request, plus the server's own
// event-loop delay and CPU use from GET /stats.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { recallAtK } from '../../tools/datasets.mjs';
import { K } from './glove.mjs';
import { cpuWindow } from './system.mjs';

const serverScript = fileURLToPath(new URL('../../examples/http-server/server.mjs', import.meta.url));
export const MAX_DURATION_S = 30;

/** Starts the example server (script) on 127.0.0.1, port 0; resolves once it listens. */
async function startServer(indexPath, poolSize, coalesce, script) {
  const args = ['--index', indexPath, '--host', '127.0.0.1', '--port', '0', '--coalesce', coalesce ? 'on' : 'off'];
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, UV_THREADPOOL_SIZE: String(poolSize) },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  child.stdout.setEncoding('utf8');
  const exited = once(child, 'exit');
  const listening = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))).listening);
    });
    exited.then(([code]) => reject(new Error(`the server exited (${code}) before listening: ${stderr}`)));
  });
  return { child, exited, url: `http://127.0.0.1:${listening.port}`, stderr: () => stderr };
}

/**
 * Runs the load; `queries` are searched one per request at `nprobe`. Before
 * the timed run, every query goes through HTTP once (warm-up, and a check
 * that the answers give the in-process recall).
 */
export async function runHttpLoad({ indexPath, queries, dimension, count, truth, nprobe, connections, durationSeconds, poolSize, coalesce = true, script = serverScript, log }) {
  if (!(durationSeconds > 0 && durationSeconds <= MAX_DURATION_S)) {
    throw new RangeError(`Expected a duration between 1 and ${MAX_DURATION_S} s but received ${durationSeconds}`);
  }
  const bodies = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ vector: Array.from(queries.subarray(i * dimension, (i + 1) * dimension)), k: K, nprobe }),
  );
  const server = await startServer(indexPath, poolSize, coalesce, script);
  try {
    const recall = await recallOverHttp(server.url, bodies, truth, connections);
    log?.(`HTTP warm-up: ${count} queries, recall@${K} ${recall.toFixed(4)} over HTTP`);

    await post(`${server.url}/stats/reset`);
    const window = cpuWindow();
    let sent = 0;
    const result = await autocannon({
      url: `${server.url}/search`,
      connections,
      pipelining: 1,
      duration: durationSeconds,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A new query for every request, cycling through the held-out set.
      requests: [{ setupRequest: (request) => ({ ...request, body: bodies[sent++ % bodies.length] }) }],
    });
    const stats = await (await fetch(`${server.url}/stats`)).json();
    const serverCpuMs = stats.cpu.userMs + stats.cpu.systemMs;
    const cpu = window.stop(serverCpuMs);

    server.child.kill('SIGTERM');
    const [exitCode] = await server.exited;
    return {
      libuvPoolSize: poolSize,
      connections,
      durationSeconds,
      nprobe,
      coalesce,
      requestsPerSecond: Math.round(result.requests.average),
      requests: result.requests.total,
      distinctBodies: Math.min(sent, bodies.length),
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      recallOverHttp: recall,
      server: {
        eventLoopDelayMs: stats.eventLoopDelayMs,
        cores: stats.cpu.cores,
        requests: stats.requests,
        byStatus: stats.byStatus,
        exitCode,
        threads: `libuv pool ${poolSize} × 1 OpenMP thread per search (policy: single query → 1)`,
      },
      loadGeneratorCores: Number(cpu.ownCores.toFixed(2)),
      machineCores: cpu.machineCores === null ? null : Number(cpu.machineCores.toFixed(2)),
      othersCores: cpu.othersCores === null ? null : Number(cpu.othersCores.toFixed(2)),
    };
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }
}

async function post(url, body) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = await response.json();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** All queries through POST /search, `connections` at a time; recall@K of the answers. */
async function recallOverHttp(url, bodies, truth, connections) {
  const labels = new BigInt64Array(bodies.length * K).fill(-1n);
  let next = 0;
  const caller = async () => {
    while (next < bodies.length) {
      const i = next++;
      const { ids } = await post(`${url}/search`, bodies[i]);
      ids.forEach((id, j) => (labels[i * K + j] = BigInt(id)));
    }
  };
  await Promise.all(Array.from({ length: connections }, caller));
  return recallAtK(labels, K, truth, K);
}
