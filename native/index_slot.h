// What a JS index object and its in-flight async operations share: the
// operation queue and the index itself. Async work holds the slot by
// shared_ptr, so it outlives the JS object if it has to.
#pragma once

#include <memory>

#include "errors.h"
#include "ivfpq_core.h"
#include "op_queue.h"

namespace faiss_native {

struct IndexSlot {
  OpQueue queue;
  std::unique_ptr<IvfpqCore> core;  // null once disposed

  IvfpqCore& Core() const {
    if (!core) ThrowFaiss("index has been disposed", codes::kDisposed);
    return *core;
  }
};

// Runs body on the calling thread once every earlier operation that must
// precede it has finished.
template <typename Body>
auto RunInTurn(IndexSlot& slot, Access access, Body&& body) -> decltype(body()) {
  Turn turn(slot.queue, slot.queue.Enqueue(access));
  return body();
}

}  // namespace faiss_native
