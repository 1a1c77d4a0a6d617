/// \file detail/product.hpp
/// \brief Matrix products split into pieces fixed by the shapes alone, each a one-thread Eigen
/// product, so that the result is bit-identical for any number of threads (Eigen's own threaded
/// product splits by the thread count, and rounding follows the split). Not API.
#pragma once

#include <Eigen/Core>
#include <algorithm>

#include "../config.hpp"

namespace dladmm::detail {

/// \brief Output columns per piece when a product is split by columns.
inline constexpr Index product_piece_columns = 2048;
/// \brief Output rows per piece when a product is split by rows.
inline constexpr Index product_piece_rows = 512;
/// \brief Below this many multiply-adds Eigen runs a product on one thread by itself.
inline constexpr double product_split_min_work = 1e5;

/// \brief dst = alpha * lhs * rhs (dst must not alias lhs or rhs). The larger output dimension is
/// split into fixed pieces shared among the threads (Eigen::nbThreads()); inside the parallel
/// region Eigen runs each piece on one thread.
template <typename Dst, typename Lhs, typename Rhs, typename Scalar>
void multiply(Dst&& dst, const Lhs& lhs, const Rhs& rhs, Scalar alpha) {
  const Index rows = lhs.rows(), cols = rhs.cols(), depth = lhs.cols();
  if (double(rows) * double(cols) * double(depth) < product_split_min_work) {
    dst.noalias() = alpha * lhs * rhs;
    return;
  }
  const bool by_columns = cols >= rows;
  const Index extent = by_columns ? cols : rows;
  const Index per_piece = by_columns ? product_piece_columns : product_piece_rows;
  const Index pieces = std::max<Index>(1, (extent + per_piece - 1) / per_piece);
  const Index size = (extent + pieces - 1) / pieces;
#ifdef _OPENMP
  const int threads = Eigen::nbThreads();
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (Index k = 0; k < pieces; ++k) {
    const Index first = k * size;
    if (first >= extent) continue;
    const Index count = std::min(size, extent - first);
    if (by_columns)
      dst.middleCols(first, count).noalias() = alpha * lhs * rhs.middleCols(first, count);
    else
      dst.middleRows(first, count).noalias() = alpha * lhs.middleRows(first, count) * rhs;
  }
}

}  // namespace dladmm::detail
