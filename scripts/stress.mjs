#!/usr/bin/env node
// Stress: many concurrent callers issue a random mix of async search / add /
// removeIds / write / read (and a few Sync calls, reconstructs and deliberate
// bad calls) on shared indexes for a while.
//
//   node scripts/stress.mjs --seconds 60 --seed 1 [--callers 24] [--package DIR]
//
// The API promises call-order semantics: operations on one index take effect
// in the order they were called, whatever their completion order. So every
// call is also applied, at the moment it is issued, to a mirror index with the
// Sync API; each async result must match what the mirror answered at that
// point (search results, removeIds counts, files written then read back, the
// rejections), and at the end each shared index must equal its mirror (same
// bytes from toBuffer(), same neighbours). No crash, no unexpected rejection.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeLayout, makeRandom } from './fuzz-index-files.mjs';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SCRIPT), '..');

function floats(random, count) {
  const out = new Float32Array(count);
  for (let i = 0; i < out.length; i++) out[i] = random.next();
  return out;
}

/**
 * The same results, bit for bit: a query's answer does not depend on the
 * batch it was coalesced into or the threads it ran on.
 */
export function sameNeighbours(actual, expected, k) {
  if (actual.labels.length !== expected.labels.length) return `length ${actual.labels.length} != ${expected.labels.length}`;
  for (let i = 0; i < expected.labels.length; i++) {
    if (actual.labels[i] !== expected.labels[i] || !Object.is(actual.distances[i], expected.distances[i])) {
      return `query ${Math.floor(i / k)} rank ${i % k}: ${actual.labels[i]} (distance ${actual.distances[i]}) != ${expected.labels[i]} (distance ${expected.distances[i]})`;
    }
  }
  return undefined;
}

/**
 * The serialized index with its direct-map hashtable in sorted order: Faiss
 * writes an unordered_map in iteration order, which depends on its insertion
 * and rehash history, not only on its contents.
 */
