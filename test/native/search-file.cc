// Reference for test/faiss-index-cxx.test.ts: searches an index file with Faiss
// itself, parameters set the way Faiss's own tools set them (ParameterSpace).
//   search-file <index> <queries.f32> <k> <parameters|-> <out-prefix>
// Writes <out-prefix>.i64 (labels) and <out-prefix>.f32 (distances), one thread.
#include <faiss/AutoTune.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: search-file <index> <queries.f32> <k> <parameters|-> <out-prefix>\n");
    return 2;
  }
  omp_set_num_threads(1);
  std::unique_ptr<faiss::Index> index(faiss::read_index(argv[1]));
  FILE* in = std::fopen(argv[2], "rb");
  if (!in) return 3;
  std::vector<float> queries;
  float value;
  while (std::fread(&value, sizeof value, 1, in) == 1) queries.push_back(value);
  std::fclose(in);
  long k = std::atol(argv[3]);
  long n = static_cast<long>(queries.size()) / index->d;
  if (std::string(argv[4]) != "-") faiss::ParameterSpace().set_index_parameters(index.get(), argv[4]);
  std::vector<float> distances(n * k);
  std::vector<faiss::idx_t> labels(n * k);
  index->search(n, queries.data(), k, distances.data(), labels.data());
  std::string prefix = argv[5];
  FILE* out = std::fopen((prefix + ".i64").c_str(), "wb");
  std::fwrite(labels.data(), sizeof(faiss::idx_t), labels.size(), out);
  std::fclose(out);
  out = std::fopen((prefix + ".f32").c_str(), "wb");
  std::fwrite(distances.data(), sizeof(float), distances.size(), out);
  std::fclose(out);
  return 0;
}
