#include "coarse_assign.h"

#include <algorithm>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace faiss_native {

namespace {

// Scores one query against count consecutive centroids. Every pair gets the
// same instruction sequence, whichever block or batch it sits in.
using ScoreFn = void (*)(const float* query, const float* centroids, size_t count, size_t d,
                         bool inner_product, float* scores);

float ScalarPair(const float* query, const float* centroid, size_t begin, size_t d,
                 bool inner_product) {
  float sum = 0;
  for (size_t j = begin; j < d; j++) {
    float term = inner_product ? query[j] * centroid[j] : (query[j] - centroid[j]) * (query[j] - centroid[j]);
    sum += term;
  }
  return sum;
}

[[maybe_unused]] void ScoreScalar(const float* query, const float* centroids, size_t count, size_t d,
                 bool inner_product, float* scores) {
  for (size_t c = 0; c < count; c++) scores[c] = ScalarPair(query, centroids + c * d, 0, d, inner_product);
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) inline float HorizontalSum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_shuffle_ps(sum, sum, 1));
  return _mm_cvtss_f32(sum);
}

__attribute__((target("avx2,fma"))) inline __m256 Accumulate(__m256 acc, __m256 q, const float* c,
                                                               bool inner_product) {
  __m256 y = _mm256_loadu_ps(c);
  if (inner_product) return _mm256_fmadd_ps(q, y, acc);
  __m256 diff = _mm256_sub_ps(q, y);
  return _mm256_fmadd_ps(diff, diff, acc);
}

__attribute__((target("avx2,fma"))) void ScoreAvx2(const float* query, const float* centroids,
                                                     size_t count, size_t d, bool inner_product,
                                                     float* scores) {
  const size_t body = d - d % 8;
  size_t c = 0;
  // Four centroids per pass share each query load.
  for (; c + 4 <= count; c += 4) {
    const float* c0 = centroids + c * d;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < body; j += 8) {
      __m256 q = _mm256_loadu_ps(query + j);
      a0 = Accumulate(a0, q, c0 + j, inner_product);
      a1 = Accumulate(a1, q, c0 + d + j, inner_product);
      a2 = Accumulate(a2, q, c0 + 2 * d + j, inner_product);
      a3 = Accumulate(a3, q, c0 + 3 * d + j, inner_product);
    }
    scores[c] = HorizontalSum(a0) + ScalarPair(query, c0, body, d, inner_product);
    scores[c + 1] = HorizontalSum(a1) + ScalarPair(query, c0 + d, body, d, inner_product);
    scores[c + 2] = HorizontalSum(a2) + ScalarPair(query, c0 + 2 * d, body, d, inner_product);
    scores[c + 3] = HorizontalSum(a3) + ScalarPair(query, c0 + 3 * d, body, d, inner_product);
  }
  for (; c < count; c++) {
    const float* row = centroids + c * d;
    __m256 a = _mm256_setzero_ps();
    for (size_t j = 0; j < body; j += 8) a = Accumulate(a, _mm256_loadu_ps(query + j), row + j, inner_product);
    scores[c] = HorizontalSum(a) + ScalarPair(query, row, body, d, inner_product);
  }
}

inline float HorizontalSum(__m128 v) {
  __m128 sum = _mm_add_ps(v, _mm_movehl_ps(v, v));
  sum = _mm_add_ss(sum, _mm_shuffle_ps(sum, sum, 1));
  return _mm_cvtss_f32(sum);
}

inline __m128 Accumulate(__m128 acc, __m128 q, const float* c, bool inner_product) {
  __m128 y = _mm_loadu_ps(c);
  __m128 term = inner_product ? _mm_mul_ps(q, y) : _mm_mul_ps(_mm_sub_ps(q, y), _mm_sub_ps(q, y));
  return _mm_add_ps(acc, term);
}

void ScoreSse2(const float* query, const float* centroids, size_t count, size_t d, bool inner_product,
               float* scores) {
  const size_t body = d - d % 4;
  for (size_t c = 0; c < count; c++) {
    const float* row = centroids + c * d;
    __m128 a = _mm_setzero_ps();
    for (size_t j = 0; j < body; j += 4) a = Accumulate(a, _mm_loadu_ps(query + j), row + j, inner_product);
    scores[c] = HorizontalSum(a) + ScalarPair(query, row, body, d, inner_product);
  }
}

#elif defined(__aarch64__)

