// Starting parameters for an IndexIVFPQ, from the data size alone. Pure
// arithmetic: nothing here touches the native addon.
//
// Sources (Faiss 1.7.3):
// - Faiss wiki, "Guidelines to choose an index": IVF with nlist between
//   4·√n and 16·√n.
// - faiss/Clustering.cpp: k-means prints "WARNING clustering X points to K
//   centroids: please provide at least 39*K training points"
//   (min_points_per_centroid = 39), subsamples anything above 256·K
//   (max_points_per_centroid = 256), and throws with fewer points than K.
// - faiss/IndexIVFPQ.cpp: nbits ≤ 8; the PQ is trained on at most 256·2^nbits
//   points; with the L2 metric, training also precomputes a table of
//   nlist·m·2^nbits floats unless it would exceed 2 GiB
//   (precomputed_table_max_bytes). IndexIVFPQ.memoryBytes counts it.
// - benchs/bench_all_ivf/bench_all_ivf.py: default training size
//   max(50·nlist, 25600).

import { METRICS, type Metric } from './metric';
import { expectInteger, expectOneOf, expectOptions, fail } from './validate';

export interface RecommendParamsOptions {
  /** Number of vectors the index will hold, 1..1e12. */
  n: number;
  /** Vector length, 1..65536. */
  dimension: number;
  /** Default 'l2'. */
  metric?: Metric;
  /** Ceiling for the index's memory once the n vectors are added (see `memoryBytes`). */
  memoryBudgetBytes?: number;
  /** Wanted recall@10, strictly between 0 and 1. Default 0.9. Only steers `nprobe` (and a warning). */
  targetRecall?: number;
}

export interface RecommendedParams {
  /** Inverted lists: a power of two near 8·√n, at most n/39. */
  nlist: number;
  /** PQ sub-quantizers; always divides `dimension`. */
  m: number;
  /** Bits per sub-quantizer code: 8, or fewer when n < 256; 4 with fastScan. */
  nbits: number;
  /**
   * true with re-ranking: 4-bit FastScan codes with twice the sub-quantizers
   * (the same bytes per vector), whose scan the re-ranking makes as accurate
   * and which is several times faster (bench/results/high-recall.md).
   */
  fastScan: boolean;
  /** Training vectors to pass to train(), at most n. */
  trainSize: number;
  /** First guess for nprobe, 1..nlist; measure recall on your data and adjust. */
  nprobe: number;
  /** Per added vector: the code, ceil(m·nbits/8) bytes, plus its 8-byte id. */
  bytesPerVector: number;
  /**
   * Estimated IndexIVFPQ.memoryBytes after adding n vectors: n·bytesPerVector,
   * the coarse centroids (nlist·dimension·4), the PQ centroids
   * (dimension·2^nbits·4) and, for 'l2', Faiss's precomputed table.
   */
  memoryBytes: number;
  /**
   * 'sq8' or 'flat' when the PQ code alone likely cannot reach targetRecall
   * (then pass it as IndexIVFPQ's `refine`); 'none' otherwise.
   */
  refine: 'none' | 'sq8' | 'flat';
  /** What refine adds per vector: the copy, its id-map entry and hash node. 0 for 'none'. */
  refineBytesPerVector: number;
  /** Things to know about these parameters, in plain sentences. Empty when all is well. */
  warnings: string[];
}

const KEYS = ['n', 'dimension', 'metric', 'memoryBudgetBytes', 'targetRecall'] as const;
const MAX_N = 1e12;
const MAX_DIMENSION = 65536;
const DEFAULT_RECALL = 0.9;

