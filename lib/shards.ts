import { withCallerStack } from './errors';
import type { IndexIVFPQ } from './index-ivfpq';
import type { SearchOptions } from './index-ivfpq';
import type { SearchResult } from './results';
import { MAX_K, expectInteger, fail } from './validate';

const FLOAT_MAX = 3.4028234663852886e38;

/**
 * Searches several indexes as one (like Faiss IndexShards): each shard is
 * searched concurrently and the per-shard top-k lists are merged into one
 * top-k. Shards must share dimension and metric; ids should be disjoint.
 */
export class IndexShards {
  readonly #shards: readonly IndexIVFPQ[];

  constructor(shards: readonly IndexIVFPQ[]) {
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

  get shards(): readonly IndexIVFPQ[] {
    return this.#shards;
  }
  get ntotal(): number {
    return this.#shards.reduce((sum, shard) => sum + shard.ntotal, 0);
  }
  get dimension(): number {
    return this.#shards[0].dimension;
  }

  async search(queries: Float32Array, k: number, options?: SearchOptions): Promise<SearchResult> {
    expectInteger(k, 'k', 1, MAX_K);
    const parts = await withCallerStack(
      Promise.all(this.#shards.map((shard) => shard.search(queries, k, options))),
      this.search,
    );
    return this.#merge(parts, k);
  }

  searchSync(queries: Float32Array, k: number, options?: SearchOptions): SearchResult {
    expectInteger(k, 'k', 1, MAX_K);
    return this.#merge(this.#shards.map((shard) => shard.searchSync(queries, k, options)), k);
  }

  #merge(parts: SearchResult[], k: number): SearchResult {
    const n = parts[0].labels.length / k;
    const largerIsCloser = this.#shards[0].metric !== 'l2';
    const distances = new Float32Array(n * k);
    const labels = new BigInt64Array(n * k).fill(-1n);
    // Faiss pads missing results with the float extreme on the losing side.
    distances.fill(largerIsCloser ? -FLOAT_MAX : FLOAT_MAX);
    const cursor = new Int32Array(parts.length);
    for (let q = 0; q < n; q++) {
      cursor.fill(0);
      const row = q * k;
      for (let out = 0; out < k; out++) {
        // k-way merge of already sorted lists; -1 labels end a shard's list.
        let best = -1;
        let bestDistance = 0;
        for (let s = 0; s < parts.length; s++) {
          const at = row + cursor[s];
          if (cursor[s] >= k || parts[s].labels[at] === -1n) continue;
          const d = parts[s].distances[at];
          if (best < 0 || (largerIsCloser ? d > bestDistance : d < bestDistance)) {
            best = s;
            bestDistance = d;
          }
        }
        if (best < 0) break;
        distances[row + out] = bestDistance;
        labels[row + out] = parts[best].labels[row + cursor[best]];
        cursor[best]++;
      }
    }
    return { distances, labels };
  }
}
