#include "any_index_wrap.h"

#include <cmath>

#include "addon_data.h"
#include "args.h"
#include "search_call.h"
#include "threads.h"
#include "transfer.h"

namespace faiss_native {

namespace {

// Slots of the numeric options array the TypeScript layer passes; negative: unset.
enum OptionSlot { kNprobe, kEfSearch, kQuantizerEfSearch, kMaxCodes, kQb, kKFactor, kOptionSlots };

// 'ivfpq': only what IndexIVFPQ writes; 'trusted': any index, types the check
// does not know left to Faiss; anything else (undefined): any index, checked.
IndexGrammar GrammarArg(const Napi::CallbackInfo& info, size_t at) {
  std::string name = info.Length() > at && info[at].IsString() ? info[at].As<Napi::String>().Utf8Value() : "";
  if (name == "ivfpq") return IndexGrammar::IvfPq;
  return name == "trusted" ? IndexGrammar::Trusted : IndexGrammar::Any;
}

bool BooleanArg(const Napi::CallbackInfo& info, size_t at, bool otherwise) {
  return info.Length() > at && info[at].IsBoolean() ? info[at].As<Napi::Boolean>().Value() : otherwise;
}

}  // namespace

Napi::Function AnyIndexWrap::DefineClass(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<AnyIndexWrap>> properties = CommonProperties();
  properties.insert(properties.end(), {
      StaticMethod<&AnyIndexWrap::ReadSync>("readSync"),
      StaticMethod<&AnyIndexWrap::Read>("read"),
      StaticMethod<&AnyIndexWrap::FromBuffer>("fromBuffer"),
      StaticMethod<&AnyIndexWrap::MergeOnDiskSync>("mergeOnDiskSync"),
      StaticMethod<&AnyIndexWrap::MergeOnDisk>("mergeOnDisk"),
      InstanceMethod<&AnyIndexWrap::SearchSync>("searchSync"),
      InstanceMethod<&AnyIndexWrap::Search>("search"),
      InstanceMethod<&AnyIndexWrap::RangeSearchSync>("rangeSearchSync"),
      InstanceMethod<&AnyIndexWrap::RangeSearch>("rangeSearch"),
      InstanceMethod<&AnyIndexWrap::ResetSync>("resetSync"),
      InstanceMethod<&AnyIndexWrap::Reset>("reset"),
      InstanceMethod<&AnyIndexWrap::SetSearchDefaultsSync>("setSearchDefaultsSync"),
      InstanceMethod<&AnyIndexWrap::SetSearchDefaults>("setSearchDefaults"),
      InstanceAccessor<&AnyIndexWrap::GetNtotal>("ntotal"),
      InstanceAccessor<&AnyIndexWrap::GetDimension>("dimension"),
      InstanceAccessor<&AnyIndexWrap::GetMetric>("metric"),
      InstanceAccessor<&AnyIndexWrap::GetIsTrained>("isTrained"),
      InstanceAccessor<&AnyIndexWrap::GetDescription>("description"),
      InstanceAccessor<&AnyIndexWrap::GetIndexType>("indexType"),
      InstanceAccessor<&AnyIndexWrap::GetSearchParameters>("searchParameters"),
      InstanceAccessor<&AnyIndexWrap::GetReadOnly>("readOnly"),
      InstanceAccessor<&AnyIndexWrap::GetSearchDefaults>("searchDefaults"),
      InstanceAccessor<&AnyIndexWrap::GetIvf>("ivf"),
  });
  return ObjectWrap<AnyIndexWrap>::DefineClass(env, "NativeIndex", properties);
}

// new NativeIndex(dimension, description, metric, directMap), or, internally,
// new NativeIndex(External<AnyIndexCore>) to adopt an index read from a file.
AnyIndexWrap::AnyIndexWrap(const Napi::CallbackInfo& info) : IndexWrapBase(info) {
  Napi::Env env = info.Env();
  Guarded(env, [&] {
    if (info.Length() == 1 && info[0].IsExternal()) {
      slot_->core.reset(info[0].As<Napi::External<AnyIndexCore>>().Data());
    } else {
      int64_t dimension = IntegerArg(info[0], "dimension", 1, 1 << 16);
      std::string description = StringArg(info[1], "description");
      slot_->core = AnyIndexCore::FromFactory(dimension, description, MetricArg(info[2]), BooleanArg(info, 3, false));
    }
  });
  dimension_ = slot_->core->dimension();
  SyncExternalMemory(env);
}

Napi::Function AnyIndexWrap::Constructor(Napi::Env env) { return AddonData::Get(env)->any_index_class.Value(); }

Napi::Value AnyIndexWrap::Wrap(Napi::Env env, std::unique_ptr<AnyIndexCore> core) {
  auto external = Napi::External<AnyIndexCore>::New(env, core.release());
  return Constructor(env).New({external});
}

SearchOptions AnyIndexWrap::OptionsArgs(const Napi::CallbackInfo& info, size_t first,
                                        std::vector<Napi::Value>& pins) const {
  SearchOptions options;
  if (info.Length() > first && !info[first].IsUndefined()) {
    if (!info[first].IsTypedArray() || info[first].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[first].As<Napi::Float64Array>().ElementLength() != kOptionSlots) {
      ThrowType("Expected a Float64Array of " + std::to_string(kOptionSlots) + " search options but received " +
                DescribeValue(info[first]));
    }
    const double* slots = info[first].As<Napi::Float64Array>().Data();
    auto slot = [&](OptionSlot at, double max) -> int64_t {
      double value = slots[at];
      if (!(value >= -1 && value <= max) || std::floor(value) != value) {
        ThrowRange("search option out of range: " + std::to_string(value));
      }
      return static_cast<int64_t>(value);
    };
    options.nprobe = slot(kNprobe, double(int64_t(1) << 31));
    options.ef_search = slot(kEfSearch, double(1 << 30));
    options.quantizer_ef_search = slot(kQuantizerEfSearch, double(1 << 30));
    options.max_codes = slot(kMaxCodes, 9007199254740991.0);
    options.qb = slot(kQb, 8);
    options.k_factor = static_cast<float>(slot(kKFactor, 1 << 20));
  }
  size_t filter_at = first + 2;
  int64_t mode = info.Length() > filter_at && !info[filter_at].IsUndefined()
                     ? IntegerArg(info[filter_at], "filter mode", 0, 3)
                     : 0;
  if (mode != 0) {
    Napi::BigInt64Array ids = BigInt64ArrayArg(info[filter_at + 1], "filter ids");
    pins.push_back(ids);
    const idx_t* data = reinterpret_cast<const idx_t*>(ids.Data());
    if (mode == 3) {
      if (ids.ElementLength() != 2) ThrowRange("Expected [low, high] for filter.range");
      options.filter.kind = IdFilter::Kind::Range;
      options.filter.low = data[0];
      options.filter.high = data[1];
    } else {
      options.filter.kind = mode == 1 ? IdFilter::Kind::Include : IdFilter::Kind::Exclude;
      options.filter.ids = ids.ElementLength() > 0 ? data : nullptr;
      options.filter.count = ids.ElementLength();
    }
  }
  return options;
}

// search(queries, k, options, threads, filterMode, filterIds)
PreparedOp AnyIndexWrap::PrepareSearch(const Napi::CallbackInfo& info) {
  SearchCall call = PrepareSearchCall(info, dimension_);
  SearchOptions options = OptionsArgs(info, 2, call.pins);
  int threads = ThreadsArg(info, 3);
  call.pins.push_back(info.This());
  uint64_t signature = 0;
  for (int64_t value : {call.k, options.nprobe, options.ef_search, options.quantizer_ef_search, options.max_codes,
                        options.qb, static_cast<int64_t>(options.k_factor), static_cast<int64_t>(options.filter.kind),
                        static_cast<int64_t>(options.filter.count), int64_t(threads)}) {
    signature = MixSignature(signature, value);
  }
  auto slot = slot_;
  PreparedOp op{"faiss-native:search", Access::Shared, call.pins,
                [slot, call, options, threads, signature] {
                  ThreadScope scope(threads, call.n);
                  TimedSearch(slot->search_cost, call.n, signature, [&] {
                    slot->Live().Search(call.n, call.queries, call.k, options, call.distances, call.labels);
                  });
                },
                call.Settle()};
  // Mapped and on-disk data may fault in from storage: never on the event loop.
  if (!slot_->core->read_only()) op.inline_hint = {&slot_->search_cost, call.n, signature};
  return op;
}

// rangeSearch(queries, radius, options, threads, filterMode, filterIds)
PreparedOp AnyIndexWrap::PrepareRangeSearch(const Napi::CallbackInfo& info) {
  Napi::Float32Array queries = Float32ArrayArg(info[0], "queries");
  int64_t n = RowCount(queries, dimension_, "queries");
  if (!info[1].IsNumber() || !std::isfinite(info[1].As<Napi::Number>().DoubleValue())) {
    ThrowType("Expected a finite number for radius but received " + DescribeValue(info[1]));
  }
  float radius = info[1].As<Napi::Number>().FloatValue();
  std::vector<Napi::Value> pins{info.This(), queries};
  SearchOptions options = OptionsArgs(info, 2, pins);
  int threads = ThreadsArg(info, 3);
  const float* data = queries.Data();
  auto slot = slot_;
  auto result = std::make_shared<std::unique_ptr<faiss::RangeSearchResult>>();
  return {"faiss-native:range-search", Access::Shared, std::move(pins),
          [slot, n, data, radius, options, threads, result] {
            ThreadScope scope(threads, n);
            *result = slot->Live().RangeSearch(n, data, radius, options);
          },
          [result, n](Napi::Env env) { return RangeSearchToJs(env, **result, n); }};
}

PreparedOp AnyIndexWrap::PrepareReset(const Napi::CallbackInfo& info) {
  auto slot = slot_;
  return {"faiss-native:reset", Access::Exclusive, {info.This()}, [slot] { slot->Live().Reset(); },
          SettleMutation()};
}

// setSearchDefaults(options): the same Float64Array slots as a search, stored
// in the index; exclusive, so searches already issued finish with the old values.
PreparedOp AnyIndexWrap::PrepareSetSearchDefaults(const Napi::CallbackInfo& info) {
  std::vector<Napi::Value> pins{info.This()};
  if (!info[0].IsTypedArray()) ThrowType("Expected a Float64Array of search options but received " + DescribeValue(info[0]));
  SearchOptions options = OptionsArgs(info, 0, pins);
  auto slot = slot_;
  return {"faiss-native:set-search-defaults", Access::Exclusive, std::move(pins),
          [slot, options] { slot->Live().SetSearchDefaults(options); }, SettleMutation()};
}

// read(path, mmap, precomputeTable, grammar)
PreparedOp AnyIndexWrap::PrepareRead(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  bool mmap = BooleanArg(info, 1, false);
  bool precompute_table = BooleanArg(info, 2, true);
  IndexGrammar grammar = GrammarArg(info, 3);
  auto holder = std::make_shared<std::unique_ptr<AnyIndexCore>>();
  return {"faiss-native:read", Access::Exclusive, {},
          [holder, path, mmap, grammar, precompute_table] {
            *holder = AnyIndexCore::ReadFile(path, mmap, grammar, precompute_table);
          },
          [holder](Napi::Env env) { return Wrap(env, std::move(*holder)); }};
}

// mergeOnDisk(shardPaths, dataPath, indexPath)
PreparedOp AnyIndexWrap::PrepareMergeOnDisk(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) {
    ThrowType("Expected an array of paths for shardPaths but received " + DescribeValue(info[0]));
  }
  auto list = info[0].As<Napi::Array>();
  std::vector<std::string> shard_paths;
  for (uint32_t i = 0; i < list.Length(); i++) shard_paths.push_back(StringArg(list.Get(i), "shardPaths[]"));
  std::string data_path = StringArg(info[1], "dataPath");
  std::string index_path = StringArg(info[2], "indexPath");
  auto holder = std::make_shared<std::unique_ptr<AnyIndexCore>>();
  return {"faiss-native:merge-on-disk", Access::Exclusive, {},
          [holder, shard_paths, data_path, index_path] {
            ThreadScope scope(0, 1 << 20);
            *holder = AnyIndexCore::MergeOnDisk(shard_paths, data_path);
            (*holder)->WriteFile(index_path, true);
          },
          [holder](Napi::Env env) { return Wrap(env, std::move(*holder)); }};
}

