// npm run bench:scale [-- --quick] — the billion-scale recipe, measured at 10 million vectors.
//
// Synthetic clustered vectors (d = 96), generated deterministically from their id in
// batches (never all in memory), go through the sharded path:
//   1. train    train one IndexIVFPQ on a strided sample of the data, save the template;
//   2. build    buildSharded(): worker threads add the batches with their global ids and
//               write one shard file each;
//   3. merge    mergeOnDisk(): one index file plus one data file (OnDiskInvertedLists);
//   4. search   IndexIVFPQ.read(indexPath) in a fresh process (lists memory-mapped from the
//               data file): a cold pass after dropping the data file from the page cache,
//               then QPS at several nprobe, single-query and batched, 1 and 2 threads;
//   5. verify   the merged on-disk index returns the same top-10 as the shards searched
//               together (IndexShards), so the merge lost nothing at this size.
// Each step runs in its own child process, so its peak RSS (VmHWM) is its own; the main
// thread also samples RSS (workers included: they are threads of the same process).
// A calibration step times Faiss's coarse assignment per vector and centroid, so the
// build cost can be extrapolated to larger nlist. The data is synthetic: no recall figures.
//
// Markdown to stdout (and bench/results/scale.md), JSON to bench/results/scale.json;
// `--quick` writes scale-quick.*; `--render` rewrites the Markdown from an earlier run's JSON.
// Work files go to .cache/scale[-quick]/ and are deleted at the end unless --keep.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, fdatasyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, statfsSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IndexFlat, IndexIVFPQ, IndexShards, buildSharded, mergeOnDisk } from 'faiss-native';
import { writeAtomically } from '../tools/datasets.mjs';

const selfPath = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(selfPath), '..');
const resultsDir = path.join(root, 'bench', 'results');

const DIMENSION = 96;
const K = 10;
const QUERIES = 1000;
const CONCURRENCY = 32;
const COLD_NPROBE = 32;
const VERIFY_QUERIES = 200;
const GiB = 2 ** 30;

// ---------------------------------------------------------------------------------------
// Settings

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    nlist: { type: 'string' },
    m: { type: 'string', default: '16' },
    metric: { type: 'string', default: 'l2' },
    'train-size': { type: 'string' },
    batch: { type: 'string', default: '50000' },
    workers: { type: 'string', default: '2' },
    nprobe: { type: 'string', default: '1,8,32,128' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
    // Rewrite the Markdown (and extrapolation) from the JSON of an earlier run, without running.
    render: { type: 'boolean', default: false },
    // Internal: run one step in this (child) process.
    phase: { type: 'string' },
    config: { type: 'string' },
  },
});

function positiveInteger(value, name) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new RangeError(`Expected a positive integer for ${name} but received '${value}'`);
  return number;
}

function settingsFromArgs() {
  const quick = args.quick;
  const n = positiveInteger(args.n ?? (quick ? 1_000_000 : 10_000_000), 'n');
  const nlist = positiveInteger(args.nlist ?? (quick ? 1024 : 4096), 'nlist');
  const m = positiveInteger(args.m, 'm');
  if (DIMENSION % m !== 0) throw new RangeError(`Expected a divisor of ${DIMENSION} for m but received ${m}`);
  if (!['l2', 'ip'].includes(args.metric)) throw new RangeError(`Expected 'l2' or 'ip' for metric but received '${args.metric}'`);
  // 40 training vectors per list: Faiss wants at least 39.
  const trainSize = positiveInteger(args['train-size'] ?? Math.min(n, 40 * nlist), 'train-size');
  const nprobes = args.nprobe.split(',').map((value) => positiveInteger(value, 'nprobe'));
  if (nprobes.some((p) => p > nlist)) throw new RangeError(`Expected nprobe values up to nlist (${nlist}) but received ${args.nprobe}`);
  const name = quick ? 'scale-quick' : 'scale';
  return {
    quick,
    n,
    dimension: DIMENSION,
    nlist,
    m,
    nbits: 8,
    metric: args.metric,
    trainSize,
    batchSize: positiveInteger(args.batch, 'batch'),
    workers: positiveInteger(args.workers, 'workers'),
    nprobes,
    queries: QUERIES,
    dir: path.resolve(args.dir ?? path.join(root, '.cache', name)),
    out: path.resolve(args.out ?? path.join(resultsDir, `${name}.json`)),
    keep: args.keep,
    minSeconds: quick ? 0.5 : 1.5,
  };
}

function filesOf(settings) {
  const dir = settings.dir;
  return {
    template: path.join(dir, 'template.index'),
    shardDir: path.join(dir, 'shards'),
    index: path.join(dir, 'merged.index'),
    data: path.join(dir, 'merged.ivfdata'),
  };
}

// ---------------------------------------------------------------------------------------
// Synthetic clustered data, a pure function of the vector id: any batch can be produced
// on its own, in any order, by any process.
//
// 10,000 centres drawn from N(0, 1) per dimension; vector `id` belongs to cluster
// floor(10000·u²) for a uniform u (skewed sizes: the biggest cluster holds 1 %, the
// smallest 0.005 %), and is its centre plus noise of σ = 0.5 per dimension (sum of four
// uniforms, close to Gaussian).

const CLUSTERS = 10_000;
const SIGMA = 0.5;
const SEED = 0x5ca1ab1e;

function makeCentres(dimension) {
  const centres = new Float32Array(CLUSTERS * dimension);
  let s = SEED;
  const uniform = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < centres.length; i += 2) {
    // Box-Muller
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const a = 2 * Math.PI * uniform();
    centres[i] = r * Math.cos(a);
    if (i + 1 < centres.length) centres[i + 1] = r * Math.sin(a);
  }
  return centres;
}

