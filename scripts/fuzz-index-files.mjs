#!/usr/bin/env node
// Fuzz campaign for hostile index files.
//
//   node scripts/fuzz-index-files.mjs --cases 10000 --seed 1
//
// Builds base indexes of several shapes with the public API, derives mutated
// files from them (bit flips, byte sets, truncations, inflated size fields,
// swapped fourcc tags, splices, insertions/deletions, targeted direct-map,
// HNSW-graph, id and on-disk edits), and loads every case three ways: from a
// buffer, readSync(file) and readSync(file, { mmap: true }). IndexIVFPQ bases
// load through IndexIVFPQ; bases made with Index.fromFactory (flat, HNSW, IVF,
// SQ, PQ, RaBitQ, pre-transforms, refinement), and the IndexIVFPQ files once
// more ('<name>@index'), through Index. A case that loads
// must then search (plain, with a filter and with wider parameters),
// range-search, reconstruct and round-trip through toBuffer without error or
// with a FaissError.
//
// Cases run in child processes, many per child, each case/variant logged to a
// file before it starts so a crash is attributed. Children run under
// `ulimit -v` (a runaway allocation becomes a catchable failure instead of
// eating the machine) and report their peak RSS after every case. Crashes,
// timeouts, over-limit RSS and wrong-class errors are bugs; their bytes are
// saved under --repro-dir (default /tmp/faiss-fuzz-repro) and
// `--replay <file>` re-runs one in-process.
//
// Options: --cases N (10000)  --seed S (1)  --jobs J (2)  --per-child N (400)
//   --bases ivfpq|factory|all (all): IndexIVFPQ's bases and reader, Index's, or both;
//     or a comma-separated list of factory base names (lsh,ivf-pqr) for a focused campaign
//   --timeout MS per variant (15000)  --rss-limit-mb (1024)  --vmem-kb (4000000; 0: none)
//   --package DIR (the faiss-native to test; default this repository)
//   --repro-dir DIR  --json FILE (machine-readable summary)  --work DIR  --keep  --quiet
//   --replay FILE [--variant buffer|file|mmap] [--reader ivfpq|index (default: from FILE's .json)]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../tools/random.mjs';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SCRIPT), '..');
const VARIANTS = ['buffer', 'file', 'mmap'];
const VARIANT_LABELS = { buffer: 'fromBuffer', file: 'readSync', mmap: 'readSync mmap' };
// Which class loads a base's cases: IndexIVFPQ (its strict grammar) or the generic Index.
const READERS = ['ivfpq', 'index'];

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const options = {
    cases: 10000, seed: 1, jobs: 2, perChild: 400, timeout: 15000, rssLimitMb: 1024,
    vmemKb: 4000000, package: ROOT, reproDir: '/tmp/faiss-fuzz-repro', json: undefined,
    work: undefined, keep: false, quiet: false, replay: undefined, variant: undefined,
    child: false, from: 0, to: 0, startVariant: 0, log: undefined, bases: 'all', reader: undefined,
  };
  const numeric = new Set(['cases', 'seed', 'jobs', 'perChild', 'timeout', 'rssLimitMb', 'vmemKb', 'from', 'to', 'startVariant']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const key = arg.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in options)) throw new Error(`unknown option ${arg}`);
    if (typeof options[key] === 'boolean') {
      options[key] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    options[key] = numeric.has(key) ? Number(value) : value;
    if (numeric.has(key) && !Number.isFinite(options[key])) throw new Error(`${arg} needs a number`);
  }
  options.package = path.resolve(options.package);
  const named = options.bases.split(',');
  if (!['ivfpq', 'factory', 'all'].includes(options.bases) && !named.every((name) => FACTORY_SHAPES.some((shape) => shape.name === name))) {
    throw new Error(`--bases takes ivfpq, factory, all or factory base names (${FACTORY_SHAPES.map((shape) => shape.name).join(', ')})`);
  }
  if (options.reader !== undefined && !READERS.includes(options.reader)) throw new Error('--reader takes ivfpq or index');
  if (/libasan/.test(process.env.LD_PRELOAD ?? '') && !argv.includes('--vmem-kb')) {
    // ASan reserves terabytes of address space: ulimit -v would stop it
    // starting. scripts/asan.sh caps allocations through ASAN_OPTIONS instead.
    options.vmemKb = 0;
  }
  return options;
}

function loadLibrary(packageDir) {
  return createRequire(path.join(packageDir, 'package.json'))(path.join(packageDir, 'dist', 'index.js'));
}

// ---------------------------------------------------------------- randomness

function hash32(a, b) {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Seeded choices for the fuzzer and the stress run. */
export function makeRandom(seed) {
  const next = mulberry32(seed);
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (list) => list[int(list.length)],
    chance: (p) => next() < p,
    u64: () => (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32)),
    weighted(table) {
      let total = 0;
      for (const [, w] of table) total += w;
      let r = next() * total;
      for (const [value, w] of table) {
        if ((r -= w) < 0) return value;
      }
      return table[table.length - 1][0];
    },
  };
}

function floats(count, seed) {
  const random = makeRandom(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < out.length; i++) out[i] = random.next();
  return out;
}

// ---------------------------------------------------------------- base indexes

// Shapes: every metric, with and without a direct map, untrained / trained
// empty / filled, "full" and "sparse" list-size layouts, small and large
// nlist, and on-disk inverted lists.
const SHAPES = [
  { name: 'l2-untrained', dimension: 16, nlist: 8, m: 4, nbits: 8, metric: 'l2', train: false, add: 0 },
  { name: 'l2-trained-empty', dimension: 8, nlist: 4, m: 4, nbits: 8, metric: 'l2', train: true, add: 0 },
  { name: 'l2-filled-full', dimension: 8, nlist: 4, m: 2, nbits: 8, metric: 'l2', train: true, add: 400 },
  { name: 'ip-directmap-filled', dimension: 16, nlist: 16, m: 4, nbits: 4, metric: 'ip', directMap: true, train: true, add: 300, ids: true },
  { name: 'cosine-sparse-nlist256', dimension: 12, nlist: 256, m: 3, nbits: 5, metric: 'cosine', train: true, add: 40, ids: true },
  { name: 'cosine-directmap-filled', dimension: 8, nlist: 8, m: 8, nbits: 8, metric: 'cosine', directMap: true, train: true, add: 200 },
  { name: 'cosine-untrained', dimension: 4, nlist: 2, m: 1, nbits: 2, metric: 'cosine', train: false, add: 0 },
  { name: 'l2-ondisk', dimension: 8, nlist: 8, m: 4, nbits: 6, metric: 'l2', train: true, add: 300, ondisk: true },
  { name: 'l2-refine-flat', dimension: 8, nlist: 4, m: 4, nbits: 4, metric: 'l2', refine: 'flat', train: true, add: 200, ids: true },
  { name: 'cosine-refine-sq8', dimension: 8, nlist: 8, m: 2, nbits: 8, metric: 'cosine', refine: 'sq8', train: true, add: 150, ids: true },
  { name: 'l2-fastscan', dimension: 8, nlist: 4, m: 4, nbits: 4, metric: 'l2', fastScan: true, train: true, add: 100, ids: true },
  { name: 'cosine-fastscan-refine-sq8', dimension: 12, nlist: 4, m: 3, nbits: 4, metric: 'cosine', fastScan: true, refine: 'sq8', train: true, add: 70 },
];

