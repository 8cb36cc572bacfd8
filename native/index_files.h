// Index files and buffers, whatever the index type: atomic saves that never
// leave a torn file, and reads that check the bytes before Faiss parses them.
#pragma once

#include <faiss/Index.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "index_file_check.h"

namespace faiss_native {

// A temporary file in the same directory, fsync, rename, fsync of the directory
// (without the fsyncs when not durable). Temporaries left by a writer that died
// are removed first.
void WriteIndexFile(const faiss::Index& index, const std::string& path, bool durable);

// The bytes WriteIndexFile puts in a file.
std::vector<uint8_t> SerializeIndex(const faiss::Index& index);

struct ReadIndexResult {
  std::unique_ptr<faiss::Index> index;
  IndexFileFacts facts;
};

// extra_flags: Faiss IO_FLAG_* bits besides read-only (mmap is dropped for
// lists that already live in a separate data file, which are mapped anyway).
ReadIndexResult ReadIndexFile(const std::string& path, bool mmap, IndexGrammar grammar, int extra_flags = 0);
ReadIndexResult ReadIndexBuffer(const uint8_t* data, size_t size, IndexGrammar grammar);

// Faiss's mapped and on-disk lists start 32 prefetch threads before every
// search (and serialise searches on joining them): 3.2 ms of CPU for a query
// whose scan takes 0.1 ms. With none, pages are faulted in by the scan itself.
void StopListPrefetchThreads(faiss::Index* index);

}  // namespace faiss_native