inline float32x4_t Accumulate(float32x4_t acc, float32x4_t q, const float* c, bool inner_product) {
  float32x4_t y = vld1q_f32(c);
  if (inner_product) return vfmaq_f32(acc, q, y);
  float32x4_t diff = vsubq_f32(q, y);
  return vfmaq_f32(acc, diff, diff);
}

void ScoreNeon(const float* query, const float* centroids, size_t count, size_t d, bool inner_product,
               float* scores) {
  const size_t body = d - d % 4;
  size_t c = 0;
  for (; c + 4 <= count; c += 4) {
    const float* c0 = centroids + c * d;
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < body; j += 4) {
      float32x4_t q = vld1q_f32(query + j);
      a0 = Accumulate(a0, q, c0 + j, inner_product);
      a1 = Accumulate(a1, q, c0 + d + j, inner_product);
      a2 = Accumulate(a2, q, c0 + 2 * d + j, inner_product);
      a3 = Accumulate(a3, q, c0 + 3 * d + j, inner_product);
    }
    scores[c] = vaddvq_f32(a0) + ScalarPair(query, c0, body, d, inner_product);
    scores[c + 1] = vaddvq_f32(a1) + ScalarPair(query, c0 + d, body, d, inner_product);
    scores[c + 2] = vaddvq_f32(a2) + ScalarPair(query, c0 + 2 * d, body, d, inner_product);
    scores[c + 3] = vaddvq_f32(a3) + ScalarPair(query, c0 + 3 * d, body, d, inner_product);
  }
  for (; c < count; c++) {
    const float* row = centroids + c * d;
    float32x4_t a = vdupq_n_f32(0);
    for (size_t j = 0; j < body; j += 4) a = Accumulate(a, vld1q_f32(query + j), row + j, inner_product);
    scores[c] = vaddvq_f32(a) + ScalarPair(query, row, body, d, inner_product);
  }
}

#endif

struct Kernel {
  ScoreFn score;
  const char* name;
};

Kernel ChooseKernel() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {ScoreAvx2, "avx2"};
  return {ScoreSse2, "sse2"};
#elif defined(__aarch64__)
  return {ScoreNeon, "neon"};
#else
  return {ScoreScalar, "scalar"};
#endif
}

const Kernel& ActiveKernel() {
  static const Kernel kernel = ChooseKernel();
  return kernel;
}

// Centroids are scored in blocks that stay in cache while every query of the
// call visits them, so large nlist costs one pass over memory per call.
constexpr size_t kBlockBytes = 64 * 1024;

// (key, list) with smaller keys better; a total order, so the kept set does
// not depend on the order candidates arrive in.
using Candidate = std::pair<float, idx_t>;

}  // namespace

const char* CoarseKernelName() { return ActiveKernel().name; }

void AssignToLists(const float* centroids, size_t nlist, size_t d, bool inner_product, idx_t n,
                   const float* queries, size_t nprobe, idx_t* lists, float* distances) {
  if (n <= 0 || nprobe == 0) return;
  const ScoreFn score = ActiveKernel().score;
  const size_t block = std::clamp<size_t>(kBlockBytes / (d * sizeof(float)), 4, nlist);
  std::vector<float> scores(block);
  // One max-heap of the best nprobe per query, worst on top.
  std::vector<Candidate> heaps(static_cast<size_t>(n) * nprobe);
  std::vector<size_t> sizes(static_cast<size_t>(n), 0);

  for (size_t first = 0; first < nlist; first += block) {
    const size_t count = std::min(block, nlist - first);
    for (idx_t q = 0; q < n; q++) {
      score(queries + q * d, centroids + first * d, count, d, inner_product, scores.data());
      Candidate* heap = heaps.data() + q * nprobe;
      size_t& size = sizes[q];
      for (size_t c = 0; c < count; c++) {
        Candidate candidate{inner_product ? -scores[c] : scores[c], static_cast<idx_t>(first + c)};
        if (size < nprobe) {
          heap[size++] = candidate;
          std::push_heap(heap, heap + size);
        } else if (candidate < heap[0]) {
          std::pop_heap(heap, heap + size);
          heap[size - 1] = candidate;
          std::push_heap(heap, heap + size);
        }
      }
    }
  }

  for (idx_t q = 0; q < n; q++) {
    Candidate* heap = heaps.data() + q * nprobe;
    std::sort_heap(heap, heap + nprobe);
    for (size_t i = 0; i < nprobe; i++) {
      lists[q * nprobe + i] = heap[i].second;
      distances[q * nprobe + i] = inner_product ? -heap[i].first : heap[i].first;
    }
  }
}

}  // namespace faiss_native
