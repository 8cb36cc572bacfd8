#include "args.h"

#include <cmath>

#include "errors.h"

namespace faiss_native {

std::string DescribeValue(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "a boolean";
    case napi_number:
      return "a number";
    case napi_string:
      return "a string";
    case napi_bigint:
      return "a bigint";
    case napi_function:
      return "a function";
    default:
      break;
  }
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array:
        return "a Float32Array";
      case napi_float64_array:
        return "a Float64Array";
      case napi_bigint64_array:
        return "a BigInt64Array";
      case napi_biguint64_array:
        return "a BigUint64Array";
      default:
        return "a typed array of another type";
    }
  }
  if (value.IsArray()) return "an Array";
  return "an object";
}

namespace {

void CheckAttached(const Napi::TypedArray& array, const char* name) {
  if (array.ArrayBuffer().IsDetached()) {
    ThrowType(std::string("Expected an attached buffer for ") + name +
              " but its ArrayBuffer is detached");
  }
}

}  // namespace

Napi::Float32Array Float32ArrayArg(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowType(std::string("Expected a Float32Array for ") + name + " but received " +
              DescribeValue(value));
  }
  auto array = value.As<Napi::Float32Array>();
  CheckAttached(array, name);
  return array;
}

Napi::BigInt64Array BigInt64ArrayArg(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array) {
    ThrowType(std::string("Expected a BigInt64Array for ") + name + " but received " +
              DescribeValue(value));
  }
  auto array = value.As<Napi::BigInt64Array>();
  CheckAttached(array, name);
  return array;
}

int64_t IntegerArg(const Napi::Value& value, const char* name, int64_t min, int64_t max) {
  if (!value.IsNumber()) {
    ThrowType(std::string("Expected an integer for ") + name + " but received " +
              DescribeValue(value));
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || number < double(min) ||
      number > double(max)) {
    ThrowRange(std::string("Expected an integer between ") + std::to_string(min) + " and " +
               std::to_string(max) + " for " + name + " but received " +
               (std::isfinite(number) ? std::to_string(number) : std::string("a non-finite number")));
  }
  return static_cast<int64_t>(number);
}

std::string StringArg(const Napi::Value& value, const char* name) {
  if (!value.IsString()) {
    ThrowType(std::string("Expected a string for ") + name + " but received " +
              DescribeValue(value));
  }
  std::string text = value.As<Napi::String>().Utf8Value();
  if (text.empty() || text.find('\0') != std::string::npos) {
    ThrowType(std::string("Expected a non-empty path without NUL bytes for ") + name);
  }
  return text;
}

int64_t RowCount(const Napi::Float32Array& array, int64_t dimension, const char* name) {
  size_t length = array.ElementLength();
  if (length == 0 || length % static_cast<size_t>(dimension) != 0) {
    ThrowRange(std::string("Expected a non-empty length that is a multiple of dimension (") +
               std::to_string(dimension) + ") for " + name + " but received length " +
               std::to_string(length));
  }
  return static_cast<int64_t>(length / static_cast<size_t>(dimension));
}

int ThreadsArg(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return 0;
  return static_cast<int>(IntegerArg(info[index], "threads", 0, 1024));
}

}  // namespace faiss_native
