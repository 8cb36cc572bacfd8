import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { FaissError, withCallerStack } from '../errors';
import { filterArgs, type FilterArgs } from '../id-filter';
import type { IndexSearchOptions } from '../faiss-index';
import type { Metric } from '../metric';
import type { SearchResult } from '../results';
import { mergeTopK } from '../top-k';
import { MAX_K, expectInteger, expectOneOf, expectOptions, expectVectors } from '../validate';
import { aliasBucket, openNats, type NatsTarget } from './nats';
import { collectStatus, type SearchNodeStatus } from './node-status';
import { OPTION_NAMES, decodeReply, encodeRequest, rowsPerMessage, type ForwardedOptions } from './search-codec';
import { aliasKeys, expectAlias, subjects, type AliasRecord, type ServedVersion } from './serving-layout';

export type PartialResults = 'error' | 'allow';

export interface RemoteIndexOptions {
  nats: NatsTarget;
  alias: string;
  /** Default deadline of a search, in ms. Default 5000. */
  timeoutMs?: number;
  /** Default for search(): 'error' fails when a shard does not answer; 'allow' returns what answered, with coverage < 1. */
  partial?: PartialResults;
}

/** The search parameters of an in-process Index that shards take over the network, filters included; threads stay with the nodes. */
export interface RemoteSearchOptions
  extends Pick<IndexSearchOptions, 'nprobe' | 'maxCodes' | 'efSearch' | 'quantizerEfSearch' | 'kFactor' | 'qb' | 'filter'> {
  /** The whole search's deadline, retries included. */
  timeoutMs?: number;
  partial?: PartialResults;
}

export interface RemoteSearchResult extends SearchResult {
  /** Fraction of the version's vectors whose shards answered: 1 unless partial: 'allow' let a shard be missing. */
  coverage: number;
  /** The version every result came from. */
  buildId: string;
}

const CONNECT_KEYS = ['nats', 'alias', 'timeoutMs', 'partial'] as const;
const SEARCH_KEYS = [...OPTION_NAMES, 'filter', 'timeoutMs', 'partial'] as const;
const PARTIAL = ['error', 'allow'] as const;
const MAX_TIMEOUT_MS = 3_600_000;
/** Tries per shard within the deadline: a replica that died with our request is retried on another. */
const TRIES = 3;
const NO_RESPONDERS_BACKOFF_MS = 20;

/** What every shard request of one search carries besides its queries. */
interface Forwarded {
  options: ForwardedOptions;
  filter: FilterArgs;
}

type Outcome = { shard: number; result: SearchResult } | { shard: number; missing: string; noResponders: boolean };

const isNoResponders = (error: unknown) =>
  (error as { isNoResponders?: () => boolean }).isNoResponders?.() === true || /no responders/i.test(String((error as Error)?.message));
const isTimeout = (error: unknown) => (error as Error)?.name === 'TimeoutError' || /timeout/i.test(String((error as Error)?.message));

/**
 * An index served by search nodes over NATS, searched like an in-process
 * index. Each search pins the version the alias names at that moment, sends
 * the queries to every shard of it in parallel (split under the server's
 * max_payload), retries a shard whose replica did not answer, and merges the
 * per-shard top-k lists with the merge IndexShards uses: the same results as
 * IndexShards over the same shard files. Results never mix versions.
 */
export class RemoteIndex {
  readonly #connection: NatsConnection;
  readonly #owned: boolean;
  readonly #alias: string;
  readonly #timeoutMs: number;
  readonly #partial: PartialResults;
  readonly #watcher: Awaited<ReturnType<KV['watch']>>;
  #live: ServedVersion | undefined;
  #closed = false;

  private constructor(
    connection: NatsConnection,
    owned: boolean,
    alias: string,
    live: ServedVersion | undefined,
    watcher: Awaited<ReturnType<KV['watch']>>,
    defaults: { timeoutMs: number; partial: PartialResults },
  ) {
    this.#connection = connection;
    this.#owned = owned;
    this.#alias = alias;
    this.#live = live;
    this.#watcher = watcher;
    this.#timeoutMs = defaults.timeoutMs;
    this.#partial = defaults.partial;
    void (async () => {
      for await (const entry of watcher) {
        this.#live = entry.operation === 'PUT' ? entry.json<AliasRecord>() : undefined;
      }
    })().catch(() => undefined);
  }

