#pragma once

#include <napi.h>

#include <faiss/MetricType.h>

namespace faiss_native {

// Cosine is inner product over L2-normalised vectors.
enum class Metric { L2, InnerProduct, Cosine };

const char* MetricName(Metric metric);
Metric MetricArg(const Napi::Value& value);  // 'l2' | 'ip' | 'cosine', else TypeError

inline faiss::MetricType FaissMetric(Metric metric) {
  return metric == Metric::L2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

}  // namespace faiss_native
