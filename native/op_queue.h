// Orders the operations on one index the way they were called: each call takes
// a ticket on the JS thread, and runs once every earlier writer (for a reader)
// or every earlier operation (for a writer) has finished. Readers between two
// writers run concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace faiss_native {

enum class Access { Shared, Exclusive };

class OpQueue {
 public:
  uint64_t Enqueue(Access access);
  // A ticket that may run at once, or 0 (and nothing enqueued) if it would wait.
  uint64_t EnqueueIfReady(Access access);
  void WaitTurn(uint64_t ticket);
  void Finish(uint64_t ticket);
  bool Idle();

 private:
  bool MayRun(uint64_t ticket, Access access) const;

  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t next_ticket_ = 1;
  std::map<uint64_t, Access> outstanding_;  // issued and not yet finished
};

// Holds a turn for the lifetime of a scope, so an exception cannot leave the
// queue blocked.
class Turn {
 public:
  Turn(OpQueue& queue, uint64_t ticket) : queue_(queue), ticket_(ticket) {
    queue_.WaitTurn(ticket_);
  }
  ~Turn() { queue_.Finish(ticket_); }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

 private:
  OpQueue& queue_;
  uint64_t ticket_;
};

// A ticket taken on another index's queue, for operations that span two
// indexes (merging one into another). Released at the latest on destruction,
// so work that never runs cannot block that index forever.
class HeldTicket {
 public:
  HeldTicket(std::shared_ptr<OpQueue> queue, Access access)
      : queue_(std::move(queue)), ticket_(queue_->Enqueue(access)) {}
  ~HeldTicket() { Release(); }
  HeldTicket(const HeldTicket&) = delete;
  HeldTicket& operator=(const HeldTicket&) = delete;

  void Wait() { queue_->WaitTurn(ticket_); }
  void Release() {
    if (!released_.exchange(true)) queue_->Finish(ticket_);
  }

 private:
  std::shared_ptr<OpQueue> queue_;
  uint64_t ticket_;
  std::atomic<bool> released_{false};
};

}  // namespace faiss_native
