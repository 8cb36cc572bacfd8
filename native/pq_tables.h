// Faster, bit-identical replacements for three of Faiss's vector loops,
// substituted at link time on x86-64 (see pq_tables.cc).
#pragma once

#include <cstdint>

namespace faiss_native {

struct PqTableCheck {
  bool substituted = false;  // false where the link does not wrap Faiss's loops
  int64_t cases = 0;
  int64_t mismatches = 0;  // outputs that differ in any bit from Faiss's own loop
};

// Runs the replacements and Faiss's originals on the same pseudo-random
// inputs (many lengths and row counts) and compares every output bit.
PqTableCheck CheckPqTables();

}  // namespace faiss_native
