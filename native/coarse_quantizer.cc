#include "coarse_quantizer.h"

#include <faiss/IndexFlat.h>

#include <algorithm>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace faiss_native {

namespace {

// Inner products of one query with count consecutive rows. Every pair gets
// the same instruction sequence, whichever block or batch it sits in.
using InnerProductsFn = void (*)(const float* query, const float* rows, size_t count, size_t d, float* out);

float ScalarTail(const float* query, const float* row, size_t begin, size_t d) {
  float sum = 0;
  for (size_t j = begin; j < d; j++) sum += query[j] * row[j];
  return sum;
}

[[maybe_unused]] void InnerProductsScalar(const float* query, const float* rows, size_t count, size_t d,
                                          float* out) {
  for (size_t c = 0; c < count; c++) out[c] = ScalarTail(query, rows + c * d, 0, d);
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) inline float Sum8(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_shuffle_ps(sum, sum, 1));
  return _mm_cvtss_f32(sum);
}

__attribute__((target("avx2,fma"))) void InnerProductsAvx2(const float* query, const float* rows,
                                                                          size_t count, size_t d, float* out) {
  const size_t body = d - d % 8;
  size_t c = 0;
  // Four rows per pass share each query load.
  for (; c + 4 <= count; c += 4) {
    const float* r = rows + c * d;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < body; j += 8) {
      __m256 q = _mm256_loadu_ps(query + j);
      a0 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + j), a0);
      a1 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + d + j), a1);
      a2 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 2 * d + j), a2);
      a3 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 3 * d + j), a3);
    }
    out[c] = Sum8(a0) + ScalarTail(query, r, body, d);
    out[c + 1] = Sum8(a1) + ScalarTail(query, r + d, body, d);
    out[c + 2] = Sum8(a2) + ScalarTail(query, r + 2 * d, body, d);
    out[c + 3] = Sum8(a3) + ScalarTail(query, r + 3 * d, body, d);
  }
  for (; c < count; c++) {
    const float* r = rows + c * d;
    __m256 a = _mm256_setzero_ps();
    for (size_t j = 0; j < body; j += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(query + j), _mm256_loadu_ps(r + j), a);
    out[c] = Sum8(a) + ScalarTail(query, r, body, d);
  }
}

void InnerProductsSse2(const float* query, const float* rows, size_t count, size_t d,
                                                    float* out) {
  const size_t body = d - d % 4;
  for (size_t c = 0; c < count; c++) {
    const float* r = rows + c * d;
    __m128 a = _mm_setzero_ps();
    for (size_t j = 0; j < body; j += 4) a = _mm_add_ps(a, _mm_mul_ps(_mm_loadu_ps(query + j), _mm_loadu_ps(r + j)));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
    out[c] = _mm_cvtss_f32(a) + ScalarTail(query, r, body, d);
  }
}

#elif defined(__aarch64__)

void InnerProductsNeon(const float* query, const float* rows, size_t count, size_t d,
                                                    float* out) {
  const size_t body = d - d % 4;
  size_t c = 0;
  for (; c + 4 <= count; c += 4) {
    const float* r = rows + c * d;
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < body; j += 4) {
      float32x4_t q = vld1q_f32(query + j);
      a0 = vfmaq_f32(a0, q, vld1q_f32(r + j));
      a1 = vfmaq_f32(a1, q, vld1q_f32(r + d + j));
      a2 = vfmaq_f32(a2, q, vld1q_f32(r + 2 * d + j));
      a3 = vfmaq_f32(a3, q, vld1q_f32(r + 3 * d + j));
    }
    out[c] = vaddvq_f32(a0) + ScalarTail(query, r, body, d);
    out[c + 1] = vaddvq_f32(a1) + ScalarTail(query, r + d, body, d);
    out[c + 2] = vaddvq_f32(a2) + ScalarTail(query, r + 2 * d, body, d);
    out[c + 3] = vaddvq_f32(a3) + ScalarTail(query, r + 3 * d, body, d);
  }
  for (; c < count; c++) {
    const float* r = rows + c * d;
    float32x4_t a = vdupq_n_f32(0);
    for (size_t j = 0; j < body; j += 4) a = vfmaq_f32(a, vld1q_f32(query + j), vld1q_f32(r + j));
    out[c] = vaddvq_f32(a) + ScalarTail(query, r, body, d);
  }
}

