// What a search on one index has recently cost, so that an async search too
// cheap to be worth the pool hop can run on the calling thread instead. The
// hop itself (async work, pins, the loop's wake-up, the settle step) costs the
// event loop about 40 µs of CPU per call on a current x64 core, more than such
// a search: running it inline blocks the loop for less time, not more.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace faiss_native {

// Searches measured at up to this many nanoseconds per call run inline; 0:
// none. Process-wide, like the thread budget (setInlineSearchBudget).
inline std::atomic<int64_t> inline_budget_ns{40'000};

// Inline searches within one turn of the event loop stop at this much time
// together (or one per-call budget, if larger): a loop of awaited cheap
// searches settles through microtasks only, and would otherwise keep timers
// and I/O waiting for as long as it runs.
inline constexpr int64_t kInlineTurnNs = 1'000'000;

class SearchCost {
 public:
  // signature: what changes the cost of a row besides the index itself (k,
  // options); a search with a new signature is never predicted cheap.
  // The expected time of such a search when it fits the inline budget, else -1.
  int64_t PredictInline(int64_t rows, uint64_t signature) const {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t budget = inline_budget_ns.load(std::memory_order_relaxed);
    if (budget <= 0 || signature != signature_ || ns_per_row_ < 0) return -1;
    int64_t predicted = ns_per_row_ * rows;
    return predicted <= budget ? predicted : -1;
  }

  void Forget() {
    std::lock_guard<std::mutex> lock(mutex_);
    ns_per_row_ = -1;
  }

  void Record(int64_t rows, uint64_t signature, int64_t ns) {
    if (rows <= 0) return;
    int64_t per_row = ns / rows;
    std::lock_guard<std::mutex> lock(mutex_);
    if (signature != signature_ || ns_per_row_ < 0) {
      signature_ = signature;
      ns_per_row_ = per_row;
    } else {
      // A moving average: one slow run (a page fault, a busy core) does not
      // send every later search to the pool, nor one fast run the reverse.
      ns_per_row_ += (per_row - ns_per_row_) / 4;
    }
  }

 private:
  mutable std::mutex mutex_;
  uint64_t signature_ = 0;
  int64_t ns_per_row_ = -1;  // unknown until a search with this signature ran
};

// The inline time spent in the current turn of one JS thread's event loop.
// A turn is recognised by the loop's cached clock, which libuv updates once
// per iteration: turns within the same millisecond count as one, which only
// sends a search to the pool earlier.
class InlineTurn {
 public:
  bool Admits(uint64_t loop_now_ms, int64_t predicted_ns) {
    if (loop_now_ms != loop_now_ms_) {
      loop_now_ms_ = loop_now_ms;
      spent_ns_ = 0;
    }
    int64_t limit = std::max(kInlineTurnNs, inline_budget_ns.load(std::memory_order_relaxed));
    return spent_ns_ + predicted_ns <= limit;
  }
  void Spend(int64_t ns) { spent_ns_ += ns; }

 private:
  uint64_t loop_now_ms_ = UINT64_MAX;
  int64_t spent_ns_ = 0;
};

// Runs a search body, recording its time when it succeeds.
template <typename Body>
void TimedSearch(SearchCost& cost, int64_t rows, uint64_t signature, Body&& body) {
  auto start = std::chrono::steady_clock::now();
  body();
  auto elapsed = std::chrono::steady_clock::now() - start;
  cost.Record(rows, signature, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
}

// Folds one value into a signature (FNV-1a over its bytes).
inline uint64_t MixSignature(uint64_t signature, int64_t value) {
  if (signature == 0) signature = 1469598103934665603ull;
  for (int i = 0; i < 8; i++) {
    signature ^= static_cast<uint64_t>(value >> (8 * i)) & 0xff;
    signature *= 1099511628211ull;
  }
  return signature;
}

}  // namespace faiss_native
