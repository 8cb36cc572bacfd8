// The event loop's cached time, which changes only when the loop turns: it keys
// the per-turn budget of inline searches. libuv's uv_now is exported by Node and
// Electron, but its header is not among Node-API's, so it is declared here; weak,
// so a runtime without libuv still loads the addon (its searches all use the pool).
#pragma once

#include <node_api.h>

#include <cstdint>

extern "C" __attribute__((weak)) uint64_t uv_now(const struct uv_loop_s* loop);

namespace faiss_native {

class LoopClock {
 public:
  void Attach(napi_env env) {
    if (uv_now == nullptr || napi_get_uv_event_loop(env, &loop_) != napi_ok) loop_ = nullptr;
  }
  bool available() const { return loop_ != nullptr; }
  uint64_t Now() const { return uv_now(loop_); }

 private:
  uv_loop_s* loop_ = nullptr;
};

}  // namespace faiss_native
