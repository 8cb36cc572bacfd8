// Structural check of a serialized index before Faiss parses it. Faiss 1.7.3's
// reader trusts its input: size fields drive allocations, some paths abort,
// and a short memory-mapped file faults on access. This walks the exact
// grammar faiss-native accepts (IndexIVFPQ, optionally behind an L2
// normalisation), checking every size against the bytes that remain and every
// count against the others, and throws a FaissError (ERR_FAISS_BAD_FILE) that
// says what is wrong. It allocates nothing proportional to the input.
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
};

class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  uint64_t Remaining() const override { return size_ - position_; }
  uint64_t Offset() const override { return position_; }
  bool Read(void* out, uint64_t size) override;
  bool Skip(uint64_t size) override;

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

 private:
  FILE* file_;
  uint64_t size_;
  uint64_t position_ = 0;
};

struct IndexFileFacts {
  // Inverted lists already live in a separate data file (Faiss 'ilod').
  bool on_disk_lists = false;
};

// source_name appears in messages ("'/path/x.index'" or "buffer"). index_path
// is the file being read, or empty for a buffer: on-disk inverted lists must
// sit in the index file's own directory (a file must not make this process
// map whatever path it names), so a buffer cannot refer to them.
IndexFileFacts CheckIndexBytes(ByteSource& source, const std::string& source_name,
                               const std::string& index_path);

}  // namespace faiss_native
