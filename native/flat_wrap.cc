#include "flat_wrap.h"

#include "args.h"
#include "errors.h"
#include "search_call.h"
#include "threads.h"

namespace faiss_native {

Napi::Function FlatWrap::DefineClass(Napi::Env env) {
  return ObjectWrap<FlatWrap>::DefineClass(
      env, "NativeIndexFlat",
      {
          InstanceMethod<&FlatWrap::AddSync>("addSync"),
          InstanceMethod<&FlatWrap::Add>("add"),
          InstanceMethod<&FlatWrap::SearchSync>("searchSync"),
          InstanceMethod<&FlatWrap::Search>("search"),
          InstanceMethod<&FlatWrap::Dispose>("dispose"),
          InstanceAccessor<&FlatWrap::GetNtotal>("ntotal"),
          InstanceAccessor<&FlatWrap::GetDimension>("dimension"),
          InstanceAccessor<&FlatWrap::GetMetric>("metric"),
          InstanceAccessor<&FlatWrap::GetDisposed>("disposed"),
          InstanceAccessor<&FlatWrap::GetMemoryBytes>("memoryBytes"),
      });
}

// new NativeIndexFlat(dimension, metric)
FlatWrap::FlatWrap(const Napi::CallbackInfo& info)
    : ObjectWrap<FlatWrap>(info), slot_(std::make_shared<IndexSlot<FlatCore>>()) {
  Guarded(info.Env(), [&] {
    dimension_ = IntegerArg(info[0], "dimension", 1, 1 << 16);
    metric_ = MetricArg(info[1]);
    slot_->core = std::make_unique<FlatCore>(dimension_, metric_);
  });
}

FlatWrap::~FlatWrap() {
  // Raw call: a destructor must not throw, and during environment teardown
  // the adjustment may legitimately fail.
  if (reported_bytes_ != 0) {
    int64_t ignored;
    napi_adjust_external_memory(Env(), -reported_bytes_, &ignored);
  }
}

FlatCore& FlatWrap::LiveCore(Napi::Env env) const {
  if (disposed_) {
    throw ToJsError(env, {ErrorKind::Faiss, codes::kDisposed, "index has been disposed"});
  }
  return *slot_->core;
}

Napi::Value FlatWrap::SyncExternalMemory(Napi::Env env) {
  int64_t now = slot_->core ? slot_->core->memory_bytes() : 0;
  if (now != reported_bytes_) {
    Napi::MemoryManagement::AdjustExternalMemory(env, now - reported_bytes_);
    reported_bytes_ = now;
  }
  return env.Undefined();
}

Napi::Value FlatWrap::Dispatch(const Napi::CallbackInfo& info,
                               PreparedOp (FlatWrap::*prepare)(const Napi::CallbackInfo&),
                               bool async) {
  Napi::Env env = info.Env();
  LiveCore(env);
  return Guarded(env, [&] { return RunOperation(env, (this->*prepare)(info), async, slot_->queue); });
}

PreparedOp FlatWrap::PrepareAdd(const Napi::CallbackInfo& info) {
  Napi::Float32Array vectors = Float32ArrayArg(info[0], "vectors");
  int64_t n = RowCount(vectors, dimension_, "vectors");
  int threads = ThreadsArg(info, 1);
  const float* data = vectors.Data();
  auto slot = slot_;
  return {"faiss-native:flat-add", Access::Exclusive, {info.This(), vectors},
          [slot, n, data, threads] {
            ThreadScope scope(threads, n);
            slot->Live().Add(n, data);
          },
          [this](Napi::Env env) { return SyncExternalMemory(env); }};
}

PreparedOp FlatWrap::PrepareSearch(const Napi::CallbackInfo& info) {
  SearchCall call = PrepareSearchCall(info, dimension_);
  int threads = ThreadsArg(info, 2);
  call.pins.push_back(info.This());
  auto slot = slot_;
  return {"faiss-native:flat-search", Access::Shared, call.pins,
          [slot, call, threads] {
            ThreadScope scope(threads, call.n);
            slot->Live().Search(call.n, call.queries, call.k, call.distances, call.labels);
          },
          call.Settle()};
}

Napi::Value FlatWrap::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) return env.Undefined();
  RunInTurn(*slot_->queue, Access::Exclusive, [&] { slot_->core.reset(); });
  disposed_ = true;
  return SyncExternalMemory(env);
}

Napi::Value FlatWrap::GetNtotal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).ntotal()));
}
Napi::Value FlatWrap::GetDimension(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dimension_));
}
Napi::Value FlatWrap::GetMetric(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), MetricName(metric_));
}
Napi::Value FlatWrap::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}
Napi::Value FlatWrap::GetMemoryBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).memory_bytes()));
}

}  // namespace faiss_native
