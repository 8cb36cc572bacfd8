#include "search_options.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFRaBitQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRaBitQ.h>
#include <faiss/IndexRefine.h>

#include <algorithm>

namespace faiss_native {

namespace {

void Collect(const faiss::Index* index, bool quantizer, std::vector<std::string>& names) {
  if (index == nullptr) return;
  auto add = [&](const char* name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) return Collect(id_map->index, quantizer, names);
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) return Collect(pre->index, quantizer, names);
  if (auto* refine = dynamic_cast<const faiss::IndexRefine*>(index)) {
    if (!quantizer) add("kFactor");
    return Collect(refine->base_index, quantizer, names);
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    if (quantizer) return;
    add("nprobe");
    add("maxCodes");
    if (dynamic_cast<const faiss::IndexIVFRaBitQ*>(index)) add("qb");
    std::vector<std::string> inner;
    Collect(ivf->quantizer, true, inner);
    if (std::find(inner.begin(), inner.end(), "efSearch") != inner.end()) add("quantizerEfSearch");
    return;
  }
  if (dynamic_cast<const faiss::IndexHNSW*>(index)) add("efSearch");
  if (dynamic_cast<const faiss::IndexRaBitQ*>(index) && !quantizer) add("qb");
}

void Apply(faiss::Index* index, const SearchOptions& o, bool quantizer) {
  if (index == nullptr) return;
  if (auto* id_map = dynamic_cast<faiss::IndexIDMap*>(index)) return Apply(id_map->index, o, quantizer);
  if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(index)) return Apply(pre->index, o, quantizer);
  if (auto* refine = dynamic_cast<faiss::IndexRefine*>(index)) {
    if (!quantizer && o.k_factor > 0) refine->k_factor = o.k_factor;
    return Apply(refine->base_index, o, quantizer);
  }
  if (quantizer) {
    auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index);
    if (hnsw != nullptr && o.quantizer_ef_search >= 0) {
      hnsw->hnsw.efSearch = static_cast<int>(std::max<int64_t>(1, o.quantizer_ef_search));
    }
    return;
  }
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index)) {
    // Clamped as per-call nprobe is: FastScan would pass a larger one to its quantizer as k.
    if (o.nprobe >= 0) ivf->nprobe = std::min(static_cast<size_t>(std::max<int64_t>(1, o.nprobe)), ivf->nlist);
    if (o.max_codes >= 0) ivf->max_codes = static_cast<size_t>(o.max_codes);
    auto* rabitq = dynamic_cast<faiss::IndexIVFRaBitQ*>(index);
    if (rabitq != nullptr && o.qb >= 0) rabitq->qb = static_cast<uint8_t>(o.qb);
    return Apply(ivf->quantizer, o, true);
  }
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index); hnsw != nullptr && o.ef_search >= 0) {
    hnsw->hnsw.efSearch = static_cast<int>(std::max<int64_t>(1, o.ef_search));
  }
  if (auto* rabitq = dynamic_cast<faiss::IndexRaBitQ*>(index); rabitq != nullptr && o.qb >= 0) {
    rabitq->qb = static_cast<uint8_t>(o.qb);
  }
}

void Stored(const faiss::Index* index, SearchOptions& o, bool quantizer) {
  if (index == nullptr) return;
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) return Stored(id_map->index, o, quantizer);
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) return Stored(pre->index, o, quantizer);
  if (auto* refine = dynamic_cast<const faiss::IndexRefine*>(index)) {
    if (!quantizer) o.k_factor = refine->k_factor;
    return Stored(refine->base_index, o, quantizer);
  }
  if (quantizer) {
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) o.quantizer_ef_search = hnsw->hnsw.efSearch;
    return;
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    o.nprobe = static_cast<int64_t>(ivf->nprobe);
    o.max_codes = static_cast<int64_t>(ivf->max_codes);
    if (auto* rabitq = dynamic_cast<const faiss::IndexIVFRaBitQ*>(index)) o.qb = rabitq->qb;
    return Stored(ivf->quantizer, o, true);
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) o.ef_search = hnsw->hnsw.efSearch;
  if (auto* rabitq = dynamic_cast<const faiss::IndexRaBitQ*>(index)) o.qb = rabitq->qb;
}

}  // namespace

std::vector<std::string> ApplicableOptions(const faiss::Index& index) {
  std::vector<std::string> names;
  Collect(&index, false, names);
  names.push_back("filter");
  names.push_back("threads");
  return names;
}

void ApplySearchDefaults(faiss::Index& root, const SearchOptions& options) { Apply(&root, options, false); }

SearchOptions StoredSearchDefaults(const faiss::Index& root) {
  SearchOptions options;
  Stored(&root, options, false);
  return options;
}

template <typename T>
T* SearchParametersTree::Make() {
  auto owned = std::make_unique<T>();
  T* raw = owned.get();
  params_.push_back(std::move(owned));
  return raw;
}

