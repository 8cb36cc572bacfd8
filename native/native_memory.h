// The C heap as the allocator sees it: what is in use, and what it holds from
// the system. RSS mixes in fragmentation and per-thread arenas that grow to a
// plateau; in-use bytes move only when something is allocated or freed, so a
// leak shows there first.
#pragma once

#include <napi.h>

namespace faiss_native {

// { allocatedBytes, retainedBytes } on glibc; undefined elsewhere.
Napi::Value NativeMemoryUsage(const Napi::CallbackInfo& info);

}  // namespace faiss_native
