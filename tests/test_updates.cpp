// Block updates (ALGORITHM.md §3) against brute force and their acceptance conditions.
#include <catch2/catch.hpp>

#include <dladmm/activation.hpp>
#include <dladmm/detail/updates.hpp>
#include <dladmm/loss.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "random_matrix.hpp"

using dladmm::Index;
using dladmm::Matrix;
using dladmm::Vector;
namespace detail = dladmm::detail;

namespace {

// Tolerance relative to the magnitude of the compared figures.
template <typename Scalar>
double slack(double magnitude) {
  return (std::is_same<Scalar, float>::value ? 1e-4 : 1e-10) * (1 + std::abs(magnitude));
}

template <typename Activation>
double hidden_z_objective(double z, double m, double a, const Activation& f) {
  return (z - m) * (z - m) + (a - f(z)) * (a - f(z));
}

template <typename Activation>
void check_hidden_z_against_grid(const Activation& f) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> pick(-3, 3);
  for (int trial = 0; trial < 300; ++trial) {
    const double m = pick(rng), a = pick(rng);
    const double z = f.z_update(m, a);
    double best = 1e300;
    for (double t = -8; t <= 8; t += 1e-3) best = std::min(best, hidden_z_objective(t, m, a, f));
    INFO("m = " << m << ", a = " << a << ", z = " << z);
    CHECK(hidden_z_objective(z, m, a, f) <= best + 1e-9);
    // Idempotent: the same inputs give the same z (ALGORITHM.md §9.5 item 4).
    CHECK(f.z_update(m, a) == z);
  }
}

}  // namespace

TEST_CASE("hidden z closed form minimises its subproblem (ReLU)", "[updates]") {
  check_hidden_z_against_grid(dladmm::Relu());
}

TEST_CASE("hidden z closed form minimises its subproblem (leaky ReLU)", "[updates]") {
  check_hidden_z_against_grid(dladmm::LeakyRelu(0.1));
  check_hidden_z_against_grid(dladmm::LeakyRelu(0.5));
}

TEST_CASE("LeakyRelu rejects a slope outside 0 to 1", "[updates]") {
  CHECK_THROWS_AS(dladmm::LeakyRelu(1.0), std::invalid_argument);
  CHECK_THROWS_AS(dladmm::LeakyRelu(-0.1), std::invalid_argument);
}

TEMPLATE_TEST_CASE("bias step is the exact minimiser of its block", "[updates]", float, double) {
  using Scalar = TestType;
  std::mt19937_64 rng(3);
  const Index n = 5, N = 40;
  const Matrix<Scalar> z = random_matrix<Scalar>(n, N, rng),
                       product = random_matrix<Scalar>(n, N, rng);
  const Matrix<Scalar> u = random_matrix<Scalar>(n, N, rng);
  const Scalar rho = Scalar(0.5);
  for (const Matrix<Scalar>* dual : {static_cast<const Matrix<Scalar>*>(nullptr), &u}) {
    Vector<Scalar> b(n);
    detail::BiasWorkspace ws;
    ws.resize(n);
    detail::bias_step(b, z, product, dual, rho, dladmm::LocalSamples(), ws);
    // The block objective (beta/2)||T - b 1^T||^2 with T = z - W a (+ u / rho).
    auto objective = [&](const Vector<Scalar>& bias) {
      Matrix<Scalar> T = z - product;
      if (dual) T += *dual / rho;
      return double((T.colwise() - bias).squaredNorm());
    };
    // Long gradient descent from zero reaches the same point.
    Vector<Scalar> descent = Vector<Scalar>::Zero(n);
    for (int it = 0; it < 2000; ++it) {
      Matrix<Scalar> T = z - product;
      if (dual) T += *dual / rho;
      descent -= Scalar(0.01) * (descent * N - T.rowwise().sum()) / Scalar(1);
    }
    CHECK((b - descent).norm() <= Scalar(slack<Scalar>(b.norm()) * 10));
    // No perturbation improves it; the residual's column mean is zero (§9.5 item 5).
    for (Index i = 0; i < n; ++i) {
      Vector<Scalar> moved = b;
      moved[i] += Scalar(1e-2);
      CHECK(objective(moved) > objective(b));
    }
  }
}

