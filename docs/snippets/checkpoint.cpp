// Checkpoints: save the whole state, load it into a new problem and solver, go on exactly.
#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <iostream>

int main() {
  const auto data = dladmm::make_synthetic<float>(10, 3, 500, /*seed=*/2);
  using ProblemT = dladmm::Problem<float>;

  {  // A first process: 10 iterations, then save (atomically: FILE.tmp, fsync, rename).
    ProblemT problem(data.x, data.one_hot(), {32});
    dladmm::Param<float> param;
    param.max_iterations = 10;
    dladmm::Solver<ProblemT> solver(param);
    dladmm::History history;
    solver.minimize(problem, history);
    dladmm::save_checkpoint("run.ckpt", solver, &history.rows);
  }

  // A later process: the same data and shape; the saved parameters come with the checkpoint.
  ProblemT problem(data.x, data.one_hot(), {32});
  dladmm::Solver<ProblemT> solver;
  dladmm::History history;
  try {
    dladmm::load_checkpoint("run.ckpt", problem, solver, &history.rows);
  } catch (const dladmm::CheckpointError& e) {  // damaged file, other data, other shape, ...
    std::cerr << e.what() << "\n";
    return 1;
  }
  solver.set_max_iterations(25);                      // the total, as if never interrupted
  const dladmm::Result result = solver.run(history);  // iterations 11 to 25
  std::cout << to_string(result.status) << " after " << result.iterations << " iterations, "
            << history.rows.size() << " history rows; caps hit: " << result.backtrack_cap_hits
            << " backtracking, " << result.fista_cap_hits << " FISTA\n";
  // A NaN iteration would have ended the run with NumericalIssue and the state of the last
  // finite iteration (Param::keep_last_finite), which can still be saved.
  return 0;
}