// Bases for the generic Index reader, one per file grammar it accepts: flat,
// id maps, HNSW with flat / SQ / PQ storage (and an empty graph), IVF with
// flat / SQ / PQ / FastScan / RaBitQ lists and a flat or HNSW coarse quantizer,
// pre-transforms (L2 norm, OPQ, PCA + rotation, random rotation, padding),
// refinement, stand-alone SQ / PQ / RaBitQ / LSH, IVF-PQR, NSG over flat / PQ /
// SQ storage, every metric, untrained indexes.
// trainCount: 8-bit PQ k-means wants 39 × 256 points; others need far fewer.
const FACTORY_SHAPES = [
  { name: 'flat', dimension: 8, factory: 'Flat', add: 200, ids: true },
  { name: 'flat-ip', dimension: 12, factory: 'Flat', metric: 'ip', add: 100 },
  { name: 'hnsw-flat', dimension: 8, factory: 'HNSW8', add: 300, ids: true },
  { name: 'hnsw-empty', dimension: 8, factory: 'HNSW8', add: 0 },
  { name: 'hnsw-sq8', dimension: 8, factory: 'HNSW8_SQ8', add: 200 },
  { name: 'hnsw-pq', dimension: 8, factory: 'HNSW8_PQ2x4np', add: 150, ids: true },
  { name: 'cosine-hnsw', dimension: 8, factory: 'HNSW8', metric: 'cosine', add: 150, ids: true },
  { name: 'ivf-flat', dimension: 8, factory: 'IVF8,Flat', add: 300, ids: true },
  { name: 'ivf-sq8', dimension: 12, factory: 'IVF8,SQ8', add: 200 },
  { name: 'ivf-pq', dimension: 8, factory: 'IVF4,PQ4np', add: 200, ids: true, trainCount: 10000 },
  { name: 'ivf-pq-fastscan-rflat', dimension: 8, factory: 'IVF8,PQ4x4fs,RFlat', add: 150, ids: true },
  { name: 'opq-ivf-pq', dimension: 8, factory: 'OPQ4_8,IVF4,PQ4x4np', add: 150, quietTraining: true },
  { name: 'pcar-ivf-flat', dimension: 12, factory: 'PCAR8,IVF4,Flat', add: 100, ids: true },
  { name: 'ivf-hnsw-flat', dimension: 8, factory: 'IVF8_HNSW4,Flat', add: 200 },
  { name: 'ivf-rabitq', dimension: 16, factory: 'IVF8,RaBitQ', add: 200, ids: true },
  { name: 'ivf-rabitq4', dimension: 16, factory: 'IVF4,RaBitQ4', metric: 'ip', add: 80 },
  { name: 'sq8', dimension: 8, factory: 'SQ8', add: 200, ids: true },
  { name: 'pq', dimension: 8, factory: 'PQ4np', add: 200, trainCount: 10000 },
  { name: 'rabitq', dimension: 16, factory: 'RaBitQ', add: 100, ids: true },
  { name: 'rabitq4', dimension: 16, factory: 'RaBitQ4', add: 60 },
  { name: 'rr-flat', dimension: 8, factory: 'RR8,Flat', add: 100 },
  { name: 'pad-flat', dimension: 8, factory: 'Pad16,Flat', add: 50, ids: true },
  { name: 'lsh', dimension: 16, factory: 'LSH', add: 150, ids: true },
  { name: 'lsh-rt', dimension: 16, factory: 'LSH32rt', add: 100 },
  { name: 'ivf-pqr', dimension: 8, factory: 'IVF4,PQ4+4', add: 200, ids: true, trainCount: 10000 },
  // NSG's graph build needs more than 100 vectors.
  { name: 'nsg-flat', dimension: 8, factory: 'NSG8,Flat', add: 150, ids: true },
  { name: 'nsg-pq', dimension: 8, factory: 'NSG4,PQ2x4', add: 120 },
  { name: 'nsg-sq8', dimension: 8, factory: 'NSG4,SQ8', add: 110 },
  { name: 'nsg-empty', dimension: 8, factory: 'NSG8,Flat', add: 0 },
  { name: 'ivf-sq8-untrained', dimension: 8, factory: 'IVF8,SQ8', train: false, add: 0 },
  { name: 'opq-ivf-pq-untrained', dimension: 8, factory: 'OPQ4_8,IVF4,PQ4x4np', train: false, add: 0 },
];

/**
 * Where case files are written and reproducers saved: also home of the on-disk
 * base's data file, which an index may only name in its own directory.
 */
function caseDirectory(options) {
  return path.join(options.reproDir, `seed${options.seed}`);
}

function buildBases(lib, work, caseDir, which) {
  if (!['ivfpq', 'factory', 'all'].includes(which)) return buildFactoryBases(lib, work, which.split(','));
  const ivfpq = buildIvfpqBases(lib, work, caseDir);
  if (which === 'ivfpq') return ivfpq;
  const bases = which === 'all' ? [...ivfpq] : [];
  bases.push(...buildFactoryBases(lib, work));
  // Index reads IndexIVFPQ's files too, and they carry what no factory string
  // makes: direct maps, on-disk lists, 'sprs' list sizes, IDMap2 over a refined IVF.
  if (typeof lib.Index?.readSync === 'function') bases.push(...ivfpq.map((b) => ({ ...b, name: `${b.name}@index`, reader: 'index' })));
  return bases;
}

function buildIvfpqBases(lib, work, caseDir) {
  const bases = [];
  for (const [i, shape] of SHAPES.entries()) {
    const { dimension, nlist, m, nbits, metric, directMap = false, refine, fastScan } = shape;
    let index;
    try {
      index = new lib.IndexIVFPQ({ dimension, nlist, m, nbits, metric, directMap, ...(refine ? { refine } : {}), ...(fastScan ? { fastScan } : {}) });
    } catch (error) {
      // An older faiss-native (a baseline build) may not know every option.
      process.stderr.write(`fuzz: skipping base ${shape.name}: ${error.message}\n`);
      continue;
    }
    // Enough training points that Faiss's k-means does not warn (39 per centroid).
    const trainCount = 39 * Math.max(nlist, 2 ** nbits);
    if (shape.train) index.trainSync(floats(trainCount * dimension, 1000 + i), { threads: 1 });
    if (shape.add > 0) {
      const vectors = floats(shape.add * dimension, 2000 + i);
      if (shape.ids) {
        const ids = BigInt64Array.from({ length: shape.add }, (_, j) => 1_000_003n * BigInt(j) + 17n);
        index.addWithIdsSync(vectors, ids, { threads: 1 });
      } else {
        index.addSync(vectors, { threads: 1 });
      }
    }
    index.nprobe = Math.min(3, nlist);
    const file = path.join(work, `base-${shape.name}.index`);
    if (shape.ondisk) {
      const shard = path.join(work, `base-${shape.name}.shard`);
      index.writeSync(shard);
      // Beside the case files and the saved reproducers, which name it, and
      // outliving the work directory.
      fs.mkdirSync(caseDir, { recursive: true });
      // The pid keeps two campaigns with the same seed from rewriting each other's mapped data.
      const indexPath = path.join(caseDir, `base-${process.pid}-${shape.name}.index`);
      lib.mergeOnDiskSync([shard], { indexPath, dataPath: path.join(caseDir, `base-${process.pid}-${shape.name}.ivfdata`) }).dispose();
      fs.copyFileSync(indexPath, file);
      fs.rmSync(shard);
    } else {
      index.writeSync(file);
    }
    index.dispose();
    bases.push({ name: shape.name, file, reader: 'ivfpq' });
  }
  return bases;
}

function buildFactoryBases(lib, work, names) {
  if (typeof lib.Index?.fromFactory !== 'function') {
    process.stderr.write('fuzz: skipping the factory bases: this faiss-native has no Index class\n');
    return [];
  }
  const bases = [];
  for (const [i, shape] of FACTORY_SHAPES.entries()) {
    if (names && !names.includes(shape.name)) continue;
    const { name, dimension, factory, metric = 'l2', train = true, add, ids = false, trainCount = 1000 } = shape;
    const index = lib.Index.fromFactory(dimension, factory, { metric });
    if (train && !index.isTrained) {
      // OPQ trains an inner 256-centroid PQ: the 10,000 points that silence
      // Faiss's k-means warning take 10 s, and 1,000 make as valid a file.
      const emitWarning = process.emitWarning;
      if (shape.quietTraining) process.emitWarning = () => {};
      try {
        index.trainSync(floats(trainCount * dimension, 3000 + i), { threads: 1 });
      } finally {
        process.emitWarning = emitWarning;
      }
    }
    if (add > 0) {
      const vectors = floats(add * dimension, 4000 + i);
      if (ids) index.addWithIdsSync(vectors, BigInt64Array.from({ length: add }, (_, j) => 1_000_003n * BigInt(j) + 17n), { threads: 1 });
      else index.addSync(vectors, { threads: 1 });
    }
    const file = path.join(work, `base-${name}.index`);
    index.writeSync(file);
    index.dispose();
    bases.push({ name, file, reader: 'index' });
  }
  return bases;
}

function loadBases(list) {
  return list.map(({ name, file, reader }) => {
    const bytes = fs.readFileSync(file);
    return { name, reader, bytes, fields: describeLayout(bytes) };
  });
}

// ---------------------------------------------------------------- file layout

/**
 * The fields of a Faiss index file, as faiss::read_index consumes them
 * (faiss/impl/index_write.cpp), for every type faiss-native reads: IxF2/IxFI/IxFl,
 * IxMp/IxM2, IxPT (VNrm, LTra, rrot, Pcam, VCnt, RmDT), IxRF, IxSQ, IxPq, Ixrq/Ixrr,
 * IHNf/IHNs/IHNp/IH00 (storage nested or 'null'), IwFl, IwSq, IwPQ, IwPf, Iwrq/Iwrr,
 * direct maps, ilar/il00/ilod/ilbl inverted lists. Nested indexes carry a prefix:
 * 'q.' (coarse quantizer), 'refine.', 'storage.' (HNSW).
 * type: fourcc | i32 | i64 | u64 | size (an 8-byte element count) | u8 | f32 | bulk | ids | name
 */
