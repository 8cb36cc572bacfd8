import type { Metric } from './metric';
import type { SearchResult } from './results';

const FLOAT_MAX = 3.4028234663852886e38;

/**
 * Merges per-shard top-k lists of the same n queries into one top-k, as Faiss
 * IndexShards does: a k-way merge of lists already sorted by the metric
 * (smaller is closer for 'l2', larger for 'ip' and 'cosine'). Used for
 * in-process shards and for shards answered over the network alike, so both
 * return the same results.
 */
export function mergeTopK(parts: readonly SearchResult[], n: number, k: number, metric: Metric): SearchResult {
  const largerIsCloser = metric !== 'l2';
  const distances = new Float32Array(n * k);
  const labels = new BigInt64Array(n * k).fill(-1n);
  // Faiss pads missing results with the float extreme on the losing side.
  distances.fill(largerIsCloser ? -FLOAT_MAX : FLOAT_MAX);
  const cursor = new Int32Array(parts.length);
  for (let q = 0; q < n; q++) {
    cursor.fill(0);
    const row = q * k;
    for (let out = 0; out < k; out++) {
      // -1 labels end a shard's list.
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
