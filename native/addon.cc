// Registers the addon's exports; all behaviour lives in the files it names.
#include <napi.h>

#include "addon_data.h"
#include "any_index_wrap.h"
#include "args.h"
#include "errors.h"
#include "faiss_library.h"
#include "native_memory.h"
#include "search_cost.h"
#include "threads.h"

namespace faiss_native {
namespace {

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "Expected a constructor for errorClass");
  }
  AddonData::Get(info.Env())->faiss_error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t threads = Guarded(env, [&] { return IntegerArg(info[0], "threads", 1, 1024); });
  SetDefaultThreads(static_cast<int>(threads));
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), DefaultThreads());
}

Napi::Value GetHardwareThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), HardwareThreads());
}

// setInlineSearchBudget(microseconds): see search_cost.h.
Napi::Value SetInlineSearchBudget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t micros = Guarded(env, [&] { return IntegerArg(info[0], "microseconds", 0, 1'000'000); });
  inline_budget_ns.store(micros * 1000);
  return env.Undefined();
}

Napi::Value GetInlineSearchBudget(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(inline_budget_ns.load() / 1000));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  LimitDeserialization();
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  data->loop_clock.Attach(env);
  Napi::Function any_index = AnyIndexWrap::DefineClass(env);
  data->any_index_class = Napi::Persistent(any_index);
  exports.Set("NativeIndex", any_index);
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClass>(env, "setErrorClass"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("hardwareThreads", Napi::Function::New<GetHardwareThreads>(env, "hardwareThreads"));
  exports.Set("setInlineSearchBudget", Napi::Function::New<SetInlineSearchBudget>(env, "setInlineSearchBudget"));
  exports.Set("getInlineSearchBudget", Napi::Function::New<GetInlineSearchBudget>(env, "getInlineSearchBudget"));
  exports.Set("faissInfo", Napi::Function::New<FaissInfo>(env, "faissInfo"));
  exports.Set("nativeMemoryUsage", Napi::Function::New<NativeMemoryUsage>(env, "nativeMemoryUsage"));
  exports.Set("setSimdLevel", Napi::Function::New<SetSimdLevel>(env, "setSimdLevel"));
  return exports;
}

}  // namespace
}  // namespace faiss_native

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return faiss_native::Init(env, exports);
}

NODE_API_MODULE(faiss_native, InitAddon)