TEST_CASE("bias step sums over samples in double", "[updates]") {
  // 200,000 float samples around 1: a float running sum would lose about 1e-4 relative; the
  // double block sums give the mean to float rounding.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> noise(-0.25, 0.25);
  const Index n = 3, N = 200000;
  Matrix<float> z(n, N), product = Matrix<float>::Zero(n, N);
  for (Index k = 0; k < z.size(); ++k) z.data()[k] = float(1 + noise(rng));
  const Matrix<double> exact = z.cast<double>();
  Vector<float> b(n);
  detail::BiasWorkspace ws;
  ws.resize(n);
  detail::bias_step(b, z, product, static_cast<const Matrix<float>*>(nullptr), 1.0f,
                    dladmm::LocalSamples(), ws);
  for (Index i = 0; i < n; ++i) {
    const double mean = exact.row(i).mean();
    CHECK(std::abs(double(b[i]) - mean) <= 2 * std::numeric_limits<float>::epsilon() * mean);
  }
}

TEMPLATE_TEST_CASE("squared-error output update is the exact minimiser", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(4);
  const Matrix<Scalar> y = random_matrix<Scalar>(3, 20, rng), m = random_matrix<Scalar>(3, 20, rng);
  Matrix<Scalar> z = Matrix<Scalar>::Zero(3, 20);
  const Scalar rho = Scalar(0.7);
  dladmm::SquaredError loss;
  dladmm::SquaredError::Workspace<Scalar> ws;
  loss.update_output(z, y, m, rho, dladmm::OutputSolve<Scalar>(), ws);
  Matrix<Scalar> descent = Matrix<Scalar>::Zero(3, 20);
  for (int it = 0; it < 3000; ++it) descent -= Scalar(0.1) * ((descent - y) + rho * (descent - m));
  CHECK((z - descent).norm() <= Scalar(slack<Scalar>(z.norm()) * 10));
}

TEMPLATE_TEST_CASE("FISTA output update approaches the long-run solution", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(5);
  const Index C = 4, N = 30;
  Matrix<Scalar> y = Matrix<Scalar>::Zero(C, N);
  for (Index j = 0; j < N; ++j) y(j % C, j) = 1;
  const Matrix<Scalar> m = random_matrix<Scalar>(C, N, rng, 2);
  const Scalar rho = Scalar(1);
  dladmm::SoftmaxCrossEntropy loss;
  auto objective = [&](const Matrix<Scalar>& z) {
    return loss.value<Scalar>(z, y) + 0.5 * double(rho) * double((z - m).squaredNorm());
  };
  // Long plain gradient descent with the safe step 1 / (rho + 1/2).
  Matrix<Scalar> best = m, grad;
  for (int it = 0; it < 20000; ++it) {
    loss.gradient<Scalar>(best, y, grad);
    best -= (grad + rho * (best - m)) / (rho + Scalar(0.5));
  }
  dladmm::OutputSolve<Scalar> param;  // the reference constants: step 4, 500 steps, tol. 1e-3
  Matrix<Scalar> z = 2 * y.array() - 1;
  dladmm::SoftmaxCrossEntropy::Workspace<Scalar> ws;
  ws.resize(C, N);
  const dladmm::OutputReport report = loss.update_output(z, y, m, rho, param, ws);
  CHECK_FALSE(report.hit_cap);
  CHECK(report.iterations > 0);
  CHECK(objective(z) - objective(best) <= 1e-2);
  // With a tight tolerance and the safe step it converges to the solution itself.
  param.step = Scalar(2);
  param.tolerance = Scalar(std::is_same<Scalar, float>::value ? 1e-5 : 1e-12);
  param.max_iterations = 5000;
  z = 2 * y.array() - 1;
  loss.update_output(z, y, m, rho, param, ws);
  CHECK((z - best).norm() <= Scalar(std::is_same<Scalar, float>::value ? 1e-2 : 1e-5));
}

