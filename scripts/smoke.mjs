// End-to-end smoke test of an installed faiss-native, in plain JavaScript so
// that it runs on any Node.js >= 18 with nothing else installed (a bare
// chroot, an emulated arm64 root, a release job):
//
//   node smoke.mjs run [package dir or name] [--expect-prebuild] [--expect-simd=LEVEL] [--save=file] [--index=file] > result.json
//       loads faiss-native, trains, adds, searches, writes, reads back and
//       searches again, and prints the results as JSON; exits 1 if anything
//       is inconsistent (read-back differs, recall too low, or with
//       --expect-prebuild, the binary loaded is not a prebuilt one; with
//       --expect-simd, Faiss runs at another SIMD level).
//       --save keeps the trained index; --index also reads an index saved
//       elsewhere and searches it (results under "read").
//   node smoke.mjs compare expected.json actual.json [--tolerance=1e-4]
//       same labels, distances equal within the relative tolerance.
//
// Run on two machines, the results agree label for label: the index trained
// here, and (with --index) an index another machine trained and wrote, read
// and searched here. Distances may differ in the last bits between CPUs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const D = 32; // dimension
const M = 8; // PQ sub-quantizers
const NBITS = 6; // 64 centroids each: quick to train under emulation
const NLIST = 16;
const N = 3000; // database = training vectors
const NQ = 40;
const K = 10;
const NPROBE = 4;

function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform random vectors in [0, 1)^D, the same on every machine. */
function vectors(n, seed) {
  const random = rng(seed);
  return Float32Array.from({ length: n * D }, random);
}

function plain(result) {
  return { labels: Array.from(result.labels, String), distances: Array.from(result.distances) };
}

function same(a, b) {
  return JSON.stringify(plain(a)) === JSON.stringify(plain(b));
}

function loadPackage(target) {
  const require = createRequire(path.join(process.cwd(), 'noop.js'));
  const resolved = require.resolve(target);
  const api = require(resolved);
  // The package root: the nearest directory above the entry point with a package.json named faiss-native.
  let dir = path.dirname(resolved);
  while (dir !== path.dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'faiss-native') break;
    } catch {}
    dir = path.dirname(dir);
  }
  // The binary actually loaded (Linux: from the process's memory map), else node-gyp-build's choice.
  let binary;
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
    binary = maps.map((line) => line.slice(line.indexOf('/'))).find((f) => f.startsWith(dir + path.sep) && f.endsWith('.node'));
  } catch {}
  binary ??= createRequire(path.join(dir, 'package.json'))('node-gyp-build').resolve(dir);
  return { api, root: dir, binary };
}

