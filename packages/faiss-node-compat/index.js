'use strict';
// faiss-node 0.5.1's API (Index, IndexFlatL2, IndexFlatIP, MetricType), every
// call synchronous as there, on faiss-native's engine. A Faiss exception is a
// thrown Error here, never a process abort.
const { FaissError, Index: EngineIndex } = require('faiss-native');
const { expectArgumentCount, expectArray, toIds, toVectors } = require('./arguments');
const { bareIndex } = require('./bare-index');
const { MetricType, engineMetric } = require('./metric-type');

// Lets read, fromBuffer and fromFactory hand an engine index to the constructor.
const ADOPT = Symbol('adopt');
// The metric `new Class(d)` gives: faiss-node's Index and IndexFlatL2 build an IndexFlatL2.
const FLAT_METRIC = Symbol('flat metric');

// faiss-native names the file in its own words; faiss-node users see (and
// match on) Faiss's reader text.
function readEngineIndex(fname) {
  try {
    return EngineIndex.readSync(fname);
  } catch (error) {
    const prefix = `cannot read index file '${fname}': `;
    if (!(error instanceof FaissError) || !error.message.startsWith(prefix)) throw error;
    const reason = error.message.slice(prefix.length);
    if (reason === 'not a regular file') throw error;
    throw new FaissError(
      `Error in faiss::FileIOReader::FileIOReader(const char*) at faiss/impl/io.cpp:68: Error: 'f' failed: could not open ${fname} for reading: ${reason}`,
      error.code,
    );
  }
}

class Index {
  // The faiss-native index; for `new IndexFlatL2(d)`, made on first use, so
  // that creating an index costs no more than in faiss-node.
  #made;
  #dimension;
  #metric;

  constructor(d, engine) {
    if (d === ADOPT) {
      this.#made = engine;
      return;
    }
    if (typeof d !== 'number') throw new TypeError('Invalid the first argument type, must be a number.');
    this.#dimension = d >>> 0;
    this.#metric = new.target[FLAT_METRIC];
  }

  get #engine() {
    this.#made ??= bareIndex(this.#dimension, 'Flat', this.#metric);
    return this.#made;
  }

  static read(...args) {
    expectArgumentCount(args, 1);
    const [fname] = args;
    if (typeof fname !== 'string') throw new TypeError('Invalid the first argument type, must be a string.');
    return new this(ADOPT, readEngineIndex(fname));
  }

  static fromBuffer(...args) {
    expectArgumentCount(args, 1);
    const [src] = args;
    if (!(src instanceof Uint8Array)) throw new TypeError('Invalid the first argument type, must be a buffer.');
    return new this(ADOPT, EngineIndex.fromBuffer(src));
  }

  static fromFactory(...args) {
    if (args.length < 2) throw new Error(`Expected 2 or 3 arguments, but got ${args.length}.`);
    const [dims, descriptor, metric] = args;
    if (typeof dims !== 'number') throw new TypeError('Invalid the first argument type, must be a number.');
    if (typeof descriptor !== 'string') throw new TypeError('Invalid the second argument type, must be a string.');
    return new this(ADOPT, bareIndex(dims >>> 0, descriptor, engineMetric(metric)));
  }

  ntotal() {
    return this.#made === undefined ? 0 : this.#made.ntotal;
  }

  getDimension() {
    return this.#made === undefined ? this.#dimension : this.#made.dimension;
  }

  isTrained() {
    return this.#engine.isTrained;
  }

  add(...args) {
    expectArgumentCount(args, 1);
    const vectors = toVectors(args[0], this.#engine.dimension);
    if (vectors.length > 0) this.#engine.addSync(vectors);
  }

  train(...args) {
    expectArgumentCount(args, 1);
    const vectors = toVectors(args[0], this.#engine.dimension);
    if (vectors.length > 0) this.#engine.trainSync(vectors);
  }

  search(...args) {
    expectArgumentCount(args, 2);
    const [x, kArg] = args;
    if (!(x instanceof Float32Array)) expectArray(x, 'first');
    if (typeof kArg !== 'number') throw new TypeError('Invalid the second argument type, must be a Number.');
    // faiss-node reads k as a uint32.
    const k = kArg >>> 0;
    const ntotal = this.#engine.ntotal;
    if (k > ntotal) {
      throw new Error(`Invalid the number of k (cannot be given a value greater than \`ntotal\`: ${ntotal}).`);
    }
    const queries = toVectors(x, this.#engine.dimension);
    if (queries.length === 0) return { distances: [], labels: [] };
    const found = this.#engine.searchSync(queries, k);
    const labels = new Array(found.labels.length);
    for (let i = 0; i < labels.length; i++) labels[i] = Number(found.labels[i]);
    return { distances: Array.from(found.distances), labels };
  }

  write(...args) {
    expectArgumentCount(args, 1);
    const [fname] = args;
    if (typeof fname !== 'string') throw new TypeError('Invalid the first argument type, must be a string.');
    // Atomic, like every faiss-native save, but not fsynced: faiss-node's
    // write never was, and a flush to disk made saves 3x slower than its.
    this.#engine.writeSync(fname, { durable: false });
  }

  toBuffer(...args) {
    expectArgumentCount(args, 0);
    return this.#engine.toBuffer();
  }

  mergeFrom(...args) {
    expectArgumentCount(args, 1);
    const [otherIndex] = args;
    if (otherIndex === null || (typeof otherIndex !== 'object' && typeof otherIndex !== 'function')) {
      throw new TypeError('Invalid argument type, must be an object.');
    }
    // N-API's text when the object wraps no native index.
    if (!(#made in otherIndex)) throw new Error('Invalid argument');
    if (otherIndex.#engine.dimension !== this.#engine.dimension) {
      throw new Error('The merging index must have the same dimension.');
    }
    this.#engine.mergeFromSync(otherIndex.#engine);
  }

  removeIds(...args) {
    expectArgumentCount(args, 1);
    const ids = toIds(args[0]);
    return ids.length === 0 ? 0 : this.#engine.removeIdsSync(ids);
  }
}
Index[FLAT_METRIC] = 'l2';

class IndexFlatL2 extends Index {}
IndexFlatL2[FLAT_METRIC] = 'l2';

class IndexFlatIP extends Index {}
IndexFlatIP[FLAT_METRIC] = 'ip';

// One object literal: Node's CommonJS export detection gives ES module
// importers these names too, besides the default export.
module.exports = { Index, IndexFlatL2, IndexFlatIP, MetricType };
