// Comparisons of whole runs shared by the test files: the state of two problems, and a history
// without its wall times.
#pragma once

#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/param.hpp>
#include <dladmm/solver.hpp>

#include <sstream>
#include <string>

/// REQUIREs that two problems (of any layer map or reduction) hold the same W, b, z, a and u,
/// bit for bit.
template <typename ProblemA, typename ProblemB>
void require_same_state(const ProblemA& a, const ProblemB& b) {
  for (dladmm::Index l = 0; l < a.network().num_layers(); ++l) {
    INFO("layer " << l + 1);
    REQUIRE(a.network().layer(l).W == b.network().layer(l).W);
    REQUIRE(a.network().layer(l).b == b.network().layer(l).b);
    REQUIRE(a.state().layer(l).z == b.state().layer(l).z);
    REQUIRE(a.state().layer(l).a == b.state().layer(l).a);
  }
  REQUIRE(a.u() == b.u());
}

/// The history CSV with every wall time set to zero, for comparing runs.
inline std::string csv_without_time(dladmm::History history) {
  for (auto& row : history.rows) row.seconds = 0;
  std::ostringstream out;
  history.write_csv(out);
  return out.str();
}

/// Runs \p a and \p b from init() with \p param and REQUIREs the same history (wall times
/// aside) and the same final state, bit for bit; then calls \p more(solver_a, solver_b) for
/// further checks.
template <typename ProblemA, typename ProblemB, typename Scalar, typename More>
void require_same_run(ProblemA& a, ProblemB& b, const dladmm::Param<Scalar>& param, More more) {
  dladmm::Solver<ProblemA> solver_a(param);
  dladmm::Solver<ProblemB> solver_b(param);
  dladmm::History history_a, history_b;
  solver_a.minimize(a, history_a);
  solver_b.minimize(b, history_b);
  REQUIRE(csv_without_time(history_a) == csv_without_time(history_b));
  require_same_state(a, b);
  more(solver_a, solver_b);
}

/// require_same_run() with no further check.
template <typename ProblemA, typename ProblemB, typename Scalar>
void require_same_run(ProblemA& a, ProblemB& b, const dladmm::Param<Scalar>& param) {
  require_same_run(a, b, param, [](const auto&, const auto&) {});
}
