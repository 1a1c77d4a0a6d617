/// \file detail/reduce.hpp
/// \brief Sums over large matrices accumulated in double, column by column, so that float
/// figures over millions of entries keep their precision; parallel over fixed column blocks,
/// so bit-identical for any thread count. Not API.
#pragma once

#include "../config.hpp"
#include "parallel.hpp"

namespace dladmm::detail {

/// \brief Sum of squares of the entries of columns [first, first + count) of \p m, column by
/// column in order.
template <typename Derived>
double sum_squares_columns(const Eigen::MatrixBase<Derived>& m, Index first, Index count) {
  double total = 0;
  for (Index j = first; j < first + count; ++j) total += double(m.col(j).squaredNorm());
  return total;
}

/// \brief Sum of squares of every entry of \p m. No allocation.
template <typename Derived>
double sum_squares(const Eigen::MatrixBase<Derived>& m) {
  return sum_column_blocks(m.rows(), m.cols(), [&](Index first, Index count) {
    return sum_squares_columns(m, first, count);
  });
}

/// \brief Sum of squares of every entry of \p m, whose columns are samples, over the samples
/// of every process: sum_squares() completed by the sample reduction \p samples.
template <typename Derived, typename Reduction>
double sum_squares(const Eigen::MatrixBase<Derived>& m, const Reduction& samples) {
  return samples.sum_columns(m.rows(), m.cols(), [&](Index first, Index count) {
    return sum_squares_columns(m, first, count);
  });
}

/// \brief Sum of the products of corresponding entries of \p a and \p b (Frobenius inner
/// product).
template <typename DerivedA, typename DerivedB>
double inner(const Eigen::MatrixBase<DerivedA>& a, const Eigen::MatrixBase<DerivedB>& b) {
  return sum_column_blocks(a.rows(), a.cols(), [&](Index first, Index count) {
    double total = 0;
    for (Index j = first; j < first + count; ++j) total += double(a.col(j).dot(b.col(j)));
    return total;
  });
}

}  // namespace dladmm::detail
