#include "index_file_check.h"

#include <faiss/impl/RaBitQuantizer.h>
#include <faiss/impl/ScalarQuantizer.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <vector>

#include "errors.h"

namespace faiss_native {

namespace {

constexpr uint32_t FourCC(const char (&tag)[5]) {
  return uint32_t(uint8_t(tag[0])) | uint32_t(uint8_t(tag[1])) << 8 |
         uint32_t(uint8_t(tag[2])) << 16 | uint32_t(uint8_t(tag[3])) << 24;
}

std::string TagText(uint32_t tag) {
  std::string text;
  for (int i = 0; i < 4; i++) {
    char c = static_cast<char>((tag >> (8 * i)) & 0xff);
    text += (c >= 32 && c < 127) ? c : '?';
  }
  return text;
}

constexpr int64_t kMaxDimension = 1 << 16;
constexpr int kMaxNesting = 8;
// NSG degrees and build parameters (Faiss's defaults are 32 to 100).
constexpr int32_t kMaxNsgDegree = 1 << 16;
// ProductQuantizer's code_size argument when nothing outside it states one.
constexpr uint64_t kAnyCodeSize = UINT64_MAX;
// The labels an index stores are free (kAnyLabels) or must be rows below a
// bound: beneath an id map, which looks each label up in its id table, and in
// a coarse quantizer, whose labels are list numbers.
constexpr uint64_t kAnyLabels = UINT64_MAX;
constexpr int kMetricInnerProduct = 0;  // faiss::METRIC_INNER_PRODUCT
constexpr int kMetricL2 = 1;            // faiss::METRIC_L2

class Checker {
 public:
  Checker(ByteSource& source, std::string name, std::string index_path)
      : in_(source), name_(std::move(name)), index_path_(std::move(index_path)) {}

  [[noreturn]] void Fail(const std::string& what) const {
    ThrowFaiss("invalid index " + name_ + ": " + what + " (at byte " + std::to_string(in_.Offset()) + ")",
               codes::kBadFile);
  }

  template <typename T>
  T Get() {
    T value;
    if (!in_.Read(&value, sizeof(T))) Fail("the data ends early");
    return value;
  }

  uint32_t Tag() { return Get<uint32_t>(); }

  bool Bool(const char* what) {
    uint8_t value = Get<uint8_t>();
    if (value > 1) Fail(std::string(what) + " is not a boolean");
    return value == 1;
  }

  // A Faiss vector: a size_t count, then count elements, which must be present.
  uint64_t VectorCount(uint64_t element_size, const char* what) {
    uint64_t count = Get<uint64_t>();
    if (element_size != 0 && count > in_.Remaining() / element_size) {
      Fail(std::string(what) + " claims " + std::to_string(count) + " elements but the data ends first");
    }
    return count;
  }

  void SkipElements(uint64_t count, uint64_t element_size) {
    if (!in_.Skip(count * element_size)) Fail("the data ends early");
  }

  struct Header {
    int32_t d;
    int64_t ntotal;
    bool is_trained;
    int32_t metric;
  };

  Header ReadHeader(const char* what) {
    Header header;
    header.d = Get<int32_t>();
    if (header.d < 1 || header.d > kMaxDimension) {
      Fail(std::string(what) + " dimension " + std::to_string(header.d) + " is outside 1..65536");
    }
    header.ntotal = Get<int64_t>();
    if (header.ntotal < 0) Fail(std::string(what) + " has a negative vector count");
    Get<int64_t>();  // unused fields Faiss still writes
    Get<int64_t>();
    header.is_trained = Bool("is_trained");
    header.metric = Get<int32_t>();
    if (header.metric != kMetricL2 && header.metric != kMetricInnerProduct) {
      Fail(std::string(what) + " metric " + std::to_string(header.metric) + " is not L2 or inner product");
    }
    return header;
  }

  void Expect(const char (&tag)[5], const char* what) {
    uint32_t found = Tag();
    if (found != FourCC(tag)) Fail(std::string("expected ") + what + " ('" + tag + "'), found '" + TagText(found) + "'");
  }

  // An IVF-PQ, 8-bit style ('IwPQ') or FastScan ('IwPf'); returns whether FastScan.
  bool IvfPqTag(uint32_t tag, const char* where) {
    if (tag == FourCC("IwPQ")) return false;
    if (tag == FourCC("IwPf")) return true;
    Fail(std::string("expected an IndexIVFPQ ('IwPQ') or IndexIVFPQFastScan ('IwPf') ") + where + ", found '" +
         TagText(tag) + "'");
  }

  // Accepted shapes, with P an IVF-PQ ('IwPQ' or 'IwPf'): P; IxPT(P); IxM2(IxRF(P, refine));
  // IxM2(IxPT(IxRF(P, refine))).
  void Index() {
    uint32_t tag = Tag();
    if (tag == FourCC("IxM2")) {
      Header map = ReadHeader("id map");
      uint32_t inner = Tag();
      if (inner == FourCC("IxPT")) {
        Header pre = PreTransformHead();
        if (pre.d != map.d || pre.ntotal != map.ntotal) Fail("id map and pre-transform disagree on dimension or size");
        Expect("IxRF", "a refined index");
        Refine(pre, /*cosine=*/true);
      } else if (inner == FourCC("IxRF")) {
        Refine(map, /*cosine=*/false);
      } else {
        Fail("expected a refined index ('IxRF') inside the id map, found '" + TagText(inner) + "'");
      }
      uint64_t ids = VectorCount(8, "id map");
      if (ids != uint64_t(map.ntotal)) Fail("id map holds " + std::to_string(ids) + " ids for " + std::to_string(map.ntotal) + " rows");
      SkipElements(ids, 8);
    } else if (tag == FourCC("IxPT")) {
      Header pre = PreTransformHead();
      bool fast_scan = IvfPqTag(Tag(), "inside the pre-transform");
      IvfPq(&pre, /*fewer_allowed=*/false, /*inner_product=*/true, fast_scan);
    } else if (tag == FourCC("IwPQ") || tag == FourCC("IwPf")) {
      IvfPq(nullptr, false, false, tag == FourCC("IwPf"));
    } else {
      Fail("expected an IndexIVFPQ ('IwPQ'), an IndexIVFPQFastScan ('IwPf'), a normalising IndexPreTransform "
           "('IxPT') or a refined index ('IxM2'), found '" + TagText(tag) + "'");
    }
    if (in_.Remaining() != 0) Fail(std::to_string(in_.Remaining()) + " unexpected bytes after the index");
  }

