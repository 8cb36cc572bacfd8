#include "errors.h"

#include <faiss/impl/FaissException.h>

#include <new>

#include "addon_data.h"

namespace faiss_native {

namespace {

// Faiss messages carry a C++ source location ("Error in void faiss::...() at
// /build/.../IndexIVF.cpp:42: Error: 'x' failed: ..."); keep what the user can act on.
std::string TrimFaissMessage(const std::string& what) {
  const std::string marker = "Error: ";
  size_t at = what.rfind(marker);
  if (what.rfind("Error in ", 0) == 0 && at != std::string::npos && at > 0) {
    return what.substr(at + marker.size());
  }
  return what;
}

}  // namespace

ErrorInfo CaptureCurrentException() {
  try {
    throw;
  } catch (const NativeError& e) {
    return {e.kind(), e.code(), e.what()};
  } catch (const faiss::FaissException& e) {
    return {ErrorKind::Faiss, codes::kFaiss, "Faiss: " + TrimFaissMessage(e.what())};
  } catch (const std::bad_alloc&) {
    return {ErrorKind::Faiss, codes::kOutOfMemory, "out of memory"};
  } catch (const std::exception& e) {
    return {ErrorKind::Faiss, codes::kFaiss, e.what()};
  } catch (...) {
    return {ErrorKind::Faiss, codes::kFaiss, "unknown native error"};
  }
}

Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info) {
  switch (info.kind) {
    case ErrorKind::Type:
      return Napi::TypeError::New(env, info.message);
    case ErrorKind::Range:
      return Napi::RangeError::New(env, info.message);
    case ErrorKind::Faiss:
      break;
  }
  AddonData* data = AddonData::Get(env);
  if (data != nullptr && !data->faiss_error_class.IsEmpty()) {
    Napi::Object error = data->faiss_error_class.New(
        {Napi::String::New(env, info.message), Napi::String::New(env, info.code)});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("name", Napi::String::New(env, "FaissError"));
  error.Set("code", Napi::String::New(env, info.code));
  return error;
}

}  // namespace faiss_native
