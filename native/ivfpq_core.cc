#include "ivfpq_core.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <typeinfo>
#include <vector>

#include "errors.h"
#include "index_files.h"
#include "ivf_search.h"
#include "vectors.h"

namespace faiss_native {


IvfpqCore::IvfpqCore(const IvfpqConfig& config) : metric_(config.metric) {
  // The quantizer compares raw (or, for cosine, normalised) vectors with the
  // same metric as the codes.
  faiss::MetricType faiss_metric = FaissMetric(config.metric);
  faiss::Index* quantizer = faiss_metric == faiss::METRIC_L2
                                ? static_cast<faiss::Index*>(new faiss::IndexFlatL2(config.dimension))
                                : new faiss::IndexFlatIP(config.dimension);
  std::unique_ptr<faiss::IndexIVF> ivf;
  if (config.fast_scan) {
    ivf = std::make_unique<faiss::IndexIVFPQFastScan>(quantizer, config.dimension, config.nlist, config.m,
                                                       config.nbits, faiss_metric);
  } else {
    ivf = std::make_unique<faiss::IndexIVFPQ>(quantizer, config.dimension, config.nlist, config.m,
                                              config.nbits, faiss_metric);
  }
  ivf->own_fields = true;
  ivf_ = ivf.get();
  pq_ = PqOf(ivf_);
  fast_scan_ = config.fast_scan;
  std::unique_ptr<faiss::Index> inner = std::move(ivf);
  faiss::IndexRefine* refine = nullptr;
  if (config.refine != RefineKind::None) {
    faiss::Index* exact = config.refine == RefineKind::Flat
                              ? static_cast<faiss::Index*>(new faiss::IndexFlat(config.dimension, faiss_metric))
                              : new faiss::IndexScalarQuantizer(config.dimension,
                                                                faiss::ScalarQuantizer::QT_8bit, faiss_metric);
    refine = new faiss::IndexRefine(inner.release(), exact);
    refine->own_fields = true;
    refine->own_refine_index = true;
    refine->k_factor = config.k_factor;
    inner.reset(refine);
  }
  if (config.metric == Metric::Cosine) {
    auto wrapper = std::make_unique<faiss::IndexPreTransform>(
        new faiss::NormalizationTransform(config.dimension, 2.0), inner.release());
    wrapper->own_fields = true;
    inner = std::move(wrapper);
  }
  if (refine != nullptr) {
    auto map = std::make_unique<faiss::IndexIDMap2>(inner.release());
    map->own_fields = true;
    refine_ = std::make_unique<RefineStage>(map.get(), refine);
    inner = std::move(map);
  }
  root_ = std::move(inner);
  CollectWrappers();
  RefreshCounters();
}

IvfpqCore::IvfpqCore(std::unique_ptr<faiss::Index> root, faiss::IndexIVF* ivf, Metric metric,
                     std::unique_ptr<RefineStage> refine)
    : root_(std::move(root)),
      ivf_(ivf),
      pq_(PqOf(ivf)),
      fast_scan_(dynamic_cast<faiss::IndexIVFPQFastScan*>(ivf) != nullptr),
      refine_(std::move(refine)),
      metric_(metric) {
  CollectWrappers();
  nprobe_.store(ivf_->nprobe);
  RefreshCounters();
}

faiss::ProductQuantizer* IvfpqCore::PqOf(faiss::IndexIVF* ivf) {
  if (auto* pq = dynamic_cast<faiss::IndexIVFPQ*>(ivf)) return &pq->pq;
  if (auto* fast = dynamic_cast<faiss::IndexIVFPQFastScan*>(ivf)) return &fast->pq;
  return nullptr;
}

size_t IvfpqCore::PrecomputedTableFloats() const {
  if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf_)) return pq->precomputed_table.size();
  return static_cast<const faiss::IndexIVFPQFastScan*>(ivf_)->precomputed_table.size();
}

void IvfpqCore::CollectWrappers() {
  for (faiss::Index* node = root_.get(); node != ivf_;) {
    wrappers_.push_back(node);
    if (auto* map = dynamic_cast<faiss::IndexIDMap2*>(node)) {
      node = map->index;
    } else if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(node)) {
      node = pre->index;
    } else {
      node = static_cast<faiss::IndexRefine*>(node)->base_index;
    }
  }
}

std::unique_ptr<IvfpqCore> IvfpqCore::ReadFile(const std::string& path, bool mmap, bool precompute_table) {
  ReadIndexResult read =
      ReadIndexFile(path, mmap, IndexGrammar::IvfPq, precompute_table ? 0 : faiss::IO_FLAG_SKIP_PRECOMPUTE_TABLE);
  auto core = Adopt(std::move(read.index), "'" + path + "'");
  core->read_only_ = mmap || dynamic_cast<faiss::OnDiskInvertedLists*>(core->ivf_->invlists) != nullptr;
  return core;
}