/** Writes vector `id` (a non-negative integer below 2^53) at out[offset … offset + dimension). */
function writeVector(id, out, offset, centres, dimension) {
  let s = ((id >>> 0) ^ Math.imul(Math.floor(id / 4294967296), 0x85ebca6b) ^ SEED) | 0;
  s = Math.imul(s ^ (s >>> 16), 0x7feb352d);
  s = Math.imul(s ^ (s >>> 15), 0x846ca68b);
  s = (s ^ (s >>> 16)) | 0;
  // mulberry32, inlined
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  const centre = Math.floor(CLUSTERS * u * u) * dimension;
  const scale = (SIGMA * Math.sqrt(3)) / 65536;
  for (let j = 0; j < dimension; j++) {
    s = (s + 0x6d2b79f5) | 0;
    t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const a = (t ^ (t >>> 14)) >>> 0;
    s = (s + 0x6d2b79f5) | 0;
    t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const b = (t ^ (t >>> 14)) >>> 0;
    // Sum of four 16-bit uniforms: mean 2·65536, variance 4/12 (in units of 65536²).
    const sum = (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) - 131072;
    out[offset + j] = centres[centre + j] + sum * scale;
  }
}

function vectorsForIds(ids, centres, dimension) {
  const out = new Float32Array(ids.length * dimension);
  ids.forEach((id, i) => writeVector(id, out, i * dimension, centres, dimension));
  return out;
}

/** The queries: the vectors after the last indexed id (same distribution, not in the index). */
function queryVectors(settings, centres) {
  return vectorsForIds(Array.from({ length: settings.queries }, (_, i) => settings.n + i), centres, settings.dimension);
}

// ---------------------------------------------------------------------------------------
// Measuring: memory from /proc/self/status, CPU per thread from /proc, the machine's
// load from /proc/stat.

function procStatus() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kB = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { vmRSS: kB('VmRSS'), vmHWM: kB('VmHWM'), rssAnon: kB('RssAnon'), rssFile: kB('RssFile'), rssShmem: kB('RssShmem') };
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0), so a step's peak is its own. */
function resetPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const CLOCK_TICKS = 100; // USER_HZ

function mainThreadCpuMs() {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

function machineBusyMs() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: all but idle and iowait are busy.
  const busy = fields.reduce((sum, value, i) => (i === 3 || i === 4 || i > 7 ? sum : sum + value), 0);
  return (busy * 1000) / CLOCK_TICKS;
}

function cpuMark() {
  const usage = process.cpuUsage();
  return { wall: performance.now(), proc: (usage.user + usage.system) / 1000, main: mainThreadCpuMs(), machine: machineBusyMs() };
}

/** Wall and CPU seconds since `mark`: the whole process, its main thread, the other threads, other processes. */
function cpuSince(mark) {
  const now = cpuMark();
  const wallMs = now.wall - mark.wall;
  const procMs = now.proc - mark.proc;
  const mainMs = now.main - mark.main;
  return {
    wallS: wallMs / 1000,
    cpuS: procMs / 1000,
    mainThreadCpuS: mainMs / 1000,
    otherThreadsCpuS: Math.max(0, procMs - mainMs) / 1000,
    // Cores the rest of the machine kept busy meanwhile (other benchmarks, tests, …).
    othersCores: Math.max(0, (now.machine - mark.machine - procMs) / wallMs),
  };
}

