#include "any_index_core.h"

#include <cxxabi.h>
#include <faiss/IVFlib.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/VectorTransform.h>
#include <faiss/factory_tools.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/invlists/OnDiskInvertedLists.h>

#include <algorithm>
#include <cstdlib>
#include <typeinfo>

#include "errors.h"
#include "index_files.h"
#include "vectors.h"

namespace faiss_native {

namespace {

std::string ClassName(const faiss::Index& index) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(typeid(index).name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : typeid(index).name();
  std::free(demangled);
  if (name.rfind("faiss::", 0) == 0) name = name.substr(7);
  // IndexIDMap2Template<faiss::Index> and the like read better by their aliases.
  if (name == "IndexIDMapTemplate<faiss::Index>") return "IndexIDMap";
  if (name == "IndexIDMap2Template<faiss::Index>") return "IndexIDMap2";
  // The factory makes an IndexFlat, the reader an IndexFlatL2 or IndexFlatIP:
  // one type, its metric told apart by the metric property.
  if (name == "IndexFlatL2" || name == "IndexFlatIP") return "IndexFlat";
  return name;
}

// The index beneath id maps, pre-transforms and re-ranking.
const faiss::Index* Core(const faiss::Index* index) {
  while (index != nullptr) {
    if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) {
      index = id_map->index;
    } else if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
      index = pre->index;
    } else if (auto* refine = dynamic_cast<const faiss::IndexRefine*>(index)) {
      index = refine->base_index;
    } else {
      return index;
    }
  }
  return nullptr;
}

// Whether add_with_ids works without an id map around the index.
bool TakesIds(const faiss::Index* index) {
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) return TakesIds(pre->index);
  return dynamic_cast<const faiss::IndexIVF*>(index) != nullptr ||
         dynamic_cast<const faiss::IndexIDMap*>(index) != nullptr;
}

bool IsCosine(const faiss::Index* index) {
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) return IsCosine(id_map->index);
  auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index);
  if (pre == nullptr || pre->chain.empty() || pre->index == nullptr) return false;
  auto* norm = dynamic_cast<const faiss::NormalizationTransform*>(pre->chain[0]);
  return norm != nullptr && norm->norm == 2.0f && pre->index->metric_type == faiss::METRIC_INNER_PRODUCT;
}

// The fewest training vectors each quantizer inside needs (k-means needs at
// least as many points as centroids).
idx_t MinimumTrainingVectors(const faiss::Index* index) {
  if (index == nullptr || index->is_trained) return 0;
  idx_t minimum = 1;
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) return MinimumTrainingVectors(id_map->index);
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
    return std::max(minimum, MinimumTrainingVectors(pre->index));
  }
  if (auto* refine = dynamic_cast<const faiss::IndexRefine*>(index)) {
    return std::max(MinimumTrainingVectors(refine->base_index), MinimumTrainingVectors(refine->refine_index));
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    minimum = std::max<idx_t>(minimum, static_cast<idx_t>(ivf->nlist));
    if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(index)) minimum = std::max<idx_t>(minimum, pq->pq.ksub);
    if (auto* fs = dynamic_cast<const faiss::IndexIVFPQFastScan*>(index)) minimum = std::max<idx_t>(minimum, fs->pq.ksub);
  }
  if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(index)) minimum = std::max<idx_t>(minimum, pq->pq.ksub);
  return minimum;
}

