import { FaissError } from './errors';
import { IndexIVFPQ, MAX_NLIST, type IndexIVFPQOptions, type Refine } from './index-ivfpq';
import type { Metric } from './metric';
import { recommendParams, trainingSetSize } from './recommend';
import { gather, shuffledRows } from './sampling';
import { exactNeighbours, tuneNprobe, type TunePoint } from './tune';
import { expectBigInt64Array, expectBoolean, expectInteger, expectOptions, expectVectors, fail } from './validate';

export interface BuildProgress {
  step: 'recommend' | 'train' | 'add' | 'tune' | 'retry' | 'done';
  message: string;
  /** Fraction of the current step done, 0..1, where it is known. */
  fraction?: number;
}

export interface BuildOptions {
  dimension: number;
  /** One non-negative id per vector; default row numbers. */
  ids?: BigInt64Array;
  metric?: Metric;
  /** Wanted recall@10 on queries like the data. Default 0.9. */
  targetRecall?: number;
  /** Ceiling for the built index's memory (see memoryBytes). */
  memoryBudgetBytes?: number;
  /** Held-out vectors used as tuning queries. Default min(1000, 5% of n), at least 50. */
  tuningQueries?: number;
  /** Random seed for sampling. */
  seed?: number;
  onProgress?: (progress: BuildProgress) => void;
  // Overrides of the recommendation:
  nlist?: number;
  m?: number;
  nbits?: number;
  refine?: Refine;
  kFactor?: number;
  /** true: only 4-bit FastScan codes; false: never. Default: FastScan first wherever re-ranking is tried. */
  fastScan?: boolean;
}

export interface BuildReport {
  nlist: number;
  m: number;
  nbits: number;
  fastScan: boolean;
  refine: Refine;
  nprobe: number;
  /** recall@10 on the held-out tuning queries at that nprobe. */
  recall: number;
  /**
   * The recall nprobe was tuned for: targetRecall plus two standard errors of
   * a recall measured on this many tuning queries, so that new queries from
   * the same distribution meet targetRecall too (capped at 1). When only
   * targetRecall itself is reachable, nprobe is the smallest that meets it.
   */
  tuningTarget: number;
  bytesPerVector: number;
  curve: TunePoint[];
}

const KEYS = [
  'dimension', 'ids', 'metric', 'targetRecall', 'memoryBudgetBytes', 'tuningQueries', 'seed', 'onProgress',
  'nlist', 'm', 'nbits', 'refine', 'kFactor', 'fastScan',
] as const;

const ADD_CHUNK = 65_536;

/** Code sizes to try, smallest first: the recommendation, then larger divisors of dimension. */
function largerCodes(dimension: number, m: number): number[] {
  const out: number[] = [];
  for (let candidate = m * 2; candidate <= dimension; candidate *= 2) {
    if (dimension % candidate === 0) out.push(candidate);
  }
  if (out.length === 0 && m < dimension) out.push(dimension);
  return out;
}

/**
 * Builds a tuned IndexIVFPQ from vectors: recommends parameters, samples a
 * training set, trains, adds, measures recall on held-out vectors and sets the
 * default nprobe to the smallest that meets targetRecall. When the PQ code
 * cannot reach it, tries larger codes, then re-ranking ('sq8', then 'flat'),
 * each first over 4-bit FastScan codes of the same size (faster to scan,
 * measured in bench/results/high-recall.md), within memoryBudgetBytes; if nothing reaches it, throws a FaissError
 * (ERR_FAISS_TARGET_UNREACHABLE) that states the best recall found.
 */
