#include "op_queue.h"

namespace faiss_native {

uint64_t OpQueue::Enqueue(Access access) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t ticket = next_ticket_++;
  outstanding_.emplace(ticket, access);
  return ticket;
}

uint64_t OpQueue::EnqueueIfReady(Access access) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [earlier, earlier_access] : outstanding_) {
    if (access == Access::Exclusive || earlier_access == Access::Exclusive) return 0;
  }
  uint64_t ticket = next_ticket_++;
  outstanding_.emplace(ticket, access);
  return ticket;
}

bool OpQueue::MayRun(uint64_t ticket, Access access) const {
  for (const auto& [earlier, earlier_access] : outstanding_) {
    if (earlier >= ticket) return true;
    if (access == Access::Exclusive || earlier_access == Access::Exclusive) {
      return false;
    }
  }
  return true;
}

void OpQueue::WaitTurn(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto it = outstanding_.find(ticket);
  if (it == outstanding_.end()) return;
  Access access = it->second;
  changed_.wait(lock, [&] { return MayRun(ticket, access); });
}

void OpQueue::Finish(uint64_t ticket) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outstanding_.erase(ticket);
  }
  changed_.notify_all();
}

bool OpQueue::Idle() {
  std::lock_guard<std::mutex> lock(mutex_);
  return outstanding_.empty();
}

}  // namespace faiss_native
