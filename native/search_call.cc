#include "search_call.h"

#include "args.h"
#include "errors.h"

namespace faiss_native {

namespace {

// Bounds that keep result allocations sane; both far above practical use.
constexpr int64_t kMaxK = int64_t(1) << 20;
constexpr int64_t kMaxResultEntries = int64_t(1) << 28;

}  // namespace

SearchCall PrepareSearchCall(const Napi::CallbackInfo& info, int64_t dimension) {
  Napi::Env env = info.Env();
  SearchCall call;
  Napi::Float32Array queries = Float32ArrayArg(info[0], "queries");
  call.n = RowCount(queries, dimension, "queries");
  call.k = IntegerArg(info[1], "k", 1, kMaxK);
  if (call.n * call.k > kMaxResultEntries) {
    ThrowRange("Expected at most " + std::to_string(kMaxResultEntries) +
               " result entries (queries x k) but received " + std::to_string(call.n * call.k));
  }
  auto distances = Napi::Float32Array::New(env, static_cast<size_t>(call.n * call.k));
  auto labels = Napi::BigInt64Array::New(env, static_cast<size_t>(call.n * call.k));
  Napi::Object result = Napi::Object::New(env);
  result.Set("distances", distances);
  result.Set("labels", labels);
  call.queries = queries.Data();
  call.distances = distances.Data();
  call.labels = labels.Data();
  call.pins = {queries, result};
  call.result = std::make_shared<Napi::ObjectReference>(Napi::Persistent(result));
  return call;
}

std::function<Napi::Value(Napi::Env)> SearchCall::Settle() const {
  auto ref = result;
  return [ref](Napi::Env) -> Napi::Value { return ref->Value(); };
}

}  // namespace faiss_native
