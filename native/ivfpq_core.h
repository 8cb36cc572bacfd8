// The Faiss side of an IVF-PQ index, free of N-API so it can run on any thread.
// Callers order access through the OpQueue of the slot that owns it.
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/impl/AuxIndexStructures.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coarse_quantizer.h"
#include "metric.h"
#include "refine_stage.h"

namespace faiss_native {

using idx_t = faiss::idx_t;

struct IvfpqConfig {
  int64_t dimension = 0;
  int64_t nlist = 0;
  int64_t m = 0;
  int64_t nbits = 8;
  Metric metric = Metric::L2;
  RefineKind refine = RefineKind::None;
  float k_factor = 4;
  // 4-bit codes scanned 32 at a time from SIMD registers (IndexIVFPQFastScan).
  bool fast_scan = false;
};

class IvfpqCore {
 public:
  explicit IvfpqCore(const IvfpqConfig& config);
  // mmap: inverted lists stay in the file, mapped read-only (Faiss IO_FLAG_MMAP).
  // precompute_table false skips Faiss's L2 search table (nlist·m·2^nbits
  // floats): for indexes only added to, merged or written, never searched.
  static std::unique_ptr<IvfpqCore> ReadFile(const std::string& path, bool mmap, bool precompute_table = true);
  static std::unique_ptr<IvfpqCore> ReadBuffer(const uint8_t* data, size_t size);

  void Train(idx_t n, const float* x);
  // ids == nullptr assigns ntotal .. ntotal + n - 1.
  void Add(idx_t n, const float* x, const idx_t* ids);
  // nprobe == 0 uses the index's default; k_factor == 0 the refine default.
  void Search(idx_t n, const float* x, idx_t k, size_t nprobe, float k_factor, float* distances,
              idx_t* labels) const;
  // Atomic: a temporary file in the same directory, fsync, rename.
  void WriteFile(const std::string& path, bool durable);
  // The same bytes WriteFile puts in a file.
  std::vector<uint8_t> WriteBuffer();

  // Number of ids removed.
  size_t RemoveIds(idx_t n, const idx_t* ids);
  // Needs the direct map (EnableDirectMap); out receives dimension floats.
  void Reconstruct(idx_t id, float* out) const;
  // A map from id to list position, needed by Reconstruct.
  void SetDirectMap(bool enabled);
  bool has_direct_map() const { return has_direct_map_.load(); }
  // All neighbours within radius (below it for l2, above it for ip/cosine).
  std::unique_ptr<faiss::RangeSearchResult> RangeSearch(idx_t n, const float* x, float radius,
                                                        size_t nprobe) const;
  // Moves other's vectors into this index; both must come from the same training.
  void MergeFrom(IvfpqCore& other);
  // Merges shard files built from one trained index into an index whose
  // inverted lists live in data_path (Faiss OnDiskInvertedLists). Shards are
  // memory-mapped, so their codes never need to fit in memory together.
  static std::unique_ptr<IvfpqCore> MergeOnDisk(const std::vector<std::string>& shard_paths,
                                                const std::string& data_path);

  int64_t dimension() const { return ivf_->d; }
  int64_t nlist() const { return static_cast<int64_t>(ivf_->nlist); }
  int64_t m() const { return static_cast<int64_t>(pq_->M); }
  int64_t nbits() const { return static_cast<int64_t>(pq_->nbits); }
  bool fast_scan() const { return fast_scan_; }
  bool read_only() const { return read_only_; }
  RefineKind refine_kind() const { return refine_ ? refine_->kind() : RefineKind::None; }
  float k_factor() const { return refine_ ? refine_->k_factor() : 0; }
  Metric metric() const { return metric_; }

  // Safe to read while another thread mutates the index.
  int64_t ntotal() const { return ntotal_.load(); }
  bool is_trained() const { return is_trained_.load(); }
  size_t nprobe() const { return nprobe_.load(); }
  void set_nprobe(size_t nprobe) { nprobe_.store(nprobe); }

  // Native bytes held, reported to V8 so large indexes weigh on GC decisions.
  int64_t memory_bytes() const { return memory_bytes_.load(); }

 private:
  IvfpqCore(std::unique_ptr<faiss::Index> root, faiss::IndexIVF* ivf, Metric metric,
            std::unique_ptr<RefineStage> refine);
  // The product quantizer of an IndexIVFPQ or IndexIVFPQFastScan; null for other types.
  static faiss::ProductQuantizer* PqOf(faiss::IndexIVF* ivf);
  // Faiss's precomputed L2 search table, in floats.
  size_t PrecomputedTableFloats() const;
  // Faiss wrappers (id map, pre-transform, refine) keep their own counts, which
  // the file format records; keep them equal to the IVF-PQ's after a mutation.
  void SyncWrapperCounts();
  void CollectWrappers();
  static std::unique_ptr<IvfpqCore> Adopt(std::unique_ptr<faiss::Index> root, const std::string& source);
  static void CheckDirectMap(const faiss::IndexIVF& ivf, const std::string& source);
  // Checks queries, normalises them for cosine (into normalized) and sets
  // the per-call parameters; returns the vectors to hand to Faiss.
  const float* PrepareQueries(idx_t n, const float* x, size_t nprobe, std::vector<float>& normalized,
                              faiss::SearchParametersIVF& params) const;
  // A FaissError when Faiss could not write this index faithfully.
  void CheckSerializable() const;
  // A FaissError unless this index may be modified.
  void CheckWritable(const char* operation) const;
  // Called at the end of every mutation, while the caller still holds its turn.
  void RefreshCounters();
  int64_t ComputeMemoryBytes() const;

  // What is persisted: the IVF-PQ (or its FastScan form) itself; for cosine an IndexPreTransform that
  // L2-normalises in front of an inner-product IVF-PQ; with refinement, an
  // IndexIDMap2 around IndexRefine (see refine_stage.h).
  std::unique_ptr<faiss::Index> root_;
  faiss::IndexIVF* ivf_;  // an IndexIVFPQ or an IndexIVFPQFastScan
  faiss::ProductQuantizer* pq_;
  bool fast_scan_;
  std::unique_ptr<RefineStage> refine_;  // null without refinement
  // The search's coarse step; null until trained, or for quantizers it cannot score.
  std::unique_ptr<CoarseQuantizer> coarse_;
  std::vector<faiss::Index*> wrappers_;  // root_ .. the node above ivf_
  Metric metric_;
  std::atomic<int64_t> ntotal_{0};
  std::atomic<bool> is_trained_{false};
  std::atomic<size_t> nprobe_{1};
  std::atomic<int64_t> memory_bytes_{0};
  std::atomic<bool> has_direct_map_{false};
  bool read_only_ = false;  // inverted lists memory-mapped or on disk
};

}  // namespace faiss_native
