// A minimal vector search service on Node's own http module.
//
//   node examples/http-server/server.mjs --index vectors.index [--host 127.0.0.1] [--port 8080] [--coalesce on|off]
//   (or INDEX_PATH, HOST, PORT, COALESCE in the environment)
//
//   POST /search  {"vector": [..dimension numbers..], "k": 10, "nprobe": 16}
//              → {"ids": ["123", ...], "distances": [0.93, ...]}
//   GET /stats    request counts, event-loop delay and CPU use since start or the last reset
//   POST /stats/reset
//   GET /health   the index's shape
//
// Ids are decimal strings: they are 64-bit and JSON numbers are not. Results
// shorter than k (fewer vectors found) are not padded. Bad input gets a 400
// with the library's own message. SIGTERM or SIGINT stops accepting
// connections, lets requests in flight finish, frees the index and exits.
//
// Searches run with `index.search()`, on libuv's thread pool, so the event loop
// only parses JSON and writes responses; faiss-native's thread policy runs each
// one-query search on one OpenMP thread.
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IndexIVFPQ } from 'faiss-native';

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_K = 1024;
const SEARCH_FIELDS = ['vector', 'k', 'nprobe'];
const SHUTDOWN_GRACE_MS = 10_000;

/** An error whose message is safe and useful to send back to the client. */
class ClientError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/**
 * A search service on `index`: `server` is an http.Server that does not
 * listen yet (the caller does); `shutdown()` stops it gracefully: no new
 * connections, requests in flight answered (with `Connection: close`), idle
 * keep-alive sockets closed; resolves once all are gone, or after `graceMs`
 * by cutting the rest. The index stays the caller's to dispose.
 */
export function createSearchServer(index) {
  const context = { index, stats: new Stats(), shuttingDown: false };
  const server = http.createServer((req, res) => {
    context.stats.started();
    handle(req, context)
      .catch((error) => {
        // Not the client's fault: a bug or a failing index. Log it, answer 500.
        console.error(error);
        return [500, { error: 'Internal server error' }];
      })
      .then(([status, body, headers = {}]) => {
        // While shutting down, and after a 413 (whose body stays unread), the
        // connection must not be reused.
        if (context.shuttingDown || status === 413) res.setHeader('Connection', 'close');
        const json = JSON.stringify(body);
        res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
        res.end(json);
        context.stats.finished(status);
      });
  });
  server.keepAliveTimeout = 5_000;

  let closed;
  const shutdown = (graceMs = SHUTDOWN_GRACE_MS) => {
    closed ??= new Promise((resolve) => {
      context.shuttingDown = true;
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        context.stats.stop();
        resolve();
      });
      server.closeIdleConnections();
    });
    return closed;
  };
  return { server, shutdown };
}

/** Handles one request; resolves with [status, body to send as JSON]. */
async function handle(req, { index, stats }) {
  try {
    const { pathname } = parseUrl(req.url);
    if (pathname === '/search') {
      allow(req, 'POST');
      const request = parseSearch(await readJson(req), index);
      return [200, await search(index, request)];
    }
    if (pathname === '/stats') {
      allow(req, 'GET');
      return [200, stats.snapshot()];
    }
    if (pathname === '/stats/reset') {
      allow(req, 'POST');
      stats.reset();
      return [200, stats.snapshot()];
    }
    if (pathname === '/health') {
      allow(req, 'GET');
      const { dimension, ntotal, nlist, nprobe, metric } = index;
      return [200, { status: 'ok', dimension, ntotal, nlist, nprobe, metric }];
    }
    throw new ClientError(404, `No route for ${pathname}`);
  } catch (error) {
    if (error instanceof ClientError) return [error.status, { error: error.message }, error.headers];
    throw error;
  }
}

function parseUrl(url = '/') {
  try {
    return new URL(url, 'http://localhost');
  } catch {
    throw new ClientError(400, `Expected a request path but received '${url.slice(0, 40)}'`);
  }
}

function allow(req, method) {
  if (req.method !== method) {
    throw new ClientError(405, `Expected method ${method} but received ${req.method}`, { Allow: method });
  }
}

/** The request body as JSON, refusing bodies over MAX_BODY_BYTES without reading them whole. */
async function readJson(req) {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof ClientError) throw error;
    throw new ClientError(400, `Could not read the body: ${error.message}`); // e.g. the client gave up mid-body
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ClientError(400, `Expected a JSON body but could not parse it: ${error.message}`);
  }
}

function tooLarge() {
  return new ClientError(413, `Expected a body of at most ${MAX_BODY_BYTES} bytes`);
}

/**
 * Checks the shape of a search request. Value ranges that the library checks
 * itself (nprobe against nlist, NaN and ±Infinity after float32 rounding) are
 * left to it, and its TypeError/RangeError messages reach the client.
 */
