// Bytes and results crossing the JS boundary, shared by every index class:
// serialized indexes in and out without copies, and range-search results as
// typed arrays.
#pragma once

#include <faiss/impl/AuxIndexStructures.h>
#include <napi.h>

#include <cstdint>
#include <vector>

namespace faiss_native {

struct ByteView {
  const uint8_t* data;
  size_t size;
};

// A Buffer, Uint8Array or ArrayBuffer, else a TypeError naming `name`.
ByteView BytesArg(const Napi::Value& value, const char* name);

// The Buffer takes the vector over: no copy.
Napi::Value BufferFromBytes(Napi::Env env, std::vector<uint8_t> bytes);

// { lims: Uint32Array(n + 1), distances: Float32Array, labels: BigInt64Array }
Napi::Value RangeSearchToJs(Napi::Env env, const faiss::RangeSearchResult& found, int64_t n);

}  // namespace faiss_native
