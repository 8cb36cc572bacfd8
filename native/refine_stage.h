// Re-ranking for IVF indexes: compressed codes cap recall, so a refined index keeps a
// second, more exact copy of each vector (float or 8-bit scalar quantized) and
// re-scores the top k × kFactor candidates with it.
//
// Persisted as Faiss's own structure, IndexIDMap2(IndexRefine(IVF, refine))
// (with the normalising pre-transform inside for cosine), which Python faiss
// searches the same way. Inside, the IVF stores row numbers: Faiss's
// IndexRefine finds a candidate's exact vector by its label, so labels must be
// rows; the id map turns rows into the caller's 64-bit ids. The re-ranking is
// done here so the IVF step can run SearchIvf (batch-independent coarse step)
// and removed rows can stay in the refine copy.
#pragma once

#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexRefine.h>

#include <cstdint>
#include <string>
#include <vector>

namespace faiss_native {

using idx_t = faiss::idx_t;

enum class RefineKind { None, Flat, SQ8 };

const char* RefineKindName(RefineKind kind);

class RefineStage {
 public:
  RefineStage(faiss::IndexIDMap2* id_map, faiss::IndexRefine* refine);

  // Flat or SQ8 for a flat or 8-bit scalar-quantized refine index of this metric; None otherwise.
  static RefineKind KindOf(const faiss::Index* refine_index, faiss::MetricType metric);
  // Every row label stored in the IVF must be a row of the refine index.
  void CheckRows(const faiss::IndexIVF& ivf, const std::string& source) const;

  RefineKind kind() const { return kind_; }
  float k_factor() const { return refine_->k_factor; }
  idx_t rows() const { return refine_->refine_index->ntotal; }

  // Appends n (already normalised, for cosine) vectors; returns the first row.
  idx_t AppendRows(idx_t n, const float* x, const idx_t* ids);
  // Re-scores candidate rows (n × candidates, -1 = none) and keeps the best k
  // of each query, as caller ids.
  void Rerank(idx_t n, const float* x, idx_t candidates, const idx_t* rows, idx_t k,
              float* distances, idx_t* labels) const;
  // Rows in labels → caller ids, in place.
  void RowsToIds(size_t count, idx_t* labels) const;
  // Rows of the ids that are present; forgets those ids.
  std::vector<idx_t> TakeRows(idx_t n, const idx_t* ids);
  // The refine copy of id's vector; RangeError if id is absent.
  void Reconstruct(idx_t id, float* out) const;
  int64_t MemoryBytes() const;

 private:
  faiss::IndexIDMap2* id_map_;
  faiss::IndexRefine* refine_;
  RefineKind kind_;
  bool larger_is_closer_;
};

}  // namespace faiss_native
