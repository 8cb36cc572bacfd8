// One interface over the libraries compared, so the measuring code is the same
// for all of them:
//   build({ data, config })         → { index, phases: { trainMs?, addMs }, threads, note? }
//   save(index, file) / load(file, config)
//   tune(index, param, { file, config }) → the index to search with that parameter
//                                     (usearch fixes expansion_search when an index is made)
//   toInput(queries, d)             → { all, rows }: the queries in the form the library
//                                     takes (all at once, and one per row), converted
//                                     before any timing starts
//   one(index, input, i, param)     → labels of query i (1 query per call, blocking)
//   batch(index, input, param, threads) → labels, n × K (null: the library has no batch call)
//   oneAsync(index, input, i, param) → Promise of labels (faiss-native only)
//   memoryBytes(index)              → what the library says it holds, or null
//   preload()                       → loads the library's code, so that the RSS growth
//                                     measured around load() is the index alone
//   dispose(index)
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { K, repoRoot } from '../compare/common.mjs';
import { faissNative as loadFaissNative } from '../compare/package.mjs';

const require = createRequire(path.join(repoRoot, 'package.json'));

/** A package's version, also for packages whose exports map hides package.json (usearch). */
function version(name) {
  try {
    let dir = path.dirname(require.resolve(name));
    for (;;) {
      const manifest = path.join(dir, 'package.json');
      if (existsSync(manifest)) {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8'));
        if (parsed.name === name) return parsed.version;
      }
      if (path.dirname(dir) === dir) return null;
      dir = path.dirname(dir);
    }
  } catch {
    return null;
  }
}

function asNumberArray(view) {
  return Array.from(view);
}

/** The queries as one Float32Array and as one subarray view per row. */
function typedRows(queries, d) {
  return { all: queries, rows: Array.from({ length: queries.length / d }, (_, i) => queries.subarray(i * d, (i + 1) * d)) };
}

/** Configurations compared per data set, with their sweep parameter. */
export function libraryConfigs(dataset, { quick }) {
  const { nlist, m } = dataset.ivf;
  const hnswEf = quick ? [10, 32, 128] : [10, 20, 40, 80, 160, 320, 640];
  const nprobes = (quick ? [1, 4, 16] : [1, 2, 4, 8, 16, 32, 64, 128]).filter((p) => p <= nlist / 4);
  const configs = [
    {
      id: 'faiss-native', lib: 'faiss-native', label: `faiss-native IVF${nlist},PQ${m}`,
      options: { nlist, m }, param: 'nprobe', values: nprobes,
    },
  ];
  if (dataset.metric === 'cosine') {
    configs.push({
      id: 'faiss-native-sq8', lib: 'faiss-native', label: `faiss-native IVF${nlist},PQ${m} + sq8 refine`,
      options: { nlist, m, refine: 'sq8' }, param: 'nprobe', values: null /* chosen by the refine goal */, refineGoal: true,
    });
    if (!quick) {
      configs.push({
        id: 'faiss-native-pq25-sq8', lib: 'faiss-native', label: `faiss-native IVF${nlist},PQ25 + sq8 refine`,
        options: { nlist, m: 25, refine: 'sq8' }, param: 'nprobe', values: null, refineGoal: true,
      });
    }
  }
  configs.push(
    {
      id: 'faiss-node', lib: 'faiss-node', label: `faiss-node IVF${nlist},PQ${m}`,
      options: { nlist, m }, param: 'nprobe', values: [1],
      note: `no nprobe setter: nprobe 1 only; index_factory("${dataset.metric === 'cosine' ? 'L2norm,' : ''}IVF${nlist},PQ${m}np"): "np" turns off the polysemous training the factory adds by default (minutes of simulated annealing), so it builds the same index as faiss-native`,
    },
    {
      id: 'hnswlib', lib: 'hnswlib-node', label: 'hnswlib-node HNSW M16 efC200',
      options: { M: 16, efConstruction: 200 }, param: 'ef', values: hnswEf,
    },
    {
      id: 'usearch', lib: 'usearch', label: 'usearch HNSW M16 f32',
      options: { connectivity: 16, expansionAdd: 128, quantization: 'f32' }, param: 'ef', values: hnswEf,
    },
  );
  if (dataset.metric === 'cosine' && !quick) {
    configs.push({
      id: 'usearch-i8', lib: 'usearch', label: 'usearch HNSW M16 i8',
      options: { connectivity: 16, expansionAdd: 128, quantization: 'i8' }, param: 'ef', values: hnswEf,
    });
  }
  return configs;
}

// ---------------------------------------------------------------------------

const faissNative = {
  name: 'faiss-native',
  preload: () => loadFaissNative(),
  version: () => require('./package.json').version,
  ext: 'faissindex',
  async build({ data, config, threads }) {
    const { IndexIVFPQ } = loadFaissNative();
    const { nlist, m, refine } = config.options;
    const index = new IndexIVFPQ({ dimension: data.dimension, nlist, m, metric: data.metric, ...(refine ? { refine } : {}) });
    let t = performance.now();
    index.trainSync(data.train, { threads });
    const trainMs = performance.now() - t;
    t = performance.now();
    index.addSync(data.base, { threads });
    return { index, phases: { trainMs, addMs: performance.now() - t }, threads };
  },
  save: (index, file) => index.writeSync(file),
  load(file) {
    const { IndexIVFPQ } = loadFaissNative();
    return IndexIVFPQ.readSync(file);
  },
  tune: (index) => index,
  toInput: typedRows,
  one: (index, input, i, nprobe, extra) => index.searchSync(input.rows[i], K, { nprobe, ...extra }).labels,
  oneAsync: (index, input, i, nprobe, extra) => index.search(input.rows[i], K, { nprobe, ...extra }).then((r) => r.labels),
  batch: (index, input, nprobe, threads, extra) => index.searchSync(input.all, K, { nprobe, threads, ...extra }).labels,
  memoryBytes: (index) => index.memoryBytes,
  dispose: (index) => index.dispose(),
};

