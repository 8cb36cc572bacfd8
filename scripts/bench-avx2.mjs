// Generic vs AVX2 x64 prebuilt binary, on the workloads users run: SIFT10K
// (128-d, L2) and GloVe (100-d word vectors, cosine; a 100,000-word base with
// 1,000 held-out queries and exact ground truth). Each variant runs in its own
// process; the two alternate, `--rounds` times each, and the median is kept.
// Threads: 1 by default (`--threads=n`), timed in CPU time, so that other load
// on the machine disturbs the comparison less; with more threads, wall time.
//   node scripts/bench-avx2.mjs [--rounds=3] [--threads=1] [--params=recommended|fixed] [--json=out.json]
// --params=recommended (default) uses recommendParams() for each data set; fixed uses
// nlist 100, m 16 (SIFT) and nlist 256, m 20 (GloVe).
// Needs prebuilds/linux-x64/ (npm run prebuilds) and prebuilds/linux-x64-avx2/
// (bash scripts/build-faiss-avx2.sh && node scripts/prebuild.mjs --variant=avx2).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const NPROBES = [1, 2, 4, 8, 16, 32, 64, 128];
const K = 10;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// With one thread, CPU time (this process's user + system) measures the work itself, and
// barely changes when other processes share the cores; wall time does.
let useCpuTime = true;
function time(fn) {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(cpu);
  const ms = useCpuTime ? (used.user + used.system) / 1000 : Number(process.hrtime.bigint() - wall) / 1e6;
  return { result, ms };
}

async function child(threads, params) {
  useCpuTime = threads === 1;
  const datasets = await import(path.join(root, 'tools', 'datasets.mjs'));
  const { IndexIVFPQ, IndexFlat, recommendParams } = createRequire(import.meta.url)(root);
  // --params=recommended: what recommendParams() suggests for the data; fixed: small nlist, m.
  const options = (fixed, n) => {
    if (params !== 'recommended') return fixed;
    const r = recommendParams({ n, dimension: fixed.dimension, metric: fixed.metric });
    return { dimension: fixed.dimension, metric: fixed.metric, nlist: r.nlist, m: r.m, nbits: r.nbits };
  };
  const out = {};

  const workloads = [];
  if (datasets.hasSift10k()) {
    const sift = datasets.loadSift10k();
    workloads.push({
      name: 'sift10k',
      options: options({ dimension: 128, nlist: 100, m: 16, metric: 'l2' }, 10_000),
      base: sift.base.data,
      queries: sift.extraQueries.data,
      truth: sift.extraGroundTruth.data,
      truthWidth: sift.extraGroundTruth.dimension,
    });
  }
  if (datasets.hasGlove()) {
    const glove = datasets.loadGlove();
    const count = 101_000;
    const vectors = glove.vectors.subarray(0, count * glove.dimension);
    const split = datasets.splitHoldout(vectors, count, glove.dimension, 1000, 1);
    const flat = new IndexFlat({ dimension: glove.dimension, metric: 'cosine' });
    flat.addSync(split.base);
    const exact = flat.searchSync(split.queries, K);
    flat.dispose();
    workloads.push({
      name: 'glove-100k',
      options: options({ dimension: glove.dimension, nlist: 256, m: 20, metric: 'cosine' }, 100_000),
      base: split.base,
      queries: split.queries,
      truth: exact.labels,
      truthWidth: K,
    });
  }

  for (const w of workloads) {
    const index = new IndexIVFPQ(w.options);
    const train = time(() => index.trainSync(w.base, { threads }));
    const add = time(() => index.addSync(w.base, { threads }));
    const searches = {};
    for (const nprobe of NPROBES) {
      const batch = time(() => index.searchSync(w.queries, K, { nprobe, threads }));
      const nq = w.queries.length / w.options.dimension;
      // One query per call, as a server answering requests does (first 200 queries).
      const single = time(() => {
        for (let q = 0; q < 200; q++) {
          index.searchSync(w.queries.subarray(q * w.options.dimension, (q + 1) * w.options.dimension), K, { nprobe });
        }
      });
      searches[nprobe] = {
        batchQps: (nq / batch.ms) * 1000,
        singleMs: single.ms / 200,
        recall: datasets.recallAtK(batch.result.labels, K, w.truth, w.truthWidth),
      };
    }
    index.dispose();
    out[w.name] = { options: w.options, trainMs: train.ms, addMs: add.ms, searches };
  }
  process.stdout.write(JSON.stringify(out));
}

