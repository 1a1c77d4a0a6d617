// The small problem the checkpoint fuzzer loads into, and its seed's run.
#pragma once

#include <dladmm/data/synthetic.hpp>
#include <dladmm/problem.hpp>

using FuzzProblem = dladmm::Problem<float>;

/// 4 features, 3 classes, 6 samples, hidden widths 5 and 4.
inline FuzzProblem fuzz_checkpoint_problem() {
  const auto data = dladmm::make_synthetic<float>(4, 3, 6, 1);
  return FuzzProblem(data.x, data.one_hot(), {5, 4});
}
