#include <catch2/catch.hpp>

#include "gzip_file.hpp"
#include "temp_dir.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dladmm/data/planetoid.hpp"

using Catch::Contains;
using dladmm::Index;
using dladmm::Matrix;

namespace fs = std::filesystem;

namespace {

#ifndef DLADMM_PLANETOID_DIR
#error "DLADMM_PLANETOID_DIR (the source tree's data/planetoid) must be defined"
#endif
const std::string kShipped = DLADMM_PLANETOID_DIR;

const char* const kFiles[] = {"features.mtx", "adjacency.mtx", "labels.txt",
                              "train.txt",    "val.txt",       "test.txt"};

/// A valid 4-node graph: 3 features, edges 1-0, 2-1, 3-0, node 2 unlabelled (and in the test
/// split, which allows it). Tests replace one file at a time.
std::map<std::string, std::string> small_graph() {
  return {{"features.mtx",
           "%%MatrixMarket matrix coordinate real general\n"
           "% nodes x features\n"
           "4 3 5\n"
           "1 1 1\n"
           "2 2 0.5\n"
           "3 3 2\n"
           "4 1 1\n"
           "4 3 1\n"},
          {"adjacency.mtx",
           "%%MatrixMarket matrix coordinate pattern symmetric\n"
           "4 4 3\n"
           "2 1\n"
           "3 2\n"
           "4 1\n"},
          {"labels.txt", "0\n1\n-1\n1\n"},
          {"train.txt", "0\n1\n"},
          {"val.txt", "3\n"},
          {"test.txt", "2\n"}};
}

/// Writes the files of a graph folder into dir, each plain or, with gz, as NAME.gz.
void write_folder(const TempDir& dir, const std::map<std::string, std::string>& files,
                  bool gz = false) {
  for (const auto& [name, content] : files) {
    if (gz) {
      write_gz(dir.file(name + ".gz"), content);
    } else {
      dir.write(name, content);
    }
  }
}

/// The message of the std::runtime_error that read_planetoid throws on dir.
template <typename Scalar = double>
std::string planetoid_error(const std::string& dir) {
  try {
    dladmm::read_planetoid<Scalar>(dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("read_planetoid did not throw on " << dir);
  return {};
}

/// One malformed file of the small graph and the problem the message must state.
struct BadFile {
  const char* file;
  std::string content;
  const char* problem;
};

/// Checks that replacing each case's file in the small graph makes read_planetoid throw one
/// line naming that file and the problem.
template <typename Scalar = double>
void check_bad_files(const std::vector<BadFile>& cases) {
  for (const BadFile& c : cases) {
    INFO("file " << c.file << ", expected problem: " << c.problem);
    TempDir dir;
    auto files = small_graph();
    files[c.file] = c.content;
    write_folder(dir, files);
    const std::string message = planetoid_error<Scalar>(dir.str());
    CHECK_THAT(message,
               Contains("read_planetoid: " + dir.file(c.file) + ": ") && Contains(c.problem));
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find('\r') == std::string::npos);
  }
}

template <typename Scalar>
Matrix<Scalar> dense(const Eigen::SparseMatrix<Scalar>& s) {
  return Matrix<Scalar>(s);
}

template <typename Scalar>
void check_adjacency_shape(const Eigen::SparseMatrix<Scalar>& a, Index nodes) {
  REQUIRE(a.rows() == nodes);
  REQUIRE(a.cols() == nodes);
  const Eigen::SparseMatrix<Scalar> transposed = a.transpose();
  CHECK((a - transposed).norm() == Scalar(0));  // symmetric
  for (Index k = 0; k < a.outerSize(); ++k) {
    for (typename Eigen::SparseMatrix<Scalar>::InnerIterator it(a, k); it; ++it) {
      REQUIRE(it.row() != it.col());  // no self-loops
      REQUIRE(it.value() == Scalar(1));
    }
  }
}

template <typename Scalar>
void check_graphs_equal(const dladmm::Graph<Scalar>& a, const dladmm::Graph<Scalar>& b) {
  CHECK(a.features == b.features);
  CHECK(dense(a.adjacency) == dense(b.adjacency));
  CHECK(a.labels == b.labels);
  CHECK(a.num_classes == b.num_classes);
  CHECK(a.train == b.train);
  CHECK(a.val == b.val);
  CHECK(a.test == b.test);
}

}  // namespace

TEMPLATE_TEST_CASE("read_planetoid reads the shipped Cora", "[data][planetoid]", float, double) {
  const auto g = dladmm::read_planetoid<TestType>(kShipped + "/cora");
  REQUIRE(g.features.rows() == 1433);
  REQUIRE(g.features.cols() == 2708);
  CHECK(g.nodes() == 2708);
  CHECK((g.features.array() != TestType(0)).count() == 49216);
  CHECK(g.features.maxCoeff() == TestType(1));  // binary bag of words
  CHECK(g.features.minCoeff() == TestType(0));
  check_adjacency_shape(g.adjacency, 2708);
  CHECK(g.adjacency.nonZeros() == 10556);  // 5278 undirected edges, both directions
  REQUIRE(g.labels.size() == 2708);
  CHECK(g.labels.minCoeff() == 0);
  CHECK(g.num_classes == 7);
  REQUIRE(g.train.size() == 140);
  CHECK(g.val.size() == 500);
  CHECK(g.test.size() == 1000);
  for (Index k = 0; k < 140; ++k) CHECK(g.train[static_cast<std::size_t>(k)] == k);
  CHECK(g.val.front() == 140);
  CHECK(g.val.back() == 639);
  CHECK(g.test.front() == 1708);
  CHECK(g.test.back() == 2707);
  // 20 training nodes per class.
  std::vector<int> per_class(7, 0);
  for (Index id : g.train) ++per_class[static_cast<std::size_t>(g.labels(id))];
  CHECK(per_class == std::vector<int>(7, 20));
  const Matrix<TestType> y = g.one_hot();
  CHECK(y.rows() == 7);
  CHECK(y.cols() == 2708);
  CHECK(y.colwise().sum().minCoeff() == TestType(1));
  CHECK(y.colwise().sum().maxCoeff() == TestType(1));
}

TEMPLATE_TEST_CASE("read_planetoid reads the shipped Citeseer", "[data][planetoid]", float,
                   double) {
  const auto g = dladmm::read_planetoid<TestType>(kShipped + "/citeseer");
  REQUIRE(g.features.rows() == 3703);
  REQUIRE(g.features.cols() == 3327);
  CHECK((g.features.array() != TestType(0)).count() == 105165);
  check_adjacency_shape(g.adjacency, 3327);
  CHECK(g.adjacency.nonZeros() == 2 * 4552);
  CHECK(g.num_classes == 6);
  CHECK(g.train.size() == 120);
  CHECK(g.val.size() == 500);
  CHECK(g.test.size() == 1000);
  CHECK((g.labels.array() == -1).count() == 15);
  // The unlabelled nodes have no features and are in no split; their one-hot columns are zero.
  const Matrix<TestType> y = g.one_hot();
  CHECK(y.rows() == 6);
  CHECK((y.colwise().sum().array() == TestType(0)).count() == 15);
  for (Index j = 0; j < g.nodes(); ++j) {
    if (g.labels(j) == -1) {
      CHECK(g.features.col(j).isZero());
      CHECK(y.col(j).isZero());
    }
  }
  for (const auto* split : {&g.train, &g.val, &g.test}) {
    for (Index id : *split) REQUIRE(g.labels(id) >= 0);
  }
}

TEST_CASE("read_planetoid reads plain and gzip files alike", "[data][planetoid]") {
  // The shipped Cora, decompressed: the same graph as from the .gz files.
  TempDir plain;
  for (const char* name : kFiles) {
    plain.write(name, read_gz(kShipped + "/cora/" + name + ".gz"));
  }
  check_graphs_equal(dladmm::read_planetoid<double>(plain.str()),
                     dladmm::read_planetoid<double>(kShipped + "/cora"));

  // The small graph: all plain, all gzip, and mixed.
  TempDir all_plain, all_gz, mixed;
  write_folder(all_plain, small_graph());
  write_folder(all_gz, small_graph(), true);
  const auto reference = dladmm::read_planetoid<double>(all_plain.str());
  check_graphs_equal(reference, dladmm::read_planetoid<double>(all_gz.str()));
  auto files = small_graph();
  for (const char* name : {"features.mtx", "labels.txt", "val.txt"}) {
    write_gz(mixed.file(std::string(name) + ".gz"), files[name]);
    files.erase(name);
  }
  write_folder(mixed, files);
  check_graphs_equal(reference, dladmm::read_planetoid<double>(mixed.str()));

  // Both NAME and NAME.gz: NAME.gz is read (here the plain file is broken).
  all_gz.write("labels.txt", "not a label\n");
  check_graphs_equal(reference, dladmm::read_planetoid<double>(all_gz.str()));
}

TEST_CASE("read_planetoid reads the small graph exactly", "[data][planetoid]") {
  TempDir dir;
  write_folder(dir, small_graph());
  const auto g = dladmm::read_planetoid<double>(dir.str());
  Matrix<double> features(3, 4);
  features << 1, 0, 0, 1,  //
      0, 0.5, 0, 0,        //
      0, 0, 2, 1;
  CHECK(g.features == features);
  Matrix<double> adjacency(4, 4);
  adjacency << 0, 1, 0, 1,  //
      1, 0, 1, 0,           //
      0, 1, 0, 0,           //
      1, 0, 0, 0;
  CHECK(dense(g.adjacency) == adjacency);
  CHECK(g.labels == (dladmm::Labels(4) << 0, 1, -1, 1).finished());
  CHECK(g.num_classes == 2);
  CHECK(g.train == std::vector<Index>{0, 1});
  CHECK(g.val == std::vector<Index>{3});
  CHECK(g.test == std::vector<Index>{2});
  Matrix<double> y(2, 4);
  y << 1, 0, 0, 0,  //
      0, 1, 0, 1;
  CHECK(g.one_hot() == y);

  // Tolerated: CRLF, blank lines, comments after the size line, tabs and spaces, upper-case
  // banner words, repeated (merged) pattern entries, integer and pattern features, unlabelled
  // nodes in the validation split, splits in any order.
  auto files = small_graph();
  files["features.mtx"] =
      "%%MatrixMarket MATRIX Coordinate Integer General\r\n"
      "\r\n"
      "%comment\r\n"
      "  4\t3 5 \r\n"
      "1 1 1\r\n"
      "% a comment among the entries\r\n"
      "\r\n"
      "3 3 2\r\n"
      "4 1 1\r\n"
      "4 3 1\r\n"
      "2 2 7\r\n";
  files["adjacency.mtx"] =
      "%%MatrixMarket matrix coordinate pattern symmetric\n4 4 5\n2 1\n3 2\n2 1\n4 1\n4 1";
  files["labels.txt"] = "0\n\n 1 \n-1\r\n1";
  files["val.txt"] = "3\n2\n";
  files["test.txt"] = "\n2\n0\n\n";
  TempDir other;
  write_folder(other, files);
  const auto h = dladmm::read_planetoid<float>(other.str());
  CHECK(h.features(1, 1) == 7.0f);
  CHECK(h.features(2, 2) == 2.0f);
  CHECK(dense(h.adjacency) == adjacency.cast<float>());
  CHECK(h.labels == g.labels);
  CHECK(h.val == std::vector<Index>{3, 2});
  CHECK(h.test == std::vector<Index>{2, 0});

  files["features.mtx"] = "%%MatrixMarket matrix coordinate pattern general\n4 3 2\n1 3\n4 2\n";
  TempDir pattern;
  write_folder(pattern, files);
  const auto p = dladmm::read_planetoid<double>(pattern.str());
  CHECK(p.features.sum() == 2.0);
  CHECK(p.features(2, 0) == 1.0);
  CHECK(p.features(1, 3) == 1.0);
}

TEST_CASE("read_planetoid reports missing files and folders", "[data][planetoid]") {
  TempDir dir;
  const std::string missing = dir.file("nowhere");
  CHECK_THAT(planetoid_error(missing), Contains("read_planetoid: " + missing + ": does not exist"));
  const std::string file = dir.write("file", "x");
  CHECK_THAT(planetoid_error(file), Contains("read_planetoid: " + file + ": is not a directory"));

  for (const char* name : kFiles) {
    INFO(name);
    TempDir folder;
    auto files = small_graph();
    files.erase(name);
    write_folder(folder, files);
    CHECK_THAT(planetoid_error(folder.str()),
               Contains("read_planetoid: " + folder.str() + ": missing " + name +
                        " (each may be NAME or NAME.gz)"));
  }
  TempDir two;
  auto files = small_graph();
  files.erase("labels.txt");
  files.erase("test.txt");
  write_folder(two, files);
  CHECK_THAT(planetoid_error(two.str()), Contains("missing labels.txt, test.txt"));

  TempDir directory;
  files = small_graph();
  files.erase("adjacency.mtx");
  write_folder(directory, files);
  fs::create_directory(directory.file("adjacency.mtx"));
  CHECK_THAT(planetoid_error(directory.str()),
             Contains(directory.file("adjacency.mtx") + ": cannot open: is a directory"));
}

TEST_CASE("read_planetoid rejects malformed Matrix Market banners and size lines",
          "[data][planetoid]") {
  const std::string entries = "1 1 1\n2 2 0.5\n3 3 2\n4 1 1\n4 3 1\n";
  const std::string banner = "%%MatrixMarket matrix coordinate real general\n";
  check_bad_files({
      {"features.mtx", "", "empty file"},
      {"features.mtx", "4 3 5\n" + entries, "line 1: missing banner"},
      {"features.mtx", "%MatrixMarket matrix coordinate real general\n4 3 5\n" + entries,
       "line 1: missing banner"},
      {"features.mtx", "%%MatrixMarket matrix array real general\n4 3\n",
       "line 1: the array (dense) format is not supported"},
      {"features.mtx", "%%MatrixMarket matrix coordinate complex general\n4 3 5\n",
       "line 1: complex matrices are not supported"},
      {"features.mtx", "%%MatrixMarket matrix coordinate real hermitian\n4 3 5\n",
       "line 1: 'hermitian' matrices are not supported"},
      {"features.mtx", "%%MatrixMarket matrix coordinate real skew-symmetric\n4 3 5\n",
       "line 1: 'skew-symmetric' matrices are not supported"},
      {"features.mtx", "%%MatrixMarket matrix coordinate real\n4 3 5\n",
       "line 1: malformed banner: 3 words after %%MatrixMarket, expected 4"},
      {"features.mtx", "%%MatrixMarket vector coordinate real general\n",
       "line 1: unsupported object 'vector'"},
      {"features.mtx", "%%MatrixMarket matrix sparse real general\n", "unknown format 'sparse'"},
      {"features.mtx", "%%MatrixMarket matrix coordinate double general\n",
       "unknown field 'double'"},
      {"features.mtx", "%%MatrixMarket matrix coordinate real diagonal\n",
       "unknown symmetry 'diagonal'"},
      {"features.mtx", banner, "missing size line (rows columns entries) after the banner"},
      {"features.mtx", banner + "% only comments\n\n", "missing size line"},
      {"features.mtx", banner + "4 3\n" + entries,
       "line 2: malformed size line: 2 fields, expected 3"},
      {"features.mtx", banner + "4 3 5 7\n" + entries, "malformed size line: 4 fields"},
      {"features.mtx", banner + "-4 3 5\n" + entries, "rows '-4' is not a positive integer"},
      {"features.mtx", banner + "0 3 5\n" + entries, "rows '0' is not a positive integer"},
      {"features.mtx", banner + "4 x 5\n" + entries, "columns 'x' is not a positive integer"},
      {"features.mtx", banner + "4 3.0 5\n" + entries, "columns '3.0' is not a positive integer"},
      {"features.mtx", banner + "4 3 -1\n" + entries, "entries '-1' is not a non-negative integer"},
      {"features.mtx", banner + "99999999999999999999 3 5\n" + entries,
       "rows '99999999999999999999' exceeds the limit of 16777216"},
      {"features.mtx", banner + "-99999999999999999999 3 5\n" + entries,
       "rows '-99999999999999999999' is not a positive integer"},
      {"features.mtx", banner + "4 16777217 5\n" + entries,
       "columns '16777217' exceeds the limit of 16777216"},
      {"features.mtx", banner + "4 3 99999999999999999999\n" + entries,
       "entries '99999999999999999999' is out of range"},
      {"features.mtx", "%%MatrixMarket matrix coordinate real symmetric\n4 3 5\n" + entries,
       "a symmetric matrix must be square, the size line says 4 x 3"},
      // Dense features beyond 2^28 entries, refused before anything is allocated.
      {"features.mtx", banner + "16000000 16000000 0\n",
       "nodes x features = 16000000 x 16000000 exceeds the limit of 268435456 entries"},
  });
}

TEST_CASE("read_planetoid rejects malformed Matrix Market entries", "[data][planetoid]") {
  const std::string head = "%%MatrixMarket matrix coordinate real general\n4 3 5\n";
  const std::string rest = "2 2 0.5\n3 3 2\n4 1 1\n4 3 1\n";
  check_bad_files({
      {"features.mtx", head + "1 1 1\n" + rest.substr(0, rest.size() - 6),
       "truncated: the size line declares 5 entries, the file holds 4"},
      {"features.mtx", head + "1 1 1\n" + rest + "1 2 1\n",
       "line 8: more entries than the 5 the size line declares"},
      {"features.mtx", head + "5 1 1\n" + rest,
       "line 3: row index '5' is out of range [1, 4] (indices are 1-based)"},
      {"features.mtx", head + "0 1 1\n" + rest, "line 3: row index '0' is out of range [1, 4]"},
      {"features.mtx", head + "-1 1 1\n" + rest, "row index '-1' is out of range [1, 4]"},
      {"features.mtx", head + "1 4 1\n" + rest, "column index '4' is out of range [1, 3]"},
      {"features.mtx", head + "1 99999999999999999999 1\n" + rest,
       "column index '99999999999999999999' is out of range"},
      {"features.mtx", head + "1.5 1 1\n" + rest, "row index '1.5' is not an integer"},
      {"features.mtx", head + "1 +1 1\n" + rest, "column index '+1' is not an integer"},
      {"features.mtx", head + "1 1 abc\n" + rest, "line 3: value 'abc' is not a number"},
      {"features.mtx", head + "1 1 1x\n" + rest, "value '1x' is not a number"},
      {"features.mtx", head + "1 1 nan\n" + rest, "value 'nan' is not finite"},
      {"features.mtx", head + "1 1 -inf\n" + rest, "value '-inf' is not finite"},
      {"features.mtx", head + "1 1 1e999\n" + rest, "value '1e999' is out of range"},
      {"features.mtx", head + "1 1 1 x\n" + rest,
       "line 3: unexpected 'x' after the entry (3 fields expected)"},
      {"features.mtx", head + "1 1\n" + rest, "line 3: 2 fields, expected 3 (row column value)"},
      {"features.mtx", head + "1 1 \x01\n" + rest, "value '\\x01' is not a number"},
      {"features.mtx", head + "1 1 1\r\r\n" + rest, "value '1\\x0d' is not a number"},
      {"features.mtx", head + "1 1 " + std::string(70000, '1') + "\n" + rest,
       "line 3: line longer than 65536 bytes"},
      {"features.mtx", head + "1 1 1\n2 2 0.5\n3 3 2\n4 1 1\n1 1 3\n",
       "entry (1, 1) is given more than once"},
      {"features.mtx", "%%MatrixMarket matrix coordinate integer general\n4 3 1\n1 1 1.5\n",
       "value '1.5' is not an integer (the banner says integer)"},
  });
  // Beyond float but not double.
  check_bad_files<float>({{"features.mtx", head + "1 1 1e300\n" + rest,
                           "line 3: value '1e300' is out of range of the scalar type"}});
}

TEST_CASE("read_planetoid rejects a bad adjacency", "[data][planetoid]") {
  const std::string banner = "%%MatrixMarket matrix coordinate pattern symmetric\n";
  check_bad_files({
      {"adjacency.mtx", "%%MatrixMarket matrix coordinate real general\n4 4 1\n2 1 1\n",
       "the adjacency must be 'coordinate pattern symmetric' (an undirected graph, lower "
       "triangle stored), the banner says 'coordinate real general'"},
      {"adjacency.mtx", "%%MatrixMarket matrix coordinate pattern general\n4 4 1\n2 1\n",
       "the banner says 'coordinate pattern general'"},
      {"adjacency.mtx", banner + "4 4 3\n2 1\n2 2\n4 1\n",
       "self-loop at node 1 (entry 2 2); the graph must have none"},
      {"adjacency.mtx", banner + "4 4 3\n2 1\n2 3\n4 1\n",
       "line 4: entry (2, 3) lies above the diagonal; a symmetric file stores the lower "
       "triangle"},
      {"adjacency.mtx", banner + "4 4 2\n2 1 1\n4 1\n",
       "line 3: unexpected '1' after the entry (2 fields expected)"},
      {"adjacency.mtx", banner + "4 4 2\n2\n4 1\n", "line 3: 1 field, expected 2 (row column)"},
      {"adjacency.mtx", banner + "4 4 1000000000000\n2 1\n",
       "truncated: the size line declares 1000000000000 entries, the file holds 1"},
  });
  // A node count other than the features': the message names both files. Both headers are
  // checked before any entry is read, so this comes before the features' bad entry.
  TempDir dir;
  auto files = small_graph();
  files["adjacency.mtx"] = banner + "5 5 1\n2 1\n";
  files["features.mtx"] += "x y z\n";
  write_folder(dir, files);
  CHECK_THAT(planetoid_error(dir.str()),
             Contains(dir.file("adjacency.mtx") + ": the adjacency has 5 nodes but " +
                      dir.file("features.mtx") + " has 4 (rows)"));
}

TEST_CASE("read_planetoid rejects bad labels and splits", "[data][planetoid]") {
  check_bad_files({
      {"labels.txt", "0\n1\n1\n", "3 labels, expected 4 (one per node of "},
      {"labels.txt", "", "0 labels, expected 4"},
      {"labels.txt", "0\n1\n1\n1\n0\n", "line 5: more labels than the 4 nodes of "},
      {"labels.txt", "0\n1.5\n1\n1\n", "line 2: label '1.5' is not an integer"},
      {"labels.txt", "0\nx\n1\n1\n", "line 2: label 'x' is not an integer"},
      {"labels.txt", "0\n-2\n1\n1\n", "line 2: label -2 is below -1 (-1 marks a node without"},
      {"labels.txt", "0\n70000\n1\n1\n", "line 2: label 70000 exceeds the limit of 65535"},
      {"labels.txt", "0\n99999999999999999999\n1\n1\n",
       "label '99999999999999999999' is out of range"},
      {"labels.txt", "0\n1 2\n1\n1\n", "line 2: unexpected '2' after the label (one label per"},
      {"train.txt", "0\n2\n", "line 2: node 2 has no label (-1 in "},
      {"train.txt", "0\n4\n", "line 2: node id 4 is out of range [0, 4) (ids are 0-based)"},
      {"val.txt", "-1\n", "line 1: node id -1 is out of range [0, 4)"},
      {"val.txt", "1.0\n", "line 1: node id '1.0' is not an integer"},
      {"val.txt", "99999999999999999999\n", "node id '99999999999999999999' is out of range"},
      {"test.txt", "2 3\n", "unexpected '3' after the node id (one node id per line)"},
      {"test.txt", "", "no node ids: the split is empty"},
      {"test.txt", "\n  \n\n", "no node ids: the split is empty"},
      {"test.txt", "0\n1\n0\n", "line 3: node 0 is listed twice"},
  });
  // The training split's message names the label file.
  TempDir dir;
  auto files = small_graph();
  files["train.txt"] = "2\n";
  write_folder(dir, files);
  CHECK_THAT(planetoid_error(dir.str()), Contains("(-1 in " + dir.file("labels.txt") + ")"));
}

TEST_CASE("read_planetoid fails fast on huge declared sizes and reports bad gzip data",
          "[data][planetoid]") {
  const auto start = std::chrono::steady_clock::now();
  check_bad_files({
      {"features.mtx", "%%MatrixMarket matrix coordinate real general\n4 3 1000000000000\n1 1 1\n",
       "truncated: the size line declares 1000000000000 entries, the file holds 1"},
      {"features.mtx", "%%MatrixMarket matrix coordinate real general\n16385 16384 0\n",
       "exceeds the limit of 268435456 entries"},
  });
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);

