#include "vectors.h"

#include <faiss/utils/distances.h>

#include <cmath>
#include <cstring>
#include <string>

#include "errors.h"

namespace faiss_native {

namespace {

// A float is NaN or ±Inf exactly when its exponent bits are all ones.
constexpr uint32_t kExponentMask = 0x7f800000u;

inline bool IsNonFinite(const float* value) {
  uint32_t bits;
  std::memcpy(&bits, value, sizeof bits);
  return (bits & kExponentMask) == kExponentMask;
}

// No early exit inside a block, so the compiler vectorises it: the check runs
// on every search and std::isfinite with a throw in the loop stays scalar.
constexpr size_t kBlock = 256;

bool BlockHasNonFinite(const float* x) {
  uint32_t found = 0;
  for (size_t i = 0; i < kBlock; i++) found |= static_cast<uint32_t>(IsNonFinite(x + i));
  return found != 0;
}

size_t FirstNonFinite(const float* x, size_t count) {
  size_t start = 0;
  while (start + kBlock <= count && !BlockHasNonFinite(x + start)) start += kBlock;
  for (size_t i = start; i < count; i++) {
    if (IsNonFinite(x + i)) return i;
  }
  return count;
}

}  // namespace

void CheckFinite(int64_t n, int64_t dimension, const float* x, const char* name) {
  size_t count = static_cast<size_t>(n) * static_cast<size_t>(dimension);
  size_t bad = FirstNonFinite(x, count);
  if (bad == count) return;
  ThrowRange(std::string("Expected finite values for ") + name + " but element " + std::to_string(bad) +
             " is " + (std::isnan(x[bad]) ? "NaN" : "infinite"));
}

std::vector<float> NormalizedCopy(int64_t n, int64_t dimension, const float* x) {
  std::vector<float> copy(x, x + static_cast<size_t>(n) * static_cast<size_t>(dimension));
  faiss::fvec_renorm_L2(dimension, n, copy.data());
  return copy;
}

}  // namespace faiss_native
