// JS class NativeIndexIVFPQ: a thin N-API skin over IvfpqCore. Every method has
// a blocking form (fooSync) and a Promise form (foo) built from one PreparedOp.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "index_wrap_base.h"
#include "ivfpq_core.h"

namespace faiss_native {

class IvfpqWrap : public IndexWrapBase<IvfpqWrap, IvfpqCore> {
 public:
  static constexpr const char* kJsName = "IndexIVFPQ";
  static Napi::Function DefineClass(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env);
  explicit IvfpqWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value ReadSync(const Napi::CallbackInfo& info);
  static Napi::Value Read(const Napi::CallbackInfo& info);
  static PreparedOp PrepareRead(const Napi::CallbackInfo& info);
  static Napi::Value FromBuffer(const Napi::CallbackInfo& info);
  static Napi::Value MergeOnDiskSync(const Napi::CallbackInfo& info);
  static Napi::Value MergeOnDisk(const Napi::CallbackInfo& info);
  static PreparedOp PrepareMergeOnDisk(const Napi::CallbackInfo& info);
  // A new JS index object owning core.
  static Napi::Value Wrap(Napi::Env env, std::unique_ptr<IvfpqCore> core);

  Napi::Value SearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareSearch, false); }
  Napi::Value Search(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareSearch, true); }
  Napi::Value RangeSearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareRangeSearch, false); }
  Napi::Value RangeSearch(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareRangeSearch, true); }

  PreparedOp PrepareSearch(const Napi::CallbackInfo& info);
  PreparedOp PrepareRangeSearch(const Napi::CallbackInfo& info);


  Napi::Value GetNtotal(const Napi::CallbackInfo& info);
  Napi::Value GetDimension(const Napi::CallbackInfo& info);
  Napi::Value GetNlist(const Napi::CallbackInfo& info);
  Napi::Value GetM(const Napi::CallbackInfo& info);
  Napi::Value GetNbits(const Napi::CallbackInfo& info);
  Napi::Value GetMetric(const Napi::CallbackInfo& info);
  Napi::Value GetIsTrained(const Napi::CallbackInfo& info);
  Napi::Value GetNprobe(const Napi::CallbackInfo& info);
  void SetNprobe(const Napi::CallbackInfo& info, const Napi::Value& value);
  Napi::Value GetDirectMap(const Napi::CallbackInfo& info);
  Napi::Value GetReadOnly(const Napi::CallbackInfo& info);
  Napi::Value GetRefine(const Napi::CallbackInfo& info);
  Napi::Value GetKFactor(const Napi::CallbackInfo& info);
  Napi::Value GetFastScan(const Napi::CallbackInfo& info);

  int64_t nlist_ = 0;  // fixed at construction
};

}  // namespace faiss_native
