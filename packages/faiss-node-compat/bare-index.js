'use strict';
// faiss-native wraps index types that keep no ids of their own (Flat, HNSW,
// PQ...) in an IndexIDMap2, so that caller-chosen ids survive removals.
// faiss-node hands out the bare Faiss index, whose labels are row numbers:
// removeIds on a flat index renumbers the vectors after the removed ones, and
// code written for faiss-node (LangChain's FaissStore.delete) counts on that.
const { Index } = require('faiss-native');

const ID_MAP_FOURCC = 'IxM2';
// Faiss's index header: d (int32), ntotal (int64), two reserved int64s,
// is_trained (uint8), metric (int32). Metrics above inner product and L2 add
// a float; faiss-native makes neither.
const ID_MAP_HEAD_BYTES = 4 + 4 + 8 + 8 + 8 + 1 + 4;
// An empty id map ends with its empty id list: a uint64 count of 0.
const EMPTY_ID_LIST_BYTES = 8;

// The bare bytes per (dimension, description, metric): LangChain makes an
// index per store, and a factory parse plus a round trip costs ~40 µs.
const bareBytes = new Map();
const MAX_CACHED = 64;

function bareBytesOf(dimension, description, metric) {
  const mapped = Index.fromFactory(dimension, description, { metric });
  try {
    const bytes = mapped.toBuffer();
    if (bytes.toString('latin1', 0, 4) !== ID_MAP_FOURCC) return null;
    const bare = Buffer.from(bytes.subarray(ID_MAP_HEAD_BYTES, bytes.length - EMPTY_ID_LIST_BYTES));
    Index.fromBuffer(bare).dispose();
    return bare;
  } catch {
    return null;
  } finally {
    mapped.dispose();
  }
}

/**
 * An empty Faiss index of a factory description, without faiss-native's id
 * map around it. The few types faiss-native's reader does not take (LSH) keep
 * the map: their labels are the same row numbers until a removal.
 */
function bareIndex(dimension, description, metric) {
  const key = `${dimension}\0${metric}\0${description}`;
  if (!bareBytes.has(key)) {
    if (bareBytes.size >= MAX_CACHED) bareBytes.clear();
    bareBytes.set(key, bareBytesOf(dimension, description, metric));
  }
  const bytes = bareBytes.get(key);
  return bytes === null ? Index.fromFactory(dimension, description, { metric }) : Index.fromBuffer(bytes);
}

module.exports = { bareIndex };