TEMPLATE_TEST_CASE("column-block softmax cross-entropy equals the per-sample formula", "[updates]",
                   float, double) {
  using Scalar = TestType;
  std::mt19937_64 rng(8);
  const Index C = 10, N = 37;
  Matrix<Scalar> z = random_matrix<Scalar>(C, N, rng, 3);
  z.col(4).array() += Scalar(80);  // large logits: the max shift must keep exp finite
  z(2, 5) = Scalar(-90);
  Matrix<Scalar> y = random_matrix<Scalar>(C, N, rng).cwiseAbs();  // soft labels too
  for (Index j = 0; j < N; j += 2) {
    y.col(j).setZero();
    y(j % C, j) = 1;
  }
  Matrix<Scalar> expected_grad(C, N), grad(C, N);
  const double expected = detail::softmax_cross_entropy<Scalar>(z, y, &expected_grad);
  detail::SoftmaxColumnStats<Scalar> stats;
  stats.resize(N);
  double total = 0;
  for (Index first = 0; first < N; first += 8)  // uneven blocks, the last one short
    total += detail::softmax_cross_entropy_columns<Scalar>(z, y, grad, stats, first,
                                                           std::min<Index>(8, N - first));
  CHECK(std::abs(total - expected) <= slack<Scalar>(expected));
  CHECK(grad.allFinite());
  CHECK((grad - expected_grad).cwiseAbs().maxCoeff() <= slack<Scalar>(1));
}

TEMPLATE_TEST_CASE("FISTA reports hitting its iteration cap", "[updates]", float, double) {
  using Scalar = TestType;
  Matrix<Scalar> y = Matrix<Scalar>::Zero(3, 10);
  for (Index j = 0; j < 10; ++j) y(j % 3, j) = 1;
  Matrix<Scalar> m = Matrix<Scalar>::Constant(3, 10, 5), z = Matrix<Scalar>::Zero(3, 10);
  dladmm::OutputSolve<Scalar> param;
  param.max_iterations = 2;
  param.tolerance = 0;
  dladmm::SoftmaxCrossEntropy::Workspace<Scalar> ws;
  ws.resize(3, 10);
  const auto report = dladmm::SoftmaxCrossEntropy().update_output(z, y, m, Scalar(1), param, ws);
  CHECK(report.hit_cap);
  CHECK(report.iterations == 2);
}

namespace {

// The W block: phi(W) = (beta/2)||T - W A||^2.
template <typename Scalar>
struct WeightBlock {
  Matrix<Scalar> W, A, T;
  Scalar beta;
  double phi(const Matrix<Scalar>& w) const {
    return 0.5 * double(beta) * double((T - w * A).squaredNorm());
  }
  Matrix<Scalar> gradient(const Matrix<Scalar>& w) const {
    return beta * (w * A - T) * A.transpose();
  }
};

template <typename Scalar>
WeightBlock<Scalar> make_weight_block(std::mt19937_64& rng, Scalar beta) {
  WeightBlock<Scalar> block{random_matrix<Scalar>(6, 8, rng), random_matrix<Scalar>(8, 50, rng),
                            random_matrix<Scalar>(6, 50, rng), beta};
  return block;
}

// The quadratic a step with the dense layer map and every sample local.
template <typename Scalar, typename Activation>
detail::BlockReport activation_step(Matrix<Scalar>& a, const Matrix<Scalar>& W,
                                    Matrix<Scalar>& residual, Matrix<Scalar>& product,
                                    const Matrix<Scalar>& z, const Activation& f,
                                    Matrix<Scalar>& grad, Scalar beta, Scalar nu,
                                    const detail::Backtracking<Scalar>& bt) {
  dladmm::DenseMap dense;
  return detail::activation_step_quadratic(a, W, residual, product, z, f, grad, beta, nu, bt, dense,
                                           residual, dladmm::LocalSamples());
}

template <typename Scalar>
detail::BlockReport run_weight_step(WeightBlock<Scalar>& block, Matrix<Scalar>& W,
                                    Matrix<Scalar>& product, detail::Backtracking<Scalar> bt,
                                    dladmm::Regularization kind, Scalar lambda) {
  Matrix<Scalar> residual = block.T - product, grad(W.rows(), W.cols()), trial(W.rows(), W.cols());
  return detail::weight_step_quadratic(W, block.A, residual, product, grad, trial, block.beta, bt,
                                       kind, lambda, dladmm::LocalSamples());
}

}  // namespace

