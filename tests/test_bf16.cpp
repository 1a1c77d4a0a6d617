// bf16 products (Param::product_precision, ALGORITHM.md §11): the rounding, the error bound of a
// product with bf16 inputs and float sums, the block steps and whole runs with them, and the
// refusals. Where this build or processor cannot run them, the tests check the refusal instead.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/detail/bf16_product.hpp>
#include <dladmm/detail/updates.hpp>
#include <dladmm/dladmm.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "descent.hpp"
#include "random_matrix.hpp"
#include "same_run.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

using dladmm::Index;
using dladmm::Matrix;
namespace detail = dladmm::detail;
using detail::Transposed;

namespace {

bool bf16_available() { return detail::bf16_unavailable_reason().empty(); }

std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// The bound on |C - alpha op(A) op(B)| entrywise, relative to |alpha| sum_k |a_ik||b_kj|, of a
// product whose inputs are rounded to bf16 and whose K terms are summed in float in any order,
// then scaled by alpha: each input carries a relative error of at most u_b = 2^-8, so a term
// (exact in float: 8 x 8 significant bits) at most 2u_b + u_b^2; summing K terms in float adds
// at most gamma_{K-1} = (K-1)u/(1-(K-1)u) of the sum of their magnitudes (u = 2^-24, Higham,
// Accuracy and Stability, §3.1), and the scaling one more u.
double bf16_product_bound(Index depth) {
  const double ub = detail::bf16_unit_roundoff, u = std::ldexp(1.0, -24);
  const double gamma = double(depth) * u / (1 - double(depth) * u);
  return 2 * ub + ub * ub + (gamma + u) * (1 + ub) * (1 + ub);
}

// op(m) as a double matrix.
Matrix<double> op(const Matrix<float>& m, bool transposed) {
  return transposed ? Matrix<double>(m.cast<double>().transpose())
                    : Matrix<double>(m.cast<double>());
}

}  // namespace

