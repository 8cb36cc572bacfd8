// Backs large, long-lived tables with transparent huge pages.
//
// An L2 IVF-PQ search reads, per probed list, a 32 KB-or-larger slice of
// Faiss's precomputed table (nlist × m × 256 floats: 8 MB for SIFT10K's
// IVF256,PQ32, gigabytes at nlist 65536). On 4 KB pages each slice costs TLB
// misses, and where the table's pages land in physical memory changed search
// time by several percent from one process to the next.
#pragma once

#include <cstddef>

namespace faiss_native {

// Asks the kernel to back the 2 MB-aligned part of [data, data + bytes) with
// huge pages: at once where it can (MADV_COLLAPSE, Linux 6.1+), otherwise as
// khugepaged gets to it (MADV_HUGEPAGE). Best effort: a kernel or
// configuration that refuses changes nothing; tables below 4 MB are left alone.
void BackWithHugePages(const void* data, size_t bytes);

}  // namespace faiss_native
