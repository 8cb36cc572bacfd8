// The example HTTP server (examples/http-server): run as its own process on
// loopback, it answers like searchSync, rejects bad requests with clear
// messages, serves concurrent requests, and shuts down gracefully.
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexIVFPQ } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const serverScript = path.join(__dirname, '..', 'examples', 'http-server', 'server.mjs');
const dimension = 32;
const count = 5000;
const nlist = 32;
const firstId = 2n ** 62n; // beyond 2^53: must survive JSON as a string
const base = randomVectors(count, dimension, 21);
const queries = randomVectors(100, dimension, 22);

interface Running {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/** Starts the server on 127.0.0.1, port 0, and reads the port from its first stdout line. */
async function startServer(indexFile: string): Promise<Running> {
  const child = spawn(process.execPath, [serverScript, '--index', indexFile, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) resolve(JSON.parse(line).listening.port);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}/search`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

function query(i: number): number[] {
  return Array.from(queries.subarray(i * dimension, (i + 1) * dimension));
}

describe('example HTTP server', () => {
  const dir = tempDir('faiss-native-http-');
  const indexFile = path.join(dir, 'small.index');
  let index: IndexIVFPQ;
  let server: Running;

  beforeAll(async () => {
    index = new IndexIVFPQ({ dimension, nlist, m: 8 });
    index.trainSync(base);
    index.addWithIdsSync(base, BigInt64Array.from({ length: count }, (_, i) => firstId + BigInt(i)));
    index.writeSync(indexFile);
    server = await startServer(indexFile);
  });

  afterAll(() => {
    server?.child.kill('SIGKILL');
    index?.dispose();
  });

  /** What the server must answer: searchSync's result, ids as decimal strings, -1 padding dropped. */
  function expected(i: number, k: number, nprobe?: number) {
    const { labels, distances } = index.searchSync(queries.subarray(i * dimension, (i + 1) * dimension), k, { nprobe });
    const found = labels.filter((label) => label >= 0n).length;
    return { ids: Array.from(labels.subarray(0, found), String), distances: Array.from(distances.subarray(0, found)) };
  }

  it('answers a search with the same ids and distances as searchSync', async () => {
    const { status, json } = await post(server.url, { vector: query(0), k: 10, nprobe: 8 });
    expect(status).toBe(200);
    expect(json).toEqual(expected(0, 10, 8));
    expect(BigInt(json.ids[0])).toBeGreaterThanOrEqual(firstId);
    // Without nprobe, the index's own default (1) applies.
    expect((await post(server.url, { vector: query(1), k: 5 })).json).toEqual(expected(1, 5));
  });

  it('rejects bad requests with 400 and a message that names the problem', async () => {
    const cases: [unknown, string][] = [
      [{ vector: query(0).slice(1), k: 10 }, `Expected ${dimension} numbers for vector but received ${dimension - 1}`],
      [{ vector: [...query(0).slice(1), 'x'], k: 10 }, `Expected a number for vector[${dimension - 1}] but received "x"`],
      [{ vector: 'abc', k: 10 }, 'Expected an array of numbers for vector but received "abc"'],
      [{ vector: query(0) }, 'Expected an integer between 1 and 1024 for k but received nothing'],
      [{ vector: query(0), k: 0 }, 'Expected an integer between 1 and 1024 for k but received 0'],
      [{ vector: query(0), k: 10, nprobe: 500 }, `Expected an integer between 1 and ${nlist} for nprobe but received 500`],
      [{ vector: query(0), k: 10, nprobe: '8' }, "Expected an integer for nprobe but received '8'"],
      [{ vector: query(0), k: 10, nProbe: 8 }, "Unknown field 'nProbe' in the body; known fields: vector, k, nprobe"],
      [{ vector: [...query(0).slice(1), 1e39], k: 10 }, `Expected finite values for queries but element ${dimension - 1} is infinite`],
      [[1, 2], 'Expected a JSON object with vector, k and optionally nprobe for the body'],
    ];
    for (const [body, message] of cases) {
      expect(await post(server.url, body)).toEqual({ status: 400, json: { error: message } });
    }
    const broken = await post(server.url, '{"vector": [1,');
    expect(broken.status).toBe(400);
    expect(broken.json.error).toMatch(/^Expected a JSON body but could not parse it: /);
  });

  it('refuses bodies over 1 MB with 413, and wrong methods and paths', async () => {
    const big = JSON.stringify({ vector: query(0), k: 10, padding: 'x'.repeat(1024 * 1024) });
    expect(await post(server.url, big)).toEqual({ status: 413, json: { error: 'Expected a body of at most 1048576 bytes' } });
    const get = await fetch(`${server.url}/search`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toEqual({ error: 'Expected method POST but received GET' });
    expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
  });

  it('serves many concurrent requests, each with the right answer', async () => {
    const calls = Array.from({ length: 200 }, (_, i) => ({ i: i % 100, k: 1 + (i % 20), nprobe: 1 + (i % nlist) }));
    const answers = await Promise.all(calls.map(({ i, k, nprobe }) => post(server.url, { vector: query(i), k, nprobe })));
    answers.forEach((answer, j) => {
      const { i, k, nprobe } = calls[j];
      expect(answer).toEqual({ status: 200, json: expected(i, k, nprobe) });
    });
    const stats = await (await fetch(`${server.url}/stats`)).json();
    expect(stats.byStatus['200']).toBeGreaterThanOrEqual(200);
    expect(stats.byStatus['500']).toBeUndefined();
    expect(stats.eventLoopDelayMs.p99).toBeGreaterThan(0);
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const { url, child, stderr } = server;
    // A request whose body is only half sent is in flight on the server.
    const body = JSON.stringify({ vector: query(3), k: 10, nprobe: 4 });
    const request = http.request(`${url}/search`, { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) } });
    const response = once(request, 'response');
    request.write(body.slice(0, 20));
    for (let tries = 0; ; tries++) {
      const { inFlight } = await (await fetch(`${url}/stats`)).json();
      if (inFlight >= 2) break; // this /stats request and the half-sent one
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    request.end(body.slice(20));
    const [res] = (await response) as [http.IncomingMessage];
    let text = '';
    for await (const chunk of res) text += chunk;
    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(text)).toEqual(expected(3, 10, 4));
    expect(await exited).toEqual([0, null]);
    expect(stderr()).toContain('stopped');
  });
});