  /** Connects and reads the alias; fails when it names no version (publishIndex first). */
  static async connect(options: RemoteIndexOptions): Promise<RemoteIndex> {
    const bag = expectOptions<RemoteIndexOptions>(options, 'options', CONNECT_KEYS);
    const alias = expectAlias(bag.alias);
    const timeoutMs = bag.timeoutMs === undefined ? 5000 : expectInteger(bag.timeoutMs, 'timeoutMs', 1, MAX_TIMEOUT_MS);
    const partial = bag.partial === undefined ? 'error' : expectOneOf(bag.partial, 'partial', PARTIAL);
    const { connection, owned } = await openNats(bag.nats!, `faiss-native RemoteIndex ${alias}`);
    try {
      const kv = await aliasBucket(connection);
      const entry = await kv.get(aliasKeys.live(alias));
      if (!entry || entry.operation !== 'PUT') {
        throw new FaissError(`alias '${alias}' names no published index (publishIndex first)`, 'ERR_FAISS_NO_ALIAS');
      }
      const watcher = await kv.watch({ key: aliasKeys.live(alias) });
      return new RemoteIndex(connection, owned, alias, entry.json<AliasRecord>(), watcher, { timeoutMs, partial });
    } catch (error) {
      if (owned) await connection.close();
      throw error;
    }
  }

  get alias(): string {
    return this.#alias;
  }
  /** The version searches go to now. */
  get version(): ServedVersion {
    return this.#current();
  }
  get dimension(): number {
    return this.#current().dimension;
  }
  get metric(): Metric {
    return this.#current().metric;
  }
  get ntotal(): number {
    return this.#current().shards.reduce((sum, s) => sum + s.ntotal, 0);
  }

