// Loads the compiled addon (a prebuild when one matches, else the local build)
// and hands it the JS error class it should construct.
import * as path from 'node:path';
import { FaissError } from './errors';

export type NativeMetric = 'l2' | 'ip' | 'cosine';

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
  readonly metric: NativeMetric;
  readonly isTrained: boolean;
  readonly disposed: boolean;
  readonly memoryBytes: number;
  nprobe: number;
  trainSync(vectors: Float32Array, threads?: number): void;
  train(vectors: Float32Array, threads?: number): Promise<void>;
  addSync(vectors: Float32Array, ids: BigInt64Array | undefined, threads?: number): void;
  add(vectors: Float32Array, ids: BigInt64Array | undefined, threads?: number): Promise<void>;
  searchSync(queries: Float32Array, k: number, nprobe: number, threads?: number): NativeSearchResult;
  search(queries: Float32Array, k: number, nprobe: number, threads?: number): Promise<NativeSearchResult>;
  writeSync(path: string): void;
  write(path: string): Promise<void>;
  dispose(): void;
}

interface NativeIndexIVFPQClass {
  new (dimension: number, nlist: number, m: number, nbits: number, metric: NativeMetric): NativeIndexIVFPQ;
  readSync(path: string): NativeIndexIVFPQ;
  read(path: string): Promise<NativeIndexIVFPQ>;
}

export interface Binding {
  NativeIndexIVFPQ: NativeIndexIVFPQClass;
  setErrorClass(errorClass: typeof FaissError): void;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  hardwareThreads(): number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (root: string) => unknown;

export const binding = load(path.join(__dirname, '..')) as Binding;
binding.setErrorClass(FaissError);