export function canonicalBytes(buffer) {
  const out = Buffer.from(buffer);
  const fields = describeLayout(buffer).filter((f) => f.name === 'dm.table[].id');
  if (fields.length === 0) return out;
  const pairs = fields.map((f) => [buffer.readBigInt64LE(f.off), buffer.readBigInt64LE(f.off + 8)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  pairs.forEach(([id, location], i) => {
    out.writeBigInt64LE(id, fields[i].off);
    out.writeBigInt64LE(location, fields[i].off + 8);
  });
  return out;
}

const SHAPES = [
  { name: 'l2', options: { dimension: 16, nlist: 32, m: 4, nbits: 8, metric: 'l2' }, initial: 3000 },
  { name: 'ip-directmap', options: { dimension: 16, nlist: 16, m: 8, nbits: 4, metric: 'ip', directMap: true }, initial: 2000 },
  { name: 'cosine-refine-sq8', options: { dimension: 16, nlist: 16, m: 4, nbits: 8, metric: 'cosine', refine: 'sq8' }, initial: 2000 },
  { name: 'l2-refine-flat-nocoalesce', options: { dimension: 16, nlist: 8, m: 4, nbits: 6, metric: 'l2', refine: 'flat', coalesce: false }, initial: 1500 },
];

export async function runStress({ seconds = 60, seed = 1, callers = 24, packageDir = ROOT, log = () => {} } = {}) {
  const lib = createRequire(path.join(packageDir, 'package.json'))(path.join(packageDir, 'dist', 'index.js'));
  const { IndexIVFPQ, FaissError } = lib;
  const random = makeRandom(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-stress-'));
  const stats = { ops: {}, expectedRejections: {}, mismatches: [], unexpected: [], filesRead: 0, seconds };
  const count = (table, key) => (table[key] = (table[key] ?? 0) + 1);
  const mismatch = (what) => {
    if (stats.mismatches.length < 20) stats.mismatches.push(what);
    else stats.mismatches.length++;
  };
  const unexpected = (what, error) => {
    const text = `${what}: ${error?.name ?? typeof error}: ${error?.message ?? error}`;
    if (stats.unexpected.length < 20) stats.unexpected.push(text);
    else stats.unexpected.length++;
  };

  // Shared indexes and their mirrors, identical to the byte at the start.
  const pairs = [];
  for (const shape of SHAPES) {
    let index;
    try {
      index = new IndexIVFPQ(shape.options);
    } catch (error) {
      log(`stress: skipping ${shape.name}: ${error.message}`);
      continue;
    }
    const d = shape.options.dimension;
    index.trainSync(floats(random, 39 * Math.max(shape.options.nlist, 2 ** shape.options.nbits) * d));
    const ids = BigInt64Array.from({ length: shape.initial }, (_, i) => BigInt(i * 7 + 3));
    index.addWithIdsSync(floats(random, shape.initial * d), ids);
    const mirror = IndexIVFPQ.fromBuffer(index.toBuffer());
    pairs.push({ ...shape, d, index, mirror, present: new Set(ids), nextId: BigInt(shape.initial * 7 + 10) });
  }

  const probe = (pair) => floats(makeRandom(99), 8 * pair.d);
  const settle = new Set();
  stats.maxInFlight = 0;
  const track = (promise) => {
    settle.add(promise);
    stats.maxInFlight = Math.max(stats.maxInFlight, settle.size);
    promise.finally(() => settle.delete(promise));
    return promise;
  };

  /** The error a sync call throws, or undefined. */
  const outcome = (fn) => {
    try {
      return { value: fn() };
    } catch (error) {
      return { error };
    }
  };

  const sameError = (a, b) => a?.constructor === b?.constructor && a?.message === b?.message;

  // Issues one random operation on `pair`; returns a promise for its checks.
  function issue(pair) {
    const { index, mirror, d } = pair;
    const kind = random.pick(['search', 'search', 'search', 'search', 'add', 'add', 'remove', 'write', 'searchSync', 'reconstruct', 'bad']);
    count(stats.ops, kind);
    if (kind === 'search') {
      const n = random.pick([1, 1, 2, 5, 16, 40]);
      const queries = floats(random, n * d);
      const k = random.pick([1, 5, 10]);
      const options = random.chance(0.5) ? { nprobe: 1 + random.int(pair.options.nlist) } : {};
      if (random.chance(0.3)) options.threads = 1;
      const expected = mirror.searchSync(queries, k, options);
      return index.search(queries, k, options).then(
        (result) => {
          const diff = sameNeighbours(result, expected, k);
          if (diff) mismatch(`${pair.name} search: ${diff}`);
        },
        (error) => unexpected(`${pair.name} search`, error),
      );
    }
    if (kind === 'searchSync') {
      // Waits for everything issued before it on this index.
      const queries = floats(random, 3 * d);
      const expected = mirror.searchSync(queries, 5);
      const got = outcome(() => index.searchSync(queries, 5));
      if (got.error) unexpected(`${pair.name} searchSync`, got.error);
      else {
        const diff = sameNeighbours(got.value, expected, 5);
        if (diff) mismatch(`${pair.name} searchSync: ${diff}`);
      }
      return Promise.resolve();
    }
    if (kind === 'add') {
      const n = 1 + random.int(40);
      const vectors = floats(random, n * d);
      const ids = BigInt64Array.from({ length: n }, () => pair.nextId++);
      mirror.addWithIdsSync(vectors, ids);
      for (const id of ids) pair.present.add(id);
      return index.addWithIds(vectors, ids).catch((error) => unexpected(`${pair.name} add`, error));
    }
    if (kind === 'remove') {
      const present = [...pair.present];
      const chosen = Array.from({ length: 1 + random.int(20) }, () => (random.chance(0.85) && present.length > 0 ? random.pick(present) : 10n ** 12n + BigInt(random.int(1000))));
      const ids = BigInt64Array.from(new Set(chosen));
      const expected = mirror.removeIdsSync(ids);
      for (const id of ids) pair.present.delete(id);
      return index.removeIds(ids).then(
        (removed) => {
          if (removed !== expected) mismatch(`${pair.name} removeIds returned ${removed}, mirror ${expected}`);
        },
        (error) => unexpected(`${pair.name} removeIds`, error),
      );
    }
    if (kind === 'write') {
      const file = path.join(dir, `${pair.name}-${stats.ops.write}.index`);
      const queries = probe(pair);
      const expected = mirror.searchSync(queries, 10, { nprobe: pair.options.nlist });
      const ntotal = mirror.ntotal;
      return index.write(file).then(
        async () => {
          // Read it back one of the four ways; it must be the index as it was when write() was called.
          const how = random.pick(['read', 'readSync', 'mmap', 'buffer']);
          let copy;
          try {
            if (how === 'read') copy = await IndexIVFPQ.read(file);
            else if (how === 'readSync') copy = IndexIVFPQ.readSync(file);
            else if (how === 'mmap') copy = await IndexIVFPQ.read(file, { mmap: true });
            else copy = IndexIVFPQ.fromBuffer(fs.readFileSync(file));
            stats.filesRead++;
            if (copy.ntotal !== ntotal) mismatch(`${pair.name} ${how}: ntotal ${copy.ntotal} != ${ntotal} at write()`);
            const pending = copy.search(queries, 10, { nprobe: pair.options.nlist });
            // dispose() waits for the search already issued.
            if (random.chance(0.5)) copy.dispose();
            const diff = sameNeighbours(await pending, expected, 10);
            if (diff) mismatch(`${pair.name} ${how} after write: ${diff}`);
            copy.dispose();
            try {
              copy.searchSync(queries, 1);
              mismatch(`${pair.name}: a disposed index still searched`);
            } catch (error) {
              if (error instanceof FaissError && error.code === 'ERR_FAISS_DISPOSED') count(stats.expectedRejections, 'search after dispose');
              else unexpected(`${pair.name} search after dispose`, error);
            }
          } catch (error) {
            unexpected(`${pair.name} ${how} of a written file`, error);
          } finally {
            fs.rmSync(file, { force: true });
          }
        },
        (error) => unexpected(`${pair.name} write`, error),
      );
    }
    if (kind === 'reconstruct') {
      if (!pair.options.directMap) return issue(pair);
      const present = [...pair.present];
      const id = random.chance(0.8) && present.length > 0 ? random.pick(present) : 10n ** 13n;
      const expected = outcome(() => mirror.reconstructSync(id));
      return index.reconstruct(id).then(
        (vector) => {
          if (expected.error) mismatch(`${pair.name} reconstruct(${id}) worked but the mirror threw ${expected.error.message}`);
          else if (vector.some((x, i) => Math.abs(x - expected.value[i]) > 1e-5)) mismatch(`${pair.name} reconstruct(${id}) differs`);
        },
        (error) => {
          if (expected.error && sameError(error, expected.error)) count(stats.expectedRejections, 'reconstruct of an absent id');
          else unexpected(`${pair.name} reconstruct(${id})`, error);
        },
      );
    }
    // Deliberately bad calls: they must reject (never throw), with the mirror's error.
    const bad = random.pick([
      ['nprobe out of range', (x) => x.search(floats(random, d), 3, { nprobe: pair.options.nlist + 1 }), (x) => x.searchSync(floats(random, d), 3, { nprobe: pair.options.nlist + 1 })],
      ['wrong vector length', (x) => x.addWithIds(floats(random, d + 1), BigInt64Array.of(1n)), (x) => x.addWithIdsSync(floats(random, d + 1), BigInt64Array.of(1n))],
      ['negative id', (x) => x.addWithIds(floats(random, d), BigInt64Array.of(-5n)), (x) => x.addWithIdsSync(floats(random, d), BigInt64Array.of(-5n))],
      ['k = 0', (x) => x.search(floats(random, d), 0), (x) => x.searchSync(floats(random, d), 0)],
    ]);
    const [label, call, syncCall] = bad;
    const expected = outcome(() => syncCall(mirror));
    let promise;
    try {
      promise = call(index);
    } catch (error) {
      unexpected(`${pair.name} ${label} threw instead of rejecting`, error);
      return Promise.resolve();
    }
    return promise.then(
      () => mismatch(`${pair.name} ${label} did not reject`),
      (error) => {
        if (expected.error && sameError(error, expected.error)) count(stats.expectedRejections, label);
        else unexpected(`${pair.name} ${label}`, error);
      },
    );
  }

  const started = Date.now();
  const end = started + seconds * 1000;
  let issued = 0;
  async function caller() {
    while (Date.now() < end) {
      const pair = random.pick(pairs);
      const pending = track(issue(pair));
      issued++;
      // Mostly await our own call; sometimes fire and move on, so more is in flight.
      if (random.chance(0.7)) await pending;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  await Promise.all([...settle]);
  stats.issued = issued;
  stats.elapsed = (Date.now() - started) / 1000;

  // The shared indexes equal their mirrors.
  stats.final = [];
  for (const pair of pairs) {
    const same = canonicalBytes(pair.index.toBuffer()).equals(canonicalBytes(pair.mirror.toBuffer()));
    const queries = floats(makeRandom(7), 100 * pair.d);
    const diff = sameNeighbours(
      pair.index.searchSync(queries, 10, { nprobe: pair.options.nlist }),
      pair.mirror.searchSync(queries, 10, { nprobe: pair.options.nlist }),
      10,
    );
    if (pair.index.ntotal !== pair.mirror.ntotal) mismatch(`${pair.name}: final ntotal ${pair.index.ntotal} != ${pair.mirror.ntotal}`);
    if (diff) mismatch(`${pair.name}: final search ${diff}`);
    if (!same) mismatch(`${pair.name}: final toBuffer() bytes differ from the mirror's`);
    stats.final.push({ name: pair.name, ntotal: pair.index.ntotal, sameBytes: same });
    pair.index.dispose();
    pair.mirror.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return stats;
}

function parseArgs(argv) {
  const options = { seconds: 60, seed: 1, callers: 24, packageDir: ROOT };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (key === 'package') options.packageDir = path.resolve(argv[i + 1]);
    else if (key in options) options[key] = Number(argv[i + 1]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return options;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SCRIPT) {
  const options = parseArgs(process.argv.slice(2));
  runStress({ ...options, log: (line) => console.error(line) }).then(
    (stats) => {
      console.log(JSON.stringify(stats, null, 2));
      const ok = stats.mismatches.length === 0 && stats.unexpected.length === 0;
      console.log(ok ? `stress: OK, ${stats.issued} operations in ${stats.elapsed.toFixed(1)} s` : 'stress: FAILED');
      process.exitCode = ok ? 0 : 1;
    },
    (error) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
