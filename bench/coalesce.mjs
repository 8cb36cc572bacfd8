// Coalesced search against one search() per call: many callers each issuing
// one query at a time (what a server does per request), on GloVe-100 with the
// cached IVF-PQ index of the load benchmark. Reports throughput and latency
// with coalescing on and off in the same run, at nprobe 1, 8 and 32.
//   node bench/coalesce.mjs [--seconds 5] [--callers 32]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadDataset, loadIndex } from './load/glove.mjs';
import { writeAtomically } from '../tools/datasets.mjs';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, callers: { type: 'string', default: '32' }, m: { type: 'string', default: '50' } },
});
const seconds = Number(values.seconds);
const callers = Number(values.callers);
const log = (line) => console.error(line);

const dataset = loadDataset({ log });
const { index } = loadIndex(dataset, { nlist: 2048, m: Number(values.m) }, { log });
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
load.end = os.loadavg();

const fmt = (n, d = 0) => n.toFixed(d);
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
];
console.log(lines.join('\n'));
writeAtomically(new URL('./results/coalesce.md', import.meta.url).pathname, lines.join('\n'));
writeAtomically(new URL('./results/coalesce.json', import.meta.url).pathname, `${JSON.stringify({ callers, seconds, load, rows }, null, 2)}\n`);
index.dispose();
