// The Faiss this addon links: what it is, the SIMD level it runs at, and the
// bounds its file reader works within.
#pragma once

#include <napi.h>

namespace faiss_native {

// { version, simdLevel, compileOptions, deserialization limits }.
Napi::Value FaissInfo(const Napi::CallbackInfo& info);

// Applies a FAISS_SIMD_LEVEL value: a RangeError for an unknown name, a
// FaissError for a level this CPU lacks.
Napi::Value SetSimdLevel(const Napi::CallbackInfo& info);

// Once per process, before any index is read.
void LimitDeserialization();

}  // namespace faiss_native
