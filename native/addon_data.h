// Per-environment state: the main thread and every worker thread that loads the
// addon get their own, so nothing JS-side is shared across environments.
#pragma once

#include <napi.h>
#include "loop_clock.h"
#include "search_cost.h"

namespace faiss_native {

struct AddonData {
  Napi::FunctionReference faiss_error_class;
  Napi::FunctionReference any_index_class;
  LoopClock loop_clock;
  InlineTurn inline_turn;

  static AddonData* Get(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};

}  // namespace faiss_native
