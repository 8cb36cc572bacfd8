#include "ivfpq_wrap.h"

#include <cstring>

#include "addon_data.h"
#include "args.h"
#include "search_call.h"
#include "threads.h"

namespace faiss_native {

namespace {

Napi::Value Undefined(Napi::Env env) { return env.Undefined(); }

}  // namespace

Napi::Function IvfpqWrap::DefineClass(Napi::Env env) {
  return ObjectWrap<IvfpqWrap>::DefineClass(
      env, "NativeIndexIVFPQ",
      {
          StaticMethod<&IvfpqWrap::ReadSync>("readSync"),
          StaticMethod<&IvfpqWrap::Read>("read"),
          InstanceMethod<&IvfpqWrap::TrainSync>("trainSync"),
          InstanceMethod<&IvfpqWrap::Train>("train"),
          InstanceMethod<&IvfpqWrap::AddSync>("addSync"),
          InstanceMethod<&IvfpqWrap::Add>("add"),
          InstanceMethod<&IvfpqWrap::SearchSync>("searchSync"),
          InstanceMethod<&IvfpqWrap::Search>("search"),
          InstanceMethod<&IvfpqWrap::WriteSync>("writeSync"),
          InstanceMethod<&IvfpqWrap::Write>("write"),
          InstanceMethod<&IvfpqWrap::Dispose>("dispose"),
          InstanceAccessor<&IvfpqWrap::GetNtotal>("ntotal"),
          InstanceAccessor<&IvfpqWrap::GetDimension>("dimension"),
          InstanceAccessor<&IvfpqWrap::GetNlist>("nlist"),
          InstanceAccessor<&IvfpqWrap::GetM>("m"),
          InstanceAccessor<&IvfpqWrap::GetNbits>("nbits"),
          InstanceAccessor<&IvfpqWrap::GetMetric>("metric"),
          InstanceAccessor<&IvfpqWrap::GetIsTrained>("isTrained"),
          InstanceAccessor<&IvfpqWrap::GetNprobe, &IvfpqWrap::SetNprobe>("nprobe"),
          InstanceAccessor<&IvfpqWrap::GetDisposed>("disposed"),
          InstanceAccessor<&IvfpqWrap::GetMemoryBytes>("memoryBytes"),
      });
}

// new NativeIndexIVFPQ(dimension, nlist, m, nbits, metric), or, internally,
// new NativeIndexIVFPQ(External<IvfpqCore>) to adopt an index read from disk.
IvfpqWrap::IvfpqWrap(const Napi::CallbackInfo& info)
    : ObjectWrap<IvfpqWrap>(info), slot_(std::make_shared<IndexSlot<IvfpqCore>>()) {
  Napi::Env env = info.Env();
  Guarded(env, [&] {
    if (info.Length() == 1 && info[0].IsExternal()) {
      slot_->core.reset(info[0].As<Napi::External<IvfpqCore>>().Data());
    } else {
      IvfpqConfig config;
      config.dimension = IntegerArg(info[0], "dimension", 1, 1 << 16);
      config.nlist = IntegerArg(info[1], "nlist", 1, int64_t(1) << 31);
      config.m = IntegerArg(info[2], "m", 1, config.dimension);
      config.nbits = IntegerArg(info[3], "nbits", 1, 8);
      config.metric = MetricArg(info[4]);
      if (config.dimension % config.m != 0) {
        ThrowRange("Expected m to divide dimension (" + std::to_string(config.dimension) +
                   ") but received " + std::to_string(config.m));
      }
      slot_->core = std::make_unique<IvfpqCore>(config);
    }
  });
  dimension_ = slot_->core->dimension();
  nlist_ = slot_->core->nlist();
  SyncExternalMemory(env);
}

IvfpqWrap::~IvfpqWrap() {
  // Raw call: a destructor must not throw, and during environment teardown
  // the adjustment may legitimately fail.
  if (reported_bytes_ != 0) {
    int64_t ignored;
    napi_adjust_external_memory(Env(), -reported_bytes_, &ignored);
  }
}

IvfpqCore& IvfpqWrap::LiveCore(Napi::Env env) const {
  if (disposed_) {
    throw ToJsError(env, {ErrorKind::Faiss, codes::kDisposed, "index has been disposed"});
  }
  return *slot_->core;
}

Napi::Value IvfpqWrap::SyncExternalMemory(Napi::Env env) {
  int64_t now = slot_->core ? slot_->core->memory_bytes() : 0;
  if (now != reported_bytes_) {
    Napi::MemoryManagement::AdjustExternalMemory(env, now - reported_bytes_);
    reported_bytes_ = now;
  }
  return env.Undefined();
}

Napi::Value IvfpqWrap::Dispatch(const Napi::CallbackInfo& info,
                                PreparedOp (IvfpqWrap::*prepare)(const Napi::CallbackInfo&),
                                bool async) {
  Napi::Env env = info.Env();
  LiveCore(env);
  return Guarded(env, [&] { return RunOperation(env, (this->*prepare)(info), async, slot_->queue); });
}

PreparedOp IvfpqWrap::PrepareTrain(const Napi::CallbackInfo& info) {
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
          [this](Napi::Env env) { return SyncExternalMemory(env); }};
}

