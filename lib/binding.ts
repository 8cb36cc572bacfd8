// Loads the compiled addon (a prebuild when one matches, else the local build)
// and hands it the JS error class it should construct.
import * as path from 'node:path';
import { FaissError } from './errors';
import type { Metric } from './metric';

export interface KernelInfo {
  /** Instruction set of the coarse step: 'avx2', 'sse2', 'neon' or 'scalar'. */
  coarse: string;
  /** Whether Faiss's PQ-table loops are replaced (x86-64 builds). */
  pqTablesSubstituted: boolean;
  /** Inputs on which the replacements were compared with Faiss's own loops. */
  pqTableCases: number;
  /** How many of them differed in any bit (0 expected). */
  pqTableMismatches: number;
}

export interface NativeSearchResult {
  distances: Float32Array;
  labels: BigInt64Array;
}

export interface NativeIndexIVFPQ {
  readonly ntotal: number;
  readonly dimension: number;
  readonly nlist: number;
  readonly m: number;
  readonly nbits: number;
  readonly metric: Metric;
  readonly isTrained: boolean;
  readonly disposed: boolean;
  readonly memoryBytes: number;
  readonly directMap: boolean;
  readonly readOnly: boolean;
  readonly refine: 'none' | 'flat' | 'sq8';
  readonly kFactor: number;
  nprobe: number;
  trainSync(vectors: Float32Array, threads?: number): void;
  train(vectors: Float32Array, threads?: number): Promise<void>;
  addSync(vectors: Float32Array, ids: BigInt64Array | undefined, threads?: number): void;
  add(vectors: Float32Array, ids: BigInt64Array | undefined, threads?: number): Promise<void>;
  searchSync(queries: Float32Array, k: number, nprobe: number, threads: number, kFactor: number): NativeSearchResult;
  search(queries: Float32Array, k: number, nprobe: number, threads: number, kFactor: number): Promise<NativeSearchResult>;
  writeSync(path: string): void;
  write(path: string): Promise<void>;
  toBuffer(): Buffer;
  removeIdsSync(ids: BigInt64Array): number;
  removeIds(ids: BigInt64Array): Promise<number>;
  reconstructSync(id: bigint | number): Float32Array;
  reconstruct(id: bigint | number): Promise<Float32Array>;
  rangeSearchSync(queries: Float32Array, radius: number, nprobe: number, threads: number): NativeRangeResult;
  rangeSearch(queries: Float32Array, radius: number, nprobe: number, threads: number): Promise<NativeRangeResult>;
  mergeFromSync(other: NativeIndexIVFPQ): void;
  mergeFrom(other: NativeIndexIVFPQ): Promise<void>;
  dispose(): void;
}

export interface NativeRangeResult {
  lims: Uint32Array;
  distances: Float32Array;
  labels: BigInt64Array;
}

interface NativeIndexIVFPQClass {
  new (
    dimension: number,
    nlist: number,
    m: number,
    nbits: number,
    metric: Metric,
    directMap: boolean,
    refine: 'none' | 'flat' | 'sq8',
    kFactor: number,
  ): NativeIndexIVFPQ;
  readSync(path: string, mmap: boolean, precomputeTable: boolean): NativeIndexIVFPQ;
  read(path: string, mmap: boolean, precomputeTable: boolean): Promise<NativeIndexIVFPQ>;
  fromBuffer(buffer: Uint8Array | ArrayBuffer): NativeIndexIVFPQ;
  mergeOnDiskSync(shardPaths: string[], dataPath: string, indexPath: string): NativeIndexIVFPQ;
  mergeOnDisk(shardPaths: string[], dataPath: string, indexPath: string): Promise<NativeIndexIVFPQ>;
}

export interface NativeIndexFlat {
  readonly ntotal: number;
  readonly dimension: number;
  readonly metric: Metric;
  readonly disposed: boolean;
  readonly memoryBytes: number;
  addSync(vectors: Float32Array, threads?: number): void;
  add(vectors: Float32Array, threads?: number): Promise<void>;
  searchSync(queries: Float32Array, k: number, threads?: number): NativeSearchResult;
  search(queries: Float32Array, k: number, threads?: number): Promise<NativeSearchResult>;
  dispose(): void;
}

export interface Binding {
  NativeIndexIVFPQ: NativeIndexIVFPQClass;
  NativeIndexFlat: new (dimension: number, metric: Metric) => NativeIndexFlat;
  setErrorClass(errorClass: typeof FaissError): void;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  hardwareThreads(): number;
  kernelInfo(): KernelInfo;
}

// OpenMP threads that spin while waiting cost little on an idle machine but,
// on a loaded server (other processes, the libuv pool), a spinning team can
// make training several times slower. libgomp reads this once, when the addon
// loads it; an explicit setting from the user wins.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (root: string) => unknown;

export const binding = load(path.join(__dirname, '..')) as Binding;
binding.setErrorClass(FaissError);
