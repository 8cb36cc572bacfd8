// The native floor: faiss-native against bench/native-floor.cc (plain C++ on
// the same libfaiss.a), on the same index file, the same queries and the same
// parameters. The two alternate sample by sample (ABBA order), so a noisy
// phase of the machine hits both; each figure is a ratio measured that way.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { K, callsFor, log, median, seconds } from './common.mjs';
import { recallAt10 } from './data.mjs';
import { faissNative } from './package.mjs';

/** The C++ program as a child speaking its line protocol. */
export class FloorProcess {
  #child;
  #waiting = [];
  #exited = null;

  constructor(binary, env) {
    this.#child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    readline.createInterface({ input: this.#child.stdout }).on('line', (line) => this.#waiting.shift()?.resolve(JSON.parse(line)));
    this.#child.on('exit', (code, signal) => {
      this.#exited = new Error(`native floor exited (${signal ?? code})`);
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#exited);
    });
    this.ready = new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async send(command) {
    if (this.#exited) throw this.#exited;
    const reply = new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#child.stdin.write(`${command}\n`);
    const value = await reply;
    if (value.error) throw new Error(`native floor: ${command.split(' ')[0]}: ${value.error}`);
    return value;
  }

  close() {
    if (!this.#exited) this.#child.stdin.end('quit\n');
  }
}

export function fnv1a(labels) {
  let hash = 1469598103934665603n;
  for (const label of labels) {
    hash ^= BigInt.asUintN(64, BigInt(label));
    hash = BigInt.asUintN(64, hash * 1099511628211n);
  }
  return hash.toString();
}

const sum = (values) => values.reduce((a, b) => a + b, 0);
const qps = (queries, ms) => (queries * 1000) / ms;

/** Queries per second of wall time and per CPU-second. */
function rate(queries, sample) {
  return { qps: qps(queries, sample.ms), cpuQps: qps(queries, sample.cpuMs) };
}

function perQuery(queries, sample) {
  return { us: (sample.ms * 1000) / queries, cpuUs: (sample.cpuMs * 1000) / queries };
}

/**
 * faiss-native's samples against C++'s, three ways: the best sample of each
 * (the least disturbed by other load), the median of the per-rep ratios (each
 * pair measured back to back), and CPU time (queries per CPU-second).
 */
function compareRates(mine, theirs) {
  const best = (list, key) => Math.max(...list.map((x) => x[key]));
  return {
    nodeQps: best(mine, 'qps'),
    cppQps: best(theirs, 'qps'),
    bestRatio: best(mine, 'qps') / best(theirs, 'qps'),
    pairedRatio: median(mine.map((x, i) => x.qps / theirs[i].qps)),
    // Interquartile range of the per-pair ratios: how far one pair can be trusted.
    pairedIqr: quartiles(mine.map((x, i) => x.qps / theirs[i].qps)),
    cpuRatio: median(mine.map((x) => x.cpuQps)) / median(theirs.map((x) => x.cpuQps)),
    samples: { node: mine.map((x) => Math.round(x.qps)), cpp: theirs.map((x) => Math.round(x.qps)) },
  };
}

function quartiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => {
    const position = (sorted.length - 1) * q;
    const low = Math.floor(position);
    return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
  };
  return [at(0.25), at(0.75)];
}

/** One query per call: µs per query, and faiss-native's overhead over the C++ loop. */
function compareLatency({ cpp, sync, async }) {
  const best = (list, key) => Math.min(...list.map((x) => x[key]));
  const side = (list) => ({
    bestUs: best(list, 'us'),
    medianUs: median(list.map((x) => x.us)),
    cpuUs: median(list.map((x) => x.cpuUs)),
    overheadBestUs: best(list, 'us') - best(cpp, 'us'),
    overheadPairedUs: median(list.map((x, i) => x.us - cpp[i].us)),
    overheadCpuUs: median(list.map((x) => x.cpuUs)) - median(cpp.map((x) => x.cpuUs)),
  });
  return {
    cpp: { bestUs: best(cpp, 'us'), medianUs: median(cpp.map((x) => x.us)), cpuUs: median(cpp.map((x) => x.cpuUs)) },
    sync: side(sync),
    async: side(async),
  };
}