SearchParametersTree::SearchParametersTree(const faiss::Index& root, const SearchOptions& options)
    : options_(options) {
  const IdFilter& filter = options.filter;
  faiss::IDSelector* selector = nullptr;
  switch (filter.kind) {
    case IdFilter::Kind::None:
      break;
    case IdFilter::Kind::Include:
    case IdFilter::Kind::Exclude: {
      selectors_.push_back(std::make_unique<faiss::IDSelectorBatch>(filter.count, filter.ids));
      selector = selectors_.back().get();
      if (filter.kind == IdFilter::Kind::Exclude) {
        selectors_.push_back(std::make_unique<faiss::IDSelectorNot>(selector));
        selector = selectors_.back().get();
      }
      break;
    }
    case IdFilter::Kind::Range:
      selectors_.push_back(std::make_unique<faiss::IDSelectorRange>(filter.low, filter.high));
      selector = selectors_.back().get();
      break;
  }
  filter_ = selector;
  if (options.any_set()) root_ = For(&root, selector, false);
}

// Parameters for one layer, or null when neither it nor anything below it has
// something to set. Every layer that reads a selector gets it in ids of its own
// numbering: below an id map that is the map's row numbers, so the selector is
// translated there once (rather than by IndexIDMap itself, which replaces the
// selector only in the parameters it is handed: those of an IndexRefine or an
// IndexPreTransform would never reach the layer that filters).
faiss::SearchParameters* SearchParametersTree::For(const faiss::Index* index, const faiss::IDSelector* selector,
                                                   bool quantizer) {
  if (index == nullptr) return nullptr;
  const SearchOptions& o = options_;
  if (auto* id_map = dynamic_cast<const faiss::IndexIDMap*>(index)) {
    if (selector == nullptr) return For(id_map->index, nullptr, quantizer);
    selectors_.push_back(std::make_unique<faiss::IDSelectorTranslated>(id_map->id_map, selector));
    return For(id_map->index, selectors_.back().get(), quantizer);
  }
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
    faiss::SearchParameters* inner = For(pre->index, selector, quantizer);
    if (inner == nullptr) return nullptr;
    auto* params = Make<faiss::SearchParametersPreTransform>();
    params->index_params = inner;
    params->sel = inner->sel;
    return params;
  }
  if (auto* refine = dynamic_cast<const faiss::IndexRefine*>(index)) {
    faiss::SearchParameters* base = For(refine->base_index, selector, quantizer);
    if (base == nullptr && o.k_factor <= 0) return nullptr;
    auto* params = Make<faiss::IndexRefineSearchParameters>();
    params->k_factor = o.k_factor > 0 ? o.k_factor : refine->k_factor;
    params->base_index_params = base;
    params->sel = const_cast<faiss::IDSelector*>(selector);
    return params;
  }
  if (quantizer) {
    // Only efSearch reaches a coarse quantizer (IVF..._HNSW); it never filters.
    auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index);
    if (hnsw == nullptr || o.quantizer_ef_search < 0) return nullptr;
    auto* params = Make<faiss::SearchParametersHNSW>();
    params->efSearch = static_cast<int>(o.quantizer_ef_search);
    params->check_relative_distance = hnsw->hnsw.check_relative_distance;
    params->bounded_queue = hnsw->hnsw.search_bounded_queue;
    return params;
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    faiss::SearchParametersIVF* params;
    if (auto* rabitq = dynamic_cast<const faiss::IndexIVFRaBitQ*>(index)) {
      auto* rq = Make<faiss::IVFRaBitQSearchParameters>();
      rq->qb = static_cast<uint8_t>(o.qb >= 0 ? o.qb : rabitq->qb);
      params = rq;
    } else {
      params = Make<faiss::SearchParametersIVF>();
    }
    // FastScan does not clamp nprobe to nlist itself, and hands it to the
    // quantizer as k: an nprobe of 2^26 would allocate that much per query.
    size_t nprobe = o.nprobe >= 0 ? static_cast<size_t>(o.nprobe) : ivf->nprobe;
    params->nprobe = std::min(nprobe, ivf->nlist);
    params->max_codes = o.max_codes >= 0 ? static_cast<size_t>(o.max_codes) : ivf->max_codes;
    params->quantizer_params = For(ivf->quantizer, nullptr, true);
    params->sel = const_cast<faiss::IDSelector*>(selector);
    return params;
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
    auto* params = Make<faiss::SearchParametersHNSW>();
    params->efSearch = static_cast<int>(o.ef_search >= 0 ? o.ef_search : hnsw->hnsw.efSearch);
    params->check_relative_distance = hnsw->hnsw.check_relative_distance;
    params->bounded_queue = hnsw->hnsw.search_bounded_queue;
    params->sel = const_cast<faiss::IDSelector*>(selector);
    return params;
  }
  if (auto* rabitq = dynamic_cast<const faiss::IndexRaBitQ*>(index)) {
    auto* params = Make<faiss::RaBitQSearchParameters>();
    params->qb = static_cast<uint8_t>(o.qb >= 0 ? o.qb : rabitq->qb);
    params->sel = const_cast<faiss::IDSelector*>(selector);
    return params;
  }
  if (selector == nullptr) return nullptr;
  if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(index)) {
    // IndexPQ takes only its own parameter class ("invalid search params"
    // otherwise), and then refuses the selector itself, by name.
    auto* params = Make<faiss::SearchParametersPQ>();
    params->search_type = pq->search_type;
    params->polysemous_ht = pq->polysemous_ht;
    params->sel = const_cast<faiss::IDSelector*>(selector);
    return params;
  }
  auto* params = Make<faiss::SearchParameters>();
  params->sel = const_cast<faiss::IDSelector*>(selector);
  return params;
}

}  // namespace faiss_native