  Header PreTransformHead() {
    Header outer = ReadHeader("pre-transform");
    int32_t transforms = Get<int32_t>();
    if (transforms != 1) Fail("expected exactly one transform, found " + std::to_string(transforms));
    Expect("VNrm", "an L2 normalisation");
    float norm = Get<float>();
    if (norm != 2.0f) Fail("expected an L2 normalisation (norm 2), found norm " + std::to_string(norm));
    int32_t d_in = Get<int32_t>();
    int32_t d_out = Get<int32_t>();
    Bool("transform is_trained");
    if (d_in != outer.d || d_out != outer.d) Fail("normalisation dimensions do not match the index");
    return outer;
  }

  void Refine(const Header& outer, bool cosine) {
    Header refine = ReadHeader("refine");
    if (refine.d != outer.d || refine.ntotal != outer.ntotal) Fail("refined index disagrees with its wrapper on dimension or size");
    if (cosine && refine.metric != kMetricInnerProduct) Fail("a normalised index must use inner product");
    bool fast_scan = IvfPqTag(Tag(), "as the refined index's base");
    IvfPq(&refine, /*fewer_allowed=*/true, cosine, fast_scan);
    RefineStorage(refine);
    float k_factor = Get<float>();
    if (!(k_factor >= 1 && k_factor <= 1024)) Fail("refine k_factor is outside 1..1024");
  }

  void RefineStorage(const Header& refine) {
    uint32_t tag = Tag();
    if (tag == FourCC("IxF2") || tag == FourCC("IxFI") || tag == FourCC("IxFl")) {
      Header flat = ReadHeader("refine flat index");
      if (flat.d != refine.d || flat.ntotal != refine.ntotal) Fail("refine flat index size differs from the refined index");
      uint64_t floats = VectorCount(4, "refine vectors");
      if (floats % uint64_t(flat.d) != 0 || floats / uint64_t(flat.d) != uint64_t(flat.ntotal)) Fail("refine vectors do not match its size");
      SkipElements(floats, 4);
    } else if (tag == FourCC("IxSQ")) {
      Header sq = ReadHeader("refine scalar quantizer");
      if (sq.d != refine.d || sq.ntotal != refine.ntotal) Fail("refine scalar quantizer size differs from the refined index");
      if (Get<int32_t>() != 0) Fail("only the 8-bit scalar quantizer (QT_8bit) is supported for refinement");
      Get<int32_t>();  // range statistic
      Get<float>();    // its argument
      if (Get<uint64_t>() != uint64_t(sq.d)) Fail("scalar quantizer dimension differs");
      if (Get<uint64_t>() != uint64_t(sq.d)) Fail("scalar quantizer code size is not one byte per dimension");
      uint64_t trained = VectorCount(4, "scalar quantizer ranges");
      if (trained != 0 && trained != 2 * uint64_t(sq.d)) Fail("scalar quantizer ranges have the wrong size");
      if (sq.is_trained && trained == 0) Fail("a trained scalar quantizer has no ranges");
      SkipElements(trained, 4);
      uint64_t codes = VectorCount(1, "scalar quantizer codes");
      if (codes != uint64_t(sq.ntotal) * uint64_t(sq.d)) Fail("scalar quantizer codes do not match its size");
      SkipElements(codes, 1);
    } else {
      Fail("expected a flat or scalar-quantizer refine index, found '" + TagText(tag) + "'");
    }
  }

  void IvfPq(const Header* outer, bool fewer_allowed, bool inner_product, bool fast_scan) {
    Header header = ReadHeader("IVF-PQ");
    if (outer != nullptr) {
      bool count_ok = fewer_allowed ? header.ntotal <= outer->ntotal : header.ntotal == outer->ntotal;
      if (header.d != outer->d || !count_ok) Fail("IVF-PQ disagrees with its wrapper on dimension or vector count");
    }
    if (inner_product && header.metric != kMetricInnerProduct) Fail("a normalised index must use inner product");
    uint64_t nlist = Get<uint64_t>();
    if (nlist < 1 || nlist > (uint64_t(1) << 31)) Fail("nlist " + std::to_string(nlist) + " is outside 1..2^31");
    uint64_t nprobe = Get<uint64_t>();
    if (nprobe < 1) Fail("nprobe is 0");
    Quantizer(header, nlist);
    DirectMap(header);
    IvfPqBody(header, nlist, fast_scan);
  }

  // What follows the IVF header of an IVF-PQ: by_residual, code size, PQ, lists.
  void IvfPqBody(const Header& header, uint64_t nlist, bool fast_scan, uint64_t rows = kAnyLabels) {
    Bool("by_residual");
    uint64_t code_size = Get<uint64_t>();
    if (!fast_scan) {
      ProductQuantizer(header, code_size);
      InvertedLists(header, nlist, code_size, rows);
      return;
    }
    // FastScan: codes of bbs vectors interleaved in blocks of bbs·M2/2 bytes.
    int32_t bbs = Get<int32_t>();
    if (bbs < 32 || bbs > 4096 || bbs % 32 != 0) Fail("FastScan block size " + std::to_string(bbs) + " is not a multiple of 32 in 32..4096");
    uint64_t m2 = Get<uint64_t>();
    Get<int32_t>();   // implem: a search strategy, any value is safe
    Get<uint64_t>();  // qbs2: query batching, likewise
    PqShape pq = ProductQuantizer(header, code_size);
    if (pq.nbits != 4) Fail("FastScan codes are 4-bit, found nbits " + std::to_string(pq.nbits));
    uint64_t m = pq.m;
    if (m2 != (m + 1) / 2 * 2) Fail("FastScan M2 " + std::to_string(m2) + " is not m rounded up to even");
    Expect("ilbl", "FastScan block inverted lists");
    BlockLists(header, nlist, code_size, uint64_t(bbs), uint64_t(bbs) * m2 / 2, rows);
  }

