#include "ivfpq_core.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/VectorTransform.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <typeinfo>
#include <vector>

#include "errors.h"
#include "vectors.h"

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

}  // namespace

IvfpqCore::IvfpqCore(const IvfpqConfig& config) : metric_(config.metric) {
  // The quantizer compares raw (or, for cosine, normalised) vectors with the
  // same metric as the codes.
  faiss::MetricType faiss_metric = FaissMetric(config.metric);
  faiss::Index* quantizer = faiss_metric == faiss::METRIC_L2
                                ? static_cast<faiss::Index*>(new faiss::IndexFlatL2(config.dimension))
                                : new faiss::IndexFlatIP(config.dimension);
  auto ivf = std::make_unique<faiss::IndexIVFPQ>(
      quantizer, config.dimension, config.nlist, config.m, config.nbits, faiss_metric);
  ivf->own_fields = true;
  ivf_ = ivf.get();
  if (config.metric == Metric::Cosine) {
    auto wrapper = std::make_unique<faiss::IndexPreTransform>(
        new faiss::NormalizationTransform(config.dimension, 2.0), ivf.release());
    wrapper->own_fields = true;
    root_ = std::move(wrapper);
  } else {
    root_ = std::move(ivf);
  }
  RefreshCounters();
}

IvfpqCore::IvfpqCore(std::unique_ptr<faiss::Index> root, faiss::IndexIVFPQ* ivf, Metric metric)
    : root_(std::move(root)), ivf_(ivf), metric_(metric) {
  nprobe_.store(ivf_->nprobe);
  RefreshCounters();
}

std::unique_ptr<IvfpqCore> IvfpqCore::ReadFile(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    ThrowFaiss(SystemError("cannot read index file", path, errno), codes::kIo);
  }
  if (!S_ISREG(info.st_mode)) {
    ThrowFaiss("cannot read index file '" + path + "': not a regular file", codes::kIo);
  }
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    ThrowFaiss(SystemError("cannot open index file", path, errno), codes::kIo);
  }
  FileCloser closer(file);
  std::unique_ptr<faiss::Index> root(faiss::read_index(file));

  faiss::Index* inner = root.get();
  Metric metric;
  if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(root.get())) {
    auto* norm = pre->chain.size() == 1
                     ? dynamic_cast<faiss::NormalizationTransform*>(pre->chain[0])
                     : nullptr;
    if (norm == nullptr || norm->norm != 2.0f || pre->index == nullptr ||
        pre->index->metric_type != faiss::METRIC_INNER_PRODUCT) {
      ThrowFaiss("unsupported index in '" + path +
                     "': a pre-transformed index must be L2 normalisation in front of an "
                     "inner-product IVF-PQ",
                 codes::kBadFile);
    }
    inner = pre->index;
    metric = Metric::Cosine;
  } else {
    metric = root->metric_type == faiss::METRIC_INNER_PRODUCT ? Metric::InnerProduct : Metric::L2;
  }
  if (inner == nullptr || typeid(*inner) != typeid(faiss::IndexIVFPQ)) {
    ThrowFaiss("unsupported index in '" + path + "': expected IndexIVFPQ, found " +
                   (inner ? typeid(*inner).name() : "nothing"),
               codes::kBadFile);
  }
  if (inner->metric_type != faiss::METRIC_L2 && inner->metric_type != faiss::METRIC_INNER_PRODUCT) {
    ThrowFaiss("unsupported index in '" + path + "': metric must be L2 or inner product",
               codes::kBadFile);
  }
  auto* ivf = static_cast<faiss::IndexIVFPQ*>(inner);
  return std::unique_ptr<IvfpqCore>(new IvfpqCore(std::move(root), ivf, metric));
}

void IvfpqCore::RefreshCounters() {
  ntotal_.store(root_->ntotal);
  is_trained_.store(root_->is_trained);
  memory_bytes_.store(ComputeMemoryBytes());
}

void IvfpqCore::Train(idx_t n, const float* x) {
  if (is_trained()) {
    ThrowFaiss("index is already trained", codes::kAlreadyTrained);
  }
  idx_t minimum = std::max<idx_t>(ivf_->nlist, idx_t(1) << ivf_->pq.nbits);
  if (n < minimum) {
    ThrowRange("Expected at least " + std::to_string(minimum) +
               " vectors (the larger of nlist and 2^nbits) for vectors but received " +
               std::to_string(n));
  }
  CheckFinite(n, ivf_->d, x, "vectors");
  root_->train(n, x);
  RefreshCounters();
}

void IvfpqCore::Add(idx_t n, const float* x, const idx_t* ids) {
  if (!is_trained()) {
    ThrowFaiss("index is not trained: call train() before adding vectors", codes::kNotTrained);
  }
  CheckFinite(n, ivf_->d, x, "vectors");
  if (ids != nullptr) {
    for (idx_t i = 0; i < n; i++) {
      if (ids[i] < 0) {
        ThrowRange("Expected non-negative ids for ids but ids[" + std::to_string(i) + "] is " +
                   std::to_string(ids[i]));
      }
    }
    root_->add_with_ids(n, x, ids);
  } else {
    root_->add(n, x);
  }
  RefreshCounters();
}

void IvfpqCore::Search(idx_t n, const float* x, idx_t k, size_t nprobe, float* distances,
                       idx_t* labels) const {
  if (!is_trained()) {
    ThrowFaiss("index is not trained: call train() before searching", codes::kNotTrained);
  }
  CheckFinite(n, ivf_->d, x, "queries");
  std::vector<float> normalized;
  if (metric_ == Metric::Cosine) {
    normalized = NormalizedCopy(n, ivf_->d, x);
    x = normalized.data();
  }
  faiss::SearchParametersIVF params;
  params.nprobe = nprobe > 0 ? nprobe : nprobe_.load();
  ivf_->search(n, x, k, distances, labels, &params);
}

void IvfpqCore::WriteFile(const std::string& path) {
  ivf_->nprobe = nprobe_.load();
  std::string temporary = TemporaryNameFor(path);
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    ThrowFaiss(SystemError("cannot write index file", path, errno), codes::kIo);
  }
  FileCloser closer(file);
  try {
    faiss::write_index(root_.get(), file);
    if (std::fflush(file) != 0 || fsync(fileno(file)) != 0) {
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
  // Make the rename itself durable; failure here does not undo a complete file.
  int directory = open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (directory >= 0) {
    fsync(directory);
    close(directory);
  }
}

int64_t IvfpqCore::ComputeMemoryBytes() const {
  const faiss::InvertedLists* lists = ivf_->invlists;
  int64_t bytes = 0;
  if (lists != nullptr) {
    int64_t entry = static_cast<int64_t>(lists->code_size + sizeof(idx_t));
    for (size_t list = 0; list < lists->nlist; list++) {
      bytes += static_cast<int64_t>(lists->list_size(list)) * entry;
    }
  }
  bytes += ivf_->quantizer != nullptr ? ivf_->quantizer->ntotal * ivf_->d * int64_t(sizeof(float)) : 0;
  bytes += static_cast<int64_t>(ivf_->pq.centroids.size() * sizeof(float));
  bytes += static_cast<int64_t>(ivf_->precomputed_table.size() * sizeof(float));
  return bytes;
}

}  // namespace faiss_native