export function describeLayout(buf) {
  const fields = [];
  let o = 0;
  const field = (name, size, type) => {
    if (o + size > buf.length) throw new Error(`layout: ${name} runs past the end (${o}+${size} > ${buf.length})`);
    fields.push({ name, off: o, size, type });
    o += size;
  };
  const u64 = () => buf.readBigUInt64LE(o);
  const tag = (name) => {
    const value = buf.toString('latin1', o, o + 4);
    field(name, 4, 'fourcc');
    return value;
  };
  const vector = (name, elementSize, type = 'bulk') => {
    const n = Number(u64());
    field(`${name}.size`, 8, 'size');
    if (n > 0) field(`${name}.data`, n * elementSize, type);
    return n;
  };
  const header = (p) => {
    field(`${p}.d`, 4, 'i32');
    field(`${p}.ntotal`, 8, 'i64');
    field(`${p}.dummy1`, 8, 'i64');
    field(`${p}.dummy2`, 8, 'i64');
    field(`${p}.is_trained`, 1, 'u8');
    const metric = buf.readInt32LE(o);
    field(`${p}.metric`, 4, 'i32');
    if (metric > 1) field(`${p}.metric_arg`, 4, 'f32');
  };
  const directMap = () => {
    const type = buf[o];
    field('dm.type', 1, 'u8');
    vector('dm.array', 8);
    if (type === 2) {
      const n = Number(u64());
      field('dm.table.size', 8, 'size');
      for (let i = 0; i < n; i++) {
        field('dm.table[].id', 8, 'i64');
        field('dm.table[].location', 8, 'i64');
      }
    }
  };
  const invertedLists = () => {
    const t = tag('il.fourcc');
    if (t === 'il00') return;
    if (t === 'ilar') {
      const nlist = Number(u64());
      field('ilar.nlist', 8, 'u64');
      const codeSize = Number(u64());
      field('ilar.code_size', 8, 'u64');
      const layout = tag('ilar.layout');
      const count = Number(u64());
      field('ilar.sizes.size', 8, 'size');
      const sizes = new Array(nlist).fill(0);
      if (layout === 'full') {
        for (let i = 0; i < count; i++) {
          sizes[i] = Number(u64());
          field('ilar.sizes[]', 8, 'size');
        }
      } else {
        for (let i = 0; i < count; i += 2) {
          const list = Number(u64());
          field('ilar.sparse[].list', 8, 'u64');
          sizes[list] = Number(u64());
          field('ilar.sparse[].size', 8, 'size');
        }
      }
      for (const n of sizes) {
        if (n > 0) {
          field('ilar.list[].codes', n * codeSize, 'bulk');
          field('ilar.list[].ids', n * 8, 'ids');
        }
      }
      return;
    }
    if (t === 'ilbl') {
      const nlist = Number(u64());
      field('ilbl.nlist', 8, 'u64');
      field('ilbl.code_size', 8, 'u64');
      field('ilbl.n_per_block', 8, 'u64');
      field('ilbl.block_size', 8, 'u64');
      for (let i = 0; i < nlist; i++) {
        vector('ilbl.list[].ids', 8, 'ids');
        vector('ilbl.list[].codes', 1);
      }
      return;
    }
    if (t === 'ilod') {
      field('ilod.nlist', 8, 'u64');
      field('ilod.code_size', 8, 'u64');
      const lists = Number(u64());
      field('ilod.lists.size', 8, 'size');
      for (let i = 0; i < lists; i++) {
        field('ilod.lists[].size', 8, 'size');
        field('ilod.lists[].capacity', 8, 'size');
        field('ilod.lists[].offset', 8, 'u64');
      }
      vector('ilod.slots', 16);
      const nameLength = Number(u64());
      field('ilod.filename.size', 8, 'size');
      field('ilod.filename', nameLength, 'name');
      field('ilod.totsize', 8, 'size');
      return;
    }
    throw new Error(`layout: unknown inverted lists '${t}'`);
  };
  const transform = () => {
    const vt = tag('vt.fourcc');
    if (vt === 'VNrm') {
      field('VNrm.norm', 4, 'f32');
    } else if (vt === 'LTra' || vt === 'rrot' || vt === 'Pcam') {
      if (vt === 'Pcam') {
        field('Pcam.eigen_power', 4, 'f32');
        field('Pcam.epsilon', 4, 'f32');
        field('Pcam.random_rotation', 1, 'u8');
        field('Pcam.balanced_bins', 4, 'i32');
        vector('Pcam.mean', 4);
        vector('Pcam.eigenvalues', 4);
        vector('Pcam.PCAMat', 4);
      }
      field(`${vt}.have_bias`, 1, 'u8');
      vector(`${vt}.A`, 4);
      vector(`${vt}.b`, 4);
    } else if (vt === 'VCnt') {
      vector('VCnt.mean', 4);
    } else if (vt === 'RmDT') {
      vector('RmDT.map', 4);
    } else {
      throw new Error(`layout: unknown transform '${vt}'`);
    }
    field(`${vt}.d_in`, 4, 'i32');
    field(`${vt}.d_out`, 4, 'i32');
    field(`${vt}.is_trained`, 1, 'u8');
  };
  const productQuantizer = (p) => {
    field(`${p}.d`, 8, 'u64');
    field(`${p}.M`, 8, 'u64');
    field(`${p}.nbits`, 8, 'u64');
    vector(`${p}.centroids`, 4);
  };
  const scalarQuantizer = (p) => {
    field(`${p}.qtype`, 4, 'i32');
    field(`${p}.rangestat`, 4, 'i32');
    field(`${p}.rangestat_arg`, 4, 'f32');
    field(`${p}.d`, 8, 'u64');
    field(`${p}.code_size`, 8, 'u64');
    vector(`${p}.trained`, 4);
  };
  const rabitQuantizer = (p, multiBit) => {
    field(`${p}.d`, 8, 'u64');
    field(`${p}.code_size`, 8, 'u64');
    field(`${p}.metric`, 4, 'i32');
    if (multiBit) field(`${p}.nb_bits`, 8, 'u64');
  };
  // IndexIVF's header: index header, nlist, nprobe, coarse quantizer, direct map.
  const ivfHeader = (ctx, t) => {
    header(`${ctx}${t}`);
    field(`${ctx}${t}.nlist`, 8, 'u64');
    field(`${ctx}${t}.nprobe`, 8, 'u64');
    index(`${ctx}q.`);
    directMap();
  };
  const index = (ctx = '') => {
    const t = tag(`${ctx}index.fourcc`);
    if (t === 'IxPT') {
      header(`${ctx}IxPT`);
      const nt = buf.readInt32LE(o);
      field(`${ctx}IxPT.ntransforms`, 4, 'i32');
      for (let i = 0; i < nt; i++) transform();
      index(ctx);
    } else if (t === 'IxM2' || t === 'IxMp') {
      header(`${ctx}${t}`);
      index(ctx);
      vector(`${ctx}${t}.id_map`, 8, 'ids');
    } else if (t === 'IxRF') {
      header(`${ctx}IxRF`);
      index(ctx);
      index(`${ctx}refine.`);
      field(`${ctx}IxRF.k_factor`, 4, 'f32');
    } else if (t === 'IxSQ') {
      header(`${ctx}IxSQ`);
      scalarQuantizer(`${ctx}IxSQ`);
      vector(`${ctx}IxSQ.codes`, 1);
    } else if (t === 'IxPq') {
      header(`${ctx}IxPq`);
      productQuantizer(`${ctx}pq`);
      vector(`${ctx}IxPq.codes`, 1);
      field(`${ctx}IxPq.search_type`, 4, 'i32');
      field(`${ctx}IxPq.encode_signs`, 1, 'u8');
      field(`${ctx}IxPq.polysemous_ht`, 4, 'i32');
    } else if (t === 'Ixrq' || t === 'Ixrr') {
      header(`${ctx}${t}`);
      rabitQuantizer(`${ctx}rabitq`, t === 'Ixrr');
      vector(`${ctx}${t}.codes`, 1);
      vector(`${ctx}${t}.center`, 4);
      field(`${ctx}${t}.qb`, 1, 'u8');
    } else if (t === 'IHNf' || t === 'IHNs' || t === 'IHNp' || t === 'IH00') {
      header(`${ctx}${t}`);
      vector(`${ctx}HNSW.assign_probas`, 8);
      vector(`${ctx}HNSW.cum_nneighbor_per_level`, 4);
      vector(`${ctx}HNSW.levels`, 4);
      vector(`${ctx}HNSW.offsets`, 8);
      vector(`${ctx}HNSW.neighbors`, 4);
      field(`${ctx}HNSW.entry_point`, 4, 'i32');
      field(`${ctx}HNSW.max_level`, 4, 'i32');
      field(`${ctx}HNSW.efConstruction`, 4, 'i32');
      field(`${ctx}HNSW.efSearch`, 4, 'i32');
      field(`${ctx}HNSW.upper_beam`, 4, 'i32');
      if (buf.toString('latin1', o, o + 4) === 'null') tag(`${ctx}storage.index.fourcc`);
      else index(`${ctx}storage.`);
    } else if (t === 'IwFl') {
      ivfHeader(ctx, t);
      invertedLists();
    } else if (t === 'IwSq') {
      ivfHeader(ctx, t);
      scalarQuantizer(`${ctx}IwSq.sq`);
      field(`${ctx}IwSq.code_size`, 8, 'u64');
      field(`${ctx}IwSq.by_residual`, 1, 'u8');
      invertedLists();
    } else if (t === 'Iwrq' || t === 'Iwrr') {
      ivfHeader(ctx, t);
      rabitQuantizer(`${ctx}rabitq`, t === 'Iwrr');
      field(`${ctx}${t}.code_size`, 8, 'u64');
      field(`${ctx}${t}.by_residual`, 1, 'u8');
      field(`${ctx}${t}.qb`, 1, 'u8');
      invertedLists();
    } else if (t === 'IwQR') {
      ivfHeader(ctx, t);
      field(`${ctx}IwQR.by_residual`, 1, 'u8');
      field(`${ctx}IwQR.code_size`, 8, 'u64');
      productQuantizer(`${ctx}pq`);
      invertedLists();
      productQuantizer(`${ctx}refine_pq`);
      vector(`${ctx}IwQR.refine_codes`, 1);
      field(`${ctx}IwQR.k_factor`, 4, 'f32');
    } else if (t === 'INSf' || t === 'INSp' || t === 'INSs') {
      header(`${ctx}${t}`);
      field(`${ctx}NSG.GK`, 4, 'i32');
      field(`${ctx}NSG.build_type`, 1, 'u8');
      for (const name of ['nndescent_S', 'nndescent_R', 'nndescent_L', 'nndescent_iter']) field(`${ctx}NSG.${name}`, 4, 'i32');
      const n = buf.readInt32LE(o);
      field(`${ctx}NSG.ntotal`, 4, 'i32');
      const r = buf.readInt32LE(o);
      for (const name of ['R', 'L', 'C', 'search_L', 'enterpoint']) field(`${ctx}NSG.${name}`, 4, 'i32');
      const built = buf[o];
      field(`${ctx}NSG.is_built`, 1, 'u8');
      if (built) {
        // Each row: up to R ids, then -1 (always written, even after R ids).
        for (let i = 0; i < n; i++) {
          for (let j = 0; j <= r; j++) {
            const id = buf.readInt32LE(o);
            field(`${ctx}NSG.graph[]`, 4, 'i32');
            if (id === -1) break;
          }
        }
      }
      index(`${ctx}storage.`);
    } else if (t === 'IxHe') {
      header(`${ctx}IxHe`);
      field(`${ctx}IxHe.nbits`, 4, 'i32');
      field(`${ctx}IxHe.rotate_data`, 1, 'u8');
      field(`${ctx}IxHe.train_thresholds`, 1, 'u8');
      vector(`${ctx}IxHe.thresholds`, 4);
      field(`${ctx}IxHe.code_size`, 4, 'i32');
      transform();
      vector(`${ctx}IxHe.codes`, 1);
    } else if (t === 'IwPQ' || t === 'IwPf') {
      ivfHeader(ctx, t);
      field(`${ctx}${t}.by_residual`, 1, 'u8');
      field(`${ctx}${t}.code_size`, 8, 'u64');
      if (t === 'IwPf') {
        field(`${ctx}IwPf.bbs`, 4, 'i32');
        field(`${ctx}IwPf.M2`, 8, 'u64');
        field(`${ctx}IwPf.implem`, 4, 'i32');
        field(`${ctx}IwPf.qbs2`, 8, 'u64');
      }
      productQuantizer(`${ctx}pq`);
      invertedLists();
    } else if (t === 'IxF2' || t === 'IxFI' || t === 'IxFl') {
      header(`${ctx}IxF`);
      vector(`${ctx}IxF.codes`, 4); // READXBVECTOR: the count is in floats
    } else {
      throw new Error(`layout: unknown index '${t}'`);
    }
  };
  index();
  if (o !== buf.length) throw new Error(`layout: ${buf.length - o} bytes left over`);
  return fields;
}