Napi::Value AnyIndexWrap::MergeOnDiskSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareMergeOnDisk(info), false, nullptr); });
}

Napi::Value AnyIndexWrap::MergeOnDisk(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareMergeOnDisk(info), true, nullptr); });
}

Napi::Value AnyIndexWrap::ReadSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareRead(info), false, nullptr); });
}

Napi::Value AnyIndexWrap::Read(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return RunOperation(info.Env(), PrepareRead(info), true, nullptr); });
}

Napi::Value AnyIndexWrap::FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    ByteView bytes = BytesArg(info[0], "buffer");
    return Wrap(env, AnyIndexCore::ReadBuffer(bytes.data, bytes.size, GrammarArg(info, 1)));
  });
}

Napi::Value AnyIndexWrap::GetNtotal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveCore(info.Env()).ntotal()));
}
Napi::Value AnyIndexWrap::GetDimension(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dimension_));
}
Napi::Value AnyIndexWrap::GetMetric(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), MetricName(LiveCore(info.Env()).metric()));
}
Napi::Value AnyIndexWrap::GetIsTrained(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveCore(info.Env()).is_trained());
}
Napi::Value AnyIndexWrap::GetDescription(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), LiveCore(info.Env()).description());
}
Napi::Value AnyIndexWrap::GetIndexType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), LiveCore(info.Env()).index_type());
}
Napi::Value AnyIndexWrap::GetSearchParameters(const Napi::CallbackInfo& info) {
  const auto& names = LiveCore(info.Env()).search_options();
  auto out = Napi::Array::New(info.Env(), names.size());
  for (uint32_t i = 0; i < names.size(); i++) out.Set(i, Napi::String::New(info.Env(), names[i]));
  return out;
}
Napi::Value AnyIndexWrap::GetReadOnly(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveCore(info.Env()).read_only());
}
// The stored values in the slots of the search options; -1 where the index has no such setting.
Napi::Value AnyIndexWrap::GetSearchDefaults(const Napi::CallbackInfo& info) {
  SearchOptions stored = LiveCore(info.Env()).search_defaults();
  auto out = Napi::Float64Array::New(info.Env(), kOptionSlots);
  out[kNprobe] = static_cast<double>(stored.nprobe);
  out[kEfSearch] = static_cast<double>(stored.ef_search);
  out[kQuantizerEfSearch] = static_cast<double>(stored.quantizer_ef_search);
  out[kMaxCodes] = static_cast<double>(stored.max_codes);
  out[kQb] = static_cast<double>(stored.qb);
  out[kKFactor] = stored.k_factor > 0 ? static_cast<double>(stored.k_factor) : -1;
  return out;
}

// The IVF's layout, or undefined for other index types.
Napi::Value AnyIndexWrap::GetIvf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const AnyIndexCore& core = LiveCore(env);
  if (core.nlist() == 0) return env.Undefined();
  auto out = Napi::Object::New(env);
  out.Set("nlist", Napi::Number::New(env, static_cast<double>(core.nlist())));
  out.Set("m", Napi::Number::New(env, static_cast<double>(core.pq_m())));
  out.Set("nbits", Napi::Number::New(env, static_cast<double>(core.pq_nbits())));
  out.Set("fastScan", Napi::Boolean::New(env, core.fast_scan()));
  out.Set("refine", Napi::String::New(env, RefineKindName(core.refine_kind())));
  out.Set("directMap", Napi::Boolean::New(env, core.direct_map()));
  return out;
}

}  // namespace faiss_native
