// Argument guards for the native boundary. The TypeScript layer validates
// first with friendlier messages; these keep native code from ever trusting a
// pointer and a length it did not check itself.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace faiss_native {

Napi::Float32Array Float32ArrayArg(const Napi::Value& value, const char* name);
Napi::BigInt64Array BigInt64ArrayArg(const Napi::Value& value, const char* name);
int64_t IntegerArg(const Napi::Value& value, const char* name, int64_t min, int64_t max);
std::string StringArg(const Napi::Value& value, const char* name);

// Number of d-dimensional rows in a non-empty array whose length is a multiple of d.
int64_t RowCount(const Napi::Float32Array& array, int64_t dimension, const char* name);

// Optional OpenMP thread count at info[index]; 0 when absent ("choose for me").
int ThreadsArg(const Napi::CallbackInfo& info, size_t index);

std::string DescribeValue(const Napi::Value& value);

}  // namespace faiss_native
