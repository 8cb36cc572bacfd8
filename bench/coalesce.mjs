// Coalesced search against one search() per call: many callers each issuing
// one query at a time (what a server does per request), on GloVe-100 with the
// cached IVF-PQ index of the load benchmark. Reports throughput and latency
// with coalescing on and off in the same run, at nprobe 1, 8 and 32: in
// process, then one query per POST /search to the example HTTP server.
//   node bench/coalesce.mjs [--seconds 5] [--callers 32] [--http-seconds 8] [--baseline DIR]
// --baseline: another checkout of faiss-native, built, whose example server
// (copied from this one) runs uncoalesced beside this one's over HTTP.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset, loadIndex } from './load/glove.mjs';
import { writeAtomically } from '../tools/datasets.mjs';
import { runHttpLoad } from './load/http-load.mjs';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, callers: { type: 'string', default: '32' }, m: { type: 'string', default: '50' }, 'http-seconds': { type: 'string', default: '8' }, baseline: { type: 'string' } },
});
const seconds = Number(values.seconds);
const callers = Number(values.callers);
const log = (line) => console.error(line);

const dataset = loadDataset({ log });
const { index, file: indexPath } = loadIndex(dataset, { nlist: 2048, m: Number(values.m) }, { log });
const dimension = dataset.dimension;
const queries = dataset.queries;
const queryCount = queries.length / dimension;

async function run(nprobe, coalesce) {
  index.coalesceSearches = coalesce;
  const latencies = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  async function caller() {
    while (performance.now() < deadline) {
      const q = next++ % queryCount;
      const started = performance.now();
      await index.search(queries.subarray(q * dimension, (q + 1) * dimension), 10, { nprobe });
      latencies.push(performance.now() - started);
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, caller));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { qps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

const rows = [];
const load = { start: os.loadavg() };
for (const nprobe of [1, 8, 32]) {
  await run(nprobe, true); // warm-up
  // Alternate, so drifting load hits both modes alike.
  const off1 = await run(nprobe, false);
  const on1 = await run(nprobe, true);
  const off2 = await run(nprobe, false);
  const on2 = await run(nprobe, true);
  const best = (a, b) => (a.qps >= b.qps ? a : b);
  const off = best(off1, off2);
  const on = best(on1, on2);
  rows.push({ nprobe, off, on, ratio: on.qps / off.qps });
}

// Over HTTP: the server in a child process (libuv pool 4), autocannon here.
const httpRows = [];
const baselineCommit = values.baseline
  ? execFileSync('git', ['-C', values.baseline, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim()
  : undefined;
const baselineScript = values.baseline && path.resolve(values.baseline, 'examples', 'http-server', 'server.mjs');
const httpRun = (nprobe, coalesce, script) =>
  runHttpLoad({
    indexPath, queries, dimension, count: queryCount, truth: dataset.truth, nprobe, coalesce, script,
    connections: callers, durationSeconds: Number(values['http-seconds']), poolSize: 4,
  });
for (const nprobe of [1, 8, 32]) {
  const best = (a, b) => (!a || b.requestsPerSecond >= a.requestsPerSecond ? b : a);
  let off;
  let on;
  let baseline;
  for (let round = 0; round < 2; round++) {
    off = best(off, await httpRun(nprobe, false));
    on = best(on, await httpRun(nprobe, true));
    if (baselineScript) baseline = best(baseline, await httpRun(nprobe, false, baselineScript));
  }
  httpRows.push({ nprobe, off, on, ratio: on.requestsPerSecond / off.requestsPerSecond, baseline });
  log(`HTTP nprobe ${nprobe}: off ${off.requestsPerSecond} req/s, on ${on.requestsPerSecond} req/s${baseline ? `, baseline off ${baseline.requestsPerSecond} req/s` : ''}`);
}
load.end = os.loadavg();

const fmt = (n, d = 0) => n.toFixed(d);
const perCore = (run) => run.requestsPerSecond / run.server.cores;
const lines = [
  `# Coalesced search: ${callers} callers × one query each, GloVe-100 (${dataset.baseCount} vectors, cosine), IVF2048,PQ${values.m}`,
  '',
  `${seconds} s per measurement, best of two alternating runs per mode; default threads (${os.availableParallelism()} cores). Load average ${load.start.map((v) => v.toFixed(2)).join(' / ')} → ${load.end.map((v) => v.toFixed(2)).join(' / ')}.`,
  '',
  '| nprobe | off: QPS | off: p50 / p99 ms | on: QPS | on: p50 / p99 ms | on ÷ off |',
  '| ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.nprobe} | ${fmt(r.off.qps)} | ${fmt(r.off.p50, 2)} / ${fmt(r.off.p99, 2)} | ${fmt(r.on.qps)} | ${fmt(r.on.p50, 2)} / ${fmt(r.on.p99, 2)} | ×${fmt(r.ratio, 2)} |`,
  ),
  '',
  `## Over HTTP: one query per POST /search, ${callers} connections, ${values['http-seconds']} s per run, best of two alternating runs`,
  '',
  'The example server (libuv pool 4) in a child process; autocannon in this process shares the same cores.',
  '',
  'Per server core: requests per CPU-second of the server process (all its threads), which leaves out the load generator.',
  '',
  '| nprobe | off: req/s | off: p50 / p99 ms | off: per server core | on: req/s | on: p50 / p99 ms | on: per server core | on ÷ off: req/s · per core | errors |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...httpRows.map(
    (r) =>
      `| ${r.nprobe} | ${r.off.requestsPerSecond} | ${r.off.latencyMs.p50} / ${r.off.latencyMs.p99} | ${fmt(perCore(r.off))} | ${r.on.requestsPerSecond} | ${r.on.latencyMs.p50} / ${r.on.latencyMs.p99} | ${fmt(perCore(r.on))} | ×${fmt(r.ratio, 2)} · ×${fmt(perCore(r.on) / perCore(r.off), 2)} | ${r.off.errors + r.on.errors + r.off.non2xx + r.on.non2xx} |`,
  ),
  '',
  ...(baselineScript
    ? [
        `Baseline: faiss-native at ${baselineCommit}, uncoalesced, same server, alternating with the runs above.`,
        '',
        '| nprobe | baseline off: req/s | p50 / p99 ms | per server core | this build off ÷ baseline: req/s · per core | this build on ÷ baseline: req/s · per core |',
        '| ---: | ---: | ---: | ---: | ---: | ---: |',
        ...httpRows.map(
          (r) =>
            `| ${r.nprobe} | ${r.baseline.requestsPerSecond} | ${r.baseline.latencyMs.p50} / ${r.baseline.latencyMs.p99} | ${fmt(perCore(r.baseline))} | ` +
            `×${fmt(r.off.requestsPerSecond / r.baseline.requestsPerSecond, 2)} · ×${fmt(perCore(r.off) / perCore(r.baseline), 2)} | ` +
            `×${fmt(r.on.requestsPerSecond / r.baseline.requestsPerSecond, 2)} · ×${fmt(perCore(r.on) / perCore(r.baseline), 2)} |`,
        ),
        '',
      ]
    : []),
];
console.log(lines.join('\n'));
writeAtomically(new URL('./results/coalesce.md', import.meta.url).pathname, lines.join('\n'));
writeAtomically(new URL('./results/coalesce.json', import.meta.url).pathname, `${JSON.stringify({ callers, seconds, load, rows, http: httpRows }, null, 2)}\n`);
index.dispose();
