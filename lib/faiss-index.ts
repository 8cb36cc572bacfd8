import { durableOption, type WriteOptions } from './write-options';
import { FILTER_NONE, expectIdBound, filterArgs, type IdFilter } from './id-filter';
import { binding, type NativeIndex } from './binding';
import { SearchCoalescer } from './coalescer';
import { settled, withCallerStack } from './errors';
import type { RangeSearchResult } from './index-ivfpq';
import type { IndexBuildOptions, IndexBuildReport } from './index-build';
import { METRICS, type Metric } from './metric';
import type { SearchResult, WorkOptions } from './results';
import {
  MAX_K,
  expectBigInt64Array,
  expectIdsFor,
  expectBoolean,
  expectInteger,
  expectOneOf,
  expectOptions,
  expectString,
  expectVectors,
  fail,
  threadsOption,
} from './validate';

export interface FromFactoryOptions {
  /** Default 'l2'. 'cosine': an L2 normalisation (IndexPreTransform) in front of the whole inner-product index. */
  metric?: Metric;
  /** Merge concurrent search() calls into batched native calls (see README). Default true. */
  coalesce?: boolean;
}

export type { IdFilter } from './id-filter';

export interface IndexSearchOptions {
  /** IVF: inverted lists visited. */
  nprobe?: number;
  /** IVF: stop after scanning this many codes per query (0: no limit). */
  maxCodes?: number;
  /** HNSW: size of the candidate list; larger is slower and finds more. */
  efSearch?: number;
  /** IVF with an HNSW coarse quantizer (IVF..._HNSW): its efSearch. */
  quantizerEfSearch?: number;
  /** Re-ranking (Refine(...), RFlat): candidates re-ranked per result. */
  kFactor?: number;
  /** RaBitQ: bits per query component (0: full precision, up to 8). */
  qb?: number;
  /** Only these ids (ids), all but these (exclude), or low <= id < high (range). */
  filter?: IdFilter;
  threads?: number;
}

export interface IndexReadOptions {
  /** Map the index's data from the file instead of loading it, where Faiss supports that: read-only, little RAM. */
  mmap?: boolean;
  /**
   * The file comes from a source you trust: index types faiss-native's file
   * check does not know yet are read by Faiss unchecked (types it knows are
   * still checked). A hostile file read this way can crash the process.
   */
  trusted?: boolean;
}

/** Options for Index.fromBuffer. */
export type IndexFromBufferOptions = Pick<IndexReadOptions, 'trusted'>;

type SearchOptionName = Exclude<keyof IndexSearchOptions, 'filter' | 'threads'>;
/** The numeric search options an index can store as its own defaults. */
export type SearchDefaults = Pick<IndexSearchOptions, SearchOptionName>;
const SEARCH_KEYS = ['nprobe', 'maxCodes', 'efSearch', 'quantizerEfSearch', 'kFactor', 'qb', 'filter', 'threads'] as const;
// Positions in the Float64Array handed to the native search; see any_index_wrap.cc.
const SLOTS: Record<SearchOptionName, [slot: number, min: number, max: number]> = {
  nprobe: [0, 1, 2 ** 31],
  efSearch: [1, 1, 2 ** 30],
  quantizerEfSearch: [2, 1, 2 ** 30],
  maxCodes: [3, 0, Number.MAX_SAFE_INTEGER],
  qb: [4, 0, 8],
  kFactor: [5, 1, 2 ** 20],
};
const MAX_DIMENSION = 65536;
const WORK_KEYS = ['threads'] as const;
const SLOT_COUNT = 6;

type NativeArgs = [options: Float64Array | undefined, threads: number, filterMode: number, filterIds: BigInt64Array | undefined];

// Set only while Index wraps a native index that was read or built elsewhere.
let adopting: NativeIndex | undefined;

/**
 * Any Faiss CPU index: built from a factory string (`'HNSW32'`,
 * `'IVF4096,PQ32x4fs,RFlat'`, `'OPQ16_128,IVF256,PQ16'`...) or read from a file
 * Faiss wrote. Blocking methods end in `Sync`; the plain names return Promises
 * and run on the libuv thread pool. Operations on one index take effect in call
 * order; searches run concurrently with each other. Ids are 64-bit: an index
 * type without ids of its own is wrapped in Faiss's IndexIDMap2.
 */
export class Index {
  readonly #native: NativeIndex;
  readonly #coalescer: SearchCoalescer<NativeArgs>;
  // Fixed by the index's structure: read once, not on every search.
  readonly #searchParameters: readonly string[];
  #coalesce = true;

