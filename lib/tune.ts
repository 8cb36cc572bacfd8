import { IndexFlat } from './index-flat';
import type { IndexIVFPQ } from './index-ivfpq';
import { MAX_K, expectBigInt64Array, expectInteger, expectOptions, expectVectors, fail } from './validate';

export interface TuneOptions {
  /** Neighbours per query the recall is measured on. Default 10. */
  k?: number;
  /** Wanted recall@k, in (0, 1]. Default 0.9. */
  targetRecall?: number;
  /** Exact top-k ids per query (n × k, row-major), in the index's id space. */
  groundTruth?: BigInt64Array;
  /** Or the vectors the index holds, for a brute-force ground truth. */
  vectors?: Float32Array;
  /** Their ids (default: row numbers, as add() assigns them). */
  ids?: BigInt64Array;
  /** For a refined index: the kFactor to search with (default: the index's own). */
  kFactor?: number;
}

export interface TunePoint {
  nprobe: number;
  recall: number;
  /** Queries per second of one batched search at this nprobe, on this machine, now. */
  qps: number;
}

export interface TuneResult {
  /** The smallest nprobe that met the target, or the best one found when none did. */
  nprobe: number;
  recall: number;
  /** Whether targetRecall was met. */
  reached: boolean;
  /** The kFactor every point was measured with (0 for an index without refine). */
  kFactor: number;
  curve: TunePoint[];
}

const KEYS = ['k', 'targetRecall', 'groundTruth', 'vectors', 'ids', 'kFactor'] as const;

/** recall@k: |returned top-k ∩ true top-k| / k, averaged over queries. */
export function recallAt(labels: BigInt64Array, truth: BigInt64Array, k: number): number {
  const n = truth.length / k;
  let hits = 0;
  for (let q = 0; q < n; q++) {
    const expected = new Set(truth.subarray(q * k, (q + 1) * k));
    for (let j = q * k; j < (q + 1) * k; j++) if (expected.has(labels[j])) hits++;
  }
  return hits / (n * k);
}

/** Exact top-k ids of queries among vectors (labelled by ids, or by row). */
export async function exactNeighbours(
  vectors: Float32Array,
  queries: Float32Array,
  k: number,
  dimension: number,
  metric: IndexIVFPQ['metric'],
  ids?: BigInt64Array,
): Promise<BigInt64Array> {
  const flat = new IndexFlat({ dimension, metric });
  try {
    await flat.add(vectors);
    const { labels } = await flat.search(queries, k);
    return ids ? labels.map((row) => (row < 0n ? -1n : ids[Number(row)])) : labels;
  } finally {
    flat.dispose();
  }
}

async function measure(index: IndexIVFPQ, queries: Float32Array, k: number, nprobe: number, kFactor: number | undefined, truth: BigInt64Array): Promise<TunePoint> {
  const started = process.hrtime.bigint();
  const { labels } = await index.search(queries, k, kFactor === undefined ? { nprobe } : { nprobe, kFactor });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { nprobe, recall: recallAt(labels, truth, k), qps: queries.length / index.dimension / seconds };
}

/**
 * Measures recall@k against exact ground truth for growing nprobe (powers of
 * two, then a binary search below the first that meets the target) and
 * returns the smallest nprobe that meets targetRecall. The curve records
 * every point measured. Does not change the index's default nprobe.
 */
export async function tuneNprobe(index: IndexIVFPQ, queries: Float32Array, options?: TuneOptions): Promise<TuneResult> {
  const bag = expectOptions<TuneOptions>(options, 'options', KEYS);
  const dimension = index.dimension;
  const checked = expectVectors(queries, dimension, 'queries');
  const n = checked.length / dimension;
  const k = bag.k === undefined ? 10 : expectInteger(bag.k, 'k', 1, MAX_K);
  const target = bag.targetRecall === undefined ? 0.9 : bag.targetRecall;
  if (typeof target !== 'number' || !(target > 0 && target <= 1)) {
    fail('range', 'a number in (0, 1]', 'targetRecall', target);
  }
  if (bag.kFactor !== undefined && index.refine === 'none') {
    throw new TypeError("Expected no kFactor for options: the index has no refine stage (create it with refine: 'flat' or 'sq8')");
  }
  // Validated by the first search, like any search option.
  const kFactor = bag.kFactor;
  let truth: BigInt64Array;
  if (bag.groundTruth !== undefined) {
    truth = expectBigInt64Array(bag.groundTruth, 'groundTruth');
    if (truth.length !== n * k) {
      throw new RangeError(`Expected ${n * k} labels (queries × k) for groundTruth but received length ${truth.length}`);
    }
  } else if (bag.vectors !== undefined) {
    const vectors = expectVectors(bag.vectors, dimension, 'vectors');
    const ids = bag.ids === undefined ? undefined : expectBigInt64Array(bag.ids, 'ids');
    if (ids && ids.length * dimension !== vectors.length) {
      throw new RangeError(`Expected ${vectors.length / dimension} ids (one per vector) for ids but received length ${ids.length}`);
    }
    truth = await exactNeighbours(vectors, checked, k, dimension, index.metric, ids);
  } else {
    throw new TypeError('Expected groundTruth or vectors for options: the exact neighbours are needed to measure recall');
  }

  const found = await smallestSetting((nprobe) => measure(index, checked, k, nprobe, kFactor, truth), 1, index.nlist, target);
  const curve = found.points.map((p) => ({ nprobe: p.value, recall: p.recall, qps: p.qps }));
  return { nprobe: found.value, recall: found.recall, reached: found.reached, kFactor: kFactor ?? index.kFactor, curve };
}

export interface SettingPoint {
  value: number;
  recall: number;
  qps: number;
}

export interface SettingSearch {
  /** The smallest value that met the target, or the one with the best recall when none did. */
  value: number;
  recall: number;
  reached: boolean;
  /** Every value measured, ascending. */
  points: SettingPoint[];
}

/**
 * The smallest integer setting in [first, max] whose measured recall meets
 * target, for a setting whose recall grows with it (nprobe, efSearch): powers
 * of two from first, then a binary search below the first that meets it.
 * Each value is measured once.
 */
export async function smallestSetting(
  measureAt: (value: number) => Promise<{ recall: number; qps: number }>,
  first: number,
  max: number,
  target: number,
): Promise<SettingSearch> {
  const at = new Map<number, SettingPoint>();
  const point = async (value: number): Promise<SettingPoint> => {
    let found = at.get(value);
    if (!found) {
      const { recall, qps } = await measureAt(value);
      found = { value, recall, qps };
      at.set(value, found);
    }
    return found;
  };
  const sorted = () => [...at.values()].sort((a, b) => a.value - b.value);
  let low = first - 1; // largest value known to miss the target
  let high = 0; // smallest known to meet it
  for (let value = first; ; value = Math.min(max, value * 2)) {
    if ((await point(value)).recall >= target) {
      high = value;
      break;
    }
    low = value;
    if (value >= max) break;
  }
  if (high === 0) {
    const best = [...at.values()].reduce((a, b) => (b.recall > a.recall ? b : a));
    return { value: best.value, recall: best.recall, reached: false, points: sorted() };
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if ((await point(middle)).recall >= target) high = middle;
    else low = middle;
  }
  return { value: high, recall: at.get(high)!.recall, reached: true, points: sorted() };
}
