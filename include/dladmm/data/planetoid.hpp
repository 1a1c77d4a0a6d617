/// \file planetoid.hpp
/// \brief Reader of a Planetoid citation graph folder (Cora, Citeseer; data/planetoid/README.md)
/// into a Graph.
///
/// A folder holds six files, each as NAME or NAME.gz (NAME.gz is read when both exist):
/// - `features.mtx`: nodes x features, Matrix Market coordinate (real, integer or pattern);
/// - `adjacency.mtx`: nodes x nodes, Matrix Market `coordinate pattern symmetric` (the lower
///   triangle of an undirected graph), without self-loops;
/// - `labels.txt`: one class id per line, in node order; -1 for a node without a label;
/// - `train.txt`, `val.txt`, `test.txt`: node ids (0-based), one per line.
///
/// The reader is strict: every problem is a std::runtime_error with a one-line message naming
/// the function, the file (and the line, for a problem on one line) and the problem, never a
/// partial or silently repaired graph. Besides every error of the Matrix Market reader
/// (matrix_market.hpp): a missing file, a features matrix of more than
/// kPlanetoidMaxFeatureEntries entries, an adjacency that is not `pattern symmetric`, has
/// another node count than the features, or has a self-loop; a label file with more or fewer
/// lines than nodes, a label that is not an integer, below -1 or at least kPlanetoidMaxClasses;
/// a split file with a node id that is not an integer or lies outside [0, nodes), an id listed
/// twice, no id at all, or (training split only) a node labelled -1. Blank lines are skipped in
/// the label and split files; LF and CRLF line endings are accepted. The splits may overlap:
/// that is not checked.
#pragma once

#include <Eigen/SparseCore>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/gz_reader.hpp"
#include "../detail/text.hpp"
#include "graph.hpp"
#include "matrix_market.hpp"

