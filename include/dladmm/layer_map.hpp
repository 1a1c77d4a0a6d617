/// \file layer_map.hpp
/// \brief Layer maps: how z_l depends on W_l and a_{l-1} (ALGORITHM.md §7). DenseMap, the
/// default, is the multilayer perceptron's z_l = W_l a_{l-1} + b_l 1^T; SparsePropagation
/// multiplies by a fixed sparse N x N matrix S from the right, z_l = W_l a_{l-1} S + b_l 1^T,
/// as graph convolutional networks do.
#pragma once

#include <Eigen/SparseCore>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "config.hpp"
#include "detail/parallel.hpp"
#include "detail/product.hpp"

namespace dladmm {

/// \brief z_l = W_l a_{l-1} + b_l 1^T: the multilayer perceptron. The solver skips every hook
/// of a map whose `identity` is true, so this map costs nothing (no copy, no extra product).
struct DenseMap {
  /// \brief The map propagates nothing.
  static constexpr bool identity = true;
  /// \brief Samples are independent: a forward pass may run on column chunks.
  static constexpr bool columns_independent = true;
  /// \brief A short name for messages.
  static const char* name() { return "dense"; }
  /// \brief Any sample count fits.
  void check_samples(Index, const char*) const {}
};

/// \brief z_l = W_l a_{l-1} S + b_l 1^T with a fixed sparse N x N propagation matrix S (a
/// graph's normalised adjacency, say). The solver keeps the propagated inputs a_{l-1} S, uses
/// them in the W step, and carries S^T into the a step's gradient (ALGORITHM.md §7).
/// Products with S run over fixed column blocks, so results do not depend on the thread count.
/// \tparam Scalar float or double.
template <typename Scalar>
class SparsePropagation {
 public:
  /// \brief S is applied.
  static constexpr bool identity = false;
  /// \brief Columns mix: a forward pass must see every sample at once.
  static constexpr bool columns_independent = false;
  /// \brief A short name for messages.
  static const char* name() { return "sparse_propagation"; }

  /// \brief The map with propagation matrix \p s (N x N, finite entries).
  /// \throws std::invalid_argument if \p s is not square or holds a NaN or an infinity.
  explicit SparsePropagation(Eigen::SparseMatrix<Scalar> s) : m_s(std::move(s)) {
    if (m_s.rows() != m_s.cols())
      throw std::invalid_argument("SparsePropagation: S is " + std::to_string(m_s.rows()) + " x " +
                                  std::to_string(m_s.cols()) + ", must be square (N x N)");
    m_s.makeCompressed();
    for (Index k = 0; k < m_s.nonZeros(); ++k)
      if (!std::isfinite(m_s.valuePtr()[k]))
        throw std::invalid_argument("SparsePropagation: S holds a NaN or an infinity");
    m_st = m_s.transpose();
    m_st.makeCompressed();
  }

  /// \brief S.
  const Eigen::SparseMatrix<Scalar>& matrix() const { return m_s; }

  /// \throws std::invalid_argument unless \p samples equals N.
  void check_samples(Index samples, const char* where) const {
    if (samples != m_s.rows())
      throw std::invalid_argument(std::string(where) + ": " + std::to_string(samples) +
                                  " samples, but the propagation matrix S is " +
                                  std::to_string(m_s.rows()) + " x " + std::to_string(m_s.cols()));
  }

  /// \brief out = m S (\p out must not alias \p m).
  void propagate(const detail::ConstView<Scalar>& m, detail::View<Scalar> out) const {
    multiply_sparse(m, m_s, out);
  }
  /// \brief out = m S^T (\p out must not alias \p m).
  void propagate_transposed(const detail::ConstView<Scalar>& m, detail::View<Scalar> out) const {
    multiply_sparse(m, m_st, out);
  }

 private:
  // out = m A, column block by column block: column j of out depends on column j of A only.
  static void multiply_sparse(const detail::ConstView<Scalar>& m,
                              const Eigen::SparseMatrix<Scalar>& a, detail::View<Scalar> out) {
    detail::for_column_blocks(m.rows(), a.cols(), [&](Index first, Index count) {
      out.middleCols(first, count).noalias() = m * a.middleCols(first, count);
    });
  }

  Eigen::SparseMatrix<Scalar> m_s, m_st;
};

}  // namespace dladmm
