import { durableOption, type WriteOptions } from './write-options';
import { binding, type NativeIndex, type NativeIvfLayout } from './binding';
import type { BuildOptions } from './build';
import { SearchCoalescer } from './coalescer';
import { settled, withCallerStack } from './errors';
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

import { METRICS, type Metric } from './metric';

export interface IndexIVFPQOptions {
  /** Vector length. */
  dimension: number;
  /** Number of inverted lists (coarse centroids). */
  nlist: number;
  /** Number of PQ sub-quantizers; must divide `dimension`. Code size is m·nbits/8 bytes. */
  m: number;
  /** Bits per sub-quantizer code, 1..8. Default 8. */
  nbits?: number;
  /** Default 'l2' (squared L2 distances). 'ip': inner product. 'cosine': cosine similarity. */
  metric?: Metric;
  /** Keep an id → position map so reconstruct() works (costs ~16 bytes per vector). Default false. */
  directMap?: boolean;
  /** Merge concurrent search() calls into batched native calls (see README). Default true. */
  coalesce?: boolean;
  /**
   * Keep a second copy of each vector to re-rank the top k × kFactor PQ
   * candidates: 'flat' (4·dimension bytes per vector, exact) or 'sq8'
   * (dimension bytes). Lifts the recall cap of the PQ code. Default 'none'.
   */
  refine?: Refine;
  /** Candidates re-ranked per result with refine. Default 4. */
  kFactor?: number;
  /**
   * 4-bit codes (nbits: 4) laid out in blocks of 32 and scored from SIMD
   * registers (Faiss's IndexIVFPQFastScan): the same bytes per vector as 8-bit
   * codes with m/2 sub-quantizers, scanned several times faster. Pair with
   * refine for high recall. Default false.
   */
  fastScan?: boolean;
}

export type Refine = 'none' | 'flat' | 'sq8';
const REFINES: readonly Refine[] = ['none', 'flat', 'sq8'];

export interface ReadOptions {
  /** Map the inverted lists from the file instead of loading them: read-only, little RAM. */
  mmap?: boolean;
  /**
   * Build Faiss's L2 search table (nlist·m·2^nbits floats) on load. Default
   * true; false saves that memory for an index that is only added to and
   * written (e.g. a shard being built), at the cost of slower searches.
   */
  precomputeTable?: boolean;
}

export interface RangeSearchOptions {
  nprobe?: number;
  threads?: number;
}

export interface RangeSearchResult {
  /** n + 1 offsets: query i's results are at lims[i] .. lims[i+1]-1. */
  lims: Uint32Array;
  /** Unsorted within a query. */
  distances: Float32Array;
  labels: BigInt64Array;
}

export interface SearchOptions {
  /** Inverted lists to visit for this call only, 1..nlist; the index default when omitted. */
  nprobe?: number;
  /** With refine: candidates re-ranked per result for this call only. */
  kFactor?: number;
  /** OpenMP threads for this call; by default a shared budget (see setNumThreads). */
  threads?: number;
}


const MAX_DIMENSION = 65536;
export const MAX_NLIST = 2 ** 31;
const CONSTRUCTOR_KEYS = ['dimension', 'nlist', 'm', 'nbits', 'metric', 'directMap', 'coalesce', 'refine', 'kFactor', 'fastScan'] as const;
const READ_KEYS = ['mmap', 'precomputeTable'] as const;
const SEARCH_KEYS = ['nprobe', 'threads', 'kFactor'] as const;
const RANGE_KEYS = ['nprobe', 'threads'] as const;
const MAX_K_FACTOR = 1024;
const WORK_KEYS = ['threads'] as const;

function readOptions(options: unknown): [mmap: boolean, precomputeTable: boolean] {
  const { mmap, precomputeTable } = expectOptions<ReadOptions>(options, 'options', READ_KEYS);
  return [
    mmap === undefined ? false : expectBoolean(mmap, 'mmap'),
    precomputeTable === undefined ? true : expectBoolean(precomputeTable, 'precomputeTable'),
  ];
}

function expectId(id: unknown): bigint | number {
  if (typeof id === 'bigint') {
    if (id < 0n || id >= 2n ** 63n) fail('range', 'a non-negative 64-bit id', 'id', id);
    return id;
  }
  return expectInteger(id, 'id', 0, Number.MAX_SAFE_INTEGER);
}

