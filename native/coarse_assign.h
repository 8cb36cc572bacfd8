// The coarse step of an IVF search: which inverted lists each query probes.
//
// Faiss 1.7.3 scores a query against the centroids with a scalar loop when a
// call holds fewer than 20 queries (in Debian's generic x86-64 build that loop
// is not vectorised: ~140 µs per query at nlist 2048, d 100) and with BLAS
// above that, which rounds differently. Here every query-centroid pair is
// scored by one SIMD sequence chosen once per process, so a query gets the
// same lists and the same coarse distances alone or inside any batch.
#pragma once

#include <faiss/Index.h>

#include <cstddef>

namespace faiss_native {

using idx_t = faiss::Index::idx_t;

// For n queries (n × d) against nlist centroids (nlist × d), the nprobe best
// lists in order (smallest squared L2 distance, or largest inner product;
// ties to the lower list number) and their distances, each n × nprobe.
// nprobe ≤ nlist. Single-threaded: callers split queries across threads.
void AssignToLists(const float* centroids, size_t nlist, size_t d, bool inner_product, idx_t n,
                   const float* queries, size_t nprobe, idx_t* lists, float* distances);

// The instruction set the scores are computed with ("avx2", "sse2", "neon", "scalar").
const char* CoarseKernelName();

}  // namespace faiss_native