std::unique_ptr<IvfpqCore> IvfpqCore::ReadBuffer(const uint8_t* data, size_t size) {
  auto core = Adopt(ReadIndexBuffer(data, size, IndexGrammar::IvfPq).index, "buffer");
  core->read_only_ = dynamic_cast<faiss::OnDiskInvertedLists*>(core->ivf_->invlists) != nullptr;
  return core;
}

std::unique_ptr<IvfpqCore> IvfpqCore::Adopt(std::unique_ptr<faiss::Index> root,
                                            const std::string& source) {
  auto unsupported = [&](const std::string& what) {
    ThrowFaiss("unsupported index in " + source + ": " + what, codes::kBadFile);
  };
  faiss::Index* node = root.get();
  auto* id_map = dynamic_cast<faiss::IndexIDMap2*>(node);
  if (id_map != nullptr) node = id_map->index;
  Metric metric = Metric::L2;
  bool cosine = false;
  if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(node)) {
    auto* norm = pre->chain.size() == 1
                     ? dynamic_cast<faiss::NormalizationTransform*>(pre->chain[0])
                     : nullptr;
    if (norm == nullptr || norm->norm != 2.0f || pre->index == nullptr ||
        pre->index->metric_type != faiss::METRIC_INNER_PRODUCT) {
      unsupported("a pre-transformed index must be L2 normalisation in front of an inner-product IVF-PQ");
    }
    node = pre->index;
    cosine = true;
  }
  auto* refine = dynamic_cast<faiss::IndexRefine*>(node);
  if (refine != nullptr) node = refine->base_index;
  if ((id_map != nullptr) != (refine != nullptr)) {
    unsupported("an id map is only supported around a refined IVF-PQ");
  }
  if (node == nullptr ||
      (typeid(*node) != typeid(faiss::IndexIVFPQ) && typeid(*node) != typeid(faiss::IndexIVFPQFastScan))) {
    unsupported(std::string("expected IndexIVFPQ or IndexIVFPQFastScan, found ") +
                (node ? typeid(*node).name() : "nothing"));
  }
  if (node->metric_type != faiss::METRIC_L2 && node->metric_type != faiss::METRIC_INNER_PRODUCT) {
    unsupported("metric must be L2 or inner product");
  }
  metric = cosine ? Metric::Cosine
                  : node->metric_type == faiss::METRIC_INNER_PRODUCT ? Metric::InnerProduct : Metric::L2;
  auto* ivf = static_cast<faiss::IndexIVF*>(node);
  std::unique_ptr<RefineStage> stage;
  if (refine != nullptr) {
    RefineStage::KindOf(refine->refine_index, ivf->metric_type, source);
    if (!ivf->direct_map.no()) unsupported("a refined index keeps no direct map");
    stage = std::make_unique<RefineStage>(id_map, refine);
    stage->CheckRows(*ivf, source);
  }
  CheckDirectMap(*ivf, source);
  ivf->nprobe = std::min(ivf->nprobe, ivf->nlist);
  auto core = std::unique_ptr<IvfpqCore>(new IvfpqCore(std::move(root), ivf, metric, std::move(stage)));
  core->has_direct_map_.store(!ivf->direct_map.no());
  return core;
}

void IvfpqCore::CheckDirectMap(const faiss::IndexIVF& ivf, const std::string& source) {
  // Every entry must point at a real slot holding that id, or reconstruct()
  // and removeIds() would read outside the lists.
  auto check = [&](idx_t id, idx_t location) {
    uint64_t list = faiss::lo_listno(location);
    uint64_t offset = faiss::lo_offset(location);
    if (list >= ivf.nlist || offset >= ivf.invlists->list_size(list) ||
        ivf.invlists->get_single_id(list, offset) != id) {
      ThrowFaiss("invalid index " + source + ": the direct map entry for id " + std::to_string(id) +
                     " does not match the inverted lists",
                 codes::kBadFile);
    }
  };
  const faiss::DirectMap& map = ivf.direct_map;
  if (map.type == faiss::DirectMap::Array) {
    for (size_t id = 0; id < map.array.size(); id++) check(static_cast<idx_t>(id), map.array[id]);
  } else if (map.type == faiss::DirectMap::Hashtable) {
    // Duplicate ids in the file collapse in the table: it would miss entries.
    if (static_cast<idx_t>(map.hashtable.size()) != ivf.ntotal) {
      ThrowFaiss("invalid index " + source + ": the direct map has duplicate ids", codes::kBadFile);
    }
    for (const auto& [id, location] : map.hashtable) check(id, location);
  }
}

