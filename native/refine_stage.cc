#include "refine_stage.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/DistanceComputer.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <cfloat>
#include <memory>
#include <typeinfo>

#include "errors.h"

namespace faiss_native {

const char* RefineKindName(RefineKind kind) {
  switch (kind) {
    case RefineKind::None:
      return "none";
    case RefineKind::Flat:
      return "flat";
    case RefineKind::SQ8:
      return "sq8";
  }
  return "none";
}

RefineKind RefineStage::KindOf(const faiss::Index* refine_index, faiss::MetricType metric) {
  if (refine_index != nullptr && refine_index->metric_type == metric) {
    if (dynamic_cast<const faiss::IndexFlat*>(refine_index) != nullptr) return RefineKind::Flat;
    auto* sq = dynamic_cast<const faiss::IndexScalarQuantizer*>(refine_index);
    if (sq != nullptr && typeid(*sq) == typeid(faiss::IndexScalarQuantizer) &&
        sq->sq.qtype == faiss::ScalarQuantizer::QT_8bit) {
      return RefineKind::SQ8;
    }
  }
  return RefineKind::None;
}

RefineStage::RefineStage(faiss::IndexIDMap2* id_map, faiss::IndexRefine* refine)
    : id_map_(id_map),
      refine_(refine),
      kind_(KindOf(refine->refine_index, refine->metric_type)),
      larger_is_closer_(refine->metric_type == faiss::METRIC_INNER_PRODUCT) {}

void RefineStage::CheckRows(const faiss::IndexIVF& ivf, const std::string& source) const {
  idx_t total_rows = rows();
  if (static_cast<idx_t>(id_map_->id_map.size()) != total_rows || ivf.ntotal > total_rows) {
    ThrowFaiss("invalid index " + source + ": the id map, the refine index and the IVF disagree on sizes",
               codes::kBadFile);
  }
  for (size_t list = 0; list < ivf.nlist; list++) {
    size_t size = ivf.invlists->list_size(list);
    faiss::InvertedLists::ScopedIds ids(ivf.invlists, list);
    for (size_t i = 0; i < size; i++) {
      idx_t row;  // mapped lists need not be 8-byte aligned
      std::memcpy(&row, reinterpret_cast<const uint8_t*>(ids.get()) + i * sizeof(idx_t), sizeof(idx_t));
      if (row < 0 || row >= total_rows) {
        ThrowFaiss("invalid index " + source + ": an inverted list holds row " + std::to_string(row) +
                       " beyond the refine index",
                   codes::kBadFile);
      }
    }
  }
}

idx_t RefineStage::AppendRows(idx_t n, const float* x, const idx_t* ids) {
  idx_t first = rows();
  refine_->refine_index->add(n, x);
  refine_->ntotal = refine_->refine_index->ntotal;
  for (idx_t i = 0; i < n; i++) {
    id_map_->id_map.push_back(ids[i]);
    id_map_->rev_map[ids[i]] = first + i;
  }
  id_map_->ntotal = refine_->ntotal;
  return first;
}

void RefineStage::Rerank(idx_t n, const float* x, idx_t candidates, const idx_t* rows, idx_t k,
                         float* distances, idx_t* labels) const {
  const int64_t d = refine_->d;
  const float worst = larger_is_closer_ ? -FLT_MAX : FLT_MAX;
  std::atomic<bool> failed{false};
#pragma omp parallel if (n > 1)
  {
    try {
      std::unique_ptr<faiss::DistanceComputer> computer(refine_->refine_index->get_distance_computer());
      std::vector<std::pair<float, idx_t>> scored;
#pragma omp for
      for (idx_t q = 0; q < n; q++) {
        computer->set_query(x + q * d);
        scored.clear();
        for (idx_t j = 0; j < candidates; j++) {
          idx_t row = rows[q * candidates + j];
          if (row >= 0) scored.emplace_back((*computer)(row), row);
        }
        size_t keep = std::min<size_t>(scored.size(), static_cast<size_t>(k));
        auto better = [&](const std::pair<float, idx_t>& a, const std::pair<float, idx_t>& b) {
          if (a.first != b.first) return larger_is_closer_ ? a.first > b.first : a.first < b.first;
          return a.second < b.second;
        };
        std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(), better);
        for (idx_t j = 0; j < k; j++) {
          bool found = static_cast<size_t>(j) < keep;
          distances[q * k + j] = found ? scored[j].first : worst;
          labels[q * k + j] = found ? id_map_->id_map[scored[j].second] : -1;
        }
      }
    } catch (...) {
      failed.store(true);  // exceptions must not leave an OpenMP region
    }
  }
  if (failed.load()) ThrowFaiss("re-ranking failed");
}

void RefineStage::RowsToIds(size_t count, idx_t* labels) const {
  for (size_t i = 0; i < count; i++) {
    if (labels[i] >= 0) labels[i] = id_map_->id_map[labels[i]];
  }
}

std::vector<idx_t> RefineStage::TakeRows(idx_t n, const idx_t* ids) {
  std::vector<idx_t> taken;
  for (idx_t i = 0; i < n; i++) {
    auto found = id_map_->rev_map.find(ids[i]);
    if (found == id_map_->rev_map.end()) continue;
    taken.push_back(found->second);
    // The row stays (rows never move); its id is gone, also after a reload.
    id_map_->id_map[found->second] = -1;
    id_map_->rev_map.erase(found);
  }
  return taken;
}

void RefineStage::Reconstruct(idx_t id, float* out) const {
  auto found = id_map_->rev_map.find(id);
  if (id < 0 || found == id_map_->rev_map.end()) {
    ThrowRange("Expected an id present in the index for id but received " + std::to_string(id));
  }
  refine_->refine_index->reconstruct(found->second, out);
}

int64_t RefineStage::MemoryBytes() const {
  int64_t per_row = kind_ == RefineKind::Flat ? refine_->d * int64_t(sizeof(float)) : refine_->d;
  // Row storage, the row → id vector, and the id → row hash table (~4 words a node).
  return rows() * (per_row + int64_t(sizeof(idx_t))) +
         static_cast<int64_t>(id_map_->rev_map.size()) * 4 * int64_t(sizeof(void*));
}

}  // namespace faiss_native