const MIN_POINTS_PER_CENTROID = 39; // faiss ClusteringParameters defaults
const MAX_POINTS_PER_CENTROID = 256;
const MAX_NBITS = 8; // IndexIVFPQ in Faiss 1.7.3 refuses more
const ID_BYTES = 8; // one int64 id per vector in the inverted lists
const PRECOMPUTED_TABLE_MAX_BYTES = 2 ** 31; // faiss::precomputed_table_max_bytes
// train() takes one Float32Array; Node 18 and 20 cap a typed array at 2^32
// elements, so trainSize·dimension must stay within that.
const MAX_TRAIN_FLOATS = 2 ** 32;
// Beyond this many lists, the flat coarse quantizer dominates search and training.
const LARGE_NLIST = 65536;
// Code sizes Faiss's GPU IVFPQ supports (gpu/impl/IVFPQ.cu, minus 3). On the CPU,
// Faiss 1.7.3 has no kernel specialised by m, so preferring these costs nothing
// and keeps the index portable to a GPU.
const PREFERRED_M: ReadonlySet<number> = new Set([1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96]);

/**
 * Training vectors for nlist lists and 2^nbits-entry codebooks (see trainSize
 * below), of the n available.
 */
export function trainingSetSize(n: number, dimension: number, nlist: number, nbits: number): number {
  return Math.min(n, Math.floor(MAX_TRAIN_FLOATS / dimension), wantedTrainingSetSize(nlist, nbits));
}

function wantedTrainingSetSize(nlist: number, nbits: number): number {
  const wanted = Math.max(50 * nlist, MAX_POINTS_PER_CENTROID * 2 ** nbits);
  return Math.min(MAX_POINTS_PER_CENTROID * nlist, Math.max(MIN_POINTS_PER_CENTROID * nlist, wanted));
}

/**
 * Recommends IndexIVFPQ parameters for `n` vectors of `dimension` floats.
 *
 * - nlist: the power of two nearest 8·√n (the middle of Faiss's 4·√n..16·√n),
 *   lowered when needed so that k-means gets its 39 training points per list.
 * - trainSize: max(50·nlist, 256·2^nbits), kept within 39·nlist..256·nlist and n:
 *   Faiss's benchmark default, raised so the PQ also sees the 256 points per
 *   code it can use.
 * - m: by default a divisor of dimension giving sub-vectors of 2..4 floats, i.e.
 *   codes of dimension/4..dimension/2 bytes: the smallest such m among the code
 *   sizes GPU Faiss supports, else the smallest such m. With a memory budget:
 *   the largest divisor whose memoryBytes fits, up to sub-vectors of 2 floats
 *   (or the default m, if that is finer).
 * - nprobe ≈ nlist^(2/3) · r / (18·(1 − r)) for targetRecall r, i.e. proportional
 *   to the odds r/(1 − r): at r = 0.9 it is nlist^(2/3)/2, about 8% of the lists
 *   for nlist = 256, 3% for 4096, 1% for 65536; near high recall each halving of
 *   the miss rate doubles it, and it falls to 1 as r → 0. An empirical starting
 *   point for recall@10 on real data, not a promise: measure and adjust.
 *
 * Throws TypeError for a wrong type, RangeError for a value out of range or an
 * impossible request (n < 2; a budget below the smallest index).
 */
