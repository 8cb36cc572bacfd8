#include "metric.h"

#include <string>

#include "args.h"
#include "errors.h"

namespace faiss_native {

const char* MetricName(Metric metric) {
  switch (metric) {
    case Metric::L2:
      return "l2";
    case Metric::InnerProduct:
      return "ip";
    case Metric::Cosine:
      return "cosine";
  }
  return "l2";
}

Metric MetricArg(const Napi::Value& value) {
  std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (name == "l2") return Metric::L2;
  if (name == "ip") return Metric::InnerProduct;
  if (name == "cosine") return Metric::Cosine;
  ThrowType("Expected 'l2', 'ip' or 'cosine' for metric but received " + DescribeValue(value));
}

}  // namespace faiss_native