  void BlockLists(const Header& ivf, uint64_t nlist, uint64_t code_size, uint64_t per_block, uint64_t block_bytes,
                  uint64_t rows) {
    if (Get<uint64_t>() != nlist) Fail("inverted lists count differs from nlist");
    // Faiss writes InvertedLists::INVALID_CODE_SIZE here: block lists have no per-vector code size.
    uint64_t list_code_size = Get<uint64_t>();
    if (list_code_size != code_size && list_code_size != UINT64_MAX) Fail("inverted lists code size differs from the PQ");
    if (Get<uint64_t>() != per_block) Fail("block inverted lists hold another number of vectors per block than bbs");
    if (Get<uint64_t>() != block_bytes) Fail("block inverted lists block size differs from bbs·M2/2");
    uint64_t total = 0;
    for (uint64_t list = 0; list < nlist; list++) {
      uint64_t ids = VectorCount(8, "list ids");
      Labels(ids, rows);
      uint64_t bytes = VectorCount(1, "list codes");
      if (bytes != (ids + per_block - 1) / per_block * block_bytes) Fail("a list's code blocks do not match its ids");
      SkipElements(bytes, 1);
      total += ids;
    }
    if (total != uint64_t(ivf.ntotal)) {
      Fail("inverted lists hold " + std::to_string(total) + " entries but the index says " + std::to_string(ivf.ntotal));
    }
  }

  void Quantizer(const Header& ivf, uint64_t nlist) {
    uint32_t tag = Tag();
    if (tag != FourCC("IxF2") && tag != FourCC("IxFI") && tag != FourCC("IxFl")) {
      Fail("expected a flat coarse quantizer ('IxF2' or 'IxFI'), found '" + TagText(tag) + "'");
    }
    Header header = ReadHeader("coarse quantizer");
    if (header.d != ivf.d) Fail("coarse quantizer dimension differs from the index");
    uint64_t floats = VectorCount(4, "coarse centroids");  // Faiss stores the count in floats
    if (floats % uint64_t(header.d) != 0 || floats / uint64_t(header.d) != uint64_t(header.ntotal)) {
      Fail("coarse quantizer holds " + std::to_string(floats) + " floats, not ntotal (" +
           std::to_string(header.ntotal) + ") × dimension");
    }
    SkipElements(floats, 4);
    if (ivf.is_trained && uint64_t(header.ntotal) != nlist) {
      Fail("a trained index needs nlist (" + std::to_string(nlist) + ") coarse centroids, found " +
           std::to_string(header.ntotal));
    }
  }

  void DirectMap(const Header& ivf) {
    uint8_t type = Get<uint8_t>();
    if (type > 2) Fail("direct map type " + std::to_string(type) + " is not 0, 1 or 2");
    uint64_t array = VectorCount(8, "direct map array");
    if ((type == 1 && array != uint64_t(ivf.ntotal)) || (type != 1 && array != 0)) {
      Fail("direct map array size does not match the vector count");
    }
    SkipElements(array, 8);
    if (type == 2) {
      uint64_t entries = VectorCount(16, "direct map table");
      if (entries != uint64_t(ivf.ntotal)) Fail("direct map table size does not match the vector count");
      SkipElements(entries, 16);
    }
  }

  struct PqShape {
    uint64_t m, nbits;
  };

  PqShape ProductQuantizer(const Header& ivf, uint64_t code_size) {
    uint64_t d = Get<uint64_t>();
    uint64_t m = Get<uint64_t>();
    uint64_t nbits = Get<uint64_t>();
    if (d != uint64_t(ivf.d)) Fail("PQ dimension differs from the index");
    if (m < 1 || m > d || d % m != 0) Fail("PQ m " + std::to_string(m) + " does not divide dimension " + std::to_string(d));
    if (nbits < 1 || nbits > 8) Fail("PQ nbits " + std::to_string(nbits) + " is outside 1..8");
    if (code_size != kAnyCodeSize && code_size != (m * nbits + 7) / 8) {
      Fail("code size " + std::to_string(code_size) + " does not match m and nbits");
    }
    uint64_t floats = VectorCount(4, "PQ centroids");
    uint64_t expected = d << nbits;  // m × 2^nbits centroids of d/m floats
    if (floats != expected && !(floats == 0 && !ivf.is_trained)) {
      Fail("PQ holds " + std::to_string(floats) + " centroid floats, expected " + std::to_string(expected));
    }
    if (ivf.is_trained && floats != expected) Fail("a trained index has no PQ centroids");
    SkipElements(floats, 4);
    return {m, nbits};
  }

  void InvertedLists(const Header& ivf, uint64_t nlist, uint64_t code_size, uint64_t rows = kAnyLabels) {
    uint32_t tag = Tag();
    if (tag == FourCC("ilar")) {
      ArrayLists(ivf, nlist, code_size, rows);
    } else if (tag == FourCC("ilod")) {
      OnDiskLists(ivf, nlist, code_size, rows);
    } else {
      Fail("expected inverted lists ('ilar' or 'ilod'), found '" + TagText(tag) + "'");
    }
  }

  void ArrayLists(const Header& ivf, uint64_t nlist, uint64_t code_size, uint64_t rows) {
    if (Get<uint64_t>() != nlist) Fail("inverted lists count differs from nlist");
    if (Get<uint64_t>() != code_size) Fail("inverted lists code size differs from the PQ");
    uint32_t layout = Tag();
    uint64_t total_bytes = 0;
    uint64_t total = 0;
    uint64_t entry = code_size + 8;
    // Non-empty lists as (list, size), kept only when their ids are checked.
    std::vector<std::pair<uint64_t, uint64_t>> stored;
    auto count_list = [&](uint64_t list, uint64_t size) {
      if (size > in_.Remaining() / entry) Fail("an inverted list claims more entries than the data holds");
      total += size;
      total_bytes += size * entry;
      if (total_bytes > in_.Remaining()) Fail("inverted lists claim more entries than the data holds");
      if (rows != kAnyLabels && size > 0) stored.emplace_back(list, size);
    };
    if (layout == FourCC("full")) {
      uint64_t count = VectorCount(8, "list sizes");
      if (count != nlist) Fail("list sizes count differs from nlist");
      for (uint64_t i = 0; i < count; i++) count_list(i, Get<uint64_t>());
    } else if (layout == FourCC("sprs")) {
      uint64_t count = VectorCount(8, "sparse list sizes");
      if (count % 2 != 0) Fail("sparse list sizes are not (list, size) pairs");
      std::unordered_set<uint64_t> named;  // bounded by the pairs present in the data
      for (uint64_t i = 0; i < count; i += 2) {
        uint64_t list = Get<uint64_t>();
        if (list >= nlist) Fail("sparse list sizes name a list beyond nlist");
        if (!named.insert(list).second) Fail("sparse list sizes name a list twice");
        count_list(list, Get<uint64_t>());
      }
    } else {
      Fail("unknown list size layout '" + TagText(layout) + "'");
    }
    if (total != uint64_t(ivf.ntotal)) {
      Fail("inverted lists hold " + std::to_string(total) + " entries but the index says " + std::to_string(ivf.ntotal));
    }
    if (rows == kAnyLabels) {
      if (!in_.Skip(total_bytes)) Fail("the data ends early");
      return;
    }
    // Faiss stores the lists in list order, each as codes then ids.
    std::sort(stored.begin(), stored.end());
    for (const auto& [list, size] : stored) {
      SkipElements(size, code_size);
      Labels(size, rows);
    }
  }

