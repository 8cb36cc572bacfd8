// faiss-node-compat against faiss-node 0.5.1: the same calls, on the same
// data, with number[] inputs as faiss-node's users write them. Each library
// runs in its own child process (one OpenMP thread each), alternating rounds;
// a ratio is compat's median time over faiss-node's, measured in this run.
//
//   node bench/faiss-node-compat.mjs [--rounds 3] [--n 10000] [--d 384]
//
// faiss-node's addon is compiled from its own source against the libfaiss.a
// faiss-native links (bench/peers/build.mjs). Writes
// bench/results/faiss-node-compat.{json,md}.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../tools/random.mjs';
import { RESULT_PREFIX, callsFor, loadAverages, log, median, repoRoot, resultsDir, writeJson } from './compare/common.mjs';
import { ensureFaissNode } from './peers/build.mjs';

const require = createRequire(import.meta.url);
const LIBRARIES = { 'faiss-node': 'faiss-node', compat: path.join(repoRoot, 'packages', 'faiss-node-compat') };
const { values: options } = parseArgs({
  options: {
    child: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    n: { type: 'string', default: '10000' },
    d: { type: 'string', default: '384' },
  },
});
const N = Number(options.n);
const D = Number(options.d);
const SAMPLE_MS = 200;
const SAMPLES = 5;

function randomRows(count, seed) {
  const next = mulberry32(seed);
  return Array.from({ length: count * D }, next);
}

/**
 * Median ms of one call: samples of ~SAMPLE_MS each; `setup` runs untimed
 * before every call, but counts towards the sample's length. With `collect`,
 * the previous calls' garbage is freed untimed before each call: a full
 * collection, then a turn of the event loop, where N-API runs the finalizers
 * that free native memory. For calls that make 15 MB objects, whose freeing
 * would otherwise land in whichever call triggers a collection (and, in a
 * loop that never yields, never happen for faiss-native's indexes).
 */
async function timeCall(call, setup = () => undefined, { collect = false } = {}) {
  const once = async () => {
    const state = setup();
    if (collect) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const started = performance.now();
    call(state);
    return performance.now() - started;
  };
  const firstStarted = performance.now();
  await once();
  const calls = callsFor(performance.now() - firstStarted, SAMPLE_MS);
  const samples = [];
  for (let s = 0; s < SAMPLES; s++) {
    let total = 0;
    for (let i = 0; i < calls; i++) total += await once();
    samples.push(total / calls);
  }
  return median(samples);
}

// One library's timings, in a child process of its own.
async function measure(library) {
  const faiss = require(LIBRARIES[library]);
  if (library === 'compat') require('faiss-native').setNumThreads(1);
  const base = randomRows(N, 1);
  const batches = Array.from({ length: 10 }, (_, b) => base.slice((b * N * D) / 10, ((b + 1) * N * D) / 10));
  const queries = randomRows(100, 2);
  const one = queries.slice(0, D);
  const extra = randomRows(1000, 3);
  const full = new faiss.IndexFlatL2(D);
  for (const batch of batches) full.add(batch);
  const bytes = full.toBuffer();
  const dir = mkdtempSync(path.join(tmpdir(), 'faiss-node-compat-bench-'));
  const file = path.join(dir, 'flat.index');
  full.write(file);
  const removed = Array.from({ length: 10 }, (_, i) => i * 997);

  const ms = {
    'new IndexFlatL2(d)': await timeCall(() => new faiss.IndexFlatL2(D)),
    [`add(${N / 10} vectors) ×10`]: await timeCall((index) => batches.forEach((batch) => index.add(batch)), () => new faiss.IndexFlatL2(D)),
    'add(1 vector) (LangChain adds one at a time)': await timeCall((index) => index.add(one), () => new faiss.IndexFlatL2(D)),
    'search(1 query, k=4)': await timeCall(() => full.search(one, 4)),
    'search(100 queries, k=10)': await timeCall(() => full.search(queries, 10)),
    'removeIds(10 ids)': await timeCall((index) => index.removeIds(removed), () => faiss.IndexFlatL2.fromBuffer(bytes), { collect: true }),
    'mergeFrom(1,000 vectors)': await timeCall(
      ([index, other]) => index.mergeFrom(other),
      () => {
        const other = new faiss.IndexFlatL2(D);
        other.add(extra);
        return [faiss.IndexFlatL2.fromBuffer(bytes), other];
      },
      { collect: true },
    ),
    toBuffer: await timeCall(() => full.toBuffer(), undefined, { collect: true }),
    fromBuffer: await timeCall(() => faiss.IndexFlatL2.fromBuffer(bytes), undefined, { collect: true }),
    write: await timeCall(() => full.write(file)),
    read: await timeCall(() => faiss.IndexFlatL2.read(file), undefined, { collect: true }),
  };
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

if (options.child) {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(await measure(options.child))}\n`);
} else {
  ensureFaissNode({ log });
  const env = { ...process.env, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
  const runs = { 'faiss-node': [], compat: [] };
  const loadBefore = loadAverages();
  for (let round = 0; round < Number(options.rounds); round++) {
    for (const library of round % 2 ? ['compat', 'faiss-node'] : ['faiss-node', 'compat']) {
      log(`round ${round + 1}: ${library}`);
      const args = ['--expose-gc', path.join(repoRoot, 'bench', 'faiss-node-compat.mjs'), '--child', library, '--n', String(N), '--d', String(D)];
      const child = spawnSync(process.execPath, args, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
      const line = child.stdout.split('\n').find((text) => text.startsWith(RESULT_PREFIX));
      if (!line) throw new Error(`${library} child failed:\n${child.stderr}`);
      runs[library].push(JSON.parse(line.slice(RESULT_PREFIX.length)));
    }
  }
  const rows = Object.keys(runs.compat[0]).map((operation) => {
    const faissNodeMs = median(runs['faiss-node'].map((run) => run[operation]));
    const compatMs = median(runs.compat.map((run) => run[operation]));
    return { operation, faissNodeMs, compatMs, ratio: compatMs / faissNodeMs };
  });
  const result = { n: N, d: D, rounds: Number(options.rounds), threads: 1, loadAverages: [loadBefore, loadAverages()], rows };
  writeJson(path.join(resultsDir, 'faiss-node-compat.json'), result);
  const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
  const table = [
    `faiss-node-compat vs faiss-node 0.5.1: IndexFlatL2, ${N.toLocaleString('en')} × ${D} vectors, number[] inputs, 1 thread, median of ${options.rounds} rounds`,
    '',
    '| call | faiss-node 0.5.1 | faiss-node-compat | compat / faiss-node |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map((row) => `| \`${row.operation}\` | ${fmt(row.faissNodeMs)} | ${fmt(row.compatMs)} | ×${row.ratio.toFixed(2)} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(resultsDir, 'faiss-node-compat.md'), table);
  console.log(table);
}
