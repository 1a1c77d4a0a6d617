/// \file detail/softmax.hpp
/// \brief Column-wise softmax cross-entropy and its gradient in one pass (log-sum-exp with
/// max subtraction, ALGORITHM.md §6 item 6). Not API.
#pragma once

#include <algorithm>
#include <cmath>

#include "../config.hpp"

namespace dladmm::detail {

/// \brief Returns R(z; y) = -sum_j sum_c y_cj log softmax(z_j)_c, summed over samples, and, when
/// \p grad is non-null, writes softmax(z) - y into it (same shape as z). No allocation.
template <typename Scalar, typename GradMatrix = Matrix<Scalar>>
double softmax_cross_entropy(const Eigen::Ref<const Matrix<Scalar>>& z,
                             const Eigen::Ref<const Matrix<Scalar>>& y,
                             GradMatrix* grad = nullptr) {
  double total = 0;
  for (Index j = 0; j < z.cols(); ++j) {
    const Scalar peak = z.col(j).maxCoeff();
    Scalar mass = 0;
    if (grad) {
      grad->col(j) = (z.col(j).array() - peak).exp().matrix();
      mass = grad->col(j).sum();
    } else {
      mass = (z.col(j).array() - peak).exp().sum();
    }
    const Scalar lse = peak + std::log(mass);
    total += double(lse * y.col(j).sum() - y.col(j).dot(z.col(j)));
    if (grad) grad->col(j) = grad->col(j) / mass - y.col(j);
  }
  return total;
}

/// \brief Per-sample figures of softmax_cross_entropy_columns(), one column each, N rows.
template <typename Scalar>
struct SoftmaxColumnStats {
  /// \brief Columns: the largest logit, the sum of the shifted exponentials, the label mass
  /// sum_c y_c, and sum_c y_c z_c, of every sample.
  Eigen::Array<Scalar, Eigen::Dynamic, 4> columns;
  /// \brief Sizes the buffers for \p samples samples.
  void resize(Index samples) { columns.resize(samples, 4); }
};

/// \brief softmax_cross_entropy() on the columns [first, first + count) of contiguous matrices,
/// with the gradient written into the same columns of \p grad. The exponentials are taken over
/// the whole column block at once, and the per-sample maxima and sums run with the samples in
/// the inner loop, so both vectorise however few rows (classes) there are. Returns that block's
/// part of R. No allocation.
template <typename Scalar>
double softmax_cross_entropy_columns(const Matrix<Scalar>& z, const Matrix<Scalar>& y,
                                     Matrix<Scalar>& grad, SoftmaxColumnStats<Scalar>& stats,
                                     Index first, Index count) {
  const Index rows = z.rows();
  const auto zb = z.middleCols(first, count);
  const auto yb = y.middleCols(first, count);
  auto gb = grad.middleCols(first, count);
  auto peak = stats.columns.col(0).segment(first, count);
  auto mass = stats.columns.col(1).segment(first, count);
  auto label_mass = stats.columns.col(2).segment(first, count);
  auto label_dot = stats.columns.col(3).segment(first, count);
  for (Index j = 0; j < count; ++j) peak[j] = zb(0, j);
  for (Index i = 1; i < rows; ++i)
    for (Index j = 0; j < count; ++j) peak[j] = std::max(peak[j], zb(i, j));
  for (Index j = 0; j < count; ++j)
    for (Index i = 0; i < rows; ++i) gb(i, j) = zb(i, j) - peak[j];
  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> shifted(gb.data(), rows * count);
  shifted = shifted.exp();
  mass.setZero();
  label_mass.setZero();
  label_dot.setZero();
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < count; ++j) {
      mass[j] += gb(i, j);
      label_mass[j] += yb(i, j);
      label_dot[j] += yb(i, j) * zb(i, j);
    }
  const double total = ((peak + mass.log()) * label_mass - label_dot).template cast<double>().sum();
  for (Index j = 0; j < count; ++j) {
    const Scalar inv_mass = Scalar(1) / mass[j];
    for (Index i = 0; i < rows; ++i) gb(i, j) = gb(i, j) * inv_mass - yb(i, j);
  }
  return total;
}

}  // namespace dladmm::detail
