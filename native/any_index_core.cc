#include "any_index_core.h"

#include <cxxabi.h>
#include <faiss/IVFlib.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexIVFFastScan.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQR.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/VectorTransform.h>
#include <faiss/factory_tools.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <faiss/index_factory.h>
#include <faiss/invlists/OnDiskInvertedLists.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <typeinfo>

#include "errors.h"
#include "index_files.h"
#include "ivf_search.h"
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
  // IVF-PQR looks its refinement codes up by label: labels must stay row numbers.
  if (dynamic_cast<const faiss::IndexIVFPQR*>(index) != nullptr) return false;
  return dynamic_cast<const faiss::IndexIVF*>(index) != nullptr ||
         dynamic_cast<const faiss::IndexIDMap*>(index) != nullptr;
}

// An L2 normalisation in front of an inner-product index, as FromFactory makes for cosine.
bool IsCosine(const faiss::Index* index) {
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) return IsCosine(id_map->index);
  auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index);
  if (pre == nullptr || pre->chain.size() != 1 || pre->index == nullptr) return false;
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

// The product quantizer of an IVF-PQ (plain or FastScan); null for other types.
const faiss::ProductQuantizer* PqOf(const faiss::IndexIVF* ivf) {
  if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf)) return &pq->pq;
  if (auto* fast = dynamic_cast<const faiss::IndexIVFPQFastScan*>(ivf)) return &fast->pq;
  return nullptr;
}

size_t PrecomputedTableFloats(const faiss::IndexIVF* ivf) {
  if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf)) return pq->precomputed_table.size();
  if (auto* fast = dynamic_cast<const faiss::IndexIVFPQFastScan*>(ivf)) return fast->precomputed_table.size();
  return 0;
}

bool OnDisk(const faiss::IndexIVF* ivf) {
  return ivf != nullptr && dynamic_cast<const faiss::OnDiskInvertedLists*>(ivf->invlists) != nullptr;
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
    int64_t bytes = EstimateBytes(ivf->quantizer);
    // Mapped or on-disk lists live in the page cache, not in this process's heap.
    const faiss::InvertedLists* lists = ivf->invlists;
    if (lists != nullptr && !OnDisk(ivf)) {
      // The lists' own code size: FastScan's block lists differ from the index's.
      int64_t entry = static_cast<int64_t>(lists->code_size + sizeof(faiss::idx_t));
      for (size_t list = 0; list < lists->nlist; list++) bytes += static_cast<int64_t>(lists->list_size(list)) * entry;
    }
    if (auto* pq = PqOf(ivf)) bytes += static_cast<int64_t>(pq->centroids.size() * sizeof(float));
    return bytes + static_cast<int64_t>(PrecomputedTableFloats(ivf) * sizeof(float));
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
  nsg_ = dynamic_cast<faiss::IndexNSG*>(const_cast<faiss::Index*>(Core(root_.get())));
  FindIvf();
  Refresh();
}

void AnyIndexCore::FindIvf() {
  ivf_ = dynamic_cast<faiss::IndexIVF*>(const_cast<faiss::Index*>(Core(root_.get())));
  if (ivf_ == nullptr) return;
  std::vector<faiss::Index*> wrappers;
  faiss::Index* node = root_.get();
  auto* id_map = dynamic_cast<faiss::IndexIDMap2*>(node);
  if (id_map != nullptr) {
    wrappers.push_back(node);
    node = id_map->index;
  }
  // IsCosine also looks through an id map; here only a pre-transform itself counts.
  bool normalises = dynamic_cast<faiss::IndexPreTransform*>(node) != nullptr && IsCosine(node);
  if (normalises) {
    wrappers.push_back(node);
    node = static_cast<faiss::IndexPreTransform*>(node)->index;
  }
  auto* refine = dynamic_cast<faiss::IndexRefine*>(node);
  if (refine != nullptr) {
    wrappers.push_back(node);
    node = refine->base_index;
  }
  if (node != ivf_ || (id_map != nullptr) != (refine != nullptr)) return;
  if (refine != nullptr && (RefineStage::KindOf(refine->refine_index, ivf_->metric_type) == RefineKind::None ||
                            !ivf_->direct_map.no())) {
    return;
  }
  ivf_path_ = true;
  normalises_ = normalises;
  wrappers_ = std::move(wrappers);
  if (refine != nullptr) refine_ = std::make_unique<RefineStage>(id_map, refine);
}

