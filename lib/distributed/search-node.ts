import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { Msg, Subscription } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { FaissError } from '../errors';
import { Index } from '../faiss-index';
import { filterFromArgs } from '../id-filter';
import { expectInteger, expectOptions, expectString, fail, threadsOption } from '../validate';
import { readManifest } from './manifest';
import { aliasBucket, openNats, type NatsTarget } from './nats';
import type { SearchNodeStatus, ServedShardStatus, ServedVersionStatus } from './node-status';
import type { ObjectStore } from './object-store';
import { decodeRequest, encodeErrorReply, encodeReply } from './search-codec';
import { downloadServingShard } from './serving-shard';
import { aliasKeys, expectAlias, subjects, type ServedVersion } from './serving-layout';

export interface SearchNodeOptions {
  nats: NatsTarget;
  /** Where the manifests and serving shards are. */
  store: ObjectStore;
  alias: string;
  /** Serving shard numbers this node answers for; every shard of each version when omitted. */
  shards?: number[];
  /** Where shards are downloaded; a temporary directory (removed by close) when omitted. */
  cacheDir?: string;
  /** OpenMP threads per search; the library's shared budget when omitted. */
  threads?: number;
  /** How long a version keeps answering after the alias moved off it, for queries already pinned to it. Default 2000 ms. */
  lingerMs?: number;
}

export interface SearchNode {
  readonly id: string;
  /** Shards served, per version, with query counts and latency. */
  status(): SearchNodeStatus;
  /** Resolves once every version the alias names (live and staged) is loaded or has failed. */
  settled(): Promise<void>;
  /** Stops answering, lets requests in flight finish, closes the shards (and the connection when it opened it). */
  close(): Promise<void>;
}

const KEYS = ['nats', 'store', 'alias', 'shards', 'cacheDir', 'threads', 'lingerMs'] as const;
const LATENCY_WINDOW = 1024;

class ServedShard {
  queries = 0;
  rows = 0;
  errors = 0;
  inflight = 0;
  readonly #latencies = new Float64Array(LATENCY_WINDOW);
  #recorded = 0;
  #idle: (() => void) | undefined;
  subscription: Subscription | undefined;
  /** Kept apart from the index, which is disposed while its status may still be asked for. */
  readonly ntotal: number;

  constructor(
    readonly shard: number,
    readonly index: Index,
  ) {
    this.ntotal = index.ntotal;
  }

  record(ms: number): void {
    this.#latencies[this.#recorded++ % LATENCY_WINDOW] = ms;
  }

  finished(): void {
    if (--this.inflight === 0) this.#idle?.();
  }