void IvfpqCore::CheckWritable(const char* operation) const {
  if (read_only_) {
    ThrowFaiss(std::string("cannot ") + operation +
                   ": the index's inverted lists are memory-mapped or on disk (read-only)",
               codes::kReadOnly);
  }
}

void IvfpqCore::RefreshCounters() {
  SyncWrapperCounts();
  ntotal_.store(ivf_->ntotal);
  is_trained_.store(root_->is_trained);
  memory_bytes_.store(ComputeMemoryBytes());
  // Training is the only change to the centroids, and it happens once.
  if (!coarse_) coarse_ = CoarseQuantizer::For(*ivf_);
}

void IvfpqCore::SyncWrapperCounts() {
  // With refinement, wrappers count rows (removed ones included), as Faiss's
  // IndexRefine and IndexIDMap2 do; otherwise the IVF-PQ's vectors.
  idx_t count = refine_ ? refine_->rows() : ivf_->ntotal;
  for (faiss::Index* wrapper : wrappers_) wrapper->ntotal = count;
}

void IvfpqCore::Train(idx_t n, const float* x) {
  CheckWritable("train");
  if (is_trained()) {
    ThrowFaiss("index is already trained", codes::kAlreadyTrained);
  }
  idx_t minimum = std::max<idx_t>(ivf_->nlist, idx_t(1) << pq_->nbits);
  if (n < minimum) {
    ThrowRange("Expected at least " + std::to_string(minimum) +
               " vectors (the larger of nlist and 2^nbits) for vectors but received " +
               std::to_string(n));
  }
  CheckFinite(n, ivf_->d, x, "vectors");
  root_->train(n, x);
  RefreshCounters();
}

void IvfpqCore::Add(idx_t n, const float* x, const idx_t* ids) {
  CheckWritable("add vectors");
  if (!is_trained()) {
    ThrowFaiss("index is not trained: call train() before adding vectors", codes::kNotTrained);
  }
  CheckFinite(n, ivf_->d, x, "vectors");
  if (ids != nullptr) {
    for (idx_t i = 0; i < n; i++) {
      if (ids[i] < 0) {
        ThrowRange("Expected non-negative ids for ids but ids[" + std::to_string(i) + "] is " +
                   std::to_string(ids[i]));
      }
    }
  }
  if (refine_) {
    std::vector<idx_t> sequential;
    if (ids == nullptr) {
      sequential.resize(n);
      for (idx_t i = 0; i < n; i++) sequential[i] = ivf_->ntotal + i;
      ids = sequential.data();
    }
    std::vector<float> normalized;
    if (metric_ == Metric::Cosine) {
      normalized = NormalizedCopy(n, ivf_->d, x);
      x = normalized.data();
    }
    // The IVF-PQ stores row numbers; see refine_stage.h.
    std::vector<idx_t> rows(n);
    for (idx_t i = 0; i < n; i++) rows[i] = refine_->rows() + i;
    ivf_->add_with_ids(n, x, rows.data());
    refine_->AppendRows(n, x, ids);
  } else if (ids != nullptr) {
    root_->add_with_ids(n, x, ids);
  } else {
    root_->add(n, x);
  }
  RefreshCounters();
}

const float* IvfpqCore::PrepareQueries(idx_t n, const float* x, size_t nprobe,
                                       std::vector<float>& normalized,
                                       faiss::SearchParametersIVF& params) const {
  if (!is_trained()) {
    ThrowFaiss("index is not trained: call train() before searching", codes::kNotTrained);
  }
  CheckFinite(n, ivf_->d, x, "queries");
  params.nprobe = nprobe > 0 ? nprobe : nprobe_.load();
  if (metric_ != Metric::Cosine) return x;
  normalized = NormalizedCopy(n, ivf_->d, x);
  return normalized.data();
}

void IvfpqCore::Search(idx_t n, const float* x, idx_t k, size_t nprobe, float k_factor,
                       float* distances, idx_t* labels) const {
  std::vector<float> normalized;
  faiss::SearchParametersIVF params;
  x = PrepareQueries(n, x, nprobe, normalized, params);
  if (!refine_) {
    SearchIvf(*ivf_, coarse_.get(), n, x, k, params, distances, labels);
    return;
  }
  float factor = k_factor > 0 ? k_factor : refine_->k_factor();
  idx_t candidates = std::max<idx_t>(k, static_cast<idx_t>(std::ceil(double(k) * factor)));
  std::vector<float> candidate_distances(static_cast<size_t>(n * candidates));
  std::vector<idx_t> candidate_rows(static_cast<size_t>(n * candidates));
  SearchIvf(*ivf_, coarse_.get(), n, x, candidates, params, candidate_distances.data(), candidate_rows.data());
  refine_->Rerank(n, x, candidates, candidate_rows.data(), k, distances, labels);
}