async function run(target, { expectPrebuild, expectSimd, save, indexFile }) {
  const problems = [];
  const { api, root, binary } = loadPackage(target);
  const { IndexIVFPQ, IndexFlat } = api;
  const base = vectors(N, 1);
  const queries = vectors(NQ, 2);

  const started = Date.now();
  const index = new IndexIVFPQ({ dimension: D, nlist: NLIST, m: M, nbits: NBITS, metric: 'l2' });
  await index.train(base);
  await index.add(base);
  const result = await index.search(queries, K, { nprobe: NPROBE });
  const syncResult = index.searchSync(queries, K, { nprobe: NPROBE });
  if (!same(result, syncResult)) problems.push('search and searchSync differ');

  const dir = mkdtempSync(path.join(tmpdir(), 'faiss-native-smoke-'));
  const file = path.join(dir, 'smoke.index');
  await index.write(file);
  if (save) await index.write(save);
  const again = await IndexIVFPQ.read(file);
  const readBack = await again.search(queries, K, { nprobe: NPROBE });
  if (again.ntotal !== N) problems.push(`read-back ntotal ${again.ntotal}, expected ${N}`);
  if (!same(result, readBack)) problems.push('search after write/read differs from before');
  rmSync(dir, { recursive: true, force: true });

  // Sanity against brute force: the true nearest neighbour is found for most queries.
  const flat = new IndexFlat({ dimension: D, metric: 'l2' });
  flat.addSync(base);
  const exact = flat.searchSync(queries, 1);
  let hits = 0;
  for (let q = 0; q < NQ; q++) {
    if (result.labels.subarray(q * K, (q + 1) * K).includes(exact.labels[q])) hits++;
  }
  const recall = hits / NQ;
  // Uniform random 32-d data are hard for PQ; a broken index would find almost none (10/3000).
  if (recall < 0.4) problems.push(`recall@${K} ${recall} below 0.4`);
  let read;
  if (indexFile) {
    const other = await IndexIVFPQ.read(indexFile);
    read = plain(await other.search(queries, K, { nprobe: NPROBE }));
    other.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  for (const i of [index, again, flat]) i.dispose();

  const { version: faiss, simdLevel } = api.faissInfo();
  if (expectSimd && simdLevel !== expectSimd) problems.push(`Faiss runs at ${simdLevel}, expected ${expectSimd}`);
  const relativeBinary = path.relative(root, binary);
  if (expectPrebuild && !relativeBinary.startsWith(`prebuilds${path.sep}`)) {
    problems.push(`loaded ${relativeBinary}, not a prebuilt binary`);
  }
  const report = {
    node: process.version,
    arch: process.arch,
    binary: relativeBinary,
    faiss,
    simdLevel,
    recall,
    seconds,
    problems,
    ...plain(result),
    read,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (problems.length > 0) {
    console.error(`smoke: ${problems.join('; ')}`);
    process.exit(1);
  }
}

/** Labels equal; distances within `tolerance` relative to max(1, |expected|). */
function compareResults(name, expected, actual, tolerance, problems) {
  if (expected.labels.length !== actual.labels.length) {
    problems.push(`${name}: different numbers of results`);
    return;
  }
  let labelDiffs = 0;
  let maxRelative = 0;
  for (let i = 0; i < expected.labels.length; i++) {
    if (expected.labels[i] !== actual.labels[i]) labelDiffs++;
    const e = expected.distances[i];
    const a = actual.distances[i];
    maxRelative = Math.max(maxRelative, Math.abs(a - e) / Math.max(1, Math.abs(e)));
  }
  console.log(
    `  ${name}: ${expected.labels.length - labelDiffs}/${expected.labels.length} labels equal, ` +
      `max relative distance difference ${maxRelative.toExponential(2)}`,
  );
  if (labelDiffs > 0) problems.push(`${name}: ${labelDiffs} of ${expected.labels.length} labels differ`);
  if (maxRelative > tolerance) problems.push(`${name}: distances differ by up to ${maxRelative.toExponential(2)}`);
}

function compare(expectedFile, actualFile, tolerance) {
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
  const actual = JSON.parse(readFileSync(actualFile, 'utf8'));
  const where = (r) => `${r.arch} node ${r.node}, Faiss ${r.faiss} at ${r.simdLevel} (${r.binary})`;
  console.log(`compare: ${where(actual)} against ${where(expected)}`);
  const problems = [];
  compareResults('trained here', expected, actual, tolerance, problems);
  if (actual.read) compareResults('index read from the other machine', expected, actual.read, tolerance, problems);
  if (problems.length > 0) {
    console.error(`compare: ${problems.join('; ')}`);
    process.exit(1);
  }
}

const [command, ...rest] = process.argv.slice(2);
const flags = rest.filter((a) => a.startsWith('--'));
const args = rest.filter((a) => !a.startsWith('--'));
if (command === 'run') {
  const value = (name) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
  await run(args[0] ?? 'faiss-native', {
    expectPrebuild: flags.includes('--expect-prebuild'),
    expectSimd: value('expect-simd'),
    save: value('save'),
    indexFile: value('index'),
  });
} else if (command === 'compare' && args.length === 2) {
  const flag = flags.find((f) => f.startsWith('--tolerance='));
  compare(args[0], args[1], flag ? Number(flag.slice('--tolerance='.length)) : 1e-4);
} else {
  console.error('usage: node smoke.mjs run [package] [--expect-prebuild] [--expect-simd=LEVEL] [--save=f] [--index=f] | compare expected.json actual.json [--tolerance=x]');
  process.exit(2);
}