TEST_CASE("bf16 rounding is to nearest, ties to even, and keeps NaN and infinity", "[bf16]") {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::uint32_t> any;
  for (int trial = 0; trial < 100000; ++trial) {
    std::uint32_t b = any(rng);
    float x;
    std::memcpy(&x, &b, sizeof x);
    // Normal floats (a subnormal's rounding is absolute, not relative), below bf16's largest.
    if (!std::isfinite(x) || std::abs(x) > 3e38f || std::abs(x) < std::numeric_limits<float>::min())
      continue;
    const float r = detail::from_bf16(detail::to_bf16(x));
    // The two bf16 neighbours of x: truncated, and one bf16 step away from zero.
    const std::uint32_t low_bits = bits_of(x) & 0xffff0000u;
    float low, high;
    std::memcpy(&low, &low_bits, sizeof low);
    const std::uint32_t high_bits = low_bits + 0x10000u;
    std::memcpy(&high, &high_bits, sizeof high);
    const double d_low = std::abs(double(x) - low), d_high = std::abs(double(x) - high);
    INFO("x = " << x << " rounded " << r);
    REQUIRE((r == low || r == high));
    if (d_low != d_high)
      REQUIRE(r == (d_low < d_high ? low : high));
    else  // a tie: the even one (last bf16 bit 0)
      REQUIRE((bits_of(r) >> 16) % 2 == 0);
    REQUIRE(std::abs(double(r) - x) <= detail::bf16_unit_roundoff * std::abs(double(x)));
  }
  // Exact ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 and goes to 1 (even); 1 + 3 * 2^-8
  // goes up to 1 + 2^-6.
  CHECK(detail::from_bf16(detail::to_bf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);
  CHECK(detail::from_bf16(detail::to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))) ==
        1.0f + std::ldexp(1.0f, -6));
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(std::isnan(detail::from_bf16(detail::to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(detail::from_bf16(detail::to_bf16(inf)) == inf);
  CHECK(detail::from_bf16(detail::to_bf16(-inf)) == -inf);
  CHECK(detail::from_bf16(detail::to_bf16(std::numeric_limits<float>::max())) == inf);
}

TEST_CASE("bf16 products are within the bound bf16 inputs and float sums allow", "[bf16]") {
  if (!bf16_available()) {
    WARN("bf16 products cannot run here: " << detail::bf16_unavailable_reason());
    CHECK_THROWS_WITH(detail::Bf16Products(), Catch::Contains(detail::bf16_unavailable_reason()));
    return;
  }
  std::mt19937_64 rng(5);
  // Shapes that split into several pieces by columns and by rows, views with an outer stride
  // (blocks of larger matrices), each transposition, and a scaling alpha.
  struct Case {
    Index rows, cols, depth;
    Transposed transposed;
  };
  for (const Case c :
       {Case{96, 2500, 130, Transposed::None}, Case{700, 80, 90, Transposed::None},
        Case{130, 1900, 70, Transposed::Lhs}, Case{700, 90, 80, Transposed::Lhs},
        Case{300, 200, 3000, Transposed::Rhs}, Case{100, 2500, 300, Transposed::Rhs}}) {
    const bool lt = c.transposed == Transposed::Lhs, rt = c.transposed == Transposed::Rhs;
    const Matrix<float> lhs_full =
        random_matrix<float>(lt ? c.depth + 3 : c.rows + 3, lt ? c.rows : c.depth, rng);
    const Matrix<float> rhs_full =
        random_matrix<float>(rt ? c.cols + 5 : c.depth + 5, rt ? c.depth : c.cols, rng);
    const Matrix<float> lhs = lhs_full.topRows(lhs_full.rows() - 3);
    const Matrix<float> rhs = rhs_full.topRows(rhs_full.rows() - 5);
    Matrix<float> out_full(c.rows + 2, c.cols);
    out_full.setConstant(7);
    detail::Bf16Products bf16;
    bf16.reserve(lhs.size(), rhs.size());
    const float alpha = -0.75f;
    detail::View<float> out(out_full.topRows(c.rows));
    bf16.multiply(out, detail::ConstView<float>(lhs_full.topRows(lhs.rows())),
                  detail::ConstView<float>(rhs_full.topRows(rhs.rows())), alpha, c.transposed);
    const Matrix<double> exact = double(alpha) * op(lhs, lt) * op(rhs, rt);
    const Matrix<double> magnitude =
        std::abs(alpha) * op(lhs, lt).cwiseAbs() * op(rhs, rt).cwiseAbs();
    const double bound = bf16_product_bound(c.depth);
    const Matrix<double> error = (out_full.topRows(c.rows).cast<double>() - exact).cwiseAbs();
    INFO(c.rows << " x " << c.cols << " x " << c.depth << ", transposed " << int(c.transposed));
    CHECK((error.array() <= bound * magnitude.array()).all());
    // The inputs really are rounded: the result is far from a float product somewhere.
    CHECK(((error.array() > 64 * std::ldexp(1.0, -24) * magnitude.array()).any()));
    // The rows below the view are untouched.
    CHECK((out_full.bottomRows(2).array() == 7).all());
  }
}

TEST_CASE("a declared shared rhs is reused only by the next bf16 product", "[bf16]") {
  if (!bf16_available()) {
    WARN("bf16 products cannot run here: " << detail::bf16_unavailable_reason());
    return;
  }
  std::mt19937_64 rng(8);
  const Matrix<float> a = random_matrix<float>(100, 300, rng),
                      small = random_matrix<float>(10, 300, rng);
  Matrix<float> b = random_matrix<float>(300, 500, rng);
  Matrix<float> first(100, 500), again(100, 500), narrow(10, 500);
  detail::Bf16Products bf16;
  bf16.reserve(a.size(), b.size());
  bf16.multiply(first, a, b, 1.0f, Transposed::None);
  // Declared, but the next product is too narrow for bf16 and runs in float: the declaration
  // goes with it, so a later change of b in place is seen.
  bf16.same_rhs_next();
  detail::multiply_routed<float>(narrow, small, b, 1.0f, Transposed::None, &bf16);
  b *= 2;  // exact in bf16 and in the float sums: the product doubles exactly
  bf16.multiply(again, a, b, 1.0f, Transposed::None);
  CHECK((again.array() == 2 * first.array()).all());
  // Declared and honoured: the rounding of b is reused (b changed behind it: the old product).
  bf16.same_rhs_next();
  b /= 2;
  bf16.multiply(again, a, b, 1.0f, Transposed::None);
  CHECK((again.array() == 2 * first.array()).all());
}

TEST_CASE("bf16 products are bit-identical on 1 and 2 threads", "[bf16][threads]") {
#ifndef _OPENMP
  WARN("built without OpenMP: one thread only, nothing to compare");
  return;
#else
  if (!bf16_available()) {
    WARN("bf16 products cannot run here: " << detail::bf16_unavailable_reason());
    return;
  }
  std::mt19937_64 rng(6);
  const Matrix<float> a = random_matrix<float>(200, 300, rng),
                      b = random_matrix<float>(300, 5000, rng);
  Matrix<float> one(200, 5000), two(200, 5000);
  detail::Bf16Products bf16;
  bf16.reserve(a.size(), b.size());
  const int before = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Eigen::setNbThreads(threads);
    bf16.multiply(threads == 1 ? one : two, a, b, 1.0f, Transposed::None);
  }
  omp_set_num_threads(before);
  Eigen::setNbThreads(0);
  CHECK(omp_get_max_threads() == before);
  CHECK((one.array() == two.array()).all());
#endif
}

TEST_CASE("the W and a steps with bf16 products descend and keep their products within the bound",
          "[bf16][updates]") {
  if (!bf16_available()) {
    WARN("bf16 products cannot run here: " << detail::bf16_unavailable_reason());
    return;
  }
  std::mt19937_64 rng(7);
  detail::Bf16Products bf16;
  const Index units = 64, inputs = 80, samples = 400;
  bf16.reserve(units * samples + inputs * samples, units * samples + inputs * samples);
  for (float beta : {1e-2f, 1.0f, 30.0f}) {
    INFO("beta " << beta);
    // W step on (beta/2)||T - W A||^2.
    const Matrix<float> A = random_matrix<float>(inputs, samples, rng),
                        T = random_matrix<float>(units, samples, rng);
    const Matrix<float> W0 = random_matrix<float>(units, inputs, rng, 0.1);
    auto phi = [&](const Matrix<float>& w) {
      return 0.5 * double(beta) *
             (T.cast<double>() - w.cast<double>() * A.cast<double>()).squaredNorm();
    };
    Matrix<float> W = W0, product = W0 * A, grad(units, inputs), trial;
    Matrix<float> residual = T - product;
    const detail::Backtracking<float> bt{1e-3f, 2.0f, 60};
    const auto report = detail::weight_step_quadratic(
        W, detail::ConstView<float>(A), residual, product, grad, trial, beta, bt,
        dladmm::Regularization::None, 0.0f, dladmm::LocalSamples(), &bf16);
    REQUIRE_FALSE(report.hit_cap);
    CHECK(phi(W) < phi(W0));
    // The kept product moved by the step's product D A, computed with bf16 inputs.
    const Matrix<double> D = (W - W0).cast<double>();
    const Matrix<double> drift =
        (product.cast<double>() - W.cast<double>() * A.cast<double>()).cwiseAbs();
    const Matrix<double> allowed =
        bf16_product_bound(inputs) * 1.01 * D.cwiseAbs() * A.cast<double>().cwiseAbs() +
        (4 * std::ldexp(1.0, -24) * (W.cast<double>().cwiseAbs() * A.cast<double>().cwiseAbs()));
    CHECK((drift.array() <= allowed.array()).all());

    // a step on (beta/2)||T - W a||^2 + (nu/2)||a - f(z)||^2.
    const float nu = 0.5f;
    const dladmm::Relu f;
    const Matrix<float> Wn = random_matrix<float>(units, inputs, rng, 0.3);
    const Matrix<float> z = random_matrix<float>(inputs, samples, rng),
                        a0 = random_matrix<float>(inputs, samples, rng);
    const Matrix<float> fz = z.unaryExpr(f);
    auto g = [&](const Matrix<float>& a) {
      return 0.5 * double(beta) *
                 (T.cast<double>() - Wn.cast<double>() * a.cast<double>()).squaredNorm() +
             0.5 * double(nu) * (a - fz).cast<double>().squaredNorm();
    };
    Matrix<float> a = a0, a_product = Wn * a0, a_residual = T - a_product, a_grad(inputs, samples);
    dladmm::DenseMap dense;
    const auto a_report =
        detail::activation_step_quadratic(a, Wn, a_residual, a_product, z, f, a_grad, beta, nu,
                                          detail::Backtracking<float>{1e-2f, 2.0f, 60}, dense,
                                          a_residual, dladmm::LocalSamples(), &bf16);
    REQUIRE_FALSE(a_report.hit_cap);
    CHECK(g(a) < g(a0));
    const Matrix<double> step = (a - a0).cast<double>();
    const Matrix<double> a_drift =
        (a_product.cast<double>() - Wn.cast<double>() * a.cast<double>()).cwiseAbs();
    const Matrix<double> a_allowed =
        bf16_product_bound(inputs) * 1.01 * Wn.cast<double>().cwiseAbs() * step.cwiseAbs() +
        4 * std::ldexp(1.0, -24) * (Wn.cast<double>().cwiseAbs() * a.cast<double>().cwiseAbs());
    CHECK((a_drift.array() <= a_allowed.array()).all());
  }
}

namespace {

dladmm::Param<float> bf16_param(dladmm::Param<float> p = {}) {
  p.product_precision = dladmm::ProductPrecision::BFloat16;
  return p;
}

}  // namespace

TEST_CASE("a run with bf16 products is bit-identical on 1 and 2 threads and learns",
          "[bf16][threads]") {
  const auto data = dladmm::make_synthetic<float>(80, 5, 1500, 3);
  auto run_on = [&](int threads, dladmm::ProductPrecision precision) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    Eigen::setNbThreads(threads);
    dladmm::Problem<float> problem(data.x, data.one_hot(), {96, 64});
    dladmm::Param<float> param;
    param.product_precision = precision;
    param.max_iterations = 8;
    param.product_refresh_every = 4;
    dladmm::Solver<dladmm::Problem<float>> solver(param);
    dladmm::History history;
    solver.minimize(problem, history);
    return std::make_tuple(problem, history, csv_without_time(history));
  };
  if (!bf16_available()) {
    WARN("bf16 products cannot run here: " << detail::bf16_unavailable_reason());
    dladmm::Problem<float> problem(data.x, data.one_hot(), {96, 64});
    dladmm::Solver<dladmm::Problem<float>> solver(bf16_param());
    CHECK_THROWS_WITH(solver.init(problem), Catch::Contains("product_precision BFloat16: " +
                                                            detail::bf16_unavailable_reason()));
    return;
  }
#ifdef _OPENMP
  const int before = omp_get_max_threads();
#endif
  const auto [one, one_history, one_csv] = run_on(1, dladmm::ProductPrecision::BFloat16);
  const auto [two, two_history, two_csv] = run_on(2, dladmm::ProductPrecision::BFloat16);
  const auto [scalar, scalar_history, scalar_csv] = run_on(2, dladmm::ProductPrecision::Scalar);
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
  Eigen::setNbThreads(0);
  CHECK(one_csv == two_csv);
  require_same_state(one, two);
  // As the float run learns: the same accuracy within 1%, and products that did change.
  const double bf16_accuracy = one_history.rows.back().train_accuracy;
  CHECK(bf16_accuracy == Approx(scalar_history.rows.back().train_accuracy).margin(0.01));
  CHECK(bf16_accuracy > one_history.rows.front().train_accuracy);
  CHECK(one_csv != scalar_csv);
}