  async idle(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  status(): ServedShardStatus {
    const window = Array.from(this.#latencies.subarray(0, Math.min(this.#recorded, LATENCY_WINDOW))).sort((a, b) => a - b);
    const at = (q: number) => (window.length ? Number(window[Math.min(window.length - 1, Math.floor(q * window.length))].toFixed(3)) : 0);
    return {
      shard: this.shard,
      ntotal: this.ntotal,
      queries: this.queries,
      rows: this.rows,
      errors: this.errors,
      inflight: this.inflight,
      latencyMs: { p50: at(0.5), p99: at(0.99) },
    };
  }
}

interface LoadedVersion {
  buildId: string;
  state: ServedVersionStatus['state'];
  error?: string;
  shards: ServedShard[];
  directory: string;
  /** Set once retiring starts: retiring twice (a linger, then close) drains and closes once. */
  retired?: Promise<void>;
  endLinger?: () => void;
}

/**
 * A search node: serves the shards it is given of whatever versions an alias
 * names. Watches the alias in the NATS key-value bucket; for each version it
 * downloads its shards (checked against the manifest's sha256), opens them
 * memory-mapped, and answers binary search requests on one subject per
 * (version, shard) in a queue group, so replicas share the load and take over
 * from each other. Concurrent requests to a shard are coalesced into batched
 * Faiss calls by the index. A version the alias no longer names keeps
 * answering for lingerMs, then drains and is closed.
 */
export async function runSearchNode(options: SearchNodeOptions): Promise<SearchNode> {
  const bag = expectOptions<SearchNodeOptions>(options, 'options', KEYS);
  const alias = expectAlias(bag.alias);
  const store = bag.store as ObjectStore;
  if (!store || typeof store.get !== 'function') fail('type', 'an ObjectStore (fsStore or s3Store)', 'store', store);
  let configured: number[] | 'all' = 'all';
  if (bag.shards !== undefined) {
    if (!Array.isArray(bag.shards) || bag.shards.length === 0) fail('type', 'a non-empty array of shard numbers', 'shards', bag.shards);
    configured = bag.shards.map((shard, i) => expectInteger(shard, `shards[${i}]`, 0, 2 ** 31));
  }
  const threads = threadsOption(bag.threads);
  const lingerMs = bag.lingerMs === undefined ? 2000 : expectInteger(bag.lingerMs, 'lingerMs', 0, 3_600_000);
  const ownCache = bag.cacheDir === undefined;
  const cacheDir = ownCache ? await mkdtemp(path.join(tmpdir(), 'faiss-native-serve-')) : path.resolve(expectString(bag.cacheDir, 'cacheDir'));
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const startedAt = new Date().toISOString();
  const { connection, owned } = await openNats(bag.nats!, `faiss-native search node ${id}`);
  let kv: KV;
  try {
    kv = await aliasBucket(connection);
  } catch (error) {
    if (owned) await connection.close();
    throw error;
  }

  const versions = new Map<string, LoadedVersion>();
  const named = new Map<string, string>(); // alias key → build id
  let reconciling: Promise<void> = Promise.resolve();
  let closed = false;

  const serves = (shard: number) => configured === 'all' || configured.includes(shard);

  function answer(served: ServedShard, message: Msg): void {
    const started = performance.now();
    served.queries++;
    served.inflight++;
    let rows = 0;
    Promise.resolve()
      .then(() => {
        const request = decodeRequest(message.data);
        rows = request.rows;
        if (request.dimension !== served.index.dimension) {
          throw new RangeError(`Expected queries of dimension ${served.index.dimension} for queries but received dimension ${request.dimension}`);
        }
        const filter = filterFromArgs(...request.filter);
        const options = { ...request.options, ...(filter ? { filter } : {}), ...(threads ? { threads } : {}) };
        return served.index.search(request.queries, request.k, options).then((result) => {
          message.respond(encodeReply(request.rows, request.k, result));
        });
      })
      .catch((error: unknown) => {
        served.errors++;
        message.respond(encodeErrorReply(error));
      })
      .finally(() => {
        served.rows += rows;
        served.record(performance.now() - started);
        served.finished();
      });
  }

  async function load(version: LoadedVersion): Promise<void> {
    try {
      const manifest = await readManifest(store, version.buildId);
      if (!manifest) throw new FaissError(`build '${version.buildId}' has no manifest in ${store.url}`, 'ERR_FAISS_MISSING_OBJECT');
      // Shards download side by side; all settle before a failure is handled, so it closes every one that opened.
      const opened = await Promise.allSettled(
        manifest.servingShards
          .filter((s) => serves(s.shard))
          .map(async (serving) => {
            const file = await downloadServingShard(store, serving, path.join(version.directory, `shard-${serving.shard}`));
            // Index reads IVF-PQ shards as IndexIVFPQ does (one native class, precomputed tables), and takes filters.
            const index = await Index.read(file, { mmap: true });
            version.shards.push(new ServedShard(serving.shard, index));
          }),
      );
      const failure = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
      version.shards.sort((a, b) => a.shard - b.shard);
      if (closed || version.state !== 'loading') return;
      for (const served of version.shards) {
        served.subscription = connection.subscribe(subjects.shard(version.buildId, served.shard), {
          queue: subjects.shard(version.buildId, served.shard),
          callback: (error, message) => {
            if (!error) answer(served, message);
          },
        });
      }
      // The server knows the subscriptions once this returns: the node is answering.
      await connection.flush();
      if (version.state === 'loading') version.state = 'ready';
    } catch (error) {
      version.state = 'failed';
      version.error = (error as Error).message;
      await retire(version, 0);
    }
  }

  function retire(version: LoadedVersion, afterMs: number): Promise<void> {
    if (version.retired) {
      if (afterMs === 0) version.endLinger?.();
      return version.retired;
    }
    if (version.state !== 'failed') version.state = 'retiring';
    version.retired = (async () => {
      if (afterMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, afterMs);
          version.endLinger = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // drain: the server stops routing to us, requests already received are answered.
      await Promise.all(version.shards.map((served) => served.subscription?.drain().catch(() => undefined)));
      await Promise.all(version.shards.map((served) => served.idle()));
      for (const served of version.shards) served.index.dispose();
      if (version.state === 'failed') version.shards = [];
      if (version.state === 'retiring' && versions.get(version.buildId) === version) versions.delete(version.buildId);
      await rm(version.directory, { recursive: true, force: true });
      // A rollback may want it back while it drained.
      if (!closed) reconcile();
    })();
    return version.retired;
  }

  /** Loads what the alias names and retires the rest; a failed version is tried again only when the alias changes. */
  function reconcile(aliasChanged = false): void {
    const wanted = new Set(named.values());
    for (const buildId of wanted) {
      const existing = versions.get(buildId);
      if (existing && (existing.state !== 'failed' || !aliasChanged)) continue; // a retiring one is loaded again once drained
      const version: LoadedVersion = { buildId, state: 'loading', shards: [], directory: path.join(cacheDir, buildId) };
      versions.set(buildId, version);
      reconciling = reconciling.then(() => load(version));
    }
    for (const version of versions.values()) {
      if (!wanted.has(version.buildId) && version.state === 'failed') versions.delete(version.buildId);
      else if (!wanted.has(version.buildId) && (version.state === 'ready' || version.state === 'loading')) {
        const wasLoading = version.state === 'loading';
        version.state = 'retiring';
        void (wasLoading ? reconciling.then(() => retire(version, 0)) : retire(version, lingerMs));
      }
    }
  }

  // Read the alias first so a node is loading before runSearchNode returns;
  // the watch then repeats these values and follows every change.
  for (const key of [aliasKeys.live(alias), aliasKeys.staged(alias)]) {
    const entry = await kv.get(key);
    if (entry && entry.operation === 'PUT') named.set(key, (JSON.parse(entry.string()) as ServedVersion).buildId);
  }
  reconcile();
  const watcher = await kv.watch({ key: aliasKeys.any(alias) });
  const watching = (async () => {
    for await (const entry of watcher) {
      if (entry.operation === 'PUT') named.set(entry.key, (JSON.parse(entry.string()) as ServedVersion).buildId);
      else named.delete(entry.key);
      reconcile(true);
    }
  })();

  const statusSubscription = connection.subscribe(subjects.status(alias), {
    callback: (error, message) => {
      if (error) return;
      // A status request must never take the node down: answer what can be said.
      try {
        message.respond(JSON.stringify(node.status()));
      } catch (failure) {
        message.respond(JSON.stringify({ id, alias, configured, startedAt, versions: [], error: (failure as Error).message }));
      }
    },
  });

  const node: SearchNode = {
    id,
    status: () => ({
      id,
      alias,
      configured,
      startedAt,
      versions: [...versions.values()].map((v) => ({
        buildId: v.buildId,
        state: v.state,
        ...(v.error ? { error: v.error } : {}),
        shards: v.shards.map((s) => s.status()),
      })),
    }),
    async settled() {
      let seen: Promise<void>;
      do {
        seen = reconciling;
        await seen;
      } while (seen !== reconciling);
    },
    async close() {
      if (closed) return;
      closed = true;
      watcher.stop();
      await watching.catch(() => undefined);
      await statusSubscription.drain().catch(() => undefined);
      await reconciling;
      await Promise.all([...versions.values()].map((v) => retire(v, 0)));
      if (owned) await connection.close();
      if (ownCache) await rm(cacheDir, { recursive: true, force: true });
    },
  };
  return node;
}
