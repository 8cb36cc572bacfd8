#include "ivfpq_wrap.h"

#include <cstring>

#include "addon_data.h"
#include "args.h"
#include "async_op.h"
#include "threads.h"

namespace faiss_native {

namespace {

// Bounds that keep result allocations sane; both far above practical use.
constexpr int64_t kMaxK = int64_t(1) << 20;
constexpr int64_t kMaxResultEntries = int64_t(1) << 28;
constexpr int64_t kMaxThreads = 1024;

Metric MetricArg(const Napi::Value& value) {
  std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (name == "l2") return Metric::L2;
  if (name == "ip") return Metric::InnerProduct;
  if (name == "cosine") return Metric::Cosine;
  ThrowType("Expected 'l2', 'ip' or 'cosine' for metric but received " + DescribeValue(value));
}

int ThreadsArg(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return 0;
  return static_cast<int>(IntegerArg(info[index], "threads", 0, kMaxThreads));
}

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
    : ObjectWrap<IvfpqWrap>(info), slot_(std::make_shared<IndexSlot>()) {
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
  if (reported_bytes_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_bytes_);
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

Napi::Value IvfpqWrap::Run(const Napi::CallbackInfo& info, PreparedOp op, bool async,
                           std::shared_ptr<IndexSlot> slot) {
  Napi::Env env = info.Env();
  if (async) {
    return AsyncOp::Start(env, op.name, std::move(slot), op.access, op.pins, std::move(op.body),
                          std::move(op.settle));
  }
  if (slot) {
    RunInTurn(*slot, op.access, op.body);
  } else {
    op.body();
  }
  return op.settle(env);
}

Napi::Value IvfpqWrap::Dispatch(const Napi::CallbackInfo& info,
                                PreparedOp (IvfpqWrap::*prepare)(const Napi::CallbackInfo&),
                                bool async) {
  Napi::Env env = info.Env();
  LiveCore(env);
  return Guarded(env, [&] { return Run(info, (this->*prepare)(info), async, slot_); });
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
            slot->Core().Train(n, data);
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
            slot->Core().Add(n, data, ids);
          },
          [this](Napi::Env env) { return SyncExternalMemory(env); }};
}

PreparedOp IvfpqWrap::PrepareSearch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array queries = Float32ArrayArg(info[0], "queries");
  int64_t n = RowCount(queries, dimension_, "queries");
  int64_t k = IntegerArg(info[1], "k", 1, kMaxK);
  if (n * k > kMaxResultEntries) {
    ThrowRange("Expected at most " + std::to_string(kMaxResultEntries) +
               " result entries (queries x k) but received " + std::to_string(n * k));
  }
  int64_t nprobe = 0;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    nprobe = IntegerArg(info[2], "nprobe", 0, nlist_);  // 0: the index's default
  }
  int threads = ThreadsArg(info, 3);
  // Results are JS-owned memory that Faiss fills in place.
  auto distances = Napi::Float32Array::New(env, static_cast<size_t>(n * k));
  auto labels = Napi::BigInt64Array::New(env, static_cast<size_t>(n * k));
  Napi::Object result = Napi::Object::New(env);
  result.Set("distances", distances);
  result.Set("labels", labels);
  auto result_ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(result));
  const float* data = queries.Data();
  float* distance_out = distances.Data();
  idx_t* label_out = reinterpret_cast<idx_t*>(labels.Data());
  auto slot = slot_;
  return {"faiss-native:search", Access::Shared, {info.This(), queries, result},
          [slot, n, k, nprobe, threads, data, distance_out, label_out] {
            ThreadScope scope(threads, n);
            slot->Core().Search(n, data, k, static_cast<size_t>(nprobe), distance_out, label_out);
          },
          [result_ref](Napi::Env) -> Napi::Value { return result_ref->Value(); }};
}

PreparedOp IvfpqWrap::PrepareWrite(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  auto slot = slot_;
  return {"faiss-native:write", Access::Exclusive, {info.This()},
          [slot, path] { slot->Core().WriteFile(path); }, Undefined};
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
  return Guarded(info.Env(), [&] { return Run(info, PrepareRead(info), false, nullptr); });
}

Napi::Value IvfpqWrap::Read(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Run(info, PrepareRead(info), true, nullptr); });
}

Napi::Value IvfpqWrap::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) return env.Undefined();
  // Waits for every operation issued before it, then frees.
  RunInTurn(*slot_, Access::Exclusive, [&] { slot_->core.reset(); });
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