  TempDir dir;
  write_folder(dir, small_graph(), true);
  const std::string path = dir.file("features.mtx.gz");
  std::string gz;
  {
    std::ifstream in(path, std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(gz.size() > 40);
  std::string cut = gz.substr(0, gz.size() - 6);  // part of the trailer gone
  std::ofstream(path, std::ios::binary | std::ios::trunc) << cut;
  CHECK_THAT(planetoid_error(dir.str()), Contains(path) && Contains("unreadable gzip data"));
  std::string crc = gz;
  crc[crc.size() - 8] = static_cast<char>(crc[crc.size() - 8] ^ 0x55);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << crc;
  CHECK_THAT(planetoid_error(dir.str()),
             Contains(path) && Contains("unreadable gzip data (incorrect data check)"));
}

TEST_CASE("read_matrix_market reads general and symmetric files", "[data][planetoid]") {
  TempDir dir;
  const std::string path = dir.write(
      "s.mtx",
      "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 2\n2 1 -1\n3 2 0.25\n3 3 4\n");
  dladmm::MatrixMarketHeader header;
  const Eigen::SparseMatrix<double> s = dladmm::read_matrix_market<double>(path, &header);
  CHECK(header.rows == 3);
  CHECK(header.cols == 3);
  CHECK(header.entries == 4);
  CHECK(header.field == dladmm::MatrixMarketField::Real);
  CHECK(header.symmetry == dladmm::MatrixMarketSymmetry::Symmetric);
  CHECK(header.format() == "coordinate real symmetric");
  Matrix<double> expected(3, 3);
  expected << 2, -1, 0,  //
      -1, 0, 0.25,       //
      0, 0.25, 4;
  CHECK(dense(s) == expected);
  CHECK(s.nonZeros() == 6);

  const std::string g = dir.write(
      "g.mtx", "%%MatrixMarket matrix coordinate integer general\n2 3 3\n1 3 -7\n2 1 5\n1 1 0\n");
  const Eigen::SparseMatrix<float> m = dladmm::read_matrix_market<float>(g);
  Matrix<float> expected_g(2, 3);
  expected_g << 0, 0, -7,  //
      5, 0, 0;
  CHECK(dense(m) == expected_g);

  dladmm::MatrixMarketReader reader(g);
  CHECK(reader.header().format() == "coordinate integer general");
  reader.read<double>();
  CHECK_THROWS_AS(reader.read<double>(), std::logic_error);
  // The largest dimensions allowed, few entries: cheap (the column index alone is allocated).
  const auto start = std::chrono::steady_clock::now();
  const std::string wide = dir.write("wide.mtx",
                                     "%%MatrixMarket matrix coordinate pattern symmetric\n"
                                     "16777216 16777216 2\n16777216 1\n3 3\n");
  const Eigen::SparseMatrix<double> w = dladmm::read_matrix_market<double>(wide);
  CHECK(w.cols() == 16777216);
  CHECK(w.nonZeros() == 3);
  CHECK(w.coeff(16777215, 0) == 1.0);
  CHECK(w.coeff(0, 16777215) == 1.0);
  CHECK(w.coeff(2, 2) == 1.0);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);

  CHECK_THROWS_WITH(
      dladmm::read_matrix_market<double>(dir.file("none.mtx")),
      Contains("read_matrix_market: " + dir.file("none.mtx") + ": cannot open: no such file"));
}

TEMPLATE_TEST_CASE("normalized_propagation matches the dense formula", "[data][planetoid]", float,
                   double) {
  // A path 0-1-2, an edge 3-4 and an isolated node 5.
  Eigen::SparseMatrix<TestType> a(6, 6);
  std::vector<Eigen::Triplet<TestType>> edges;
  for (auto [i, j] : std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {3, 4}}) {
    edges.emplace_back(i, j, TestType(1));
    edges.emplace_back(j, i, TestType(1));
  }
  a.setFromTriplets(edges.begin(), edges.end());
  const Eigen::SparseMatrix<TestType> s = dladmm::normalized_propagation(a);