  // count stored labels (int64), each a row below rows unless rows is kAnyLabels.
  void Labels(uint64_t count, uint64_t rows) {
    if (rows == kAnyLabels) {
      SkipElements(count, 8);
      return;
    }
    ForEach<int64_t>(count, [&](uint64_t, int64_t label) {
      if (label < 0 || uint64_t(label) >= rows) {
        Fail("a stored label " + std::to_string(label) + " is not a row below " + std::to_string(rows) + " as its wrapper needs");
      }
    });
  }

  // ---- any index type: structure and sizes, leaving semantics to Faiss's reader ----

  // Whole file: one index and nothing after it.
  void AnyIndexFile() {
    AnyIndex(0, kAnyLabels);
    if (in_.Remaining() != 0) Fail(std::to_string(in_.Remaining()) + " unexpected bytes after the index");
  }

  // Every vector must fit in the bytes that remain (Faiss's own limit is the
  // machine's memory, which a short file could claim), nesting is bounded, and
  // inverted lists are checked as for IVF-PQ. Returns the header read.
  Header AnyIndex(int depth, uint64_t rows) {
    if (depth > kMaxNesting) Fail("indexes nested more than " + std::to_string(kMaxNesting) + " deep");
    uint32_t tag = Tag();
    if (tag == FourCC("IxF2") || tag == FourCC("IxFI") || tag == FourCC("IxFl")) return FlatBody("flat index");
    if (tag == FourCC("IxMp") || tag == FourCC("IxM2")) {
      Header map = ReadHeader("id map");
      Header inner = AnyIndex(depth + 1, uint64_t(map.ntotal));
      if (inner.d != map.d || inner.ntotal != map.ntotal) Fail("id map disagrees with its index on dimension or size");
      uint64_t ids = VectorCount(8, "id map");
      if (ids != uint64_t(map.ntotal)) Fail("id map holds " + std::to_string(ids) + " ids for " + std::to_string(map.ntotal) + " rows");
      Labels(ids, rows);
      return map;
    }
    if (tag == FourCC("IxPT")) {
      Header pre = ReadHeader("pre-transform");
      int32_t transforms = Get<int32_t>();
      if (transforms < 0 || transforms > 16) Fail("pre-transform chain length " + std::to_string(transforms) + " is outside 0..16");
      for (int32_t i = 0; i < transforms; i++) Transform(depth + 1);
      Header inner = AnyIndex(depth + 1, rows);
      if (inner.ntotal != pre.ntotal) Fail("pre-transform disagrees with its index on size");
      return pre;
    }
    if (tag == FourCC("IxRF")) {
      Header refine = ReadHeader("refine");
      // The base's labels are rows of the exact index, which re-ranks them.
      Header base = AnyIndex(depth + 1, std::min(rows, uint64_t(refine.ntotal)));
      Header exact = AnyIndex(depth + 1, kAnyLabels);
      if (base.d != refine.d || exact.d != refine.d || exact.ntotal != refine.ntotal || base.ntotal > refine.ntotal) {
        Fail("refined index disagrees with its parts on dimension or size");
      }
      float k_factor = Get<float>();
      if (!(k_factor >= 1 && k_factor <= 1 << 20)) Fail("refine k_factor is outside 1..2^20");
      return refine;
    }
    if (tag == FourCC("IxSQ")) {
      Header sq = ReadHeader("scalar quantizer index");
      uint64_t code_size = ScalarQuantizerFields(sq);
      Codes(sq, code_size, "scalar quantizer codes");
      return sq;
    }
    if (tag == FourCC("IxPq")) {
      Header pq = ReadHeader("PQ index");
      PqShape shape = ProductQuantizer(pq, kAnyCodeSize);
      Codes(pq, (shape.m * shape.nbits + 7) / 8, "PQ codes");
      Get<int32_t>();  // search type
      Bool("encode_signs");
      Get<int32_t>();  // polysemous_ht
      return pq;
    }
    if (tag == FourCC("Ixrq") || tag == FourCC("Ixrr")) {
      Header rq = ReadHeader("RaBitQ index");
      uint64_t code_size = RaBitQuantizerFields(rq, tag == FourCC("Ixrr"));
      Codes(rq, code_size, "RaBitQ codes");
      uint64_t center = VectorCount(4, "RaBitQ center");
      if (center != 0 && center != uint64_t(rq.d)) Fail("RaBitQ center has the wrong size");
      SkipElements(center, 4);
      Get<uint8_t>();  // qb
      return rq;
    }
    if (tag == FourCC("IHNf") || tag == FourCC("IHNs") || tag == FourCC("IHNp") || tag == FourCC("IH00")) {
      Header graph = ReadHeader("HNSW index");
      Hnsw(graph);
      uint32_t storage = Tag();
      if (storage != FourCC("null")) {
        in_.Rewind(4);
        Header stored = AnyIndex(depth + 1, kAnyLabels);
        if (stored.d != graph.d || stored.ntotal != graph.ntotal) Fail("HNSW storage disagrees with the graph on dimension or size");
      }
      return graph;
    }
    if (tag == FourCC("IwFl")) {
      IvfHead ivf = IvfHeader(depth);
      InvertedLists(ivf.header, ivf.nlist, uint64_t(ivf.header.d) * 4, rows);
      return ivf.header;
    }
    if (tag == FourCC("IwSq")) {
      IvfHead ivf = IvfHeader(depth);
      uint64_t code_size = ScalarQuantizerFields(ivf.header);
      if (Get<uint64_t>() != code_size) Fail("IVF scalar quantizer code size differs from its quantizer");
      Bool("by_residual");
      InvertedLists(ivf.header, ivf.nlist, code_size, rows);
      return ivf.header;
    }
    if (tag == FourCC("Iwrq") || tag == FourCC("Iwrr")) {
      IvfHead ivf = IvfHeader(depth);
      uint64_t code_size = RaBitQuantizerFields(ivf.header, tag == FourCC("Iwrr"));
      if (Get<uint64_t>() != code_size) Fail("IVF RaBitQ code size differs from its quantizer");
      Bool("by_residual");
      Get<uint8_t>();  // qb
      InvertedLists(ivf.header, ivf.nlist, code_size, rows);
      return ivf.header;
    }
    if (tag == FourCC("IwPQ") || tag == FourCC("IwPf")) {
      in_.Rewind(4);
      return IvfPqAny(depth, rows);
    }
    if (tag == FourCC("IwQR")) return IvfPqr(depth, rows);
    if (tag == FourCC("INSf") || tag == FourCC("INSp") || tag == FourCC("INSs")) return Nsg(depth, tag);
    if (tag == FourCC("IxHe")) return Lsh(depth);
    ThrowFaiss("cannot read " + name_ + ": index type '" + TagText(tag) +
                   "' is not one faiss-native checks yet (at byte " + std::to_string(in_.Offset() - 4) +
                   "); read it with { trusted: true } if it comes from a source you trust",
               codes::kUnsupported);
  }

