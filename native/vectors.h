// Checks and transforms on caller-owned vector data, shared by every index kind.
#pragma once

#include <cstdint>
#include <vector>

namespace faiss_native {

// RangeError naming the first NaN or infinity: Faiss would otherwise silently
// poison centroids or return garbage neighbours.
void CheckFinite(int64_t n, int64_t dimension, const float* x, const char* name);

// L2-normalised copy for cosine; the caller's array is never modified.
std::vector<float> NormalizedCopy(int64_t n, int64_t dimension, const float* x);

}  // namespace faiss_native
