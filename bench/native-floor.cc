// The native floor of the benchmark: the same Faiss calls faiss-native makes,
// from plain C++ linked against the same libfaiss.a, OpenBLAS and libgomp.
// bench/compare.mjs runs it as a child process and alternates its
// measurements with faiss-native's, so both see the same machine load.
//
// Protocol: one command per line on stdin, one JSON object per line on stdout.
//   build <dir> <dimension> <nlist> <m> <l2|ip|cosine> <threads> <out-index>
//       trains on <dir>/train.f32 and adds <dir>/base.f32 (raw float32 rows)
//       exactly as AnyIndexCore does (IndexPreTransform with an L2
//       NormalizationTransform in front of an inner-product IndexIVFPQ for
//       cosine), times both, writes the index
//   load <index>        reads an index file (written by faiss-native or by build)
//   queries <file>      raw float32 rows of the loaded index's dimension
//   batch <nprobe> <threads> <k> <calls> [faiss]
//       <calls> × one search of every query, like searchSync(all)
//   single <nprobe> <k> <passes> [faiss]
//       <passes> × a loop of one-query searches on one thread, like a searchSync() loop
// Searches go through faiss-native's own IVF search (native/ivf_search.cc,
// compiled in): its coarse step, then Faiss's IndexIVF::search_preassigned.
// With the word faiss they call Faiss's IndexIVF::search instead, the
// reference for what that coarse step changes.
//   quit
// Every search reply carries the wall time of each call (batch) or pass
// (single) in ms, the process's CPU time over all of them, and an FNV-1a hash
// of the labels, which must equal the hash of faiss-native's labels for the same call.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/VectorTransform.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ivf_search.h"

namespace {

using Clock = std::chrono::steady_clock;
using idx_t = faiss::idx_t;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// CPU time of the whole process (all threads), in ms.
double ProcessCpuMs() {
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

std::vector<float> ReadFloats(const std::string& path, size_t dimension) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::streamsize bytes = in.tellg();
  if (bytes <= 0 || bytes % static_cast<std::streamsize>(4 * dimension) != 0) {
    throw std::runtime_error(path + ": size is not a multiple of 4·dimension");
  }
  std::vector<float> data(static_cast<size_t>(bytes) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(data.data()), bytes);
  if (!in) throw std::runtime_error("cannot read " + path);
  return data;
}

uint64_t Fnv1a(const idx_t* labels, size_t count) {
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < count; i++) {
    hash ^= static_cast<uint64_t>(labels[i]);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string Json(const std::vector<double>& values) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < values.size(); i++) out << (i ? "," : "") << values[i];
  out << ']';
  return out.str();
}

struct Session {
  std::unique_ptr<faiss::Index> root;
  faiss::IndexIVFPQ* ivf = nullptr;  // inside root
  std::unique_ptr<faiss_native::CoarseQuantizer> coarse;  // as AnyIndexCore keeps one
  bool cosine = false;
  std::vector<float> queries;
  size_t query_count = 0;

