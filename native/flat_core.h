// Exact (brute-force) search with Faiss IndexFlat: ground truth for recall
// measurements and a baseline for small collections.
#pragma once

#include <faiss/IndexFlat.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "metric.h"

namespace faiss_native {

class FlatCore {
 public:
  FlatCore(int64_t dimension, Metric metric);

  // Ids are row numbers: ntotal .. ntotal + n - 1.
  void Add(int64_t n, const float* x);
  void Search(int64_t n, const float* x, int64_t k, float* distances, int64_t* labels) const;

  int64_t dimension() const { return index_->d; }
  Metric metric() const { return metric_; }
  int64_t ntotal() const { return ntotal_.load(); }
  int64_t memory_bytes() const { return ntotal_.load() * index_->d * int64_t(sizeof(float)); }

 private:
  std::unique_ptr<faiss::IndexFlat> index_;
  Metric metric_;
  std::atomic<int64_t> ntotal_{0};
};

}  // namespace faiss_native
