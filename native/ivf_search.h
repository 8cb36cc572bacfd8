// IVF search with the coarse step done by coarse_quantizer.h, so a query's
// result does not depend on the batch it arrives in; the list scanning is
// Faiss's own (IndexIVF::search_preassigned).
#pragma once

#include <faiss/IndexIVF.h>

#include "coarse_quantizer.h"

namespace faiss_native {

using idx_t = faiss::idx_t;

// Like ivf.search(n, x, k, distances, labels, &params), on the calling
// thread's OpenMP team, with coarse (CoarseQuantizer::For(ivf)) as the coarse
// step. With coarse null, Faiss's own search.
void SearchIvf(const faiss::IndexIVF& ivf, const CoarseQuantizer* coarse, idx_t n, const float* x, idx_t k,
               const faiss::SearchParametersIVF& params, float* distances, idx_t* labels);

// Like ivf.range_search(n, x, radius, result, &params), with the same coarse step.
void RangeSearchIvf(const faiss::IndexIVF& ivf, const CoarseQuantizer* coarse, idx_t n, const float* x, float radius,
                    const faiss::SearchParametersIVF& params, faiss::RangeSearchResult* result);

}  // namespace faiss_native
