// JS class NativeIndexFlat: exact search, with the same sync/async pairing and
// ordering as the IVF-PQ index.
#pragma once

#include <napi.h>

#include <memory>

#include "flat_core.h"
#include "index_slot.h"
#include "operation.h"

namespace faiss_native {

class FlatWrap : public Napi::ObjectWrap<FlatWrap> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit FlatWrap(const Napi::CallbackInfo& info);
  ~FlatWrap() override;

 private:
  Napi::Value AddSync(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareAdd, false); }
  Napi::Value Add(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareAdd, true); }
  Napi::Value SearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareSearch, false); }
  Napi::Value Search(const Napi::CallbackInfo& info) { return Dispatch(info, &FlatWrap::PrepareSearch, true); }
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  PreparedOp PrepareAdd(const Napi::CallbackInfo& info);
  PreparedOp PrepareSearch(const Napi::CallbackInfo& info);
  Napi::Value Dispatch(const Napi::CallbackInfo& info,
                       PreparedOp (FlatWrap::*prepare)(const Napi::CallbackInfo&), bool async);

  Napi::Value GetNtotal(const Napi::CallbackInfo& info);
  Napi::Value GetDimension(const Napi::CallbackInfo& info);
  Napi::Value GetMetric(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetMemoryBytes(const Napi::CallbackInfo& info);

  FlatCore& LiveCore(Napi::Env env) const;
  Napi::Value SyncExternalMemory(Napi::Env env);

  std::shared_ptr<IndexSlot<FlatCore>> slot_;
  int64_t reported_bytes_ = 0;
  int64_t dimension_ = 0;
  Metric metric_ = Metric::L2;
  bool disposed_ = false;
};

}  // namespace faiss_native