int64_t EstimateBytes(const faiss::Index* index) {
  if (index == nullptr) return 0;
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) {
    // IndexIDMap2's reverse map is an unordered_map: about 40 bytes a node.
    bool reverse = dynamic_cast<const faiss::IndexIDMap2*>(index) != nullptr;
    return id_map->ntotal * (reverse ? 48 : 8) + EstimateBytes(id_map->index);
  }
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) return EstimateBytes(pre->index);
  if (auto* refine = dynamic_cast<const faiss::IndexRefine*>(index)) {
    return EstimateBytes(refine->base_index) + EstimateBytes(refine->refine_index);
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    return EstimateBytes(ivf->quantizer) +
           ivf->ntotal * static_cast<int64_t>(ivf->code_size + sizeof(faiss::idx_t));
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
    return EstimateBytes(hnsw->storage) + static_cast<int64_t>(hnsw->hnsw.neighbors.size() * sizeof(int32_t) +
                                                               hnsw->hnsw.offsets.size() * sizeof(size_t));
  }
  if (auto* codes = dynamic_cast<const faiss::IndexFlatCodes*>(index)) return static_cast<int64_t>(codes->codes.size());
  try {
    return index->ntotal * static_cast<int64_t>(index->sa_code_size());
  } catch (const std::exception&) {
    return index->ntotal * index->d * int64_t(sizeof(float));
  }
}

bool NotImplemented(const std::string& message) {
  return message.find("not implemented") != std::string::npos ||
         message.find("not supported") != std::string::npos;
}

}  // namespace

AnyIndexCore::AnyIndexCore(std::unique_ptr<faiss::Index> root, std::string description)
    : root_(std::move(root)), description_(std::move(description)) {
  const faiss::Index* core = Core(root_.get());
  index_type_ = ClassName(core ? *core : *root_);
  search_options_ = ApplicableOptions(*root_);
  metric_ = IsCosine(root_.get())                                ? Metric::Cosine
            : root_->metric_type == faiss::METRIC_INNER_PRODUCT ? Metric::InnerProduct
                                                                  : Metric::L2;
  started_untrained_ = !root_->is_trained;
  Refresh();
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::FromFactory(int64_t dimension, const std::string& description,
                                                        Metric metric) {
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::index_factory(static_cast<int>(dimension), description.c_str(), FaissMetric(metric)));
  } catch (const faiss::FaissException& e) {
    ThrowFaiss("Faiss cannot build '" + description + "': " + e.msg);
  }
  if (metric == Metric::Cosine) {
    // Around the whole index, not as an "L2norm," prefix: the factory would
    // put a Refine(...) outside the prefix, re-ranking unnormalised vectors.
    auto normalised = std::make_unique<faiss::IndexPreTransform>(
        new faiss::NormalizationTransform(static_cast<int>(dimension), 2.0f), index.release());
    normalised->own_fields = true;
    index = std::move(normalised);
  }
  if (!TakesIds(index.get())) {
    auto id_map = std::make_unique<faiss::IndexIDMap2>(index.release());
    id_map->own_fields = true;
    index = std::move(id_map);
  }
  return std::unique_ptr<AnyIndexCore>(new AnyIndexCore(std::move(index), description));
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::Adopt(std::unique_ptr<faiss::Index> root, const std::string& source) {
  if (root->metric_type != faiss::METRIC_L2 && root->metric_type != faiss::METRIC_INNER_PRODUCT) {
    ThrowFaiss("unsupported index in " + source + ": metric must be L2 or inner product", codes::kBadFile);
  }
  std::string description;
  try {
    description = faiss::reverse_index_factory(root.get());
  } catch (const std::exception&) {
    // Types the reverse factory does not know keep their class name.
  }
  // A stored nprobe above nlist is clamped as IndexIVF::search would; FastScan
  // would otherwise pass it on to its quantizer as k.
  if (auto* ivf = faiss::ivflib::try_extract_index_ivf(root.get())) ivf->nprobe = std::min(ivf->nprobe, ivf->nlist);
  auto core = std::unique_ptr<AnyIndexCore>(new AnyIndexCore(std::move(root), ""));
  core->description_ = description.empty() ? core->index_type_ : description;
  return core;
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::ReadFile(const std::string& path, bool mmap) {
  ReadIndexResult read = ReadIndexFile(path, mmap, IndexGrammar::Any);
  auto core = Adopt(std::move(read.index), "'" + path + "'");
  auto* ivf = dynamic_cast<const faiss::IndexIVF*>(Core(core->root_.get()));
  core->mapped_ = mmap;
  core->read_only_ = mmap || (ivf && dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists) != nullptr);
  return core;
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::ReadBuffer(const uint8_t* data, size_t size) {
  auto core = Adopt(ReadIndexBuffer(data, size, IndexGrammar::Any).index, "buffer");
  auto* ivf = dynamic_cast<const faiss::IndexIVF*>(Core(core->root_.get()));
  core->read_only_ = ivf && dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists) != nullptr;
  return core;
}