  Header FlatBody(const char* what) {
    Header flat = ReadHeader(what);
    uint64_t floats = VectorCount(4, "flat vectors");  // Faiss stores the count in floats
    if (floats % uint64_t(flat.d) != 0 || floats / uint64_t(flat.d) != uint64_t(flat.ntotal)) {
      Fail(std::string(what) + " holds " + std::to_string(floats) + " floats, not ntotal × dimension");
    }
    SkipElements(floats, 4);
    return flat;
  }

  void Codes(const Header& index, uint64_t code_size, const char* what) {
    uint64_t bytes = VectorCount(1, what);
    if (code_size == 0 || bytes % code_size != 0 || bytes / code_size != uint64_t(index.ntotal)) {
      Fail(std::string(what) + " do not match the vector count");
    }
    SkipElements(bytes, 1);
  }

  struct TransformShape {
    uint32_t tag;
    int32_t d_in;
    int32_t d_out;
  };

  TransformShape Transform(int depth) {
    if (depth > kMaxNesting) Fail("transforms nested more than " + std::to_string(kMaxNesting) + " deep");
    int32_t remap_max = -1;  // largest source dimension a RemapDimensionsTransform names
    uint32_t tag = Tag();
    if (tag == FourCC("VNrm")) {
      Get<float>();
    } else if (tag == FourCC("LTra") || tag == FourCC("rrot") || tag == FourCC("Pcam")) {
      if (tag == FourCC("Pcam")) {
        Get<float>();    // eigen_power
        Get<float>();    // epsilon
        Bool("random_rotation");
        Get<int32_t>();  // balanced_bins
        SkipVector(4, "PCA mean");
        SkipVector(4, "PCA eigenvalues");
        SkipVector(4, "PCA matrix");
      }
      Bool("have_bias");
      SkipVector(4, "transform matrix");
      SkipVector(4, "transform bias");
    } else if (tag == FourCC("VCnt")) {
      SkipVector(4, "centering mean");
    } else if (tag == FourCC("RmDT")) {
      // Input dimensions by output position (negative: a zero). Faiss checks
      // only the map's length, then indexes vectors with it both ways.
      uint64_t entries = VectorCount(4, "dimension map");
      ForEach<int32_t>(entries, [&](uint64_t, int32_t source) { remap_max = std::max(remap_max, source); });
    } else {
      ThrowFaiss("cannot read " + name_ + ": vector transform '" + TagText(tag) +
                     "' is not one faiss-native checks yet (at byte " + std::to_string(in_.Offset() - 4) +
                     "); read it with { trusted: true } if it comes from a source you trust",
                 codes::kUnsupported);
    }
    int32_t d_in = Get<int32_t>();
    int32_t d_out = Get<int32_t>();
    if (d_in < 1 || d_in > kMaxDimension || d_out < 1 || d_out > kMaxDimension) Fail("transform dimensions are outside 1..65536");
    if (remap_max >= d_in) Fail("dimension map names input dimension " + std::to_string(remap_max) + " of " + std::to_string(d_in));
    Bool("transform is_trained");
    return {tag, d_in, d_out};
  }

  void SkipVector(uint64_t element_size, const char* what) { SkipElements(VectorCount(element_size, what), element_size); }

  // Returns the code size the quantizer declares.
  uint64_t ScalarQuantizerFields(const Header& index) {
    int32_t qtype = Get<int32_t>();
    if (qtype < 0 || qtype > 16) Fail("scalar quantizer type " + std::to_string(qtype) + " is unknown");
    Get<int32_t>();  // range statistic
    Get<float>();    // its argument
    if (Get<uint64_t>() != uint64_t(index.d)) Fail("scalar quantizer dimension differs from the index");
    uint64_t code_size = Get<uint64_t>();
    // Faiss derives the code size from the type and keeps the stored codes:
    // a stored size that differs would have searches read past them.
    faiss::ScalarQuantizer derived(size_t(index.d), faiss::ScalarQuantizer::QuantizerType(qtype));
    if (code_size < 1 || code_size != derived.code_size) {
      Fail("scalar quantizer code size " + std::to_string(code_size) + " is not the " + std::to_string(derived.code_size) + " its type gives");
    }
    uint64_t trained = VectorCount(4, "scalar quantizer ranges");
    if (trained > 2 * uint64_t(index.d)) Fail("scalar quantizer ranges have the wrong size");
    SkipElements(trained, 4);
    return code_size;
  }

