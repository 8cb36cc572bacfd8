export interface WorkOptions {
  /** OpenMP threads for this call; by default a shared budget (see setNumThreads). */
  threads?: number;
}

export interface SearchResult {
  /** n × k, row-major. Squared L2, inner product or cosine similarity, per the metric. */
  distances: Float32Array;
  /** n × k, row-major; -1n where fewer than k results were found. */
  labels: BigInt64Array;
}