export function recommendParams(options: RecommendParamsOptions): RecommendedParams {
  const bag = expectOptions<RecommendParamsOptions>(options, 'options', KEYS);
  if (options === undefined) fail('type', 'an options object', 'options', options);
  const n = expectInteger(bag.n, 'n', 1, MAX_N);
  const dimension = expectInteger(bag.dimension, 'dimension', 1, MAX_DIMENSION);
  const metric = bag.metric === undefined ? 'l2' : expectOneOf(bag.metric, 'metric', METRICS);
  const budget =
    bag.memoryBudgetBytes === undefined
      ? undefined
      : expectInteger(bag.memoryBudgetBytes, 'memoryBudgetBytes', 1, Number.MAX_SAFE_INTEGER);
  const targetRecall = bag.targetRecall === undefined ? DEFAULT_RECALL : expectRecall(bag.targetRecall);
  if (n < 2) {
    throw new RangeError(
      `Expected at least 2 vectors (a product quantizer with nbits = 1 trains on 2 or more) for n but received ${n}`,
    );
  }
  const warnings: string[] = [];

  // nbits: 2^nbits centroids per sub-quantizer need at least 2^nbits training points.
  const nbits = Math.min(MAX_NBITS, Math.floor(Math.log2(n)));
  const ksub = 2 ** nbits;
  if (nbits < MAX_NBITS) {
    warnings.push(
      `nbits = ${nbits}: 8-bit codes need at least 256 training vectors and n is ${n}; codes are coarser`,
    );
  }

  // nlist
  const sqrtN = Math.sqrt(n);
  const maxTrainRows = Math.floor(MAX_TRAIN_FLOATS / dimension);
  const cap = Math.max(1, Math.floor(Math.min(n, maxTrainRows) / MIN_POINTS_PER_CENTROID));
  let nlist = 2 ** Math.round(Math.log2(8 * sqrtN));
  while (nlist > cap) nlist /= 2;
  if (nlist < 4 * sqrtN) {
    const reason =
      n <= maxTrainRows
        ? `k-means needs ${MIN_POINTS_PER_CENTROID} training vectors per list and n is ${n}; for this few vectors an exact (flat) search may serve better`
        : `k-means needs ${MIN_POINTS_PER_CENTROID} training vectors per list and at most ${maxTrainRows} fit one Float32Array at dimension ${dimension}`;
    warnings.push(`nlist = ${nlist} is below the 4·√n = ${Math.ceil(4 * sqrtN)} guideline: ${reason}`);
  }
  if (n < MIN_POINTS_PER_CENTROID * nlist) {
    warnings.push(
      `n = ${n} is below ${MIN_POINTS_PER_CENTROID}·nlist = ${MIN_POINTS_PER_CENTROID * nlist}: Faiss will warn that k-means has too few training points`,
    );
  }
  if (nlist > LARGE_NLIST) {
    warnings.push(
      `nlist = ${nlist}: the coarse quantizer is flat, so each query is compared with all ${nlist} centroids and each k-means iteration costs about trainSize·nlist·dimension multiply-adds; expect long training on a CPU`,
    );
  }

  const trainSize = trainingSetSize(n, dimension, nlist, nbits);
  if (trainSize === maxTrainRows && maxTrainRows < Math.min(n, wantedTrainingSetSize(nlist, nbits))) {
    warnings.push(
      `trainSize = ${trainSize}: limited so that trainSize·dimension fits one Float32Array (2^32 elements)`,
    );
  }
  if (trainSize < MIN_POINTS_PER_CENTROID * ksub) {
    warnings.push(
      `trainSize = ${trainSize} is below ${MIN_POINTS_PER_CENTROID}·2^nbits = ${MIN_POINTS_PER_CENTROID * ksub}: Faiss will warn while training the product quantizer, and codes will be less accurate`,
    );
  }

  // m
  const memory = (m: number): Memory => memoryFor(n, dimension, metric, nlist, m, nbits);
  const divisors = divisorsOf(dimension);
  const defaultM = chooseDefaultM(dimension, divisors);
  let m = defaultM;
  if (budget !== undefined) {
    const finest = divisors.filter((d) => d <= dimension / 2).pop() ?? 1;
    const candidates = divisors.filter((d) => d <= Math.max(defaultM, finest));
    const fitting = candidates.filter((d) => memory(d).total <= budget);
    if (fitting.length === 0) {
      const smallest = candidates.reduce((a, b) => (memory(b).total < memory(a).total ? b : a));
      const least = memory(smallest);
      throw new RangeError(
        `Expected at least ${least.total} bytes (${n} vectors × ${least.bytesPerVector} bytes with m = ${smallest}, plus ${least.total - least.lists} bytes of centroids and tables for nlist = ${nlist}) for memoryBudgetBytes but received ${budget}`,
      );
    }
    m = fitting[fitting.length - 1];
  }
  // Re-ranked candidates need only a fast, coarse first pass: FastScan's
  // 4-bit codes, at the same code bytes, scanned from SIMD registers.
  const fastScanFits = (code: number): boolean => nbits === MAX_NBITS && dimension % (2 * code) === 0;
  const refinement = chooseRefine({
    n, dimension, m, defaultM, nbits, targetRecall, budget, warnings,
    // With re-ranking the code is built in its FastScan form where it fits.
    totalFor: (code) => (fastScanFits(code) ? memoryFor(n, dimension, metric, nlist, 2 * code, 4) : memory(code)).total,
  });
  m = refinement.m;
  const { refine, refineBytesPerVector } = refinement;
  const fastScan = refine !== 'none' && fastScanFits(m);
  const codeNbits = fastScan ? 4 : nbits;
  if (fastScan) {
    m *= 2;
    warnings.push(
      `fastScan: ${m} 4-bit sub-quantizers (the same ${Math.ceil((m * codeNbits) / 8)}-byte codes as ${m / 2} 8-bit ones), scanned several times faster; the ${refine} re-ranking restores their precision`,
    );
  }
  const { bytesPerVector, lists, table, total } = memoryFor(n, dimension, metric, nlist, m, codeNbits);
  if (table > lists) {
    warnings.push(
      `metric 'l2': Faiss precomputes a table of nlist·m·2^nbits floats (${formatBytes(table)}) when training, more than the codes and ids (${formatBytes(lists)}); it is part of memoryBytes`,
    );
  }

  // nprobe
  const guess = Math.max(1, Math.round((Math.cbrt(nlist) ** 2 * targetRecall) / (18 * (1 - targetRecall))));
  const nprobe = Math.min(nlist, guess);
  if (guess > nlist) {
    warnings.push(
      `nprobe = nlist = ${nlist}: targetRecall ${targetRecall} would need about ${guess} probes, so every list is scanned`,
    );
  }
  if (targetRecall >= 0.9 && m * codeNbits < 2 * dimension) {
    warnings.push(
      `m = ${m}: ${Math.ceil((m * codeNbits) / 8)}-byte codes for ${dimension} dimensions (under 2 bits per dimension) may cap recall below targetRecall ${targetRecall} whatever nprobe`,
    );
  }

  return {
    nlist, m, nbits: codeNbits, fastScan, trainSize, nprobe, bytesPerVector, memoryBytes: total, refine, refineBytesPerVector, warnings,
  };
}

