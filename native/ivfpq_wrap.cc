#include "ivfpq_wrap.h"

#include <cmath>
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
  std::vector<Napi::ClassPropertyDescriptor<IvfpqWrap>> properties = CommonProperties();
  properties.insert(properties.end(), {
          StaticMethod<&IvfpqWrap::ReadSync>("readSync"),
          StaticMethod<&IvfpqWrap::Read>("read"),
          StaticMethod<&IvfpqWrap::FromBuffer>("fromBuffer"),
          StaticMethod<&IvfpqWrap::MergeOnDiskSync>("mergeOnDiskSync"),
          StaticMethod<&IvfpqWrap::MergeOnDisk>("mergeOnDisk"),
          InstanceMethod<&IvfpqWrap::TrainSync>("trainSync"),
          InstanceMethod<&IvfpqWrap::Train>("train"),
          InstanceMethod<&IvfpqWrap::AddSync>("addSync"),
          InstanceMethod<&IvfpqWrap::Add>("add"),
          InstanceMethod<&IvfpqWrap::SearchSync>("searchSync"),
          InstanceMethod<&IvfpqWrap::Search>("search"),
          InstanceMethod<&IvfpqWrap::WriteSync>("writeSync"),
          InstanceMethod<&IvfpqWrap::Write>("write"),
          InstanceMethod<&IvfpqWrap::RemoveIdsSync>("removeIdsSync"),
          InstanceMethod<&IvfpqWrap::RemoveIds>("removeIds"),
          InstanceMethod<&IvfpqWrap::ReconstructSync>("reconstructSync"),
          InstanceMethod<&IvfpqWrap::Reconstruct>("reconstruct"),
          InstanceMethod<&IvfpqWrap::RangeSearchSync>("rangeSearchSync"),
          InstanceMethod<&IvfpqWrap::RangeSearch>("rangeSearch"),
          InstanceMethod<&IvfpqWrap::MergeFromSync>("mergeFromSync"),
          InstanceMethod<&IvfpqWrap::MergeFrom>("mergeFrom"),
          InstanceMethod<&IvfpqWrap::ToBuffer>("toBuffer"),
          InstanceAccessor<&IvfpqWrap::GetNtotal>("ntotal"),
          InstanceAccessor<&IvfpqWrap::GetDimension>("dimension"),
          InstanceAccessor<&IvfpqWrap::GetNlist>("nlist"),
          InstanceAccessor<&IvfpqWrap::GetM>("m"),
          InstanceAccessor<&IvfpqWrap::GetNbits>("nbits"),
          InstanceAccessor<&IvfpqWrap::GetMetric>("metric"),
          InstanceAccessor<&IvfpqWrap::GetIsTrained>("isTrained"),
          InstanceAccessor<&IvfpqWrap::GetNprobe, &IvfpqWrap::SetNprobe>("nprobe"),
          InstanceAccessor<&IvfpqWrap::GetDirectMap>("directMap"),
          InstanceAccessor<&IvfpqWrap::GetReadOnly>("readOnly"),
          InstanceAccessor<&IvfpqWrap::GetRefine>("refine"),
          InstanceAccessor<&IvfpqWrap::GetKFactor>("kFactor"),
          InstanceAccessor<&IvfpqWrap::GetFastScan>("fastScan"),
  });
  return ObjectWrap<IvfpqWrap>::DefineClass(env, "NativeIndexIVFPQ", properties);
}

// new NativeIndexIVFPQ(dimension, nlist, m, nbits, metric, directMap, refine, kFactor, fastScan), or, internally,
// new NativeIndexIVFPQ(External<IvfpqCore>) to adopt an index read from disk.
IvfpqWrap::IvfpqWrap(const Napi::CallbackInfo& info)
    : IndexWrapBase(info) {
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
      if (info.Length() > 6 && !info[6].IsUndefined()) {
        std::string refine = info[6].IsString() ? info[6].As<Napi::String>().Utf8Value() : "";
        if (refine == "flat") {
          config.refine = RefineKind::Flat;
        } else if (refine == "sq8") {
          config.refine = RefineKind::SQ8;
        } else if (refine != "none") {
          ThrowType("Expected 'none', 'flat' or 'sq8' for refine but received " + DescribeValue(info[6]));
        }
        config.k_factor = static_cast<float>(IntegerArg(info[7], "kFactor", 1, 1024));
      }
      config.fast_scan = info.Length() > 8 && info[8].IsBoolean() && info[8].As<Napi::Boolean>().Value();
      if (config.fast_scan && config.nbits != 4) {
        ThrowRange("Expected nbits 4 with fastScan but received " + std::to_string(config.nbits));
      }
      if (config.fast_scan && info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value()) {
        ThrowRange("Expected directMap false with fastScan: FastScan lists keep codes in blocks, without a direct map");
      }
      if (config.dimension % config.m != 0) {
        ThrowRange("Expected m to divide dimension (" + std::to_string(config.dimension) +
                   ") but received " + std::to_string(config.m));
      }
      slot_->core = std::make_unique<IvfpqCore>(config);
      if (info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value()) {
        slot_->core->SetDirectMap(true);
      }
    }
  });
  dimension_ = slot_->core->dimension();
  nlist_ = slot_->core->nlist();
  SyncExternalMemory(env);
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
          SettleMutation()};
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
          SettleMutation()};
}