int64_t AnyIndexCore::pq_m() const {
  const faiss::ProductQuantizer* pq = PqOf(ivf_);
  return pq ? static_cast<int64_t>(pq->M) : 0;
}

int64_t AnyIndexCore::pq_nbits() const {
  const faiss::ProductQuantizer* pq = PqOf(ivf_);
  return pq ? static_cast<int64_t>(pq->nbits) : 0;
}

bool AnyIndexCore::fast_scan() const { return dynamic_cast<const faiss::IndexIVFFastScan*>(ivf_) != nullptr; }

std::unique_ptr<AnyIndexCore> AnyIndexCore::FromFactory(int64_t dimension, const std::string& description,
                                                        Metric metric, bool direct_map) {
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
  auto core = std::unique_ptr<AnyIndexCore>(new AnyIndexCore(std::move(index), description));
  if (direct_map) {
    if (core->ivf_ == nullptr || core->refine_) {
      ThrowFaiss("a direct map needs an IVF index without refinement, not '" + description + "'", codes::kIncompatible);
    }
    // A hashtable, not an array: it accepts arbitrary 64-bit ids and removals.
    core->Supported("a direct map", [&] { core->ivf_->set_direct_map_type(faiss::DirectMap::Hashtable); });
    core->Refresh();
  }
  return core;
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::Adopt(std::unique_ptr<faiss::Index> root, const std::string& source,
                                                  IndexGrammar grammar) {
  if (root->metric_type != faiss::METRIC_L2 && root->metric_type != faiss::METRIC_INNER_PRODUCT) {
    ThrowFaiss("unsupported index in " + source + ": metric must be L2 or inner product", codes::kBadFile);
  }
  std::string description;
  try {
    description = faiss::reverse_index_factory(root.get());
  } catch (const std::exception&) {
    // Types the reverse factory does not know keep their class name.
  }
  // The reverse factory names an IVF-PQR by its IVF-PQ base ('...,PQ16x8');
  // the factory string that builds one is '...,PQ16+16'.
  if (auto* pqr = dynamic_cast<const faiss::IndexIVFPQR*>(Core(root.get()))) {
    std::string base = "PQ" + std::to_string(pqr->pq.M) + "x8";
    size_t at = description.rfind(base);
    if (at != std::string::npos && at + base.size() == description.size()) {
      description.replace(at, base.size(), "PQ" + std::to_string(pqr->pq.M) + "+" + std::to_string(pqr->refine_pq.M));
    }
  }
  // A stored nprobe above nlist is clamped as IndexIVF::search would; FastScan
  // would otherwise pass it on to its quantizer as k.
  if (auto* ivf = faiss::ivflib::try_extract_index_ivf(root.get())) ivf->nprobe = std::min(ivf->nprobe, ivf->nlist);
  auto core = std::unique_ptr<AnyIndexCore>(new AnyIndexCore(std::move(root), ""));
  core->description_ = description.empty() ? core->index_type_ : description;
  // FastScan lists take the IVF path only once the IVF-PQ grammar has checked
  // their fields: a damaged one crashes search_preassigned where Faiss's own
  // search fails cleanly.
  if (grammar != IndexGrammar::IvfPq && core->fast_scan()) {
    core->ivf_path_ = false;
    core->normalises_ = false;
    core->wrappers_.clear();
    core->refine_.reset();
    core->coarse_.reset();
    core->Refresh();
  }
  core->CheckIvfFile(source, grammar);
  return core;
}

void AnyIndexCore::CheckIvfFile(const std::string& source, IndexGrammar grammar) const {
  if (grammar == IndexGrammar::IvfPq &&
      (!ivf_path_ || (typeid(*ivf_) != typeid(faiss::IndexIVFPQ) && typeid(*ivf_) != typeid(faiss::IndexIVFPQFastScan)))) {
    ThrowFaiss("unsupported index in " + source +
                   ": expected an IndexIVFPQ or IndexIVFPQFastScan, alone, behind an L2 normalisation, or refined",
               codes::kBadFile);
  }
  if (ivf_ == nullptr) return;
  if (refine_) refine_->CheckRows(*ivf_, source);
  // Every direct map entry must point at a real slot holding that id, or
  // reconstruct() and removeIds() would read outside the lists.
  auto check = [&](idx_t id, idx_t location) {
    uint64_t list = faiss::lo_listno(location);
    uint64_t offset = faiss::lo_offset(location);
    if (list >= ivf_->nlist || offset >= ivf_->invlists->list_size(list) ||
        ivf_->invlists->get_single_id(list, offset) != id) {
      ThrowFaiss("invalid index " + source + ": the direct map entry for id " + std::to_string(id) +
                     " does not match the inverted lists",
                 codes::kBadFile);
    }
  };
  const faiss::DirectMap& map = ivf_->direct_map;
  if (map.type == faiss::DirectMap::Array) {
    for (size_t id = 0; id < map.array.size(); id++) check(static_cast<idx_t>(id), map.array[id]);
  } else if (map.type == faiss::DirectMap::Hashtable) {
    // Duplicate ids in the file collapse in the table: it would miss entries.
    if (static_cast<idx_t>(map.hashtable.size()) != ivf_->ntotal) {
      ThrowFaiss("invalid index " + source + ": the direct map has duplicate ids", codes::kBadFile);
    }
    for (const auto& [id, location] : map.hashtable) check(id, location);
  }
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::ReadFile(const std::string& path, bool mmap, IndexGrammar grammar,
                                                     bool precompute_table) {
  ReadIndexResult read =
      ReadIndexFile(path, mmap, grammar, precompute_table ? 0 : faiss::IO_FLAG_SKIP_PRECOMPUTE_TABLE);
  auto core = Adopt(std::move(read.index), "'" + path + "'", grammar);
  core->mapped_ = mmap;
  core->read_only_ = mmap || OnDisk(core->ivf_);
  return core;
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::ReadBuffer(const uint8_t* data, size_t size, IndexGrammar grammar) {
  auto core = Adopt(ReadIndexBuffer(data, size, grammar).index, "buffer", grammar);
  core->read_only_ = OnDisk(core->ivf_);
  return core;
}

std::unique_ptr<AnyIndexCore> AnyIndexCore::MergeOnDisk(const std::vector<std::string>& shard_paths,
                                                        const std::string& data_path) {
  if (shard_paths.empty()) ThrowRange("Expected at least one shard path for shardPaths");
  std::vector<std::unique_ptr<AnyIndexCore>> shards;
  std::vector<const faiss::InvertedLists*> lists;
  for (const std::string& path : shard_paths) {
    // Merging copies codes only: no shard needs the search table.
    auto shard = ReadFile(path, /*mmap=*/true, IndexGrammar::Any, /*precompute_table=*/false);
    const faiss::IndexIVF* ivf = shard->ivf_;
    // Faiss keeps on-disk lists in the plain layout; FastScan codes live in blocks of 32.
    if (shard->fast_scan()) ThrowFaiss("cannot merge FastScan shard '" + path + "' on disk", codes::kIncompatible);
    if (shard->refine_) ThrowFaiss("cannot merge refined shard '" + path + "' on disk", codes::kIncompatible);
    if (!shard->ivf_path_) ThrowFaiss("cannot merge shard '" + path + "' on disk: not an IVF index", codes::kIncompatible);
    const AnyIndexCore& first = shards.empty() ? *shard : *shards.front();
    if (!shard->is_trained() || shard->metric_ != first.metric_ || typeid(*ivf) != typeid(*first.ivf_) ||
        ivf->d != first.ivf_->d || ivf->nlist != first.ivf_->nlist || ivf->code_size != first.ivf_->code_size ||
        !shard->SameTraining(first)) {
      ThrowFaiss("cannot merge shard '" + path + "': it was not built from the same trained index as '" +
                     shard_paths.front() + "'",
                 codes::kIncompatible);
    }
    lists.push_back(ivf->invlists);
    shards.push_back(std::move(shard));
  }
  AnyIndexCore& merged = *shards.front();
  auto on_disk = std::make_unique<faiss::OnDiskInvertedLists>(merged.ivf_->nlist, merged.ivf_->code_size,
                                                             data_path.c_str());
  size_t ntotal = on_disk->merge_from_multiple(lists.data(), static_cast<int>(lists.size()));
  merged.ivf_->replace_invlists(on_disk.release(), /*own=*/true);
  StopListPrefetchThreads(merged.ivf_);
  merged.ivf_->ntotal = static_cast<idx_t>(ntotal);
  merged.read_only_ = true;
  merged.mapped_ = false;  // its lists are now data_path's, not the first shard's
  // Only the merged index, which will be searched, gets the table.
  if (auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(merged.ivf_)) {
    ivfpq->use_precomputed_table = 0;
    ivfpq->precompute_table();
  }
  merged.Refresh();
  return std::move(shards.front());
}

bool AnyIndexCore::SameTraining(const AnyIndexCore& other) const {
  // Codes are only meaningful against the codebooks and centroids that made them.
  const faiss::ProductQuantizer* pq = PqOf(ivf_);
  const faiss::ProductQuantizer* other_pq = PqOf(other.ivf_);
  if ((pq == nullptr) != (other_pq == nullptr) || (pq && pq->centroids != other_pq->centroids)) return false;
  std::vector<float> mine(ivf_->d), theirs(ivf_->d);
  for (size_t list = 0; list < ivf_->nlist; list++) {
    ivf_->quantizer->reconstruct(list, mine.data());
    other.ivf_->quantizer->reconstruct(list, theirs.data());
    if (mine != theirs) return false;
  }
  return true;
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
    ThrowFaiss(std::string("cannot ") + operation + ": the index's " +
                   (ivf_ ? "inverted lists are" : "data is") + " memory-mapped or on disk (read-only)",
               codes::kReadOnly);
  }
}

void AnyIndexCore::Refresh() {
  if (ivf_path_) {
    // Faiss's wrappers keep their own counts, which the file format records:
    // with refinement rows (removed ones included), as IndexRefine and
    // IndexIDMap2 count them; otherwise the IVF's vectors.
    idx_t count = refine_ ? refine_->rows() : ivf_->ntotal;
    for (faiss::Index* wrapper : wrappers_) wrapper->ntotal = count;
    // Training is the only change to the centroids, and it happens once.
    if (!coarse_) coarse_ = CoarseQuantizer::For(*ivf_);
  }
  if (nsg_ != nullptr && nsg_->nsg.is_built) nsg_->nsg.search_L = std::min<int>(nsg_->nsg.search_L, nsg_->nsg.ntotal);
  ntotal_.store(ivf_path_ ? ivf_->ntotal : root_->ntotal);
  is_trained_.store(root_->is_trained);
  direct_map_.store(ivf_ != nullptr && !ivf_->direct_map.no());
  memory_bytes_.store(refine_ ? EstimateBytes(ivf_) + refine_->MemoryBytes() : EstimateBytes(root_.get()));
  std::lock_guard<std::mutex> lock(defaults_mutex_);
  search_defaults_ = StoredSearchDefaults(*root_);
}

void AnyIndexCore::Train(idx_t n, const float* x) {
  CheckWritable("train");
  if (root_->is_trained && (started_untrained_ || ivf_ != nullptr)) {
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
  CheckWritable("add vectors");
  if (!root_->is_trained) {
    ThrowFaiss("index is not trained: call train() before adding vectors", codes::kNotTrained);
  }
  CheckFinite(n, root_->d, x, "vectors");
  // -1 is Faiss's "no result" label.
  for (idx_t i = 0; ids != nullptr && i < n; i++) {
    if (ids[i] < 0) {
      ThrowRange("Expected non-negative ids for ids but ids[" + std::to_string(i) + "] is " + std::to_string(ids[i]));
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
    x = IvfQueries(n, x, normalized);
    // The IVF stores row numbers; see refine_stage.h.
    std::vector<idx_t> rows(n);
    for (idx_t i = 0; i < n; i++) rows[i] = refine_->rows() + i;
    ivf_->add_with_ids(n, x, rows.data());
    refine_->AppendRows(n, x, ids);
    Refresh();
    return;
  }
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

bool AnyIndexCore::IvfPathServes(const SearchOptions& options) const {
  return ivf_path_ && options.filter.kind == IdFilter::Kind::None && options.ef_search < 0 &&
         options.quantizer_ef_search < 0 && options.qb < 0;
}

const float* AnyIndexCore::IvfQueries(idx_t n, const float* x, std::vector<float>& normalized) const {
  if (!normalises_) return x;
  normalized = NormalizedCopy(n, root_->d, x);
  return normalized.data();
}

faiss::SearchParametersIVF AnyIndexCore::IvfParams(const SearchOptions& options) const {
  faiss::SearchParametersIVF params;
  params.nprobe = options.nprobe >= 0 ? static_cast<size_t>(std::max<int64_t>(1, options.nprobe)) : ivf_->nprobe;
  params.max_codes = options.max_codes >= 0 ? static_cast<size_t>(options.max_codes) : ivf_->max_codes;
  return params;
}

void AnyIndexCore::Search(idx_t n, const float* x, idx_t k, const SearchOptions& options, float* distances,
                          idx_t* labels) const {
  if (!root_->is_trained) {
    ThrowFaiss("index is not trained: call train() before searching", codes::kNotTrained);
  }
  CheckFinite(n, root_->d, x, "queries");
  if (IvfPathServes(options)) {
    std::vector<float> normalized;
    x = IvfQueries(n, x, normalized);
    faiss::SearchParametersIVF params = IvfParams(options);
    if (!refine_) {
      SearchIvf(*ivf_, coarse_.get(), n, x, k, params, distances, labels);
      return;
    }
    float factor = options.k_factor > 0 ? options.k_factor : refine_->k_factor();
    idx_t candidates = std::max<idx_t>(k, static_cast<idx_t>(std::ceil(double(k) * factor)));
    std::vector<float> candidate_distances(static_cast<size_t>(n * candidates));
    std::vector<idx_t> candidate_rows(static_cast<size_t>(n * candidates));
    SearchIvf(*ivf_, coarse_.get(), n, x, candidates, params, candidate_distances.data(), candidate_rows.data());
    refine_->Rerank(n, x, candidates, candidate_rows.data(), k, distances, labels);
    return;
  }
  SearchParametersTree params(*root_, options);
  if (nsg_ != nullptr && k > nsg_->ntotal) {
    SearchPadded(n, x, k, nsg_->ntotal, params.root(), distances, labels);
  } else {
    Supported("filter", [&] { root_->search(n, x, k, distances, labels, params.root()); });
  }
  CheckFiltered(static_cast<size_t>(n * k), labels, params.filter());
}

// The top `rows` of each query, then -1 labels at the metric's worst distance,
// as Faiss pads results beyond an index's size.
void AnyIndexCore::SearchPadded(idx_t n, const float* x, idx_t k, idx_t rows, const faiss::SearchParameters* params,
                                float* distances, idx_t* labels) const {
  std::vector<float> found_distances(static_cast<size_t>(n * rows));
  std::vector<idx_t> found_labels(static_cast<size_t>(n * rows));
  if (rows > 0) {
    Supported("filter", [&] { root_->search(n, x, rows, found_distances.data(), found_labels.data(), params); });
  }
  float worst = root_->metric_type == faiss::METRIC_INNER_PRODUCT ? std::numeric_limits<float>::lowest()
                                                                  : std::numeric_limits<float>::max();
  for (idx_t q = 0; q < n; q++) {
    std::copy_n(found_distances.data() + q * rows, rows, distances + q * k);
    std::copy_n(found_labels.data() + q * rows, rows, labels + q * k);
    std::fill(distances + q * k + rows, distances + (q + 1) * k, worst);
    std::fill(labels + q * k + rows, labels + (q + 1) * k, idx_t(-1));
  }
}

std::unique_ptr<faiss::RangeSearchResult> AnyIndexCore::RangeSearch(idx_t n, const float* x, float radius,
                                                                     const SearchOptions& options) const {
  if (!root_->is_trained) {
    ThrowFaiss("index is not trained: call train() before searching", codes::kNotTrained);
  }
  CheckFinite(n, root_->d, x, "queries");
  auto result = std::make_unique<faiss::RangeSearchResult>(n);
  if (IvfPathServes(options)) {
    std::vector<float> normalized;
    x = IvfQueries(n, x, normalized);
    RangeSearchIvf(*ivf_, coarse_.get(), n, x, radius, IvfParams(options), result.get());
    if (refine_) refine_->RowsToIds(result->lims[n], result->labels);
    return result;
  }
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
  size_t removed;
  if (refine_) {
    std::vector<idx_t> rows = refine_->TakeRows(n, ids);
    removed = ivf_->remove_ids(faiss::IDSelectorBatch(rows.size(), rows.data()));
  } else if (ivf_path_ && ivf_->direct_map.type == faiss::DirectMap::Hashtable) {
    // Faiss's hashtable direct map only accepts an explicit id array.
    removed = ivf_->remove_ids(faiss::IDSelectorArray(static_cast<size_t>(n), ids));
  } else {
    faiss::IDSelectorBatch selector(static_cast<size_t>(n), ids);
    removed = Supported("removeIds", [&] { return root_->remove_ids(selector); });
  }
  Refresh();
  return removed;
}

void AnyIndexCore::Reconstruct(idx_t id, float* out) const {
  if (refine_) {
    refine_->Reconstruct(id, out);
    return;
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(Core(root_.get()));
      ivf && ivf->direct_map.no() && dynamic_cast<const faiss::IndexIDMap2*>(root_.get()) == nullptr) {
    ThrowFaiss("reconstruct needs a direct map: create the index with { directMap: true }", codes::kNoDirectMap);
  }
  auto absent = [&] { ThrowRange("Expected an id present in the index for id but received " + std::to_string(id)); };
  if (ivf_path_) {
    // The IVF's own vector: for cosine the normalised one.
    try {
      ivf_->reconstruct(id, out);
    } catch (const faiss::FaissException&) {
      absent();
    }
    return;
  }
  if (auto* id_map2 = dynamic_cast<const faiss::IndexIDMap2*>(root_.get())) {
    if (id_map2->rev_map.count(id) == 0) absent();
  } else if (dynamic_cast<const faiss::IndexIDMap*>(root_.get()) == nullptr &&
             ivf_ == nullptr && (id < 0 || id >= root_->ntotal)) {
    absent();
  }
  Supported("reconstruct", [&] { root_->reconstruct(id, out); });
}

void AnyIndexCore::MergeFrom(AnyIndexCore& other) {
  CheckWritable("merge into this index");
  other.CheckWritable("merge from the other index");
  if (&other == this) ThrowFaiss("cannot merge an index into itself", codes::kIncompatible);
  if (refine_ || other.refine_) ThrowFaiss("cannot merge refined indexes", codes::kIncompatible);
  if (ivf_path_ && other.ivf_path_) {
    const faiss::IndexIVF& theirs = *other.ivf_;
    if (metric_ != other.metric_ || ivf_->d != theirs.d || ivf_->nlist != theirs.nlist ||
        typeid(*ivf_) != typeid(theirs) || ivf_->code_size != theirs.code_size || pq_m() != other.pq_m() ||
        pq_nbits() != other.pq_nbits()) {
      ThrowFaiss("cannot merge: the indexes differ in metric, dimension, nlist, m, nbits or fastScan",
                 codes::kIncompatible);
    }
    if (!is_trained() || !other.is_trained()) {
      ThrowFaiss("cannot merge: both indexes must be trained", codes::kNotTrained);
    }
    if (!SameTraining(other)) {
      ThrowFaiss("cannot merge: the indexes were trained separately (different coarse centroids or codebooks)",
                 codes::kIncompatible);
    }
    if (direct_map() || other.direct_map()) {
      ThrowFaiss("cannot merge indexes that keep a direct map", codes::kIncompatible);
    }
    ivf_->merge_from(*other.ivf_, 0);
    Refresh();
    other.Refresh();
    return;
  }
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