PreparedOp IvfpqWrap::PrepareAdd(const Napi::CallbackInfo& info) {
  Napi::Float32Array vectors = Float32ArrayArg(info[0], "vectors");
  int64_t n = RowCount(vectors, dimension_, "vectors");
  std::vector<Napi::Value> pins{info.This(), vectors};
  const idx_t* ids = nullptr;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    Napi::BigInt64Array id_array = BigInt64ArrayArg(info[1], "ids");
    if (static_cast<int64_t>(id_array.ElementLength()) != n) {
      ThrowRange("Expected " + std::to_string(n) + " ids (one per vector) for ids but received " +
                 std::to_string(id_array.ElementLength()));
    }
    ids = reinterpret_cast<const idx_t*>(id_array.Data());
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
          [this](Napi::Env env) { return SyncExternalMemory(env); }};
}

PreparedOp IvfpqWrap::PrepareSearch(const Napi::CallbackInfo& info) {
  SearchCall call = PrepareSearchCall(info, dimension_);
  int64_t nprobe = 0;  // 0: the index's default
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    nprobe = IntegerArg(info[2], "nprobe", 0, nlist_);
  }
  int threads = ThreadsArg(info, 3);
  call.pins.push_back(info.This());
  auto slot = slot_;
  return {"faiss-native:search", Access::Shared, call.pins,
          [slot, call, nprobe, threads] {
            ThreadScope scope(threads, call.n);
            slot->Live().Search(call.n, call.queries, call.k, static_cast<size_t>(nprobe),
                                call.distances, call.labels);
          },
          call.Settle()};
}

PreparedOp IvfpqWrap::PrepareWrite(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  auto slot = slot_;
  return {"faiss-native:write", Access::Exclusive, {info.This()},
          [slot, path] { slot->Live().WriteFile(path); }, Undefined};
}

PreparedOp IvfpqWrap::PrepareRead(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  auto holder = std::make_shared<std::unique_ptr<IvfpqCore>>();
  return {"faiss-native:read", Access::Exclusive, {},
          [holder, path] { *holder = IvfpqCore::ReadFile(path); },
          [holder](Napi::Env env) -> Napi::Value {
            AddonData* data = AddonData::Get(env);
            auto external = Napi::External<IvfpqCore>::New(env, holder->release());
            return data->ivfpq_class.New({external});
          }};
}

Napi::Value IvfpqWrap::ReadSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareRead(info), false, nullptr); });
}

Napi::Value IvfpqWrap::Read(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareRead(info), true, nullptr); });
}

Napi::Value IvfpqWrap::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) return env.Undefined();
  // Waits for every operation issued before it, then frees.
  RunInTurn(*slot_->queue, Access::Exclusive, [&] { slot_->core.reset(); });
  disposed_ = true;
  return SyncExternalMemory(env);
}

Napi::Value IvfpqWrap::GetNtotal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).ntotal()));
}
Napi::Value IvfpqWrap::GetDimension(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dimension_));
}
Napi::Value IvfpqWrap::GetNlist(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(nlist_));
}
Napi::Value IvfpqWrap::GetM(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).m()));
}
Napi::Value IvfpqWrap::GetNbits(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).nbits()));
}
Napi::Value IvfpqWrap::GetMetric(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), MetricName(LiveCore(info.Env()).metric()));
}
Napi::Value IvfpqWrap::GetIsTrained(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveCore(info.Env()).is_trained());
}
Napi::Value IvfpqWrap::GetNprobe(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).nprobe()));
}
void IvfpqWrap::SetNprobe(const Napi::CallbackInfo& info, const Napi::Value& value) {
  Napi::Env env = info.Env();
  IvfpqCore& core = LiveCore(env);
  int64_t nprobe = Guarded(env, [&] { return IntegerArg(value, "nprobe", 1, nlist_); });
  core.set_nprobe(static_cast<size_t>(nprobe));
}
Napi::Value IvfpqWrap::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}
Napi::Value IvfpqWrap::GetMemoryBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).memory_bytes()));
}

}  // namespace faiss_native
