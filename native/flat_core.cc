#include "flat_core.h"

#include <vector>

#include "vectors.h"

namespace faiss_native {

FlatCore::FlatCore(int64_t dimension, Metric metric)
    : index_(std::make_unique<faiss::IndexFlat>(dimension, FaissMetric(metric))), metric_(metric) {}

void FlatCore::Add(int64_t n, const float* x) {
  CheckFinite(n, index_->d, x, "vectors");
  if (metric_ == Metric::Cosine) {
    std::vector<float> normalized = NormalizedCopy(n, index_->d, x);
    index_->add(n, normalized.data());
  } else {
    index_->add(n, x);
  }
  ntotal_.store(index_->ntotal);
}

void FlatCore::Search(int64_t n, const float* x, int64_t k, float* distances,
                      int64_t* labels) const {
  CheckFinite(n, index_->d, x, "queries");
  std::vector<float> normalized;
  if (metric_ == Metric::Cosine) {
    normalized = NormalizedCopy(n, index_->d, x);
    x = normalized.data();
  }
  index_->search(n, x, k, distances, labels);
}

}  // namespace faiss_native
