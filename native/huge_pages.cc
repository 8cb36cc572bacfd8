#include "huge_pages.h"

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace faiss_native {

namespace {

constexpr uintptr_t kHugePage = uintptr_t(2) << 20;
// Below this, a table holds at most one whole huge page: not worth a system call.
constexpr size_t kMinimumBytes = size_t(4) << 20;
// MADV_COLLAPSE's value in the kernel ABI, for C libraries that predate it.
constexpr int kAdviseCollapse = 25;

}  // namespace

void BackWithHugePages(const void* data, size_t bytes) {
#if defined(__linux__)
  if (data == nullptr || bytes < kMinimumBytes) return;
  const uintptr_t address = reinterpret_cast<uintptr_t>(data);
  const uintptr_t start = (address + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (address + bytes) & ~(kHugePage - 1);
  if (end <= start) return;
  void* range = reinterpret_cast<void*>(start);
  const size_t length = end - start;
  if (madvise(range, length, kAdviseCollapse) != 0) madvise(range, length, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace faiss_native
