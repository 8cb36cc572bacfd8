// The coarse step of an IVF search: which inverted lists each query probes.
//
// Faiss scores queries against the centroids one by one below 20 queries a
// call and with BLAS from 20 on (distance_compute_blas_threshold), and the two
// round differently: a query could probe other lists, and return other
// neighbours, depending on the batch it arrived in, which coalesced searches
// would make visible. Here every query-centroid pair is scored by one SIMD
// sequence chosen once per process, so a query gets the same lists and the
// same coarse distances alone or inside any batch.
#pragma once

#include <faiss/IndexIVF.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace faiss_native {

using idx_t = faiss::idx_t;

class CoarseQuantizer {
 public:
  // Null unless ivf is trained and its quantizer is a flat L2 or inner-product
  // index. Reads the centroids in place: valid while ivf's quantizer is unchanged.
  static std::unique_ptr<CoarseQuantizer> For(const faiss::IndexIVF& ivf);

  // For n queries (n × d), the nprobe ≤ nlist best lists in order (smallest
  // squared L2 distance, or largest inner product; ties to the lower list
  // number) and their distances, each n × nprobe. Single-threaded: callers
  // split queries across threads.
  void Assign(idx_t n, const float* queries, size_t nprobe, idx_t* lists, float* distances) const;

 private:
  CoarseQuantizer(const float* centroids, size_t nlist, size_t d, bool inner_product);

  const float* centroids_;
  size_t nlist_;
  size_t d_;
  bool inner_product_;
  // |c|² per centroid, for L2 as |q|² + |c|² - 2 q·c (as Faiss's BLAS path does).
  std::vector<float> norms_;
};

}  // namespace faiss_native
