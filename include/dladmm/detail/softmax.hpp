/// \file detail/softmax.hpp
/// \brief Column-wise softmax cross-entropy and its gradient in one pass (log-sum-exp with
/// max subtraction, ALGORITHM.md §6 item 6). Not API.
#pragma once

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

}  // namespace dladmm::detail
