// Where the time of a one-query call goes, layer by layer, on an index so
// small that Faiss's own work is a few µs: the same Faiss call from C++
// (bench/native-floor.cc), the raw N-API method (dist/binding.js), then the
// TypeScript wrapper (validation, options, coalescer, caller stack). Async
// searches this cheap run inline by default (setInlineSearchBudget); the rows
// marked "pool" show the same call with every search sent to the libuv pool.
// CPU time per call (all threads of the process), which other load barely
// moves; the best of several samples.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { K, cacheRoot, writeArray } from './common.mjs';
import { FloorProcess } from './floor.mjs';
import { faissNative, faissNativeBinding } from './package.mjs';

export async function measureOverhead({ binary, samples = 7, calls = 4000 }) {
  const { IndexIVFPQ, Index, getInlineSearchBudget, setInlineSearchBudget } = faissNative();
  const binding = faissNativeBinding();
  const d = 16;
  const n = 1024;
  const queryCount = 1000;
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const vectors = Float32Array.from({ length: n * d }, random);
  const queries = Float32Array.from({ length: queryCount * d }, random);
  const rows = Array.from({ length: queryCount }, (_, i) => queries.subarray(i * d, (i + 1) * d));

  const index = new IndexIVFPQ({ dimension: d, nlist: 1, m: 4, nbits: 4 });
  index.trainSync(vectors);
  index.addSync(vectors);
  const file = path.join(cacheRoot, `overhead.${process.pid}.index`);
  const queriesFile = path.join(cacheRoot, `overhead.${process.pid}.f32`);
  index.writeSync(file);
  writeArray(queriesFile, queries);
  const native = binding.NativeIndex.readSync(file, false, true, 'ivfpq');
  // The same file read as any index (the same native class, without the IVF-PQ check).
  const anyIndex = Index.readSync(file);
  const anyNative = binding.NativeIndex.readSync(file, false);
  const nprobeOption = Float64Array.of(1, -1, -1, -1, -1, -1);

  const best = (list) => Math.min(...list);
  const measure = async (body) => {
    const cpu = [];
    const wall = [];
    for (let s = 0; s < samples; s++) {
      const start = process.cpuUsage();
      const t = performance.now();
      await body();
      const used = process.cpuUsage(start);
      cpu.push((used.user + used.system) / calls);
      wall.push(((performance.now() - t) * 1000) / calls);
    }
    return { cpuUs: best(cpu), wallUs: best(wall) };
  };
  const loop = (call) => () => {
    for (let i = 0; i < calls; i++) call(rows[i % queryCount]);
  };
  const awaitLoop = (call) => async () => {
    for (let i = 0; i < calls; i++) await call(rows[i % queryCount]);
  };
  const holder = {};
  const defaultBudget = getInlineSearchBudget();
  const viaPool = (body) => async () => {
    setInlineSearchBudget(0);
    try {
      await body();
    } finally {
      setInlineSearchBudget(defaultBudget);
    }
  };
  const layers = [
    ['C++: IndexIVFPQ::search(1 query), bench/native-floor.cc', null],
    ['N-API searchSync (dist/binding.js, no TypeScript wrapper)', loop((q) => native.searchSync(q, K, nprobeOption, 0, 0))],
    ['IndexIVFPQ.searchSync', loop((q) => index.searchSync(q, K, { nprobe: 1 }))],
    ['N-API search, awaited (inline: under the budget)', awaitLoop((q) => native.search(q, K, nprobeOption, 0, 0))],
    ['N-API search, awaited, pool (promise, libuv pool)', viaPool(awaitLoop((q) => native.search(q, K, nprobeOption, 0, 0)))],
    ['IndexIVFPQ.search, awaited, coalescing off', awaitLoop((q) => index.search(q, K, { nprobe: 1 }))],
    ['IndexIVFPQ.search, awaited, coalescing on (default)', awaitLoop((q) => index.search(q, K, { nprobe: 1 }))],
    ['IndexIVFPQ.search, awaited, pool', viaPool(awaitLoop((q) => index.search(q, K, { nprobe: 1 })))],
    ['N-API Index searchSync (dist/binding.js, nprobe as SearchParameters)', loop((q) => anyNative.searchSync(q, K, nprobeOption, 0, 0))],
    ['Index.searchSync', loop((q) => anyIndex.searchSync(q, K, { nprobe: 1 }))],
    ['N-API Index search, awaited', awaitLoop((q) => anyNative.search(q, K, nprobeOption, 0, 0))],
    ['Index.search, awaited (default)', awaitLoop((q) => anyIndex.search(q, K, { nprobe: 1 }))],
    ['Index.search, awaited, pool', viaPool(awaitLoop((q) => anyIndex.search(q, K, { nprobe: 1 })))],
    ['Error.captureStackTrace alone (withCallerStack, per pool call)', loop(() => Error.captureStackTrace(holder, measureOverhead))],
  ];
  const out = [];
  const floor = new FloorProcess(binary, { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' });
  try {
    await floor.ready;
    await floor.send(`load ${file}`);
    await floor.send(`queries ${queriesFile}`);
    const passes = Math.max(1, Math.round(calls / queryCount));
    for (const [name, body] of layers) {
      if (body === null) {
        await floor.send(`single 1 ${K} 1`);
        const cpu = [];
        const wall = [];
        for (let s = 0; s < samples; s++) {
          const reply = await floor.send(`single 1 ${K} ${passes}`);
          cpu.push((reply.cpuMs * 1000) / (passes * queryCount));
          wall.push((reply.ms.reduce((a, b) => a + b, 0) * 1000) / (passes * queryCount));
        }
        out.push({ layer: name, cpuUs: best(cpu), wallUs: best(wall) });
        continue;
      }
      index.coalesceSearches = !name.includes('coalescing off');
      await body(); // warm-up
      out.push({ layer: name, ...(await measure(body)) });
    }
  } finally {
    floor.close();
    index.dispose();
    native.dispose();
    anyIndex.dispose();
    anyNative.dispose();
    rmSync(file, { force: true });
    rmSync(queriesFile, { force: true });
  }
  return { index: `IVF1,PQ4x4, ${n} vectors of d = ${d}, nprobe 1, k = ${K}`, calls, samples, layers: out };
}
