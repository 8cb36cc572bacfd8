#include "faiss_library.h"

#include <faiss/index_io.h>
#include <faiss/utils/simd_levels.h>
#include <faiss/utils/utils.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "args.h"
#include "errors.h"

namespace faiss_native {

// The Faiss this addon links: its version, the SIMD level its dispatch chose
// at load (or was set to), and how it was compiled.
Napi::Value FaissInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", faiss::get_version());
  out.Set("simdLevel", faiss::SIMDConfig::get_level_name());
  out.Set("compileOptions", faiss::get_compile_options());
  out.Set("deserializationLoopLimit", static_cast<double>(faiss::get_deserialization_loop_limit()));
  out.Set("deserializationByteLimit", static_cast<double>(faiss::get_deserialization_vector_byte_limit()));
  return out;
}

// FAISS_SIMD_LEVEL, checked: Faiss itself reads the variable while the library
// loads, where an unknown name aborts the process and a level the CPU lacks
// crashes it later, so lib/binding.ts hides it from the load and sets it here.
Napi::Value SetSimdLevel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Guarded(env, [&] {
    std::string name = StringArg(info[0], "FAISS_SIMD_LEVEL");
    faiss::SIMDLevel level;
    try {
      level = faiss::to_simd_level(name);
    } catch (const std::exception&) {
      ThrowRange("Expected NONE, AVX2, AVX512, AVX512_SPR, ARM_NEON, ARM_SVE or RISCV_RVV for FAISS_SIMD_LEVEL but received '" +
                 name + "'");
    }
    if (!faiss::SIMDConfig::is_simd_level_available(level)) {
      ThrowFaiss("FAISS_SIMD_LEVEL=" + name + " is not available on this CPU (detected " +
                     faiss::SIMDConfig::get_level_name() + ")",
                 codes::kFaiss);
    }
    faiss::SIMDConfig::set_level(level);
    return 0;
  });
  return env.Undefined();
}

// Bounds on what a file may make Faiss's reader do, for files from anywhere:
// no loop-driving count (nlist, hash tables, chain lengths) beyond 2^31, the
// largest nlist an index here can have, and no single array larger than this
// machine's memory. Process-wide, and set before any read can run.
void LimitDeserialization() {
  static std::once_flag once;
  std::call_once(once, [] {
    faiss::set_deserialization_loop_limit(size_t(1) << 31);
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page_size > 0) {
      faiss::set_deserialization_vector_byte_limit(static_cast<size_t>(pages) * static_cast<size_t>(page_size));
    }
  });
}

}  // namespace faiss_native