type NativeArgs = [options: Float64Array, threads: number];
// The native search options' slots (see any_index_wrap.cc): nprobe first, kFactor last.
const NPROBE_SLOT = 0;
const K_FACTOR_SLOT = 5;
const SLOT_COUNT = 6;

function slots(nprobe: number, kFactor: number): Float64Array {
  const out = new Float64Array(SLOT_COUNT).fill(-1);
  out[NPROBE_SLOT] = nprobe;
  if (kFactor > 0) out[K_FACTOR_SLOT] = kFactor;
  return out;
}

/** The Faiss factory string of an IVF-PQ with these settings (cosine is added natively, around it). */
function factoryString(nlist: number, m: number, nbits: number, fastScan: boolean, refine: Refine): string {
  const codes = fastScan ? `PQ${m}x4fs` : `PQ${m}x${nbits}np`; // np: no polysemous training, as IndexIVFPQ defaults
  const rerank = refine === 'flat' ? ',Refine(Flat)' : refine === 'sq8' ? ',Refine(SQ8)' : '';
  return `IVF${nlist},${codes}${rerank}`;
}

// Set only while IndexIVFPQ wraps a native index that was read from disk.
let adopting: NativeIndex | undefined;

/**
 * A Faiss IndexIVFPQ: the one native index class (the engine of Index) made
 * and read as an IVF-PQ. Blocking methods end in `Sync`; the plain names
 * return Promises and run on the libuv thread pool. Operations on one index
 * take effect in call order; searches run concurrently with each other.
 */
export class IndexIVFPQ {
  readonly #native: NativeIndex;
  readonly #layout: NativeIvfLayout;
  readonly #kFactor: number;
  readonly #coalescer: SearchCoalescer<NativeArgs>;
  #coalesce = true;
  // Searches pass nprobe explicitly, so a new value applies at once; the
  // index itself (what write() saves) learns it before the next save.
  #nprobe: number;
  #savedNprobe: number;
  // The options array of the last (nprobe, kFactor) pair: never mutated, so calls may share it.
  #slots: [key: string, slots: Float64Array] = ['', new Float64Array(0)];