  uint64_t RaBitQuantizerFields(const Header& index, bool multi_bit) {
    if (Get<uint64_t>() != uint64_t(index.d)) Fail("RaBitQ dimension differs from the index");
    uint64_t code_size = Get<uint64_t>();
    int32_t metric = Get<int32_t>();
    if (metric != kMetricL2 && metric != kMetricInnerProduct) Fail("RaBitQ metric is not L2 or inner product");
    uint64_t bits = multi_bit ? Get<uint64_t>() : 1;
    if (bits < 1 || bits > 9) Fail("RaBitQ bits per dimension are outside 1..9");
    // As for the scalar quantizer: Faiss trusts the stored size for flat
    // codes and derives it from the bits for inverted lists.
    uint64_t derived = faiss::RaBitQuantizer().compute_code_size(size_t(index.d), bits);
    if (code_size != derived) {
      Fail("RaBitQ code size " + std::to_string(code_size) + " is not the " + std::to_string(derived) + " its bits give");
    }
    return code_size;
  }

  // Faiss checks each array on its own (levels, offsets, neighbour ids in
  // range); a search also trusts that the entry point lives on max_level and
  // that a node linked at level l has a level l: otherwise neighbor_range()
  // reads past the node's slots, past the end of the array for the last node.
  void Hnsw(const Header& graph) {
    SkipVector(8, "HNSW level probabilities");
    uint64_t levels_cum = VectorCount(4, "HNSW neighbours per level");
    if (levels_cum > 64) Fail("HNSW has more than 63 levels");
    std::vector<int32_t> cum(levels_cum);
    for (uint64_t i = 0; i < levels_cum; i++) {
      cum[i] = Get<int32_t>();
      if (i == 0 ? cum[i] != 0 : cum[i] < cum[i - 1]) Fail("HNSW neighbours per level do not start at 0 and grow");
    }
    uint64_t n = VectorCount(4, "HNSW levels");
    if (n != uint64_t(graph.ntotal)) Fail("HNSW levels count differs from the vector count");
    std::vector<uint8_t> levels(n);  // 1 + a node's top level, < levels_cum <= 64
    ForEach<int32_t>(n, [&](uint64_t i, int32_t level) {
      if (level < 1 || uint64_t(level) >= levels_cum) Fail("HNSW node " + std::to_string(i) + " has level " + std::to_string(level) + ", outside the graph's levels");
      levels[i] = uint8_t(level);
    });
    uint64_t offsets = VectorCount(8, "HNSW offsets");
    if (offsets != n + 1) Fail("HNSW offsets count is not the vector count + 1");
    uint64_t slots = 0;
    ForEach<uint64_t>(offsets, [&](uint64_t i, uint64_t offset) {
      if (offset != slots) Fail("HNSW offsets do not follow the nodes' levels");
      if (i < n) slots += uint64_t(cum[levels[i]]);
    });
    uint64_t neighbours = VectorCount(4, "HNSW neighbours");
    if (neighbours < slots) Fail("HNSW neighbours are fewer than the nodes' slots");
    uint64_t node = 0, slot = 0;
    int level = 0;
    ForEach<int32_t>(slots, [&](uint64_t, int32_t id) {
      while (slot == uint64_t(cum[levels[node]])) {  // nodes with no slots at all
        node++;
        slot = 0;
        level = 0;
      }
      while (slot >= uint64_t(cum[level + 1])) level++;
      if (id < -1 || (id >= 0 && uint64_t(id) >= n)) Fail("HNSW neighbour id " + std::to_string(id) + " is outside the graph");
      if (id >= 0 && levels[id] <= level) {
        Fail("HNSW node " + std::to_string(node) + " links at level " + std::to_string(level) + " to node " + std::to_string(id) + ", which is not on that level");
      }
      if (++slot == uint64_t(cum[levels[node]])) {
        node++;
        slot = 0;
        level = 0;
      }
    });
    SkipElements(neighbours - slots, 4);
    int32_t entry_point = Get<int32_t>();
    int32_t max_level = Get<int32_t>();
    if (entry_point < -1 || (entry_point >= 0 && uint64_t(entry_point) >= n)) Fail("HNSW entry point is outside the graph");
    if (entry_point >= 0 && max_level >= int32_t(levels[entry_point])) Fail("HNSW entry point is not on the graph's top level");
    Get<int32_t>();  // efConstruction
    // Every search allocates efSearch candidates up front (8 bytes each, per
    // query in flight), however few vectors the graph holds.
    int32_t ef_search = Get<int32_t>();
    if (ef_search < 1 || ef_search > (1 << 20)) Fail("HNSW efSearch " + std::to_string(ef_search) + " is outside 1..2^20");
    Get<int32_t>();  // deprecated upper_beam
  }

  // Calls visit(i, element) for count elements, read in blocks.
  template <typename T, typename Visit>
  void ForEach(uint64_t count, Visit&& visit) {
    T block[4096];
    for (uint64_t done = 0; done < count;) {
      uint64_t take = std::min<uint64_t>(count - done, 4096);
      if (!in_.Read(block, take * sizeof(T))) Fail("the data ends early");
      for (uint64_t j = 0; j < take; j++) visit(done + j, block[j]);
      done += take;
    }
  }

  struct IvfHead {
    Header header;
    uint64_t nlist;
  };

  // Header, nlist, nprobe, coarse quantizer (flat or HNSW) and direct map.
  IvfHead IvfHeader(int depth) {
    Header header = ReadHeader("IVF index");
    uint64_t nlist = Get<uint64_t>();
    if (nlist < 1 || nlist > (uint64_t(1) << 31)) Fail("nlist " + std::to_string(nlist) + " is outside 1..2^31");
    if (Get<uint64_t>() < 1) Fail("nprobe is 0");
    Header quantizer = AnyIndex(depth + 1, nlist);
    if (quantizer.d != header.d) Fail("coarse quantizer dimension differs from the index");
    if (header.is_trained && uint64_t(quantizer.ntotal) != nlist) {
      Fail("a trained index needs nlist (" + std::to_string(nlist) + ") coarse centroids, found " +
           std::to_string(quantizer.ntotal));
    }
    DirectMap(header);
    return {header, nlist};
  }

