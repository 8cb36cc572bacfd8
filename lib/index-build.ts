// Index.build: picks the Faiss index that answers fastest at a target recall
// within a memory budget, by building the plausible candidates on the data and
// measuring each on held-out vectors against exact ground truth.
import { defaultCandidates, nlistFor, REFINE_K_FACTOR, trainingSize, type CandidatePlan } from './build-candidates';
import { FaissError } from './errors';
import { Index, type SearchDefaults } from './faiss-index';
import { METRICS, type Metric } from './metric';
import { gather, shuffledRows } from './sampling';
import { recallAt, smallestSetting, type SettingPoint, type SettingSearch } from './tune';
import { expectBigInt64Array, expectInteger, expectOneOf, expectOptions, expectString, expectVectors, fail } from './validate';

export interface IndexBuildProgress {
  step: 'plan' | 'truth' | 'train' | 'add' | 'tune' | 'measure' | 'skip' | 'done';
  message: string;
  /** The factory string of the candidate concerned. */
  candidate?: string;
  /** Fraction of the current step done, 0..1, where it is known. */
  fraction?: number;
}

export interface IndexBuildOptions {
  dimension: number;
  metric?: Metric;
  /** Wanted recall@10 on queries like the data, in (0, 1]. Default 0.9. */
  targetRecall?: number;
  /** Ceiling for the built index's memoryBytes. */
  memoryBudgetBytes?: number;
  /** One id per vector; default row numbers. */
  ids?: BigInt64Array;
  /** Vectors held out as tuning queries (added after tuning). Default n/200 within 300..1000, fewer where exact ground truth would cost over 3·10^10 multiply-adds. */
  tuningQueries?: number;
  /** Random seed for the held-out and training samples. */
  seed?: number;
  onProgress?: (progress: IndexBuildProgress) => void;
  /** Factory strings to choose among instead of the defaults, tried in this order. */
  candidates?: string[];
}

export interface CandidateReport {
  factory: string;
  /** recall@10 on the held-out queries at settings. */
  recall?: number;
  /** One query at a time on one thread, at settings. */
  qps?: number;
  /** Measured memoryBytes / ntotal. */
  bytesPerVector?: number;
  /** Estimated before building (default candidates). */
  estimatedBytesPerVector?: number;
  settings?: SearchDefaults;
  /** Whether recall met the tuning target. */
  reached?: boolean;
  /** Why it was not built or not eligible. */
  skipped?: string;
  seconds?: number;
}

export interface IndexBuildReport {
  /** The chosen factory string. */
  factory: string;
  /** The search options stored in the index as its defaults (and in its file). */
  searchOptions: SearchDefaults;
  recall: number;
  qps: number;
  bytesPerVector: number;
  targetRecall: number;
  /** targetRecall plus two standard errors of a recall measured on tuningQueries queries (capped at 1). */
  tuningTarget: number;
  tuningQueries: number;
  candidates: CandidateReport[];
  seconds: number;
}

const KEYS = [
  'dimension', 'metric', 'targetRecall', 'memoryBudgetBytes', 'ids', 'tuningQueries', 'seed', 'onProgress', 'candidates',
] as const;
const K = 10;
const MIN_VECTORS = 20;
const MAX_CANDIDATES = 32;
const ADD_CHUNK = 16_384;
const MIN_HOLDOUT = 300;
// Multiply-adds spent on exact ground truth (held-out × n × d): 300 queries for 10^5 × 10^3.
const TRUTH_BUDGET = 3e10;
const MAX_EF_SEARCH = 1024;
// Re-ranked candidates that miss at kFactor 4 get one more try with four times the candidates.
const RETRY_K_FACTOR = 16;
// A candidate estimated at this many times the memory per vector of one that
// already met the target is not built: among inverted files, more bytes per
// vector is more bytes scanned per query at equal recall.
const DOMINATED_RATIO = 1.5;
// A candidate whose batched QPS falls below 1/2 of that of one that met the target, before meeting it, is abandoned.
const GIVE_UP_RATIO = 2;
// One-query latency: at least this many queries, for at least this long.
const QPS_MIN_QUERIES = 20;
const QPS_MIN_SECONDS = 0.25;
const ONE_THREAD = { threads: 1 } as const;

class Skipped extends Error {}

interface Built {
  index: Index;
  report: CandidateReport & { recall: number; qps: number; bytesPerVector: number; settings: SearchDefaults; reached: boolean };
}

