// What every JS index class shares: the slot with its operation queue, the
// disposed state, the native-memory figure reported to V8, and the dispatch
// of a prepared operation as a blocking call or a Promise.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "index_slot.h"
#include "operation.h"
#include "threads.h"
#include "transfer.h"

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
    // Called after every mutation, which may change what a search costs.
    slot_->search_cost.Forget();
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

  // train(vectors, threads)
  PreparedOp PrepareTrain(const Napi::CallbackInfo& info) {
    Napi::Float32Array vectors = Float32ArrayArg(info[0], "vectors");
    int64_t n = RowCount(vectors, dimension_, "vectors");
    int threads = ThreadsArg(info, 1);
    const float* data = vectors.Data();
    auto slot = slot_;
    return {"faiss-native:train", Access::Exclusive, {info.This(), vectors},
            [slot, n, data, threads] {
              ThreadScope scope(threads, n);
              slot->Live().Train(n, data);
            },
            SettleMutation()};
  }

  // add(vectors, ids | undefined, threads)
  PreparedOp PrepareAdd(const Napi::CallbackInfo& info) {
    Napi::Float32Array vectors = Float32ArrayArg(info[0], "vectors");
    int64_t n = RowCount(vectors, dimension_, "vectors");
    std::vector<Napi::Value> pins{info.This(), vectors};
    const int64_t* ids = nullptr;
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
      Napi::BigInt64Array id_array = BigInt64ArrayArg(info[1], "ids");
      if (static_cast<int64_t>(id_array.ElementLength()) != n) {
        ThrowRange("Expected " + std::to_string(n) + " ids (one per vector) for ids but received " +
                   std::to_string(id_array.ElementLength()));
      }
      ids = id_array.Data();
      pins.push_back(id_array);
    }
    int threads = ThreadsArg(info, 2);
    const float* data = vectors.Data();
    auto slot = slot_;
    return {"faiss-native:add", Access::Exclusive, std::move(pins),
            [slot, n, data, ids, threads] {
              ThreadScope scope(threads, n);
              slot->Live().Add(n, data, ids);
            },
            SettleMutation()};
  }

  PreparedOp PrepareRemoveIds(const Napi::CallbackInfo& info) {
    Napi::BigInt64Array ids = BigInt64ArrayArg(info[0], "ids");
    int64_t n = static_cast<int64_t>(ids.ElementLength());
    const int64_t* data = ids.Data();
    auto slot = slot_;
    auto removed = std::make_shared<size_t>(0);
    return {"faiss-native:remove-ids", Access::Exclusive, {info.This(), ids},
            [slot, n, data, removed] { *removed = slot->Live().RemoveIds(n, data); },
            [this, removed](Napi::Env env) -> Napi::Value {
              SyncExternalMemory(env);
              return Napi::Number::New(env, static_cast<double>(*removed));
            }};
  }

  // reconstruct(id: bigint | number)
  PreparedOp PrepareReconstruct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t id;
    if (info[0].IsBigInt()) {
      bool lossless = false;
      id = info[0].As<Napi::BigInt>().Int64Value(&lossless);
      if (!lossless) ThrowRange("Expected a 64-bit id for id but received a larger bigint");
    } else {
      id = IntegerArg(info[0], "id", 0, (int64_t(1) << 53));
    }
    auto out = Napi::Float32Array::New(env, static_cast<size_t>(dimension_));
    float* data = out.Data();
    auto result = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(Napi::Value(out)));
    auto slot = slot_;
    return {"faiss-native:reconstruct", Access::Shared, {info.This(), out},
            [slot, id, data] { slot->Live().Reconstruct(id, data); },
            [result](Napi::Env) { return result->Value(); }};
  }

  PreparedOp PrepareWrite(const Napi::CallbackInfo& info) {
    std::string path = StringArg(info[0], "path");
    // durable = false skips the fsyncs: still atomic for other processes and
    // across a crash of this one, not across a power loss.
    bool durable = info.Length() < 2 || info[1].IsUndefined() || info[1].ToBoolean().Value();
    auto slot = slot_;
    return {"faiss-native:write", Access::Exclusive, {info.This()},
            [slot, path, durable] { slot->Live().WriteFile(path, durable); },
            [](Napi::Env env) { return env.Undefined(); }};
  }

  // mergeFrom(other): other must be an object of the same JS class.
  PreparedOp PrepareMergeFrom(const Napi::CallbackInfo& info) {
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(Derived::Constructor(info.Env()))) {
      ThrowType(std::string("Expected an ") + Derived::kJsName + " for other but received " + DescribeValue(info[0]));
    }
    Derived* other = Derived::Unwrap(info[0].As<Napi::Object>());
    if (other->disposed_) ThrowFaiss("the other index has been disposed", codes::kDisposed);
    if (other == this) ThrowFaiss("cannot merge an index into itself", codes::kIncompatible);
    // Taken now, on the JS thread, so both indexes keep call order.
    auto other_ticket = std::make_shared<HeldTicket>(other->slot_->queue, Access::Exclusive);
    auto slot = slot_;
    auto other_slot = other->slot_;
    return {"faiss-native:merge-from", Access::Exclusive, {info.This(), info[0]},
            [slot, other_slot, other_ticket] {
              other_ticket->Wait();
              struct ReleaseOnExit {
                HeldTicket& ticket;
                ~ReleaseOnExit() { ticket.Release(); }
              } release{*other_ticket};
              slot->Live().MergeFrom(other_slot->Live());
            },
            [this, other](Napi::Env env) {
              other->SyncExternalMemory(env);
              return SyncExternalMemory(env);
            }};
  }

  // The bytes a write would produce, in a Buffer that owns them.
  Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core& core = LiveCore(env);
    return Guarded(env, [&]() -> Napi::Value {
      return BufferFromBytes(env, RunInTurn(*slot_->queue, Access::Exclusive, [&] { return core.WriteBuffer(); }));
    });
  }