  // IVF-PQ (8-bit style or FastScan) with any coarse quantizer.
  Header IvfPqAny(int depth, uint64_t rows) {
    bool fast_scan = Tag() == FourCC("IwPf");
    IvfHead ivf = IvfHeader(depth);
    IvfPqBody(ivf.header, ivf.nlist, fast_scan, rows);
    return ivf.header;
  }

  // IVF-PQ with a second PQ refining each code, looked up by label (Faiss
  // checks the label against ntotal at search; the codes must cover ntotal).
  Header IvfPqr(int depth, uint64_t rows) {
    IvfHead ivf = IvfHeader(depth);
    IvfPqBody(ivf.header, ivf.nlist, /*fast_scan=*/false, rows);
    if (!ivf.header.is_trained) {
      // Faiss writes the refinement part of an untrained one but does not read it back.
      ThrowFaiss("cannot read " + name_ + ": an untrained IndexIVFPQR, which Faiss does not read back whole",
                 codes::kUnsupported);
    }
    PqShape refine = ProductQuantizer(ivf.header, kAnyCodeSize);
    Codes(ivf.header, (refine.m * refine.nbits + 7) / 8, "IVF-PQR refinement codes");
    float k_factor = Get<float>();
    if (!(k_factor >= 1 && k_factor <= 1000)) Fail("IVF-PQR k_factor is outside 1..1000");
    return ivf.header;
  }

  // IndexNSG: build parameters, the graph (rows of neighbour ids ended by -1
  // or by R ids and a -1), the entry point, then flat, PQ or SQ storage. Faiss
  // checks ids and the entry point; it allocates ntotal·R ids before reading
  // the rows, and a search allocates max(search_L, k) per query.
  Header Nsg(int depth, uint32_t tag) {
    Header nsg = ReadHeader("NSG index");
    int32_t gk = Get<int32_t>();
    int8_t build_type = Get<int8_t>();  // a char in Faiss
    if (gk < 1 || gk > kMaxNsgDegree || (build_type != 0 && build_type != 1)) Fail("NSG build parameters are out of range");
    for (const char* what : {"nndescent_S", "nndescent_R", "nndescent_L", "nndescent_iter"}) {
      int32_t value = Get<int32_t>();
      if (value < 0 || value > kMaxNsgDegree) Fail(std::string("NSG ") + what + " " + std::to_string(value) + " is out of range");
    }
    int32_t n = Get<int32_t>();
    int32_t r = Get<int32_t>();
    int32_t l = Get<int32_t>();
    int32_t c = Get<int32_t>();
    int32_t search_l = Get<int32_t>();
    int32_t entry = Get<int32_t>();
    bool built = Bool("NSG is_built");
    if (n != nsg.ntotal) Fail("NSG graph size differs from the index");
    if (r < 1 || r > kMaxNsgDegree || l < 0 || l > kMaxNsgDegree || c < 0 || c > kMaxNsgDegree) {
      Fail("NSG R, L or C is out of range");
    }
    if (search_l < -1 || search_l > (1 << 20)) Fail("NSG search_L " + std::to_string(search_l) + " is outside -1..2^20");
    if (!built && n != 0) Fail("an NSG index holds vectors but no graph");
    if (built) {
      if (uint64_t(n) > in_.Remaining() / 4) Fail("NSG graph claims " + std::to_string(n) + " rows but the data ends first");
      uint64_t start = in_.Offset();
      for (int32_t node = 0; node < n; node++) {
        int32_t slot = 0;
        for (; slot < r; slot++) {
          int32_t id = Get<int32_t>();
          if (id == -1) break;
          if (id < 0 || id >= n) Fail("NSG node " + std::to_string(node) + " links to " + std::to_string(id) + ", not a node");
        }
        if (slot == r && Get<int32_t>() != -1) Fail("NSG node " + std::to_string(node) + " has more than R neighbours");
      }
      // Faiss allocates the graph as ntotal·R ids whatever the rows hold.
      uint64_t allocated = uint64_t(n) * uint64_t(r) * 4;
      if (allocated > std::max<uint64_t>(uint64_t(1) << 26, 64 * (in_.Offset() - start))) {
        Fail("NSG graph of " + std::to_string(n) + " rows of R " + std::to_string(r) + " is far larger than the rows stored");
      }
      if (entry < 0 || entry >= n) Fail("NSG entry point is not a node");
    }
    uint32_t storage = Tag();
    bool fits = tag == FourCC("INSf")   ? storage == FourCC("IxF2") || storage == FourCC("IxFI") || storage == FourCC("IxFl")
                : tag == FourCC("INSp") ? storage == FourCC("IxPq")
                                        : storage == FourCC("IxSQ");
    if (!fits) Fail("NSG storage '" + TagText(storage) + "' is not the kind its type stores");
    in_.Rewind(4);
    Header stored = AnyIndex(depth + 1, kAnyLabels);
    if (stored.d != nsg.d || stored.ntotal != nsg.ntotal) Fail("NSG storage disagrees with the graph on dimension or size");
    return nsg;
  }

  // IndexLSH: nbits-bit codes of the vectors rotated to nbits dimensions (or
  // their first nbits), less per-bit thresholds when trained; Faiss checks the
  // rotation's matrix and the code size, not the thresholds' count.
  Header Lsh(int depth) {
    Header lsh = ReadHeader("LSH index");
    int32_t nbits = Get<int32_t>();
    if (nbits < 1 || nbits > kMaxDimension) Fail("LSH nbits " + std::to_string(nbits) + " is outside 1..65536");
    bool rotate = Bool("rotate_data");
    bool thresholds_trained = Bool("train_thresholds");
    uint64_t thresholds = VectorCount(4, "LSH thresholds");
    if (thresholds_trained && thresholds != uint64_t(nbits)) Fail("LSH thresholds do not match nbits");
    SkipElements(thresholds, 4);
    int32_t code_size = Get<int32_t>();
    if (code_size != (nbits + 7) / 8) Fail("LSH code size " + std::to_string(code_size) + " does not match nbits");
    TransformShape rotation = Transform(depth + 1);
    if (rotation.tag != FourCC("rrot") || rotation.d_in != lsh.d || rotation.d_out != nbits) {
      Fail("LSH rotation is not a random rotation from the index's dimension to nbits");
    }
    if (!rotate && nbits > lsh.d) Fail("LSH without rotation takes more bits than the vectors have dimensions");
    Codes(lsh, uint64_t(code_size), "LSH codes");
    return lsh;
  }

