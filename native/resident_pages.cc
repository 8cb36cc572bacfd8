#include "resident_pages.h"

#include <unistd.h>

#include <cstdint>

namespace faiss_native {

void FaultInZeroedPages(void* data, size_t bytes) {
  if (bytes == 0) return;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  auto* first = static_cast<volatile unsigned char*>(data);
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  *first = 0;
  // The first byte of each later page.
  for (uintptr_t at = (start / page + 1) * page; at < start + bytes; at += page) {
    first[at - start] = 0;
  }
}

}  // namespace faiss_native