  /** @internal Use Index.fromFactory, Index.read or Index.fromBuffer. */
  constructor(native: NativeIndex) {
    if (adopting !== native) throw new TypeError('Use Index.fromFactory, Index.read or Index.fromBuffer to make an Index');
    this.#native = native;
    this.#searchParameters = native.searchParameters;
    this.#coalescer = new SearchCoalescer<NativeArgs>(
      (q, k, args) => native.search(q, k, ...args),
      ([slots, threads]) => `${slots?.join() ?? ''}/${threads}`,
      native.dimension,
    );
  }

  static #adopt(native: NativeIndex): Index {
    adopting = native;
    try {
      return new Index(native);
    } finally {
      adopting = undefined;
    }
  }

  /** An empty index of the type a Faiss factory string describes; Faiss's own error when it rejects the string. */
  static fromFactory(dimension: number, description: string, options?: FromFactoryOptions): Index {
    const d = expectInteger(dimension, 'dimension', 1, MAX_DIMENSION);
    const text = expectString(description, 'description');
    const bag = expectOptions<FromFactoryOptions>(options, 'options', ['metric', 'coalesce']);
    const metric = bag.metric === undefined ? 'l2' : expectOneOf(bag.metric, 'metric', METRICS);
    const coalesce = bag.coalesce === undefined ? true : expectBoolean(bag.coalesce, 'coalesce');
    const index = Index.#adopt(new binding.NativeIndex(d, text, metric));
    index.#coalesce = coalesce;
    return index;
  }

  /**
   * Builds the index that answers fastest at options.targetRecall within
   * options.memoryBudgetBytes, chosen among HNSW, IVF-Flat, IVF-PQ, IVF-PQ
   * FastScan and RaBitQ (re-ranked) by measuring each on held-out vectors, with
   * its tuned search options stored; report says what was tried and why.
   */
  static async build(vectors: Float32Array, options: IndexBuildOptions): Promise<{ index: Index; report: IndexBuildReport }> {
    const { buildBestIndex } = await import('./index-build');
    return buildBestIndex(vectors, options);
  }

  /** Reads any index in Faiss's binary format (as written by write or by Python faiss). */
  static readSync(path: string, options?: IndexReadOptions): Index {
    const { mmap, grammar } = readOptions(options);
    return Index.#adopt(binding.NativeIndex.readSync(expectString(path, 'path'), mmap, true, grammar));
  }
  static async read(path: string, options?: IndexReadOptions): Promise<Index> {
    const { mmap, grammar } = readOptions(options);
    const reading = binding.NativeIndex.read(expectString(path, 'path'), mmap, true, grammar);
    return Index.#adopt(await withCallerStack(reading, Index.read));
  }
  /** Reads the bytes toBuffer() (or write) produced, straight from the buffer. */
  static fromBuffer(buffer: Uint8Array | ArrayBuffer, options?: IndexFromBufferOptions): Index {
    const { trusted } = expectOptions<IndexFromBufferOptions>(options, 'options', ['trusted']);
    return Index.#adopt(binding.NativeIndex.fromBuffer(buffer, grammarOf(trusted)));
  }

  get dimension(): number {
    return this.#native.dimension;
  }
  get metric(): Metric {
    return this.#native.metric;
  }
  get ntotal(): number {
    return this.#native.ntotal;
  }
  get isTrained(): boolean {
    return this.#native.isTrained;
  }
  /** The factory string it was made from; for a file, Faiss's reverse factory (or the class name). */
  get description(): string {
    return this.#native.description;
  }
  /** The Faiss class beneath id maps, transforms and re-ranking, e.g. 'IndexHNSWFlat'. */
  get indexType(): string {
    return this.#native.indexType;
  }
  /** The search options this index takes. */
  get searchParameters(): string[] {
    return this.#native.searchParameters;
  }
  /** Native bytes held by the index (codes, ids, graph links, centroids), estimated. */
  get memoryBytes(): number {
    return this.#native.memoryBytes;
  }
  get disposed(): boolean {
    return this.#native.disposed;
  }
  /** True when the data is memory-mapped or on disk: searches only. */
  get readOnly(): boolean {
    return this.#native.readOnly;
  }
  /**
   * The search settings stored in the index, used by searches that do not set
   * them: the options this index takes, with their current values.
   */
  get searchDefaults(): SearchDefaults {
    const stored = this.#native.searchDefaults;
    const out: SearchDefaults = {};
    for (const name of Object.keys(SLOTS) as SearchOptionName[]) {
      const value = stored[SLOTS[name][0]];
      if (value >= 0 && this.#searchParameters.includes(name)) out[name] = value;
    }
    return out;
  }
  /** Whether concurrent search() calls (without a filter) are merged into batched native calls. */
  get coalesceSearches(): boolean {
    return this.#coalesce;
  }
  set coalesceSearches(enabled: boolean) {
    this.#coalesce = expectBoolean(enabled, 'coalesceSearches');
    if (!enabled) this.#coalescer.flush();
  }

  trainSync(vectors: Float32Array, options?: WorkOptions): void {
    this.#coalescer.flush();
    this.#native.trainSync(this.#vectors(vectors, 'vectors'), this.#threads(options));
  }
  async train(vectors: Float32Array, options?: WorkOptions): Promise<void> {
    const threads = this.#threads(options);
    this.#coalescer.flush();
    return withCallerStack(this.#native.train(this.#vectors(vectors, 'vectors'), threads), this.train);
  }

  /** Adds vectors with ids ntotal .. ntotal + n - 1. */
  addSync(vectors: Float32Array, options?: WorkOptions): void {
    this.#coalescer.flush();
    this.#native.addSync(this.#vectors(vectors, 'vectors'), undefined, this.#threads(options));
  }
  async add(vectors: Float32Array, options?: WorkOptions): Promise<void> {
    const threads = this.#threads(options);
    this.#coalescer.flush();
    return withCallerStack(this.#native.add(this.#vectors(vectors, 'vectors'), undefined, threads), this.add);
  }

  /** Adds vectors with caller-chosen 64-bit ids (one per vector). */
  addWithIdsSync(vectors: Float32Array, ids: BigInt64Array, options?: WorkOptions): void {
    const checked = this.#vectors(vectors, 'vectors');
    this.#coalescer.flush();
    this.#native.addSync(checked, expectIdsFor(ids, checked, this.#native.dimension), this.#threads(options));
  }
  async addWithIds(vectors: Float32Array, ids: BigInt64Array, options?: WorkOptions): Promise<void> {
    const checked = this.#vectors(vectors, 'vectors');
    const threads = this.#threads(options);
    this.#coalescer.flush();
    return withCallerStack(this.#native.add(checked, expectIdsFor(ids, checked, this.#native.dimension), threads), this.addWithIds);
  }

  /** k nearest neighbours of each query; results are n × k, row-major, -1n where fewer were found. */
  searchSync(queries: Float32Array, k: number, options?: IndexSearchOptions): SearchResult {
    const checked = this.#vectors(queries, 'queries');
    return this.#native.searchSync(checked, expectInteger(k, 'k', 1, MAX_K), ...this.#options(options));
  }
  search(queries: Float32Array, k: number, options?: IndexSearchOptions): Promise<SearchResult> {
    try {
      const checked = this.#vectors(queries, 'queries');
      const kk = expectInteger(k, 'k', 1, MAX_K);
      const args = this.#options(options);
      // Filtered calls go alone: their id lists would have to match to share a batch.
      const outcome =
        this.#coalesce && args[2] === FILTER_NONE
          ? this.#coalescer.search(checked, kk, args)
          : this.#native.search(checked, kk, ...args);
      return settled(outcome, this.search);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Every stored vector within `radius` of each query: squared L2 distance
   * below it for 'l2', similarity above it for 'ip' and 'cosine'.
   */
  rangeSearchSync(queries: Float32Array, radius: number, options?: IndexSearchOptions): RangeSearchResult {
    const checked = this.#vectors(queries, 'queries');
    return this.#native.rangeSearchSync(checked, expectRadius(radius), ...this.#options(options));
  }
  async rangeSearch(queries: Float32Array, radius: number, options?: IndexSearchOptions): Promise<RangeSearchResult> {
    const checked = this.#vectors(queries, 'queries');
    const r = expectRadius(radius);
    return withCallerStack(this.#native.rangeSearch(checked, r, ...this.#options(options)), this.rangeSearch);
  }

  /** Removes the given ids; returns how many were present. */
  removeIdsSync(ids: BigInt64Array): number {
    this.#coalescer.flush();
    return this.#native.removeIdsSync(expectBigInt64Array(ids, 'ids'));
  }
  async removeIds(ids: BigInt64Array): Promise<number> {
    this.#coalescer.flush();
    return withCallerStack(this.#native.removeIds(expectBigInt64Array(ids, 'ids')), this.removeIds);
  }

  /** The stored (possibly compressed) vector for an id. */
  reconstructSync(id: bigint): Float32Array {
    return this.#native.reconstructSync(expectIdBound(id, 'id'));
  }
  async reconstruct(id: bigint): Promise<Float32Array> {
    return withCallerStack(this.#native.reconstruct(expectIdBound(id, 'id')), this.reconstruct);
  }

  /** Moves every vector of `other` (same type, trained alike) into this index; `other` is left empty. */
  mergeFromSync(other: Index): void {
    this.#coalescer.flush();
    this.#native.mergeFromSync(Index.#nativeOf(other));
  }
  async mergeFrom(other: Index): Promise<void> {
    this.#coalescer.flush();
    return withCallerStack(this.#native.mergeFrom(Index.#nativeOf(other)), this.mergeFrom);
  }

  /** Removes every vector; training is kept. */
  resetSync(): void {
    this.#coalescer.flush();
    this.#native.resetSync();
  }
  async reset(): Promise<void> {
    this.#coalescer.flush();
    return withCallerStack(this.#native.reset(), this.reset);
  }

  /**
   * Stores search options in the index as the values searches use when they
   * do not set them, and that write() saves where Faiss's format holds them
   * (nprobe, efSearch, quantizerEfSearch, kFactor, qb; maxCodes stays in memory).
   * Searches issued before take effect with the old values.
   */
  setSearchDefaultsSync(options: SearchDefaults): void {
    const slots = this.#defaults(options);
    this.#coalescer.flush();
    this.#native.setSearchDefaultsSync(slots);
  }
  async setSearchDefaults(options: SearchDefaults): Promise<void> {
    const slots = this.#defaults(options);
    this.#coalescer.flush();
    return withCallerStack(this.#native.setSearchDefaults(slots), this.setSearchDefaults);
  }

  /** Writes Faiss's binary format atomically: a crash mid-save never leaves a partial file. */
  writeSync(path: string, options?: WriteOptions): void {
    this.#coalescer.flush();
    this.#native.writeSync(expectString(path, 'path'), durableOption(options));
  }
  async write(path: string, options?: WriteOptions): Promise<void> {
    this.#coalescer.flush();
    return withCallerStack(this.#native.write(expectString(path, 'path'), durableOption(options)), this.write);
  }

  /** The bytes write would put in a file, in a Buffer that owns them (no copy). */
  toBuffer(): Buffer {
    this.#coalescer.flush();
    return this.#native.toBuffer();
  }

  /** Waits for operations already issued, then frees the native index. Idempotent. */
  dispose(): void {
    this.#coalescer.flush();
    this.#native.dispose();
  }

  static #nativeOf(other: unknown): NativeIndex {
    if (!(other instanceof Index)) fail('type', 'an Index', 'other', other);
    other.#coalescer.flush();
    return other.#native;
  }

  #vectors(vectors: unknown, name: string): Float32Array {
    return expectVectors(vectors, this.#native.dimension, name);
  }

  #threads(options: unknown): number {
    return threadsOption(expectOptions<WorkOptions>(options, 'options', WORK_KEYS).threads);
  }

  #options(options: unknown): NativeArgs {
    if (options === undefined) return [undefined, 0, FILTER_NONE, undefined];
    const bag = expectOptions<IndexSearchOptions>(options, 'options', SEARCH_KEYS);
    const [mode, ids] = filterArgs(bag.filter);
    return [this.#slots(bag), threadsOption(bag.threads), mode, ids];
  }

  #defaults(options: unknown): Float64Array {
    if (options === undefined) fail('type', 'an options object', 'options', options);
    const bag = expectOptions<SearchDefaults>(options, 'options', Object.keys(SLOTS));
    return this.#slots(bag) ?? new Float64Array(SLOT_COUNT).fill(-1);
  }

  // The numeric options in their native slots (-1: unset); undefined when none is set.
  #slots(bag: SearchDefaults): Float64Array | undefined {
    let slots: Float64Array | undefined;
    for (const name of Object.keys(SLOTS) as SearchOptionName[]) {
      const value = bag[name];
      if (value === undefined) continue;
      const takes = this.#searchParameters;
      if (!takes.includes(name)) {
        throw new RangeError(`${this.#native.indexType} does not take ${name}; its search options are ${takes.join(', ')}`);
      }
      const [slot, min, max] = SLOTS[name];
      slots ??= new Float64Array(SLOT_COUNT).fill(-1);
      slots[slot] = expectInteger(value, name, min, max);
    }
    return slots;
  }
}

function readOptions(options: unknown): { mmap: boolean; grammar: 'any' | 'trusted' } {
  const { mmap, trusted } = expectOptions<IndexReadOptions>(options, 'options', ['mmap', 'trusted']);
  return { mmap: mmap === undefined ? false : expectBoolean(mmap, 'mmap'), grammar: grammarOf(trusted) };
}

function grammarOf(trusted: unknown): 'any' | 'trusted' {
  return trusted !== undefined && expectBoolean(trusted, 'trusted') ? 'trusted' : 'any';
}

function expectRadius(radius: unknown): number {
  if (typeof radius !== 'number') fail('type', 'a number', 'radius', radius);
  if (!Number.isFinite(radius)) fail('range', 'a finite number', 'radius', radius);
  return radius;
}
