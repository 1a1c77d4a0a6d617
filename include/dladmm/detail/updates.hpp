/// \file detail/updates.hpp
/// \brief The block updates of one dlADMM iteration (ALGORITHM.md §3), each a small function
/// on explicit matrices. The solver keeps the products W_l a_{l-1} (W_l a_{l-1} S with a layer
/// map) and passes the residual r = T - W A of the block's quadratic coupling
/// (beta/2)||T - W A||^2, the sign of the problem's r_l = z_l - W_l a_{l-1} - b_l 1^T; every step
/// that changes W or a also updates the kept product, so no product is computed twice. Every
/// sum over samples goes through the sample reduction `samples`; sums over parameters do not.
/// Not API.
#pragma once

#include <cmath>
#include <type_traits>

#include "../config.hpp"
#include "../layer_map.hpp"
#include "../param.hpp"
#include "../reduction.hpp"
#include "bf16_product.hpp"
#include "parallel.hpp"
#include "product.hpp"
#include "reduce.hpp"

namespace dladmm::detail {

/// \brief What one W or a step did.
struct BlockReport {
  int backtracks = 0;    ///< Curvature raises (trials beyond the first).
  bool hit_cap = false;  ///< No accepted curvature within the cap: the block kept its value.
};

/// \brief Backtracking settings shared by the W and a steps (ALGORITHM.md §3.1).
template <typename Scalar>
struct Backtracking {
  Scalar initial;  ///< c_0 (theta for W, tau for a).
  Scalar factor;   ///< Raise factor (> 1).
  int cap;         ///< Most raises.
};

/// \brief target -= scale * step, in parallel over column blocks.
template <typename Target, typename Step, typename Scalar>
void subtract_scaled(Target& target, Scalar scale, const Step& step) {
  for_column_blocks(target.rows(), target.cols(), [&](Index first, Index count) {
    target.middleCols(first, count) -= scale * step.middleCols(first, count);
  });
}

/// \brief The smallest c = c_0 factor^k, 0 <= k <= cap, with c >= \p threshold: the closed form
/// of the backtracking loop of ALGORITHM.md §3.1 for quadratic blocks. Sets report.hit_cap if
/// even c_0 factor^cap is below the threshold.
template <typename Scalar>
Scalar accepted_curvature(const Backtracking<Scalar>& bt, double threshold, BlockReport& report) {
  Scalar c = bt.initial;
  while (double(c) < threshold && report.backtracks < bt.cap) {
    c *= bt.factor;
    ++report.backtracks;
  }
  report.hit_cap = double(c) < threshold;
  return c;
}

/// \brief The W step (ALGORITHM.md §3.1, §3.5): one prox-gradient step on
/// g(W) = (beta/2)||T - W A||^2 + Omega(W) from the current W with backtracking curvature.
/// \param W weights (in/out).
/// \param A the layer input (a_{l-1}, or a_{l-1} S with a layer map).
/// \param residual on entry T - W A; destroyed (used as scratch for the step's product).
/// \param product W A (in/out: kept equal to the new W times A).
/// \param grad buffer of W's shape.
/// \param trial buffer of W's shape (used only by the L1 prox).
/// \param samples the sample reduction (the gradient and ||D A||^2 are sums over samples).
/// \param bf16 if given, the gradient and the step's product take bf16 inputs (ALGORITHM.md
/// §11).
template <typename Scalar, typename WeightMat, typename ResidualMap, typename ProductMap,
          typename Reduction>
BlockReport weight_step_quadratic(WeightMat& W, const ConstView<std::common_type_t<Scalar>>& A,
                                  ResidualMap& residual, ProductMap& product, Matrix<Scalar>& grad,
                                  Matrix<Scalar>& trial, Scalar beta,
                                  const Backtracking<Scalar>& bt, Regularization kind,
                                  Scalar lambda, const Reduction& samples,
                                  Bf16Products* bf16 = nullptr) {
  BlockReport report;
  samples.template sum_product<Scalar>(grad, residual, A, -beta, bf16);  // beta (W A - T) A^T
  auto& step_product = residual;  // the residual is dead from here on
  if (kind == Regularization::L1 && lambda > 0) {
    // The soft-threshold moves non-linearly with c: test each trial (one product each).
    Scalar c = bt.initial;
    for (;; c *= bt.factor, ++report.backtracks) {
      const Scalar cut = lambda / c;
      trial = (W - grad / c).unaryExpr([cut](Scalar v) {
        return v > cut ? v - cut : (v < -cut ? v + cut : Scalar(0));
      });
      trial -= W;  // the step D
      samples.template sample_product<Scalar>(step_product, trial, A, 1, Transposed::None, bf16);
      const double d2 = sum_squares(trial);  // over parameters
      if (double(beta) * sum_squares(step_product, samples) <= double(c) * d2 * (1 + 1e-6) ||
          d2 == 0) {
        W += trial;
        product += step_product;
        return report;
      }
      if (report.backtracks == bt.cap) break;
    }
    report.hit_cap = true;
    return report;
  }
  // None or L2: the step is D = -H / (c + lambda) with H = G + lambda W, a fixed direction, so
  // the acceptance test beta ||D A||^2 <= c ||D||^2 has the closed form c >= beta ||HA||^2/||H||^2.
  const Scalar l2 = kind == Regularization::L2 ? lambda : Scalar(0);
  if (l2 > 0) grad += l2 * W;
  const double h2 = sum_squares(grad);  // over parameters
  if (h2 == 0) return report;
  if (bf16) bf16->same_rhs_next();  // A, as in the gradient
  samples.template sample_product<Scalar>(step_product, grad, A, 1, Transposed::None, bf16);
  const Scalar c =
      accepted_curvature(bt, double(beta) * sum_squares(step_product, samples) / h2, report);
  if (report.hit_cap) return report;
  const Scalar inv = Scalar(1) / (c + l2);
  W -= inv * grad;
  subtract_scaled(product, inv, step_product);
  return report;
}

/// \brief The exact W update (the cubic step dlADMM avoids): the minimiser of
/// (beta/2)||T - W A||^2 + (lambda/2)||W||^2, as the Newton step W - H (beta A A^T + lambda I)^-1
/// with H the gradient. Arguments as weight_step_quadratic(); allocates.
template <typename Scalar, typename WeightMat, typename ResidualMap, typename ProductMap,
          typename Reduction>
BlockReport weight_step_exact(WeightMat& W, const ConstView<std::common_type_t<Scalar>>& A,
                              ResidualMap& residual, ProductMap& product, Matrix<Scalar>& grad,
                              Scalar beta, Regularization kind, Scalar lambda,
                              const Reduction& samples) {
  const Scalar l2 = kind == Regularization::L2 ? lambda : Scalar(0);
  samples.template sum_product<Scalar>(grad, residual, A, -beta);
  if (l2 > 0) grad += l2 * W;
  Matrix<Scalar> hessian(A.rows(), A.rows());
  samples.template sum_gram<Scalar>(hessian, A, beta);  // the lower triangle of beta A A^T
  hessian.diagonal().array() += l2;
  // The step D solves D M = -H, i.e. M D^T = -H^T (M symmetric; LDLT copes with a singular M).
  const Matrix<Scalar> step =
      -hessian.template selfadjointView<Eigen::Lower>().ldlt().solve(grad.transpose()).transpose();
  W += step;
  samples.template sample_product<Scalar>(residual, step, A, 1);
  product += residual;
  return {};
}

/// \brief grad = beta W^T (W a - T) + nu (a - f(z)), the gradient of the a block, from the
/// residual r = T - W a (with a layer map, beta W^T (W a S - T) S^T + nu (a - f(z)), the map
/// carrying r S^T into \p scratch); the product W^T r by the sample reduction \p samples,
/// with bf16 inputs if \p bf16 is given.
template <typename Scalar, typename Activation, typename ResidualMap, typename GradMap,
          typename LayerMap, typename ScratchMap, typename Reduction>
void activation_gradient(const Matrix<Scalar>& a, const Matrix<Scalar>& W,
                         const ResidualMap& residual, const Matrix<Scalar>& z, const Activation& f,
                         GradMap& grad, Scalar beta, Scalar nu, const LayerMap& map,
                         ScratchMap& scratch, const Reduction& samples,
                         Bf16Products* bf16 = nullptr) {
  if constexpr (LayerMap::identity) {
    (void)map;
    (void)scratch;
    samples.template sample_product<Scalar>(grad, W, residual, -beta, Transposed::Lhs, bf16);
  } else {
    map.propagate_transposed(residual, scratch);
    samples.template sample_product<Scalar>(grad, W, scratch, -beta, Transposed::Lhs, bf16);
  }
  for_column_blocks(a.rows(), a.cols(), [&](Index first, Index count) {
    for (Index j = first; j < first + count; ++j)
      for (Index i = 0; i < a.rows(); ++i) grad(i, j) += nu * (a(i, j) - f(z(i, j)));
  });
}

/// \brief The a step (ALGORITHM.md §3.1, §3.2): one gradient step on
/// g(a) = (beta/2)||T - W a||^2 + (nu/2)||a - f(z)||^2 with backtracking curvature (with a layer
/// map, W a S in place of W a: ALGORITHM.md §7).
/// \param a activation (in/out).
/// \param W the next layer's weights.
/// \param residual on entry T - W a; destroyed.
/// \param product W a (in/out: kept equal to W times the new a).
/// \param z the layer's pre-activation (f(z) is the proximity target).
/// \param grad buffer of a's shape.
/// \param map the layer map of the next layer.
/// \param scratch buffer of the residual's shape (used only by a map that is not the identity).
/// \param samples the sample reduction (||G||^2 and ||W G||^2 are sums over samples).
/// \param bf16 if given, W^T r and W G take bf16 inputs (ALGORITHM.md §11).
template <typename Scalar, typename Activation, typename ResidualMap, typename ProductMap,
          typename GradMap, typename LayerMap, typename ScratchMap, typename Reduction>
BlockReport activation_step_quadratic(Matrix<Scalar>& a, const Matrix<Scalar>& W,
                                      ResidualMap& residual, ProductMap& product,
                                      const Matrix<Scalar>& z, const Activation& f, GradMap& grad,
                                      Scalar beta, Scalar nu, const Backtracking<Scalar>& bt,
                                      const LayerMap& map, ScratchMap& scratch,
                                      const Reduction& samples, Bf16Products* bf16 = nullptr) {
  BlockReport report;
  activation_gradient(a, W, residual, z, f, grad, beta, nu, map, scratch, samples, bf16);
  const double g2 = sum_squares(grad, samples);
  if (g2 == 0) return report;
  // The residual is dead: W G.
  samples.template sample_product<Scalar>(residual, W, grad, 1, Transposed::None, bf16);
  auto step = [&](auto& step_product) {  // W G, or W G S
    const double threshold =
        (double(beta) * sum_squares(step_product, samples) + double(nu) * g2) / g2;
    const Scalar c = accepted_curvature(bt, threshold, report);
    if (report.hit_cap) return;
    const Scalar inv = Scalar(1) / c;
    subtract_scaled(a, inv, grad);
    subtract_scaled(product, inv, step_product);
  };
  if constexpr (LayerMap::identity) {
    step(residual);
  } else {
    map.propagate(residual, scratch);
    step(scratch);
  }
  return report;
}

/// \brief The exact a update (cubic): a - (beta W^T W + nu I)^-1 grad, the minimiser of the a
/// block. Arguments as activation_step_quadratic(); the dense layer map only (with S the block
/// couples the samples and has no cheap closed form); no sum over samples (the sample
/// reduction chooses the column ranges of the products and of the solve); allocates.
template <typename Scalar, typename Activation, typename ResidualMap, typename ProductMap,
          typename GradMap, typename Reduction = LocalSamples>
BlockReport activation_step_exact(Matrix<Scalar>& a, const Matrix<Scalar>& W, ResidualMap& residual,
                                  ProductMap& product, const Matrix<Scalar>& z, const Activation& f,
                                  GradMap& grad, Scalar beta, Scalar nu,
                                  const Reduction& samples = Reduction()) {
  DenseMap dense;
  activation_gradient(a, W, residual, z, f, grad, beta, nu, dense, residual, samples);
  Matrix<Scalar> hessian(W.cols(), W.cols());
  hessian.setZero();
  hessian.template selfadjointView<Eigen::Lower>().rankUpdate(W.transpose(), beta);
  hessian.diagonal().array() += nu;
  const auto llt = hessian.template selfadjointView<Eigen::Lower>().llt();
  samples.column_ranges(grad.cols(), [&](Index first, Index count) {
    if (first == 0 && count == grad.cols()) {
      llt.solveInPlace(grad);
    } else {
      auto columns = grad.middleCols(first, count);
      llt.solveInPlace(columns);
    }
  });
  a -= grad;
  samples.template sample_product<Scalar>(residual, W, grad, 1);
  product -= residual;
  return {};
}

/// \brief The hidden z step (ALGORITHM.md §3.3): elementwise closed form with m = W a + b.
template <typename Scalar, typename Activation, typename ProductMap>
void hidden_z_step(Matrix<Scalar>& z, const ProductMap& product, const Vector<Scalar>& b,
                   const Matrix<Scalar>& a, const Activation& f) {
  for_column_blocks(z.rows(), z.cols(), [&](Index first, Index count) {
    for (Index j = first; j < first + count; ++j)
      for (Index i = 0; i < z.rows(); ++i) z(i, j) = f.z_update(product(i, j) + b[i], a(i, j));
  });
}

/// \brief Buffers of the b step: per column block partial sums, in double.
struct BiasWorkspace {
  Matrix<double> partials;  ///< rows x column_blocks partial row sums.
  Vector<double> total;     ///< rows: the row sums.
  /// \brief Sizes the buffers for biases of up to \p rows entries.
  void resize(Index rows) {
    partials.resize(rows, column_blocks);
    total.resize(rows);
  }
};

/// \brief The b step (ALGORITHM.md §3.4): the exact column mean of T = z - W a (+ u / rho for
/// the last layer; pass u = nullptr for hidden layers) over the samples of every process. The
/// row sums of a column range are taken in double over fixed column blocks of the range (in
/// parallel when large) and combined in block order; the sample reduction chooses the ranges
/// (all the columns, or its own blocks) and completes the sums. \p ws must hold at least
/// b.size() rows.
template <typename Scalar, typename ProductMap, typename Reduction>
void bias_step(Vector<Scalar>& b, const Matrix<Scalar>& z, const ProductMap& product,
               const Matrix<Scalar>* u, Scalar rho, const Reduction& samples, BiasWorkspace& ws) {
  const Index rows = z.rows();
  const double inv_rho = 1.0 / double(rho);
  samples.sum_columns(ws.total.data(), rows, z.cols(), [&](Index start, Index n, double* out) {
    const Index size = (n + column_blocks - 1) / column_blocks;
    for_column_blocks(rows, n, [&](Index first, Index count) {
      auto partial = ws.partials.col(first / size).head(rows);
      partial.setZero();
      for (Index j = start + first; j < start + first + count; ++j)
        for (Index i = 0; i < rows; ++i)
          partial[i] +=
              double(z(i, j)) - double(product(i, j)) + (u ? double((*u)(i, j)) * inv_rho : 0.0);
    });
    Eigen::Map<Vector<double>> total(out, rows);
    total.setZero();
    const Index used = size > 0 ? (n + size - 1) / size : 0;
    for (Index k = 0; k < used; ++k) total += ws.partials.col(k).head(rows);
  });
  const auto total = ws.total.head(rows);
  const double n = double(samples.total_samples(z.cols()));
  for (Index i = 0; i < rows; ++i) b[i] = Scalar(total[i] / n);
}

/// \brief residual = z - (W a + b 1^T) (+ u / rho when u is given): the constraint residual r_l
/// of layer l, shifted by the scaled dual on the last layer; it is T - W A for the blocks
/// coupled to layer l (ALGORITHM.md §3.2, §3.5).
template <typename Scalar, typename ProductMap, typename OutMap>
void constraint_residual(OutMap& residual, const Matrix<Scalar>& z, const ProductMap& product,
                         const Vector<Scalar>& b, const Matrix<Scalar>* u, Scalar rho) {
  const Scalar inv_rho = Scalar(1) / rho;
  for_column_blocks(z.rows(), z.cols(), [&](Index first, Index count) {
    auto out = residual.middleCols(first, count);
    out = z.middleCols(first, count) - (product.middleCols(first, count).colwise() + b);
    if (u) out += inv_rho * u->middleCols(first, count);
  });
}

/// \brief m = W_L a_{L-1} + b_L 1^T - u / rho, the target of the z_L step (ALGORITHM.md §3.6);
/// with over-relaxation alpha (\p relaxed_from = z_L before this step), W_L a_{L-1} + b_L is
/// replaced by alpha (W_L a_{L-1} + b_L) + (1 - alpha) z_L^old (ALGORITHM.md §10).
template <typename Scalar>
void output_target(Matrix<Scalar>& m, const Matrix<Scalar>& product, const Vector<Scalar>& b,
                   const Matrix<Scalar>& u, Scalar rho, Scalar relaxation = Scalar(1),
                   const Matrix<Scalar>* relaxed_from = nullptr) {
  const Scalar inv_rho = Scalar(1) / rho;
  for_column_blocks(m.rows(), m.cols(), [&](Index first, Index count) {
    auto block = m.middleCols(first, count);
    block = (product.middleCols(first, count).colwise() + b) - inv_rho * u.middleCols(first, count);
    if (relaxed_from)
      block += (Scalar(1) - relaxation) * (relaxed_from->middleCols(first, count) -
                                           (product.middleCols(first, count).colwise() + b));
  });
}

/// \brief The dual step (ALGORITHM.md §3.7): u += rho (z_L - W_L a_{L-1} - b_L 1^T); with
/// over-relaxation alpha (\p relaxed_from = z_L before its last update), W_L a_{L-1} + b_L is
/// replaced by alpha (W_L a_{L-1} + b_L) + (1 - alpha) z_L^old.
template <typename Scalar, typename ProductMap>
void dual_step(Matrix<Scalar>& u, const Matrix<Scalar>& z, const ProductMap& product,
               const Vector<Scalar>& b, Scalar rho, Scalar relaxation = Scalar(1),
               const Matrix<Scalar>* relaxed_from = nullptr) {
  for_column_blocks(u.rows(), u.cols(), [&](Index first, Index count) {
    auto block = u.middleCols(first, count);
    block += rho * (z.middleCols(first, count) - (product.middleCols(first, count).colwise() + b));
    if (relaxed_from)
      block -=
          (rho * (Scalar(1) - relaxation)) * (relaxed_from->middleCols(first, count) -
                                              (product.middleCols(first, count).colwise() + b));
  });
}

}  // namespace dladmm::detail
