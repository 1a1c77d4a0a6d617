// Threads change the speed, never the result: a run on 2 threads is bit-identical to a run on 1.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

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
  for (auto& row : history.rows) row.seconds = 0;
  std::ostringstream csv;
  history.write_csv(csv);
  return {problem, csv.str()};
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
  for (dladmm::Index l = 0; l < one.network().num_layers(); ++l) {
    INFO("layer " << l + 1);
    CHECK(one.network().layer(l).W == two.network().layer(l).W);
    CHECK(one.network().layer(l).b == two.network().layer(l).b);
    CHECK(one.network().layer(l).z == two.network().layer(l).z);
    CHECK(one.network().layer(l).a == two.network().layer(l).a);
  }
  CHECK(one.u() == two.u());
#endif
}
