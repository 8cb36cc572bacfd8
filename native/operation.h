// An index operation prepared on the JS thread (arguments checked, inputs and
// outputs pinned) that can run either blocking or as a Promise. Both forms of
// every method go through here, so they cannot drift apart.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "op_queue.h"

namespace faiss_native {

struct PreparedOp {
  const char* name;
  Access access;
  std::vector<Napi::Value> pins;                // kept alive until settled
  std::function<void()> body;                   // runs in the queue's turn
  std::function<Napi::Value(Napi::Env)> settle;  // runs on the JS thread
};

// queue may be null for work that belongs to no index yet (reading a file).
Napi::Value RunOperation(Napi::Env env, PreparedOp op, bool async, std::shared_ptr<OpQueue> queue);

// Runs body on the calling thread once every earlier operation that must
// precede it has finished.
template <typename Body>
auto RunInTurn(OpQueue& queue, Access access, Body&& body) -> decltype(body()) {
  Turn turn(queue, queue.Enqueue(access));
  return body();
}

}  // namespace faiss_native