void IvfpqCore::CheckSerializable() const {
  // Lists mapped from an ordinary index file have no data file of their own:
  // Faiss would write an index that names none and holds no codes.
  auto* on_disk = dynamic_cast<const faiss::OnDiskInvertedLists*>(ivf_->invlists);
  if (on_disk != nullptr && on_disk->filename.empty()) {
    ThrowFaiss("cannot save an index opened with { mmap: true }: its lists are mapped from the file it was "
               "read from; copy that file instead",
               codes::kReadOnly);
  }
}

void IvfpqCore::WriteFile(const std::string& path, bool durable) {
  CheckSerializable();
  ivf_->nprobe = nprobe_.load();
  WriteIndexFile(*root_, path, durable);
}

std::vector<uint8_t> IvfpqCore::WriteBuffer() {
  CheckSerializable();
  ivf_->nprobe = nprobe_.load();
  return SerializeIndex(*root_);
}

size_t IvfpqCore::RemoveIds(idx_t n, const idx_t* ids) {
  CheckWritable("remove ids");
  size_t removed;
  if (refine_) {
    std::vector<idx_t> rows = refine_->TakeRows(n, ids);
    removed = ivf_->remove_ids(faiss::IDSelectorBatch(rows.size(), rows.data()));
  } else if (has_direct_map()) {
    // Faiss's hashtable direct map only accepts an explicit id array.
    removed = ivf_->remove_ids(faiss::IDSelectorArray(n, ids));
  } else {
    removed = ivf_->remove_ids(faiss::IDSelectorBatch(n, ids));
  }
  RefreshCounters();
  return removed;
}

void IvfpqCore::SetDirectMap(bool enabled) {
  CheckWritable("change the direct map");
  if (refine_) ThrowFaiss("a refined index needs no direct map: reconstruct() reads the refine copy", codes::kIncompatible);
  // A hashtable, not an array: it accepts arbitrary 64-bit ids and removals.
  ivf_->set_direct_map_type(enabled ? faiss::DirectMap::Hashtable : faiss::DirectMap::NoMap);
  has_direct_map_.store(enabled);
  RefreshCounters();
}

void IvfpqCore::Reconstruct(idx_t id, float* out) const {
  if (refine_) {
    refine_->Reconstruct(id, out);
    return;
  }
  if (!has_direct_map()) {
    ThrowFaiss("reconstruct needs a direct map: create the index with { directMap: true }",
               codes::kNoDirectMap);
  }
  try {
    ivf_->reconstruct(id, out);
  } catch (const faiss::FaissException&) {
    ThrowRange("Expected an id present in the index for id but received " + std::to_string(id));
  }
}

std::unique_ptr<faiss::RangeSearchResult> IvfpqCore::RangeSearch(idx_t n, const float* x,
                                                                 float radius,
                                                                 size_t nprobe) const {
  std::vector<float> normalized;
  faiss::SearchParametersIVF params;
  x = PrepareQueries(n, x, nprobe, normalized, params);
  auto result = std::make_unique<faiss::RangeSearchResult>(n);
  RangeSearchIvf(*ivf_, coarse_.get(), n, x, radius, params, result.get());
  if (refine_) refine_->RowsToIds(result->lims[n], result->labels);
  return result;
}

