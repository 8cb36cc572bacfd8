import { binding, type NativeIndex } from './binding';
import { settled, withCallerStack } from './errors';
import { METRICS, type Metric } from './metric';
import type { SearchResult, WorkOptions } from './results';
import { MAX_K, expectInteger, expectOneOf, expectOptions, expectVectors, fail, threadsOption } from './validate';

export interface IndexFlatOptions {
  dimension: number;
  /** Default 'l2'. */
  metric?: Metric;
}

const CONSTRUCTOR_KEYS = ['dimension', 'metric'] as const;
const WORK_KEYS = ['threads'] as const;

/**
 * Exact nearest-neighbour search (Faiss IndexFlat): the ground truth for recall
 * measurements, and a fine index for small collections. Labels are row numbers
 * in insertion order. The same engine as Index.fromFactory(dimension, 'Flat').
 */
export class IndexFlat {
  readonly #native: NativeIndex;

  constructor(options: IndexFlatOptions) {
    if (options === undefined) fail('type', 'an options object', 'options', options);
    const bag = expectOptions<IndexFlatOptions>(options, 'options', CONSTRUCTOR_KEYS);
    const dimension = expectInteger(bag.dimension, 'dimension', 1, 65536);
    const metric = bag.metric === undefined ? 'l2' : expectOneOf(bag.metric, 'metric', METRICS);
    this.#native = new binding.NativeIndex(dimension, 'Flat', metric);
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
  get memoryBytes(): number {
    return this.#native.memoryBytes;
  }
  get disposed(): boolean {
    return this.#native.disposed;
  }

  addSync(vectors: Float32Array, options?: WorkOptions): void {
    this.#native.addSync(this.#vectors(vectors, 'vectors'), undefined, this.#threads(options));
  }
  async add(vectors: Float32Array, options?: WorkOptions): Promise<void> {
    const threads = this.#threads(options);
    return withCallerStack(this.#native.add(this.#vectors(vectors, 'vectors'), undefined, threads), this.add);
  }

  searchSync(queries: Float32Array, k: number, options?: WorkOptions): SearchResult {
    const checked = this.#vectors(queries, 'queries');
    return this.#native.searchSync(checked, expectInteger(k, 'k', 1, MAX_K), undefined, this.#threads(options), 0, undefined);
  }
  search(queries: Float32Array, k: number, options?: WorkOptions): Promise<SearchResult> {
    try {
      const checked = this.#vectors(queries, 'queries');
      const kk = expectInteger(k, 'k', 1, MAX_K);
      return settled(this.#native.search(checked, kk, undefined, this.#threads(options), 0, undefined), this.search);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Waits for operations already issued, then frees the native index. Idempotent. */
  dispose(): void {
    this.#native.dispose();
  }

  #vectors(vectors: unknown, name: string): Float32Array {
    return expectVectors(vectors, this.#native.dimension, name);
  }

  #threads(options: unknown): number {
    return threadsOption(expectOptions<WorkOptions>(options, 'options', WORK_KEYS).threads);
  }
}