  #current(): ServedVersion {
    if (this.#closed) throw new FaissError(`RemoteIndex '${this.#alias}' is closed`, 'ERR_FAISS_DISPOSED');
    if (!this.#live) throw new FaissError(`alias '${this.#alias}' names no published index`, 'ERR_FAISS_NO_ALIAS');
    return this.#live;
  }

  async search(queries: Float32Array, k: number, options?: RemoteSearchOptions): Promise<RemoteSearchResult> {
    const bag = expectOptions<RemoteSearchOptions>(options, 'options', SEARCH_KEYS);
    const kk = expectInteger(k, 'k', 1, MAX_K);
    const timeoutMs = bag.timeoutMs === undefined ? this.#timeoutMs : expectInteger(bag.timeoutMs, 'timeoutMs', 1, MAX_TIMEOUT_MS);
    const partial = bag.partial === undefined ? this.#partial : expectOneOf(bag.partial, 'partial', PARTIAL);
    const forwarded: Forwarded = { options: {}, filter: filterArgs(bag.filter) };
    for (const name of OPTION_NAMES) {
      if (bag[name] !== undefined) forwarded.options[name] = expectInteger(bag[name], name, 0, Number.MAX_SAFE_INTEGER);
    }
    const deadline = performance.now() + timeoutMs;
    return withCallerStack(this.#search(queries, kk, forwarded, deadline, partial), this.search);
  }

  async #search(queries: Float32Array, k: number, forwarded: Forwarded, deadline: number, partial: PartialResults): Promise<RemoteSearchResult> {
    for (;;) {
      const pinned = this.#current();
      const checked = expectVectors(queries, pinned.dimension, 'queries');
      const n = checked.length / pinned.dimension;
      const outcomes = await Promise.all(pinned.shards.map(({ shard }) => this.#searchShard(pinned, shard, checked, n, k, forwarded, deadline)));
      const missing = outcomes.filter((o): o is Extract<Outcome, { missing: string }> => 'missing' in o);
      // The alias moved and the nodes dropped the version this search pinned: run it again, whole, on the new one.
      if (missing.some((o) => o.noResponders) && this.#live && this.#live.buildId !== pinned.buildId && performance.now() < deadline) continue;
      if (missing.length > 0 && partial === 'error') {
        throw new FaissError(
          `RemoteIndex '${this.#alias}' (build '${pinned.buildId}'): ${missing.length} of ${pinned.shards.length} shards did not answer: ${missing
            .map((o) => `shard ${o.shard} (${o.missing})`)
            .join(', ')}`,
          'ERR_FAISS_SHARDS_UNAVAILABLE',
        );
      }
      const answered = outcomes.filter((o): o is Extract<Outcome, { result: SearchResult }> => 'result' in o);
      const total = pinned.shards.reduce((sum, s) => sum + s.ntotal, 0);
      const covered = pinned.shards.filter((s) => answered.some((o) => o.shard === s.shard)).reduce((sum, s) => sum + s.ntotal, 0);
      const merged = mergeTopK(
        answered.map((o) => o.result),
        n,
        k,
        pinned.metric,
      );
      const coverage = total > 0 ? covered / total : answered.length / pinned.shards.length;
      return { ...merged, coverage, buildId: pinned.buildId };
    }
  }

  /** One shard's top-k for all n queries: the batch split under max_payload, each part retried on another replica. */
  async #searchShard(
    version: ServedVersion,
    shard: number,
    queries: Float32Array,
    n: number,
    k: number,
    forwarded: Forwarded,
    deadline: number,
  ): Promise<Outcome> {
    const d = version.dimension;
    const perMessage = rowsPerMessage(this.#connection.info?.max_payload ?? 1048576, d, k, forwarded.filter[1]?.length ?? 0);
    const subject = subjects.shard(version.buildId, shard);
    const parts: Promise<SearchResult>[] = [];
    for (let start = 0; start < n; start += perMessage) {
      const rows = Math.min(perMessage, n - start);
      parts.push(this.#request(subject, queries.subarray(start * d, (start + rows) * d), rows, d, k, forwarded, deadline));
    }
    try {
      const results = await Promise.all(parts);
      if (results.length === 1) return { shard, result: results[0] };
      const labels = new BigInt64Array(n * k);
      const distances = new Float32Array(n * k);
      let at = 0;
      for (const part of results) {
        labels.set(part.labels, at);
        distances.set(part.distances, at);
        at += part.labels.length;
      }
      return { shard, result: { labels, distances } };
    } catch (error) {
      if (error instanceof Unanswered) return { shard, missing: error.message, noResponders: error.noResponders };
      throw error;
    }
  }

  async #request(subject: string, queries: Float32Array, rows: number, dimension: number, k: number, forwarded: Forwarded, deadline: number): Promise<SearchResult> {
    let why = '';
    let noResponders = false;
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const left = deadline - performance.now();
      if (left <= 1) break;
      // Spread the budget over the tries left, so a request lost with a dead replica still leaves time for another.
      const timeout = Math.max(1, Math.floor(left / (TRIES - attempt)));
      const payload = encodeRequest({ k, rows, dimension, timeoutMs: timeout, options: forwarded.options, filter: forwarded.filter, queries });
      try {
        const reply = await this.#connection.request(subject, payload, { timeout });
        return decodeReply(reply.data, rows, k);
      } catch (error) {
        if (isNoResponders(error)) {
          why = 'no search node serves it';
          noResponders = true;
          await new Promise((resolve) => setTimeout(resolve, Math.min(NO_RESPONDERS_BACKOFF_MS, Math.max(0, deadline - performance.now()))));
        } else if (isTimeout(error)) {
          why = `no answer within ${timeout} ms`;
          noResponders = false;
        } else throw error;
      }
    }
    throw new Unanswered(why || 'deadline passed before it was asked', noResponders);
  }

  /** The status of every search node of this alias: shards, versions, queries, latency. */
  status(maxWaitMs = 250): Promise<SearchNodeStatus[]> {
    return collectStatus(this.#connection, this.#alias, maxWaitMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.stop();
    if (this.#owned) await this.#connection.close();
  }
}

class Unanswered extends Error {
  constructor(
    message: string,
    readonly noResponders: boolean,
  ) {
    super(message);
  }
}
