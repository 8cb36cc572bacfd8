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
  static Napi::Function DefineClass(Napi::Env env);
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

  Napi::Value TrainSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareTrain, false); }
  Napi::Value Train(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareTrain, true); }
  Napi::Value AddSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareAdd, false); }
  Napi::Value Add(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareAdd, true); }
  Napi::Value SearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareSearch, false); }
  Napi::Value Search(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareSearch, true); }
  Napi::Value WriteSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareWrite, false); }
  Napi::Value Write(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareWrite, true); }
  Napi::Value RemoveIdsSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareRemoveIds, false); }
  Napi::Value RemoveIds(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareRemoveIds, true); }
  Napi::Value ReconstructSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareReconstruct, false); }
  Napi::Value Reconstruct(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareReconstruct, true); }
  Napi::Value RangeSearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareRangeSearch, false); }
  Napi::Value RangeSearch(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareRangeSearch, true); }
  Napi::Value MergeFromSync(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareMergeFrom, false); }
  Napi::Value MergeFrom(const Napi::CallbackInfo& info) { return Dispatch(info, &IvfpqWrap::PrepareMergeFrom, true); }
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);

  PreparedOp PrepareTrain(const Napi::CallbackInfo& info);
  PreparedOp PrepareAdd(const Napi::CallbackInfo& info);
  PreparedOp PrepareSearch(const Napi::CallbackInfo& info);
  PreparedOp PrepareWrite(const Napi::CallbackInfo& info);
  PreparedOp PrepareRemoveIds(const Napi::CallbackInfo& info);
  PreparedOp PrepareReconstruct(const Napi::CallbackInfo& info);
  PreparedOp PrepareRangeSearch(const Napi::CallbackInfo& info);
  PreparedOp PrepareMergeFrom(const Napi::CallbackInfo& info);


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

  // Fixed at construction: readable on the JS thread without a turn.
  int64_t dimension_ = 0;
  int64_t nlist_ = 0;
};

}  // namespace faiss_native