/**
 * PQ caps recall whatever nprobe: measured on GloVe-100 (cosine, IVF2048),
 * recall@10 stops at 0.66 with 2 bits per dimension (PQ25) and at 0.88 with 4
 * (PQ50). The missing fraction roughly halves every 1.33 bits; other data
 * (SIFT) sits above this curve, so it errs towards re-ranking.
 */
export function estimatedRecallCap(bitsPerDimension: number): number {
  return Math.max(0, 1 - 0.34 * 2 ** (-(bitsPerDimension - 2) / 1.33));
}

// Per vector, as IndexIVFPQ.memoryBytes counts refinement: the copy, the
// row → id entry (8 bytes) and the id → row hash node (4 words).
const REFINE_OVERHEAD_BYTES = 8 + 32;

function chooseRefine(p: {
  n: number;
  dimension: number;
  m: number;
  defaultM: number;
  nbits: number;
  targetRecall: number;
  budget: number | undefined;
  totalFor: (m: number) => number;
  warnings: string[];
}): { m: number; refine: RecommendedParams['refine']; refineBytesPerVector: number } {
  const cap = estimatedRecallCap((p.m * p.nbits) / p.dimension);
  if (p.targetRecall < 0.95 || p.targetRecall <= cap) return { m: p.m, refine: 'none', refineBytesPerVector: 0 };
  const options = [
    { refine: 'flat' as const, bytes: 4 * p.dimension + REFINE_OVERHEAD_BYTES },
    { refine: 'sq8' as const, bytes: p.dimension + REFINE_OVERHEAD_BYTES },
  ].filter((option) => option.refine === 'sq8' || p.targetRecall > 0.99);
  // A budget spent on finer codes cannot buy what re-ranking buys: fall back
  // to the default code size when that leaves room for the copy.
  const codes = p.budget !== undefined && p.defaultM < p.m ? [p.m, p.defaultM] : [p.m];
  for (const option of options) {
    for (const m of codes) {
      if (p.budget !== undefined && p.totalFor(m) + p.n * option.bytes > p.budget) continue;
      const codeBytes = Math.ceil((m * p.nbits) / 8);
      const mCap = estimatedRecallCap((m * p.nbits) / p.dimension);
      p.warnings.push(
        `refine = '${option.refine}': ${codeBytes}-byte codes likely cap recall@10 near ${mCap.toFixed(2)}, below targetRecall ${p.targetRecall}; re-ranking costs ${option.bytes} more bytes per vector`,
      );
      return { m, refine: option.refine, refineBytesPerVector: option.bytes };
    }
  }
  p.warnings.push(
    `${Math.ceil((p.m * p.nbits) / 8)}-byte codes likely cap recall@10 near ${cap.toFixed(2)}, below targetRecall ${p.targetRecall}, and re-ranking (${options.at(-1)!.bytes} more bytes per vector) does not fit memoryBudgetBytes`,
  );
  return { m: p.m, refine: 'none', refineBytesPerVector: 0 };
}