/** Samples RSS every 100 ms on the main thread (worker threads are in the same process). */
function startSampler() {
  let peak;
  const begin = () => {
    resetPeak();
    const s = procStatus();
    peak = { rss: process.memoryUsage().rss, rssAnon: s.rssAnon, rssFile: s.rssFile, samples: 0 };
  };
  const tick = () => {
    const s = procStatus();
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    peak.rssAnon = Math.max(peak.rssAnon, s.rssAnon);
    peak.rssFile = Math.max(peak.rssFile, s.rssFile);
    peak.samples++;
  };
  begin();
  const timer = setInterval(tick, 100);
  return {
    /** Peaks since the last begin (sampled, plus the kernel's VmHWM), then starts over. */
    take() {
      tick();
      const result = { ...peak, vmHWM: procStatus().vmHWM };
      begin();
      return result;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

function fileSize(file) {
  return existsSync(file) ? statSync(file).size : 0;
}

/** Bytes of `file` in the page cache, from fincore (util-linux); null where unavailable. */
function cachedBytes(file) {
  const run = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' });
  return run.status === 0 ? Number(run.stdout.trim()) : null;
}

/** Drops one file's pages from the page cache (posix_fadvise DONTNEED through dd); other files are untouched. */
function dropFromPageCache(file) {
  const fd = openSync(file, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
}

function log(message) {
  process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------
// Steps, each run in a child process.

async function phaseTrain(settings) {
  const files = filesOf(settings);
  const sampler = startSampler();
  const baseline = procStatus();
  const centres = makeCentres(settings.dimension);
  const stride = Math.floor(settings.n / settings.trainSize);
  let mark = cpuMark();
  const sample = vectorsForIds(Array.from({ length: settings.trainSize }, (_, i) => i * stride), centres, settings.dimension);
  const sampleCost = cpuSince(mark);
  log(`train: ${settings.trainSize} vectors (one in ${stride}), nlist ${settings.nlist}, m ${settings.m}, ${settings.metric}`);
  const index = new IndexIVFPQ({ dimension: settings.dimension, nlist: settings.nlist, m: settings.m, nbits: settings.nbits, metric: settings.metric });
  mark = cpuMark();
  await index.train(sample);
  const train = cpuSince(mark);
  index.writeSync(files.template);
  const memoryBytes = index.memoryBytes;
  index.dispose();
  const peak = sampler.take();
  sampler.stop();
  log(`train: ${train.wallS.toFixed(1)} s`);
  return { baseline, sample: sampleCost, train, stride, memoryBytes, peak, templateBytes: fileSize(files.template) };
}

/**
 * Faiss assigns each added vector to its list with IndexFlat (k = 1): time that alone on
 * one thread, for nlist and 4·nlist random centroids, to split the build cost into a part
 * proportional to nlist and a fixed part (PQ encoding, bookkeeping).
 */
async function phaseCalibrate(settings) {
  const { dimension } = settings;
  const centres = makeCentres(dimension);
  const rows = settings.quick ? 10_000 : 20_000;
  const vectors = vectorsForIds(Array.from({ length: rows }, (_, i) => i * 7919), centres, dimension);
  const out = [];
  for (const centroids of [settings.nlist, 4 * settings.nlist]) {
    const flat = new IndexFlat({ dimension });
    flat.addSync(vectorsForIds(Array.from({ length: centroids }, (_, i) => 1e12 + i), centres, dimension));
    flat.searchSync(vectors.subarray(0, 1000 * dimension), 1, { threads: 1 }); // warm-up
    const mark = cpuMark();
    flat.searchSync(vectors, 1, { threads: 1 });
    const cost = cpuSince(mark);
    flat.dispose();
    out.push({ centroids, rows, ...cost, nsPerVectorCentroid: (cost.cpuS * 1e9) / (rows * centroids) });
  }
  log(`calibrate: ${out.map((c) => `${c.nsPerVectorCentroid.toFixed(3)} ns per vector·centroid at ${c.centroids}`).join(', ')}`);
  return { assignment: out };
}

async function phaseBuild(settings) {
  const files = filesOf(settings);
  mkdirSync(files.shardDir, { recursive: true });
  const centres = makeCentres(settings.dimension);
  const sampler = startSampler();
  const baseline = procStatus();
  const { n, batchSize, dimension } = settings;
  let generationS = 0;
  // One buffer, refilled for every batch: buildSharded copies a batch before the next is pulled.
  async function* batches() {
    const vectors = new Float32Array(batchSize * dimension);
    const ids = new BigInt64Array(batchSize);
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        writeVector(start + i, vectors, i * dimension, centres, dimension);
        ids[i] = BigInt(start + i);
      }
      generationS += (performance.now() - t0) / 1000;
      yield { vectors: vectors.subarray(0, count * dimension), ids: ids.subarray(0, count) };
    }
  }

  const steps = {};
  let mark = cpuMark();
  let lastLogged = 0;
  const onProgress = ({ step, vectorsAdded }) => {
    if (step === 'add' && vectorsAdded - lastLogged >= n / 10) {
      lastLogged = vectorsAdded;
      log(`build: ${vectorsAdded.toLocaleString('en')} vectors added`);
    }
    if (step === 'write-shards') {
      steps.add = { ...cpuSince(mark), generationS, peak: sampler.take() };
      mark = cpuMark();
      log(`build: add ${steps.add.wallS.toFixed(1)} s; writing shards`);
    }
  };
  const result = await buildSharded(batches(), { templatePath: files.template, shardDir: files.shardDir, workers: settings.workers, onProgress });
  steps.writeShards = { ...cpuSince(mark), peak: sampler.take() };
  sampler.stop();
  const shards = result.shardPaths.map((file) => ({ file: path.relative(settings.dir, file), bytes: fileSize(file) }));
  log(`build: ${result.ntotal.toLocaleString('en')} vectors in ${shards.length} shards`);
  return { baseline, ntotal: result.ntotal, shardPaths: result.shardPaths, shards, steps };
}

async function phaseMerge(settings, shardPaths) {
  const files = filesOf(settings);
  const sampler = startSampler();
  const baseline = procStatus();
  let mark = cpuMark();
  const index = await mergeOnDisk(shardPaths, { indexPath: files.index, dataPath: files.data });
  const merge = { ...cpuSince(mark), peak: sampler.take() };
  const ntotal = index.ntotal;
  const readOnly = index.readOnly;
  index.dispose();
  // The merge writes through a shared mapping; make it durable before timing stops.
  mark = cpuMark();
  const fd = openSync(files.data, 'r');
  fdatasyncSync(fd);
  closeSync(fd);
  const sync = cpuSince(mark);
  sampler.stop();
  log(`merge: ${merge.wallS.toFixed(1)} s (+ ${sync.wallS.toFixed(1)} s fdatasync), ntotal ${ntotal.toLocaleString('en')}`);
  return { baseline, merge, sync, ntotal, readOnly, indexBytes: fileSize(files.index), dataBytes: fileSize(files.data) };
}

/** Runs `pass` (which searches `perPass` queries) until minSeconds have passed. */
async function timed(settings, perPass, pass) {
  const mark = cpuMark();
  let passes = 0;
  do {
    await pass();
    passes++;
  } while (performance.now() - mark.wall < settings.minSeconds * 1000 && passes < 100);
  const cost = cpuSince(mark);
  return { qps: (passes * perPass) / cost.wallS, passes, wallS: cost.wallS, ownCores: cost.cpuS / cost.wallS, othersCores: cost.othersCores };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function phaseSearch(settings) {
  const files = filesOf(settings);
  const { dimension } = settings;
  const queries = queryVectors(settings, makeCentres(dimension));
  const query = (i) => queries.subarray(i * dimension, (i + 1) * dimension);
  const sampler = startSampler();
  const baseline = procStatus();

  const dropped = dropFromPageCache(files.data);
  const cachedBefore = cachedBytes(files.data);
  let mark = cpuMark();
  const index = await IndexIVFPQ.read(files.index);
  const open = { ...cpuSince(mark), ...procStatus(), memoryBytes: index.memoryBytes, readOnly: index.readOnly, ntotal: index.ntotal };
  log(`search: opened in ${open.wallS.toFixed(2)} s; RssAnon ${(open.rssAnon / 2 ** 20).toFixed(0)} MiB`);

  // Cold: the data file's pages are not in the page cache; one query at a time.
  mark = cpuMark();
  const coldLatencies = [];
  for (let i = 0; i < settings.queries; i++) {
    const t0 = performance.now();
    index.searchSync(query(i), K, { nprobe: COLD_NPROBE });
    coldLatencies.push(performance.now() - t0);
  }
  const coldCost = cpuSince(mark);
  coldLatencies.sort((a, b) => a - b);
  const cold = {
    nprobe: COLD_NPROBE,
    dropped,
    cachedBefore,
    cachedAfter: cachedBytes(files.data),
    qps: settings.queries / coldCost.wallS,
    p50Ms: percentile(coldLatencies, 0.5),
    p99Ms: percentile(coldLatencies, 0.99),
    othersCores: coldCost.othersCores,
    ...procStatus(),
  };
  log(`search: cold pass ${cold.qps.toFixed(0)} QPS at nprobe ${COLD_NPROBE}`);
  const coldPeak = sampler.take();

  // Warm every list the largest nprobe visits, then measure.
  const maxNprobe = Math.max(...settings.nprobes);
  index.searchSync(queries, K, { nprobe: maxNprobe, threads: 2 });
  const all = [];
  let emptyResults = 0;
  let outOfRange = 0;
  for (const nprobe of settings.nprobes) {
    const row = { nprobe };
    // 1. One query at a time, blocking (a single query always runs on one thread).
    const latencies = [];
    row.sequential = await timed(settings, settings.queries, () => {
      for (let i = 0; i < settings.queries; i++) {
        const t0 = performance.now();
        index.searchSync(query(i), K, { nprobe });
        latencies.push(performance.now() - t0);
      }
    });
    latencies.sort((a, b) => a - b);
    row.sequential.p50Ms = percentile(latencies, 0.5);
    row.sequential.p99Ms = percentile(latencies, 0.99);
    // 2. CONCURRENCY single-query search() calls in flight (coalesced into batches by default).
    for (const threads of [1, 2]) {
      row[`concurrent${threads}`] = await timed(settings, settings.queries, async () => {
        let next = 0;
        const lane = async () => {
          while (next < settings.queries) {
            const i = next++;
            const { labels } = await index.search(query(i), K, { nprobe, threads });
            if (labels[0] === -1n) emptyResults++;
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      });
    }
    // 3. All queries in one call.
    for (const threads of [1, 2]) {
      row[`batched${threads}`] = await timed(settings, settings.queries, () => {
        const { labels } = index.searchSync(queries, K, { nprobe, threads });
        for (const label of labels) if (label < -1n || label >= BigInt(settings.n)) outOfRange++;
      });
    }
    log(
      `search: nprobe ${nprobe}: ${row.sequential.qps.toFixed(0)} QPS one at a time, ` +
        `${row.batched1.qps.toFixed(0)} / ${row.batched2.qps.toFixed(0)} batched (1 / 2 threads)`,
    );
    all.push(row);
  }
  const warm = { ...sampler.take(), ...procStatus(), cachedAfter: cachedBytes(files.data) };
  sampler.stop();
  index.dispose();
  return { baseline, open, cold, coldPeak, warm, rows: all, emptyResults, outOfRange, concurrency: CONCURRENCY, k: K };
}

/** Sorted "distance:label" pairs per query, so equal-distance ties compare equal. */
function rowsOf({ distances, labels }, k) {
  const out = [];
  for (let q = 0; q < labels.length / k; q++) {
    const pairs = [];
    for (let j = q * k; j < (q + 1) * k; j++) pairs.push(`${distances[j]}:${labels[j]}`);
    out.push(pairs.sort().join(' '));
  }
  return out;
}

async function phaseVerify(settings, shardPaths) {
  const files = filesOf(settings);
  const queries = queryVectors(settings, makeCentres(settings.dimension)).subarray(0, VERIFY_QUERIES * settings.dimension);
  const merged = await IndexIVFPQ.read(files.index);
  const shards = await Promise.all(shardPaths.map((file) => IndexIVFPQ.read(file, { mmap: true })));
  const fanOut = new IndexShards(shards);
  const nprobe = COLD_NPROBE;
  const a = rowsOf(await merged.search(queries, K, { nprobe, threads: 2 }), K);
  const b = rowsOf(await fanOut.search(queries, K, { nprobe }), K);
  const identical = a.filter((row, i) => row === b[i]).length;
  const result = { queries: VERIFY_QUERIES, nprobe, identical, mergedNtotal: merged.ntotal, shardsNtotal: fanOut.ntotal };
  merged.dispose();
  for (const shard of shards) shard.dispose();
  log(`verify: ${identical}/${VERIFY_QUERIES} queries with identical top-${K} (merged on disk vs IndexShards over the shard files)`);
  return result;
}

// ---------------------------------------------------------------------------------------
// Orchestration

function runPhase(settings, phase, extra = {}) {
  const resultFile = path.join(settings.dir, `phase-${phase}.json`);
  rmSync(resultFile, { force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [selfPath, '--phase', phase, '--config', JSON.stringify({ settings, extra, resultFile })], {
      // Faiss prints progress to stdout ("resizing … to … bytes"): keep it out of the Markdown.
      stdio: ['ignore', 2, 2],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) reject(new Error(`step '${phase}' failed (exit code ${code}${signal ? `, signal ${signal}` : ''})`));
      else resolve(JSON.parse(readFileSync(resultFile, 'utf8')));
    });
  });
}

async function child() {
  const { settings, extra, resultFile } = JSON.parse(args.config);
  const phases = { train: phaseTrain, calibrate: phaseCalibrate, build: phaseBuild, merge: phaseMerge, search: phaseSearch, verify: phaseVerify };
  const run = phases[args.phase];
  if (!run) throw new RangeError(`Expected one of ${Object.keys(phases).join(', ')} for phase but received '${args.phase}'`);
  const result = await run(settings, extra.shardPaths);
  writeFileSync(resultFile, JSON.stringify(result));
}

function uptime() {
  const run = spawnSync('uptime', { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : `load average: ${os.loadavg().map((v) => v.toFixed(2)).join(', ')}`;
}

function faissVersion() {
  const run = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'libfaiss-dev'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : null;
}


async function main() {
  const settings = settingsFromArgs();
  const files = filesOf(settings);
  const started = { at: new Date().toISOString(), uptime: uptime(), loadavg: os.loadavg() };
  process.stderr.write(`${started.uptime}\n`);

  mkdirSync(settings.dir, { recursive: true });
  // Shards and the merged data file coexist until the shards are deleted: about 2·(m + 8)
  // bytes per vector, plus slack.
  const needBytes = 3 * settings.n * (settings.m + 8) + 256 * 2 ** 20;
  const { bavail, bsize } = statfsSync(settings.dir);
  if (bavail * bsize < needBytes) {
    throw new Error(`not enough disk in ${settings.dir}: ${(needBytes / GiB).toFixed(1)} GiB needed, ${((bavail * bsize) / GiB).toFixed(1)} GiB free`);
  }
  rmSync(files.shardDir, { recursive: true, force: true });
  for (const file of [files.template, files.index, files.data]) rmSync(file, { force: true });

  const wallStart = performance.now();
  const calibrate = await runPhase(settings, 'calibrate');
  const train = await runPhase(settings, 'train');
  const build = await runPhase(settings, 'build');
  const merge = await runPhase(settings, 'merge', { shardPaths: build.shardPaths });
  const search = await runPhase(settings, 'search');
  const verify = await runPhase(settings, 'verify', { shardPaths: build.shardPaths });
  const totalS = (performance.now() - wallStart) / 1000;
  const ended = { at: new Date().toISOString(), uptime: uptime(), loadavg: os.loadavg() };
  process.stderr.write(`${ended.uptime}\n`);

  const report = {
    benchmark: 'scale',
    settings: { ...settings, dir: path.relative(root, settings.dir) || '.', out: path.relative(root, settings.out) },
    data: { kind: 'synthetic clustered', clusters: CLUSTERS, sigma: SIGMA, seed: SEED },
    machine: { cores: os.availableParallelism(), memoryBytes: os.totalmem(), node: process.version, faiss: faissVersion(), kernel: os.release() },
    started,
    ended,
    totalS,
    calibrate,
    train,
    build: { ...build, shardPaths: undefined },
    merge,
    search,
    verify,
  };
  report.extrapolation = extrapolate(report);
  const markdown = toMarkdown(report);
  writeAtomically(settings.out, `${JSON.stringify(report, null, 2)}\n`);
  writeAtomically(settings.out.replace(/\.json$/, '.md'), markdown);
  process.stdout.write(markdown);

  if (!settings.keep) {
    rmSync(settings.dir, { recursive: true, force: true });
    log(`removed ${settings.dir}`);
  }
  const problems = [];
  if (build.ntotal !== settings.n || merge.ntotal !== settings.n) problems.push(`ntotal ${build.ntotal} / ${merge.ntotal}, expected ${settings.n}`);
  if (verify.identical !== verify.queries) problems.push(`${verify.queries - verify.identical} queries differ between the merged index and the shards`);
  if (search.outOfRange > 0) problems.push(`${search.outOfRange} labels outside 0…n-1`);
  if (problems.length > 0) {
    process.stderr.write(`FAILED: ${problems.join('; ')}\n`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------
// Extrapolation from the measured per-vector and per-list costs.

/** The power of two nearest to 4·√n: the low end of Faiss's nlist guideline (4·√n … 16·√n). */
function guidelineNlist(n) {
  return 2 ** Math.round(Math.log2(4 * Math.sqrt(n)));
}

function extrapolate(report) {
  const { settings, calibrate, train, build, merge, search } = report;
  const { n, nlist, m, dimension, metric, workers } = settings;
  const ksub = 2 ** settings.nbits;
  const entryBytes = m + 8; // PQ code + 64-bit id
  const dataBytesPerVector = merge.dataBytes / n;
  const shardBytesPerVector = build.shards.reduce((sum, shard) => sum + shard.bytes, 0) / n;
  const pqCodebookBytes = dimension * ksub * 4;
  const indexBytesPerList = (merge.indexBytes - pqCodebookBytes) / nlist;
  // Faiss (1.7.3) keeps a precomputed L2 table per list when it is at most 2 GiB.
  const tableBytes = (lists) => (metric === 'l2' && lists * m * ksub * 4 <= 2 * GiB ? lists * m * ksub * 4 : 0);
  const residentBytes = (lists) => lists * dimension * 4 + tableBytes(lists) + lists * 24 + pqCodebookBytes;

  // Build CPU per vector = coarse assignment (∝ nlist) + the rest (PQ encoding, copies, lists).
  const assignNs = calibrate.assignment.at(-1).nsPerVectorCentroid; // the larger run: BLAS at full speed
  const addCpuPerVector = build.steps.add.otherThreadsCpuS / n;
  const fixedCpuPerVector = Math.max(0, addCpuPerVector - (assignNs * nlist) / 1e9);
  const addCpu = (count, lists) => count * (fixedCpuPerVector + (assignNs * lists) / 1e9);
  // k-means: iterations × samples × nlist × d, with samples ∝ nlist (40 per list): ∝ nlist².
  const trainCpu = (lists) => train.train.cpuS * (lists / nlist) ** 2;
  const mergeWallPerVector = (merge.merge.wallS + merge.sync.wallS) / n;
  // Time per query scanning codes, from the batched one-thread run at the largest nprobe.
  const scanRow = search.rows.at(-1);
  // CPU time rather than wall time, so that time lost to other processes does not count.
  const nsPerScannedCode = (1e9 * scanRow.batched1.ownCores) / scanRow.batched1.qps / (scanRow.nprobe * (n / nlist));
  const refNprobe = 32;
  // A worker holds its shard's lists in RAM (std::vector growth: up to 2×) plus the table.
  const maxShardVectors = 50_000_000;

  const scenarios = [
    { label: `${fmtCount(n)} measured`, n, nlist, measured: true },
    { label: `10^8, nlist ${nlist}`, n: 1e8, nlist },
    { label: `10^9, nlist ${nlist}`, n: 1e9, nlist },
    { label: `10^8, nlist ${guidelineNlist(1e8)}`, n: 1e8, nlist: guidelineNlist(1e8) },
    { label: `10^9, nlist ${guidelineNlist(1e9)}`, n: 1e9, nlist: guidelineNlist(1e9) },
  ];
  const rows = scenarios.map((s) => {
    const shardVectors = Math.min(s.n / workers, maxShardVectors);
    const buildCalls = Math.ceil(s.n / (shardVectors * workers));
    return {
      ...s,
      vectorsPerList: s.n / s.nlist,
      dataFileBytes: s.n * dataBytesPerVector,
      indexFileBytes: pqCodebookBytes + s.nlist * indexBytesPerList,
      peakDiskBytes: s.n * (dataBytesPerVector + shardBytesPerVector),
      residentBytes: residentBytes(s.nlist),
      tableBytes: tableBytes(s.nlist),
      pageCacheAllHotBytes: s.n * dataBytesPerVector,
      shardVectors,
      buildCalls,
      workerRamBytes: shardVectors * entryBytes * 2 + tableBytes(s.nlist) + s.nlist * dimension * 4,
      // mergeOnDisk opens every shard as a full index: centroids and L2 table each.
      mergeRamBytes: buildCalls * workers * (tableBytes(s.nlist) + s.nlist * dimension * 4),
      trainCoreHours: trainCpu(s.nlist) / 3600,
      trainSamples: 40 * s.nlist,
      addCoreHours: addCpu(s.n, s.nlist) / 3600,
      mergeHours: (s.n * mergeWallPerVector) / 3600,
      codesPerQuery: refNprobe * (s.n / s.nlist),
      scanMsPerQuery: (refNprobe * (s.n / s.nlist) * nsPerScannedCode) / 1e6,
      // Choosing the lists to probe: the query against every centroid (BLAS rate; single queries are slower).
      coarseMsPerQuery: (assignNs * s.nlist) / 1e6,
    };
  });
  return {
    model: {
      dataBytesPerVector,
      shardBytesPerVector,
      entryBytes,
      indexBytesPerList,
      pqCodebookBytes,
      assignNsPerVectorCentroid: assignNs,
      addCpuUsPerVector: addCpuPerVector * 1e6,
      fixedCpuUsPerVector: fixedCpuPerVector * 1e6,
      trainCpuS: train.train.cpuS,
      mergeWallUsPerVector: mergeWallPerVector * 1e6,
      nsPerScannedCode,
      refNprobe,
      maxShardVectors,
    },
    rows,
  };
}

// ---------------------------------------------------------------------------------------
// Markdown

function fmtBytes(bytes) {
  if (bytes >= 0.95 * 2 ** 40) return `${(bytes / 2 ** 40).toFixed(2)} TiB`;
  if (bytes >= 0.95 * GiB) return `${(bytes / GiB).toFixed(bytes >= 10 * GiB ? 0 : 2)} GiB`;
  if (bytes >= 0.95 * 2 ** 20) return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function fmtCount(n) {
  const exp = Math.log10(n);
  return Number.isInteger(exp) ? `10^${exp}` : n.toLocaleString('en');
}

function fmtS(seconds) {
  return seconds >= 100 ? `${seconds.toFixed(0)} s` : `${seconds.toFixed(1)} s`;
}

function fmtHours(hours) {
  return hours >= 10 ? `${hours.toFixed(0)} h` : hours >= 1 ? `${hours.toFixed(1)} h` : `${(hours * 60).toFixed(hours * 60 >= 10 ? 0 : 1)} min`;
}

function fmtQps(qps) {
  return qps >= 100 ? qps.toFixed(0) : qps.toFixed(1);
}

function toMarkdown(r) {
  const s = r.settings;
  const mib = (bytes) => fmtBytes(bytes);
  const floats = s.n * s.dimension * 4;
  const lines = [];
  const push = (...more) => lines.push(...more);
  const add = r.build.steps.add;
  const write = r.build.steps.writeShards;
  const shardsBytes = r.build.shards.reduce((sum, shard) => sum + shard.bytes, 0);
  push(
    `# Scale benchmark: ${s.n.toLocaleString('en')} vectors, d = ${s.dimension}${s.quick ? ' (quick)' : ''}`,
    '',
    `IndexIVFPQ nlist ${s.nlist}, m ${s.m} × ${s.nbits} bits, metric ${s.metric}; trained on ${s.trainSize.toLocaleString('en')} vectors ` +
      `(one in ${r.train.stride}); built with buildSharded, ${s.workers} worker threads × 1 OpenMP thread, ` +
      `batches of ${s.batchSize.toLocaleString('en')}; merged with mergeOnDisk; searched with IndexIVFPQ.read(indexPath) ` +
      `(lists memory-mapped from the data file) in a fresh process.`,
    '',
    `Data: synthetic, clustered (${r.data.clusters.toLocaleString('en')} Gaussian centres, skewed cluster sizes, noise σ = ${r.data.sigma}), ` +
      `generated from each vector's id in batches; never all in memory (as floats it would be ${mib(floats)}, ${(floats / 1e9).toFixed(2)} GB). ` +
      '**No recall figures: synthetic data says nothing about recall** (recall is measured on GloVe: `npm run bench`).',
    '',
    `Machine: ${r.machine.cores} cores, ${mib(r.machine.memoryBytes)} RAM, Node ${r.machine.node}, Faiss ${r.machine.faiss ?? '?'}; ` +
      'shared with other benchmarks while this ran, so times are upper bounds; "others" = cores other processes kept busy meanwhile (from /proc/stat).',
    '',
    `- start: \`${r.started.uptime}\``,
    `- end:   \`${r.ended.uptime}\``,
    `- total wall time ${fmtS(r.totalS)}`,
    '',
    '## Steps',
    '',
    '| step | wall | CPU | others | peak RSS (VmHWM) | peak RssAnon | peak RssFile |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const stepRow = (name, cost, peak, note = '') =>
    push(
      `| ${name} | ${fmtS(cost.wallS)} | ${fmtS(cost.cpuS)} | ${cost.othersCores.toFixed(1)} | ${mib(peak.vmHWM)} | ${mib(peak.rssAnon)} | ${mib(peak.rssFile)} |${note}`,
    );
  stepRow(`1. train (${s.trainSize.toLocaleString('en')} vectors, 2 threads)`, r.train.train, r.train.peak);
  stepRow(`2a. buildSharded: add (${s.workers} workers)`, add, add.peak);
  stepRow('2b. buildSharded: write shards', write, write.peak);
  stepRow('3. mergeOnDisk', r.merge.merge, r.merge.merge.peak);
  push(
    `|   fdatasync of the data file | ${fmtS(r.merge.sync.wallS)} | | | | | |`,
    `| 4. search (open, cold pass, all QPS runs) | | | | ${mib(r.search.warm.vmHWM)} | ${mib(r.search.warm.rssAnon)} | ${mib(r.search.warm.rssFile)} |`,
    '',
    `**Peak RSS: ${mib(add.peak.vmHWM)} while building (${((100 * add.peak.vmHWM) / floats).toFixed(0)} % of the data as floats), ` +
      `${mib(r.merge.merge.peak.vmHWM)} while merging, ${mib(r.search.warm.vmHWM)} while searching memory-mapped ` +
      `(${((100 * r.search.warm.vmHWM) / floats).toFixed(0)} %).** ` +
      `Node's own RSS before each step: ${mib(r.build.baseline.vmRSS)} (build), ${mib(r.search.baseline.vmRSS)} (search). ` +
      `Peaks include the whole process: main thread and worker threads. Sampled every 100 ms in the main thread ` +
      `(process.memoryUsage().rss, peak ${mib(add.peak.rss)} during add) and the kernel's VmHWM, reset at each step ` +
      `(/proc/self/clear_refs). RssFile is page cache mapped into the process (shard and data files): the kernel ` +
      `can drop it at any time; RssAnon is what must stay resident.`,
    '',
    `Build CPU: ${fmtS(add.cpuS)} for the add step, of which ${fmtS(add.mainThreadCpuS)} on the main thread ` +
      `(generating the data: ${fmtS(add.generationS)} wall; copying batches to the workers) and ${fmtS(add.otherThreadsCpuS)} in the ` +
      `workers: **${((add.otherThreadsCpuS / s.n) * 1e6).toFixed(1)} µs of CPU per vector added** ` +
      `(${((s.n / add.wallS) / 1000).toFixed(0)}k vectors/s wall on ${s.workers} workers).`,
    '',
    '## Files',
    '',
    '| file | size | per vector |',
    '| --- | ---: | ---: |',
    `| template (trained, empty) | ${mib(r.train.templateBytes)} | |`,
    ...r.build.shards.map((shard) => `| ${shard.file} | ${mib(shard.bytes)} | |`),
    `| shards together | ${mib(shardsBytes)} | ${(shardsBytes / s.n).toFixed(1)} B |`,
    `| merged.index | ${mib(r.merge.indexBytes)} | |`,
    `| merged.ivfdata | ${mib(r.merge.dataBytes)} | ${(r.merge.dataBytes / s.n).toFixed(1)} B |`,
    `| the same vectors as float32 (never written) | ${mib(floats)} | ${s.dimension * 4} B |`,
    '',
    `The data file holds m + 8 = ${s.m + 8} bytes per vector (PQ code and 64-bit id). The shards can be deleted after the merge.`,
    '',
    '## Memory-mapped search',
    '',
  );
  const o = r.search.open;
  const c = r.search.cold;
  push(
    `- open (\`IndexIVFPQ.read\`): ${fmtS(o.wallS)}; RSS ${mib(o.vmRSS)} (RssAnon ${mib(o.rssAnon)}, RssFile ${mib(o.rssFile)}); ` +
      `before opening: RSS ${mib(r.search.baseline.vmRSS)} (RssAnon ${mib(r.search.baseline.rssAnon)}, RssFile ${mib(r.search.baseline.rssFile)}: Node and its libraries). index.memoryBytes = ${mib(o.memoryBytes)} ` +
      `(centroids${s.metric === 'l2' ? ' and the L2 table of nlist·m·256 floats' : ''}).`,
    `- cold pass (data file dropped from the page cache first: ${c.dropped ? 'yes' : 'no'}; ${c.cachedBefore === null ? '?' : mib(c.cachedBefore)} cached): ` +
      `${QUERIES} single queries at nprobe ${c.nprobe}, **${fmtQps(c.qps)} QPS**, p50 ${c.p50Ms.toFixed(2)} ms, p99 ${c.p99Ms.toFixed(2)} ms; afterwards ` +
      `${c.cachedAfter === null ? '?' : mib(c.cachedAfter)} of the data file cached, RssFile ${mib(c.rssFile)}.`,
    `- after all runs: peak RSS (VmHWM) **${mib(r.search.warm.vmHWM)}**, RssAnon ${mib(r.search.warm.rssAnon)}, RssFile ${mib(r.search.warm.rssFile)}; ` +
      `${r.search.warm.cachedAfter === null ? '?' : mib(r.search.warm.cachedAfter)} of the ${mib(r.merge.dataBytes)} data file in the page cache.`,
    '',
    `QPS, k = ${K}, ${QUERIES} queries (vectors ${s.n.toLocaleString('en')}… of the same generator, not in the index), warm page cache. ` +
      `"one at a time": searchSync() of one query in a loop (a single query always runs on 1 thread); ` +
      `"${CONCURRENCY} × search()": ${CONCURRENCY} single-query calls in flight, coalesced into batches (the default), with { threads }; ` +
      '"batched": one searchSync() of all queries with { threads }.',
    '',
    '| nprobe | codes scanned / query | one at a time (p50) | 32 × search(), 1 thread | 32 × search(), 2 threads | batched, 1 thread | batched, 2 threads | others |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of r.search.rows) {
    const others = Math.max(...['sequential', 'concurrent1', 'concurrent2', 'batched1', 'batched2'].map((key) => row[key].othersCores));
    push(
      `| ${row.nprobe} | ${Math.round((row.nprobe * s.n) / s.nlist).toLocaleString('en')} | ${fmtQps(row.sequential.qps)} (${row.sequential.p50Ms.toFixed(2)} ms) | ` +
        `${fmtQps(row.concurrent1.qps)} | ${fmtQps(row.concurrent2.qps)} | ${fmtQps(row.batched1.qps)} | ${fmtQps(row.batched2.qps)} | ≤ ${others.toFixed(1)} |`,
    );
  }
  const busiest = Math.max(...r.search.rows.flatMap((row) => ['concurrent2', 'batched2'].map((key) => row[key].othersCores)));
  if (busiest > 0.5) {
    push(
      '',
      `Other processes kept up to ${busiest.toFixed(1)} of the ${r.machine.cores} cores busy during these runs: a 2-thread OpenMP team then ` +
        'waits at each barrier for whichever thread the scheduler has paused, so the 2-thread columns understate an idle machine ' +
        '(and can fall below 1 thread).',
    );
  }
  push(
    '',
    `Checks: ${r.verify.identical}/${r.verify.queries} queries return the same top-${K} (labels and distances) from the merged on-disk index ` +
      `and from IndexShards over the ${r.build.shards.length} shard files (nprobe ${r.verify.nprobe}); ntotal ${r.merge.ntotal.toLocaleString('en')}; ` +
      `labels outside 0…n−1: ${r.search.outOfRange}; single-query searches with no result: ${r.search.emptyResults}.`,
    '',
  );

  const x = r.extrapolation;
  const mdl = x.model;
  push(
    '## Extrapolation to 10^8 and 10^9 vectors',
    '',
    `From the measured per-vector costs: ${mdl.dataBytesPerVector.toFixed(1)} B per vector in the data file, ` +
      `${mdl.shardBytesPerVector.toFixed(1)} B in the shards (deleted after the merge), ${fmtS(mdl.trainCpuS)} CPU to train nlist ${s.nlist}, ` +
      `${mdl.addCpuUsPerVector.toFixed(1)} µs CPU per vector added, of which ${(mdl.assignNsPerVectorCentroid * s.nlist / 1000).toFixed(1)} µs ` +
      `is coarse assignment (measured alone: ${mdl.assignNsPerVectorCentroid.toFixed(3)} ns per vector and centroid, one thread, ` +
      `so it scales with nlist) and ${mdl.fixedCpuUsPerVector.toFixed(1)} µs the rest (PQ encoding, copies); ` +
      `merge ${mdl.mergeWallUsPerVector.toFixed(2)} µs wall per vector; ${mdl.nsPerScannedCode.toFixed(2)} ns of CPU per code scanned ` +
      `(batched, 1 thread, nprobe ${r.search.rows.at(-1).nprobe}, coarse quantizer included). CPU times, so time lost to other processes does not count. ` +
      `Columns 2–3 keep nlist ${s.nlist}; columns 4–5 use the power of two nearest 4·√n (the low end of Faiss's 4·√n … 16·√n).`,
    '',
    `| | ${x.rows.map((row) => row.label).join(' | ')} |`,
    `| --- |${x.rows.map(() => ' ---: |').join('')}`,
  );
  const xrow = (name, f) => push(`| ${name} | ${x.rows.map(f).join(' | ')} |`);
  xrow('vectors per list', (row) => Math.round(row.vectorsPerList).toLocaleString('en'));
  xrow('**disk**: data file (codes + ids)', (row) => mib(row.dataFileBytes));
  xrow('disk: index file (centroids, codebooks, list directory)', (row) => mib(row.indexFileBytes));
  xrow('disk: peak during build (shards + merged)', (row) => mib(row.peakDiskBytes));
  xrow('**RAM resident to search**: centroids + PQ tables + list directory', (row) => mib(row.residentBytes));
  xrow(`  of which the L2 precomputed table (nlist·m·256·4 B)`, (row) => (row.tableBytes ? mib(row.tableBytes) : s.metric === 'l2' ? 'none (> 2 GiB: Faiss skips it)' : 'none (ip)'));
  xrow('page cache to keep every list hot (= data file)', (row) => mib(row.pageCacheAllHotBytes));
  xrow(`build RAM per worker (shard lists ≤ 2 × (m+8) B/vector + table)`, (row) => `${mib(row.workerRamBytes)} (${fmtCount(row.shardVectors)}/shard${row.buildCalls > 1 ? `, ${row.buildCalls} buildSharded calls` : ''})`);
  xrow('mergeOnDisk RAM (each shard opened with its centroids and table)', (row) => `${mib(row.mergeRamBytes)} (${row.buildCalls * s.workers} shards)`);
  xrow('**build time per core**: train (40·nlist samples)', (row) => `${fmtHours(row.trainCoreHours)}`);
  xrow('build time per core: add', (row) => fmtHours(row.addCoreHours));
  xrow(`build wall on ${s.workers} idle cores (train/2 + add/${s.workers} + merge)`, (row) => fmtHours(row.trainCoreHours / 2 + row.addCoreHours / s.workers + row.mergeHours));
  xrow(`codes scanned per query at nprobe ${mdl.refNprobe}`, (row) => Math.round(row.codesPerQuery).toLocaleString('en'));
  xrow(`est. scan time per query at nprobe ${mdl.refNprobe} (1 thread, warm)`, (row) => `${row.scanMsPerQuery.toFixed(row.scanMsPerQuery >= 10 ? 0 : 2)} ms`);
  xrow('  + coarse quantizer per query (nlist·d, batched rate)', (row) => `${row.coarseMsPerQuery.toFixed(2)} ms`);
  push(
    '',
    `The first column is measured; the others are arithmetic on it, not runs. Times are CPU time, as on idle cores: this run took ` +
      `${fmtS(r.totalS)} in all on a machine where other processes kept ${r.build.steps.add.othersCores.toFixed(1)} of the ${r.machine.cores} cores busy. Ids live in the data file beside the codes, not in RAM. ` +
      'Page cache is only needed for the lists queries actually probe; below the "every list hot" figure, cold lists cost disk reads. ' +
      'Training scales with nlist² (samples ∝ nlist, k-means cost ∝ samples × nlist) and the coarse assignment with nlist, because ' +
      `faiss-native's quantizer is flat: at nlist ≥ 10^5 Faiss trains on a GPU and assigns through an HNSW quantizer instead. ` +
      `A worker keeps its whole shard in RAM until it writes it: above ${fmtCount(mdl.maxShardVectors)} vectors per shard, split the input ` +
      'and call buildSharded once per slice (each with its own shardDir), then mergeOnDisk all the shard files.',
    '',
  );
  return `${lines.join('\n')}\n`;
}

if (args.phase) {
  await child();
} else if (args.render) {
  const out = settingsFromArgs().out;
  const report = JSON.parse(readFileSync(out, 'utf8'));
  report.extrapolation = extrapolate(report);
  const markdown = toMarkdown(report);
  writeAtomically(out, `${JSON.stringify(report, null, 2)}\n`);
  writeAtomically(out.replace(/\.json$/, '.md'), markdown);
  process.stdout.write(markdown);
} else {
  await main();
}
