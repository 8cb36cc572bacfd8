#include "vectors.h"

#include <faiss/utils/distances.h>

#include <cmath>
#include <string>

#include "errors.h"

namespace faiss_native {

void CheckFinite(int64_t n, int64_t dimension, const float* x, const char* name) {
  size_t count = static_cast<size_t>(n) * static_cast<size_t>(dimension);
  for (size_t i = 0; i < count; i++) {
    if (!std::isfinite(x[i])) {
      ThrowRange(std::string("Expected finite values for ") + name + " but element " +
                 std::to_string(i) + " is " + (std::isnan(x[i]) ? "NaN" : "infinite"));
    }
  }
}

std::vector<float> NormalizedCopy(int64_t n, int64_t dimension, const float* x) {
  std::vector<float> copy(x, x + static_cast<size_t>(n) * static_cast<size_t>(dimension));
  faiss::fvec_renorm_L2(dimension, n, copy.data());
  return copy;
}

}  // namespace faiss_native