  const Eigen::MatrixXd ahat =
      Matrix<TestType>(a).template cast<double>() + Eigen::MatrixXd::Identity(6, 6);
  const Eigen::VectorXd d = ahat.rowwise().sum();
  Eigen::MatrixXd expected(6, 6);
  for (Index i = 0; i < 6; ++i) {
    for (Index j = 0; j < 6; ++j) expected(i, j) = ahat(i, j) / std::sqrt(d(i) * d(j));
  }
  const Eigen::MatrixXd got = dense(s).template cast<double>();
  const double tolerance = std::is_same<TestType, float>::value ? 1e-6 : 1e-15;
  CHECK((got - expected).cwiseAbs().maxCoeff() < tolerance);
  CHECK(s.nonZeros() == 6 + 6);
  CHECK(got(5, 5) == 1.0);                // isolated: only its self-loop
  CHECK(got(1, 1) == Approx(1.0 / 3.0));  // degree 3
  CHECK(got(0, 1) == Approx(1.0 / std::sqrt(6.0)));
  const Eigen::SparseMatrix<TestType> st = s.transpose();
  CHECK(dense(s) == dense(st));  // symmetric, exactly

  // On Cora: S has A's pattern plus the diagonal, is symmetric, and S d^1/2 = d^1/2.
  const auto cora = dladmm::read_planetoid<TestType>(kShipped + "/cora");
  const Eigen::SparseMatrix<TestType> sc = dladmm::normalized_propagation(cora.adjacency);
  CHECK(sc.nonZeros() == 10556 + 2708);
  const Eigen::SparseMatrix<TestType> sct = sc.transpose();
  CHECK((sc - sct).norm() == TestType(0));
  Eigen::VectorXd root(2708);
  for (Index i = 0; i < 2708; ++i) {
    root(i) = std::sqrt(1.0 + static_cast<double>(cora.adjacency.col(i).sum()));
  }
  const Eigen::VectorXd image = sc.template cast<double>() * root;
  CHECK((image - root).cwiseAbs().maxCoeff() <
        (std::is_same<TestType, float>::value ? 1e-4 : 1e-12));
}

