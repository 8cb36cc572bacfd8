#include "flat_wrap.h"

#include "args.h"
#include "errors.h"
#include "search_call.h"
#include "threads.h"

namespace faiss_native {

Napi::Function FlatWrap::DefineClass(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<FlatWrap>> properties = CommonProperties();
  properties.insert(properties.end(), {
                                          InstanceMethod<&FlatWrap::AddSync>("addSync"),
                                          InstanceMethod<&FlatWrap::Add>("add"),
                                          InstanceMethod<&FlatWrap::SearchSync>("searchSync"),
                                          InstanceMethod<&FlatWrap::Search>("search"),
                                          InstanceAccessor<&FlatWrap::GetNtotal>("ntotal"),
                                          InstanceAccessor<&FlatWrap::GetDimension>("dimension"),
                                          InstanceAccessor<&FlatWrap::GetMetric>("metric"),
                                      });
  return ObjectWrap<FlatWrap>::DefineClass(env, "NativeIndexFlat", properties);
}

// new NativeIndexFlat(dimension, metric)
FlatWrap::FlatWrap(const Napi::CallbackInfo& info) : IndexWrapBase(info) {
  Guarded(info.Env(), [&] {
    dimension_ = IntegerArg(info[0], "dimension", 1, 1 << 16);
    metric_ = MetricArg(info[1]);
    slot_->core = std::make_unique<FlatCore>(dimension_, metric_);
  });
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
          SettleMutation()};
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

Napi::Value FlatWrap::GetNtotal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).ntotal()));
}
Napi::Value FlatWrap::GetDimension(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dimension_));
}
Napi::Value FlatWrap::GetMetric(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), MetricName(metric_));
}
}  // namespace faiss_native
