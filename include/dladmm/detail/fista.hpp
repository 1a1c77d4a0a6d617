/// \file detail/fista.hpp
/// \brief FISTA for the cross-entropy output subproblem (ALGORITHM.md §3.6). Not API.
#pragma once

#include <cmath>
#include <utility>

#include "../config.hpp"
#include "parallel.hpp"
#include "reduce.hpp"
#include "softmax.hpp"

namespace dladmm::detail {

/// \brief Buffers of the FISTA solve, allocated once: three C x N matrices and per-sample sums.
template <typename Scalar>
struct FistaWorkspace {
  Matrix<Scalar> zeta, zeta_old, grad;
  SoftmaxColumnStats<Scalar> stats;  ///< Per-sample sums of the cross-entropy.
  Vector<Scalar> distance;           ///< Per-sample ||z_j - m_j||^2.
  /// \brief Sizes the buffers for a C x N output.
  void resize(Index rows, Index cols) {
    zeta.resize(rows, cols);
    zeta_old.resize(rows, cols);
    grad.resize(rows, cols);
    stats.resize(cols);
    distance.resize(cols);
  }
};

/// \brief What one inner solve did.
struct InnerReport {
  int iterations = 0;    ///< Gradient steps taken.
  bool hit_cap = false;  ///< True if the iteration cap ended the solve before the tolerance.
};

/// \brief The FISTA objective R(z; y) + (rho/2) ||z - m||^2 on the columns [first, first +
/// count), with the gradient of R written into the same columns of ws.grad.
template <typename Scalar>
double fista_objective_columns(const Matrix<Scalar>& z, const Matrix<Scalar>& y,
                               const Matrix<Scalar>& m, Scalar rho, FistaWorkspace<Scalar>& ws,
                               Index first, Index count) {
  // Per sample in Scalar, then summed in double, as sum_squares() does: the stopping test
  // compares objectives of magnitude ~N to 1e-3.
  const auto zb = z.middleCols(first, count);
  const auto mb = m.middleCols(first, count);
  auto distance = ws.distance.segment(first, count);
  distance.setZero();
  for (Index i = 0; i < z.rows(); ++i)  // samples in the inner loop: vectorises
    for (Index j = 0; j < count; ++j) distance[j] += (zb(i, j) - mb(i, j)) * (zb(i, j) - mb(i, j));
  const double proximity = distance.template cast<double>().sum();
  return softmax_cross_entropy_columns<Scalar>(z, y, ws.grad, ws.stats, first, count) +
         0.5 * double(rho) * proximity;
}

/// \brief Minimises R(z; y) + (rho/2) ||z - m||^2 by FISTA from the warm start \p z (in place),
/// with the reference constants: fixed step \p step, at most \p max_iterations steps, stop when
/// the objective changes by less than \p tolerance in absolute value. The output is the
/// extrapolated point, as in the reference code. m is computed once by the caller. Each FISTA
/// step is one pass over fixed column blocks (in parallel when large): the step, then the
/// objective and gradient at the new point, summed in block order.
/// \p samples chooses the column blocks (sum_columns) and completes the objective's sum over
/// samples, so that every process of a data-parallel run stops at the same step.
template <typename Scalar, typename Reduction>
InnerReport fista_cross_entropy(Matrix<Scalar>& z, const Matrix<Scalar>& y, const Matrix<Scalar>& m,
                                Scalar rho, Scalar step, int max_iterations, Scalar tolerance,
                                FistaWorkspace<Scalar>& ws, const Reduction& samples) {
  InnerReport report;
  const Index rows = z.rows(), cols = z.cols();
  ws.zeta = z;
  Scalar lambda = 1;
  double previous = 1e11;
  const Scalar inv_step = Scalar(1) / step;
  const Scalar denom = rho + inv_step;
  report.hit_cap = true;
  double h = samples.sum_columns(rows, cols, [&](Index first, Index count) {
    return fista_objective_columns<Scalar>(z, y, m, rho, ws, first, count);
  });
  for (int it = 0; it < max_iterations; ++it) {
    if (std::abs(h - previous) < double(tolerance)) {
      report.hit_cap = false;
      break;
    }
    previous = h;
    const Scalar lambda_old = lambda;
    lambda = (Scalar(1) + std::sqrt(Scalar(1) + Scalar(4) * lambda * lambda)) / Scalar(2);
    const Scalar gamma = (Scalar(1) - lambda_old) / lambda;
    std::swap(ws.zeta, ws.zeta_old);
    const bool evaluate = it + 1 < max_iterations;  // the last point is not tested
    h = samples.sum_columns(rows, cols, [&](Index first, Index count) {
      auto zeta = ws.zeta.middleCols(first, count);
      auto zb = z.middleCols(first, count);
      zeta = (rho * m.middleCols(first, count) + inv_step * zb - ws.grad.middleCols(first, count)) /
             denom;
      zb = (Scalar(1) - gamma) * zeta + gamma * ws.zeta_old.middleCols(first, count);
      return evaluate ? fista_objective_columns<Scalar>(z, y, m, rho, ws, first, count) : 0.0;
    });
    ++report.iterations;
  }
  return report;
}

}  // namespace dladmm::detail
