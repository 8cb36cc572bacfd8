// Faiss fills its product-quantizer distance tables with fvec_inner_products_ny
// and fvec_L2sqr_ny (one dsub-long sum per codebook entry, per query) and,
// for L2, adds each probed list's precomputed table with fvec_madd. In the
// generic x86-64 build Debian ships, all three are scalar loops, a call per
// entry for the first two: on SIFT they took 70 % of a search at nprobe 1
// and fvec_madd 60 % at nprobe 16. The link (binding.gyp, CMakeLists.txt:
// -Wl,--wrap) sends Faiss's calls here instead. Every element is formed in
// the same order with the same roundings as Faiss's reference loops, so the
// tables are bit-identical; only eight elements are computed side by side.
#include "pq_tables.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <vector>

namespace {

// The reference loops (faiss/utils/distances_simd.cpp, *_ref): res starts at
// 0 and adds one product (or squared difference) per dimension, in order.
float InnerProduct(const float* x, const float* y, size_t d) {
  float res = 0;
  for (size_t j = 0; j < d; j++) res += x[j] * y[j];
  return res;
}

float L2Squared(const float* x, const float* y, size_t d) {
  float res = 0;
  for (size_t j = 0; j < d; j++) {
    const float diff = x[j] - y[j];
    res += diff * diff;
  }
  return res;
}

// One term of lane r's sum: the product (or squared difference) of x[j]
// with column j of the eight rows.
template <bool kL2>
__attribute__((target("avx2"))) inline __m256 AddTerm(__m256 acc, float xj, __m256 column) {
  __m256 x = _mm256_set1_ps(xj);
  if (kL2) {
    __m256 diff = _mm256_sub_ps(x, column);
    return _mm256_add_ps(acc, _mm256_mul_ps(diff, diff));
  }
  return _mm256_add_ps(acc, _mm256_mul_ps(x, column));
}

// Eight rows at a time, one lane each: lane r accumulates row r's terms in
// dimension order. Multiply and add stay separate roundings (no FMA in the
// target), as in the reference. Columns come from 4×8 transposes of
// contiguous loads; lanes hold rows 0 2 4 6 1 3 5 7 (d % 4 == 0) or
// 0 1 4 5 2 3 6 7 (d == 2) until the final permute. Returns how many rows
// were done: a multiple of 8, or 0 for other d.
// aligned(64): each hot loop starts at the same place within a 64-byte fetch
// window in every build (the addon, the benchmark's C++ floor), instead of
// wherever the link puts it; see native/faiss-code-layout.ld for why it matters.
template <bool kL2>
__attribute__((target("avx2"), aligned(64))) size_t EightRowsAtATime(float* out, const float* x, const float* y,
                                                                    size_t d, size_t ny) {
  size_t i = 0;
  if (d % 4 == 0) {
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (; i + 8 <= ny; i += 8) {
      const float* r = y + i * d;
      __m256 acc = _mm256_setzero_ps();
      for (size_t j = 0; j < d; j += 4) {
        // Rows (0,1), (2,3), (4,5), (6,7): columns j..j+3 of each pair.
        __m256 r01 = _mm256_loadu2_m128(r + 1 * d + j, r + 0 * d + j);
        __m256 r23 = _mm256_loadu2_m128(r + 3 * d + j, r + 2 * d + j);
        __m256 r45 = _mm256_loadu2_m128(r + 5 * d + j, r + 4 * d + j);
        __m256 r67 = _mm256_loadu2_m128(r + 7 * d + j, r + 6 * d + j);
        __m256 t0 = _mm256_unpacklo_ps(r01, r23);
        __m256 t1 = _mm256_unpackhi_ps(r01, r23);
        __m256 t2 = _mm256_unpacklo_ps(r45, r67);
        __m256 t3 = _mm256_unpackhi_ps(r45, r67);
        acc = AddTerm<kL2>(acc, x[j], _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)));
        acc = AddTerm<kL2>(acc, x[j + 1], _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)));
        acc = AddTerm<kL2>(acc, x[j + 2], _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)));
        acc = AddTerm<kL2>(acc, x[j + 3], _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)));
      }
      _mm256_storeu_ps(out + i, _mm256_permutevar8x32_ps(acc, order));
    }
  } else if (d == 2) {
    const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    for (; i + 8 <= ny; i += 8) {
      __m256 r0 = _mm256_loadu_ps(y + i * 2);
      __m256 r1 = _mm256_loadu_ps(y + i * 2 + 8);
      __m256 acc = _mm256_setzero_ps();
      acc = AddTerm<kL2>(acc, x[0], _mm256_shuffle_ps(r0, r1, _MM_SHUFFLE(2, 0, 2, 0)));
      acc = AddTerm<kL2>(acc, x[1], _mm256_shuffle_ps(r0, r1, _MM_SHUFFLE(3, 1, 3, 1)));
      _mm256_storeu_ps(out + i, _mm256_permutevar8x32_ps(acc, order));
    }
  }
  return i;
}

