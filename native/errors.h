// Error model shared by the sync and async paths. Native code throws
// NativeError (or lets Faiss throw); the boundary turns whatever was thrown into
// an ErrorInfo, and ErrorInfo into the matching JS error class.
#pragma once

#include <napi.h>

#include <exception>
#include <stdexcept>
#include <string>

namespace faiss_native {

enum class ErrorKind {
  Type,   // TypeError
  Range,  // RangeError
  Faiss,  // FaissError: Faiss rejected the call, I/O failed, or bad state
};

// Codes carried by FaissError.code, so callers can branch without parsing text.
namespace codes {
inline constexpr const char* kFaiss = "ERR_FAISS";
inline constexpr const char* kIo = "ERR_FAISS_IO";
inline constexpr const char* kNotTrained = "ERR_FAISS_NOT_TRAINED";
inline constexpr const char* kAlreadyTrained = "ERR_FAISS_ALREADY_TRAINED";
inline constexpr const char* kDisposed = "ERR_FAISS_DISPOSED";
inline constexpr const char* kBadFile = "ERR_FAISS_BAD_FILE";
inline constexpr const char* kOutOfMemory = "ERR_FAISS_OUT_OF_MEMORY";
inline constexpr const char* kReadOnly = "ERR_FAISS_READ_ONLY";
inline constexpr const char* kIncompatible = "ERR_FAISS_INCOMPATIBLE";
inline constexpr const char* kNoDirectMap = "ERR_FAISS_NO_DIRECT_MAP";
inline constexpr const char* kUnsupported = "ERR_FAISS_UNSUPPORTED";
}  // namespace codes

class NativeError : public std::runtime_error {
 public:
  NativeError(ErrorKind kind, std::string message, const char* code = codes::kFaiss)
      : std::runtime_error(std::move(message)), kind_(kind), code_(code) {}
  ErrorKind kind() const { return kind_; }
  const char* code() const { return code_; }

 private:
  ErrorKind kind_;
  const char* code_;
};

[[noreturn]] inline void ThrowType(std::string message) {
  throw NativeError(ErrorKind::Type, std::move(message));
}
[[noreturn]] inline void ThrowRange(std::string message) {
  throw NativeError(ErrorKind::Range, std::move(message));
}
[[noreturn]] inline void ThrowFaiss(std::string message, const char* code = codes::kFaiss) {
  throw NativeError(ErrorKind::Faiss, std::move(message), code);
}

struct ErrorInfo {
  ErrorKind kind = ErrorKind::Faiss;
  std::string code = codes::kFaiss;
  std::string message;
};

// Classifies the exception currently being handled; call only inside catch.
ErrorInfo CaptureCurrentException();

Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info);

// Runs body on the JS thread and rethrows any native failure as a JS error.
template <typename Body>
auto Guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw ToJsError(env, CaptureCurrentException());
  }
}

}  // namespace faiss_native
