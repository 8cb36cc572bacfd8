// One measurement in its own process, so that peak RSS and index memory
// belong to one library: `node bench/compare/worker.mjs '<json task>'`.
// Progress goes to stderr; the last stdout line is `RESULT <json>`.
//
// Tasks:
//   build   train/add (or addPoint) one configuration, save it to the cache
//   search  load a cached index, sweep its parameter over the modes asked for
//   refine  faiss-native + sq8: the cheapest (kFactor, nprobe) reaching a recall target
//   stream  one of two processes that share a one-query-per-call stream (peers' 2-thread mode)
//   floor   faiss-native against the C++ native floor (bench/native-floor.cc)
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { K, RESULT_PREFIX, callsFor, fileBytes, loadAverages, log, median, peakRssBytes, rssBytes, seconds, writeJson } from './common.mjs';
import { loadPrepared, recallAt10 } from './data.mjs';
import { ADAPTERS, ompThreads } from '../peers/adapters.mjs';
import { runFloor } from './floor.mjs';
import { measureOverhead } from './overhead.mjs';
import { faissNative } from './package.mjs';

const task = JSON.parse(process.argv[2]);
const adapter = ADAPTERS[task.config?.lib];

function finish(result) {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

// ---- build ------------------------------------------------------------------

async function build() {
  const data = loadPrepared(task.dataset, ['base', 'train']);
  const rssBefore = rssBytes();
  const started = performance.now();
  const built = await adapter.build({ data, config: task.config, threads: task.threads });
  const buildMs = performance.now() - started;
  const rssAfter = rssBytes();
  mkdirSync(path.dirname(task.indexFile), { recursive: true });
  adapter.save(built.index, task.indexFile);
  const record = {
    lib: adapter.name,
    version: adapter.version(),
    config: task.config.id,
    buildMs: Math.round(buildMs),
    phases: Object.fromEntries(Object.entries(built.phases).map(([key, ms]) => [key, Math.round(ms)])),
    threads: built.threads ?? task.threads ?? ompThreads(),
    note: built.note ?? null,
    // The process holds the data set (base and training sample) before the build starts.
    rssBeforeBytes: rssBefore,
    rssAfterBytes: rssAfter,
    peakRssBytes: peakRssBytes(),
    libraryBytes: adapter.memoryBytes(built.index),
    fileBytes: fileBytes(task.indexFile),
    ntotal: data.baseCount,
    loadAverage: loadAverages(),
    builtAt: new Date().toISOString(),
  };
  writeJson(`${task.indexFile}.build.json`, record);
  log(`  ${task.config.label}: built in ${seconds(buildMs)} (${record.threads ?? '?'} thread(s)), peak RSS ${(record.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
  finish(record);
}

// ---- search -----------------------------------------------------------------

function loadIndex(data) {
  adapter.preload();
  global.gc?.();
  const before = rssBytes();
  const started = performance.now();
  const index = adapter.load(task.indexFile, task.config, data);
  const loadMs = performance.now() - started;
  global.gc?.();
  return { index, loadMs, rssDelta: rssBytes() - before };
}

/** One timed sample of a mode: at least one pass over all queries, repeated to about targetMs. */
async function sample(index, input, value, mode, count, plan) {
  const extra = task.extra ?? {};
  let labels;
  const run = async () => {
    if (mode === 'one-1t') {
      labels = new Array(count);
      for (let i = 0; i < count; i++) labels[i] = adapter.one(index, input, i, value, extra);
    } else if (mode === 'one-2t') {
      // faiss-native: two one-query search() calls in flight on one index (libuv pool).
      labels = new Array(count);
      let next = 0;
      const chain = async () => {
        while (next < count) {
          const i = next++;
          labels[i] = await adapter.oneAsync(index, input, i, value, extra);
        }
      };
      await Promise.all([chain(), chain()]);
    } else {
      labels = adapter.batch(index, input, value, mode === 'batch-1t' ? 1 : 2, extra);
    }
  };
  const start = performance.now();
  await run();
  let passes = 1;
  const first = performance.now() - start;
  const more = callsFor(first, plan.targetMs) - 1;
  for (let i = 0; i < more; i++, passes++) await run();
  const ms = performance.now() - start;
  return { qps: (count * passes) / (ms / 1000), labels };
}

function flatLabels(labels, count) {
  // One n × K typed array or number[] (batches), or one row per query (1 query per call).
  if (!Array.isArray(labels) || typeof labels[0] === 'number') return labels;
  const out = new Float64Array(count * K).fill(-1);
  labels.forEach((row, q) => {
    for (let j = 0; j < Math.min(K, row.length); j++) out[q * K + j] = Number(row[j]);
  });
  return out;
}

async function search() {
  const data = loadPrepared(task.dataset, ['queries', 'truth']);
  const count = data.queryCount;
  const { index: loaded, loadMs, rssDelta } = loadIndex(data);
  if (adapter.name === 'faiss-native') loaded.coalesceSearches = false;
  const input = adapter.toInput(data.queries, data.dimension);
  const points = [];
  let index = loaded;
  for (const value of task.values) {
    index = adapter.tune(index, value, { file: task.indexFile, config: task.config, data });
    if (adapter.name === 'faiss-native') index.coalesceSearches = false;
    const modes = task.modes.filter((mode) => !mode.startsWith('batch') || adapter.batch);
    // Warm-up: one untimed pass per mode (page-in, thread pools, JIT).
    for (const mode of modes) await sample(index, input, value, mode, count, { targetMs: 0 });
    const samples = Object.fromEntries(modes.map((mode) => [mode, []]));
    let recall = null;
    const window = performance.now();
    // Round-robin over the modes, so a noisy phase of the machine hits all of them.
    for (let rep = 0; rep < task.reps; rep++) {
      for (const mode of modes) {
        const { qps, labels } = await sample(index, input, value, mode, count, task);
        samples[mode].push(qps);
        const r = recallAt10(flatLabels(labels, count), data.truth, count);
        recall = recall === null ? r : Math.min(recall, r);
      }
    }
    for (const mode of modes) {
      points.push({ value, mode, qps: median(samples[mode]), samples: samples[mode].map(Math.round), recall });
    }
    log(`  ${task.config.label} ${task.config.param} ${value}: recall@10 ${recall.toFixed(3)}, ${modes.map((mode) => `${mode} ${Math.round(median(samples[mode]))} QPS`).join(', ')} (${seconds(performance.now() - window)})`);
  }
  finish({
    lib: adapter.name,
    config: task.config.id,
    param: task.config.param,
    extra: task.extra ?? null,
    ompThreads: ompThreads(),
    loadMs: Math.round(loadMs),
    rssDeltaBytes: rssDelta,
    libraryBytes: adapter.memoryBytes(loaded),
    fileBytes: fileBytes(task.indexFile),
    points,
    loadAverage: loadAverages(),
    peakRssBytes: peakRssBytes(),
  });
}

// ---- refine -----------------------------------------------------------------

/**
 * For each kFactor, the smallest nprobe whose batched recall@10 meets the
 * target (doubling, then bisection, as tuneNprobe does), and that point's
 * batched QPS on 2 threads. tuneNprobe itself runs too, at the cheapest
 * kFactor found (or the index's own, when none reached the target).
 */
async function refine() {
  const { tuneNprobe } = faissNative();
  const data = loadPrepared(task.dataset, ['queries', 'truth']);
  const count = data.queryCount;
  const { index, rssDelta } = loadIndex(data);
  const truth = BigInt64Array.from(data.truth, BigInt);
  const target = task.targetRecall;
  const maxNprobe = Math.min(index.nlist, task.maxNprobe);
  const grid = [];
  const measure = (nprobe, kFactor) => {
    const start = performance.now();
    const { labels } = index.searchSync(data.queries, K, { nprobe, kFactor, threads: 2 });
    const point = { kFactor, nprobe, recall: recallAt10(labels, data.truth, count), roughQps: count / ((performance.now() - start) / 1000) };
    grid.push(point);
    return point;
  };
  const reached = [];
  for (const kFactor of task.kFactors) {
    let low = 0;
    let high = 0;
    for (let nprobe = 1; ; nprobe = Math.min(maxNprobe, nprobe * 2)) {
      if (measure(nprobe, kFactor).recall >= target) {
        high = nprobe;
        break;
      }
      low = nprobe;
      if (nprobe === maxNprobe) break;
    }
    if (high === 0) {
      log(`  kFactor ${kFactor}: recall@10 ${target} not reached up to nprobe ${maxNprobe}`);
      continue;
    }
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (measure(middle, kFactor).recall >= target) high = middle;
      else low = middle;
    }
    reached.push(grid.find((p) => p.kFactor === kFactor && p.nprobe === high));
  }
  // Rank the candidates by a steadier QPS: the median of 3 batched runs each.
  for (const point of reached) {
    const qps = [];
    for (let rep = 0; rep < 3; rep++) {
      const start = performance.now();
      index.searchSync(data.queries, K, { nprobe: point.nprobe, kFactor: point.kFactor, threads: 2 });
      qps.push(count / ((performance.now() - start) / 1000));
    }
    point.qps = median(qps);
    log(`  kFactor ${point.kFactor}: nprobe ${point.nprobe} reaches recall@10 ${point.recall.toFixed(3)}, ${Math.round(point.qps)} QPS batched on 2 threads`);
  }
  reached.sort((a, b) => b.qps - a.qps);
  const tunedKFactor = reached[0]?.kFactor ?? index.kFactor;
  const tuned = await tuneNprobe(index, data.queries, { k: K, targetRecall: target, groundTruth: truth, kFactor: tunedKFactor });
  finish({
    config: task.config.id,
    targetRecall: target,
    defaultKFactor: index.kFactor,
    tuneNprobe: { nprobe: tuned.nprobe, recall: tuned.recall, reached: tuned.reached, kFactor: tuned.kFactor },
    best: reached[0] ?? null,
    candidates: reached,
    grid,
    rssDeltaBytes: rssDelta,
    libraryBytes: index.memoryBytes,
  });
}

// ---- stream -----------------------------------------------------------------

/** Waits for 'go' messages; each runs this process's share of the queries once. */
async function stream() {
  const data = loadPrepared(task.dataset, ['queries']);
  const count = data.queryCount;
  let { index } = loadIndex(data);
  const input = adapter.toInput(data.queries, data.dimension);
  const mine = [];
  for (let i = task.part; i < count; i += task.parts) mine.push(i);
  let value = null;
  process.on('message', (message) => {
    if (message.value !== value) {
      value = message.value;
      index = adapter.tune(index, value, { file: task.indexFile, config: task.config, data });
    }
    const labels = {};
    const start = performance.now();
    for (const i of mine) labels[i] = adapter.one(index, input, i, value);
    const ms = performance.now() - start;
    process.send({ ms, labels: message.wantLabels ? Object.fromEntries(Object.entries(labels).map(([i, row]) => [i, Array.from(row, Number)])) : null });
  });
  process.send({ ready: true, peakRssBytes: peakRssBytes() });
}

/**
 * The library's own path to a recall target: buildIndex (IndexIVFPQ.build)
 * tunes nprobe on vectors it holds out of the base; its choice is then checked
 * on the benchmark's 1,000 held-out queries, which it never saw.
 */
async function libraryBuild() {
  const { buildIndex } = faissNative();
  const data = loadPrepared(task.dataset, ['base', 'queries', 'truth']);
  const started = performance.now();
  const steps = [];
  const { index, report } = await buildIndex(data.base, {
    dimension: data.dimension, metric: data.metric, seed: 42, ...task.options,
    onProgress: ({ step, message }) => {
      if (step !== 'add') log(`    buildIndex: ${step}: ${message}`);
      if (step !== 'add') steps.push(`${step}: ${message}`);
    },
  });
  const buildMs = performance.now() - started;
  const { labels } = index.searchSync(data.queries, K, { threads: 2 });
  const recall = recallAt10(labels, data.truth, data.queryCount);
  log(`  buildIndex: nprobe ${report.nprobe}, recall@10 ${report.recall.toFixed(3)} on its own tuning vectors, ${recall.toFixed(3)} on the benchmark's held-out queries (${seconds(buildMs)})`);
  finish({ options: task.options, report: { ...report, curve: undefined }, curve: report.curve, heldOutRecall: recall, buildMs: Math.round(buildMs), threads: 'default (2)', steps });
}

/**
 * faiss-node against faiss-native in one process, on the same index file
 * (faiss-native's, whose stored nprobe is 1: faiss-node has no setter), one
 * OpenMP thread each (OMP_NUM_THREADS=1), samples alternating: what each
 * binding adds around the same Faiss calls. Also add(): the same vectors into
 * a copy of the same index each.
 */
async function peerOverhead() {
  const { IndexIVFPQ } = faissNative();
  const faiss = ADAPTERS['faiss-node'].preload();
  const data = loadPrepared(task.dataset, ['queries', 'truth', 'base']);
  const n = data.queryCount;
  const d = data.dimension;
  const mine = IndexIVFPQ.readSync(task.indexFile);
  const theirs = faiss.Index.read(task.indexFile);
  const rows = Array.from({ length: n }, (_, i) => data.queries.subarray(i * d, (i + 1) * d));
  const arrayRows = rows.map((row) => Array.from(row));
  const arrayAll = Array.from(data.queries);
  const addCount = Math.min(task.addCount, data.baseCount);
  const addVectors = data.base.subarray(0, addCount * d);
  const run = {
    batch: {
      mine: () => mine.searchSync(data.queries, K, { nprobe: 1, threads: 1 }).labels,
      theirs: () => theirs.search(arrayAll, K).labels,
    },
    single: {
      mine: () => rows.map((row) => mine.searchSync(row, K, { nprobe: 1 }).labels),
      theirs: () => arrayRows.map((row) => theirs.search(row, K).labels),
    },
  };
  const sameLabels = (a, b) => {
    const flat = (x) => (Array.isArray(x) && typeof x[0] !== 'number' ? x.flatMap((row) => Array.from(row, Number)) : Array.from(x, Number));
    const [fa, fb] = [flat(a), flat(b)];
    return fa.length === fb.length && fa.every((v, i) => v === fb[i]);
  };
  const result = { dataset: task.dataset, ompThreads: ompThreads(), nprobe: 1, reps: task.reps };
  for (const [mode, pair] of Object.entries(run)) {
    const same = sameLabels(pair.mine(), pair.theirs());
    const samples = { mine: [], theirs: [] };
    for (let rep = 0; rep < task.reps; rep++) {
      for (const who of rep % 2 ? ['theirs', 'mine'] : ['mine', 'theirs']) {
        const start = performance.now();
        pair[who]();
        samples[who].push(((performance.now() - start) * 1000) / n);
      }
    }
    result[mode] = {
      faissNativeUs: Math.min(...samples.mine),
      faissNodeUs: Math.min(...samples.theirs),
      pairedRatio: median(samples.mine.map((us, i) => samples.theirs[i] / us)),
      sameLabels: same,
      recall: mode === 'batch' ? recallAt10(pair.mine(), data.truth, n) : undefined,
    };
  }
  result.single.recall = result.batch.recall;
  // add(): the same vectors into a fresh copy of the same index, alternating.
  const adds = { mine: [], theirs: [] };
  for (let rep = 0; rep < task.addReps; rep++) {
    for (const who of rep % 2 ? ['theirs', 'mine'] : ['mine', 'theirs']) {
      if (who === 'mine') {
        const copy = IndexIVFPQ.readSync(task.indexFile);
        const start = performance.now();
        copy.addSync(addVectors, { threads: 1 });
        adds.mine.push(((performance.now() - start) * 1000) / addCount);
        copy.dispose();
      } else {
        const copy = faiss.Index.read(task.indexFile);
        const start = performance.now();
        copy.add(Array.from(addVectors)); // its add() takes number[]: the conversion is part of the call
        adds.theirs.push(((performance.now() - start) * 1000) / addCount);
      }
    }
  }
  result.add = {
    vectors: addCount,
    faissNativeUs: Math.min(...adds.mine),
    faissNodeUs: Math.min(...adds.theirs),
    pairedRatio: median(adds.mine.map((us, i) => adds.theirs[i] / us)),
  };
  mine.dispose();
  log(`  faiss-node vs faiss-native, same index, nprobe 1, 1 thread: batch ${result.batch.faissNodeUs.toFixed(1)} vs ${result.batch.faissNativeUs.toFixed(1)} µs/query, ` +
    `1 query/call ${result.single.faissNodeUs.toFixed(1)} vs ${result.single.faissNativeUs.toFixed(1)} µs, add ${result.add.faissNodeUs.toFixed(1)} vs ${result.add.faissNativeUs.toFixed(1)} µs/vector; same labels ${result.batch.sameLabels && result.single.sameLabels}`);
  finish(result);
}

async function floor() {
  const data = loadPrepared(task.dataset, task.compareBuild ? ['queries', 'truth', 'base', 'train'] : ['queries', 'truth']);
  const result = await runFloor(task, data);
  if (task.overhead) {
    log('  per-call layers on a tiny index (CPU µs per one-query call)');
    result.overhead = await measureOverhead({ binary: task.binary, samples: task.overhead.samples });
  }
  finish(result);
}

const tasks = { build, search, refine, stream, floor, libraryBuild, peerOverhead };
tasks[task.task]().catch((error) => {
  log(error.stack ?? String(error));
  process.exitCode = 1;
});
