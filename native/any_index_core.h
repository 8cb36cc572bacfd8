// Any Faiss CPU index, made from a factory string or read from a file, free of
// N-API so it can run on any thread. Callers order access through the OpQueue
// of the slot that owns it (searches shared, mutations exclusive).
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/AuxIndexStructures.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metric.h"
#include "search_options.h"

namespace faiss_native {

class AnyIndexCore {
 public:
  // Cosine is an L2 normalisation (IndexPreTransform) in front of the whole
  // inner-product index. An index whose type cannot take ids of its own is
  // wrapped in an IndexIDMap2, as Faiss does.
  static std::unique_ptr<AnyIndexCore> FromFactory(int64_t dimension, const std::string& description, Metric metric);
  static std::unique_ptr<AnyIndexCore> ReadFile(const std::string& path, bool mmap);
  static std::unique_ptr<AnyIndexCore> ReadBuffer(const uint8_t* data, size_t size);

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
  static std::unique_ptr<AnyIndexCore> Adopt(std::unique_ptr<faiss::Index> root, const std::string& source);
  void CheckWritable(const char* operation) const;
  void CheckSerializable() const;
  // Runs a Faiss call; "not implemented" from Faiss becomes an error naming
  // this index type and the operation.
  template <typename Body>
  auto Supported(const char* operation, Body&& body) const -> decltype(body());
  void CheckFiltered(size_t count, const idx_t* labels, const faiss::IDSelector* filter) const;
  void Refresh();

  std::unique_ptr<faiss::Index> root_;
  std::string description_;
  std::string index_type_;
  std::vector<std::string> search_options_;
  Metric metric_ = Metric::L2;
  bool started_untrained_ = false;
  bool read_only_ = false;
  bool mapped_ = false;  // read with { mmap: true }: its lists are the file it came from
  std::atomic<int64_t> ntotal_{0};
  std::atomic<bool> is_trained_{false};
  std::atomic<int64_t> memory_bytes_{0};
  // A copy the main thread may read while an exclusive operation changes the index.
  mutable std::mutex defaults_mutex_;
  SearchOptions search_defaults_;
};

}  // namespace faiss_native