TEST_CASE("with bf16 products the objective falls over whole iterations at rho = nu = 2",
          "[bf16][descent]") {
  if (!bf16_available()) {
    WARN("bf16 products cannot run here: " << detail::bf16_unavailable_reason());
    return;
  }
  // Layers of at least 64 units and inputs, so that the hidden layers' products are bf16 ones.
  const auto data = dladmm::make_synthetic<float>(72, 4, 600, 3);
  dladmm::Problem<float> problem(data.x, data.one_hot(), {96, 80});
  dladmm::Solver<dladmm::Problem<float>> solver(bf16_param(descent_param<float>(2.0f, 40)));
  dladmm::History history;
  solver.minimize(problem, history);
  REQUIRE(history.rows.size() == 40);
  for (std::size_t k = 1; k < history.rows.size(); ++k) {
    const double before = history.rows[k - 1].objective, after = history.rows[k].objective;
    INFO("iteration " << history.rows[k].iteration << ": " << before << " -> " << after);
    CHECK(after <= before + 1e-4 * (1 + std::abs(before)));
  }
  CHECK(history.rows.back().primal_residual < 1e-2 * history.rows.front().primal_residual);
  // The figures from the kept products, 19 iterations after their last refresh in float, equal
  // a computation from scratch in float: the bf16 steps' drift is small next to them.
  const auto fresh = problem.figures(solver.rho(), solver.nu());
  CHECK(fresh.augmented_lagrangian == Approx(history.rows.back().objective).epsilon(1e-4));
}

TEST_CASE("bf16 products are refused where they cannot apply", "[bf16][param]") {
  dladmm::Param<double> in_double;
  in_double.product_precision = dladmm::ProductPrecision::BFloat16;
  CHECK_THROWS_WITH(in_double.check(), Catch::Contains("BFloat16 needs Scalar float"));
  dladmm::Param<float> exact = bf16_param();
  exact.solver = dladmm::SubproblemSolver::Exact;
  CHECK_THROWS_WITH(exact.check(), Catch::Contains("Quadratic solver's steps only"));
  dladmm::Param<float> bad = bf16_param();
  bad.product_precision = static_cast<dladmm::ProductPrecision>(7);
  CHECK_THROWS_WITH(bad.check(), Catch::Contains("product_precision must be Scalar or BFloat16"));
  CHECK_NOTHROW(bf16_param().check());
#ifndef DLADMM_USE_ONEDNN
  CHECK_THAT(dladmm::bf16_unavailable_reason(), Catch::Contains("this build has no oneDNN"));
#endif
  CHECK(dladmm::bf16_unavailable_reason() == detail::bf16_unavailable_reason());
}
