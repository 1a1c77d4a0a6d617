// libFuzzer target: load_checkpoint on arbitrary bytes, into a small fixed problem, must load or
// throw CheckpointError, never crash or allocate without bound. Built with
// FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so that the checksum does not hide the parser.
#include <dladmm/checkpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_checkpoint_problem.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto problem = fuzz_checkpoint_problem();
  dladmm::Solver<FuzzProblem> solver;
  std::vector<dladmm::IterationInfo> rows;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    dladmm::load_checkpoint(in, "fuzz.ckpt", problem, solver, &rows);
    if (solver.param().fista_max_iterations <= 1000)  // else one step may take minutes
      solver.run_for(1);                              // a loaded state must be usable
  } catch (const dladmm::CheckpointError&) {
  }
  return 0;
}
