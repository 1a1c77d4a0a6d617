// The descent regime of ALGORITHM.md §5.3 and its check over whole runs, shared by the
// multilayer perceptron's and the graph network's tests.
#pragma once

#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/dladmm.hpp>

#include <cmath>
#include <type_traits>

/// rho = nu fixed (above 2H for the regime), z_L solved to a tight tolerance with the safe FISTA
/// step, no convergence stop.
template <typename Scalar>
dladmm::Param<Scalar> descent_param(Scalar rho, int iterations = 40) {
  dladmm::Param<Scalar> p;
  p.rho = rho;
  p.rho_schedule = dladmm::RhoSchedule::Fixed;
  p.fista_step = Scalar(2);
  p.fista_tolerance = Scalar(std::is_same<Scalar, float>::value ? 1e-4 : 1e-10);
  p.fista_max_iterations = 5000;
  p.primal_tolerance = p.dual_tolerance = 0;
  p.max_iterations = iterations;
  return p;
}

/// Runs \p problem in the descent regime at \p rho and checks that L_rho never rises after the
/// first iteration, that the primal residual falls a hundredfold, and that the figures from the
/// kept products equal a computation from scratch.
template <typename ProblemT>
void check_sufficient_descent(ProblemT problem, typename ProblemT::Scalar rho,
                              int iterations = 40) {
  using Scalar = typename ProblemT::Scalar;
  dladmm::Solver<ProblemT> solver(descent_param<Scalar>(rho, iterations));
  dladmm::History history;
  solver.minimize(problem, history);
  REQUIRE(history.rows.size() == std::size_t(iterations));
  const double tol = std::is_same<Scalar, float>::value ? 1e-4 : 1e-9;
  // From the second iteration on, u = -grad R(z_L) holds and L_rho must not increase.
  for (std::size_t k = 1; k < history.rows.size(); ++k) {
    const double before = history.rows[k - 1].objective, after = history.rows[k].objective;
    INFO("iteration " << history.rows[k].iteration << ": " << before << " -> " << after);
    CHECK(after <= before + tol * (1 + std::abs(before)));
  }
  CHECK(history.rows.back().primal_residual < 1e-2 * history.rows.front().primal_residual);
  const auto fresh = problem.figures(solver.rho(), solver.nu());
  CHECK(fresh.augmented_lagrangian == Approx(history.rows.back().objective).epsilon(tol * 10));
}