function parseSearch(body, index) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ClientError(400, 'Expected a JSON object with vector, k and optionally nprobe for the body');
  }
  const unknown = Object.keys(body).filter((key) => !SEARCH_FIELDS.includes(key));
  if (unknown.length > 0) {
    throw new ClientError(400, `Unknown field '${unknown[0]}' in the body; known fields: ${SEARCH_FIELDS.join(', ')}`);
  }
  const { vector, k, nprobe } = body;
  if (!Array.isArray(vector)) throw new ClientError(400, `Expected an array of numbers for vector but received ${kind(vector)}`);
  if (vector.length !== index.dimension) {
    throw new ClientError(400, `Expected ${index.dimension} numbers for vector but received ${vector.length}`);
  }
  const queries = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) {
    if (typeof vector[i] !== 'number') {
      throw new ClientError(400, `Expected a number for vector[${i}] but received ${kind(vector[i])}`);
    }
    queries[i] = vector[i];
  }
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw new ClientError(400, `Expected an integer between 1 and ${MAX_K} for k but received ${kind(k)}`);
  }
  return { queries, k, options: nprobe === undefined ? undefined : { nprobe } };
}

/** A value as an error message shows it. */
function kind(value) {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}

async function search(index, { queries, k, options }) {
  let result;
  try {
    result = await index.search(queries, k, options);
  } catch (error) {
    // The library's input errors name the parameter and the value: pass them on.
    if (error instanceof TypeError || error instanceof RangeError) throw new ClientError(400, error.message);
    throw error;
  }
  const { labels, distances } = result;
  let found = labels.indexOf(-1n);
  if (found < 0) found = labels.length;
  const ids = new Array(found);
  for (let i = 0; i < found; i++) ids[i] = labels[i].toString();
  return { ids, distances: Array.from(distances.subarray(0, found)) };
}

/** Request counts, event-loop delay (perf_hooks) and process CPU time since the last reset. */
class Stats {
  #delay = monitorEventLoopDelay({ resolution: 1 });
  #since;
  #cpu;
  #inFlight = 0;
  #byStatus;

  constructor() {
    this.#delay.enable();
    this.reset();
  }

  reset() {
    this.#delay.reset();
    this.#since = performance.now();
    this.#cpu = process.cpuUsage();
    this.#byStatus = {};
  }

  started() {
    this.#inFlight++;
  }

  finished(status) {
    this.#inFlight--;
    this.#byStatus[status] = (this.#byStatus[status] ?? 0) + 1;
  }

  stop() {
    this.#delay.disable();
  }

  snapshot() {
    const elapsedMs = performance.now() - this.#since;
    const cpu = process.cpuUsage(this.#cpu);
    const ms = (ns) => Number((ns / 1e6).toFixed(3));
    const delay = this.#delay;
    return {
      elapsedMs: Number(elapsedMs.toFixed(1)),
      requests: Object.values(this.#byStatus).reduce((a, b) => a + b, 0),
      byStatus: { ...this.#byStatus },
      inFlight: this.#inFlight,
      // Intervals between ticks of a 1 ms timer: an idle loop reads about 1.1 ms,
      // anything above that is time callbacks waited for the loop.
      eventLoopDelayMs: delay.count === 0 ? null : {
        samples: delay.count,
        mean: ms(delay.mean),
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
      },
      cpu: {
        userMs: Math.round(cpu.user / 1000),
        systemMs: Math.round(cpu.system / 1000),
        // Cores this process kept busy on average: 2.0 is both cores of a 2-core machine.
        cores: Number(((cpu.user + cpu.system) / 1000 / elapsedMs).toFixed(2)),
      },
    };
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      index: { type: 'string', default: process.env.INDEX_PATH },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      coalesce: { type: 'string', default: process.env.COALESCE ?? 'on' },
    },
  });
  if (!values.index) throw new Error('Give the index file with --index PATH or INDEX_PATH');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Expected a port number but received '${values.port}'`);

  if (values.coalesce !== 'on' && values.coalesce !== 'off') {
    throw new Error(`Expected 'on' or 'off' for --coalesce but received '${values.coalesce}'`);
  }
  const index = await IndexIVFPQ.read(values.index);
  index.coalesceSearches = values.coalesce === 'on';
  const { server, shutdown } = createSearchServer(index);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, values.host, resolve);
  });
  const address = server.address();
  // One JSON line on stdout, so a parent process can find the port it got.
  console.log(JSON.stringify({ listening: { host: address.address, port: address.port }, ntotal: index.ntotal, dimension: index.dimension }));

  const stop = async (signal) => {
    process.off('SIGTERM', stop).off('SIGINT', stop);
    console.error(`${signal}: finishing requests in flight`);
    await shutdown();
    index.dispose(); // waits for any search still running, then frees
    console.error('stopped');
  };
  process.on('SIGTERM', stop).on('SIGINT', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
