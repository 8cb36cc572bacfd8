#include "index_files.h"

#include <faiss/IVFlib.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "errors.h"

namespace faiss_native {

namespace {

std::string SystemError(const std::string& what, const std::string& path, int err) {
  return what + " '" + path + "': " + std::strerror(err);
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A name no concurrent writer (thread or process) of the same target can pick.
std::string TemporaryNameFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

// A save killed mid-write leaves its temporary file; the next save of the same
// target removes those whose writer process is gone.
void RemoveStaleTemporaries(const std::string& path) {
  std::string directory = DirectoryOf(path);
  std::string prefix = path.substr(path.rfind('/') + 1) + ".tmp-";
  DIR* listing = opendir(directory.c_str());
  if (listing == nullptr) return;
  while (dirent* entry = readdir(listing)) {
    std::string name = entry->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      unlinkat(dirfd(listing), name.c_str(), 0);
    }
  }
  closedir(listing);
}

class FileCloser {
 public:
  explicit FileCloser(FILE* file) : file_(file) {}
  ~FileCloser() {
    if (file_ != nullptr) std::fclose(file_);
  }
  FILE* release() {
    FILE* file = file_;
    file_ = nullptr;
    return file;
  }

 private:
  FILE* file_;
};

// Reads straight from caller memory: no copy of the serialized bytes.
struct MemoryReader : faiss::IOReader {
  MemoryReader(const uint8_t* data, size_t size) : data(data), size(size) { name = "buffer"; }
  size_t operator()(void* out, size_t item_size, size_t items) override {
    if (item_size == 0 || position >= size) return 0;
    size_t available = std::min(items, (size - position) / item_size);
    if (available == 0) return 0;  // out may be null for an empty vector
    std::memcpy(out, data + position, available * item_size);
    position += available * item_size;
    return available;
  }
  const uint8_t* data;
  size_t size;
  size_t position = 0;
};

}  // namespace

void WriteIndexFile(const faiss::Index& index, const std::string& path, bool durable) {
  RemoveStaleTemporaries(path);
  std::string temporary = TemporaryNameFor(path);
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    ThrowFaiss(SystemError("cannot write index file", path, errno), codes::kIo);
  }
  FileCloser closer(file);
  try {
    faiss::write_index(&index, file);
    if (std::fflush(file) != 0 || (durable && fsync(fileno(file)) != 0)) {
      ThrowFaiss(SystemError("cannot write index file", path, errno), codes::kIo);
    }
    if (std::fclose(closer.release()) != 0) {
      ThrowFaiss(SystemError("cannot write index file", path, errno), codes::kIo);
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      ThrowFaiss(SystemError("cannot replace index file", path, errno), codes::kIo);
    }
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
  if (!durable) return;
  // Make the rename itself durable; failure here does not undo a complete file.
  int directory = open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (directory >= 0) {
    fsync(directory);
    close(directory);
  }
}

std::vector<uint8_t> SerializeIndex(const faiss::Index& index) {
  faiss::VectorIOWriter writer;
  faiss::write_index(&index, &writer);
  return std::move(writer.data);
}

namespace {

// The check's facts, or none for a trusted file of a type the check does not know.
std::optional<IndexFileFacts> CheckUnlessTrusted(ByteSource& source, const std::string& source_name,
                                                 const std::string& index_path, IndexGrammar grammar) {
  if (grammar != IndexGrammar::Trusted) return CheckIndexBytes(source, source_name, index_path, grammar);
  try {
    return CheckIndexBytes(source, source_name, index_path, IndexGrammar::Any);
  } catch (const NativeError& error) {
    if (std::strcmp(error.code(), codes::kUnsupported) != 0) throw;
    return std::nullopt;
  }
}

faiss::OnDiskInvertedLists* OnDiskListsOf(faiss::Index* index) {
  faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index);
  return ivf ? dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists) : nullptr;
}

// Faiss's mmap flag skips mapping on-disk lists that live in their own data
// file; unchecked, such lists are only found once read, so map them now.
void MapSkippedOnDiskLists(faiss::Index* index) {
  faiss::OnDiskInvertedLists* on_disk = OnDiskListsOf(index);
  if (on_disk != nullptr && on_disk->ptr == nullptr && on_disk->totsize > 0) on_disk->do_mmap();
}

}  // namespace

ReadIndexResult ReadIndexFile(const std::string& path, bool mmap, IndexGrammar grammar, int extra_flags) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    ThrowFaiss(SystemError("cannot read index file", path, errno), codes::kIo);
  }
  FileCloser closer(file);
  struct stat info;
  if (fstat(fileno(file), &info) != 0) {
    ThrowFaiss(SystemError("cannot read index file", path, errno), codes::kIo);
  }
  if (!S_ISREG(info.st_mode)) {
    ThrowFaiss("cannot read index file '" + path + "': not a regular file", codes::kIo);
  }
  FileSource source(file, static_cast<uint64_t>(info.st_size));
  std::optional<IndexFileFacts> facts = CheckUnlessTrusted(source, "'" + path + "'", path, grammar);
  std::rewind(file);
  // Read-only: on-disk lists are mapped without write access. They are mapped
  // already; Faiss's mmap flag would make it skip mapping them at all.
  bool on_disk_lists = facts && facts->on_disk_lists;
  int flags = faiss::IO_FLAG_READ_ONLY | (mmap && !on_disk_lists ? faiss::IO_FLAG_MMAP : 0) | extra_flags;
  std::unique_ptr<faiss::Index> index(faiss::read_index(file, flags));
  if (!facts && mmap) MapSkippedOnDiskLists(index.get());
  StopListPrefetchThreads(index.get());
  return {std::move(index), facts.value_or(IndexFileFacts{})};
}

void StopListPrefetchThreads(faiss::Index* index) {
  if (faiss::OnDiskInvertedLists* on_disk = OnDiskListsOf(index)) on_disk->prefetch_nthread = 0;
}

ReadIndexResult ReadIndexBuffer(const uint8_t* data, size_t size, IndexGrammar grammar) {
  MemorySource source(data, size);
  std::optional<IndexFileFacts> facts = CheckUnlessTrusted(source, "buffer", "", grammar);
  MemoryReader reader(data, size);
  return {std::unique_ptr<faiss::Index>(faiss::read_index(&reader, faiss::IO_FLAG_READ_ONLY)),
          facts.value_or(IndexFileFacts{})};
}

}  // namespace faiss_native
