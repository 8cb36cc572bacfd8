// Any Faiss CPU index, made from a factory string or read from a file, free of
// N-API so it can run on any thread. Callers order access through the OpQueue
// of the slot that owns it (searches shared, mutations exclusive).
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexNSG.h>
#include <faiss/impl/AuxIndexStructures.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coarse_quantizer.h"
#include "index_file_check.h"
#include "metric.h"
#include "refine_stage.h"
#include "search_options.h"

namespace faiss_native {

class AnyIndexCore {
 public:
  // Cosine is an L2 normalisation (IndexPreTransform) in front of the whole
  // inner-product index. An index whose type cannot take ids of its own is
  // wrapped in an IndexIDMap2, as Faiss does. direct_map: an IVF keeps a
  // hashtable from id to list position (reconstruct, removals by id).
  static std::unique_ptr<AnyIndexCore> FromFactory(int64_t dimension, const std::string& description, Metric metric,
                                                   bool direct_map = false);
  // grammar IvfPq accepts only what IndexIVFPQ writes. precompute_table false
  // skips an IVF-PQ's L2 search table (nlist·m·2^nbits floats), for indexes
  // only added to, merged or written.
  static std::unique_ptr<AnyIndexCore> ReadFile(const std::string& path, bool mmap,
                                                IndexGrammar grammar = IndexGrammar::Any, bool precompute_table = true);
  static std::unique_ptr<AnyIndexCore> ReadBuffer(const uint8_t* data, size_t size,
                                                  IndexGrammar grammar = IndexGrammar::Any);
  // Merges IVF shard files built from one trained index into an index whose
  // inverted lists live in data_path (Faiss OnDiskInvertedLists). Shards are
  // memory-mapped, so their codes never need to fit in memory together.
  static std::unique_ptr<AnyIndexCore> MergeOnDisk(const std::vector<std::string>& shard_paths,
                                                   const std::string& data_path);

  void Train(idx_t n, const float* x);
  // ids == nullptr numbers the vectors ntotal .. ntotal + n - 1.
  void Add(idx_t n, const float* x, const idx_t* ids);
  void Search(idx_t n, const float* x, idx_t k, const SearchOptions& options, float* distances,
              idx_t* labels) const;
  // All neighbours within radius (below it for l2, above it for ip/cosine).
  std::unique_ptr<faiss::RangeSearchResult> RangeSearch(idx_t n, const float* x, float radius,
                                                        const SearchOptions& options) const;
  size_t RemoveIds(idx_t n, const idx_t* ids);
  void Reconstruct(idx_t id, float* out) const;
  void MergeFrom(AnyIndexCore& other);
  void Reset();
  // Stores the set options in the index as its defaults (see ApplySearchDefaults).
  void SetSearchDefaults(const SearchOptions& options);
  void WriteFile(const std::string& path, bool durable) const;
  std::vector<uint8_t> WriteBuffer() const;

  int64_t dimension() const { return root_->d; }
  Metric metric() const { return metric_; }
  const std::string& description() const { return description_; }
  // The Faiss class beneath id maps, transforms and re-ranking, e.g. "IndexHNSWFlat".
  const std::string& index_type() const { return index_type_; }
  const std::vector<std::string>& search_options() const { return search_options_; }
  bool read_only() const { return read_only_; }
  // The IVF beneath the wrappers: 0 / false / None for other types.
  int64_t nlist() const { return ivf_ ? static_cast<int64_t>(ivf_->nlist) : 0; }
  int64_t pq_m() const;
  int64_t pq_nbits() const;
  bool fast_scan() const;
  RefineKind refine_kind() const { return refine_ ? refine_->kind() : RefineKind::None; }
  bool direct_map() const { return direct_map_.load(); }

  // Safe to read while another thread mutates the index.
  int64_t ntotal() const { return ntotal_.load(); }
  bool is_trained() const { return is_trained_.load(); }
  int64_t memory_bytes() const { return memory_bytes_.load(); }
  SearchOptions search_defaults() const {
    std::lock_guard<std::mutex> lock(defaults_mutex_);
    return search_defaults_;
  }

 private:
  AnyIndexCore(std::unique_ptr<faiss::Index> root, std::string description);
  static std::unique_ptr<AnyIndexCore> Adopt(std::unique_ptr<faiss::Index> root, const std::string& source,
                                             IndexGrammar grammar);
  // Finds the IVF and whether its wrappers allow the IVF paths (see ivf_path_).
  void FindIvf();
  void CheckIvfFile(const std::string& source, IndexGrammar grammar) const;
  // The IVF path serves this search: only nprobe, maxCodes and kFactor set.
  bool IvfPathServes(const SearchOptions& options) const;
  // Normalises for cosine (into normalized); returns the vectors the IVF takes.
  const float* IvfQueries(idx_t n, const float* x, std::vector<float>& normalized) const;
  faiss::SearchParametersIVF IvfParams(const SearchOptions& options) const;
  // Same coarse centroids and (for IVF-PQ) codebooks: codes of one mean the same in the other.
  bool SameTraining(const AnyIndexCore& other) const;
  void CheckWritable(const char* operation) const;
  void CheckSerializable() const;
  // Runs a Faiss call; "not implemented" from Faiss becomes an error naming
  // this index type and the operation.
  template <typename Body>
  auto Supported(const char* operation, Body&& body) const -> decltype(body());
  void CheckFiltered(size_t count, const idx_t* labels, const faiss::IDSelector* filter) const;
  void SearchPadded(idx_t n, const float* x, idx_t k, idx_t rows, const faiss::SearchParameters* params,
                    float* distances, idx_t* labels) const;
  void Refresh();

  std::unique_ptr<faiss::Index> root_;
  std::string description_;
  std::string index_type_;
  std::vector<std::string> search_options_;
  Metric metric_ = Metric::L2;
  bool started_untrained_ = false;
  bool read_only_ = false;
  bool mapped_ = false;  // read with { mmap: true }: its lists are the file it came from
  faiss::IndexIVF* ivf_ = nullptr;
  // NSG seeds its search pool with max(search_L, k) distinct random rows and
  // loops until it has them: searches keep both at most its row count.
  faiss::IndexNSG* nsg_ = nullptr;
  // The wrappers above ivf_ are at most an L2 normalisation and the
  // IndexIDMap2(IndexRefine) of refine_stage.h: searches without a filter or
  // other options then run SearchIvf with coarse_ (batch-independent results),
  // and a refined index can remove ids and reconstruct.
  bool ivf_path_ = false;
  bool normalises_ = false;
  std::vector<faiss::Index*> wrappers_;  // root_ .. the node above ivf_, on the IVF path
  std::unique_ptr<RefineStage> refine_;
  // Null until trained, or for quantizers it cannot score.
  std::unique_ptr<CoarseQuantizer> coarse_;
  std::atomic<bool> direct_map_{false};
  std::atomic<int64_t> ntotal_{0};
  std::atomic<bool> is_trained_{false};
  std::atomic<int64_t> memory_bytes_{0};
  // A copy the main thread may read while an exclusive operation changes the index.
  mutable std::mutex defaults_mutex_;
  SearchOptions search_defaults_;
};

}  // namespace faiss_native