TEMPLATE_TEST_CASE("W step satisfies the backtracking condition and descends", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(11);
  for (Scalar beta : {Scalar(1e-3), Scalar(1), Scalar(50)}) {
    auto block = make_weight_block<Scalar>(rng, beta);
    Matrix<Scalar> W = block.W, product = W * block.A;
    const double before = block.phi(W);
    const Matrix<Scalar> G = block.gradient(W);
    const detail::Backtracking<Scalar> bt{Scalar(1e-3), Scalar(2), 60};
    const auto report =
        run_weight_step(block, W, product, bt, dladmm::Regularization::None, Scalar(0));
    REQUIRE_FALSE(report.hit_cap);
    const double c = double(bt.initial) * std::pow(2.0, report.backtracks);
    const double after = block.phi(W);
    INFO("beta " << beta << " c " << c << " backtracks " << report.backtracks);
    CHECK(after <= before - double(G.squaredNorm()) / (2 * c) + slack<Scalar>(before));
    CHECK(after <= before);
    // One raise fewer would have failed the condition (the smallest accepted c).
    if (report.backtracks > 0) {
      const Matrix<Scalar> smaller = block.W - G / Scalar(c / 2);
      CHECK(block.phi(smaller) > before - double(G.squaredNorm()) / c - slack<Scalar>(before));
    }
    // The kept product follows W.
    CHECK((product - W * block.A).norm() <= Scalar(slack<Scalar>(product.norm())));
  }
}

TEMPLATE_TEST_CASE("regularised W steps satisfy the prox condition and descend", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(12);
  for (auto kind : {dladmm::Regularization::L1, dladmm::Regularization::L2}) {
    auto block = make_weight_block<Scalar>(rng, Scalar(2));
    const Scalar lambda = Scalar(3);
    auto omega = [&](const Matrix<Scalar>& w) {
      return kind == dladmm::Regularization::L1 ? double(lambda) * double(w.cwiseAbs().sum())
                                                : 0.5 * double(lambda) * double(w.squaredNorm());
    };
    Matrix<Scalar> W = block.W, product = W * block.A;
    const Matrix<Scalar> G = block.gradient(W);
    const double before = block.phi(W) + omega(W);
    const detail::Backtracking<Scalar> bt{Scalar(1), Scalar(2), 60};
    const auto report = run_weight_step(block, W, product, bt, kind, lambda);
    REQUIRE_FALSE(report.hit_cap);
    const double c = std::pow(2.0, report.backtracks);
    const Matrix<Scalar> D = W - block.W;
    // phi(new) <= phi(old) + <G, D> + (c/2)||D||^2, the paper's acceptance test.
    CHECK(block.phi(W) <= block.phi(block.W) + double((G.array() * D.array()).sum()) +
                              0.5 * c * double(D.squaredNorm()) + slack<Scalar>(before));
    CHECK(block.phi(W) + omega(W) <= before + slack<Scalar>(before));
    CHECK((product - W * block.A).norm() <= Scalar(slack<Scalar>(product.norm())));
  }
}