// faiss-node: number[] in and out, index_factory strings, no nprobe setter,
// OpenMP threads from OMP_NUM_THREADS (the process's default).
const faissNode = {
  name: 'faiss-node',
  preload: () => require('faiss-node'),
  version: () => version('faiss-node'),
  ext: 'faissindex',
  async build({ data, config }) {
    const faiss = require('faiss-node');
    const { nlist, m } = config.options;
    const cosine = data.metric === 'cosine';
    // "np": no polysemous training, which index_factory otherwise turns on for
    // IVF-PQ (minutes of simulated annealing on the PQ codes); without it this
    // is the same index faiss-native builds.
    const index = faiss.Index.fromFactory(
      data.dimension,
      `${cosine ? 'L2norm,' : ''}IVF${nlist},PQ${m}np`,
      cosine ? faiss.MetricType.METRIC_INNER_PRODUCT : faiss.MetricType.METRIC_L2,
    );
    // Its train() and add() take number[]: the conversion is part of using it.
    let t = performance.now();
    index.train(asNumberArray(data.train));
    const trainMs = performance.now() - t;
    t = performance.now();
    const chunk = 50_000 * data.dimension;
    for (let start = 0; start < data.base.length; start += chunk) {
      index.add(asNumberArray(data.base.subarray(start, start + chunk)));
    }
    return { index, phases: { trainMs, addMs: performance.now() - t }, threads: ompThreads(), note: 'number[] inputs, converted inside the timed build' };
  },
  save: (index, file) => index.write(file),
  load(file) {
    const faiss = require('faiss-node');
    return faiss.Index.read(file);
  },
  tune: (index) => index,
  toInput: (queries, d) => ({ all: asNumberArray(queries), rows: typedRows(queries, d).rows.map(asNumberArray) }),
  one: (index, input, i) => index.search(input.rows[i], K).labels,
  batch: (index, input) => index.search(input.all, K).labels,
  memoryBytes: () => null,
  dispose: () => {},
};

const hnswlib = {
  name: 'hnswlib-node',
  preload: () => require('hnswlib-node'),
  version: () => version('hnswlib-node'),
  ext: 'hnsw',
  async build({ data, config }) {
    const { HierarchicalNSW } = require('hnswlib-node');
    const index = new HierarchicalNSW(data.metric === 'cosine' ? 'cosine' : 'l2', data.dimension);
    index.initIndex({ maxElements: data.baseCount, m: config.options.M, efConstruction: config.options.efConstruction, randomSeed: 100 });
    const d = data.dimension;
    const t = performance.now();
    // addPoint takes number[], one vector per call, on the calling thread only.
    for (let i = 0; i < data.baseCount; i++) index.addPoint(asNumberArray(data.base.subarray(i * d, (i + 1) * d)), i);
    return { index, phases: { addMs: performance.now() - t }, threads: 1, note: 'addPoint: one number[] per call, single-threaded' };
  },
  save: (index, file) => index.writeIndexSync(file),
  load(file, config, data) {
    const { HierarchicalNSW } = require('hnswlib-node');
    const index = new HierarchicalNSW(data.metric === 'cosine' ? 'cosine' : 'l2', data.dimension);
    index.readIndexSync(file);
    return index;
  },
  tune(index, ef) {
    index.setEf(ef);
    return index;
  },
  toInput: (queries, d) => ({ all: null, rows: typedRows(queries, d).rows.map(asNumberArray) }),
  one: (index, input, i) => index.searchKnn(input.rows[i], K).neighbors,
  batch: null,
  memoryBytes: () => null,
  dispose: () => {},
};

function usearchModule() {
  return require('usearch');
}

function usearchIndex(data, config, ef) {
  const { Index, MetricKind, ScalarKind } = usearchModule();
  const quantization = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 }[config.options.quantization];
  return new Index({
    dimensions: data.dimension,
    metric: data.metric === 'cosine' ? MetricKind.Cos : MetricKind.L2sq,
    quantization,
    connectivity: config.options.connectivity,
    expansion_add: config.options.expansionAdd,
    expansion_search: ef,
  });
}

const usearch = {
  name: 'usearch',
  preload: () => usearchModule(),
  version: () => version('usearch'),
  ext: 'usearch',
  async build({ data, config, threads }) {
    const index = usearchIndex(data, config, 64);
    const keys = BigUint64Array.from({ length: data.baseCount }, (_, i) => BigInt(i));
    const t = performance.now();
    index.add(keys, data.base, threads);
    return { index, phases: { addMs: performance.now() - t }, threads };
  },
  save: (index, file) => index.save(file),
  load(file, config, data) {
    const index = usearchIndex(data, config, 64);
    index.load(file);
    return index;
  },
  // expansion_search is fixed when an Index is made: a new one per ef, loaded from the file.
  tune(index, ef, { file, config, data }) {
    const tuned = usearchIndex(data, config, ef);
    tuned.load(file);
    return tuned;
  },
  toInput: typedRows,
  one: (index, input, i) => index.search(input.rows[i], K, 1).keys,
  batch: (index, input, ef, threads) => index.search(input.all, K, threads).keys,
  memoryBytes: () => null,
  dispose: () => {},
};

export const ADAPTERS = { 'faiss-native': faissNative, 'faiss-node': faissNode, 'hnswlib-node': hnswlib, usearch };

export function ompThreads() {
  const fromEnv = Number(process.env.OMP_NUM_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : null;
}
