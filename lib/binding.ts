// Loads the compiled addon (a local build when there is one, else the prebuilt
// binary) and hands it the JS error class it should construct.
import { FaissError } from './errors';
import type { Metric } from './metric';

export interface FaissInfo {
  /** The linked Faiss release, e.g. '1.15.0'. */
  version: string;
  /** The SIMD level Faiss dispatches to, as Faiss names it: 'AVX2', 'AVX512', 'ARM_NEON', 'ARM_SVE', 'NONE'... */
  simdLevel: string;
  /** Faiss's own compile options string. */
  compileOptions: string;
  /** Largest count a file may make Faiss's reader loop over (nlist, hash sizes, chain lengths). */
  deserializationLoopLimit: number;
  /** Largest single array, in bytes, a file may make Faiss's reader allocate (this machine's memory). */
  deserializationByteLimit: number;
}

export interface NativeSearchResult {
  distances: Float32Array;
  labels: BigInt64Array;
}

/** A native async search: a Promise from the pool, or the result of a search run inline. */
export type NativeSearchOutcome = NativeSearchResult | Promise<NativeSearchResult>;

export interface NativeRangeResult {
  lims: Uint32Array;
  distances: Float32Array;
  labels: BigInt64Array;
}

/** An IVF index's layout; m and nbits are 0 unless it is an IVF-PQ. */
export interface NativeIvfLayout {
  nlist: number;
  m: number;
  nbits: number;
  fastScan: boolean;
  refine: 'none' | 'flat' | 'sq8';
  directMap: boolean;
}

export interface NativeIndex {
  readonly ntotal: number;
  readonly dimension: number;
  readonly metric: Metric;
  readonly isTrained: boolean;
  readonly disposed: boolean;
  readonly memoryBytes: number;
  readonly readOnly: boolean;
  readonly description: string;
  readonly indexType: string;
  readonly searchParameters: string[];
  /** The stored values in search-option slots; -1 where the index has no such setting. */
  readonly searchDefaults: Float64Array;
  /** Undefined unless the index is an IVF (beneath id maps, transforms and re-ranking). */
  readonly ivf: NativeIvfLayout | undefined;
  trainSync(vectors: Float32Array, threads: number): void;
  train(vectors: Float32Array, threads: number): Promise<void>;
  addSync(vectors: Float32Array, ids: BigInt64Array | undefined, threads: number): void;
  add(vectors: Float32Array, ids: BigInt64Array | undefined, threads: number): Promise<void>;
  searchSync(queries: Float32Array, k: number, ...rest: NativeSearchArgs): NativeSearchResult;
  search(queries: Float32Array, k: number, ...rest: NativeSearchArgs): NativeSearchOutcome;
  rangeSearchSync(queries: Float32Array, radius: number, ...rest: NativeSearchArgs): NativeRangeResult;
  rangeSearch(queries: Float32Array, radius: number, ...rest: NativeSearchArgs): Promise<NativeRangeResult>;
  removeIdsSync(ids: BigInt64Array): number;
  removeIds(ids: BigInt64Array): Promise<number>;
  reconstructSync(id: bigint | number): Float32Array;
  reconstruct(id: bigint | number): Promise<Float32Array>;
  mergeFromSync(other: NativeIndex): void;
  mergeFrom(other: NativeIndex): Promise<void>;
  resetSync(): void;
  reset(): Promise<void>;
  setSearchDefaultsSync(options: Float64Array): void;
  setSearchDefaults(options: Float64Array): Promise<void>;
  writeSync(path: string, durable?: boolean): void;
  write(path: string, durable?: boolean): Promise<void>;
  toBuffer(): Buffer;
  dispose(): void;
}

/** options (6 numeric slots, -1 unset), threads, filter mode, filter ids. */
type NativeSearchArgs = [options: Float64Array | undefined, threads: number, filterMode: number, filterIds: BigInt64Array | undefined];