function fieldAt(fields, offset) {
  let lo = 0;
  let hi = fields.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = fields[mid];
    if (offset < f.off) hi = mid - 1;
    else if (offset >= f.off + f.size) lo = mid + 1;
    else return f;
  }
  return undefined;
}

// ---------------------------------------------------------------- mutations

const FOURCCS = [
  'IwPQ', 'IwPf', 'IvPQ', 'IwQR', 'IvQR', 'IxF2', 'IxFI', 'IxFl', 'IxPT', 'VNrm', 'ilar', 'il00', 'ilod', 'ilbl',
  'full', 'sprs', 'IxM2', 'IxMp', 'IxRF', 'IxSQ', 'IwFl', 'IwSQ', 'IxHE', 'Imiq', 'IHNf', 'IxMo', 'LTra', 'VCnt',
  'rrot', 'IxPQ', 'IwFP',
  // read by Index
  'IwSq', 'IxPq', 'Ixrq', 'Ixrr', 'Iwrq', 'Iwrr', 'IHNs', 'IHNp', 'IH00', 'Pcam', 'RmDT', 'null',
  // known to Faiss, refused by the structural check
  'IxHe', 'IHN2', 'IHc2', 'IHfP', 'IPfs', 'Irfn', 'IwRQ', 'IxRq', 'IwFd', 'IxRP', 'HRot', 'Viqt', 'PCAm', 'ilpn',
];

// Tags whose bodies look alike: a swap inside a group passes more of the walk.
const FOURCC_SIBLINGS = [
  ['IxF2', 'IxFI', 'IxFl'], ['IxM2', 'IxMp'], ['IHNf', 'IHNs', 'IHNp', 'IH00'], ['Ixrq', 'Ixrr'], ['Iwrq', 'Iwrr'],
  ['IwFl', 'IwSq', 'IwPQ', 'IwPf'], ['IxSQ', 'IxPq'], ['LTra', 'rrot', 'Pcam'], ['VNrm', 'VCnt', 'RmDT'],
  ['ilar', 'ilbl', 'ilod', 'il00'], ['full', 'sprs'],
];

function interesting64(random, current, fileLength) {
  const v = current;
  const M = (1n << 64n) - 1n;
  return random.pick([
    0n, 1n, v + 1n, v - 1n, v * 2n, v + 8n, 1n << 26n, 1n << 28n, 1n << 30n, 1n << 31n, 1n << 32n,
    (1n << 32n) + v, (1n << 40n) - 1n, 1n << 40n, 1n << 48n, 1n << 62n, (1n << 63n) - 1n, 1n << 63n, M,
    BigInt(fileLength), BigInt(fileLength) / 8n, BigInt(fileLength) / 4n, random.u64(),
  ]) & M;
}

function interesting32(random, current) {
  return random.pick([0, -1, 1, current + 1, current - 1, current * 2, 2 ** 31 - 1, -(2 ** 31), 65536, 65537, 2 ** 20, random.int(2 ** 32) | 0]) | 0;
}

function numericFields(fields) {
  return fields.filter((f) => f.type === 'size' || f.type === 'u64' || f.type === 'i64' || f.type === 'i32');
}

function writeValue(bytes, f, random, fileLength) {
  if (f.size === 8) {
    const value = interesting64(random, bytes.readBigUInt64LE(f.off), fileLength);
    bytes.writeBigUInt64LE(value, f.off);
    return `${value}`;
  }
  if (f.size === 4 && f.type === 'f32') {
    const value = random.pick([0, NaN, Infinity, -2, 1, 2, 1e30]);
    bytes.writeFloatLE(value, f.off);
    return `${value}`;
  }
  if (f.size === 4) {
    const value = interesting32(random, bytes.readInt32LE(f.off));
    bytes.writeInt32LE(value, f.off);
    return `${value}`;
  }
  if (f.size === 1) {
    const value = random.pick([0, 1, 2, 3, 0x7f, 0x80, 0xff]);
    bytes[f.off] = value;
    return `${value}`;
  }
  return 'skipped';
}

const site = (f) => (f ? f.name : 'none');