PreparedOp IvfpqWrap::PrepareSearch(const Napi::CallbackInfo& info) {
  SearchCall call = PrepareSearchCall(info, dimension_);
  int64_t nprobe = 0;  // 0: the index's default
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    nprobe = IntegerArg(info[2], "nprobe", 0, nlist_);
  }
  int threads = ThreadsArg(info, 3);
  float k_factor = 0;  // 0: the index's default
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    k_factor = static_cast<float>(IntegerArg(info[4], "kFactor", 0, 1024));
  }
  call.pins.push_back(info.This());
  auto slot = slot_;
  return {"faiss-native:search", Access::Shared, call.pins,
          [slot, call, nprobe, threads, k_factor] {
            ThreadScope scope(threads, call.n);
            slot->Live().Search(call.n, call.queries, call.k, static_cast<size_t>(nprobe), k_factor,
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

Napi::Value IvfpqWrap::Wrap(Napi::Env env, std::unique_ptr<IvfpqCore> core) {
  AddonData* data = AddonData::Get(env);
  auto external = Napi::External<IvfpqCore>::New(env, core.release());
  return data->ivfpq_class.New({external});
}

PreparedOp IvfpqWrap::PrepareRead(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  bool mmap = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  bool precompute_table = !(info.Length() > 2 && info[2].IsBoolean() && !info[2].As<Napi::Boolean>().Value());
  auto holder = std::make_shared<std::unique_ptr<IvfpqCore>>();
  return {"faiss-native:read", Access::Exclusive, {},
          [holder, path, mmap, precompute_table] { *holder = IvfpqCore::ReadFile(path, mmap, precompute_table); },
          [holder](Napi::Env env) { return Wrap(env, std::move(*holder)); }};
}

Napi::Value IvfpqWrap::FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    if (!info[0].IsTypedArray() && !info[0].IsArrayBuffer()) {
      ThrowType("Expected a Buffer or Uint8Array for buffer but received " + DescribeValue(info[0]));
    }
    const uint8_t* data;
    size_t size;
    if (info[0].IsArrayBuffer()) {
      auto buffer = info[0].As<Napi::ArrayBuffer>();
      data = static_cast<const uint8_t*>(buffer.Data());
      size = buffer.ByteLength();
    } else {
      auto view = info[0].As<Napi::TypedArray>();
      if (view.TypedArrayType() != napi_uint8_array) {
        ThrowType("Expected a Buffer or Uint8Array for buffer but received " + DescribeValue(info[0]));
      }
      data = view.As<Napi::Uint8Array>().Data();
      size = view.ByteLength();
    }
    return Wrap(env, IvfpqCore::ReadBuffer(data, size));
  });
}

Napi::Value IvfpqWrap::ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IvfpqCore& core = LiveCore(env);
  return Guarded(env, [&]() -> Napi::Value {
    auto bytes = std::make_unique<std::vector<uint8_t>>(
        RunInTurn(*slot_->queue, Access::Exclusive, [&] { return core.WriteBuffer(); }));
    // The Buffer takes the serialized bytes over: no copy.
    uint8_t* data = bytes->data();
    size_t size = bytes->size();
    return Napi::Buffer<uint8_t>::New(env, data, size,
                                      [](Napi::Env, uint8_t*, std::vector<uint8_t>* owned) { delete owned; },
                                      bytes.release());
  });
}

PreparedOp IvfpqWrap::PrepareMergeOnDisk(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) {
    ThrowType("Expected an array of paths for shardPaths but received " + DescribeValue(info[0]));
  }
  auto list = info[0].As<Napi::Array>();
  std::vector<std::string> shard_paths;
  for (uint32_t i = 0; i < list.Length(); i++) {
    shard_paths.push_back(StringArg(list.Get(i), "shardPaths[]"));
  }
  std::string data_path = StringArg(info[1], "dataPath");
  std::string index_path = StringArg(info[2], "indexPath");
  auto holder = std::make_shared<std::unique_ptr<IvfpqCore>>();
  return {"faiss-native:merge-on-disk", Access::Exclusive, {},
          [holder, shard_paths, data_path, index_path] {
            ThreadScope scope(0, 1 << 20);
            *holder = IvfpqCore::MergeOnDisk(shard_paths, data_path);
            (*holder)->WriteFile(index_path);
          },
          [holder](Napi::Env env) { return Wrap(env, std::move(*holder)); }};
}

