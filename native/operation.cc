#include "operation.h"

#include <chrono>

#include "addon_data.h"
#include "async_op.h"
#include "faiss_output.h"

namespace faiss_native {
namespace {

int64_t ElapsedNs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
}

// Whether an async search may run on the calling thread: its recent cost is
// under the per-call budget and this turn of the event loop has room for it.
bool InlineAdmitted(Napi::Env env, const InlineHint& hint, InlineTurn** turn) {
  if (hint.cost == nullptr) return false;
  int64_t predicted = hint.cost->PredictInline(hint.rows, hint.signature);
  if (predicted < 0) return false;
  AddonData* data = AddonData::Get(env);
  if (data == nullptr || !data->loop_clock.available()) return false;
  if (!data->inline_turn.Admits(data->loop_clock.Now(), predicted)) return false;
  *turn = &data->inline_turn;
  return true;
}

}  // namespace

Napi::Value RunOperation(Napi::Env env, PreparedOp op, bool async, std::shared_ptr<OpQueue> queue) {
  uint64_t ticket = 0;
  InlineTurn* inline_turn = nullptr;
  if (async) {
    if (queue && InlineAdmitted(env, op.inline_hint, &inline_turn)) ticket = queue->EnqueueIfReady(op.access);
    if (ticket == 0) {
      return AsyncOp::Start(env, op.name, std::move(queue), op.access, op.pins, std::move(op.body),
                            std::move(op.settle));
    }
  }
  // Blocking, or an async call cheaper than the pool hop run here: then the
  // caller gets the value itself (or the error thrown, with its stack) and
  // makes the Promise.
  FaissWarnings warnings;
  auto start = std::chrono::steady_clock::now();
  try {
    if (queue) {
      Turn turn(*queue, ticket != 0 ? ticket : queue->Enqueue(op.access));
      op.body();
    } else {
      op.body();
    }
  } catch (...) {
    if (inline_turn) inline_turn->Spend(ElapsedNs(start));
    EmitWarnings(env, warnings.Take());
    throw;
  }
  if (inline_turn) inline_turn->Spend(ElapsedNs(start));
  EmitWarnings(env, warnings.Take());
  return op.settle(env);
}

}  // namespace faiss_native
