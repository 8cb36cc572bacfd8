// Which Faiss indexes Index.build tries for n vectors of dimension d, as factory
// strings, each with its memory per vector estimated before anything is built.
// Pure arithmetic: nothing here touches the native addon.
//
// Sizes follow what Index.memoryBytes counts (native/any_index_core.cc,
// EstimateBytes): codes plus an 8-byte id per vector in inverted lists, 48
// bytes per vector for the IndexIDMap2 around a type without ids of its own
// (Flat, HNSW, anything re-ranked), the coarse centroids spread over n.

import { estimatedRecallCap } from './recommend';

export interface CandidatePlan {
  factory: string;
  /** Estimated memoryBytes / n once built; undefined for a factory string the caller gave. */
  estimatedBytesPerVector?: number;
  /** Why it is not worth building for this data, decided before building. */
  implausible?: string;
  /** May be skipped for a smaller candidate that already met the target (see index-build.ts). */
  dominable: boolean;
}

// HNSW construction grows as n·log n with a large constant: beyond this, an
// IVF index is built in a fraction of the time (the build must stay within a minute).
export const HNSW_MAX_VECTORS = 50_000;
// Brute force reads every vector per query: past 2^24 floats (64 MiB) it is slower than every alternative.
export const FLAT_MAX_FLOATS = 2 ** 24;
const ID_MAP_BYTES = 48;
const LIST_ID_BYTES = 8;
const HNSW_M = 32;
// Level 0 holds 2·M links of 4 bytes, upper levels about 1/M of that again, plus offsets and levels.
const HNSW_BYTES = 2 * HNSW_M * 4 * (1 + 1 / HNSW_M) + 8 + 4;
// Faiss's k-means asks for 39 training points per centroid.
export const MIN_POINTS_PER_CENTROID = 39;
// Fixed at 4 for re-ranked candidates: 40 candidates re-ranked for a top 10.
export const REFINE_K_FACTOR = 4;

/** Inverted lists for n vectors: the power of two nearest √n, at most n/39 (0: too few vectors). */
export function nlistFor(n: number): number {
  let nlist = 2 ** Math.round(Math.log2(Math.sqrt(n)));
  while (nlist > 1 && nlist * MIN_POINTS_PER_CENTROID > n) nlist /= 2;
  return nlist >= 4 ? nlist : 0;
}

/** The divisor of d nearest want (the smaller on a tie). */
export function divisorNear(d: number, want: number): number {
  let best = 1;
  for (let m = 1; m <= d; m++) {
    if (d % m === 0 && Math.abs(m - want) < Math.abs(best - want)) best = m;
  }
  return best;
}

/** Training vectors for an index with nlist lists: 50 per list, and at least 10,000 (for 8-bit codebooks). */
export function trainingSize(nBase: number, nlist: number): number {
  return Math.min(nBase, Math.max(50 * nlist, 10_000));
}

/**
 * The default candidates, in the order they are tried: HNSW32 first for small
 * collections (fastest at high recall where its graph is cheap to build), then
 * the inverted-file indexes, compressed codes first, then brute force for small
 * data. trainSize: training vectors available.
 */
export function defaultCandidates(n: number, d: number, targetRecall: number, trainSize: number): CandidatePlan[] {
  const plans: CandidatePlan[] = [];
  plans.push({
    factory: 'HNSW32',
    estimatedBytesPerVector: 4 * d + HNSW_BYTES + ID_MAP_BYTES,
    implausible: n > HNSW_MAX_VECTORS ? `more than ${HNSW_MAX_VECTORS} vectors: building the graph would take longer than an inverted file` : undefined,
    dominable: false,
  });
  const nlist = nlistFor(n);
  const centroids = nlist ? (nlist * d * 4) / n : 0;
  const tooFew = nlist ? undefined : `too few vectors for inverted lists (at least ${4 * MIN_POINTS_PER_CENTROID} needed)`;
  // About d/4 bytes of code: 8 bits per 4 components, fewer bits when too few vectors train 256-entry codebooks.
  const m = divisorNear(d, d / 4);
  const nbits = Math.max(1, Math.min(8, Math.floor(Math.log2(trainSize / MIN_POINTS_PER_CENTROID))));
  const pqBytes = Math.ceil((m * nbits) / 8);
  const cap = estimatedRecallCap((m * nbits) / d);
  plans.push({
    factory: `IVF${nlist},PQ${m}${nbits === 8 ? '' : `x${nbits}`}np`,
    estimatedBytesPerVector: pqBytes + LIST_ID_BYTES + centroids,
    implausible:
      tooFew ??
      (cap + 0.05 < targetRecall
        ? `PQ codes of ${((m * nbits) / d).toFixed(1)} bits per component cap recall@10 near ${cap.toFixed(2)} (estimate), below the target`
        : undefined),
    dominable: true,
  });
  // 4-bit FastScan codes of the same size, then 1-bit RaBitQ codes, each re-ranked by
  // 8-bit scalar-quantized copies; FastScan first, as it has answered faster wherever
  // both were measured (bench/results/index-build.md).
  const rerank = d + ID_MAP_BYTES;
  const fastScanM = d % (2 * m) === 0 ? 2 * m : divisorNear(d, d / 2);
  plans.push({
    factory: `IVF${nlist},PQ${fastScanM}x4fsr,Refine(SQ8)`,
    estimatedBytesPerVector: Math.ceil(fastScanM / 2) + LIST_ID_BYTES + rerank + centroids,
    implausible: tooFew,
    dominable: true,
  });
  plans.push({
    factory: `IVF${nlist},RaBitQ,Refine(SQ8)`,
    estimatedBytesPerVector: Math.ceil(d / 8) + 8 + LIST_ID_BYTES + rerank + centroids,
    implausible: tooFew,
    dominable: true,
  });
  plans.push({
    factory: `IVF${nlist},Flat`,
    estimatedBytesPerVector: 4 * d + LIST_ID_BYTES + centroids,
    implausible: tooFew,
    dominable: true,
  });
  plans.push({
    factory: 'Flat',
    estimatedBytesPerVector: 4 * d + ID_MAP_BYTES,
    implausible: n * d > FLAT_MAX_FLOATS ? `n·d above 2^24 floats: brute force reads them all for every query` : undefined,
    dominable: true,
  });
  return plans;
}