Napi::Value IvfpqWrap::MergeOnDiskSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareMergeOnDisk(info), false, nullptr); });
}

Napi::Value IvfpqWrap::MergeOnDisk(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareMergeOnDisk(info), true, nullptr); });
}

PreparedOp IvfpqWrap::PrepareRemoveIds(const Napi::CallbackInfo& info) {
  Napi::BigInt64Array ids = BigInt64ArrayArg(info[0], "ids");
  int64_t n = static_cast<int64_t>(ids.ElementLength());
  const idx_t* data = reinterpret_cast<const idx_t*>(ids.Data());
  auto slot = slot_;
  auto removed = std::make_shared<size_t>(0);
  return {"faiss-native:remove-ids", Access::Exclusive, {info.This(), ids},
          [slot, n, data, removed] { *removed = slot->Live().RemoveIds(n, data); },
          [this, removed](Napi::Env env) -> Napi::Value {
            SyncExternalMemory(env);
            return Napi::Number::New(env, static_cast<double>(*removed));
          }};
}

PreparedOp IvfpqWrap::PrepareReconstruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  idx_t id;
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

PreparedOp IvfpqWrap::PrepareRangeSearch(const Napi::CallbackInfo& info) {
  Napi::Float32Array queries = Float32ArrayArg(info[0], "queries");
  int64_t n = RowCount(queries, dimension_, "queries");
  if (!info[1].IsNumber() || !std::isfinite(info[1].As<Napi::Number>().DoubleValue())) {
    ThrowType("Expected a finite number for radius but received " + DescribeValue(info[1]));
  }
  float radius = info[1].As<Napi::Number>().FloatValue();
  int64_t nprobe = 0;
  if (info.Length() > 2 && !info[2].IsUndefined()) nprobe = IntegerArg(info[2], "nprobe", 0, nlist_);
  int threads = ThreadsArg(info, 3);
  const float* data = queries.Data();
  auto slot = slot_;
  auto result = std::make_shared<std::unique_ptr<faiss::RangeSearchResult>>();
  return {"faiss-native:range-search", Access::Shared, {info.This(), queries},
          [slot, n, data, radius, nprobe, threads, result] {
            ThreadScope scope(threads, n);
            *result = slot->Live().RangeSearch(n, data, radius, static_cast<size_t>(nprobe));
          },
          [result, n](Napi::Env env) -> Napi::Value {
            const faiss::RangeSearchResult& found = **result;
            size_t total = found.lims[n];
            if (total > UINT32_MAX) ThrowRange("range search found more than 2^32 results");
            auto lims = Napi::Uint32Array::New(env, static_cast<size_t>(n) + 1);
            uint32_t* lim_out = lims.Data();
            for (int64_t i = 0; i <= n; i++) lim_out[i] = static_cast<uint32_t>(found.lims[i]);
            auto distances = Napi::Float32Array::New(env, total);
            auto labels = Napi::BigInt64Array::New(env, total);
            if (total > 0) {  // an empty typed array has no data pointer
              std::memcpy(distances.Data(), found.distances, total * sizeof(float));
              std::memcpy(labels.Data(), found.labels, total * sizeof(int64_t));
            }
            Napi::Object out = Napi::Object::New(env);
            out.Set("lims", lims);
            out.Set("distances", distances);
            out.Set("labels", labels);
            return out;
          }};
}

PreparedOp IvfpqWrap::PrepareMergeFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = AddonData::Get(env);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->ivfpq_class.Value())) {
    ThrowType("Expected an IndexIVFPQ for other but received " + DescribeValue(info[0]));
  }
  IvfpqWrap* other = IvfpqWrap::Unwrap(info[0].As<Napi::Object>());
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

Napi::Value IvfpqWrap::ReadSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareRead(info), false, nullptr); });
}

Napi::Value IvfpqWrap::Read(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareRead(info), true, nullptr); });
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
Napi::Value IvfpqWrap::GetDirectMap(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveCore(info.Env()).has_direct_map());
}
Napi::Value IvfpqWrap::GetReadOnly(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveCore(info.Env()).read_only());
}
Napi::Value IvfpqWrap::GetRefine(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), RefineKindName(LiveCore(info.Env()).refine_kind()));
}
Napi::Value IvfpqWrap::GetKFactor(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), LiveCore(info.Env()).k_factor());
}

Napi::Value IvfpqWrap::GetFastScan(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveCore(info.Env()).fast_scan());
}
}  // namespace faiss_native