const MUTATORS = {
  bitflip(random, base, bytes) {
    const flips = 1 + random.int(4);
    const sites = [];
    for (let i = 0; i < flips; i++) {
      // Mostly inside metadata fields, sometimes anywhere (bulk data included).
      const f = random.chance(0.75) ? random.pick(base.fields.filter((x) => x.type !== 'bulk' && x.type !== 'ids')) : undefined;
      const offset = f ? f.off + random.int(f.size) : random.int(bytes.length);
      bytes[offset] ^= 1 << random.int(8);
      sites.push(site(fieldAt(base.fields, offset)));
    }
    return { bytes, what: `flip ${flips} bit(s)`, sites };
  },
  byteset(random, base, bytes) {
    const count = 1 + random.int(4);
    const sites = [];
    for (let i = 0; i < count; i++) {
      const f = random.chance(0.75) ? random.pick(base.fields.filter((x) => x.type !== 'bulk' && x.type !== 'ids')) : undefined;
      const offset = f ? f.off + random.int(f.size) : random.int(bytes.length);
      bytes[offset] = random.pick([0x00, 0xff, 0x7f, 0x80, 0x01, random.int(256)]);
      sites.push(site(fieldAt(base.fields, offset)));
    }
    return { bytes, what: `set ${count} byte(s)`, sites };
  },
  truncate(random, base, bytes) {
    let length;
    let at;
    if (random.chance(0.6)) {
      const f = random.pick(base.fields);
      length = Math.max(0, Math.min(bytes.length - 1, f.off + random.pick([0, 1, -1, f.size - 1, Math.floor(f.size / 2)])));
      at = f;
    } else {
      length = random.int(bytes.length);
      at = fieldAt(base.fields, length);
    }
    return { bytes: bytes.subarray(0, length), what: `truncate to ${length} of ${bytes.length}`, sites: [site(at)] };
  },
  inflate(random, base, bytes) {
    // Size fields first: those drive allocations.
    const sizes = base.fields.filter((f) => f.type === 'size');
    const f = sizes.length > 0 && random.chance(0.6) ? random.pick(sizes) : random.pick(numericFields(base.fields));
    const value = writeValue(bytes, f, random, bytes.length);
    return { bytes, what: `set ${f.name} = ${value}`, sites: [f.name] };
  },
  fourcc(random, base, bytes) {
    const tags = base.fields.filter((f) => f.type === 'fourcc');
    const f = random.pick(tags);
    const current = base.bytes.toString('latin1', f.off, f.off + 4);
    const siblings = FOURCC_SIBLINGS.find((group) => group.includes(current))?.filter((t) => t !== current) ?? [];
    const others = FOURCCS.filter((t) => t !== current);
    const replacement =
      siblings.length > 0 && random.chance(0.4)
        ? random.pick(siblings)
        : random.chance(0.9)
          ? random.pick(others)
          : String.fromCharCode(...Array.from({ length: 4 }, () => 32 + random.int(95)));
    bytes.write(replacement, f.off, 'latin1');
    return { bytes, what: `${f.name} '${current}' -> '${replacement}'`, sites: [f.name] };
  },
  splice(random, base, bytes, bases) {
    const other = random.pick(bases);
    let cutA;
    let cutB;
    let what;
    const fa = random.pick(base.fields);
    cutA = fa.off;
    const sameName = other.fields.filter((f) => f.name === fa.name);
    if (sameName.length > 0 && random.chance(0.6)) {
      cutB = random.pick(sameName).off;
      what = `splice ${base.name}[0:${cutA}] + ${other.name}[${cutB}:] at ${fa.name}`;
    } else {
      cutB = random.chance(0.7) ? random.pick(other.fields).off : random.int(other.bytes.length);
      if (random.chance(0.3)) cutA = random.int(bytes.length);
      what = `splice ${base.name}[0:${cutA}] + ${other.name}[${cutB}:]`;
    }
    return {
      bytes: Buffer.concat([bytes.subarray(0, cutA), other.bytes.subarray(cutB)]),
      what,
      sites: [`${site(fieldAt(base.fields, cutA))}|${site(fieldAt(other.fields, cutB))}`],
    };
  },
  insdel(random, base, bytes) {
    const f = random.pick(base.fields);
    if (random.chance(0.5)) {
      const extra = random.chance(0.5) ? Buffer.alloc(random.pick([1, 4, 8])) : Buffer.from(Array.from({ length: 1 + random.int(16) }, () => random.int(256)));
      return { bytes: Buffer.concat([bytes.subarray(0, f.off), extra, bytes.subarray(f.off)]), what: `insert ${extra.length} byte(s) before ${f.name}`, sites: [f.name] };
    }
    return { bytes: Buffer.concat([bytes.subarray(0, f.off), bytes.subarray(f.off + f.size)]), what: `delete ${f.name} (${f.size} bytes)`, sites: [f.name] };
  },
  directmap(random, base, bytes) {
    const locations = base.fields.filter((f) => f.name === 'dm.table[].location' || f.name === 'dm.table[].id');
    if (locations.length === 0) return MUTATORS.inflate(random, base, bytes);
    const f = random.pick(locations);
    const current = bytes.readBigInt64LE(f.off);
    const list = current >> 32n;
    const value = random.pick([-1n, current + 1n, current + (1n << 32n), (list << 32n) | 0xffffn, 1n << 62n, (1n << 63n) - 1n, 0n]);
    bytes.writeBigInt64LE(BigInt.asIntN(64, value), f.off);
    return { bytes, what: `set ${f.name} ${current} -> ${value}`, sites: [f.name] };
  },
  listids(random, base, bytes) {
    // Labels stored in the lists (row numbers for refined indexes, ids otherwise) and id maps.
    const lists = base.fields.filter((f) => f.type === 'ids');
    if (lists.length === 0) return MUTATORS.inflate(random, base, bytes);
    const f = random.pick(lists);
    const offset = f.off + 8 * random.int(f.size / 8);
    const current = bytes.readBigInt64LE(offset);
    const other = bytes.readBigInt64LE(f.off + 8 * random.int(f.size / 8));
    const value = random.pick([-1n, -2n, current + 1n, current * 2n + 1000n, 1n << 31n, 1n << 40n, (1n << 63n) - 1n, -(1n << 63n), other]);
    bytes.writeBigInt64LE(BigInt.asIntN(64, value), offset);
    return { bytes, what: `set an id in ${f.name} ${current} -> ${value}`, sites: [f.name] };
  },
  graph(random, base, bytes) {
    // HNSW: levels, offsets and neighbour ids drive every graph walk.
    const arrays = base.fields.filter((f) => /HNSW\.(cum_nneighbor_per_level|levels|offsets|neighbors)\.data$/.test(f.name));
    const scalars = base.fields.filter((f) => /HNSW\.(entry_point|max_level|efConstruction|efSearch)$/.test(f.name));
    if (scalars.length === 0) return MUTATORS.inflate(random, base, bytes);
    const levels = base.fields.find((f) => /HNSW\.levels\.data$/.test(f.name));
    const n = levels ? levels.size / 4 : 0;
    if (arrays.length === 0 || random.chance(0.3)) {
      const f = random.pick(scalars);
      const value = random.pick([-1, -2, 0, n, n - 1, n + 1, 64, 2 ** 30, 2 ** 31 - 1, -(2 ** 31), bytes.readInt32LE(f.off) + 1]) | 0;
      bytes.writeInt32LE(value, f.off);
      return { bytes, what: `set ${f.name} = ${value}`, sites: [f.name] };
    }
    const f = random.pick(arrays);
    const wide = /offsets/.test(f.name);
    const element = wide ? 8 : 4;
    const offset = f.off + element * random.int(f.size / element);
    let value;
    if (wide) {
      const current = bytes.readBigUInt64LE(offset);
      value = random.pick([0n, current + 1n, current - 1n, current + 64n, 1n << 32n, 1n << 63n, (1n << 64n) - 1n]) & ((1n << 64n) - 1n);
      bytes.writeBigUInt64LE(value, offset);
    } else {
      const current = bytes.readInt32LE(offset);
      value = random.pick([-1, -2, 0, n, n - 1, n + 1, current + 1, current - 1, 63, 64, 2 ** 31 - 1, -(2 ** 31)]) | 0;
      bytes.writeInt32LE(value, offset);
    }
    return { bytes, what: `set an element of ${f.name} = ${value}`, sites: [f.name] };
  },
  ondisk(random, base, bytes) {
    const name = base.fields.find((f) => f.name === 'ilod.filename');
    if (!name) return MUTATORS.inflate(random, base, bytes);
    if (random.chance(0.4)) {
      const f = random.pick(base.fields.filter((x) => x.name.startsWith('ilod.')));
      const value = writeValue(bytes, f, random, bytes.length);
      return { bytes, what: `set ${f.name} = ${value}`, sites: [f.name] };
    }
    const target = random.pick(['/etc/passwd', '/etc/hostname', '/proc/self/maps', '/dev/zero', '/nonexistent/data', '/tmp', '', 'x'.repeat(5000), 'relative.ivfdata']);
    const encoded = Buffer.from(target, 'latin1');
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(encoded.length));
    const sizeOffset = name.off - 8;
    return {
      bytes: Buffer.concat([bytes.subarray(0, sizeOffset), size, encoded, bytes.subarray(name.off + name.size)]),
      what: `on-disk data file -> '${target.length > 40 ? `${target.slice(0, 20)}…(${target.length})` : target}'`,
      sites: ['ilod.filename'],
    };
  },
};

const MUTATION_WEIGHTS = [
  ['bitflip', 18], ['byteset', 8], ['truncate', 10], ['inflate', 26], ['fourcc', 10], ['splice', 10],
  ['insdel', 6], ['directmap', 3], ['listids', 3], ['ondisk', 3], ['graph', 4], ['multi', 6],
];

/** Case `id` of campaign `seed`: deterministic, so any child regenerates it. */
export function makeCase(bases, seed, id) {
  const random = makeRandom(hash32(seed, id));
  const base = bases[id % bases.length];
  const kind = random.weighted(MUTATION_WEIGHTS);
  let mutation;
  if (kind === 'multi') {
    const steps = 2 + random.int(2);
    let bytes = Buffer.from(base.bytes);
    const parts = [];
    const sites = [];
    for (let i = 0; i < steps; i++) {
      const step = random.pick(['bitflip', 'byteset', 'inflate', 'fourcc', 'directmap', 'listids', 'graph']);
      // Later steps use the base layout; offsets past a shortened buffer are harmless.
      const result = MUTATORS[step](random, base, bytes, bases);
      bytes = result.bytes;
      parts.push(result.what);
      sites.push(...result.sites);
    }
    if (random.chance(0.3)) {
      const cut = MUTATORS.truncate(random, base, bytes, bases);
      bytes = cut.bytes;
      parts.push(cut.what);
    }
    mutation = { bytes, what: parts.join('; '), sites };
  } else {
    mutation = MUTATORS[kind](random, base, Buffer.from(base.bytes), bases);
  }
  return { id, base: base.name, reader: base.reader, kind, what: mutation.what, sites: mutation.sites, bytes: Buffer.from(mutation.bytes) };
}

