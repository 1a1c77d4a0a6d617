// Writes the checkpoint fuzzer's seed: fuzz_checkpoint_problem() after 3 iterations; with a
// second file name, also the model fuzzer's seed: that run's network as a model file.
// usage: make_checkpoint_seed CHECKPOINT_FILE [MODEL_FILE]
#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/model_file.hpp>

#include <iostream>

#include "fuzz_checkpoint_problem.hpp"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::cerr << "usage: make_checkpoint_seed CHECKPOINT_FILE [MODEL_FILE]\n";
    return 2;
  }
  auto problem = fuzz_checkpoint_problem();
  dladmm::Param<float> param;
  param.max_iterations = 3;
  dladmm::Solver<FuzzProblem> solver(param);
  dladmm::History history;
  solver.minimize(problem, history);
  dladmm::save_checkpoint(argv[1], solver, &history.rows);
  if (argc == 3) dladmm::save_model(argv[2], problem.network());
  return 0;
}