function runVariant(variant, threads, params) {
  // node-gyp-build looks for prebuilds/linux-x64/ under FAISS_NATIVE_PREBUILD.
  const dir = mkdtempSync(path.join(tmpdir(), 'faiss-native-bench-'));
  mkdirSync(path.join(dir, 'prebuilds'));
  symlinkSync(path.join(root, 'prebuilds', variant === 'avx2' ? 'linux-x64-avx2' : 'linux-x64'), path.join(dir, 'prebuilds', 'linux-x64'));
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'child', `--threads=${threads}`, `--params=${params}`], {
    encoding: 'utf8',
    env: { ...process.env, PREBUILDS_ONLY: '1', FAISS_NATIVE_PREBUILD: dir },
    maxBuffer: 64 << 20,
  });
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${variant}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const args = process.argv.slice(2);
const value = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const threads = Number(value('threads', '1'));
const params = value('params', 'recommended');
if (args[0] === 'child') {
  await child(threads, params);
} else {
  const rounds = Number(value('rounds', '3'));
  const runs = { generic: [], avx2: [] };
  for (let r = 0; r < rounds; r++) {
    for (const variant of ['generic', 'avx2']) {
      runs[variant].push(runVariant(variant, threads, params));
      console.error(`round ${r + 1}/${rounds}: ${variant} done`);
    }
  }
  const summary = {};
  for (const workload of Object.keys(runs.generic[0])) {
    const pick = (variant, f) => median(runs[variant].map((run) => f(run[workload])));
    const rows = [];
    const line = (what, g, a, unit, higherIsBetter) => {
      const speedup = higherIsBetter ? a / g : g / a;
      rows.push({ what, generic: g, avx2: a, unit, speedup });
    };
    line('train', pick('generic', (w) => w.trainMs), pick('avx2', (w) => w.trainMs), 'ms', false);
    line('add', pick('generic', (w) => w.addMs), pick('avx2', (w) => w.addMs), 'ms', false);
    for (const nprobe of NPROBES) {
      const g = (f) => pick('generic', (w) => f(w.searches[nprobe]));
      const a = (f) => pick('avx2', (w) => f(w.searches[nprobe]));
      line(`batch search nprobe ${nprobe} (recall@10 ${g((s) => s.recall).toFixed(3)} / ${a((s) => s.recall).toFixed(3)})`,
        g((s) => s.batchQps), a((s) => s.batchQps), 'QPS', true);
      line(`one-query search nprobe ${nprobe}`, g((s) => s.singleMs), a((s) => s.singleMs), 'ms', false);
    }
    summary[workload] = rows;
    const o = runs.generic[0][workload].options;
    console.log(
      `\n${workload}, ${o.metric}, nlist ${o.nlist}, m ${o.m} (threads ${threads}, ` +
        `${threads === 1 ? 'CPU' : 'wall'} time, median of ${rounds}):`,
    );
    for (const row of rows) {
      console.log(
        `  ${row.what.padEnd(58)} generic ${row.generic.toFixed(row.unit === 'ms' && row.generic < 10 ? 3 : 0).padStart(9)} ` +
          `avx2 ${row.avx2.toFixed(row.unit === 'ms' && row.avx2 < 10 ? 3 : 0).padStart(9)} ${row.unit.padEnd(3)}  ×${row.speedup.toFixed(2)}`,
      );
    }
  }
  const jsonFile = value('json');
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ threads, rounds, params, summary, runs }, null, 2));
}