namespace dladmm {

/// \brief Largest features matrix read_planetoid() accepts, in entries (nodes x features =
///        2^28, 1 GiB of floats), so that a size line cannot make it allocate an absurd dense
///        matrix. Planetoid's largest set, Pubmed, has about 10^7.
inline constexpr Index kPlanetoidMaxFeatureEntries = Index{1} << 28;

/// \brief Labels must be below this bound (2^16), so that a stray huge label cannot make
///        Graph::one_hot() allocate an absurd matrix.
inline constexpr int kPlanetoidMaxClasses = 1 << 16;

namespace detail {

/// \brief The paths of the six files of a Planetoid folder.
struct PlanetoidFiles {
  std::string features;   ///< features.mtx[.gz]
  std::string adjacency;  ///< adjacency.mtx[.gz]
  std::string labels;     ///< labels.txt[.gz]
  std::string train;      ///< train.txt[.gz]
  std::string val;        ///< val.txt[.gz]
  std::string test;       ///< test.txt[.gz]
};

/// \brief Finds the six files of a Planetoid folder, each as NAME.gz or NAME.
/// \param dir The folder.
/// \return Their paths.
/// \throws std::runtime_error if dir does not exist or is not a directory, or if files are
///         missing (the message names every missing one).
inline PlanetoidFiles locate_planetoid(const std::string& dir) {
  require_directory("read_planetoid", dir);
  std::string missing;
  auto locate = [&](const char* name) {
    std::string path = find_gz_or_plain(dir, name);
    if (path.empty()) missing += (missing.empty() ? "" : ", ") + std::string(name);
    return path;
  };
  PlanetoidFiles files;
  files.features = locate("features.mtx");
  files.adjacency = locate("adjacency.mtx");
  files.labels = locate("labels.txt");
  files.train = locate("train.txt");
  files.val = locate("val.txt");
  files.test = locate("test.txt");
  if (!missing.empty()) {
    throw std::runtime_error("read_planetoid: " + dir + ": missing " + missing +
                             " (each may be NAME or NAME.gz)");
  }
  return files;
}

/// \brief Checks the header of the features file: nodes x features at most
///        kPlanetoidMaxFeatureEntries.
/// \param file The features file, its entries not yet read.
/// \throws std::runtime_error if the dense features matrix would be too large.
inline void check_planetoid_features(const MatrixMarketReader& file) {
  const MatrixMarketHeader& h = file.header();
  if (h.rows * h.cols > kPlanetoidMaxFeatureEntries) {
    file.fail("nodes x features = " + std::to_string(h.rows) + " x " + std::to_string(h.cols) +
              " exceeds the limit of " + std::to_string(kPlanetoidMaxFeatureEntries) +
              " entries for the dense features matrix");
  }
}

/// \brief Checks the header of the adjacency file: `coordinate pattern symmetric`, as many
///        nodes as the features.
/// \param file The adjacency file, its entries not yet read.
/// \param nodes Number of nodes of the features.
/// \param features_path The features file, for the message on a node count mismatch.
/// \throws std::runtime_error if the banner or the node count is wrong.
inline void check_planetoid_adjacency(const MatrixMarketReader& file, Index nodes,
                                      const std::string& features_path) {
  const MatrixMarketHeader& h = file.header();
  if (h.field != MatrixMarketField::Pattern || h.symmetry != MatrixMarketSymmetry::Symmetric) {
    file.fail(
        "the adjacency must be 'coordinate pattern symmetric' (an undirected graph, lower "
        "triangle stored), the banner says '" +
        h.format() + "'");
  }
  if (h.rows != nodes) {
    file.fail("the adjacency has " + std::to_string(h.rows) + " nodes but " + features_path +
              " has " + std::to_string(nodes) + " (rows)");
  }
}

/// \brief Reads the entries of the features file into a dense features x nodes matrix (the
///        transpose of the file's nodes x features).
/// \tparam Scalar Floating-point type.
/// \param file The features file, its header checked by check_planetoid_features().
/// \return The features.
/// \throws std::runtime_error on any error of MatrixMarketReader::read().
template <typename Scalar>
Matrix<Scalar> read_planetoid_features(MatrixMarketReader& file) {
  const Eigen::SparseMatrix<Scalar> sparse = file.read<Scalar>();
  Matrix<Scalar> features = Matrix<Scalar>::Zero(sparse.cols(), sparse.rows());
  for (Index k = 0; k < sparse.outerSize(); ++k) {
    for (typename Eigen::SparseMatrix<Scalar>::InnerIterator it(sparse, k); it; ++it) {
      features(it.col(), it.row()) = it.value();
    }
  }
  return features;
}

/// \brief Reads the entries of the adjacency file.
/// \tparam Scalar Floating-point type.
/// \param file The adjacency file, its header checked by check_planetoid_adjacency().
/// \return The symmetric 0/1 adjacency.
/// \throws std::runtime_error on any error of MatrixMarketReader::read(), or on a self-loop.
template <typename Scalar>
Eigen::SparseMatrix<Scalar> read_planetoid_adjacency(MatrixMarketReader& file) {
  Eigen::SparseMatrix<Scalar> adjacency = file.read<Scalar>();
  for (Index k = 0; k < adjacency.outerSize(); ++k) {
    for (typename Eigen::SparseMatrix<Scalar>::InnerIterator it(adjacency, k); it; ++it) {
      if (it.row() == it.col()) {
        file.fail("self-loop at node " + std::to_string(k) + " (entry " + std::to_string(k + 1) +
                  " " + std::to_string(k + 1) +
                  "); the graph must have none (normalized_propagation adds I itself)");
      }
    }
  }
  return adjacency;
}

/// \brief Calls f(value) for the integer on each non-blank line of a label or split file.
/// \param in The file.
/// \param what What the integers are, for messages ("label", "node id").
/// \param f Called with each value, in order.
/// \throws std::runtime_error if a line holds more than one token or a token that is not an
///         integer (or does not fit long long), or as f.
template <typename F>
void read_integer_lines(GzLineReader& in, const char* what, F&& f) {
  std::string_view line;
  std::string_view tokens[2];
  while (in.next(line)) {
    const std::size_t n = split_blanks(line, tokens, 2);
    if (n == 0) continue;
    if (n > 1) {
      in.fail_line("unexpected " + quote_field(tokens[1]) + " after the " + what + " (one " + what +
                   " per line)");
    }
    long long value = 0;
    const IntegerParse parsed = parse_integer(tokens[0], value);
    if (parsed == IntegerParse::NotInteger) {
      in.fail_line(std::string(what) + " " + quote_field(tokens[0]) + " is not an integer");
    }
    if (parsed == IntegerParse::OutOfRange) {
      in.fail_line(std::string(what) + " " + quote_field(tokens[0]) + " is out of range");
    }
    f(value);
  }
}

/// \brief Reads the label file: one label in [-1, kPlanetoidMaxClasses) per node.
/// \param path The file.
/// \param nodes Number of nodes.
/// \param features_path The features file, for the message on a count mismatch.
/// \return The labels.
/// \throws std::runtime_error if the file cannot be read, a label is malformed or out of range,
///         or the file holds more or fewer labels than nodes.
inline Labels read_planetoid_labels(const std::string& path, Index nodes,
                                    const std::string& features_path) {
  GzLineReader in("read_planetoid", path);
  Labels labels(nodes);
  Index count = 0;
  read_integer_lines(in, "label", [&](long long value) {
    if (count == nodes) {
      in.fail_line("more labels than the " + std::to_string(nodes) + " nodes of " + features_path);
    }
    if (value < -1) {
      in.fail_line("label " + std::to_string(value) +
                   " is below -1 (-1 marks a node without a label)");
    }
    if (value >= kPlanetoidMaxClasses) {
      in.fail_line("label " + std::to_string(value) + " exceeds the limit of " +
                   std::to_string(kPlanetoidMaxClasses - 1));
    }
    labels(count++) = static_cast<int>(value);
  });
  if (count < nodes) {
    in.fail(std::to_string(count) + " labels, expected " + std::to_string(nodes) +
            " (one per node of " + features_path + ")");
  }
  return labels;
}

/// \brief Reads a split file: distinct node ids in [0, nodes), at least one.
/// \param path The file.
/// \param labels The labels (their size is the node count).
/// \param labels_path The label file, for the message on an unlabelled training node.
/// \param training Whether this is the training split, whose nodes must have a label.
/// \return The node ids, in file order.
/// \throws std::runtime_error if the file cannot be read, an id is malformed, out of range or
///         listed twice, the file lists no id, or a training node is labelled -1.
inline std::vector<Index> read_planetoid_split(const std::string& path, const Labels& labels,
                                               const std::string& labels_path, bool training) {
  GzLineReader in("read_planetoid", path);
  const Index nodes = labels.size();
  std::vector<char> listed(static_cast<std::size_t>(nodes), 0);
  std::vector<Index> ids;
  read_integer_lines(in, "node id", [&](long long value) {
    if (value < 0 || value >= nodes) {
      in.fail_line("node id " + std::to_string(value) + " is out of range [0, " +
                   std::to_string(nodes) + ") (ids are 0-based)");
    }
    const auto id = static_cast<Index>(value);
    char& seen = listed[static_cast<std::size_t>(id)];
    if (seen != 0) in.fail_line("node " + std::to_string(id) + " is listed twice");
    seen = 1;
    if (training && labels(id) == -1) {
      in.fail_line("node " + std::to_string(id) + " has no label (-1 in " + labels_path +
                   "); every training node needs one");
    }
    ids.push_back(id);
  });
  if (ids.empty()) in.fail("no node ids: the split is empty");
  return ids;
}

}  // namespace detail

/// \brief Reads a Planetoid citation graph folder (see the description of planetoid.hpp).
/// \tparam Scalar Floating-point type of the features and adjacency.
/// \param dir The folder, e.g. data/planetoid/cora of the source tree or
///        share/dladmm/data/planetoid/cora of an install (CMake: `${dladmm_DATA_DIR}`).
/// \return The graph: features x nodes, the symmetric adjacency, labels, num_classes (the largest
///         label + 1) and the three splits.
/// \throws std::runtime_error if dir does not exist or is not a directory, if files are missing
///         (the message names each), or on any content error listed in the description of
///         planetoid.hpp; the one-line message names the file and the problem.
template <typename Scalar>
Graph<Scalar> read_planetoid(const std::string& dir) {
  const detail::PlanetoidFiles files = detail::locate_planetoid(dir);
  // Both headers first: shapes that disagree fail before anything large is allocated.
  MatrixMarketReader features(files.features, "read_planetoid");
  detail::check_planetoid_features(features);
  const Index nodes = features.header().rows;
  MatrixMarketReader adjacency(files.adjacency, "read_planetoid");
  detail::check_planetoid_adjacency(adjacency, nodes, files.features);
  Graph<Scalar> graph;
  graph.features = detail::read_planetoid_features<Scalar>(features);
  graph.adjacency = detail::read_planetoid_adjacency<Scalar>(adjacency);
  graph.labels = detail::read_planetoid_labels(files.labels, nodes, files.features);
  graph.train = detail::read_planetoid_split(files.train, graph.labels, files.labels, true);
  graph.val = detail::read_planetoid_split(files.val, graph.labels, files.labels, false);
  graph.test = detail::read_planetoid_split(files.test, graph.labels, files.labels, false);
  graph.num_classes = graph.labels.maxCoeff() + 1;  // >= 1: the training nodes have labels
  return graph;
}

}  // namespace dladmm
