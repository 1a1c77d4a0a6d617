/// \file detail/product.hpp
/// \brief Matrix products split into pieces fixed by the shapes alone, each a one-thread Eigen
/// product, so that the result is bit-identical for any number of threads (Eigen's own threaded
/// product splits by the thread count, and rounding follows the split). Operands are passed as
/// strided views, so each scalar type instantiates Eigen's product kernels only a few times.
/// Not API.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>

#include "../config.hpp"

#ifdef DLADMM_USE_OPENBLAS
extern "C" void openblas_set_num_threads(int);
#endif

namespace dladmm::detail {

/// \brief With DLADMM_USE_OPENBLAS (Eigen's products going to OpenBLAS through EIGEN_USE_BLAS),
/// asks OpenBLAS, once, to run each call on one thread: multiply() shares the pieces among the
/// threads itself, so that results do not depend on the thread count. Otherwise does nothing.
inline void use_one_blas_thread_per_call() {
#ifdef DLADMM_USE_OPENBLAS
  static const bool once = (openblas_set_num_threads(1), true);
  (void)once;
#endif
}

/// \brief A read-only view of a column-major matrix or of a block of one.
template <typename Scalar>
using ConstView = Eigen::Ref<const Matrix<Scalar>, 0, Eigen::OuterStride<>>;
/// \brief A writable view of a column-major matrix or of a block of one.
template <typename Scalar>
using View = Eigen::Ref<Matrix<Scalar>, 0, Eigen::OuterStride<>>;

/// \brief Which operand of multiply() enters transposed.
enum class Transposed { None, Lhs, Rhs };

/// \brief Output columns per piece, at most, when a product is split by columns.
inline constexpr Index product_piece_columns = 2048;
/// \brief Output rows per piece, at most, when a product is split by rows.
inline constexpr Index product_piece_rows = 512;
/// \brief Below this many multiply-adds Eigen runs a product on one thread by itself.
inline constexpr double product_split_min_work = 1e5;
/// \brief A split product has a multiple of this many pieces (balances 1, 2 or 4 threads), even
/// when its output is small and its depth large (the W gradient R A^T is w x w with depth N),
/// unless that would make pieces narrower than product_piece_min_extent.
inline constexpr Index product_piece_multiple = 4;
/// \brief Pieces are never thinner than this (narrower ones would run Eigen's kernel poorly).
inline constexpr Index product_piece_min_extent = 32;

/// \brief The number of pieces a product whose split dimension has \p extent entries is cut
/// into: about \p per_piece wide at most, a multiple of product_piece_multiple, and no more than
/// extent / product_piece_min_extent (so at least product_piece_min_extent wide, split evenly).
/// Depends on the shape alone.
inline Index product_pieces(Index extent, Index per_piece) {
  Index pieces = (extent + per_piece - 1) / per_piece;
  pieces = (pieces + product_piece_multiple - 1) / product_piece_multiple * product_piece_multiple;
  return std::max<Index>(1, std::min(pieces, extent / product_piece_min_extent));
}

/// \brief The shape of op(lhs) * op(rhs): rows x cols, with depth terms per entry.
struct ProductShape {
  Index rows, cols, depth;
};

/// \brief The shape of op(lhs) * op(rhs), op transposing the operand named by \p transposed.
template <typename Scalar>
ProductShape product_shape(const ConstView<Scalar>& lhs, const ConstView<Scalar>& rhs,
                           Transposed transposed) {
  const bool lhs_t = transposed == Transposed::Lhs, rhs_t = transposed == Transposed::Rhs;
  return {lhs_t ? lhs.cols() : lhs.rows(), rhs_t ? rhs.rows() : rhs.cols(),
          lhs_t ? lhs.rows() : lhs.cols()};
}

/// \brief Splits the rows x cols output of a product into pieces fixed by the shape alone (the
/// larger dimension, cut by product_pieces()) and calls piece(by_columns, first, count) for
/// each, the pieces shared among the threads (Eigen::nbThreads()).
template <typename F>
void for_each_product_piece(Index rows, Index cols, F&& piece) {
  const bool by_columns = cols >= rows;
  const Index extent = by_columns ? cols : rows;
  const Index pieces =
      product_pieces(extent, by_columns ? product_piece_columns : product_piece_rows);
#ifdef _OPENMP
  const int threads = Eigen::nbThreads();
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (Index k = 0; k < pieces; ++k) {
    const Index first = k * extent / pieces;  // even split: widths differ by at most 1
    piece(by_columns, first, (k + 1) * extent / pieces - first);
  }
}

/// \brief dst = alpha * op(lhs) * op(rhs) on one thread of the caller (no splitting).
template <typename Scalar>
void multiply_piece(View<Scalar> dst, const ConstView<Scalar>& lhs, const ConstView<Scalar>& rhs,
                    Scalar alpha, Transposed transposed) {
  switch (transposed) {
    case Transposed::None:
      dst.noalias() = alpha * lhs * rhs;
      break;
    case Transposed::Lhs:
      dst.noalias() = alpha * lhs.transpose() * rhs;
      break;
    case Transposed::Rhs:
      dst.noalias() = alpha * lhs * rhs.transpose();
      break;
  }
}

/// \brief dst = alpha * op(lhs) * op(rhs), where op transposes the operand named by
/// \p transposed (dst must not alias lhs or rhs). The larger output dimension is split into
/// fixed pieces shared among the threads (Eigen::nbThreads()); inside the parallel region
/// Eigen runs each piece on one thread.
template <typename Scalar>
void multiply(View<Scalar> dst, const ConstView<Scalar>& lhs, const ConstView<Scalar>& rhs,
              std::common_type_t<Scalar> alpha, Transposed transposed = Transposed::None) {
  use_one_blas_thread_per_call();
  const bool lhs_t = transposed == Transposed::Lhs, rhs_t = transposed == Transposed::Rhs;
  const ProductShape shape = product_shape(lhs, rhs, transposed);
  if (double(shape.rows) * double(shape.cols) * double(shape.depth) < product_split_min_work) {
    multiply_piece<Scalar>(dst, lhs, rhs, alpha, transposed);
    return;
  }
  for_each_product_piece(shape.rows, shape.cols, [&](bool by_columns, Index first, Index count) {
    if (by_columns)  // columns of op(rhs): columns of rhs, or rows if transposed
      multiply_piece<Scalar>(dst.middleCols(first, count), lhs,
                             rhs_t ? ConstView<Scalar>(rhs.middleRows(first, count))
                                   : ConstView<Scalar>(rhs.middleCols(first, count)),
                             alpha, transposed);
    else  // rows of op(lhs): rows of lhs, or columns if transposed
      multiply_piece<Scalar>(dst.middleRows(first, count),
                             lhs_t ? ConstView<Scalar>(lhs.middleCols(first, count))
                                   : ConstView<Scalar>(lhs.middleRows(first, count)),
                             rhs, alpha, transposed);
  });
}

}  // namespace dladmm::detail
