// The argument handling every k-NN search shares: queries and k checked, and
// the result arrays allocated in JS memory for Faiss to fill in place.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace faiss_native {

struct SearchCall {
  int64_t n = 0;
  int64_t k = 0;
  const float* queries = nullptr;
  float* distances = nullptr;
  int64_t* labels = nullptr;
  std::vector<Napi::Value> pins;  // the queries and the result object
  std::shared_ptr<Napi::ObjectReference> result;

  // Settle step that hands back { distances, labels }.
  std::function<Napi::Value(Napi::Env)> Settle() const;
};

// info[0]: queries (Float32Array, n × dimension); info[1]: k.
SearchCall PrepareSearchCall(const Napi::CallbackInfo& info, int64_t dimension);

}  // namespace faiss_native