/** 'ivfpq': accept only what IndexIVFPQ writes; 'trusted': types the file check does not know go to Faiss unchecked. */
type NativeGrammar = 'any' | 'ivfpq' | 'trusted';

interface NativeIndexClass {
  new (dimension: number, description: string, metric: Metric, directMap?: boolean): NativeIndex;
  readSync(path: string, mmap: boolean, precomputeTable?: boolean, grammar?: NativeGrammar): NativeIndex;
  read(path: string, mmap: boolean, precomputeTable?: boolean, grammar?: NativeGrammar): Promise<NativeIndex>;
  fromBuffer(buffer: Uint8Array | ArrayBuffer, grammar?: NativeGrammar): NativeIndex;
  mergeOnDiskSync(shardPaths: string[], dataPath: string, indexPath: string): NativeIndex;
  mergeOnDisk(shardPaths: string[], dataPath: string, indexPath: string): Promise<NativeIndex>;
}

export interface NativeMemoryUsage {
  /** Bytes of the C heap in use (every malloc arena plus mmapped blocks): Faiss's indexes, buffers and tables. */
  allocatedBytes: number;
  /** Bytes the C heap holds from the system, in use or free for reuse. */
  retainedBytes: number;
}

export interface Binding {
  NativeIndex: NativeIndexClass;
  setErrorClass(errorClass: typeof FaissError): void;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  setInlineSearchBudget(microseconds: number): void;
  getInlineSearchBudget(): number;
  hardwareThreads(): number;
  faissInfo(): FaissInfo;
  setSimdLevel(level: string): void;
  nativeMemoryUsage(): NativeMemoryUsage | undefined;
}

// OpenMP threads that spin while waiting cost little on an idle machine but,
// on a loaded server (other processes, the libuv pool), a spinning team can
// make training several times slower. libgomp reads this once, when the addon
// loads it; an explicit setting from the user wins.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';

/** Loads one binary; undefined when the file is not there. */
function loadIfPresent(load: () => unknown): Binding | undefined {
  try {
    return load() as Binding;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    return undefined;
  }
}

/**
 * The addon, from literal paths so that bundlers and file tracers (Next.js's
 * output tracing, webpack, esbuild's metafile) see the binaries: a local
 * build first, as node-gyp-build would pick it (unless PREBUILDS_ONLY=1),
 * then the prebuilt binary for this CPU.
 */
function loadAddon(): Binding {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const local = process.env.PREBUILDS_ONLY ? undefined : loadIfPresent(() => require('../build/Release/faiss_native.node'));
  const addon =
    local ??
    (process.platform !== 'linux'
      ? undefined
      : process.arch === 'x64'
        ? loadIfPresent(() => require('../prebuilds/linux-x64/faiss-native.glibc.node'))
        : process.arch === 'arm64'
          ? loadIfPresent(() => require('../prebuilds/linux-arm64/faiss-native.glibc.node'))
          : undefined);
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (addon) return addon;
  throw new Error(
    `faiss-native found no binary for ${process.platform}-${process.arch}: no prebuilt one fits and it was not built from ` +
      'source (reinstall without --ignore-scripts to build it; see the README, "Install")',
  );
}

// Faiss reads FAISS_SIMD_LEVEL while its library loads, and an unknown name there
// aborts the process (a level the CPU lacks crashes it later). Hidden from the
// load, the variable is checked and applied afterwards, with a clear error.
const simdLevel = process.env.FAISS_SIMD_LEVEL;
delete process.env.FAISS_SIMD_LEVEL;
let loaded: Binding;
try {
  loaded = loadAddon();
} finally {
  if (simdLevel !== undefined) process.env.FAISS_SIMD_LEVEL = simdLevel;
}
export const binding = loaded;
binding.setErrorClass(FaissError);
// An empty value means "not set", as for most variables.
if (simdLevel) binding.setSimdLevel(simdLevel);