// ---------------------------------------------------------------- one case, one variant

function queriesFor(dimension, seed) {
  return floats(3 * dimension, seed);
}

function errorTag(error) {
  if (error && error.name === 'FaissError') return `FaissError:${error.code}`;
  return `${error?.constructor?.name ?? typeof error}`;
}

/**
 * Loads `bytes` one way, with the class `reader` names, and exercises the
 * result. Returns { outcome, detail } where outcome is one of
 *   loaded            loaded; every post-load call worked or threw FaissError
 *   load-error        FaissError from the load (detail: code and message)
 *   wrong-class       any other error class, from the load or afterwards (a bug)
 *   roundtrip-reject  loaded and searched, but its own toBuffer() is refused (noted, not fatal)
 */
function runVariant(lib, variant, bytes, file, reader = 'ivfpq') {
  return reader === 'index' ? runIndexVariant(lib, variant, bytes, file) : runIvfpqVariant(lib, variant, bytes, file);
}

function loadError(lib, error) {
  if (error instanceof lib.FaissError) return { outcome: 'load-error', detail: { code: error.code, message: error.message } };
  return { outcome: 'wrong-class', detail: { step: 'load', error: errorTag(error), message: String(error?.message ?? error), stack: error?.stack } };
}

function runIvfpqVariant(lib, variant, bytes, file) {
  let index;
  try {
    if (variant === 'buffer') index = lib.IndexIVFPQ.fromBuffer(bytes);
    else if (variant === 'file') index = lib.IndexIVFPQ.readSync(file);
    else index = lib.IndexIVFPQ.readSync(file, { mmap: true });
  } catch (error) {
    if (error instanceof lib.FaissError) return { outcome: 'load-error', detail: { code: error.code, message: error.message } };
    return { outcome: 'wrong-class', detail: { step: 'load', error: errorTag(error), message: String(error?.message ?? error), stack: error?.stack } };
  }
  const notes = [];
  let step = 'attributes';
  try {
    const { dimension, nlist, ntotal, metric } = index;
    if (!(Number.isInteger(dimension) && dimension >= 1 && dimension <= 65536) || !(nlist >= 1 && nlist <= 2 ** 31) || !(ntotal >= 0)) {
      return { outcome: 'wrong-class', detail: { step, error: 'implausible shape', message: `dimension ${dimension}, nlist ${nlist}, ntotal ${ntotal}` } };
    }
    const queries = queriesFor(dimension, 99);
    const attempt = attempter(lib, notes, (name) => {
      step = name;
    }, /^Expected an id present/);
    const result = attempt('search', () => index.searchSync(queries, 5, { threads: 1 }));
    if (result) {
      if (result.labels.length !== 15 || result.distances.length !== 15) {
        return { outcome: 'wrong-class', detail: { step, error: 'bad result shape', message: `${result.labels.length}` } };
      }
      attempt('search-all', () => index.searchSync(queries, 5, { nprobe: Math.min(nlist, 64), threads: 1 }));
      attempt('range-search', () => index.rangeSearchSync(queries, metric === 'l2' ? 1e30 : -1e30, { nprobe: Math.min(nlist, 16), threads: 1 }));
      if (index.directMap) {
        for (const label of result.labels.slice(0, 5)) {
          if (label >= 0n) attempt('reconstruct', () => index.reconstructSync(label), true);
        }
        attempt('reconstruct', () => index.reconstructSync(0n), true);
      }
    }
    step = 'round-trip';
    const rejected = roundTrip(lib, lib.IndexIVFPQ, index, file, attempt, (copy) => copy.searchSync(queries, 5, { threads: 1 }), notes);
    if (rejected) return rejected;
    return { outcome: 'loaded', detail: { searched: result !== undefined, notes } };
  } catch (error) {
    return { outcome: 'wrong-class', detail: { step, error: errorTag(error), message: String(error?.message ?? error), stack: error?.stack } };
  } finally {
    try {
      index.dispose();
    } catch (error) {
      notes.push(`dispose:${errorTag(error)}`);
    }
  }
}

/**
 * What an index writes must load again and search. On-disk lists can only be
 * written to (and read from) a file; a memory-mapped index refuses to be saved
 * (a FaissError, noted). Returns the outcome when the copy is refused.
 */
function roundTrip(lib, Class, index, file, attempt, search, notes) {
  let copy;
  try {
    if (index.readOnly) {
      const again = path.join(path.dirname(file), `roundtrip-${process.pid}.index`);
      const written = attempt('writeSync', () => {
        index.writeSync(again);
        return true;
      });
      if (written) copy = Class.readSync(again);
    } else {
      const again = attempt('toBuffer', () => index.toBuffer());
      if (again) copy = Class.fromBuffer(again);
    }
  } catch (error) {
    if (!(error instanceof lib.FaissError)) throw error;
    return { outcome: 'roundtrip-reject', detail: { code: error.code, message: error.message, notes } };
  }
  if (copy) {
    attempt('round-trip search', () => search(copy));
    copy.dispose();
  }
  return undefined;
}

/**
 * Runs one post-load call: a FaissError is the index's answer (noted, undefined
 * returned), as is a RangeError matching absentId for an id it does not hold;
 * anything else propagates as a finding.
 */
function attempter(lib, notes, setStep, absentId) {
  return (name, fn, allowRange = false) => {
    setStep(name);
    try {
      return fn();
    } catch (error) {
      if (error instanceof lib.FaissError) {
        notes.push(`${name}:${error.code}`);
        return undefined;
      }
      if (allowRange && error instanceof RangeError && absentId.test(error.message)) return undefined;
      throw error;
    }
  };
}

// Search options that widen each search parameter the index takes.
const WIDE_SEARCH = { nprobe: 64, efSearch: 64, quantizerEfSearch: 32, kFactor: 4, qb: 4 };

function runIndexVariant(lib, variant, bytes, file) {
  let index;
  try {
    if (variant === 'buffer') index = lib.Index.fromBuffer(bytes);
    else if (variant === 'file') index = lib.Index.readSync(file);
    else index = lib.Index.readSync(file, { mmap: true });
  } catch (error) {
    return loadError(lib, error);
  }
  const notes = [];
  let step = 'attributes';
  try {
    const { dimension, ntotal, metric, description, indexType, searchParameters, memoryBytes } = index;
    if (!(Number.isInteger(dimension) && dimension >= 1 && dimension <= 65536) || !(Number.isInteger(ntotal) && ntotal >= 0)) {
      return { outcome: 'wrong-class', detail: { step, error: 'implausible shape', message: `dimension ${dimension}, ntotal ${ntotal}` } };
    }
    if (typeof description !== 'string' || typeof indexType !== 'string' || !Array.isArray(searchParameters) || !(memoryBytes >= 0)) {
      return { outcome: 'wrong-class', detail: { step, error: 'implausible attributes', message: `${indexType} '${description}' ${searchParameters} ${memoryBytes}` } };
    }
    const queries = queriesFor(dimension, 99);
    const attempt = attempter(lib, notes, (name) => {
      step = name;
    }, /^Expected an id present in the index/);
    const shape = (result) => {
      if (result && (result.labels.length !== 15 || result.distances.length !== 15)) throw new Error(`bad result shape: ${result.labels.length} labels`);
      return result;
    };
    const result = attempt('search', () => shape(index.searchSync(queries, 5, { threads: 1 })));
    if (result) {
      attempt('filtered search', () => shape(index.searchSync(queries, 5, { filter: { range: [0n, 1n << 40n] }, threads: 1 })));
      const wide = Object.fromEntries(Object.entries(WIDE_SEARCH).filter(([name]) => searchParameters.includes(name)));
      attempt('wide search', () => shape(index.searchSync(queries, 5, { ...wide, threads: 1 })));
      attempt('range-search', () => index.rangeSearchSync(queries, metric === 'l2' ? 1e30 : -1e30, { threads: 1 }));
      // One refusal (no direct map, say) stands for the rest.
      for (const label of new Set(result.labels.slice(0, 5))) {
        if (label >= 0n && attempt('reconstruct', () => index.reconstructSync(label)) === undefined) break;
      }
      // Not necessarily an id the index holds: RangeError is its answer then.
      attempt('reconstruct', () => index.reconstructSync(0n), true);
    }
    step = 'round-trip';
    const rejected = roundTrip(lib, lib.Index, index, file, attempt, (copy) => shape(copy.searchSync(queries, 5, { threads: 1 })), notes);
    if (rejected) return rejected;
    return { outcome: 'loaded', detail: { searched: result !== undefined, notes } };
  } catch (error) {
    return { outcome: 'wrong-class', detail: { step, error: errorTag(error), message: String(error?.message ?? error), stack: error?.stack } };
  } finally {
    try {
      index.dispose();
    } catch (error) {
      notes.push(`dispose:${errorTag(error)}`);
    }
  }
}

