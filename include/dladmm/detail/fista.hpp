/// \file detail/fista.hpp
/// \brief FISTA for the cross-entropy output subproblem (ALGORITHM.md §3.6). Not API.
#pragma once

#include <cmath>
#include <utility>

#include "../config.hpp"
#include "reduce.hpp"
#include "softmax.hpp"

namespace dladmm::detail {

/// \brief Buffers of the FISTA solve, allocated once (C x N each).
template <typename Scalar>
struct FistaWorkspace {
  Matrix<Scalar> zeta, zeta_old, grad;
  /// \brief Sizes the buffers for a C x N output.
  void resize(Index rows, Index cols) {
    zeta.resize(rows, cols);
    zeta_old.resize(rows, cols);
    grad.resize(rows, cols);
  }
};

/// \brief What one inner solve did.
struct InnerReport {
  int iterations = 0;    ///< Gradient steps taken.
  bool hit_cap = false;  ///< True if the iteration cap ended the solve before the tolerance.
};

/// \brief Minimises R(z; y) + (rho/2) ||z - m||^2 by FISTA from the warm start \p z (in place),
/// with the reference constants: fixed step \p step, at most \p max_iterations steps, stop when
/// the objective changes by less than \p tolerance in absolute value. The output is the
/// extrapolated point, as in the reference code. m is computed once by the caller.
template <typename Scalar>
InnerReport fista_cross_entropy(Matrix<Scalar>& z, const Matrix<Scalar>& y, const Matrix<Scalar>& m,
                                Scalar rho, Scalar step, int max_iterations, Scalar tolerance,
                                FistaWorkspace<Scalar>& ws) {
  InnerReport report;
  ws.zeta = z;
  Scalar lambda = 1;
  double previous = 1e11;
  const Scalar inv_step = Scalar(1) / step;
  const Scalar denom = rho + inv_step;
  report.hit_cap = true;
  for (int it = 0; it < max_iterations; ++it) {
    const double h =
        softmax_cross_entropy<Scalar>(z, y, &ws.grad) + 0.5 * double(rho) * sum_squares(z - m);
    if (std::abs(h - previous) < double(tolerance)) {
      report.hit_cap = false;
      break;
    }
    previous = h;
    const Scalar lambda_old = lambda;
    lambda = (Scalar(1) + std::sqrt(Scalar(1) + Scalar(4) * lambda * lambda)) / Scalar(2);
    const Scalar gamma = (Scalar(1) - lambda_old) / lambda;
    std::swap(ws.zeta, ws.zeta_old);
    ws.zeta = (rho * m + inv_step * z - ws.grad) / denom;
    z = (Scalar(1) - gamma) * ws.zeta + gamma * ws.zeta_old;
    ++report.iterations;
  }
  return report;
}

}  // namespace dladmm::detail
