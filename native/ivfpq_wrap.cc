#include "ivfpq_wrap.h"

#include <cmath>
#include <cstring>

#include "addon_data.h"
#include "args.h"
#include "search_call.h"
#include "threads.h"
#include "transfer.h"

namespace faiss_native {

Napi::Function IvfpqWrap::DefineClass(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<IvfpqWrap>> properties = CommonProperties();
  properties.insert(properties.end(), {
          StaticMethod<&IvfpqWrap::ReadSync>("readSync"),
          StaticMethod<&IvfpqWrap::Read>("read"),
          StaticMethod<&IvfpqWrap::FromBuffer>("fromBuffer"),
          StaticMethod<&IvfpqWrap::MergeOnDiskSync>("mergeOnDiskSync"),
          StaticMethod<&IvfpqWrap::MergeOnDisk>("mergeOnDisk"),
          InstanceMethod<&IvfpqWrap::SearchSync>("searchSync"),
          InstanceMethod<&IvfpqWrap::Search>("search"),
          InstanceMethod<&IvfpqWrap::RangeSearchSync>("rangeSearchSync"),
          InstanceMethod<&IvfpqWrap::RangeSearch>("rangeSearch"),
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
  // The index's nprobe can change between calls without a mutation.
  int64_t effective_nprobe = nprobe > 0 ? nprobe : static_cast<int64_t>(slot_->core->nprobe());
  uint64_t signature = 0;
  for (int64_t value : {call.k, effective_nprobe, static_cast<int64_t>(k_factor), int64_t(threads)}) {
    signature = MixSignature(signature, value);
  }
  auto slot = slot_;
  PreparedOp op{"faiss-native:search", Access::Shared, call.pins,
                [slot, call, nprobe, threads, k_factor, signature] {
                  ThreadScope scope(threads, call.n);
                  TimedSearch(slot->search_cost, call.n, signature, [&] {
                    slot->Live().Search(call.n, call.queries, call.k, static_cast<size_t>(nprobe), k_factor,
                                        call.distances, call.labels);
                  });
                },
                call.Settle()};
  // Mapped and on-disk lists may fault in from storage: never on the event loop.
  if (!slot_->core->read_only()) op.inline_hint = {&slot_->search_cost, call.n, signature};
  return op;
}

Napi::Function IvfpqWrap::Constructor(Napi::Env env) { return AddonData::Get(env)->ivfpq_class.Value(); }

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
    ByteView bytes = BytesArg(info[0], "buffer");
    return Wrap(env, IvfpqCore::ReadBuffer(bytes.data, bytes.size));
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
            (*holder)->WriteFile(index_path, true);
          },
          [holder](Napi::Env env) { return Wrap(env, std::move(*holder)); }};
}

Napi::Value IvfpqWrap::MergeOnDiskSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareMergeOnDisk(info), false, nullptr); });
}

Napi::Value IvfpqWrap::MergeOnDisk(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareMergeOnDisk(info), true, nullptr); });
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
          [result, n](Napi::Env env) { return RangeSearchToJs(env, **result, n); }};
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
