#include "async_op.h"

#include "faiss_output.h"

namespace faiss_native {

AsyncOp::AsyncOp(Napi::Env env, const char* name, std::shared_ptr<OpQueue> queue, Access access,
                 Body body, Settle settle)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      queue_(std::move(queue)),
      body_(std::move(body)),
      settle_(std::move(settle)) {
  // The ticket is taken here, on the JS thread, so operations keep call order
  // whatever order the pool threads pick them up in.
  if (queue_) ticket_ = queue_->Enqueue(access);
}

Napi::Promise AsyncOp::Start(Napi::Env env, const char* name, std::shared_ptr<OpQueue> queue,
                             Access access, const std::vector<Napi::Value>& pins, Body body,
                             Settle settle) {
  auto* op = new AsyncOp(env, name, std::move(queue), access, std::move(body), std::move(settle));
  for (const Napi::Value& pin : pins) op->pins_.push_back(Napi::Persistent(pin));
  Napi::Promise promise = op->deferred_.Promise();
  op->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

AsyncOp::~AsyncOp() {
  // Work that never ran (environment teardown) must not block later tickets.
  if (queue_ && !ticket_finished_) queue_->Finish(ticket_);
}

void AsyncOp::Execute() {
  FaissWarnings warnings;
  try {
    if (queue_) {
      ticket_finished_ = true;  // Turn finishes the ticket on every path out
      Turn turn(*queue_, ticket_);
      body_();
    } else {
      body_();
    }
  } catch (...) {
    failed_ = true;
    error_ = CaptureCurrentException();
  }
  warnings_ = warnings.Take();
}

void AsyncOp::OnOK() {
  Napi::Env env = Env();
  EmitWarnings(env, warnings_);
  try {
    if (failed_) {
      deferred_.Reject(ToJsError(env, error_).Value());
    } else {
      deferred_.Resolve(settle_(env));
    }
  } catch (...) {
    // Building the value failed (e.g. out of memory): reject with that; if even
    // that fails the environment is shutting down and nobody is waiting.
    try {
      deferred_.Reject(ToJsError(env, CaptureCurrentException()).Value());
    } catch (...) {
    }
  }
}

void AsyncOp::OnError(const Napi::Error& error) {
  try {
    deferred_.Reject(error.Value());
  } catch (...) {
  }
}

}  // namespace faiss_native
