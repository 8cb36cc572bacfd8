// Orders the operations on one index the way they were called: each call takes
// a ticket on the JS thread, and runs once every earlier writer (for a reader)
// or every earlier operation (for a writer) has finished. Readers between two
// writers run concurrently.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>

namespace faiss_native {

enum class Access { Shared, Exclusive };

class OpQueue {
 public:
  uint64_t Enqueue(Access access);
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

}  // namespace faiss_native