function cpuMsSince(start) {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * task: { dataset data (queries, truth, dir, ivf, metric, dimension), indexFile,
 *         nprobes, reps, targetMs, compareBuild, buildRounds, binary, env }
 */
export async function runFloor(task, data) {
  const { IndexIVFPQ } = faissNative();
  const cppEnv = { ...process.env };
  if (task.originalEnv.OMP_WAIT_POLICY === null) delete cppEnv.OMP_WAIT_POLICY;
  else cppEnv.OMP_WAIT_POLICY = task.originalEnv.OMP_WAIT_POLICY;
  // Batch pairs take their C++ side from each of these processes in turn: one
  // process's speed depends on where its memory and code happened to land
  // (copies of the same program differ by a few percent here), so the ratio is
  // against a typical process, not one lucky or unlucky one.
  const batchFloors = Array.from({ length: task.floorProcesses ?? 1 }, () => new FloorProcess(task.binary, cppEnv));
  const cpp = batchFloors[0];
  const cppPassive = new FloorProcess(task.binary, { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' });
  // The same program on Faiss's own loops, for the reference rows.
  const stock = new FloorProcess(task.stockBinary, cppEnv);
  await Promise.all([...batchFloors, cppPassive, stock].map((floor) => floor.ready));
  const result = { dataset: data.id, cppOmpWaitPolicy: cppEnv.OMP_WAIT_POLICY ?? '(unset: libgomp default)', nodeOmpWaitPolicy: process.env.OMP_WAIT_POLICY };
  try {
    // Both sides under OMP_WAIT_POLICY=PASSIVE, faiss-native's default: the ratio is the binding's.
    if (task.compareBuild) result.build = await compareBuild(task, data, cppPassive, IndexIVFPQ);
    if (task.defaultPolicyTrain) {
      const scratch = path.join(data.dir, `floor-default-policy.${process.pid}.index`);
      const reply = await cpp.send(`build ${data.dir} ${data.dimension} ${data.ivf.nlist} ${data.ivf.m} ${data.metric} 2 ${scratch}`);
      (await import('node:fs')).rmSync(scratch, { force: true });
      result.defaultPolicyBuild = { ompWaitPolicy: result.cppOmpWaitPolicy, trainMs: reply.trainMs, addMs: reply.addMs, threads: 2 };
      log(`  C++ train + add under ${result.cppOmpWaitPolicy}: ${seconds(reply.trainMs)} + ${seconds(reply.addMs)}`);
    }
    result.search = await compareSearch(task, data, batchFloors, cppPassive, stock, IndexIVFPQ);
  } finally {
    for (const floor of batchFloors) floor.close();
    cppPassive.close();
    stock.close();
  }
  return result;
}

/** train + add, 2 threads, same rows, alternating C++ and faiss-native. */
async function compareBuild(task, data, cpp, IndexIVFPQ) {
  const { nlist, m } = data.ivf;
  const rounds = [];
  const scratch = path.join(data.dir, `floor-build.${process.pid}.index`);
  for (let round = 0; round < task.buildRounds; round++) {
    const runs = {};
    const order = round % 2 ? ['node', 'cpp'] : ['cpp', 'node'];
    for (const who of order) {
      if (who === 'cpp') {
        const reply = await cpp.send(`build ${data.dir} ${data.dimension} ${nlist} ${m} ${data.metric} 2 ${scratch}`);
        runs.cpp = { trainMs: reply.trainMs, addMs: reply.addMs };
      } else {
        const index = new IndexIVFPQ({ dimension: data.dimension, nlist, m, metric: data.metric });
        let t = performance.now();
        index.trainSync(data.train, { threads: 2 });
        const trainMs = performance.now() - t;
        t = performance.now();
        index.addSync(data.base, { threads: 2 });
        runs.node = { trainMs, addMs: performance.now() - t };
        index.dispose();
      }
    }
    rounds.push(runs);
    log(`  build round ${round + 1}: C++ train ${seconds(runs.cpp.trainMs)} + add ${seconds(runs.cpp.addMs)}, faiss-native train ${seconds(runs.node.trainMs)} + add ${seconds(runs.node.addMs)}`);
  }
  const { rmSync } = await import('node:fs');
  rmSync(scratch, { force: true });
  const ratio = (key) => median(rounds.map((r) => r.cpp[key] / r.node[key]));
  return {
    threads: 2,
    ompWaitPolicy: 'PASSIVE (both)',
    rounds,
    // Speed of faiss-native relative to C++ (C++ time ÷ faiss-native time): 1 = same speed.
    trainSpeedRatio: ratio('trainMs'),
    addSpeedRatio: ratio('addMs'),
  };
}

async function compareSearch(task, data, batchFloors, cppPassive, stock, IndexIVFPQ) {
  const queriesFile = path.join(data.dir, 'queries.f32');
  const cpp = batchFloors[0];
  for (const floor of [...batchFloors, cppPassive, stock]) {
    await floor.send(`load ${task.indexFile}`);
    await floor.send(`queries ${queriesFile}`);
  }
  const index = IndexIVFPQ.readSync(task.indexFile);
  const n = data.queryCount;
  const d = data.dimension;
  const rows = Array.from({ length: n }, (_, i) => data.queries.subarray(i * d, (i + 1) * d));
  const out = [];
  try {
    for (const nprobe of task.nprobes) {
      out.push(await compareAt(nprobe));
    }
  } finally {
    index.dispose();
  }
  return out;

  async function compareAt(nprobe) {
    const started = performance.now();
    // One sample = `calls` batched calls, or `passes` passes of one-query calls;
    // each returns its wall and CPU time (the whole process, all threads).
    const timed = (body) => {
      const cpu = process.cpuUsage();
      const t = performance.now();
      const labels = body();
      return { ms: performance.now() - t, cpuMs: cpuMsSince(cpu), labels };
    };
    const timedAsync = async (body) => {
      const cpu = process.cpuUsage();
      const t = performance.now();
      await body();
      return { ms: performance.now() - t, cpuMs: cpuMsSince(cpu) };
    };
    const node = {
      batch: (threads, calls) => timed(() => {
        let labels;
        for (let c = 0; c < calls; c++) labels = index.searchSync(data.queries, K, { nprobe, threads }).labels;
        return labels;
      }),
      // Timed loops keep nothing; the labels are checked on separate, untimed passes.
      sync: (passes) => timed(() => {
        for (let p = 0; p < passes; p++) for (let i = 0; i < n; i++) index.searchSync(rows[i], K, { nprobe });
      }),
      async: (passes) => timedAsync(async () => {
        for (let p = 0; p < passes; p++) for (let i = 0; i < n; i++) await index.search(rows[i], K, { nprobe });
      }),
    };
    const native = {
      batch: async (floor, threads, calls, path = '') => {
        const reply = await floor.send(`batch ${nprobe} ${threads} ${K} ${calls} ${path}`);
        return { ms: sum(reply.ms), cpuMs: reply.cpuMs, hash: reply.hash };
      },
      single: async (passes, floor = cpp, path = '') => {
        const reply = await floor.send(`single ${nprobe} ${K} ${passes} ${path}`);
        return { ms: sum(reply.ms), cpuMs: reply.cpuMs, hash: reply.hash };
      },
    };
    const singleLabels = async (async) => {
      const labels = new BigInt64Array(n * K);
      for (let i = 0; i < n; i++) {
        const result = async ? await index.search(rows[i], K, { nprobe }) : index.searchSync(rows[i], K, { nprobe });
        labels.set(result.labels, i * K);
      }
      return labels;
    };

    // Warm-up, and the repeat counts that make one sample last about targetMs.
    const warm = { b1: node.batch(1, 1), b2: node.batch(2, 1), s: node.sync(1) };
    for (const floor of batchFloors) {
      await native.batch(floor, 1, 1);
      await native.batch(floor, 2, 1);
    }
    await native.batch(cppPassive, 2, 1);
    await native.single(1);
    await node.async(1);
    const calls = { 1: callsFor(warm.b1.ms, task.targetMs), 2: callsFor(warm.b2.ms, task.targetMs) };
    const passes = callsFor(warm.s.ms, task.targetMs);

    // Per rep, each side's sample for each measurement, in ABBA order (C++ first on even reps).
    const series = {
      batch1: { node: [], cpp: [] },
      batch2: { node: [], cpp: [], cppPassive: [] },
      single: { sync: [], async: [], cpp: [] },
      faiss: { batch1: [], single: [] },
    };
    let batchLabels;
    let batchHash;
    let singleHash;
    for (let rep = 0; rep < task.reps; rep++) {
      const cppFirst = rep % 2 === 0;
      const batchFloor = batchFloors[rep % batchFloors.length];
      for (const threads of [1, 2]) {
        const key = `batch${threads}`;
        const pair = {};
        if (cppFirst) pair.cpp = await native.batch(batchFloor, threads, calls[threads]);
        pair.node = node.batch(threads, calls[threads]);
        if (!cppFirst) pair.cpp = await native.batch(batchFloor, threads, calls[threads]);
        series[key].node.push(rate(n * calls[threads], pair.node));
        series[key].cpp.push(rate(n * calls[threads], pair.cpp));
        if (threads === 2) {
          // The C++ loop again with OMP_WAIT_POLICY=PASSIVE, the policy faiss-native sets.
          series[key].cppPassive.push(rate(n * calls[threads], await native.batch(cppPassive, threads, calls[threads])));
          batchLabels = pair.node.labels;
          batchHash = pair.cpp.hash;
        }
      }
      let c;
      if (cppFirst) c = await native.single(passes);
      const sync = node.sync(passes);
      const async = await node.async(passes);
      if (!cppFirst) c = await native.single(passes);
      series.single.cpp.push(perQuery(n * passes, c));
      // Stock Faiss from C++ (IndexIVF::search on Faiss's own loops): what the binding's search path replaces.
      series.faiss.batch1.push(rate(n * calls[1], await native.batch(stock, 1, calls[1], 'faiss')));
      series.faiss.single.push(perQuery(n * passes, await native.single(passes, stock, 'faiss')));
      series.single.sync.push(perQuery(n * passes, sync));
      series.single.async.push(perQuery(n * passes, async));
      singleHash = c.hash;
    }
    const point = {
      ...pointFrom(nprobe, series),
      recall: recallAt10(batchLabels, data.truth, n),
      sameLabels: {
        batch: fnv1a(batchLabels) === batchHash,
        single: fnv1a(await singleLabels(false)) === singleHash,
        singleAsync: fnv1a(await singleLabels(true)) === singleHash,
      },
      calls: { batch1: calls[1], batch2: calls[2], singlePasses: passes },
      reps: task.reps,
      floorProcesses: batchFloors.length,
      // The raw samples, for mergeFloorRuns; dropped there.
      series,
    };
    logPoint(point, `${seconds(performance.now() - started)}`);
    return point;
  }
}

/** A search point's figures from its samples (one worker's, or several pooled). */
function pointFrom(nprobe, series) {
  return {
    nprobe,
    batch1: compareRates(series.batch1.node, series.batch1.cpp),
    batch2: { ...compareRates(series.batch2.node, series.batch2.cpp), vsPassive: compareRates(series.batch2.node, series.batch2.cppPassive) },
    single: compareLatency(series.single),
    faissSearch: {
      batch1: compareRates(series.batch1.node, series.faiss.batch1),
      single: compareLatency({ cpp: series.faiss.single, sync: series.single.sync, async: series.single.async }),
    },
  };
}

function logPoint(point, note) {
  const r = (x) => x.toFixed(3);
  log(`  nprobe ${point.nprobe} (recall@10 ${point.recall.toFixed(3)}): batch QPS vs C++, 1 thread: best ×${r(point.batch1.bestRatio)}, paired median ×${r(point.batch1.pairedRatio)}, CPU ×${r(point.batch1.cpuRatio)}; ` +
    `2 threads: best ×${r(point.batch2.bestRatio)}, paired ×${r(point.batch2.pairedRatio)}, CPU vs PASSIVE C++ ×${r(point.batch2.vsPassive.cpuRatio)}; ` +
    `one query/call: C++ ${point.single.cpp.bestUs.toFixed(1)} µs, searchSync +${point.single.sync.overheadBestUs.toFixed(1)} µs (CPU +${point.single.sync.overheadCpuUs.toFixed(1)}), ` +
    `search() +${point.single.async.overheadBestUs.toFixed(1)} µs (CPU +${point.single.async.overheadCpuUs.toFixed(1)}); ` +
    `vs Faiss's IndexIVF::search: batch ×${r(point.faissSearch.batch1.pairedRatio)}, one query ${point.faissSearch.single.cpp.bestUs.toFixed(1)} → ${point.single.sync.bestUs.toFixed(1)} µs; same labels: ${Object.values(point.sameLabels).every(Boolean)} (${note})`);
}

// Series are { measurement: { side: samples[] } }; pooling appends each side's samples.
function poolSeries(list) {
  const pooled = {};
  for (const series of list) {
    for (const [measurement, sides] of Object.entries(series)) {
      pooled[measurement] ??= {};
      for (const [side, samples] of Object.entries(sides)) pooled[measurement][side] = [...(pooled[measurement][side] ?? []), ...samples];
    }
  }
  return pooled;
}

/**
 * The floor runs of several worker processes on one data set, as one result:
 * the search figures from all their samples pooled, everything else (build
 * comparison, overhead layers) from the first run, which alone measures them.
 * One Node process's speed also depends on where its memory and code landed,
 * so the pairs are spread over several.
 */
export function mergeFloorRuns(runs) {
  const [first] = runs;
  const search = first.search.map((point, i) => {
    const points = runs.map((run) => run.search[i]);
    const merged = {
      ...point,
      ...pointFrom(point.nprobe, poolSeries(points.map((p) => p.series))),
      sameLabels: Object.fromEntries(Object.keys(point.sameLabels).map((key) => [key, points.every((p) => p.sameLabels[key])])),
      calls: points.map((p) => p.calls),
      reps: points.reduce((total, p) => total + p.reps, 0),
      workers: runs.length,
    };
    delete merged.series;
    if (runs.length > 1) logPoint(merged, `${runs.length} worker processes pooled`);
    return merged;
  });
  return { ...first, search, workers: runs.length };
}
