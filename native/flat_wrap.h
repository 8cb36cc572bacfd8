// JS class NativeIndexFlat: exact search, with the same sync/async pairing and
// ordering as the IVF-PQ index.
#pragma once

#include <napi.h>

#include <memory>

#include "flat_core.h"
#include "index_wrap_base.h"

namespace faiss_native {

class FlatWrap : public IndexWrapBase<FlatWrap, FlatCore> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit FlatWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value AddSync(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareAdd, false); }
  Napi::Value Add(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareAdd, true); }
  Napi::Value SearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareSearch, false); }
  Napi::Value Search(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareSearch, true); }

  PreparedOp PrepareAdd(const Napi::CallbackInfo& info);
  PreparedOp PrepareSearch(const Napi::CallbackInfo& info);

  Napi::Value GetNtotal(const Napi::CallbackInfo& info);
  Napi::Value GetDimension(const Napi::CallbackInfo& info);
  Napi::Value GetMetric(const Napi::CallbackInfo& info);

  int64_t dimension_ = 0;
  Metric metric_ = Metric::L2;
};

}  // namespace faiss_native
