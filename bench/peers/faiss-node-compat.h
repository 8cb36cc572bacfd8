// faiss-node 0.5.1 is written for Faiss 1.7.4, which declares faiss::idx_t at
// namespace scope; Debian's Faiss 1.7.3 has it only as faiss::Index::idx_t
// (the same int64_t). Force-included (g++ -include) when building faiss-node
// against the system libfaiss.a; nothing else differs in the API it uses.
#pragma once
#include <cstdint>

namespace faiss {
using idx_t = int64_t;
}
