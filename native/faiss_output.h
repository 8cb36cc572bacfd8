// What Faiss prints. Its progress lines go to stdout, which servers use for
// their protocol (stdio MCP servers, CLIs piping JSON): the link routes
// Faiss's stdio calls here (-Wl,--wrap, binding.gyp and CMakeLists.txt), stdout
// output is dropped, and its stderr warnings are collected by the operation
// that caused them and re-emitted as process warnings on the JS thread.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace faiss_native {

// While alive, Faiss's warnings on this thread are collected instead of
// written to stderr.
class FaissWarnings {
 public:
  FaissWarnings();
  ~FaissWarnings();
  FaissWarnings(const FaissWarnings&) = delete;
  FaissWarnings& operator=(const FaissWarnings&) = delete;

  std::vector<std::string> Take() { return std::move(messages_); }

 private:
  friend void CollectWarning(std::string message);
  std::vector<std::string> messages_;
  FaissWarnings* outer_;
};

// process.emitWarning(message, 'FaissWarning') for each; never throws.
void EmitWarnings(Napi::Env env, const std::vector<std::string>& messages);

}  // namespace faiss_native