  constructor(options: IndexIVFPQOptions) {
    let native = adopting;
    if (!native) {
      const bag = expectOptions<IndexIVFPQOptions>(options, 'options', CONSTRUCTOR_KEYS);
      if (options === undefined) fail('type', 'an options object', 'options', options);
      const dimension = expectInteger(bag.dimension, 'dimension', 1, MAX_DIMENSION);
      const nlist = expectInteger(bag.nlist, 'nlist', 1, MAX_NLIST);
      const m = expectInteger(bag.m, 'm', 1, dimension);
      if (dimension % m !== 0) {
        throw new RangeError(`Expected a divisor of dimension (${dimension}) for m but received ${m}`);
      }
      const nbits = bag.nbits === undefined ? 8 : expectInteger(bag.nbits, 'nbits', 1, 8);
      const metric = bag.metric === undefined ? 'l2' : expectOneOf(bag.metric, 'metric', METRICS);
      const directMap = bag.directMap === undefined ? false : expectBoolean(bag.directMap, 'directMap');
      const refine = bag.refine === undefined ? 'none' : expectOneOf(bag.refine, 'refine', REFINES);
      const kFactor = bag.kFactor === undefined ? 4 : expectInteger(bag.kFactor, 'kFactor', 1, MAX_K_FACTOR);
      const fastScan = bag.fastScan === undefined ? false : expectBoolean(bag.fastScan, 'fastScan');
      if (refine !== 'none' && directMap) {
        throw new TypeError("Expected directMap to be unset with refine: a refined index reconstructs from its refine copy");
      }
      if (fastScan && nbits !== 4) {
        throw new RangeError(`Expected nbits 4 with fastScan (FastScan codes are 4-bit) but received ${nbits}`);
      }
      if (fastScan && directMap) {
        throw new TypeError('Expected directMap to be unset with fastScan: FastScan lists keep codes in blocks, without a direct map');
      }
      native = new binding.NativeIndex(dimension, factoryString(nlist, m, nbits, fastScan, refine), metric, directMap);
      if (refine !== 'none') native.setSearchDefaultsSync(slots(-1, kFactor));
      if (bag.coalesce !== undefined) this.#coalesce = expectBoolean(bag.coalesce, 'coalesce');
    }
    this.#native = native;
    this.#layout = native.ivf as NativeIvfLayout;
    const stored = native.searchDefaults;
    this.#kFactor = Math.max(0, stored[K_FACTOR_SLOT]);
    this.#nprobe = this.#savedNprobe = stored[NPROBE_SLOT];
    this.#coalescer = new SearchCoalescer<NativeArgs>(
      (q, k, [options, threads]) => native.search(q, k, options, threads, 0, undefined),
      ([options, threads]) => `${options.join()}/${threads}`,
      native.dimension,
    );
  }

  /** Whether concurrent search() calls are merged into batched native calls. */
  get coalesceSearches(): boolean {
    return this.#coalesce;
  }
  set coalesceSearches(enabled: boolean) {
    this.#coalesce = expectBoolean(enabled, 'coalesceSearches');
    if (!enabled) this.#coalescer.flush();
  }

  static #adopt(native: NativeIndex): IndexIVFPQ {
    adopting = native;
    try {
      return new IndexIVFPQ(undefined as unknown as IndexIVFPQOptions);
    } finally {
      adopting = undefined;
    }
  }

  /** Reads an index in Faiss's binary format (as written by writeSync or by Python faiss). */
  static readSync(path: string, options?: ReadOptions): IndexIVFPQ {
    const [mmap, precomputeTable] = readOptions(options);
    return IndexIVFPQ.#adopt(binding.NativeIndex.readSync(expectString(path, 'path'), mmap, precomputeTable, 'ivfpq'));
  }

  static async read(path: string, options?: ReadOptions): Promise<IndexIVFPQ> {
    const [mmap, precomputeTable] = readOptions(options);
    const native = await withCallerStack(
      binding.NativeIndex.read(expectString(path, 'path'), mmap, precomputeTable, 'ivfpq'),
      IndexIVFPQ.read,
    );
    return IndexIVFPQ.#adopt(native);
  }

  /** Reads the bytes toBuffer() (or writeSync) produced, straight from the buffer. */
  static fromBuffer(buffer: Uint8Array | ArrayBuffer): IndexIVFPQ {
    return IndexIVFPQ.#adopt(binding.NativeIndex.fromBuffer(buffer, 'ivfpq'));
  }

  /**
   * Builds a tuned index in one call: recommended parameters, sampled
   * training, add, and the default nprobe measured on held-out vectors to meet
   * targetRecall (see buildIndex for `report` with the figures).
   */
  static async build(vectors: Float32Array, options: BuildOptions): Promise<IndexIVFPQ> {
    const { buildIndex } = await import('./build');
    return (await buildIndex(vectors, options)).index;
  }

  /** @internal Used by mergeOnDisk. */
  static fromNative(native: NativeIndex): IndexIVFPQ {
    return IndexIVFPQ.#adopt(native);
  }

  get dimension(): number {
    return this.#native.dimension;
  }
  get nlist(): number {
    return this.#layout.nlist;
  }
  get m(): number {
    return this.#layout.m;
  }
  get nbits(): number {
    return this.#layout.nbits;
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
  /** Native bytes held by the index (codes, ids, centroids, tables). */
  get memoryBytes(): number {
    return this.#native.memoryBytes;
  }
  get disposed(): boolean {
    return this.#native.disposed;
  }
  /** Whether reconstruct() is available. */
  get directMap(): boolean {
    return this.#layout.directMap;
  }
  /** 'none', 'flat' or 'sq8': the second copy used to re-rank PQ candidates. */
  get refine(): Refine {
    return this.#layout.refine;
  }
  /** Default candidates re-ranked per result (0 without refine). */
  get kFactor(): number {
    return this.#kFactor;
  }
  /** Whether the codes are 4-bit FastScan blocks (Faiss IndexIVFPQFastScan). */
  get fastScan(): boolean {
    return this.#layout.fastScan;
  }
  /** True when the inverted lists are memory-mapped or on disk: searches only. */
  get readOnly(): boolean {
    return this.#native.readOnly;
  }

  /** Inverted lists visited per query by default; persisted by writeSync. */
  get nprobe(): number {
    return this.#nprobe;
  }
  set nprobe(nprobe: number) {
    this.setNprobe(nprobe);
  }
  setNprobe(nprobe: number): void {
    this.#nprobe = expectInteger(nprobe, 'nprobe', 1, this.#layout.nlist);
  }

  // Hands the index the current nprobe before a save; queued, so it lands before the write.
  #saveNprobe(sync: boolean): void {
    if (this.#nprobe === this.#savedNprobe) return;
    const defaults = slots(this.#nprobe, 0);
    if (sync) this.#native.setSearchDefaultsSync(defaults);
    else this.#native.setSearchDefaults(defaults).catch(() => undefined); // the write reports the same failure
    this.#savedNprobe = this.#nprobe;
  }

  /** Trains the coarse quantizer and the PQ codebooks; needs at least max(nlist, 2^nbits) vectors. */
  trainSync(vectors: Float32Array, options?: WorkOptions): void {
    this.#coalescer.flush();
    this.#native.trainSync(this.#training(vectors), this.#threads(options));
  }
  async train(vectors: Float32Array, options?: WorkOptions): Promise<void> {
    this.#coalescer.flush();
    const threads = this.#threads(options);
    return withCallerStack(this.#native.train(this.#training(vectors), threads), this.train);
  }

  #training(vectors: unknown): Float32Array {
    const checked = this.#vectors(vectors, 'vectors');
    const rows = checked.length / this.#native.dimension;
    const minimum = Math.max(this.#layout.nlist, 2 ** this.#layout.nbits);
    // A trained index gets the native "already trained" error instead.
    if (rows < minimum && !this.#native.isTrained) {
      throw new RangeError(`Expected at least ${minimum} vectors (the larger of nlist and 2^nbits) for vectors but received ${rows}`);
    }
    return checked;
  }

  /** Adds vectors with ids ntotal .. ntotal + n - 1. */
  addSync(vectors: Float32Array, options?: WorkOptions): void {
    this.#coalescer.flush();
    this.#native.addSync(this.#vectors(vectors, 'vectors'), undefined, this.#threads(options));
  }
  async add(vectors: Float32Array, options?: WorkOptions): Promise<void> {
    this.#coalescer.flush();
    const threads = this.#threads(options);
    return withCallerStack(this.#native.add(this.#vectors(vectors, 'vectors'), undefined, threads), this.add);
  }

  /** Adds vectors with caller-chosen non-negative 64-bit ids (one per vector). */
  addWithIdsSync(vectors: Float32Array, ids: BigInt64Array, options?: WorkOptions): void {
    this.#coalescer.flush();
    const checked = this.#vectors(vectors, 'vectors');
    this.#native.addSync(checked, expectIdsFor(ids, checked, this.#native.dimension), this.#threads(options));
  }
  async addWithIds(vectors: Float32Array, ids: BigInt64Array, options?: WorkOptions): Promise<void> {
    this.#coalescer.flush();
    const checked = this.#vectors(vectors, 'vectors');
    const threads = this.#threads(options);
    return withCallerStack(this.#native.add(checked, expectIdsFor(ids, checked, this.#native.dimension), threads), this.addWithIds);
  }

  /** k nearest neighbours of each query; results are n × k, row-major. */
  searchSync(queries: Float32Array, k: number, options?: SearchOptions): SearchResult {
    const [checked, kk, slots, threads] = this.#searchArgs(queries, k, options);
    return this.#native.searchSync(checked, kk, slots, threads, 0, undefined);
  }
  search(queries: Float32Array, k: number, options?: SearchOptions): Promise<SearchResult> {
    try {
      const [checked, kk, slots, threads] = this.#searchArgs(queries, k, options);
      const outcome = this.#coalesce
        ? this.#coalescer.search(checked, kk, [slots, threads])
        : this.#native.search(checked, kk, slots, threads, 0, undefined);
      return settled(outcome, this.search);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Writes Faiss's binary format atomically: a crash mid-save never leaves a partial file. */
  writeSync(path: string, options?: WriteOptions): void {
    this.#coalescer.flush();
    this.#saveNprobe(true);
    this.#native.writeSync(expectString(path, 'path'), durableOption(options));
  }
  async write(path: string, options?: WriteOptions): Promise<void> {
    this.#coalescer.flush();
    const file = expectString(path, 'path');
    const durable = durableOption(options);
    this.#saveNprobe(false);
    return withCallerStack(this.#native.write(file, durable), this.write);
  }

  /** The bytes writeSync would write, in a Buffer that owns them (no copy). */
  toBuffer(): Buffer {
    this.#coalescer.flush();
    this.#saveNprobe(true);
    return this.#native.toBuffer();
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

  /** The stored (PQ-approximated) vector for an id; needs `directMap: true`. Cosine vectors come back normalised. */
  reconstructSync(id: bigint | number): Float32Array {
    return this.#native.reconstructSync(expectId(id));
  }
  async reconstruct(id: bigint | number): Promise<Float32Array> {
    return withCallerStack(this.#native.reconstruct(expectId(id)), this.reconstruct);
  }

  /**
   * Every stored vector within `radius` of each query: squared L2 distance
   * below it for 'l2', similarity above it for 'ip' and 'cosine'.
   */
  rangeSearchSync(queries: Float32Array, radius: number, options?: RangeSearchOptions): RangeSearchResult {
    const [checked, r, slots, threads] = this.#rangeArgs(queries, radius, options);
    return this.#native.rangeSearchSync(checked, r, slots, threads, 0, undefined);
  }
  async rangeSearch(queries: Float32Array, radius: number, options?: RangeSearchOptions): Promise<RangeSearchResult> {
    const [checked, r, slots, threads] = this.#rangeArgs(queries, radius, options);
    return withCallerStack(this.#native.rangeSearch(checked, r, slots, threads, 0, undefined), this.rangeSearch);
  }

  /**
   * Moves every vector of `other` into this index (Faiss merge_from); `other`
   * is left empty. Both must come from the same trained index.
   */
  mergeFromSync(other: IndexIVFPQ): void {
    this.#coalescer.flush();
    this.#native.mergeFromSync(IndexIVFPQ.#nativeOf(other));
  }
  async mergeFrom(other: IndexIVFPQ): Promise<void> {
    this.#coalescer.flush();
    return withCallerStack(this.#native.mergeFrom(IndexIVFPQ.#nativeOf(other)), this.mergeFrom);
  }

  static #nativeOf(other: unknown): NativeIndex {
    if (!(other instanceof IndexIVFPQ)) fail('type', 'an IndexIVFPQ', 'other', other);
    other.#coalescer.flush();
    return other.#native;
  }

  #rangeArgs(queries: unknown, radius: unknown, options: unknown): [Float32Array, number, Float64Array, number] {
    const checked = this.#vectors(queries, 'queries');
    if (typeof radius !== 'number') fail('type', 'a number', 'radius', radius);
    if (!Number.isFinite(radius)) fail('range', 'a finite number', 'radius', radius);
    const bag = expectOptions<RangeSearchOptions>(options, 'options', RANGE_KEYS);
    const nprobe = bag.nprobe === undefined ? this.#nprobe : expectInteger(bag.nprobe, 'nprobe', 1, this.#layout.nlist);
    return [checked, radius, this.#options(nprobe, 0), threadsOption(bag.threads)];
  }

  #options(nprobe: number, kFactor: number): Float64Array {
    const key = `${nprobe}/${kFactor}`;
    if (this.#slots[0] !== key) this.#slots = [key, slots(nprobe, kFactor)];
    return this.#slots[1];
  }

  /** Waits for operations already issued, then frees the native index. Idempotent. */
  dispose(): void {
    this.#coalescer.flush();
    this.#native.dispose();
  }

  #vectors(vectors: unknown, name: string): Float32Array {
    return expectVectors(vectors, this.#native.dimension, name);
  }

  #threads(options: unknown): number {
    return threadsOption(expectOptions<WorkOptions>(options, 'options', WORK_KEYS).threads);
  }

  #searchArgs(queries: unknown, k: unknown, options: unknown): [Float32Array, number, Float64Array, number] {
    const checked = this.#vectors(queries, 'queries');
    const kk = expectInteger(k, 'k', 1, MAX_K);
    const bag = expectOptions<SearchOptions>(options, 'options', SEARCH_KEYS);
    const nprobe = bag.nprobe === undefined ? this.#nprobe : expectInteger(bag.nprobe, 'nprobe', 1, this.#layout.nlist);
    const kFactor = bag.kFactor === undefined ? 0 : expectInteger(bag.kFactor, 'kFactor', 1, MAX_K_FACTOR);
    return [checked, kk, this.#options(nprobe, kFactor), threadsOption(bag.threads)];
  }
}
