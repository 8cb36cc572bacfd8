// An index operation prepared on the JS thread (arguments checked, inputs and
// outputs pinned) that can run either blocking or as a Promise. Both forms of
// every method go through here, so they cannot drift apart.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "op_queue.h"
#include "search_cost.h"

namespace faiss_native {

// A search whose recent cost says it may run on the calling thread (see search_cost.h).
struct InlineHint {
  const SearchCost* cost = nullptr;  // null: always the pool
  int64_t rows = 0;
  uint64_t signature = 0;
};

struct PreparedOp {
  const char* name;
  Access access;
  std::vector<Napi::Value> pins;                // kept alive until settled
  std::function<void()> body;                   // runs in the queue's turn
  std::function<Napi::Value(Napi::Env)> settle;  // runs on the JS thread
  InlineHint inline_hint = {};
};

// queue may be null for work that belongs to no index yet (reading a file).
// An async call returns a Promise, except a search whose InlineHint says it
// is cheaper than the pool hop: that runs at once and returns its value.
Napi::Value RunOperation(Napi::Env env, PreparedOp op, bool async, std::shared_ptr<OpQueue> queue);

// Runs body on the calling thread once every earlier operation that must
// precede it has finished.
template <typename Body>
auto RunInTurn(OpQueue& queue, Access access, Body&& body) -> decltype(body()) {
  Turn turn(queue, queue.Enqueue(access));
  return body();
}

}  // namespace faiss_native