TEST_CASE("normalized_propagation rejects bad adjacencies", "[data][planetoid]") {
  Eigen::SparseMatrix<double> rect(3, 4);
  CHECK_THROWS_AS(dladmm::normalized_propagation(rect), std::invalid_argument);
  CHECK_THROWS_WITH(dladmm::normalized_propagation(rect),
                    Contains("normalized_propagation: the adjacency is 3 x 4, must be square"));
  Eigen::SparseMatrix<double> nan(2, 2);
  nan.insert(1, 0) = std::nan("");
  CHECK_THROWS_WITH(dladmm::normalized_propagation(nan), Contains("NaN or an infinity at (1, 0)"));
  Eigen::SparseMatrix<double> negative(2, 2);
  negative.insert(0, 1) = -1.0;
  negative.insert(1, 0) = -1.0;
  CHECK_THROWS_WITH(dladmm::normalized_propagation(negative),
                    Contains("node 0 has degree 0") && Contains("needs positive degrees"));
  CHECK(dladmm::normalized_propagation(Eigen::SparseMatrix<double>(0, 0)).size() == 0);
}

TEMPLATE_TEST_CASE("normalize_feature_columns scales each node's features to sum 1",
                   "[data][planetoid]", float, double) {
  Matrix<TestType> x(3, 4);
  x << 1, 0, 2, 0,  //
      1, 0, 0, 3,   //
      2, 0, 0, 0;
  dladmm::normalize_feature_columns(x);
  Matrix<TestType> expected(3, 4);
  expected << TestType(0.25), 0, 1, 0,  //
      TestType(0.25), 0, 0, 1,          //
      TestType(0.5), 0, 0, 0;
  CHECK(x == expected);  // the all-zero column stays zero

  Matrix<TestType> bad = expected;
  bad(1, 2) = TestType(-1);
  CHECK_THROWS_AS(dladmm::normalize_feature_columns(bad), std::invalid_argument);
  CHECK_THROWS_WITH(
      dladmm::normalize_feature_columns(bad),
      Contains("feature 1 of node 2 is -1") && Contains("must be non-negative and finite"));
  CHECK(bad(0, 0) == TestType(0.25));  // unchanged
  bad(1, 2) = std::numeric_limits<TestType>::quiet_NaN();
  CHECK_THROWS_AS(dladmm::normalize_feature_columns(bad), std::invalid_argument);

  // The shipped Cora: every node has features, so every column sums to 1.
  auto cora = dladmm::read_planetoid<TestType>(kShipped + "/cora");
  dladmm::normalize_feature_columns(cora.features);
  const auto sums = cora.features.template cast<double>().colwise().sum();
  CHECK((sums.array() - 1.0).abs().maxCoeff() < 1e-5);
}

TEST_CASE("Graph::one_hot rejects inconsistent graphs", "[data][planetoid]") {
  dladmm::Graph<double> g;
  g.features = Matrix<double>::Zero(2, 3);
  g.labels = (dladmm::Labels(3) << 0, -1, 2).finished();
  g.num_classes = 3;
  Matrix<double> y(3, 3);
  y << 1, 0, 0,  //
      0, 0, 0,   //
      0, 0, 1;
  CHECK(g.one_hot() == y);
  g.num_classes = 2;
  CHECK_THROWS_WITH(g.one_hot(), Contains("label 2 of node 2 is outside [-1, 2)"));
  g.num_classes = 3;
  g.labels(1) = -2;
  CHECK_THROWS_AS(g.one_hot(), std::invalid_argument);
  g.labels.resize(2);
  CHECK_THROWS_WITH(g.one_hot(), Contains("features has 3 columns (nodes) but labels has 2"));
}