// c = a + bf·b for the first n - n % 8 elements; returns how many were done.
__attribute__((target("avx2"), aligned(64))) size_t MultiplyAddAvx(size_t n, const float* a, float bf, const float* b,
                                                                   float* c) {
  const __m256 factor = _mm256_set1_ps(bf);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(c + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_mul_ps(factor, _mm256_loadu_ps(b + i))));
  }
  return i;
}

bool HasAvx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
  }();
  return has;
}

// One table: eight rows at a time where AVX2 allows, the reference loop for the rest.
template <bool kL2>
void Rows(float* out, const float* x, const float* y, size_t d, size_t ny) {
  size_t i = HasAvx2() ? EightRowsAtATime<kL2>(out, x, y, d, ny) : 0;
  for (; i < ny; i++) out[i] = kL2 ? L2Squared(x, y + i * d, d) : InnerProduct(x, y + i * d, d);
}

}  // namespace

extern "C" {

// faiss::fvec_inner_products_ny(float* ip, const float* x, const float* y, size_t d, size_t ny)
__attribute__((visibility("hidden"))) void __wrap__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(
    float* ip, const float* x, const float* y, size_t d, size_t ny) {
  Rows<false>(ip, x, y, d, ny);
}

// faiss::fvec_L2sqr_ny(float* dis, const float* x, const float* y, size_t d, size_t ny)
__attribute__((visibility("hidden"))) void __wrap__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(
    float* dis, const float* x, const float* y, size_t d, size_t ny) {
  Rows<true>(dis, x, y, d, ny);
}

// faiss::fvec_madd(size_t n, const float* a, float bf, const float* b, float* c): c = a + bf·b
__attribute__((visibility("hidden"))) void __wrap__ZN5faiss9fvec_maddEmPKffS1_Pf(size_t n, const float* a, float bf,
                                                                                const float* b, float* c) {
  size_t i = HasAvx2() ? MultiplyAddAvx(n, a, bf, b, c) : 0;
  for (; i < n; i++) c[i] = a[i] + bf * b[i];
}

// Faiss's own functions, under the names --wrap gives them.
void __real__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(float*, const float*, const float*, size_t, size_t);
void __real__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(float*, const float*, const float*, size_t, size_t);
void __real__ZN5faiss9fvec_maddEmPKffS1_Pf(size_t, const float*, float, const float*, float*);

}  // extern "C"

namespace faiss_native {

PqTableCheck CheckPqTables() {
  PqTableCheck check;
  check.substituted = true;
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 200.0f;
  };
  auto compare = [&](const std::vector<float>& mine, const std::vector<float>& faiss) {
    check.cases++;
    if (std::memcmp(mine.data(), faiss.data(), mine.size() * sizeof(float)) != 0) check.mismatches++;
  };
  for (size_t d : {1, 2, 3, 4, 5, 7, 8, 12, 16, 32, 100}) {
    for (size_t ny : {0, 1, 7, 8, 9, 31, 256}) {
      std::vector<float> x(d), y(d * ny);
      for (float& v : x) v = next();
      for (float& v : y) v = next();
      std::vector<float> mine(ny), faiss(ny);
      __wrap__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(mine.data(), x.data(), y.data(), d, ny);
      __real__ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm(faiss.data(), x.data(), y.data(), d, ny);
      compare(mine, faiss);
      __wrap__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(mine.data(), x.data(), y.data(), d, ny);
      __real__ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm(faiss.data(), x.data(), y.data(), d, ny);
      compare(mine, faiss);
    }
  }
  for (size_t n : {0, 1, 3, 8, 13, 64, 8192}) {
    std::vector<float> a(n), b(n);
    for (size_t i = 0; i < n; i++) a[i] = next(), b[i] = next();
    const float factor = next();
    std::vector<float> mine(n), faiss(n);
    __wrap__ZN5faiss9fvec_maddEmPKffS1_Pf(n, a.data(), factor, b.data(), mine.data());
    __real__ZN5faiss9fvec_maddEmPKffS1_Pf(n, a.data(), factor, b.data(), faiss.data());
    compare(mine, faiss);
  }
  return check;
}

}  // namespace faiss_native

#else

namespace faiss_native {

PqTableCheck CheckPqTables() { return {}; }

}  // namespace faiss_native

#endif  // __x86_64__