// ---------------------------------------------------------------- child

function runChild(options) {
  const lib = loadLibrary(options.package);
  const bases = loadBases(JSON.parse(fs.readFileSync(path.join(options.work, 'bases.json'), 'utf8')));
  const logFd = fs.openSync(options.log, 'a');
  const log = (line) => fs.writeSync(logFd, `${line}\n`);
  const file = path.join(caseDirectory(options), `case-${process.pid}.index`);
  const rssLimit = options.rssLimitMb * 2 ** 20;
  for (let id = options.from; id < options.to; id++) {
    const testCase = makeCase(bases, options.seed, id);
    fs.writeFileSync(file, testCase.bytes);
    const first = id === options.from ? options.startVariant : 0;
    for (let v = first; v < VARIANTS.length; v++) {
      log(`B\t${id}\t${v}`);
      const started = performance.now();
      let result = runVariant(lib, VARIANTS[v], testCase.bytes, file, testCase.reader);
      const peak = process.resourceUsage().maxRSS * 1024;
      const ms = Math.round(performance.now() - started);
      const over = peak > rssLimit;
      if (over) result = { outcome: 'rss', detail: { peak, result } };
      log(`E\t${id}\t${v}\t${result.outcome}\t${peak}\t${ms}\t${JSON.stringify(result.detail)}`);
      if (over) {
        // The peak never comes down: later cases could not be measured here.
        fs.closeSync(logFd);
        process.exit(3);
      }
    }
  }
  fs.rmSync(file, { force: true });
  fs.rmSync(path.join(caseDirectory(options), `roundtrip-${process.pid}.index`), { force: true });
  log('DONE');
  fs.closeSync(logFd);
}

// ---------------------------------------------------------------- parent

function messageShape(message) {
  return message.replace(/'[^']*'/g, "'…'").replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, 'N');
}

function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

class Campaign {
  constructor(options, bases) {
    this.options = options;
    this.bases = bases;
    this.perVariant = VARIANTS.map(() => new Map());
    this.findings = [];
    this.groups = new Map();
    this.faissMessages = new Map();
    this.notes = new Map();
    this.peakRss = 0;
    this.casesDone = new Set();
    this.children = 0;
    this.slowest = { ms: 0 };
    // Per base: loads that succeeded and that FaissError refused, to show each grammar is reached.
    this.perBase = new Map(bases.map((b) => [b.name, { base: b.name, reader: b.reader, loaded: 0, refused: 0, other: 0 }]));
  }

  count(variant, outcome) {
    const map = this.perVariant[variant];
    map.set(outcome, (map.get(outcome) ?? 0) + 1);
  }

  record(id, variant, outcome, peak, ms, detail) {
    this.peakRss = Math.max(this.peakRss, peak);
    const tally = this.perBase.get(this.bases[id % this.bases.length].name);
    if (outcome === 'loaded' || outcome === 'roundtrip-reject') tally.loaded++;
    else if (outcome === 'load-error') tally.refused++;
    else tally.other++;
    if (ms > this.slowest.ms) this.slowest = { ms, id, variant: VARIANTS[variant] };
    if (outcome === 'load-error') {
      this.count(variant, `FaissError ${detail.code}`);
      const shape = messageShape(detail.message);
      this.faissMessages.set(shape, (this.faissMessages.get(shape) ?? 0) + 1);
      if (detail.code === 'ERR_FAISS_OUT_OF_MEMORY' || /bad_alloc|_M_default_append|max_size\(\)|length_error|out of memory|cannot allocate/i.test(detail.message)) {
        this.finding(id, variant, 'huge-allocation', detail.message);
      }
    } else if (outcome === 'loaded') {
      this.count(variant, detail.searched ? 'loaded + searched' : 'loaded, search threw FaissError');
      for (const note of detail.notes) this.notes.set(note, (this.notes.get(note) ?? 0) + 1);
    } else if (outcome === 'roundtrip-reject') {
      this.count(variant, 'loaded, own toBuffer() rejected');
      this.finding(id, variant, 'roundtrip-reject', detail.message);
    } else if (outcome === 'rss') {
      this.count(variant, `RSS over ${this.options.rssLimitMb} MB`);
      this.finding(id, variant, 'rss-over-limit', `peak RSS ${(peak / 2 ** 20).toFixed(0)} MB; ${JSON.stringify(detail.result.detail).slice(0, 300)}`);
    } else if (outcome === 'wrong-class') {
      this.count(variant, 'wrong error class');
      this.finding(id, variant, `wrong-class ${detail.step} ${detail.error}`, `${detail.message}\n${detail.stack ?? ''}`);
    }
  }