  const IndexFileFacts& facts() const { return facts_; }

  void OnDiskLists(const Header& ivf, uint64_t nlist, uint64_t code_size, uint64_t rows) {
    facts_.on_disk_lists = true;
    if (Get<uint64_t>() != nlist) Fail("inverted lists count differs from nlist");
    if (Get<uint64_t>() != code_size) Fail("inverted lists code size differs from the PQ");
    uint64_t lists = VectorCount(24, "on-disk list table");
    if (lists != nlist) Fail("on-disk list table size differs from nlist");
    struct List {
      uint64_t size, capacity, offset;
    };
    uint64_t entry = code_size + 8;
    uint64_t total = 0;
    uint64_t end = 0;  // furthest byte any list reaches in the data file
    std::vector<std::pair<uint64_t, uint64_t>> id_spans;  // (where a list's ids start, count), when checked
    for (uint64_t i = 0; i < lists; i++) {
      List list = Get<List>();
      if (list.size > list.capacity) Fail("an on-disk list is larger than its capacity");
      if (list.capacity > (std::numeric_limits<uint64_t>::max() - list.offset) / entry) Fail("an on-disk list overflows");
      end = std::max(end, list.offset + list.capacity * entry);
      total += list.size;
      if (rows != kAnyLabels && list.size > 0) id_spans.emplace_back(list.offset + list.capacity * code_size, list.size);
    }
    if (total != uint64_t(ivf.ntotal)) Fail("on-disk lists hold a different number of entries than the index says");
    uint64_t slots = VectorCount(16, "on-disk free slots");
    SkipElements(slots, 16);
    uint64_t name_length = VectorCount(1, "data file name");
    if (name_length == 0 || name_length > 4096) Fail("data file name length is outside 1..4096");
    std::string data_file(name_length, '\0');
    if (!in_.Read(data_file.data(), name_length)) Fail("the data ends early");
    if (data_file.find('\0') != std::string::npos) Fail("data file name contains a NUL byte");
    uint64_t totsize = Get<uint64_t>();
    if (end > totsize) Fail("on-disk lists reach past the data size");
    if (index_path_.empty()) Fail("an index whose inverted lists live in a data file can only be opened from its file");
    if (DirectoryOf(RealPath(data_file)) != DirectoryOf(RealPath(index_path_))) {
      Fail("the data file '" + data_file + "' is not in the index file's directory");
    }
    // Faiss maps totsize bytes; a shorter file would fault when read.
    struct stat info;
    if (stat(data_file.c_str(), &info) != 0) {
      ThrowFaiss("cannot open the inverted-list data file '" + data_file + "' of " + name_ + ": " +
                     std::strerror(errno),
                 codes::kIo);
    }
    if (!S_ISREG(info.st_mode) || uint64_t(info.st_size) < totsize) {
      Fail("the data file '" + data_file + "' is shorter than the " + std::to_string(totsize) + " bytes the index maps");
    }
    if (!id_spans.empty()) DataFileLabels(data_file, id_spans, rows);
  }

  // Ids of on-disk lists live in the data file (each list: codes, then ids).
  void DataFileLabels(const std::string& data_file, const std::vector<std::pair<uint64_t, uint64_t>>& spans, uint64_t rows) {
    FILE* file = std::fopen(data_file.c_str(), "rb");
    if (file == nullptr) {
      ThrowFaiss("cannot open the inverted-list data file '" + data_file + "' of " + name_ + ": " + std::strerror(errno),
                 codes::kIo);
    }
    int64_t block[4096];
    bool ok = true;
    for (const auto& [start, count] : spans) {
      ok = fseeko(file, off_t(start), SEEK_SET) == 0;
      for (uint64_t done = 0; ok && done < count;) {
        uint64_t take = std::min<uint64_t>(count - done, 4096);
        ok = std::fread(block, sizeof(int64_t), take, file) == take;
        for (uint64_t j = 0; ok && j < take; j++) ok = block[j] >= 0 && uint64_t(block[j]) < rows;
        done += take;
      }
      if (!ok) break;
    }
    std::fclose(file);
    if (!ok) Fail("the data file '" + data_file + "' holds a list label that is not a row below " + std::to_string(rows) + " as its wrapper needs");
  }

 private:
  static std::string RealPath(const std::string& path) {
    char* resolved = realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return path;  // missing: the stat below reports it
    std::string out(resolved);
    std::free(resolved);
    return out;
  }

  static std::string DirectoryOf(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
  }

  ByteSource& in_;
  std::string name_;
  std::string index_path_;
  IndexFileFacts facts_;
};

}  // namespace

bool MemorySource::Read(void* out, uint64_t size) {
  if (size > Remaining()) return false;
  std::memcpy(out, data_ + position_, size);
  position_ += size;
  return true;
}

void MemorySource::Rewind(uint64_t size) { position_ -= size; }

bool MemorySource::Skip(uint64_t size) {
  if (size > Remaining()) return false;
  position_ += size;
  return true;
}

bool FileSource::Read(void* out, uint64_t size) {
  if (size > Remaining() || std::fread(out, 1, size, file_) != size) return false;
  position_ += size;
  return true;
}

void FileSource::Rewind(uint64_t size) {
  fseeko(file_, -static_cast<off_t>(size), SEEK_CUR);
  position_ -= size;
}

bool FileSource::Skip(uint64_t size) {
  if (size > Remaining() || fseeko(file_, static_cast<off_t>(size), SEEK_CUR) != 0) return false;
  position_ += size;
  return true;
}

IndexFileFacts CheckIndexBytes(ByteSource& source, const std::string& source_name,
                               const std::string& index_path, IndexGrammar grammar) {
  Checker checker(source, source_name, index_path);
  if (grammar == IndexGrammar::IvfPq) {
    checker.Index();
  } else {
    checker.AnyIndexFile();
  }
  return checker.facts();
}

}  // namespace faiss_native
