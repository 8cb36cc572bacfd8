// What every JS index class shares: the slot with its operation queue, the
// disposed state, the native-memory figure reported to V8, and the dispatch
// of a prepared operation as a blocking call or a Promise.
#pragma once

#include <napi.h>

#include <memory>

#include "errors.h"
#include "index_slot.h"
#include "operation.h"

namespace faiss_native {

template <typename Derived, typename Core>
class IndexWrapBase : public Napi::ObjectWrap<Derived> {
 public:
  explicit IndexWrapBase(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Derived>(info), slot_(std::make_shared<IndexSlot<Core>>()) {}

  ~IndexWrapBase() override {
    // Raw call: a destructor must not throw, and during environment teardown
    // the adjustment may legitimately fail.
    if (reported_bytes_ != 0) {
      int64_t ignored;
      napi_adjust_external_memory(this->Env(), -reported_bytes_, &ignored);
    }
  }

 protected:
  using Prepare = PreparedOp (Derived::*)(const Napi::CallbackInfo&);

  // Core of a live index, or a FaissError naming the disposed state.
  Core& LiveCore(Napi::Env env) const {
    if (disposed_) {
      throw ToJsError(env, {ErrorKind::Faiss, codes::kDisposed, "index has been disposed"});
    }
    return *slot_->core;
  }

  // Tells V8 how much native memory this object now holds.
  Napi::Value SyncExternalMemory(Napi::Env env) {
    int64_t now = slot_->core ? slot_->core->memory_bytes() : 0;
    if (now != reported_bytes_) {
      Napi::MemoryManagement::AdjustExternalMemory(env, now - reported_bytes_);
      reported_bytes_ = now;
    }
    return env.Undefined();
  }

  // A mutation's settle step: refresh what V8 is told.
  std::function<Napi::Value(Napi::Env)> SettleMutation() {
    return [this](Napi::Env env) { return SyncExternalMemory(env); };
  }

  Napi::Value Dispatch(const Napi::CallbackInfo& info, Prepare prepare, bool async) {
    Napi::Env env = info.Env();
    LiveCore(env);
    Derived* self = static_cast<Derived*>(this);
    return Guarded(env, [&] { return RunOperation(env, (self->*prepare)(info), async, slot_->queue); });
  }

  // Waits for every operation issued before it, then frees. Idempotent.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_) return env.Undefined();
    RunInTurn(*slot_->queue, Access::Exclusive, [&] { slot_->core.reset(); });
    disposed_ = true;
    return SyncExternalMemory(env);
  }

  Napi::Value GetDisposed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), disposed_);
  }

  Napi::Value GetMemoryBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).memory_bytes()));
  }

  // The accessors and methods above, for a class's property list.
  static std::vector<Napi::ClassPropertyDescriptor<Derived>> CommonProperties() {
    using Wrap = Napi::ObjectWrap<Derived>;
    return {
        Wrap::InstanceMethod("dispose", static_cast<typename Wrap::InstanceMethodCallback>(&IndexWrapBase::Dispose)),
        Wrap::InstanceAccessor("disposed",
                               static_cast<typename Wrap::InstanceGetterCallback>(&IndexWrapBase::GetDisposed),
                               nullptr),
        Wrap::InstanceAccessor("memoryBytes",
                               static_cast<typename Wrap::InstanceGetterCallback>(&IndexWrapBase::GetMemoryBytes),
                               nullptr),
    };
  }

  std::shared_ptr<IndexSlot<Core>> slot_;
  int64_t reported_bytes_ = 0;
  bool disposed_ = false;
};

}  // namespace faiss_native