  // Finds the IVF-PQ inside the wrappers faiss-native writes (refine is not benchmarked here).
  void Adopt(faiss::Index* index) {
    root.reset(index);
    faiss::Index* node = index;
    cosine = false;
    if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(node)) {
      cosine = true;
      node = pre->index;
    }
    ivf = dynamic_cast<faiss::IndexIVFPQ*>(node);
    if (ivf == nullptr) throw std::runtime_error("not an IndexIVFPQ (or normalised IndexIVFPQ)");
    Prepared();
  }

  // What AnyIndexCore does once an index is trained or read: its coarse step.
  void Prepared() { coarse = faiss_native::CoarseQuantizer::For(*ivf); }

  // What AnyIndexCore::Search does on its IVF path before calling Faiss: normalise a copy for cosine.
  const float* Prepare(const float* x, idx_t n, std::vector<float>& scratch) const {
    if (!cosine) return x;
    scratch.assign(x, x + n * ivf->d);
    faiss::fvec_renorm_L2(ivf->d, n, scratch.data());
    return scratch.data();
  }

  std::string Build(std::istringstream& args) {
    std::string dir, metric, out;
    size_t d, nlist, m;
    int threads;
    args >> dir >> d >> nlist >> m >> metric >> threads >> out;
    if (!args) throw std::runtime_error("usage: build <dir> <dimension> <nlist> <m> <metric> <threads> <out>");
    std::vector<float> train = ReadFloats(dir + "/train.f32", d);
    std::vector<float> base = ReadFloats(dir + "/base.f32", d);
    omp_set_num_threads(threads);
    faiss::MetricType faiss_metric = metric == "l2" ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
    faiss::Index* quantizer = faiss_metric == faiss::METRIC_L2
                                  ? static_cast<faiss::Index*>(new faiss::IndexFlatL2(d))
                                  : new faiss::IndexFlatIP(d);
    auto* index = new faiss::IndexIVFPQ(quantizer, d, nlist, m, 8, faiss_metric);
    index->own_fields = true;
    faiss::Index* top = index;
    if (metric == "cosine") {
      auto* pre = new faiss::IndexPreTransform(new faiss::NormalizationTransform(d, 2.0), index);
      pre->own_fields = true;
      top = pre;
    }
    Adopt(top);
    auto start = Clock::now();
    root->train(static_cast<idx_t>(train.size() / d), train.data());
    Prepared();
    double train_ms = MillisecondsSince(start);
    start = Clock::now();
    root->add(static_cast<idx_t>(base.size() / d), base.data());
    double add_ms = MillisecondsSince(start);
    faiss::write_index(root.get(), out.c_str());
    std::ostringstream reply;
    reply << "{\"trainMs\":" << train_ms << ",\"addMs\":" << add_ms << ",\"ntotal\":" << root->ntotal
          << ",\"threads\":" << threads << "}";
    return reply.str();
  }

  std::string Load(std::istringstream& args) {
    std::string path;
    args >> path;
    auto start = Clock::now();
    Adopt(faiss::read_index(path.c_str(), faiss::IO_FLAG_READ_ONLY));
    std::ostringstream reply;
    reply << "{\"ntotal\":" << ivf->ntotal << ",\"nlist\":" << ivf->nlist << ",\"m\":" << ivf->pq.M
          << ",\"cosine\":" << (cosine ? "true" : "false") << ",\"ms\":" << MillisecondsSince(start) << "}";
    return reply.str();
  }

  std::string Queries(std::istringstream& args) {
    std::string path;
    args >> path;
    if (ivf == nullptr) throw std::runtime_error("load an index first");
    queries = ReadFloats(path, ivf->d);
    query_count = queries.size() / ivf->d;
    return "{\"count\":" + std::to_string(query_count) + "}";
  }

  static bool UsesFaissSearch(std::istringstream& args) {
    std::string word;
    args >> word;
    if (!word.empty() && word != "faiss") throw std::runtime_error("expected 'faiss' or nothing after the numbers");
    return word == "faiss";
  }

  void Search(bool faiss_search, idx_t n, const float* x, idx_t k, const faiss::SearchParametersIVF& params,
              float* distances, idx_t* labels) const {
    if (faiss_search) {
      ivf->search(n, x, k, distances, labels, &params);
    } else {
      faiss_native::SearchIvf(*ivf, coarse.get(), n, x, k, params, distances, labels);
    }
  }

  // The reply of batch and single: per-call (or per-pass) times, CPU time, label hash.
  static std::string SearchReply(const std::vector<double>& times, double cpu_ms, const std::vector<idx_t>& labels) {
    std::ostringstream reply;
    reply << "{\"ms\":" << Json(times) << ",\"cpuMs\":" << cpu_ms << ",\"hash\":\""
          << Fnv1a(labels.data(), labels.size()) << "\"}";
    return reply.str();
  }

  std::string Batch(std::istringstream& args) {
    size_t nprobe;
    int threads, reps;
    idx_t k;
    args >> nprobe >> threads >> k >> reps;
    if (!args || ivf == nullptr || query_count == 0) throw std::runtime_error("usage: batch <nprobe> <threads> <k> <calls> [faiss]");
    const bool faiss_search = UsesFaissSearch(args);
    omp_set_num_threads(threads);
    faiss::SearchParametersIVF params;
    params.nprobe = nprobe;
    idx_t n = static_cast<idx_t>(query_count);
    std::vector<float> distances(n * k);
    std::vector<idx_t> labels(n * k);
    std::vector<float> scratch;
    std::vector<double> times;
    double cpu_start = ProcessCpuMs();
    for (int rep = 0; rep < reps; rep++) {
      auto start = Clock::now();
      const float* x = Prepare(queries.data(), n, scratch);
      Search(faiss_search, n, x, k, params, distances.data(), labels.data());
      times.push_back(MillisecondsSince(start));
    }
    return SearchReply(times, ProcessCpuMs() - cpu_start, labels);
  }

  std::string Single(std::istringstream& args) {
    size_t nprobe;
    int reps;
    idx_t k;
    args >> nprobe >> k >> reps;
    if (!args || ivf == nullptr || query_count == 0) throw std::runtime_error("usage: single <nprobe> <k> <passes> [faiss]");
    const bool faiss_search = UsesFaissSearch(args);
    omp_set_num_threads(1);  // faiss-native runs a one-query call on one thread
    faiss::SearchParametersIVF params;
    params.nprobe = nprobe;
    idx_t n = static_cast<idx_t>(query_count);
    size_t d = ivf->d;
    std::vector<float> distances(n * k);
    std::vector<idx_t> labels(n * k);
    std::vector<float> scratch;
    std::vector<double> times;
    double cpu_start = ProcessCpuMs();
    for (int rep = 0; rep < reps; rep++) {
      auto start = Clock::now();
      for (idx_t q = 0; q < n; q++) {
        const float* x = Prepare(queries.data() + q * d, 1, scratch);
        Search(faiss_search, 1, x, k, params, distances.data() + q * k, labels.data() + q * k);
      }
      times.push_back(MillisecondsSince(start));
    }
    return SearchReply(times, ProcessCpuMs() - cpu_start, labels);
  }
};

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  Session session;
  std::cout << "{\"ready\":true,\"maxThreads\":" << omp_get_max_threads() << "}" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream args(line);
    std::string command;
    args >> command;
    if (command.empty()) continue;
    if (command == "quit") break;
    std::string reply;
    try {
      if (command == "build") reply = session.Build(args);
      else if (command == "load") reply = session.Load(args);
      else if (command == "queries") reply = session.Queries(args);
      else if (command == "batch") reply = session.Batch(args);
      else if (command == "single") reply = session.Single(args);
      else throw std::runtime_error("unknown command " + command);
    } catch (const std::exception& error) {
      std::string message = error.what();
      for (char& c : message) {
        if (c == '"' || c == '\\' || c == '\n') c = ' ';
      }
      reply = "{\"error\":\"" + message + "\"}";
    }
    std::cout << reply << std::endl;
  }
  return 0;
}
