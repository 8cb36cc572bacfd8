// The Faiss side of an IVF-PQ index, free of N-API so it can run on any thread.
// Callers order access through the OpQueue of the slot that owns it.
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexIVFPQ.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "metric.h"

namespace faiss_native {

using idx_t = faiss::Index::idx_t;

struct IvfpqConfig {
  int64_t dimension = 0;
  int64_t nlist = 0;
  int64_t m = 0;
  int64_t nbits = 8;
  Metric metric = Metric::L2;
};

class IvfpqCore {
 public:
  explicit IvfpqCore(const IvfpqConfig& config);
  static std::unique_ptr<IvfpqCore> ReadFile(const std::string& path);

  void Train(idx_t n, const float* x);
  // ids == nullptr assigns ntotal .. ntotal + n - 1.
  void Add(idx_t n, const float* x, const idx_t* ids);
  // nprobe == 0 uses the index's default.
  void Search(idx_t n, const float* x, idx_t k, size_t nprobe, float* distances,
              idx_t* labels) const;
  // Atomic: a temporary file in the same directory, fsync, rename.
  void WriteFile(const std::string& path);

  int64_t dimension() const { return ivf_->d; }
  int64_t nlist() const { return static_cast<int64_t>(ivf_->nlist); }
  int64_t m() const { return static_cast<int64_t>(ivf_->pq.M); }
  int64_t nbits() const { return static_cast<int64_t>(ivf_->pq.nbits); }
  Metric metric() const { return metric_; }

  // Safe to read while another thread mutates the index.
  int64_t ntotal() const { return ntotal_.load(); }
  bool is_trained() const { return is_trained_.load(); }
  size_t nprobe() const { return nprobe_.load(); }
  void set_nprobe(size_t nprobe) { nprobe_.store(nprobe); }

  // Native bytes held, reported to V8 so large indexes weigh on GC decisions.
  int64_t memory_bytes() const { return memory_bytes_.load(); }

 private:
  IvfpqCore(std::unique_ptr<faiss::Index> root, faiss::IndexIVFPQ* ivf, Metric metric);
  // Called at the end of every mutation, while the caller still holds its turn.
  void RefreshCounters();
  int64_t ComputeMemoryBytes() const;

  // What is persisted: the IVF-PQ itself, or for cosine an IndexPreTransform
  // that L2-normalises in front of an inner-product IVF-PQ.
  std::unique_ptr<faiss::Index> root_;
  faiss::IndexIVFPQ* ivf_;
  Metric metric_;
  std::atomic<int64_t> ntotal_{0};
  std::atomic<bool> is_trained_{false};
  std::atomic<size_t> nprobe_{1};
  std::atomic<int64_t> memory_bytes_{0};
};

}  // namespace faiss_native
