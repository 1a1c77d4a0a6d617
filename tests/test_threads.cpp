// Threads change the speed, never the result: a run on 2 threads is bit-identical to a run on 1.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <limits>
#include <random>
#include <type_traits>

#include "same_run.hpp"

#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

// Large enough that Eigen's products and the column-block loops run on every thread.
template <typename Scalar>
std::pair<dladmm::Problem<Scalar>, std::string> run_on(int threads) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(threads);
  REQUIRE(Eigen::nbThreads() == threads);
  const auto data = dladmm::make_synthetic<Scalar>(40, 5, 1500, 3);
  dladmm::Problem<Scalar> problem(data.x, data.one_hot(), {96, 64});
  dladmm::Param<Scalar> param;
  param.max_iterations = 6;
  param.product_refresh_every = 4;
  dladmm::Solver<dladmm::Problem<Scalar>> solver(param);
  dladmm::History history;
  solver.minimize(problem, history);
  return {problem, csv_without_time(history)};
}

}  // namespace

TEMPLATE_TEST_CASE("1 and 2 threads give bit-identical runs", "[threads]", float, double) {
#ifndef _OPENMP
  WARN("built without OpenMP: one thread only, nothing to compare");
  return;
#else
  using Scalar = TestType;
  const int before = omp_get_max_threads();
  const auto [one, one_csv] = run_on<Scalar>(1);
  const auto [two, two_csv] = run_on<Scalar>(2);
  omp_set_num_threads(before);
  Eigen::setNbThreads(0);
  CHECK(one_csv == two_csv);
  require_same_state(one, two);
#endif
}

TEMPLATE_TEST_CASE("the z_L solve is bit-identical on 1 and 2 threads", "[threads]", float,
                   double) {
#ifndef _OPENMP
  WARN("built without OpenMP: one thread only, nothing to compare");
  return;
#else
  using Scalar = TestType;
  using dladmm::Index;
  const Index C = 10, N = 7000;  // large enough for the parallel column-block loop
  REQUIRE(C * N >= dladmm::detail::parallel_min_entries);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 2.0);
  dladmm::Matrix<Scalar> y = dladmm::Matrix<Scalar>::Zero(C, N), m(C, N);
  for (Index j = 0; j < N; ++j) y(Index(rng() % C), j) = 1;
  for (Index k = 0; k < m.size(); ++k) m.data()[k] = Scalar(normal(rng));
  // Every step (the iterates), then the reference tolerance (the sums decide where it stops).
  dladmm::OutputSolve<Scalar> every_step, reference;
  every_step.tolerance = 0;
  every_step.max_iterations = 60;
  auto solve = [&](int threads, const dladmm::OutputSolve<Scalar>& param) {
    omp_set_num_threads(threads);
    dladmm::Matrix<Scalar> z = 2 * y.array() - 1;
    dladmm::SoftmaxCrossEntropy::Workspace<Scalar> ws;
    ws.resize(C, N);
    const auto report = dladmm::SoftmaxCrossEntropy().update_output(z, y, m, Scalar(1), param, ws);
    return std::make_pair(z, report.iterations);
  };
  const int before = omp_get_max_threads();
  for (const auto* param : {&every_step, &reference}) {
    const auto one = solve(1, *param), two = solve(2, *param);
    if (param == &every_step) CHECK(one.second == 60);
    CHECK(one.second == two.second);
    CHECK(one.first == two.first);
  }
  omp_set_num_threads(before);
#endif
}

TEMPLATE_TEST_CASE("split products cover every entry, equal the plain product and ignore threads",
                   "[threads]", float, double) {
  using Scalar = TestType;
  using dladmm::Index;
  using dladmm::Matrix;
  namespace detail = dladmm::detail;
  for (Index extent : {Index(1), Index(31), Index(33), Index(97), Index(129), Index(1000)}) {
    const Index pieces = detail::product_pieces(extent, detail::product_piece_rows);
    CHECK(pieces >= 1);
    if (pieces > 1) CHECK(extent / pieces >= detail::product_piece_min_extent);
  }
  // Output extents around the piece limits, in every transposition; depth 300 so that each
  // product is large enough to be split.
  const Index depth = 300;
#ifdef _OPENMP
  const int before = omp_get_max_threads();
#endif
  for (Index rows : {Index(33), Index(97), Index(700)})
    for (Index cols : {Index(129), Index(2100)})
      for (auto transposed :
           {detail::Transposed::None, detail::Transposed::Lhs, detail::Transposed::Rhs}) {
        INFO("rows " << rows << ", cols " << cols << ", transposed " << int(transposed));
        const bool lhs_t = transposed == detail::Transposed::Lhs;
        const bool rhs_t = transposed == detail::Transposed::Rhs;
        const Matrix<Scalar> lhs =
            lhs_t ? Matrix<Scalar>::Random(depth, rows) : Matrix<Scalar>::Random(rows, depth);
        const Matrix<Scalar> rhs =
            rhs_t ? Matrix<Scalar>::Random(cols, depth) : Matrix<Scalar>::Random(depth, cols);
        const Matrix<double> expected =
            (lhs_t ? Matrix<double>(lhs.transpose().template cast<double>())
                   : Matrix<double>(lhs.template cast<double>())) *
            (rhs_t ? Matrix<double>(rhs.transpose().template cast<double>())
                   : Matrix<double>(rhs.template cast<double>()));
        auto product = [&](int threads) {
#ifdef _OPENMP
          omp_set_num_threads(threads);
#endif
          Eigen::setNbThreads(threads);
          Matrix<Scalar> dst =
              Matrix<Scalar>::Constant(rows, cols, std::numeric_limits<Scalar>::quiet_NaN());
          detail::multiply<Scalar>(dst, lhs, rhs, Scalar(2), transposed);
          return dst;
        };
        const Matrix<Scalar> one = product(1), two = product(2);
        Eigen::setNbThreads(0);
        REQUIRE(one.allFinite());  // every entry written
        const double tolerance = std::is_same<Scalar, float>::value ? 1e-3 : 1e-10;
        CHECK((one.template cast<double>() - 2 * expected).cwiseAbs().maxCoeff() <= tolerance);
        CHECK(one == two);
      }
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
}