void IvfpqCore::MergeFrom(IvfpqCore& other) {
  CheckWritable("merge into this index");
  other.CheckWritable("merge from the other index");
  if (&other == this) ThrowFaiss("cannot merge an index into itself", codes::kIncompatible);
  if (refine_ || other.refine_) ThrowFaiss("cannot merge refined indexes", codes::kIncompatible);
  if (metric_ != other.metric_ || ivf_->d != other.ivf_->d || ivf_->nlist != other.ivf_->nlist ||
      pq_->M != other.pq_->M || pq_->nbits != other.pq_->nbits || fast_scan_ != other.fast_scan_) {
    ThrowFaiss("cannot merge: the indexes differ in metric, dimension, nlist, m, nbits or fastScan",
               codes::kIncompatible);
  }
  if (!is_trained() || !other.is_trained()) {
    ThrowFaiss("cannot merge: both indexes must be trained", codes::kNotTrained);
  }
  // Codes are only meaningful against the codebooks that made them.
  if (pq_->centroids != other.pq_->centroids) {
    ThrowFaiss("cannot merge: the indexes were trained separately (different PQ codebooks)",
               codes::kIncompatible);
  }
  std::vector<float> mine(ivf_->d), theirs(ivf_->d);
  for (size_t list = 0; list < ivf_->nlist; list++) {
    ivf_->quantizer->reconstruct(list, mine.data());
    other.ivf_->quantizer->reconstruct(list, theirs.data());
    if (mine != theirs) {
      ThrowFaiss("cannot merge: the indexes were trained separately (different coarse centroids)",
                 codes::kIncompatible);
    }
  }
  if (has_direct_map() || other.has_direct_map()) {
    ThrowFaiss("cannot merge indexes that keep a direct map", codes::kIncompatible);
  }
  ivf_->merge_from(*other.ivf_, 0);
  RefreshCounters();
  other.RefreshCounters();
}

std::unique_ptr<IvfpqCore> IvfpqCore::MergeOnDisk(const std::vector<std::string>& shard_paths,
                                                 const std::string& data_path) {
  if (shard_paths.empty()) ThrowRange("Expected at least one shard path for shardPaths");
  std::vector<std::unique_ptr<IvfpqCore>> shards;
  std::vector<const faiss::InvertedLists*> lists;
  for (const std::string& path : shard_paths) {
    // Merging copies codes only: no shard needs the search table.
    auto shard = ReadFile(path, /*mmap=*/true, /*precompute_table=*/false);
    if (shard->refine_) ThrowFaiss("cannot merge refined shard '" + path + "' on disk", codes::kIncompatible);
    // Faiss keeps on-disk lists in the plain layout; FastScan codes live in blocks of 32.
    if (shard->fast_scan_) ThrowFaiss("cannot merge FastScan shard '" + path + "' on disk", codes::kIncompatible);
    const IvfpqCore& first = shards.empty() ? *shard : *shards.front();
    if (!shard->is_trained() || shard->metric_ != first.metric_ || shard->ivf_->d != first.ivf_->d ||
        shard->ivf_->nlist != first.ivf_->nlist || shard->ivf_->code_size != first.ivf_->code_size ||
        shard->pq_->centroids != first.pq_->centroids) {
      ThrowFaiss("cannot merge shard '" + path + "': it was not built from the same trained index as '" +
                     shard_paths.front() + "'",
                 codes::kIncompatible);
    }
    lists.push_back(shard->ivf_->invlists);
    shards.push_back(std::move(shard));
  }
  IvfpqCore& merged = *shards.front();
  auto on_disk = std::make_unique<faiss::OnDiskInvertedLists>(merged.ivf_->nlist,
                                                             merged.ivf_->code_size, data_path.c_str());
  size_t ntotal = on_disk->merge_from_multiple(lists.data(), static_cast<int>(lists.size()));
  merged.ivf_->replace_invlists(on_disk.release(), /*own=*/true);
  StopListPrefetchThreads(merged.ivf_);
  merged.ivf_->ntotal = static_cast<idx_t>(ntotal);
  merged.read_only_ = true;
  // Only the merged index, which will be searched, gets the table.
  auto* merged_ivfpq = static_cast<faiss::IndexIVFPQ*>(merged.ivf_);
  merged_ivfpq->use_precomputed_table = 0;
  merged_ivfpq->precompute_table();
  merged.RefreshCounters();
  return std::move(shards.front());
}

int64_t IvfpqCore::ComputeMemoryBytes() const {
  const faiss::InvertedLists* lists = ivf_->invlists;
  int64_t bytes = 0;
  // Mapped or on-disk lists live in the page cache, not in this process's heap.
  if (lists != nullptr && dynamic_cast<const faiss::OnDiskInvertedLists*>(lists) == nullptr) {
    int64_t entry = static_cast<int64_t>(lists->code_size + sizeof(idx_t));
    for (size_t list = 0; list < lists->nlist; list++) {
      bytes += static_cast<int64_t>(lists->list_size(list)) * entry;
    }
  }
  bytes += ivf_->quantizer != nullptr ? ivf_->quantizer->ntotal * ivf_->d * int64_t(sizeof(float)) : 0;
  bytes += static_cast<int64_t>(pq_->centroids.size() * sizeof(float));
  bytes += static_cast<int64_t>(PrecomputedTableFloats() * sizeof(float));
  if (refine_) bytes += refine_->MemoryBytes();
  return bytes;
}

}  // namespace faiss_native