#define FAISS_NATIVE_SYNC_AND_ASYNC(Name, Prepare)                                                      \
  Napi::Value Name##Sync(const Napi::CallbackInfo& info) { return Dispatch(info, &IndexWrapBase::Prepare, false); } \
  Napi::Value Name(const Napi::CallbackInfo& info) { return Dispatch(info, &IndexWrapBase::Prepare, true); }
  FAISS_NATIVE_SYNC_AND_ASYNC(Train, PrepareTrain)
  FAISS_NATIVE_SYNC_AND_ASYNC(Add, PrepareAdd)
  FAISS_NATIVE_SYNC_AND_ASYNC(RemoveIds, PrepareRemoveIds)
  FAISS_NATIVE_SYNC_AND_ASYNC(Reconstruct, PrepareReconstruct)
  FAISS_NATIVE_SYNC_AND_ASYNC(Write, PrepareWrite)
  FAISS_NATIVE_SYNC_AND_ASYNC(MergeFrom, PrepareMergeFrom)
#undef FAISS_NATIVE_SYNC_AND_ASYNC

  // The accessors and methods above, for a class's property list.
  static std::vector<Napi::ClassPropertyDescriptor<Derived>> CommonProperties() {
    using Wrap = Napi::ObjectWrap<Derived>;
    using Method = typename Wrap::InstanceMethodCallback;
    using Getter = typename Wrap::InstanceGetterCallback;
    return {
        Wrap::InstanceMethod("dispose", static_cast<Method>(&IndexWrapBase::Dispose)),
        Wrap::InstanceAccessor("disposed", static_cast<Getter>(&IndexWrapBase::GetDisposed), nullptr),
        Wrap::InstanceAccessor("memoryBytes", static_cast<Getter>(&IndexWrapBase::GetMemoryBytes), nullptr),
        Wrap::InstanceMethod("trainSync", static_cast<Method>(&IndexWrapBase::TrainSync)),
        Wrap::InstanceMethod("train", static_cast<Method>(&IndexWrapBase::Train)),
        Wrap::InstanceMethod("addSync", static_cast<Method>(&IndexWrapBase::AddSync)),
        Wrap::InstanceMethod("add", static_cast<Method>(&IndexWrapBase::Add)),
        Wrap::InstanceMethod("removeIdsSync", static_cast<Method>(&IndexWrapBase::RemoveIdsSync)),
        Wrap::InstanceMethod("removeIds", static_cast<Method>(&IndexWrapBase::RemoveIds)),
        Wrap::InstanceMethod("reconstructSync", static_cast<Method>(&IndexWrapBase::ReconstructSync)),
        Wrap::InstanceMethod("reconstruct", static_cast<Method>(&IndexWrapBase::Reconstruct)),
        Wrap::InstanceMethod("writeSync", static_cast<Method>(&IndexWrapBase::WriteSync)),
        Wrap::InstanceMethod("write", static_cast<Method>(&IndexWrapBase::Write)),
        Wrap::InstanceMethod("mergeFromSync", static_cast<Method>(&IndexWrapBase::MergeFromSync)),
        Wrap::InstanceMethod("mergeFrom", static_cast<Method>(&IndexWrapBase::MergeFrom)),
        Wrap::InstanceMethod("toBuffer", static_cast<Method>(&IndexWrapBase::ToBuffer)),
    };
  }

  std::shared_ptr<IndexSlot<Core>> slot_;
  // Fixed at construction: readable on the JS thread without a turn.
  int64_t dimension_ = 0;
  int64_t reported_bytes_ = 0;
  bool disposed_ = false;
};

}  // namespace faiss_native
