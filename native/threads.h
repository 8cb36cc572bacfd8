// OpenMP thread policy. libuv runs async calls on several pool threads; if each
// also opened a full OpenMP team, a few concurrent searches would bury the cores
// in threads. Each native operation therefore picks its team size on entry:
// an explicit per-call request wins; otherwise a call with one work item runs
// single-threaded, and the default team is shared among the operations running
// at that moment.
#pragma once

#include <cstdint>

namespace faiss_native {

int DefaultThreads();
void SetDefaultThreads(int threads);
int HardwareThreads();

class ThreadScope {
 public:
  // requested <= 0 means "choose"; work_items is e.g. the number of queries.
  ThreadScope(int requested, int64_t work_items);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

  int threads() const { return threads_; }

 private:
  int threads_;
};

}  // namespace faiss_native