  finding(id, variant, kind, message) {
    const testCase = makeCase(this.bases, this.options.seed, id);
    // Crashes are grouped by where the mutation hit; error-shaped findings by their message.
    const fatal = /^(crash|exit|timeout|rss)/.test(kind);
    const key = fatal
      ? `${kind} | ${VARIANTS[variant]} | ${testCase.base} | ${[...new Set(testCase.sites)].join(',')}`
      : `${kind} | ${VARIANTS[variant]} | ${messageShape(String(message).split('\n')[0])}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { key, kind, variant: VARIANTS[variant], base: testCase.base, sites: [...new Set(testCase.sites)], cases: [], files: [] };
      this.groups.set(key, group);
    }
    group.cases.push(id);
    if (group.files.length < 3) {
      const dir = caseDirectory(this.options);
      fs.mkdirSync(dir, { recursive: true });
      const stem = `${kind.replace(/[^A-Za-z0-9_-]+/g, '_')}-${VARIANTS[variant]}-case${id}`;
      const file = path.join(dir, `${stem}.index`);
      fs.writeFileSync(file, testCase.bytes);
      fs.writeFileSync(
        path.join(dir, `${stem}.json`),
        `${JSON.stringify({ id, seed: this.options.seed, variant: VARIANTS[variant], kind, base: testCase.base, reader: testCase.reader, mutation: testCase.what, sites: testCase.sites, message }, null, 2)}\n`,
      );
      group.files.push(file);
      if (!group.example) group.example = { id, mutation: testCase.what, message: String(message).split('\n').slice(0, 6).join('\n') };
    }
    this.findings.push({ id, variant: VARIANTS[variant], kind });
  }

  async run() {
    const { cases, jobs, perChild } = this.options;
    const pending = [];
    for (let start = 0; start < cases; start += perChild) pending.push({ from: start, to: Math.min(cases, start + perChild), startVariant: 0 });
    const startedAt = Date.now();
    let lastReport = 0;
    await new Promise((resolve, reject) => {
      let running = 0;
      const pump = () => {
        while (running < jobs && pending.length > 0) {
          const chunk = pending.shift();
          running++;
          this.launch(chunk)
            .then((next) => {
              running--;
              if (next) pending.unshift(next);
              if (!this.options.quiet && Date.now() - lastReport > 10_000) {
                lastReport = Date.now();
                process.stderr.write(`fuzz: ${this.casesDone.size}/${cases} cases, ${this.findings.length} findings, ${((Date.now() - startedAt) / 1000).toFixed(0)} s\n`);
              }
              if (running === 0 && pending.length === 0) resolve();
              else pump();
            })
            .catch(reject);
        }
      };
      pump();
    });
    this.elapsed = (Date.now() - startedAt) / 1000;
  }

  /** Runs one child over a chunk; returns the rest of the chunk when the child died early. */
  launch(chunk) {
    const { options } = this;
    const log = path.join(options.work, `log-${chunk.from}-${chunk.startVariant}-${this.children++}.txt`);
    fs.writeFileSync(log, '');
    const nodeArgs = ['--max-old-space-size=256', SCRIPT, '--child', '--work', options.work, '--package', options.package,
      '--seed', options.seed, '--from', chunk.from, '--to', chunk.to, '--start-variant', chunk.startVariant,
      '--log', log, '--rss-limit-mb', options.rssLimitMb, '--repro-dir', options.reproDir];
    const limit = options.vmemKb > 0 ? `ulimit -v ${options.vmemKb}; ` : '';
    const command = `${limit}exec ${[process.execPath, ...nodeArgs].map(shellQuote).join(' ')}`;
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
      let stderr = '';
      child.stderr.on('data', (data) => {
        stderr = (stderr + data.toString()).slice(-8000);
        // scripts/asan.sh keeps every child's stderr: sanitizer reports that did not kill the child.
        if (process.env.FUZZ_CHILD_STDERR) fs.appendFileSync(process.env.FUZZ_CHILD_STDERR, data);
      });
      let lastSize = 0;
      let lastChange = Date.now();
      let timedOut = false;
      const watchdog = setInterval(() => {
        let size = 0;
        try {
          size = fs.statSync(log).size;
        } catch {}
        if (size !== lastSize) {
          lastSize = size;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > options.timeout) {
          timedOut = true;
          child.kill('SIGKILL');
        }
      }, 250);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearInterval(watchdog);
        // The shell exec'd node: same pid, so this is the child's case file.
        fs.rmSync(path.join(caseDirectory(options), `case-${child.pid}.index`), { force: true });
        fs.rmSync(path.join(caseDirectory(options), `roundtrip-${child.pid}.index`), { force: true });
        try {
          resolve(this.collect(chunk, log, code, signal, timedOut, stderr));
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  collect(chunk, log, code, signal, timedOut, stderr) {
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    let open;
    let last;
    let done = false;
    for (const line of lines) {
      const parts = line.split('\t');
      if (parts[0] === 'B') open = { id: Number(parts[1]), variant: Number(parts[2]) };
      else if (parts[0] === 'E') {
        last = { id: Number(parts[1]), variant: Number(parts[2]), outcome: parts[3] };
        this.record(last.id, last.variant, last.outcome, Number(parts[4]), Number(parts[5]), JSON.parse(parts[6]));
        if (last.variant === VARIANTS.length - 1) this.casesDone.add(last.id);
        open = undefined;
      } else if (parts[0] === 'DONE') done = true;
    }
    if (!this.options.keep) fs.rmSync(log, { force: true });
    const after = (id, variant) =>
      variant + 1 < VARIANTS.length ? { from: id, to: chunk.to, startVariant: variant + 1 } : id + 1 < chunk.to ? { from: id + 1, to: chunk.to, startVariant: 0 } : undefined;
    const tail = stderr.split('\n').filter((l) => l && !/WARN! inverted lists not stored/.test(l)).slice(-8).join('\n');
    const kind = timedOut ? 'timeout' : signal ? `crash ${signal}` : `exit ${code}`;
    if (done) {
      // All cases ran; a failure now is at teardown (finalizers, atexit): pin it on the last case.
      if (code !== 0 && last) {
        this.count(last.variant, 'crash at exit');
        this.finding(last.id, last.variant, `${kind} at exit`, tail);
      }
      return undefined;
    }
    if (!open && last?.outcome === 'rss' && code === 3) return after(last.id, last.variant);
    if (!open) {
      if (!last) throw new Error(`fuzz child exited (code ${code}, signal ${signal}) before any case:\n${stderr}`);
      // Died between two cases (writing the next case file, say): re-run from the next one.
      this.finding(last.id, last.variant, `${kind} between cases`, tail);
      return after(last.id, last.variant);
    }
    this.count(open.variant, timedOut ? 'timeout (hang)' : 'crash / abort');
    this.finding(open.id, open.variant, kind, tail);
    if (open.variant === VARIANTS.length - 1) this.casesDone.add(open.id);
    return after(open.id, open.variant);
  }

  summary() {
    const outcomes = new Set();
    for (const map of this.perVariant) for (const key of map.keys()) outcomes.add(key);
    const order = (o) => (o.startsWith('loaded') ? 0 : o.startsWith('FaissError') ? 1 : 2);
    const rows = [...outcomes].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    const table = rows.map((outcome) => ({ outcome, counts: this.perVariant.map((m) => m.get(outcome) ?? 0) }));
    const bad = (o) => o === 'wrong error class' || o.startsWith('crash') || o.startsWith('timeout') || o.startsWith('RSS over');
    const total = (predicate) => table.filter((r) => predicate(r.outcome)).reduce((s, r) => s + r.counts.reduce((a, b) => a + b, 0), 0);
    return {
      cases: this.options.cases,
      seed: this.options.seed,
      bases: this.options.bases,
      package: this.options.package,
      elapsedSeconds: this.elapsed,
      children: this.children,
      variants: VARIANTS.map((v) => VARIANT_LABELS[v]),
      table,
      crashes: total((o) => o.startsWith('crash')),
      timeouts: total((o) => o.startsWith('timeout')),
      rssOverLimit: total((o) => o.startsWith('RSS over')),
      wrongClass: total((o) => o === 'wrong error class'),
      bugs: total(bad),
      hugeAllocationErrors: this.findings.filter((f) => f.kind === 'huge-allocation').length,
      roundtripRejects: this.findings.filter((f) => f.kind === 'roundtrip-reject').length,
      peakChildRssMb: Math.round(this.peakRss / 2 ** 20),
      slowestVariantMs: this.slowest,
      groups: [...this.groups.values()].map(({ key, kind, variant, base, sites, cases, files, example }) => ({ key, kind, variant, base, sites, count: cases.length, firstCases: cases.slice(0, 5), files, example })),
      topFaissMessages: [...this.faissMessages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([message, count]) => ({ count, message })),
      postLoadNotes: Object.fromEntries([...this.notes.entries()].sort((a, b) => b[1] - a[1])),
      perBase: [...this.perBase.values()],
    };
  }
}

function printSummary(s) {
  const width = 34;
  const out = [];
  out.push(`faiss-native fuzz: ${s.cases} cases × ${s.variants.length} loads, seed ${s.seed}, bases ${s.bases}, ${s.elapsedSeconds.toFixed(1)} s, ${s.children} child processes`);
  out.push(`package: ${s.package}`);
  out.push('');
  out.push(`${'outcome'.padEnd(width)}${s.variants.map((v) => v.padStart(15)).join('')}${'total'.padStart(10)}`);
  for (const row of s.table) {
    out.push(`${row.outcome.padEnd(width)}${row.counts.map((c) => String(c).padStart(15)).join('')}${String(row.counts.reduce((a, b) => a + b, 0)).padStart(10)}`);
  }
  out.push('');
  out.push(`crashes/aborts: ${s.crashes}   hangs: ${s.timeouts}   RSS over limit: ${s.rssOverLimit}   wrong error class: ${s.wrongClass}   huge-allocation FaissErrors: ${s.hugeAllocationErrors}   round-trip rejects: ${s.roundtripRejects}`);
  out.push(`peak child RSS: ${s.peakChildRssMb} MB; slowest load: ${s.slowestVariantMs.ms} ms (case ${s.slowestVariantMs.id}, ${s.slowestVariantMs.variant})`);
  if (s.groups.length > 0) {
    out.push('');
    out.push('findings (grouped):');
    for (const g of s.groups.sort((a, b) => b.count - a.count)) {
      out.push(`  ${String(g.count).padStart(5)}  ${g.key}`);
      out.push(`         e.g. case ${g.example.id}: ${g.example.mutation}`);
      out.push(`         ${g.files[0]}`);
      if (g.example.message) out.push(`         ${g.example.message.split('\n')[0].slice(0, 160)}`);
    }
  }
  out.push('');
  out.push('loads per base (loaded / refused with FaissError / other):');
  for (let i = 0; i < s.perBase.length; i += 4) {
    out.push(`  ${s.perBase.slice(i, i + 4).map((b) => `${b.base} ${b.loaded}/${b.refused}/${b.other}`.padEnd(38)).join('')}`.trimEnd());
  }
  out.push('');
  out.push('most common load errors:');
  for (const { count, message } of s.topFaissMessages.slice(0, 12)) out.push(`  ${String(count).padStart(6)}  ${message.slice(0, 150)}`);
  console.log(out.join('\n'));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.child) {
    runChild(options);
    return;
  }
  if (options.replay) {
    const lib = loadLibrary(options.package);
    const bytes = fs.readFileSync(options.replay);
    // A saved reproducer's .json names its reader; older ones came from IndexIVFPQ bases.
    let reader = options.reader;
    const notes = options.replay.replace(/\.index$/, '.json');
    if (reader === undefined && notes !== options.replay && fs.existsSync(notes)) reader = JSON.parse(fs.readFileSync(notes, 'utf8')).reader;
    reader ??= 'ivfpq';
    console.log(`reader: ${reader === 'index' ? 'Index' : 'IndexIVFPQ'}`);
    for (const variant of options.variant ? [options.variant] : VARIANTS) {
      console.log(`${VARIANT_LABELS[variant]}: …`);
      const result = runVariant(lib, variant, bytes, options.replay, reader);
      console.log(`${VARIANT_LABELS[variant]}: ${result.outcome} ${JSON.stringify(result.detail)}`);
    }
    return;
  }
  const work = options.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-fuzz-'));
  options.work = work;
  fs.mkdirSync(work, { recursive: true });
  const lib = loadLibrary(options.package);
  const baseList = buildBases(lib, work, caseDirectory(options), options.bases);
  // Children write each case there (a file beside the on-disk base's data).
  fs.mkdirSync(caseDirectory(options), { recursive: true });
  fs.writeFileSync(path.join(work, 'bases.json'), JSON.stringify(baseList));
  const bases = loadBases(baseList);
  if (!options.quiet) {
    process.stderr.write(`fuzz: bases ${bases.map((b) => `${b.name} (${b.bytes.length} B)`).join(', ')}\n`);
  }
  const campaign = new Campaign(options, bases);
  await campaign.run();
  const summary = campaign.summary();
  if (!options.keep) fs.rmSync(work, { recursive: true, force: true });
  if (options.json) fs.writeFileSync(options.json, `${JSON.stringify(summary, null, 2)}\n`);
  if (!options.quiet) printSummary(summary);
  process.exitCode = summary.bugs > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SCRIPT) {
  main().catch((error) => {
    console.error(error);
    process.exit(2);
  });
}