template <typename Body>
auto AnyIndexCore::Supported(const char* operation, Body&& body) const -> decltype(body()) {
  try {
    return body();
  } catch (const faiss::FaissException& e) {
    if (NotImplemented(e.msg)) {
      ThrowFaiss(index_type_ + " does not support " + operation + " (Faiss: " + e.msg + ")", codes::kUnsupported);
    }
    throw;
  }
}

void AnyIndexCore::CheckWritable(const char* operation) const {
  if (read_only_) {
    ThrowFaiss(std::string("cannot ") + operation + ": the index is memory-mapped or on disk, and read-only",
               codes::kReadOnly);
  }
}

void AnyIndexCore::Refresh() {
  ntotal_.store(root_->ntotal);
  is_trained_.store(root_->is_trained);
  memory_bytes_.store(EstimateBytes(root_.get()));
  std::lock_guard<std::mutex> lock(defaults_mutex_);
  search_defaults_ = StoredSearchDefaults(*root_);
}

void AnyIndexCore::Train(idx_t n, const float* x) {
  CheckWritable("train");
  if (started_untrained_ && root_->is_trained) {
    ThrowFaiss("index is already trained", codes::kAlreadyTrained);
  }
  idx_t minimum = MinimumTrainingVectors(root_.get());
  if (n < minimum) {
    ThrowRange("Expected at least " + std::to_string(minimum) + " vectors to train " + index_type_ +
               " for vectors but received " + std::to_string(n));
  }
  CheckFinite(n, root_->d, x, "vectors");
  root_->train(n, x);
  Refresh();
}

void AnyIndexCore::Add(idx_t n, const float* x, const idx_t* ids) {
  CheckWritable("add");
  if (!root_->is_trained) {
    ThrowFaiss("index is not trained: call train() before adding vectors", codes::kNotTrained);
  }
  CheckFinite(n, root_->d, x, "vectors");
  bool id_mapped = dynamic_cast<faiss::IndexIDMap*>(root_.get()) != nullptr;
  if (ids == nullptr && id_mapped) {
    std::vector<idx_t> numbers(static_cast<size_t>(n));
    for (idx_t i = 0; i < n; i++) numbers[i] = root_->ntotal + i;
    root_->add_with_ids(n, x, numbers.data());
  } else if (ids == nullptr) {
    root_->add(n, x);
  } else {
    Supported("ids", [&] { root_->add_with_ids(n, x, ids); });
  }
  Refresh();
}

void AnyIndexCore::CheckFiltered(size_t count, const idx_t* labels, const faiss::IDSelector* filter) const {
  if (filter == nullptr) return;
  for (size_t i = 0; i < count; i++) {
    if (labels[i] >= 0 && !filter->is_member(labels[i])) {
      ThrowFaiss(index_type_ + " does not apply filters in this search (Faiss returned id " +
                     std::to_string(labels[i]) + ", which the filter excludes)",
                 codes::kUnsupported);
    }
  }
}

void AnyIndexCore::Search(idx_t n, const float* x, idx_t k, const SearchOptions& options, float* distances,
                          idx_t* labels) const {
  if (!root_->is_trained) {
    ThrowFaiss("index is not trained: call train() before searching", codes::kNotTrained);
  }
  CheckFinite(n, root_->d, x, "queries");
  SearchParametersTree params(*root_, options);
  Supported("filter", [&] { root_->search(n, x, k, distances, labels, params.root()); });
  CheckFiltered(static_cast<size_t>(n * k), labels, params.filter());
}

