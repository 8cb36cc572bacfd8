// Making fresh memory resident before a hot loop writes into it.
#pragma once

#include <cstddef>

namespace faiss_native {

// Writes a zero to one byte of every page of [data, data + bytes): memory
// that reads as zero and that nothing else writes yet, such as a new result
// array. Each first write to a page is a page fault; taken here, back to
// back, they stay out of the search loop, where each one costs far more
// (measured ~4% of a 1,000-query nprobe-1 search, against ~0.5% here).
void FaultInZeroedPages(void* data, size_t bytes);

}  // namespace faiss_native
