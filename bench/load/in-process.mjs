// In-process throughput of one index, all on the same queries at the same
// nprobe: a searchSync() loop (the baseline), N concurrent single-query
// search() calls, one batched searchSync, concurrent batches; each under the
// thread policy's defaults, with setNumThreads(1) and (2), and with per-call
// { threads: 2 } forced onto single queries.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getNumThreads, setNumThreads } from 'faiss-native';
import { K } from './glove.mjs';
import { cpuWindow } from './system.mjs';

export const libuvPoolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;

/**
 * The configurations, in table order. `threads` says which OpenMP threads the
 * library's policy gives each operation, and how many operations run at once.
 */
export function configurations({ concurrency, defaultThreads }) {
  const inFlight = Math.min(concurrency, libuvPoolSize);
  const batches = 4;
  const shared = Math.max(1, Math.floor(defaultThreads / batches));
  return [
    { id: 'loop', what: 'searchSync() loop, 1 query per call (baseline)', numThreads: defaultThreads, kind: 'loop',
      threads: '1 op × 1 thread (single query → 1)' },
    { id: 'loop-nt1', what: 'searchSync() loop, setNumThreads(1)', numThreads: 1, kind: 'loop',
      threads: '1 op × 1 thread' },
    { id: 'loop-forced2', what: 'searchSync() loop, { threads: 2 } per call', numThreads: defaultThreads, kind: 'loop', callThreads: 2,
      threads: '1 op × 2 threads (forced)' },
    { id: 'concurrent', what: `${concurrency} concurrent search(), 1 query per call`, numThreads: defaultThreads, kind: 'concurrent',
      threads: `${inFlight} ops (libuv pool ${libuvPoolSize}) × 1 thread` },
    { id: 'concurrent-nt1', what: `${concurrency} concurrent search(), setNumThreads(1)`, numThreads: 1, kind: 'concurrent',
      threads: `${inFlight} ops × 1 thread` },
    { id: 'concurrent-forced2', what: `${concurrency} concurrent search(), { threads: 2 } per call`, numThreads: defaultThreads,
      kind: 'concurrent', callThreads: 2, threads: `${inFlight} ops × 2 threads (forced) = ${2 * inFlight}` },
    { id: 'batch', what: 'one searchSync() of all queries', numThreads: defaultThreads, kind: 'batch',
      threads: `1 op × ${defaultThreads} threads (default)` },
    { id: 'batch-nt1', what: 'one searchSync() of all queries, setNumThreads(1)', numThreads: 1, kind: 'batch',
      threads: '1 op × 1 thread' },
    { id: 'batches', what: `${batches} concurrent search() batches`, numThreads: defaultThreads, kind: 'batches', batches,
      threads: `${batches} ops × ${shared} thread${shared > 1 ? 's' : ''} (default ${defaultThreads} shared; the first to start may get ${defaultThreads})` },
    { id: 'batches-forced2', what: `${batches} concurrent search() batches, { threads: 2 } per call`, numThreads: defaultThreads,
      kind: 'batches', batches, callThreads: 2, threads: `${batches} ops × 2 threads (forced) = ${2 * batches}` },
  ];
}

/**
 * Runs every configuration `passes` times, round-robin, so slow phases of a
 * noisy machine spread over all of them; reports each one's median pass.
 */
export async function runInProcess(index, { queries, dimension, count, nprobe, concurrency, passes, log }) {
  const defaultThreads = getNumThreads();
  const configs = configurations({ concurrency, defaultThreads });
  const samples = new Map(configs.map((config) => [config.id, []]));
  try {
    // Warm-up pass (untimed): touches the index, starts libuv and OpenMP threads.
    for (const config of configs) await runOnce(index, config, { queries, dimension, count, nprobe, concurrency });
    for (let pass = 0; pass < passes; pass++) {
      for (const config of configs) {
        samples.get(config.id).push(await runOnce(index, config, { queries, dimension, count, nprobe, concurrency }));
      }
      log?.(`in-process pass ${pass + 1}/${passes} done`);
    }
  } finally {
    setNumThreads(defaultThreads);
  }
  return configs.map((config) => summarise(config, samples.get(config.id), count));
}

async function runOnce(index, config, { queries, dimension, count, nprobe, concurrency }) {
  setNumThreads(config.numThreads);
  const options = config.callThreads ? { nprobe, threads: config.callThreads } : { nprobe };
  const query = (i) => queries.subarray(i * dimension, (i + 1) * dimension);
  const all = queries.subarray(0, count * dimension);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const latencies = [];
  const window = cpuWindow();
  delay.enable();
  if (config.kind === 'loop') {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      index.searchSync(query(i), K, options);
      latencies.push(performance.now() - start);
    }
  } else if (config.kind === 'concurrent') {
    let next = 0;
    const caller = async () => {
      while (next < count) {
        const i = next++;
        const start = performance.now();
        await index.search(query(i), K, options);
        latencies.push(performance.now() - start);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
  } else if (config.kind === 'batch') {
    index.searchSync(all, K, options);
  } else {
    const per = Math.ceil(count / config.batches);
    const slices = Array.from({ length: config.batches }, (_, b) => all.subarray(b * per * dimension, Math.min(count, (b + 1) * per) * dimension));
    await Promise.all(slices.map((slice) => index.search(slice, K, options)));
  }
  delay.disable();
  const cpu = window.stop();
  latencies.sort((a, b) => a - b);
  return {
    qps: count / (cpu.wallMs / 1000),
    ...cpu,
    latencyMs: latencies.length ? { p50: percentile(latencies, 50), p99: percentile(latencies, 99) } : null,
    // Blocking calls block the loop by design: only the async forms are judged by it.
    eventLoopDelayP99Ms: config.kind === 'concurrent' || config.kind === 'batches' ? delay.percentile(99) / 1e6 : null,
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarise(config, runs, count) {
  const byQps = [...runs].sort((a, b) => a.qps - b.qps);
  const median = byQps[Math.floor((byQps.length - 1) / 2)];
  const round = (value, digits = 2) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));
  return {
    id: config.id,
    what: config.what,
    threads: config.threads,
    numThreads: config.numThreads,
    callThreads: config.callThreads ?? null,
    queries: count,
    qps: Math.round(median.qps),
    qpsRange: [Math.round(byQps[0].qps), Math.round(byQps[byQps.length - 1].qps)],
    latencyMs: median.latencyMs && { p50: round(median.latencyMs.p50, 3), p99: round(median.latencyMs.p99, 3) },
    eventLoopDelayP99Ms: round(median.eventLoopDelayP99Ms),
    cores: round(median.ownCores),
    // Throughput per CPU-second used: what the configuration costs, whatever share of the machine it got.
    queriesPerCpuSecond: Math.round(median.qps / median.ownCores),
    othersCores: round(median.othersCores),
    passes: runs.length,
  };
}
