// Structural check of a serialized index before Faiss parses it. Faiss 1.15's
// reader validates much, but lets a size field claim up to the machine's
// memory, and a short memory-mapped or on-disk list faults on access. This
// walks the file, checking every size against the bytes that remain and every
// count against the others, and throws a FaissError (ERR_FAISS_BAD_FILE) that
// says what is wrong, or ERR_FAISS_UNSUPPORTED for a type it does not know.
// Beyond small tables it allocates one byte per HNSW node (bounded by the
// bytes present), never what a size field merely claims.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace faiss_native {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t Remaining() const = 0;
  virtual uint64_t Offset() const = 0;
  // Both return false, consuming nothing, when fewer than `size` bytes remain.
  virtual bool Read(void* out, uint64_t size) = 0;
  virtual bool Skip(uint64_t size) = 0;
  // Steps back over bytes just read (a tag looked at before dispatch).
  virtual void Rewind(uint64_t size) = 0;
};

class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  uint64_t Remaining() const override { return size_ - position_; }
  uint64_t Offset() const override { return position_; }
  bool Read(void* out, uint64_t size) override;
  bool Skip(uint64_t size) override;
  void Rewind(uint64_t size) override;

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t position_ = 0;
};

// Reads through a FILE*, seeking over bulk data; leaves the position where it ends.
class FileSource : public ByteSource {
 public:
  FileSource(FILE* file, uint64_t size) : file_(file), size_(size) {}
  uint64_t Remaining() const override { return size_ - position_; }
  uint64_t Offset() const override { return position_; }
  bool Read(void* out, uint64_t size) override;
  bool Skip(uint64_t size) override;
  void Rewind(uint64_t size) override;

 private:
  FILE* file_;
  uint64_t size_;
  uint64_t position_ = 0;
};

struct IndexFileFacts {
  // Inverted lists already live in a separate data file (Faiss 'ilod').
  bool on_disk_lists = false;
};

enum class IndexGrammar {
  IvfPq,  // the IVF-PQ shapes IndexIVFPQ reads, checked field by field
  Any,    // every type Index reads: structure and sizes, semantics left to Faiss
  // As Any; a type the check does not know is left to Faiss unchecked (the
  // caller vouches for the file). Known types are still checked.
  Trusted,
};

// source_name appears in messages ("'/path/x.index'" or "buffer"). index_path
// is the file being read, or empty for a buffer: on-disk inverted lists must
// sit in the index file's own directory (a file must not make this process
// map whatever path it names), so a buffer cannot refer to them.
IndexFileFacts CheckIndexBytes(ByteSource& source, const std::string& source_name,
                               const std::string& index_path, IndexGrammar grammar = IndexGrammar::IvfPq);

}  // namespace faiss_native
