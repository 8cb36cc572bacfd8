#include "threads.h"

#include <omp.h>

#include <algorithm>
#include <atomic>

namespace faiss_native {

namespace {

int InitialThreads() { return std::max(1, omp_get_max_threads()); }

std::atomic<int> default_threads{InitialThreads()};
std::atomic<int> active_operations{0};

}  // namespace

int DefaultThreads() { return default_threads.load(); }

void SetDefaultThreads(int threads) { default_threads.store(std::max(1, threads)); }

int HardwareThreads() { return std::max(1, omp_get_num_procs()); }

ThreadScope::ThreadScope(int requested, int64_t work_items) {
  int running = active_operations.fetch_add(1) + 1;
  if (requested > 0) {
    threads_ = requested;
  } else {
    int share = std::max(1, DefaultThreads() / running);
    threads_ = static_cast<int>(std::clamp<int64_t>(work_items, 1, share));
  }
  // Sets this thread's own OpenMP ICV: pool threads do not affect each other.
  omp_set_num_threads(threads_);
}

ThreadScope::~ThreadScope() { active_operations.fetch_sub(1); }

}  // namespace faiss_native
