import { withCallerStack } from './errors';
import type { Index, IndexSearchOptions } from './faiss-index';
import type { IndexIVFPQ } from './index-ivfpq';
import type { SearchResult } from './results';
import { mergeTopK } from './top-k';
import { MAX_K, expectInteger, fail } from './validate';

/** A shard: an IndexIVFPQ or any Index (options a shard does not take are its RangeError). */
export type Shard = IndexIVFPQ | Index;

/**
 * Searches several indexes as one (like Faiss IndexShards): each shard is
 * searched concurrently and the per-shard top-k lists are merged into one
 * top-k. Shards must share dimension and metric; ids should be disjoint.
 */
export class IndexShards {
  readonly #shards: readonly Shard[];

  constructor(shards: readonly Shard[]) {
    if (!Array.isArray(shards) || shards.length === 0) fail('type', 'a non-empty array of indexes', 'shards', shards);
    const [first] = shards;
    for (const shard of shards) {
      if (shard.dimension !== first.dimension || shard.metric !== first.metric) {
        throw new RangeError(
          `Expected shards of one dimension and metric for shards but received ${first.dimension}/${first.metric} and ${shard.dimension}/${shard.metric}`,
        );
      }
    }
    this.#shards = [...shards];
  }

  get shards(): readonly Shard[] {
    return this.#shards;
  }
  get ntotal(): number {
    return this.#shards.reduce((sum, shard) => sum + shard.ntotal, 0);
  }
  get dimension(): number {
    return this.#shards[0].dimension;
  }

  async search(queries: Float32Array, k: number, options?: IndexSearchOptions): Promise<SearchResult> {
    expectInteger(k, 'k', 1, MAX_K);
    const parts = await withCallerStack(
      Promise.all(this.#shards.map((shard) => shard.search(queries, k, options))),
      this.search,
    );
    return this.#merge(parts, k);
  }

  searchSync(queries: Float32Array, k: number, options?: IndexSearchOptions): SearchResult {
    expectInteger(k, 'k', 1, MAX_K);
    return this.#merge(this.#shards.map((shard) => shard.searchSync(queries, k, options)), k);
  }

  #merge(parts: SearchResult[], k: number): SearchResult {
    return mergeTopK(parts, parts[0].labels.length / k, k, this.#shards[0].metric);
  }
}
