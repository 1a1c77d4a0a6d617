// A program built with DLADMM_NO_EXACT_SOLVER (its own binary: every unit of a program must
// agree on the definition): the exact steps are compiled out, the exact solver is refused with
// a clear message, and the quadratic solver keeps its descent property.
#include <catch2/catch.hpp>

#include <dladmm/checkpoint.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <sstream>

#include "descent.hpp"

#ifndef DLADMM_NO_EXACT_SOLVER
#error "this test is built with DLADMM_NO_EXACT_SOLVER"
#endif

TEST_CASE("without the exact steps the exact solver is refused at init", "[quadratic_only]") {
  const auto data = dladmm::make_synthetic<double>(6, 3, 50, 1);
  dladmm::Problem<double> problem(data.x, data.one_hot(), {5});
  dladmm::Param<double> param;
  param.solver = dladmm::SubproblemSolver::Exact;
  dladmm::Solver<dladmm::Problem<double>> solver(param);
  CHECK_THROWS_WITH(solver.init(problem),
                    Catch::Contains("solver Exact was compiled out (DLADMM_NO_EXACT_SOLVER"));
  CHECK_THROWS_WITH(solver.minimize(problem), Catch::Contains("DLADMM_NO_EXACT_SOLVER"));
}

TEMPLATE_TEST_CASE("without the exact steps the quadratic solver still descends",
                   "[quadratic_only]", float, double) {
  const auto data = dladmm::make_synthetic<TestType>(10, 4, 120, 2);
  check_sufficient_descent(dladmm::Problem<TestType>(data.x, data.one_hot(), {16, 12}),
                           TestType(2));
}