function expectTarget(value: unknown): number {
  if (value === undefined) return 0.9;
  if (typeof value !== 'number') fail('type', 'a number', 'targetRecall', value);
  if (!(value > 0 && value <= 1)) fail('range', 'a number in (0, 1]', 'targetRecall', value);
  return value;
}

function expectCandidates(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CANDIDATES) {
    fail('type', `an array of 1 to ${MAX_CANDIDATES} factory strings`, 'candidates', value);
  }
  return value.map((entry, i) => expectString(entry, `candidates[${i}]`));
}

/** Queries per second answering one query at a time on one thread, at the index's stored settings. */
function singleQueryQps(index: Index, queries: Float32Array, dimension: number): number {
  const n = queries.length / dimension;
  const one = (i: number) => queries.subarray(i * dimension, (i + 1) * dimension);
  for (let i = 0; i < Math.min(3, n); i++) index.searchSync(one(i), K, ONE_THREAD);
  const started = process.hrtime.bigint();
  let count = 0;
  let seconds = 0;
  while (count < n && (count < QPS_MIN_QUERIES || seconds < QPS_MIN_SECONDS)) {
    index.searchSync(one(count), K, ONE_THREAD);
    count++;
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return count / seconds;
}

type Chunks = (visit: (vectors: Float32Array, ids: BigInt64Array, done: number) => Promise<void>) => Promise<void>;

/** Visits the given rows in chunks of ADD_CHUNK, copied into one buffer reused from chunk to chunk. */
function baseChunks(data: Float32Array, dimension: number, rows: Uint32Array, idOf: (row: number) => bigint): Chunks {
  return async (visit) => {
    const buffer = new Float32Array(Math.min(rows.length, ADD_CHUNK) * dimension);
    const ids = new BigInt64Array(Math.min(rows.length, ADD_CHUNK));
    for (let start = 0; start < rows.length; start += ADD_CHUNK) {
      const count = Math.min(rows.length - start, ADD_CHUNK);
      for (let i = 0; i < count; i++) {
        const row = rows[start + i];
        buffer.set(data.subarray(row * dimension, (row + 1) * dimension), i * dimension);
        ids[i] = idOf(row);
      }
      // Awaited before the next chunk overwrites the buffer.
      await visit(buffer.subarray(0, count * dimension), ids.subarray(0, count), start + count);
    }
  };
}

/**
 * Exact top-K ids of queries among the chunked vectors: brute force (Faiss
 * IndexFlat) over one chunk at a time, merged, so that no second copy of the
 * whole collection is made.
 */
async function exactTopK(chunks: Chunks, queries: Float32Array, dimension: number, metric: Metric): Promise<BigInt64Array> {
  const nq = queries.length / dimension;
  const larger = metric !== 'l2'; // similarity: larger is nearer
  const ids = new BigInt64Array(nq * K).fill(-1n);
  const distances = new Float32Array(nq * K).fill(larger ? -Infinity : Infinity);
  const flat = Index.fromFactory(dimension, 'Flat', { metric, coalesce: false });
  try {
    await chunks(async (vectors, chunkIds) => {
      await flat.reset();
      await flat.addWithIds(vectors, chunkIds);
      const found = await flat.search(queries, K);
      for (let q = 0; q < nq; q++) {
        const pairs: [number, bigint][] = [];
        for (let j = q * K; j < (q + 1) * K; j++) {
          if (ids[j] >= 0n) pairs.push([distances[j], ids[j]]);
          if (found.labels[j] >= 0n) pairs.push([found.distances[j], found.labels[j]]);
        }
        pairs.sort((a, b) => (larger ? b[0] - a[0] : a[0] - b[0]));
        for (let j = 0; j < Math.min(K, pairs.length); j++) [distances[q * K + j], ids[q * K + j]] = pairs[j];
      }
    });
    return ids;
  } finally {
    flat.dispose();
  }
}

/**
 * The smallest main setting (nprobe, else efSearch) whose recall@K on the
 * held-out queries meets tuningTarget, at kFactor 4 for a re-ranked index
 * (16 if 4 cannot reach it); when only targetRecall is reachable, the smallest
 * meeting that; when neither, the best found.
 */
async function tuneCandidate(
  index: Index,
  queries: Float32Array,
  truth: BigInt64Array,
  tuningTarget: number,
  targetRecall: number,
  say: (message: string) => void,
  fastest: { factory: string; batchQps: number } | undefined,
): Promise<{ point: SettingPoint; settings: SearchDefaults; reached: boolean }> {
  const takes = index.searchParameters;
  const measure = async (settings: SearchDefaults) => {
    const started = process.hrtime.bigint();
    const { labels } = await index.search(queries, K, settings);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const recall = recallAt(labels, truth, K);
    const qps = truth.length / K / seconds;
    // Larger settings only find more, more slowly: once it answers at under half the
    // speed of a candidate that met the target, and still misses, it cannot win.
    if (fastest && recall < tuningTarget && qps * GIVE_UP_RATIO < fastest.batchQps) {
      throw new Skipped(
        `at ${JSON.stringify(settings)} recall ${recall.toFixed(3)} is still below the tuning target and its ` +
          `${Math.round(qps)} queries/s (batched) are under half of ${fastest.factory}'s ${Math.round(fastest.batchQps)}, which met it`,
      );
    }
    return { recall, qps };
  };
  const tuneWith = async (fixed: SearchDefaults): Promise<{ found: SettingSearch; settings: (value: number) => SearchDefaults }> => {
    if (takes.includes('nprobe')) {
      await index.setSearchDefaults({ nprobe: 2 ** 31 }); // clamped to nlist: the largest nprobe
      const nlist = index.searchDefaults.nprobe!;
      const found = await smallestSetting((nprobe) => measure({ ...fixed, nprobe }), 1, nlist, tuningTarget);
      return { found, settings: (nprobe) => ({ ...fixed, nprobe }) };
    }
    if (takes.includes('efSearch')) {
      const found = await smallestSetting((efSearch) => measure({ ...fixed, efSearch }), K, MAX_EF_SEARCH, tuningTarget);
      return { found, settings: (efSearch) => ({ ...fixed, efSearch }) };
    }
    const { recall, qps } = await measure(fixed);
    return { found: { value: 0, recall, reached: recall >= tuningTarget, points: [{ value: 0, recall, qps }] }, settings: () => fixed };
  };
  const refined = takes.includes('kFactor');
  let tuned = await tuneWith(refined ? { kFactor: REFINE_K_FACTOR } : {});
  if (!tuned.found.reached && refined) {
    say(`recall ${tuned.found.recall.toFixed(3)} at kFactor ${REFINE_K_FACTOR}; trying kFactor ${RETRY_K_FACTOR}`);
    const retry = await tuneWith({ kFactor: RETRY_K_FACTOR });
    if (retry.found.reached || retry.found.recall > tuned.found.recall) tuned = retry;
  }
  const { found } = tuned;
  const at = (value: number) => found.points.find((p) => p.value === value)!;
  const point = found.reached ? at(found.value) : found.points.find((p) => p.recall >= targetRecall) ?? at(found.value);
  return { point, settings: tuned.settings(point.value), reached: found.reached };
}

/**
 * Builds the index that answers fastest at targetRecall within
 * memoryBudgetBytes: holds out tuning queries, computes their exact
 * neighbours, builds each plausible candidate on the rest (a training sample,
 * then every vector), tunes its main search option (nprobe, efSearch) to the
 * smallest that meets the tuning target, stores it in the index, and measures
 * one-query-at-a-time QPS on one thread and memory per vector. The fastest
 * candidate that met the target wins and gets the held-out vectors added.
 */
export async function buildBestIndex(vectors: Float32Array, options: IndexBuildOptions): Promise<{ index: Index; report: IndexBuildReport }> {
  const started = performance.now();
  if (options === undefined) fail('type', 'an options object', 'options', options);
  const bag = expectOptions<IndexBuildOptions>(options, 'options', KEYS);
  const dimension = expectInteger(bag.dimension, 'dimension', 1, 65536);
  const data = expectVectors(vectors, dimension, 'vectors');
  const n = data.length / dimension;
  if (n < MIN_VECTORS) fail('range', `at least ${MIN_VECTORS} vectors`, 'vectors', data);
  const metric = bag.metric === undefined ? 'l2' : expectOneOf(bag.metric, 'metric', METRICS);
  const targetRecall = expectTarget(bag.targetRecall);
  const budget = bag.memoryBudgetBytes;
  if (budget !== undefined && (typeof budget !== 'number' || !(budget > 0) || !Number.isFinite(budget))) {
    fail(typeof budget === 'number' ? 'range' : 'type', 'a positive number of bytes', 'memoryBudgetBytes', budget);
  }
  const ids = bag.ids === undefined ? undefined : expectBigInt64Array(bag.ids, 'ids');
  if (ids && ids.length !== n) throw new RangeError(`Expected ${n} ids (one per vector) for ids but received length ${ids.length}`);
  const seed = bag.seed === undefined ? 1 : expectInteger(bag.seed, 'seed', 0, 2 ** 32 - 1);
  const progress = bag.onProgress ?? (() => {});
  if (typeof progress !== 'function') fail('type', 'a function', 'onProgress', progress);
  const holdout = bag.tuningQueries === undefined
    ? Math.max(1, Math.min(Math.floor(n / 5), Math.max(MIN_HOLDOUT, Math.min(1000, Math.floor(n / 200), Math.floor(TRUTH_BUDGET / (n * dimension))))))
    : expectInteger(bag.tuningQueries, 'tuningQueries', 1, n - MIN_VECTORS / 2);
  const given = expectCandidates(bag.candidates);
  // A string Faiss rejects fails here, before any work.
  for (const factory of given ?? []) Index.fromFactory(dimension, factory, { metric, coalesce: false }).dispose();

  // Held-out tuning queries are added last, after tuning, so they never find
  // themselves while recall is measured. The rest is read in place, in
  // ascending row order, through one reused chunk buffer: a 10^5 × 10^3 copy
  // would cost seconds of fresh pages.
  const queryRows = shuffledRows(n, seed).subarray(0, holdout);
  const held = new Uint8Array(n);
  for (const row of queryRows) held[row] = 1;
  const baseRows = new Uint32Array(n - holdout);
  for (let row = 0, i = 0; row < n; row++) if (!held[row]) baseRows[i++] = row;
  const idOf = (row: number) => (ids ? ids[row] : BigInt(row));
  const queries = gather(data, queryRows, dimension);
  const nBase = baseRows.length;
  const chunks = baseChunks(data, dimension, baseRows, idOf);
  const trainSize = trainingSize(nBase, nlistFor(nBase));
  const trainRows = shuffledRows(nBase, seed + 1).subarray(0, trainSize).map((i) => baseRows[i]);
  const trainingSet = gather(data, trainRows, dimension);
  // A factory string given with more lists than the default gets its 50 vectors per list.
  const trainingSetFor = (index: Index): Float32Array => {
    if (!index.searchParameters.includes('nprobe')) return trainingSet;
    index.setSearchDefaultsSync({ nprobe: 2 ** 31 }); // clamped to nlist
    const wanted = Math.min(nBase, trainingSize(nBase, index.searchDefaults.nprobe!));
    if (wanted <= trainSize) return trainingSet;
    return gather(data, shuffledRows(nBase, seed + 1).subarray(0, wanted).map((i) => baseRows[i]), dimension);
  };
  const plans: CandidatePlan[] = given
    ? given.map((factory) => ({ factory, dominable: false }))
    : defaultCandidates(nBase, dimension, targetRecall, trainSize);
  const plausible = plans.filter((p) => !p.implausible).map((p) => p.factory);
  progress({ step: 'plan', message: `${plausible.length} candidates for ${n} vectors of ${dimension}: ${plausible.join(', ')}` });

  progress({ step: 'truth', message: `exact top ${K} of ${holdout} held-out vectors among ${nBase}` });
  const truth = await exactTopK(chunks, queries, dimension, metric);
  const tuningTarget = Math.min(1, targetRecall + 2 * Math.sqrt((targetRecall * (1 - targetRecall)) / (K * holdout)));

  const fitsBudget = (bytes: number) => budget === undefined || bytes <= budget;
  const reports: CandidateReport[] = [];
  let best: Built | undefined;
  // The highest batched QPS at the tuned setting among candidates that met the target.
  let fastest: { factory: string; batchQps: number } | undefined;
  const better = (a: Built['report'], b: Built['report'] | undefined) =>
    !b || (a.reached !== b.reached ? a.reached : a.qps > b.qps);

  // An error that ends the build (a throwing onProgress, say) frees the candidate kept so far.
  try {
    for (const plan of plans) {
      const estimate = plan.estimatedBytesPerVector;
      const entry: CandidateReport = { factory: plan.factory, ...(estimate === undefined ? {} : { estimatedBytesPerVector: Math.round(estimate) }) };
      reports.push(entry);
      const winner = reports
        .filter((r) => r.reached && r.bytesPerVector !== undefined)
        .reduce<CandidateReport | undefined>((a, b) => (!a || b.bytesPerVector! < a.bytesPerVector! ? b : a), undefined);
      if (plan.implausible) entry.skipped = plan.implausible;
      else if (estimate !== undefined && !fitsBudget(estimate * n)) {
        entry.skipped = `needs about ${Math.round(estimate * n)} bytes, over the budget of ${budget}`;
      } else if (plan.dominable && winner && estimate !== undefined && estimate >= DOMINATED_RATIO * winner.bytesPerVector!) {
        entry.skipped = `${winner.factory} already met the target with ${Math.round(winner.bytesPerVector!)} bytes per vector; this needs about ${Math.round(estimate)}`;
      }
      if (entry.skipped) {
        progress({ step: 'skip', candidate: plan.factory, message: `${plan.factory}: ${entry.skipped}` });
        continue;
      }
      const candidateStart = performance.now();
      const index = Index.fromFactory(dimension, plan.factory, { metric, coalesce: false });
      let kept = false;
      try {
        const say = (step: IndexBuildProgress['step'], message: string, fraction?: number) =>
          progress({ step, candidate: plan.factory, message: `${plan.factory}: ${message}`, ...(fraction === undefined ? {} : { fraction }) });
        if (!index.isTrained) {
          const training = trainingSetFor(index);
          say('train', `training on ${training.length / dimension} vectors`);
          await index.train(training);
        }
        const emptyBytes = index.memoryBytes;
        await chunks(async (vectorsChunk, idsChunk, end) => {
          await index.addWithIds(vectorsChunk, idsChunk);
          say('add', `added ${end} of ${nBase}`, end / nBase);
          // Without an estimate, the first chunk tells the size per vector.
          const projected = emptyBytes + ((index.memoryBytes - emptyBytes) / end) * n;
          if (!fitsBudget(projected)) throw new Skipped(`needs about ${Math.round(projected)} bytes, over the budget of ${budget}`);
        });
        const bytesPerVector = index.memoryBytes / index.ntotal;
        entry.bytesPerVector = Math.round(bytesPerVector * 10) / 10;

        say('tune', `tuning on ${holdout} held-out vectors for recall@${K} ${tuningTarget.toFixed(3)}`);
        const { point, settings, reached } = await tuneCandidate(index, queries, truth, tuningTarget, targetRecall, (message) => say('tune', message), fastest);
        if (reached && (!fastest || point.qps > fastest.batchQps)) fastest = { factory: plan.factory, batchQps: point.qps };
        await index.setSearchDefaults(settings);
        say('measure', `recall@${K} ${point.recall.toFixed(3)} at ${JSON.stringify(settings)}; timing one query at a time`);
        const qps = singleQueryQps(index, queries, dimension);
        Object.assign(entry, { recall: point.recall, qps: Math.round(qps), settings, reached });
        const report = entry as Built['report'];
        if (report.reached || point.recall >= targetRecall) {
          if (better(report, best?.report)) {
            best?.index.dispose();
            best = { index, report };
            kept = true;
          }
        }
      } catch (error) {
        // A candidate that does not fit, or that Faiss cannot train on this data, is reported and passed over.
        if (!(error instanceof Skipped || error instanceof FaissError || error instanceof RangeError)) throw error;
        entry.skipped = error.message;
        progress({ step: 'skip', candidate: plan.factory, message: `${plan.factory}: ${error.message}` });
      } finally {
        entry.seconds = Math.round((performance.now() - candidateStart) / 100) / 10;
        if (!kept) index.dispose();
      }
    }
  } catch (error) {
    best?.index.dispose();
    throw error;
  }

  if (!best) {
    const tried = reports.filter((r) => r.recall !== undefined);
    const top = tried.reduce<CandidateReport | undefined>((a, b) => (!a || b.recall! > a.recall! ? b : a), undefined);
    const error = new FaissError(
      `target recall@${K} ${targetRecall} is out of reach${budget === undefined ? '' : ` within ${budget} bytes`}: the best measured was ${top ? `${top.recall!.toFixed(3)} (${top.factory})` : 'none (no candidate could be built)'}`,
      'ERR_FAISS_TARGET_UNREACHABLE',
    );
    throw Object.assign(error, { candidates: reports });
  }
  const { index, report: chosen } = best;
  await index.addWithIds(queries, BigInt64Array.from(queryRows, idOf));
  index.coalesceSearches = true;
  const report: IndexBuildReport = {
    factory: chosen.factory,
    searchOptions: chosen.settings,
    recall: chosen.recall,
    qps: chosen.qps,
    bytesPerVector: Math.round((index.memoryBytes / index.ntotal) * 10) / 10,
    targetRecall,
    tuningTarget,
    tuningQueries: holdout,
    candidates: reports,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  progress({ step: 'done', message: `${chosen.factory} at ${JSON.stringify(chosen.settings)}: recall@${K} ${chosen.recall.toFixed(3)}, ${chosen.qps} queries/s, ${report.bytesPerVector} bytes per vector` });
  return { index, report };
}
