#include "operation.h"

#include "async_op.h"
#include "faiss_output.h"

namespace faiss_native {

Napi::Value RunOperation(Napi::Env env, PreparedOp op, bool async, std::shared_ptr<OpQueue> queue) {
  if (async) {
    return AsyncOp::Start(env, op.name, std::move(queue), op.access, op.pins, std::move(op.body),
                          std::move(op.settle));
  }
  FaissWarnings warnings;
  try {
    if (queue) {
      RunInTurn(*queue, op.access, op.body);
    } else {
      op.body();
    }
  } catch (...) {
    EmitWarnings(env, warnings.Take());
    throw;
  }
  EmitWarnings(env, warnings.Take());
  return op.settle(env);
}

}  // namespace faiss_native