std::unique_ptr<faiss::RangeSearchResult> AnyIndexCore::RangeSearch(idx_t n, const float* x, float radius,
                                                                     const SearchOptions& options) const {
  if (!root_->is_trained) {
    ThrowFaiss("index is not trained: call train() before searching", codes::kNotTrained);
  }
  CheckFinite(n, root_->d, x, "queries");
  auto result = std::make_unique<faiss::RangeSearchResult>(n);
  // IndexIDMap::range_search would translate a selector a second time and
  // hand the layer below plain parameters (losing nprobe, efSearch...), so an
  // outer id map is applied here instead.
  auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(root_.get());
  const faiss::Index* target = id_map ? id_map->index : root_.get();
  SearchParametersTree params(*root_, options);
  Supported("rangeSearch", [&] { target->range_search(n, x, radius, result.get(), params.root()); });
  size_t total = result->lims[n];
  if (id_map != nullptr) {
    const auto& map = id_map->id_map;
    for (size_t i = 0; i < total; i++) {
      idx_t row = result->labels[i];
      result->labels[i] = row >= 0 && row < static_cast<idx_t>(map.size()) ? map[row] : -1;
    }
  }
  CheckFiltered(total, result->labels, params.filter());
  return result;
}

size_t AnyIndexCore::RemoveIds(idx_t n, const idx_t* ids) {
  CheckWritable("remove ids");
  faiss::IDSelectorBatch selector(static_cast<size_t>(n), ids);
  size_t removed = Supported("removeIds", [&] { return root_->remove_ids(selector); });
  Refresh();
  return removed;
}

void AnyIndexCore::Reconstruct(idx_t id, float* out) const {
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(Core(root_.get()));
      ivf && ivf->direct_map.no() && dynamic_cast<const faiss::IndexIDMap2*>(root_.get()) == nullptr) {
    ThrowFaiss("reconstruct needs a direct map: create the index with { directMap: true }", codes::kNoDirectMap);
  }
  if (auto* id_map2 = dynamic_cast<const faiss::IndexIDMap2*>(root_.get())) {
    if (id_map2->rev_map.count(id) == 0) ThrowRange("Expected an id in the index for id but received " + std::to_string(id));
  } else if (dynamic_cast<const faiss::IndexIDMap*>(root_.get()) == nullptr &&
             dynamic_cast<const faiss::IndexIVF*>(Core(root_.get())) == nullptr && (id < 0 || id >= root_->ntotal)) {
    ThrowRange("Expected an id in the index for id but received " + std::to_string(id));
  }
  Supported("reconstruct", [&] { root_->reconstruct(id, out); });
}

void AnyIndexCore::MergeFrom(AnyIndexCore& other) {
  CheckWritable("merge");
  if (other.root_->d != root_->d || other.metric_ != metric_ || other.index_type_ != index_type_) {
    ThrowFaiss("cannot merge " + other.index_type_ + " into " + index_type_ +
                   ": both indexes must have the same type, dimension and metric",
               codes::kIncompatible);
  }
  Supported("mergeFrom", [&] { root_->merge_from(*other.root_, 0); });
  Refresh();
  other.Refresh();
}

void AnyIndexCore::Reset() {
  CheckWritable("reset");
  Supported("reset", [&] { root_->reset(); });
  Refresh();
}

void AnyIndexCore::SetSearchDefaults(const SearchOptions& options) {
  // Settings only: allowed on a read-only (mapped or on-disk) index too.
  ApplySearchDefaults(*root_, options);
  Refresh();
}

void AnyIndexCore::CheckSerializable() const {
  if (mapped_) {
    ThrowFaiss("cannot save an index opened with { mmap: true }: its data is mapped from the file it was read "
               "from; copy that file instead",
               codes::kReadOnly);
  }
}

void AnyIndexCore::WriteFile(const std::string& path, bool durable) const {
  CheckSerializable();
  WriteIndexFile(*root_, path, durable);
}

std::vector<uint8_t> AnyIndexCore::WriteBuffer() const {
  CheckSerializable();
  return SerializeIndex(*root_);
}

}  // namespace faiss_native
