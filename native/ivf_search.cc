#include "ivf_search.h"

#include <faiss/IndexIVFFastScan.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissAssert.h>
#include <omp.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>


namespace faiss_native {

namespace {

// Runs body(begin, end) over contiguous slices of n queries, one per thread of
// the caller's OpenMP team, as IndexIVF::search does; rethrows the first failure.
template <typename Body>
void ForEachSlice(idx_t n, Body body) {
  const int slices = static_cast<int>(std::min<idx_t>(std::max(1, omp_get_max_threads()), n));
  std::exception_ptr failure;
  std::mutex failure_mutex;
#pragma omp parallel for if (slices > 1) num_threads(slices)
  for (int slice = 0; slice < slices; slice++) {
    const idx_t begin = n * slice / slices;
    const idx_t end = n * (slice + 1) / slices;
    if (end == begin) continue;
    try {
      body(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

size_t EffectiveNprobe(const faiss::IndexIVF& ivf, const faiss::SearchParametersIVF& params) {
  size_t nprobe = std::min(ivf.nlist, params.nprobe);
  FAISS_THROW_IF_NOT_MSG(nprobe > 0, "nprobe must be positive");
  return nprobe;
}

}  // namespace

void SearchIvf(const faiss::IndexIVF& ivf, const CoarseQuantizer* coarse, idx_t n, const float* x, idx_t k,
               const faiss::SearchParametersIVF& params, float* distances, idx_t* labels) {
  if (coarse == nullptr || ivf.parallel_mode != 0 || params.quantizer_params != nullptr) {
    ivf.search(n, x, k, distances, labels, &params);
    return;
  }
  FAISS_THROW_IF_NOT_MSG(k > 0, "k must be positive");
  const size_t nprobe = EffectiveNprobe(ivf, params);
  // Each slice assigns and scans its own queries.
  ForEachSlice(n, [&](idx_t begin, idx_t end) {
    const float* queries = x + begin * ivf.d;
    std::vector<idx_t> lists((end - begin) * nprobe);
    std::vector<float> coarse_distances(lists.size());
    coarse->Assign(end - begin, queries, nprobe, lists.data(), coarse_distances.data());
    ivf.invlists->prefetch_lists(lists.data(), static_cast<int>(lists.size()));
    ivf.search_preassigned(end - begin, queries, k, lists.data(), coarse_distances.data(),
                           distances + begin * k, labels + begin * k, false, &params, nullptr);
  });
}

void RangeSearchIvf(const faiss::IndexIVF& ivf, const CoarseQuantizer* coarse, idx_t n, const float* x,
                    float radius, const faiss::SearchParametersIVF& params, faiss::RangeSearchResult* result) {
  // FastScan scanners serve Faiss's own range search only.
  if (coarse == nullptr || ivf.parallel_mode != 0 || params.quantizer_params != nullptr ||
      dynamic_cast<const faiss::IndexIVFFastScan*>(&ivf) != nullptr) {
    ivf.range_search(n, x, radius, result, &params);
    return;
  }
  const size_t nprobe = EffectiveNprobe(ivf, params);
  std::vector<idx_t> lists(n * nprobe);
  std::vector<float> coarse_distances(lists.size());
  ForEachSlice(n, [&](idx_t begin, idx_t end) {
    coarse->Assign(end - begin, x + begin * ivf.d, nprobe, lists.data() + begin * nprobe,
                   coarse_distances.data() + begin * nprobe);
  });
  ivf.invlists->prefetch_lists(lists.data(), static_cast<int>(lists.size()));
  // Faiss parallelises the scan over queries itself (parallel_mode 0).
  ivf.range_search_preassigned(n, x, radius, lists.data(), coarse_distances.data(), result, false,
                               &params, nullptr);
}

}  // namespace faiss_native
