// Per-call search options for any Faiss index: each option lands in the
// SearchParameters subclass of the layer it belongs to (IVF, HNSW, refine,
// RaBitQ, the quantizer of an IVF), made fresh for every call, and an id
// filter becomes an IDSelector placed where each layer actually reads it.
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/IDSelector.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace faiss_native {

using idx_t = faiss::idx_t;

struct IdFilter {
  enum class Kind { None, Include, Exclude, Range };
  Kind kind = Kind::None;
  const idx_t* ids = nullptr;  // Include / Exclude; the caller keeps them alive
  size_t count = 0;
  idx_t low = 0;   // Range: low <= id < high
  idx_t high = 0;
};

struct SearchOptions {
  // Negative (or 0 for k_factor): the index's own setting.
  int64_t nprobe = -1;
  int64_t ef_search = -1;
  int64_t quantizer_ef_search = -1;
  int64_t max_codes = -1;
  int64_t qb = -1;
  float k_factor = 0;
  IdFilter filter;

  bool any_set() const {
    return nprobe >= 0 || ef_search >= 0 || quantizer_ef_search >= 0 || max_codes >= 0 || qb >= 0 ||
           k_factor > 0 || filter.kind != IdFilter::Kind::None;
  }
};

// The JS names of the options that apply to this index (filter and threads always do).
std::vector<std::string> ApplicableOptions(const faiss::Index& index);

// Stores the options that are set (filter aside) in the index itself, where
// unset per-call options and Faiss's own file format (write_index) take them
// from: IVF nprobe (clamped to nlist) and max_codes, HNSW efSearch, the
// efSearch of an IVF's HNSW coarse quantizer, IndexRefine k_factor, RaBitQ qb.
// Mutates the index: run it as an exclusive operation.
void ApplySearchDefaults(faiss::Index& root, const SearchOptions& options);

// The stored values of the options this index takes; the others stay unset.
SearchOptions StoredSearchDefaults(const faiss::Index& root);

// Owns everything one call's parameters point at.
class SearchParametersTree {
 public:
  SearchParametersTree(const faiss::Index& root, const SearchOptions& options);
  SearchParametersTree(const SearchParametersTree&) = delete;
  SearchParametersTree& operator=(const SearchParametersTree&) = delete;

  // Null when the call sets nothing: Faiss then uses the index's own settings
  // (and some index types refuse any parameters at all).
  const faiss::SearchParameters* root() const { return root_; }
  // The user's filter over external ids, for checking what came back; null without one.
  const faiss::IDSelector* filter() const { return filter_; }

 private:
  faiss::SearchParameters* For(const faiss::Index* index, const faiss::IDSelector* selector, bool quantizer);
  template <typename T>
  T* Make();

  const SearchOptions options_;
  std::vector<std::unique_ptr<faiss::SearchParameters>> params_;
  std::vector<std::unique_ptr<faiss::IDSelector>> selectors_;
  const faiss::IDSelector* filter_ = nullptr;
  faiss::SearchParameters* root_ = nullptr;
};

}  // namespace faiss_native
