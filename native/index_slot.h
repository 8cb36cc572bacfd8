// What a JS index object and its in-flight async operations share: the
// operation queue and the index itself. Async work holds the slot by
// shared_ptr, so it outlives the JS object if it has to.
#pragma once

#include <memory>

#include "errors.h"
#include "op_queue.h"
#include "search_cost.h"

namespace faiss_native {

template <typename Core>
struct IndexSlot {
  std::shared_ptr<OpQueue> queue = std::make_shared<OpQueue>();
  std::unique_ptr<Core> core;  // null once disposed
  SearchCost search_cost;

  Core& Live() const {
    if (!core) ThrowFaiss("index has been disposed", codes::kDisposed);
    return *core;
  }
};

}  // namespace faiss_native
