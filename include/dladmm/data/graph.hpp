/// \file graph.hpp
/// \brief A node-classification graph data set (features, adjacency, labels, splits) and the
/// usual graph convolutional network preprocessing: the normalised propagation matrix
/// S = D^-1/2 (A + I) D^-1/2 and feature columns scaled to sum 1.
#pragma once

#include <Eigen/SparseCore>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../config.hpp"

namespace dladmm {

/// \brief A graph whose nodes are the samples: features, adjacency, labels and the node ids of
///        the training, validation and test splits (what read_planetoid() returns).
/// \tparam Scalar Floating-point type of the features and adjacency (float or double).
template <typename Scalar>
struct Graph {
  /// \brief Features x nodes, dense; column j holds node j (columns are samples, as everywhere
  ///        in the library).
  Matrix<Scalar> features;
  /// \brief Nodes x nodes, symmetric, entries 1 for an edge and no self-loops.
  Eigen::SparseMatrix<Scalar> adjacency;
  /// \brief Class of each node, in [0, num_classes), or -1 for a node without a label.
  Labels labels;
  /// \brief Number of classes: the largest label + 1 (rows of one_hot()).
  int num_classes = 0;
  /// \brief Node ids (0-based) of the training split, in the order of their file.
  std::vector<Index> train;
  /// \brief Node ids (0-based) of the validation split, in the order of their file.
  std::vector<Index> val;
  /// \brief Node ids (0-based) of the test split, in the order of their file.
  std::vector<Index> test;

  /// \brief Number of nodes (columns of features).
  /// \return features.cols().
  Index nodes() const { return features.cols(); }

  /// \brief One-hot encoding of the labels, with a zero column for each unlabelled node.
  /// \return A num_classes x nodes matrix: column j has a single 1 at row labels(j), or is zero
  ///         where labels(j) is -1.
  /// \throws std::invalid_argument if labels.size() differs from nodes(), num_classes < 1, or a
  ///         label lies outside [-1, num_classes).
  Matrix<Scalar> one_hot() const {
    if (labels.size() != nodes()) {
      throw std::invalid_argument("Graph::one_hot: features has " + std::to_string(nodes()) +
                                  " columns (nodes) but labels has " +
                                  std::to_string(labels.size()) + " entries");
    }
    if (num_classes < 1) {
      throw std::invalid_argument("Graph::one_hot: num_classes must be at least 1, got " +
                                  std::to_string(num_classes));
    }
    Matrix<Scalar> y = Matrix<Scalar>::Zero(num_classes, labels.size());
    for (Index j = 0; j < labels.size(); ++j) {
      const int label = labels(j);
      if (label < -1 || label >= num_classes) {
        throw std::invalid_argument("Graph::one_hot: label " + std::to_string(label) + " of node " +
                                    std::to_string(j) + " is outside [-1, " +
                                    std::to_string(num_classes) + ")");
      }
      if (label >= 0) y(label, j) = Scalar(1);
    }
    return y;
  }
};

/// \brief The propagation matrix of a graph convolutional network (Kipf and Welling 2017):
///        S = D^-1/2 (A + I) D^-1/2, where D is the diagonal matrix of the row sums (degrees) of
///        A + I.
///
/// For a symmetric A, S is symmetric. A weighted A is allowed, as long as every degree is
/// positive; an existing diagonal entry of A gets 1 added. Degrees and products are computed in
/// double. Use S with the layer map SparsePropagation (layer_map.hpp).
/// \tparam Scalar Floating-point type.
/// \param adjacency A (nodes x nodes), finite.
/// \return S, nodes x nodes, compressed, with the sparsity pattern of A + I.
/// \throws std::invalid_argument if adjacency is not square, holds a NaN or an infinity, or a
///         row of A + I has a sum that is not positive.
template <typename Scalar>
Eigen::SparseMatrix<Scalar> normalized_propagation(const Eigen::SparseMatrix<Scalar>& adjacency) {
  const Index n = adjacency.rows();
  if (adjacency.cols() != n) {
    throw std::invalid_argument("normalized_propagation: the adjacency is " + std::to_string(n) +
                                " x " + std::to_string(adjacency.cols()) +
                                ", must be square (nodes x nodes)");
  }
  Eigen::SparseMatrix<Scalar> identity(n, n);
  identity.setIdentity();
  Eigen::SparseMatrix<Scalar> s = adjacency + identity;
  s.makeCompressed();
  std::vector<double> degree(static_cast<std::size_t>(n), 0.0);
  for (Index k = 0; k < s.outerSize(); ++k) {
    for (typename Eigen::SparseMatrix<Scalar>::InnerIterator it(s, k); it; ++it) {
      if (!std::isfinite(it.value())) {
        throw std::invalid_argument("normalized_propagation: the adjacency holds a NaN or an " +
                                    std::string("infinity at (") + std::to_string(it.row()) + ", " +
                                    std::to_string(it.col()) + ")");
      }
      degree[static_cast<std::size_t>(it.row())] += static_cast<double>(it.value());
    }
  }
  for (Index i = 0; i < n; ++i) {
    double& d = degree[static_cast<std::size_t>(i)];
    if (!(d > 0.0)) {
      throw std::invalid_argument("normalized_propagation: node " + std::to_string(i) +
                                  " has degree " + std::to_string(d) +
                                  " in A + I; the normalisation needs positive degrees");
    }
    d = 1.0 / std::sqrt(d);  // now D^-1/2
  }
  for (Index k = 0; k < s.outerSize(); ++k) {
    for (typename Eigen::SparseMatrix<Scalar>::InnerIterator it(s, k); it; ++it) {
      // The product of the two scales first, so that S is exactly symmetric when A is.
      const double scale =
          degree[static_cast<std::size_t>(it.row())] * degree[static_cast<std::size_t>(it.col())];
      it.valueRef() = static_cast<Scalar>(static_cast<double>(it.value()) * scale);
    }
  }
  return s;
}

/// \brief Scales each node's feature column to sum 1; an all-zero column stays zero. This is
///        the usual GCN row normalisation of the features, in the library's nodes-as-columns
///        layout. Sums are computed in double.
/// \tparam Scalar Floating-point type.
/// \param features Features x nodes, non-negative and finite (bag-of-words counts or
///        indicators); scaled in place.
/// \throws std::invalid_argument if an entry is negative, NaN or infinite, or a column's sum
///         overflows double; features is then unchanged.
template <typename Scalar>
void normalize_feature_columns(Matrix<Scalar>& features) {
  std::vector<double> sums(static_cast<std::size_t>(features.cols()), 0.0);
  for (Index j = 0; j < features.cols(); ++j) {
    double& sum = sums[static_cast<std::size_t>(j)];
    for (Index i = 0; i < features.rows(); ++i) {
      const Scalar v = features(i, j);
      if (!(std::isfinite(v) && v >= Scalar(0))) {
        throw std::invalid_argument("normalize_feature_columns: feature " + std::to_string(i) +
                                    " of node " + std::to_string(j) + " is " + std::to_string(v) +
                                    "; features must be non-negative and finite");
      }
      sum += static_cast<double>(v);
    }
    if (!std::isfinite(sum)) {
      throw std::invalid_argument("normalize_feature_columns: the features of node " +
                                  std::to_string(j) + " sum beyond the range of double");
    }
  }
  for (Index j = 0; j < features.cols(); ++j) {
    const double sum = sums[static_cast<std::size_t>(j)];
    if (sum > 0.0)
      features.col(j) = (features.col(j).template cast<double>() / sum).template cast<Scalar>();
  }
}

}  // namespace dladmm
