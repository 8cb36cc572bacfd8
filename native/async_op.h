// One async operation: a baton of inputs pinned on the JS thread, a body run on
// a libuv pool thread in the index's turn, and a settle step back on the JS
// thread that builds the resolved value. The body touches only what it captured.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "errors.h"
#include "op_queue.h"

namespace faiss_native {

class AsyncOp : public Napi::AsyncWorker {
 public:
  using Body = std::function<void()>;
  using Settle = std::function<Napi::Value(Napi::Env)>;

  // queue may be null for work that belongs to no index yet (reading a file).
  // pins stay referenced until the promise settles, so neither the inputs nor
  // the result buffers nor the index object can be collected under the body.
  static Napi::Promise Start(Napi::Env env, const char* name, std::shared_ptr<OpQueue> queue,
                             Access access, const std::vector<Napi::Value>& pins, Body body,
                             Settle settle);

  ~AsyncOp() override;

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  AsyncOp(Napi::Env env, const char* name, std::shared_ptr<OpQueue> queue, Access access,
          Body body, Settle settle);

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<OpQueue> queue_;
  uint64_t ticket_ = 0;
  bool ticket_finished_ = false;
  Body body_;
  Settle settle_;
  std::vector<Napi::Reference<Napi::Value>> pins_;
  bool failed_ = false;
  ErrorInfo error_;
  std::vector<std::string> warnings_;  // Faiss's, emitted on the JS thread
};

}  // namespace faiss_native
