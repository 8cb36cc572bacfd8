#include "transfer.h"

#include <cstring>
#include <memory>

#include "args.h"
#include "errors.h"

namespace faiss_native {

ByteView BytesArg(const Napi::Value& value, const char* name) {
  if (value.IsArrayBuffer()) {
    auto buffer = value.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(buffer.Data()), buffer.ByteLength()};
  }
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto view = value.As<Napi::Uint8Array>();
    return {view.Data(), view.ByteLength()};
  }
  ThrowType(std::string("Expected a Buffer or Uint8Array for ") + name + " but received " + DescribeValue(value));
}

Napi::Value BufferFromBytes(Napi::Env env, std::vector<uint8_t> bytes) {
  auto owned = std::make_unique<std::vector<uint8_t>>(std::move(bytes));
  uint8_t* data = owned->data();
  size_t size = owned->size();
  return Napi::Buffer<uint8_t>::New(env, data, size,
                                    [](Napi::Env, uint8_t*, std::vector<uint8_t>* bytes) { delete bytes; },
                                    owned.release());
}

Napi::Value RangeSearchToJs(Napi::Env env, const faiss::RangeSearchResult& found, int64_t n) {
  size_t total = found.lims[n];
  if (total > UINT32_MAX) ThrowRange("range search found more than 2^32 results");
  auto lims = Napi::Uint32Array::New(env, static_cast<size_t>(n) + 1);
  uint32_t* lim_out = lims.Data();
  for (int64_t i = 0; i <= n; i++) lim_out[i] = static_cast<uint32_t>(found.lims[i]);
  auto distances = Napi::Float32Array::New(env, total);
  auto labels = Napi::BigInt64Array::New(env, total);
  if (total > 0) {  // an empty typed array has no data pointer
    std::memcpy(distances.Data(), found.distances, total * sizeof(float));
    std::memcpy(labels.Data(), found.labels, total * sizeof(int64_t));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("lims", lims);
  out.Set("distances", distances);
  out.Set("labels", labels);
  return out;
}

}  // namespace faiss_native