TEMPLATE_TEST_CASE("a step satisfies the backtracking condition and descends", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(13);
  const dladmm::Relu f;
  for (Scalar beta : {Scalar(1e-2), Scalar(1), Scalar(20)}) {
    const Scalar nu = Scalar(0.5);
    const Matrix<Scalar> W = random_matrix<Scalar>(5, 7, rng),
                         T = random_matrix<Scalar>(5, 40, rng);
    const Matrix<Scalar> z = random_matrix<Scalar>(7, 40, rng),
                         a0 = random_matrix<Scalar>(7, 40, rng);
    const Matrix<Scalar> fz = z.unaryExpr(f);
    auto g = [&](const Matrix<Scalar>& a) {
      return 0.5 * double(beta) * double((T - W * a).squaredNorm()) +
             0.5 * double(nu) * double((a - fz).squaredNorm());
    };
    const Matrix<Scalar> G = beta * W.transpose() * (W * a0 - T) + nu * (a0 - fz);
    Matrix<Scalar> a = a0, product = W * a0, residual = T - product, grad(7, 40);
    const detail::Backtracking<Scalar> bt{Scalar(1e-2), Scalar(2), 60};
    const auto report = activation_step(a, W, residual, product, z, f, grad, beta, nu, bt);
    REQUIRE_FALSE(report.hit_cap);
    const double c = double(bt.initial) * std::pow(2.0, report.backtracks);
    CHECK(g(a) <= g(a0) - double(G.squaredNorm()) / (2 * c) + slack<Scalar>(g(a0)));
    CHECK(g(a) <= g(a0));
    CHECK((product - W * a).norm() <= Scalar(slack<Scalar>(product.norm())));
  }
}

TEMPLATE_TEST_CASE("a backtracking cap keeps the block and is reported", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(14);
  const dladmm::Relu f;
  const Matrix<Scalar> W = random_matrix<Scalar>(5, 7, rng, 10),
                       T = random_matrix<Scalar>(5, 40, rng);
  const Matrix<Scalar> z = random_matrix<Scalar>(7, 40, rng),
                       a0 = random_matrix<Scalar>(7, 40, rng);
  Matrix<Scalar> a = a0, product = W * a0, residual = T - product, grad(7, 40);
  const detail::Backtracking<Scalar> bt{Scalar(1e-6), Scalar(2), 2};
  const auto report =
      activation_step(a, W, residual, product, z, f, grad, Scalar(1), Scalar(1), bt);
  CHECK(report.hit_cap);
  CHECK(report.backtracks == 2);
  CHECK(a == a0);
  CHECK((product - W * a0).norm() == Scalar(0));
}

TEMPLATE_TEST_CASE("exact W and a updates equal the normal-equation solutions", "[updates]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(15);
  const double tol = std::is_same<Scalar, float>::value ? 2e-3 : 1e-8;
  {
    auto block = make_weight_block<Scalar>(rng, Scalar(0.3));
    Matrix<Scalar> W = block.W, product = W * block.A, residual = block.T - product, grad(6, 8);
    detail::weight_step_exact(W, block.A, residual, product, grad, block.beta,
                              dladmm::Regularization::None, Scalar(0), dladmm::LocalSamples());
    // Least squares min ||A^T W^T - T^T|| by QR, independent of the solver's normal equations.
    const Matrix<Scalar> expected =
        block.A.transpose().colPivHouseholderQr().solve(block.T.transpose()).transpose();
    CHECK((W - expected).norm() <= Scalar(tol * (1 + expected.norm())));
    CHECK((product - W * block.A).norm() <= Scalar(tol * (1 + product.norm())));
  }
  {
    const Scalar beta = Scalar(2), nu = Scalar(0.5);
    const dladmm::Relu f;
    const Matrix<Scalar> W = random_matrix<Scalar>(5, 7, rng),
                         T = random_matrix<Scalar>(5, 40, rng);
    const Matrix<Scalar> z = random_matrix<Scalar>(7, 40, rng);
    Matrix<Scalar> a = random_matrix<Scalar>(7, 40, rng), product = W * a, residual = T - product;
    Matrix<Scalar> grad(7, 40);
    detail::activation_step_exact(a, W, residual, product, z, f, grad, beta, nu);
    const Matrix<Scalar> M = beta * W.transpose() * W + nu * Matrix<Scalar>::Identity(7, 7);
    const Matrix<Scalar> expected =
        M.partialPivLu().solve(beta * W.transpose() * T + nu * z.unaryExpr(f));
    CHECK((a - expected).norm() <= Scalar(tol * (1 + expected.norm())));
    CHECK((product - W * a).norm() <= Scalar(tol * (1 + product.norm())));
  }
}