#endif

InnerProductsFn ChooseKernel() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return InnerProductsAvx2;
  return InnerProductsSse2;
#elif defined(__aarch64__)
  return InnerProductsNeon;
#else
  return InnerProductsScalar;
#endif
}

InnerProductsFn ActiveKernel() {
  static const InnerProductsFn kernel = ChooseKernel();
  return kernel;
}

float SquaredNorm(const float* row, size_t d) {
  float norm;
  ActiveKernel()(row, row, 1, d, &norm);
  return norm;
}

// Centroids are scored in blocks that stay in cache while every query of the
// call visits them, so a large nlist costs one pass over memory per call.
constexpr size_t kBlockBytes = 64 * 1024;

// (key, list) with smaller keys better; a total order, so the kept set does
// not depend on the order candidates arrive in.
using Candidate = std::pair<float, idx_t>;

}  // namespace

std::unique_ptr<CoarseQuantizer> CoarseQuantizer::For(const faiss::IndexIVF& ivf) {
  auto* flat = dynamic_cast<const faiss::IndexFlat*>(ivf.quantizer);
  if (!ivf.is_trained || flat == nullptr || flat->d != ivf.d || flat->ntotal != static_cast<idx_t>(ivf.nlist)) {
    return nullptr;
  }
  if (flat->metric_type != faiss::METRIC_L2 && flat->metric_type != faiss::METRIC_INNER_PRODUCT) return nullptr;
  return std::unique_ptr<CoarseQuantizer>(
      new CoarseQuantizer(flat->get_xb(), ivf.nlist, ivf.d, flat->metric_type == faiss::METRIC_INNER_PRODUCT));
}

CoarseQuantizer::CoarseQuantizer(const float* centroids, size_t nlist, size_t d, bool inner_product)
    : centroids_(centroids), nlist_(nlist), d_(d), inner_product_(inner_product) {
  if (inner_product_) return;
  norms_.resize(nlist_);
  for (size_t c = 0; c < nlist_; c++) norms_[c] = SquaredNorm(centroids_ + c * d_, d_);
}

void CoarseQuantizer::Assign(idx_t n, const float* queries, size_t nprobe, idx_t* lists,
                             float* distances) const {
  if (n <= 0 || nprobe == 0) return;
  nprobe = std::min(nprobe, nlist_);
  const InnerProductsFn inner_products = ActiveKernel();
  const size_t block = std::clamp<size_t>(kBlockBytes / (d_ * sizeof(float)), 4, nlist_);
  std::vector<float> products(block);
  std::vector<float> query_norms(inner_product_ ? 0 : n);
  for (size_t q = 0; q < query_norms.size(); q++) query_norms[q] = SquaredNorm(queries + q * d_, d_);
  // One max-heap of the best nprobe per query, worst on top.
  std::vector<Candidate> heaps(static_cast<size_t>(n) * nprobe);
  std::vector<size_t> sizes(static_cast<size_t>(n), 0);

  for (size_t first = 0; first < nlist_; first += block) {
    const size_t count = std::min(block, nlist_ - first);
    for (idx_t q = 0; q < n; q++) {
      inner_products(queries + q * d_, centroids_ + first * d_, count, d_, products.data());
      Candidate* heap = heaps.data() + q * nprobe;
      size_t& size = sizes[q];
      for (size_t c = 0; c < count; c++) {
        float key;
        if (inner_product_) {
          key = -products[c];
        } else {
          // The same expression and clamp as Faiss's BLAS path (exhaustive_L2sqr_blas).
          key = query_norms[q] + norms_[first + c] - 2 * products[c];
          if (key < 0) key = 0;
        }
        Candidate candidate{key, static_cast<idx_t>(first + c)};
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
      distances[q * nprobe + i] = inner_product_ ? -heap[i].first : heap[i].first;
    }
  }
}

}  // namespace faiss_native
