#include "faiss_output.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>

// The real stdio functions: calls from this file are wrapped as well.
extern "C" int __real_fprintf(FILE* stream, const char* format, ...);
extern "C" int __real_fputs(const char* text, FILE* stream);
extern "C" int __real_fflush(FILE* stream);

namespace faiss_native {

namespace {
thread_local FaissWarnings* current = nullptr;

std::string Format(const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int length = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (length <= 0) return {};
  std::string text(static_cast<size_t>(length) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  text.resize(static_cast<size_t>(length));
  return text;
}
}  // namespace

FaissWarnings::FaissWarnings() : outer_(current) { current = this; }
FaissWarnings::~FaissWarnings() { current = outer_; }

void CollectWarning(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  if (message.empty()) return;
  if (current != nullptr) {
    // Faiss repeats a warning per sub-quantizer (96 times for PQ96): once is enough.
    auto& messages = current->messages_;
    if (std::find(messages.begin(), messages.end(), message) == messages.end()) messages.push_back(std::move(message));
  } else {
    // No operation to report it (an OpenMP thread, a load): stderr, never stdout.
    __real_fprintf(stderr, "faiss-native: %s\n", message.c_str());
  }
}

void EmitWarnings(Napi::Env env, const std::vector<std::string>& messages) {
  if (messages.empty()) return;
  try {
    Napi::Object process = env.Global().Get("process").As<Napi::Object>();
    Napi::Function emit = process.Get("emitWarning").As<Napi::Function>();
    for (const std::string& message : messages) {
      emit.Call(process, {Napi::String::New(env, message), Napi::String::New(env, "FaissWarning")});
    }
  } catch (...) {
    // A warning must never turn a finished operation into a failure.
  }
}

}  // namespace faiss_native

// The link sends every stdio call Faiss and OpenBLAS make through these.
extern "C" {

__attribute__((visibility("hidden"))) int __wrap_printf(const char* format, ...) { return 0; }

__attribute__((visibility("hidden"))) int __wrap_puts(const char* text) { return 0; }

__attribute__((visibility("hidden"))) int __wrap_putchar(int c) { return c; }

__attribute__((visibility("hidden"))) int __wrap_fflush(FILE* stream) {
  return stream == stdout ? 0 : __real_fflush(stream);
}

__attribute__((visibility("hidden"))) int __wrap_fprintf(FILE* stream, const char* format, ...) {
  va_list args;
  va_start(args, format);
  int result = 0;
  if (stream == stderr) {
    std::string text = faiss_native::Format(format, args);
    result = static_cast<int>(text.size());
    faiss_native::CollectWarning(std::move(text));
  } else if (stream != stdout) {
    result = std::vfprintf(stream, format, args);
  }
  va_end(args);
  return result;
}

__attribute__((visibility("hidden"))) int __wrap_fputs(const char* text, FILE* stream) {
  if (stream == stderr) {
    faiss_native::CollectWarning(text);
    return 0;
  }
  return stream == stdout ? 0 : __real_fputs(text, stream);
}
}
