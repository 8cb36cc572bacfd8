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

/**
 * An empty Faiss index of a factory description, without faiss-native's id
 * map around it. The few types faiss-native's reader does not take (LSH) keep
 * the map: their labels are the same row numbers until a removal.
 */
function bareIndex(dimension, description, metric) {
  const mapped = Index.fromFactory(dimension, description, { metric });
  const bytes = mapped.toBuffer();
  if (bytes.toString('latin1', 0, 4) !== ID_MAP_FOURCC) return mapped;
  let bare;
  try {
    bare = Index.fromBuffer(bytes.subarray(ID_MAP_HEAD_BYTES, bytes.length - EMPTY_ID_LIST_BYTES));
  } catch {
    return mapped;
  }
  mapped.dispose();
  return bare;
}

module.exports = { bareIndex };