export async function buildIndex(vectors: Float32Array, options: BuildOptions): Promise<{ index: IndexIVFPQ; report: BuildReport }> {
  const bag = expectOptions<BuildOptions>(options, 'options', KEYS);
  if (options === undefined) fail('type', 'an options object', 'options', options);
  const dimension = expectInteger(bag.dimension, 'dimension', 1, 65536);
  const data = expectVectors(vectors, dimension, 'vectors');
  const n = data.length / dimension;
  const ids = bag.ids === undefined ? undefined : expectBigInt64Array(bag.ids, 'ids');
  if (ids && ids.length !== n) throw new RangeError(`Expected ${n} ids (one per vector) for ids but received length ${ids.length}`);
  const metric = bag.metric ?? 'l2';
  const targetRecall = bag.targetRecall ?? 0.9;
  const progress = bag.onProgress ?? (() => {});
  if (typeof progress !== 'function') fail('type', 'a function', 'onProgress', progress);
  const seed = bag.seed === undefined ? 1 : expectInteger(bag.seed, 'seed', 0, 2 ** 32 - 1);
  const holdout = bag.tuningQueries === undefined
    ? Math.max(50, Math.min(1000, Math.floor(n * 0.05)))
    : expectInteger(bag.tuningQueries, 'tuningQueries', 1, n - 1);
  if (n - holdout < 2) throw new RangeError(`Expected more vectors than tuningQueries for vectors but received ${n}`);

  const recommended = recommendParams({ n, dimension, metric, memoryBudgetBytes: bag.memoryBudgetBytes, targetRecall });
  progress({ step: 'recommend', message: `nlist ${recommended.nlist}, m ${recommended.m}, nbits ${recommended.nbits}, nprobe ≈ ${recommended.nprobe}` });

  // Held-out tuning queries are added last, after tuning, so they are never
  // their own nearest neighbour while recall is measured.
  const order = shuffledRows(n, seed);
  const queryRows = order.subarray(0, holdout);
  const baseRows = order.subarray(holdout);
  const queries = gather(data, queryRows, dimension);
  const base = gather(data, baseRows, dimension);
  const rowIds = (rows: Uint32Array) => BigInt64Array.from(rows, (row) => (ids ? ids[row] : BigInt(row)));
  const baseIds = rowIds(baseRows);
  const queryIds = rowIds(queryRows);
  const nlist = bag.nlist === undefined ? recommended.nlist : expectInteger(bag.nlist, 'nlist', 1, MAX_NLIST);
  // The 8-bit code the recommendation starts from (it may already be in its FastScan form).
  const recommendedM = recommended.fastScan ? recommended.m / 2 : recommended.m;
  const nbits = bag.nbits === undefined ? (recommended.fastScan ? 8 : recommended.nbits) : expectInteger(bag.nbits, 'nbits', 1, 8);
  const fastScanOption = bag.fastScan === undefined ? undefined : expectBoolean(bag.fastScan, 'fastScan');
  // Sized for the nlist and nbits actually built, overrides included.
  const trainSize = trainingSetSize(baseRows.length, dimension, nlist, nbits);
  if (trainSize < nlist) {
    throw new RangeError(`Expected at most ${trainSize} for nlist (k-means needs a training vector per list) but received ${nlist}`);
  }
  const trainRows = shuffledRows(baseRows.length, seed + 1).subarray(0, trainSize);
  const trainingSet = gather(base, trainRows, dimension);
  const truth = await exactNeighbours(base, queries, 10, dimension, metric, baseIds);
  const tuningTarget = Math.min(1, targetRecall + 2 * Math.sqrt((targetRecall * (1 - targetRecall)) / (10 * holdout)));

  // What to try, cheapest first; an override fixes its parameter and leaves the others free.
  type Plan = Required<Pick<IndexIVFPQOptions, 'm' | 'nbits' | 'refine' | 'fastScan'>>;
  const plans: Plan[] = [];
  const m = bag.m ?? recommendedM;
  const codes = bag.m === undefined ? [m, ...largerCodes(dimension, m)] : [m];
  const refines: Refine[] = bag.refine === undefined ? ['none', 'sq8', 'flat'] : [bag.refine];
  // FastScan keeps the code size: twice the sub-quantizers at 4 bits. With fastScan: true
  // it is all there is (m then counts 4-bit sub-quantizers); by default it goes first
  // wherever candidates are re-ranked, when nothing pins the code it would change.
  const fastScanFits = fastScanOption === undefined && bag.m === undefined && bag.nbits === undefined && nbits === 8 && dimension % (2 * m) === 0;
  for (const refine of refines) {
    if (fastScanOption === true) {
      plans.push({ m: bag.m ?? (dimension % (2 * m) === 0 ? 2 * m : m), nbits: 4, refine, fastScan: true });
      continue;
    }
    if (refine !== 'none' && fastScanFits) plans.push({ m: 2 * m, nbits: 4, refine, fastScan: true });
    for (const code of refine === 'none' ? codes : [m]) plans.push({ m: code, nbits, refine, fastScan: false });
  }
  const budget = bag.memoryBudgetBytes;
  let best: { recall: number; plan: string } | undefined;
  for (const [attempt, plan] of plans.entries()) {
    const refineBytes = plan.refine === 'flat' ? 4 * dimension : plan.refine === 'sq8' ? dimension : 0;
    const estimate = recommended.memoryBytes + n * ((plan.m * plan.nbits - m * nbits) / 8 + refineBytes + (refineBytes ? 8 : 0));
    if (budget !== undefined && attempt > 0 && estimate > budget) continue;
    const label = `m ${plan.m}${plan.fastScan ? ' (4-bit FastScan)' : ''}${plan.refine === 'none' ? '' : `, refine ${plan.refine}`}`;
    if (attempt > 0) progress({ step: 'retry', message: `recall ${best?.recall.toFixed(3)} below ${targetRecall}; trying ${label}` });
    const index = new IndexIVFPQ({
      dimension, metric, nlist, ...plan, kFactor: bag.kFactor ?? 4,
    });
    progress({ step: 'train', message: `training ${label} on ${trainingSet.length / dimension} vectors` });
    await index.train(trainingSet);
    for (let start = 0; start < baseIds.length; start += ADD_CHUNK) {
      const end = Math.min(baseIds.length, start + ADD_CHUNK);
      await index.addWithIds(base.subarray(start * dimension, end * dimension), baseIds.subarray(start, end));
      progress({ step: 'add', message: `added ${end} of ${n}`, fraction: end / n });
    }
    progress({ step: 'tune', message: `measuring recall@10 on ${holdout} held-out vectors` });
    const tuned = await tuneNprobe(index, queries, { k: 10, targetRecall: tuningTarget, groundTruth: truth });
    if (!best || tuned.recall > best.recall) best = { recall: tuned.recall, plan: label };
    const chosen = tuned.reached ? tuned : tuned.curve.find((point) => point.recall >= targetRecall);
    if (chosen) {
      index.nprobe = chosen.nprobe;
      await index.addWithIds(queries, queryIds);
      const report: BuildReport = {
        nlist: index.nlist, m: index.m, nbits: index.nbits, fastScan: index.fastScan, refine: index.refine, nprobe: chosen.nprobe,
        recall: chosen.recall, tuningTarget, bytesPerVector: index.memoryBytes / index.ntotal, curve: tuned.curve,
      };
      progress({ step: 'done', message: `nprobe ${chosen.nprobe} gives recall@10 ${chosen.recall.toFixed(3)} with ${label}` });
      return { index, report };
    }
    index.dispose();
  }
  throw new FaissError(
    `target recall@10 ${targetRecall} is out of reach${budget === undefined ? '' : ` within ${budget} bytes`}: the best measured was ${best?.recall.toFixed(3) ?? 'none'} (${best?.plan ?? 'no plan fit the budget'})`,
    'ERR_FAISS_TARGET_UNREACHABLE',
  );
}
