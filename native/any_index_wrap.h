// JS class NativeIndex: any Faiss index (from a factory string or a file);
// the one native class under Index, IndexIVFPQ and IndexFlat.
#pragma once

#include <napi.h>

#include <memory>

#include "any_index_core.h"
#include "index_wrap_base.h"

namespace faiss_native {

class AnyIndexWrap : public IndexWrapBase<AnyIndexWrap, AnyIndexCore> {
 public:
  static constexpr const char* kJsName = "Index";
  static Napi::Function DefineClass(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env);
  explicit AnyIndexWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Wrap(Napi::Env env, std::unique_ptr<AnyIndexCore> core);

  Napi::Value SearchSync(const Napi::CallbackInfo& info) { return Dispatch(info, &AnyIndexWrap::PrepareSearch, false); }
  Napi::Value Search(const Napi::CallbackInfo& info) { return Dispatch(info, &AnyIndexWrap::PrepareSearch, true); }
  Napi::Value RangeSearchSync(const Napi::CallbackInfo& info) {
    return Dispatch(info, &AnyIndexWrap::PrepareRangeSearch, false);
  }
  Napi::Value RangeSearch(const Napi::CallbackInfo& info) { return Dispatch(info, &AnyIndexWrap::PrepareRangeSearch, true); }
  Napi::Value ResetSync(const Napi::CallbackInfo& info) { return Dispatch(info, &AnyIndexWrap::PrepareReset, false); }
  Napi::Value Reset(const Napi::CallbackInfo& info) { return Dispatch(info, &AnyIndexWrap::PrepareReset, true); }
  Napi::Value SetSearchDefaultsSync(const Napi::CallbackInfo& info) {
    return Dispatch(info, &AnyIndexWrap::PrepareSetSearchDefaults, false);
  }
  Napi::Value SetSearchDefaults(const Napi::CallbackInfo& info) {
    return Dispatch(info, &AnyIndexWrap::PrepareSetSearchDefaults, true);
  }

  static Napi::Value ReadSync(const Napi::CallbackInfo& info);
  static Napi::Value Read(const Napi::CallbackInfo& info);
  static Napi::Value FromBuffer(const Napi::CallbackInfo& info);
  static Napi::Value MergeOnDiskSync(const Napi::CallbackInfo& info);
  static Napi::Value MergeOnDisk(const Napi::CallbackInfo& info);
  static PreparedOp PrepareMergeOnDisk(const Napi::CallbackInfo& info);

  PreparedOp PrepareSearch(const Napi::CallbackInfo& info);
  PreparedOp PrepareRangeSearch(const Napi::CallbackInfo& info);
  PreparedOp PrepareReset(const Napi::CallbackInfo& info);
  PreparedOp PrepareSetSearchDefaults(const Napi::CallbackInfo& info);
  static PreparedOp PrepareRead(const Napi::CallbackInfo& info);

  // info[first..]: options (Float64Array or undefined), threads, filter mode, filter ids.
  SearchOptions OptionsArgs(const Napi::CallbackInfo& info, size_t first, std::vector<Napi::Value>& pins) const;

  Napi::Value GetNtotal(const Napi::CallbackInfo& info);
  Napi::Value GetDimension(const Napi::CallbackInfo& info);
  Napi::Value GetMetric(const Napi::CallbackInfo& info);
  Napi::Value GetIsTrained(const Napi::CallbackInfo& info);
  Napi::Value GetDescription(const Napi::CallbackInfo& info);
  Napi::Value GetIndexType(const Napi::CallbackInfo& info);
  Napi::Value GetSearchParameters(const Napi::CallbackInfo& info);
  Napi::Value GetReadOnly(const Napi::CallbackInfo& info);
  Napi::Value GetSearchDefaults(const Napi::CallbackInfo& info);
  Napi::Value GetIvf(const Napi::CallbackInfo& info);
};

}  // namespace faiss_native
