// libFuzzer target: the Matrix Market and Planetoid readers on arbitrary bytes must return a
// consistent result or throw std::runtime_error with a one-line message, never crash, hang or
// allocate without bound. The first byte chooses the role of the rest: '0' a Matrix Market
// file read alone by read_matrix_market; '1' to '6' one of the six files of an otherwise valid
// Planetoid folder (features, adjacency, labels, train, val, test) read by read_planetoid.
#include <dladmm/data/planetoid.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_file.hpp"

namespace {

const char* const kNames[] = {"features.mtx", "adjacency.mtx", "labels.txt",
                              "train.txt",    "val.txt",       "test.txt"};

// A valid 4-node graph, one file per name.
const char* const kValid[] = {
    "%%MatrixMarket matrix coordinate real general\n4 3 5\n1 1 1\n2 2 0.5\n3 3 2\n4 1 1\n4 3 1\n",
    "%%MatrixMarket matrix coordinate pattern symmetric\n4 4 3\n2 1\n3 2\n4 1\n",
    "0\n1\n-1\n1\n",
    "0\n1\n",
    "3\n",
    "2\n"};

void write(const std::string& path, const char* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, std::streamsize(size));
}

// One folder per role, holding the valid files but the fuzzed one.
const std::string& folder(int role) {
  static std::vector<std::string> dirs = [] {
    std::vector<std::string> made;
    for (int r = 1; r <= 6; ++r) {
      made.push_back(fuzz_scratch_dir("planetoid_" + std::to_string(r)));
      for (int f = 0; f < 6; ++f) {
        write(made.back() + "/" + kNames[f], kValid[f], std::strlen(kValid[f]));
      }
    }
    return made;
  }();
  return dirs[std::size_t(role - 1)];
}

void check_message(const std::runtime_error& e) {
  const char* message = e.what();
  if (std::strchr(message, '\n') != nullptr || std::strchr(message, '\r') != nullptr) {
    __builtin_trap();  // messages are one line
  }
}

void check_sparse(const Eigen::SparseMatrix<double>& m, const dladmm::MatrixMarketHeader& h) {
  if (m.rows() != h.rows || m.cols() != h.cols) __builtin_trap();
  const long long bound =
      h.symmetry == dladmm::MatrixMarketSymmetry::Symmetric ? 2 * h.entries : h.entries;
  if (m.nonZeros() > bound) __builtin_trap();
  for (dladmm::Index k = 0; k < m.nonZeros(); ++k)
    if (!std::isfinite(m.valuePtr()[k])) __builtin_trap();
}

void check_graph(const dladmm::Graph<float>& g) {
  const dladmm::Index n = g.nodes();
  if (g.labels.size() != n || g.adjacency.rows() != n || g.adjacency.cols() != n) __builtin_trap();
  if (!g.features.allFinite() || g.num_classes < 1) __builtin_trap();
  for (dladmm::Index j = 0; j < n; ++j)
    if (g.labels(j) < -1 || g.labels(j) >= g.num_classes) __builtin_trap();
  for (const auto* split : {&g.train, &g.val, &g.test}) {
    if (split->empty()) __builtin_trap();
    for (dladmm::Index id : *split)
      if (id < 0 || id >= n) __builtin_trap();
  }
  for (dladmm::Index id : g.train)
    if (g.labels(id) < 0) __builtin_trap();
  const Eigen::SparseMatrix<float> t = g.adjacency.transpose();
  if ((g.adjacency - t).norm() != 0.0f) __builtin_trap();
  for (dladmm::Index k = 0; k < g.adjacency.outerSize(); ++k)
    for (Eigen::SparseMatrix<float>::InnerIterator it(g.adjacency, k); it; ++it)
      if (it.row() == it.col() || it.value() != 1.0f) __builtin_trap();
  const Eigen::SparseMatrix<float> s = dladmm::normalized_propagation(g.adjacency);
  for (dladmm::Index k = 0; k < s.nonZeros(); ++k)
    if (!(s.valuePtr()[k] > 0.0f && s.valuePtr()[k] <= 1.0f)) __builtin_trap();
  if (g.one_hot().cols() != n) __builtin_trap();
}

// A valid but large matrix takes seconds to read under the sanitizers and the coverage
// instrumentation, which would report it as a timeout; the reader's limits and large shapes are
// tested by test_planetoid.cpp, so the fuzzer skips matrices of more than 2^20 columns (sparse)
// or entries (the dense features).
bool too_large(const std::string& path, bool dense) {
  try {
    const dladmm::MatrixMarketHeader h = dladmm::MatrixMarketReader(path).header();
    return (dense ? h.rows * h.cols : h.cols) > (dladmm::Index{1} << 20);
  } catch (const std::runtime_error&) {
    return false;  // the reader proper reports it
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int role = (int(data[0]) - '0' + 7 * 37) % 7;  // '0' to '6': text seeds
  const char* body = reinterpret_cast<const char*>(data + 1);
  try {
    if (role == 0) {
      const std::string& path = fuzz_input_file(data + 1, size - 1, ".mtx");
      if (too_large(path, false)) return 0;
      dladmm::MatrixMarketHeader header;
      check_sparse(dladmm::read_matrix_market<double>(path, &header), header);
    } else {
      const std::string& dir = folder(role);
      const std::string path = dir + "/" + kNames[role - 1];
      write(path, body, size - 1);
      if (role == 1 && too_large(path, true)) return 0;
      check_graph(dladmm::read_planetoid<float>(dir));
    }
  } catch (const std::runtime_error& e) {
    check_message(e);
  }
  return 0;
}
