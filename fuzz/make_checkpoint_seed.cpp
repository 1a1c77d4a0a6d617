// Writes the checkpoint fuzzer's seed: fuzz_checkpoint_problem() after 3 iterations.
// usage: make_checkpoint_seed FILE
#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>

#include <iostream>

#include "fuzz_checkpoint_problem.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_checkpoint_seed FILE\n";
    return 2;
  }
  auto problem = fuzz_checkpoint_problem();
  dladmm::Param<float> param;
  param.max_iterations = 3;
  dladmm::Solver<FuzzProblem> solver(param);
  dladmm::History history;
  solver.minimize(problem, history);
  dladmm::save_checkpoint(argv[1], solver, &history.rows);
  return 0;
}