interface Memory {
  bytesPerVector: number;
  /** Codes and ids of the n vectors. */
  lists: number;
  /** Faiss's precomputed L2 table; 0 when Faiss would not build it. */
  table: number;
  total: number;
}

function memoryFor(n: number, dimension: number, metric: Metric, nlist: number, m: number, nbits: number): Memory {
  const ksub = 2 ** nbits;
  const bytesPerVector = Math.ceil((m * nbits) / 8) + ID_BYTES;
  const lists = n * bytesPerVector;
  const coarse = nlist * dimension * 4;
  const pqCentroids = dimension * ksub * 4;
  const tableBytes = nlist * m * ksub * 4;
  const table = metric === 'l2' && tableBytes <= PRECOMPUTED_TABLE_MAX_BYTES ? tableBytes : 0;
  return { bytesPerVector, lists, table, total: lists + coarse + pqCentroids + table };
}

/** Ascending. */
function divisorsOf(value: number): number[] {
  const low: number[] = [];
  const high: number[] = [];
  for (let d = 1; d * d <= value; d++) {
    if (value % d === 0) {
      low.push(d);
      if (d * d !== value) high.unshift(value / d);
    }
  }
  return [...low, ...high];
}

/**
 * Sub-vectors of 2..4 floats (codes of dimension/4..dimension/2 bytes): the
 * smallest GPU-supported m in that band, else the smallest m in it. When no
 * divisor gives that, the one whose sub-vector length is nearest the band
 * (by ratio).
 */
function chooseDefaultM(dimension: number, divisors: readonly number[]): number {
  const band = divisors.filter((m) => m >= dimension / 4 && m <= dimension / 2);
  if (band.length > 0) return band.find((m) => PREFERRED_M.has(m)) ?? band[0];
  const distance = (m: number): number => {
    const dsub = dimension / m;
    return dsub > 4 ? Math.log(dsub / 4) : Math.log(2 / dsub);
  };
  return divisors.reduce((best, m) => (distance(m) < distance(best) ? m : best));
}

function expectRecall(value: unknown): number {
  if (typeof value !== 'number') fail('type', 'a number', 'targetRecall', value);
  if (!(value > 0 && value < 1)) fail('range', 'a number greater than 0 and less than 1', 'targetRecall', value);
  return value;
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}
