// What the move to Faiss 1.15 buys, on GloVe-100 (340,479 base vectors, 1,000
// held-out queries, cosine), against faiss-native 0.1.0 (Faiss 1.7.3, built
// from its commit) and hnswlib-node, in one run:
//   1. train + add of IVF2048,PQ50 (2 threads, the same 79,872 training vectors),
//      0.1.0 and this build alternating in fresh processes;
//   2. recall@10 ≥ 0.95: for each IVF-PQ + re-ranking configuration, nprobe tuned
//      on 500 queries, then recall, one-query-per-call QPS (1 thread), batch QPS
//      and bytes per vector measured on the other 500; hnswlib-node (M16,
//      efConstruction 200) with ef tuned the same way.
//
//   npm run bench:recall [-- --rounds 2] [--skip-baseline] [--skip-hnsw]
// Output: bench/results/high-recall.{json,md}; Markdown on stdout, progress on stderr.
// The 0.1.0 build and the hnswlib index are cached under .cache/bench-recall/.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gatherRows, loadGlove, sampleRows, splitHoldout } from '../tools/datasets.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(repoRoot, '.cache', 'bench-recall');
const resultsDir = path.join(repoRoot, 'bench', 'results');
// The last commit of faiss-native 0.1.0, on Debian's Faiss 1.7.3.
const BASELINE_COMMIT = 'dfdcf2e';
const K = 10;
const HOLDOUT = 1000;
const SEED = 42;
const TARGET = 0.95;
const NLIST = 2048;
const TRAIN_COUNT = 39 * NLIST;
const THREADS = 2;
const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    'skip-baseline': { type: 'boolean', default: false },
    'skip-hnsw': { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const log = (message) => process.stderr.write(`bench:recall: ${message}\n`);
const int = (n) => Math.round(n).toLocaleString('en-US');

function data() {
  const glove = loadGlove();
  const split = splitHoldout(glove.vectors, glove.count, glove.dimension, HOLDOUT, SEED);
  const train = gatherRows(split.base, glove.dimension, sampleRows(split.baseIds.length, TRAIN_COUNT, SEED));
  return { dimension: glove.dimension, base: split.base, queries: split.queries, train, count: split.baseIds.length };
}

// ---- child: train + add with one build ---------------------------------------

async function buildChild(packageDir) {
  const { IndexIVFPQ, setNumThreads } = require(path.join(packageDir, 'dist', 'index.js'));
  setNumThreads(THREADS);
  const { dimension, base, train } = data();
  const index = new IndexIVFPQ({ dimension, nlist: NLIST, m: 50, metric: 'cosine' });
  let t = performance.now();
  await index.train(train);
  const trainMs = performance.now() - t;
  t = performance.now();
  await index.add(base);
  const addMs = performance.now() - t;
  process.stdout.write(`${JSON.stringify({ trainMs, addMs })}\n`);
}

function timeBuild(packageDir) {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', packageDir], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(THREADS) },
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) throw new Error(`build with ${packageDir} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

// ---- the 0.1.0 baseline --------------------------------------------------------

/** faiss-native 0.1.0 built from its commit against Debian's Faiss 1.7.3, unpacked (not installed). */
function baselinePackage() {
  const dir = path.join(cacheDir, 'faiss-native-0.1.0');
  if (existsSync(path.join(dir, 'build', 'Release', 'faiss_native.node')) && existsSync(path.join(dir, 'dist', 'index.js'))) return dir;
  const faiss173 = path.join(cacheDir, 'faiss-1.7.3');
  if (!existsSync(path.join(faiss173, 'usr', 'include', 'faiss'))) {
    log('unpacking Debian 12\'s libfaiss-dev (Faiss 1.7.3)');
    const debs = path.join(cacheDir, 'debs');
    rmSync(debs, { recursive: true, force: true });
    mkdirSync(debs, { recursive: true });
    spawnSync('chown', ['_apt', debs]);
    execFileSync('apt-get', ['download', '-qq', 'libfaiss-dev'], { cwd: debs, stdio: 'inherit' });
    const deb = execFileSync('sh', ['-c', 'ls *.deb'], { cwd: debs, encoding: 'utf8' }).trim();
    execFileSync('dpkg', ['-x', path.join(debs, deb), faiss173]);
  }
  log(`building faiss-native 0.1.0 (${BASELINE_COMMIT}) against Faiss 1.7.3`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git -C "${repoRoot}" archive ${BASELINE_COMMIT} | tar -x -C "${dir}"`]);
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  const multiarch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
  const env = {
    ...process.env,
    FAISS_NATIVE_LIBDIR: path.join(faiss173, 'usr', 'lib', multiarch),
    CXXFLAGS: `-isystem ${path.join(faiss173, 'usr', 'include')}`,
  };
  execFileSync('node', ['scripts/build-ts.mjs'], { cwd: dir, stdio: 'inherit', env });
  execFileSync('flock', ['/tmp/faiss-native-build.lock', process.execPath, require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  return dir;
}

// ---- recall ≥ 0.95 ---------------------------------------------------------------

function recallAt(labels, truth, from, count) {
  let hits = 0;
  for (let q = 0; q < count; q++) {
    const expected = new Set(truth.subarray((from + q) * K, (from + q + 1) * K));
    for (let j = 0; j < K; j++) if (expected.has(labels[q * K + j])) hits++;
  }
  return hits / (count * K);
}

/** Queries per second of one-query calls over rows, after a warm-up. */
function oneQueryQpsOf(search, rows) {
  for (let i = 0; i < 20; i++) search(rows[i]);
  const start = performance.now();
  let done = 0;
  do {
    for (const row of rows) search(row);
    done += rows.length;
  } while (performance.now() - start < 1000);
  return done / ((performance.now() - start) / 1000);
}

async function faissConfigs(d, truth) {
  const { IndexIVFPQ, tuneNprobe, faissInfo } = require(path.join(repoRoot, 'dist', 'index.js'));
  const half = HOLDOUT / 2;
  const tuning = d.queries.subarray(0, half * d.dimension);
  const heldRows = Array.from({ length: half }, (_, i) => d.queries.subarray((half + i) * d.dimension, (half + i + 1) * d.dimension));
  const held = d.queries.subarray(half * d.dimension);
  const configs = [
    { label: 'IVF2048,PQ25 + sq8', options: { m: 25 } },
    { label: 'IVF2048,PQ50 + sq8', options: { m: 50 } },
    { label: 'IVF2048,PQ50x4fs + sq8', options: { m: 50, nbits: 4, fastScan: true } },
    { label: 'IVF2048,PQ100x4fs + sq8', options: { m: 100, nbits: 4, fastScan: true } },
  ];
  const rows = [];
  for (const config of configs) {
    for (const kFactor of [4, 8]) {
      log(`${config.label}, kFactor ${kFactor}: building`);
      const index = new IndexIVFPQ({ dimension: d.dimension, nlist: NLIST, metric: 'cosine', refine: 'sq8', kFactor, ...config.options });
      const t = performance.now();
      await index.train(d.train);
      await index.add(d.base);
      const buildMs = performance.now() - t;
      const tuned = await tuneNprobe(index, tuning, { targetRecall: TARGET, groundTruth: truth.subarray(0, half * K) });
      const row = { config: config.label, kFactor, buildSeconds: buildMs / 1000, bytesPerVector: index.memoryBytes / index.ntotal, reached: tuned.reached, nprobe: tuned.nprobe };
      if (tuned.reached) {
        const { labels } = index.searchSync(held, K, { nprobe: tuned.nprobe });
        row.recall = recallAt(labels, truth, half, half);
        row.oneQueryQps = oneQueryQpsOf((q) => index.searchSync(q, K, { nprobe: tuned.nprobe, threads: 1 }), heldRows);
        const start = performance.now();
        index.searchSync(d.queries, K, { nprobe: tuned.nprobe, threads: THREADS });
        row.batchQps = HOLDOUT / ((performance.now() - start) / 1000);
      } else {
        row.recall = tuned.recall;
      }
      log(`  ${JSON.stringify(row)}`);
      rows.push(row);
      index.dispose();
    }
  }
  return { rows, faiss: faissInfo() };
}

async function hnsw(d, truth) {
  execFileSync(process.execPath, [path.join(repoRoot, 'bench', 'peers', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const { HierarchicalNSW } = require('hnswlib-node');
  const file = path.join(cacheDir, 'glove-hnsw-M16-efC200.hnsw');
  const index = new HierarchicalNSW('cosine', d.dimension);
  let buildSeconds = null;
  if (existsSync(file)) {
    index.readIndexSync(file);
  } else {
    log(`hnswlib-node: adding ${int(d.count)} vectors (one thread, minutes)`);
    index.initIndex({ maxElements: d.count, m: 16, efConstruction: 200, randomSeed: 100 });
    const t = performance.now();
    for (let i = 0; i < d.count; i++) index.addPoint(Array.from(d.base.subarray(i * d.dimension, (i + 1) * d.dimension)), i);
    buildSeconds = (performance.now() - t) / 1000;
    index.writeIndexSync(file);
  }
  const half = HOLDOUT / 2;
  const rows = Array.from({ length: HOLDOUT }, (_, i) => Array.from(d.queries.subarray(i * d.dimension, (i + 1) * d.dimension)));
  const labelsOf = (from, count) => {
    const out = new BigInt64Array(count * K);
    for (let q = 0; q < count; q++) index.searchKnn(rows[from + q], K).neighbors.forEach((n, j) => (out[q * K + j] = BigInt(n)));
    return out;
  };
  let ef = 10;
  for (; ef <= 1280; ef *= 2) {
    index.setEf(ef);
    if (recallAt(labelsOf(0, half), truth, 0, half) >= TARGET) break;
  }
  // Binary search between the last failing and the first passing ef.
  let lo = ef / 2, hi = ef;
  while (hi - lo > Math.max(1, lo / 8)) {
    const mid = Math.round((lo + hi) / 2);
    index.setEf(mid);
    if (recallAt(labelsOf(0, half), truth, 0, half) >= TARGET) hi = mid;
    else lo = mid;
  }
  index.setEf(hi);
  const recall = recallAt(labelsOf(half, half), truth, half, half);
  const oneQueryQps = oneQueryQpsOf((q) => index.searchKnn(q, K), rows.slice(half));
  // hnswlib keeps vectors, links and labels in one allocation, which its file mirrors.
  return { config: 'hnswlib-node HNSW M16 efC200', ef: hi, recall, oneQueryQps, bytesPerVector: statSync(file).size / d.count, buildSeconds };
}

// ---- report ------------------------------------------------------------------------

function markdown(report) {
  const lines = [
    `# High recall on GloVe-100: Faiss ${report.faiss.version} against 0.1.0 and hnswlib-node`,
    '',
    `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.versions.node}, Faiss at ${report.faiss.simdLevel}. ` +
      `${int(report.count)} base vectors, ${HOLDOUT} held-out queries (cosine); exact top-10 by brute force.`,
    '',
  ];
  if (report.buildRounds.length > 0) {
    const sum = (r) => r.trainMs + r.addMs;
    const ratios = report.buildRounds.map((r) => sum(r.baseline) / sum(r.current));
    lines.push(
      `## Train + add, IVF${NLIST},PQ50, ${int(TRAIN_COUNT)} training vectors, ${THREADS} threads`,
      '',
      '| round | 0.1.0 train s | add s | this build train s | add s | 0.1.0 ÷ this build |',
      '|---:|---:|---:|---:|---:|---:|',
      ...report.buildRounds.map((r, i) => `| ${i + 1} | ${(r.baseline.trainMs / 1000).toFixed(1)} | ${(r.baseline.addMs / 1000).toFixed(1)} | ${(r.current.trainMs / 1000).toFixed(1)} | ${(r.current.addMs / 1000).toFixed(1)} | ×${ratios[i].toFixed(2)} |`),
      '',
      `This build trains and adds ×${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} faster over ${ratios.length} round(s) (processes alternate, each its own).`,
      '',
    );
  }
  lines.push(
    `## recall@10 ≥ ${TARGET}: nprobe (or ef) tuned on 500 queries, measured on the other 500`,
    '',
    '| index | kFactor | nprobe / ef | recall@10 | one query per call, QPS (1 thread) | batch QPS (2 threads) | bytes per vector |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...report.faissRows.map((r) =>
      r.reached
        ? `| faiss-native ${r.config} | ${r.kFactor} | ${r.nprobe} | ${r.recall.toFixed(3)} | ${int(r.oneQueryQps)} | ${int(r.batchQps)} | ${int(r.bytesPerVector)} |`
        : `| faiss-native ${r.config} | ${r.kFactor} | not reached (best ${r.recall.toFixed(3)}) | | | | ${int(r.bytesPerVector)} |`),
  );
  if (report.hnsw) {
    const h = report.hnsw;
    lines.push(`| ${h.config} | | ef ${h.ef} | ${h.recall.toFixed(3)} | ${int(h.oneQueryQps)} | | ${int(h.bytesPerVector)} |`);
    const best = report.faissRows.filter((r) => r.reached && r.recall >= TARGET).sort((a, b) => b.oneQueryQps - a.oneQueryQps)[0];
    if (best) {
      lines.push(
        '',
        `Fastest faiss-native at recall ≥ ${TARGET} one query per call: ${best.config} (kFactor ${best.kFactor}), ×${(best.oneQueryQps / h.oneQueryQps).toFixed(2)} hnswlib-node's QPS with ${(best.bytesPerVector / h.bytesPerVector).toFixed(2)} of its bytes per vector.`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  if (args.child) return buildChild(args.child);
  mkdirSync(cacheDir, { recursive: true });
  const report = { startedAt: new Date().toISOString(), buildRounds: [] };
  if (!args['skip-baseline']) {
    const baseline = baselinePackage();
    for (let round = 0; round < Number(args.rounds); round++) {
      log(`train + add round ${round + 1}: 0.1.0`);
      const baselineRun = timeBuild(baseline);
      log(`train + add round ${round + 1}: this build`);
      const current = timeBuild(repoRoot);
      report.buildRounds.push({ baseline: baselineRun, current });
      log(`  ${JSON.stringify(report.buildRounds.at(-1))}`);
    }
  }
  const d = data();
  report.count = d.count;
  const { IndexFlat } = require(path.join(repoRoot, 'dist', 'index.js'));
  const exact = new IndexFlat({ dimension: d.dimension, metric: 'cosine' });
  exact.addSync(d.base);
  const truth = exact.searchSync(d.queries, K).labels;
  exact.dispose();
  const { rows, faiss } = await faissConfigs(d, truth);
  report.faissRows = rows;
  report.faiss = faiss;
  if (!args['skip-hnsw']) report.hnsw = await hnsw(d, truth);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, 'high-recall.json'), `${JSON.stringify(report, null, 2)}\n`);
  const text = markdown(report);
  writeFileSync(path.join(resultsDir, 'high-recall.md'), text);
  process.stdout.write(text);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
