/// \file loss.hpp
/// \brief Output losses R(z_L; Y), summed over samples, and the solvers of the z_L subproblem
/// min_z R(z; Y) + (rho/2) ||z - m||^2 (ALGORITHM.md §3.6).
#pragma once

#include "config.hpp"
#include "detail/fista.hpp"
#include "detail/reduce.hpp"
#include "detail/softmax.hpp"
#include "reduction.hpp"

namespace dladmm {

/// \brief What an output (z_L) update did: FISTA steps taken and whether the cap was hit.
using OutputReport = detail::InnerReport;

/// \brief The constants of an iterative output update (FISTA for the cross-entropy loss,
/// ALGORITHM.md §3.6); the solver fills them from Param::fista_step, fista_max_iterations and
/// fista_tolerance. Closed-form updates ignore them.
template <typename Scalar>
struct OutputSolve {
  Scalar step = Scalar(4);          ///< FISTA step eta.
  int max_iterations = 500;         ///< Most FISTA steps per solve.
  Scalar tolerance = Scalar(1e-3);  ///< Stop when the summed objective changes by less.
};

/// \brief Softmax cross-entropy R = -sum_j sum_c Y_cj log softmax(z_j)_c. Its gradient is
/// (1/2)-Lipschitz, so dlADMM's convergence theory needs rho > 1 (ALGORITHM.md §5.5).
struct SoftmaxCrossEntropy {
  /// \brief Lipschitz constant H of the gradient.
  static constexpr double lipschitz = 0.5;
  /// \brief A short name for messages and logs.
  static const char* name() { return "cross_entropy"; }

  /// \brief Buffers of the output update.
  template <typename Scalar>
  using Workspace = detail::FistaWorkspace<Scalar>;

  /// \brief R(z; y), summed over the columns (samples).
  template <typename Scalar>
  double value(const Eigen::Ref<const Matrix<Scalar>>& z,
               const Eigen::Ref<const Matrix<Scalar>>& y) const {
    return detail::softmax_cross_entropy<Scalar>(z, y);
  }

  /// \brief Writes the gradient softmax(z) - y into \p grad.
  template <typename Scalar>
  void gradient(const Eigen::Ref<const Matrix<Scalar>>& z,
                const Eigen::Ref<const Matrix<Scalar>>& y, Matrix<Scalar>& grad) const {
    grad.resize(z.rows(), z.cols());
    detail::softmax_cross_entropy<Scalar>(z, y, &grad);
  }

  /// \brief Minimises R(z; y) + (rho/2) ||z - m||^2 by FISTA warm-started at \p z (in place),
  /// with the step, iteration cap and tolerance of \p solve; \p samples completes FISTA's
  /// stopping sums when the samples are split.
  template <typename Scalar, typename Reduction = LocalSamples>
  OutputReport update_output(Matrix<Scalar>& z, const Matrix<Scalar>& y, const Matrix<Scalar>& m,
                             Scalar rho, const OutputSolve<Scalar>& solve, Workspace<Scalar>& ws,
                             const Reduction& samples = Reduction()) const {
    return detail::fista_cross_entropy<Scalar>(z, y, m, rho, solve.step, solve.max_iterations,
                                               solve.tolerance, ws, samples);
  }
};

/// \brief Squared error R = (1/2) ||z - Y||^2. Its gradient is 1-Lipschitz, so the convergence
/// theory needs rho > 2. The z_L update is closed-form.
struct SquaredError {
  /// \brief Lipschitz constant H of the gradient.
  static constexpr double lipschitz = 1.0;
  /// \brief A short name for messages and logs.
  static const char* name() { return "squared"; }

  /// \brief No buffers are needed.
  template <typename Scalar>
  struct Workspace {
    void resize(Index, Index) {}
  };

  /// \brief R(z; y) = (1/2) ||z - y||^2.
  template <typename Scalar>
  double value(const Eigen::Ref<const Matrix<Scalar>>& z,
               const Eigen::Ref<const Matrix<Scalar>>& y) const {
    return 0.5 * detail::sum_squares(z - y);
  }

  /// \brief Writes the gradient z - y into \p grad.
  template <typename Scalar>
  void gradient(const Eigen::Ref<const Matrix<Scalar>>& z,
                const Eigen::Ref<const Matrix<Scalar>>& y, Matrix<Scalar>& grad) const {
    grad = z - y;
  }

  /// \brief The exact minimiser of (1/2)||z - y||^2 + (rho/2)||z - m||^2: z = (y + rho m)/(1 +
  /// rho).
  template <typename Scalar, typename Reduction = LocalSamples>
  OutputReport update_output(Matrix<Scalar>& z, const Matrix<Scalar>& y, const Matrix<Scalar>& m,
                             Scalar rho, const OutputSolve<Scalar>&, Workspace<Scalar>&,
                             const Reduction& = Reduction()) const {
    z = (y + rho * m) / (Scalar(1) + rho);
    return {};
  }
};

}  // namespace dladmm
