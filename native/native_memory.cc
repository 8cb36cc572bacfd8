#include "native_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace faiss_native {

Napi::Value NativeMemoryUsage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__GLIBC__)
  // Sums every arena (the main one and each thread's) under their locks.
  const struct mallinfo2 stats = mallinfo2();
  Napi::Object usage = Napi::Object::New(env);
  usage.Set("allocatedBytes", Napi::Number::New(env, static_cast<double>(stats.uordblks + stats.hblkhd)));
  usage.Set("retainedBytes", Napi::Number::New(env, static_cast<double>(stats.arena + stats.hblkhd)));
  return usage;
#else
  return env.Undefined();
#endif
}

}  // namespace faiss_native
