#include <dladmm/dladmm.hpp>

#include <iostream>

int main() {
  dladmm::Matrix<double> x = dladmm::Matrix<double>::Random(3, 40);
  dladmm::Matrix<double> y = dladmm::Matrix<double>::Zero(2, 40);
  for (dladmm::Index j = 0; j < 40; ++j) y(x(0, j) > 0 ? 0 : 1, j) = 1;
  dladmm::Problem<double> problem(x, y, {8});
  dladmm::Param<double> param;
  param.max_iterations = 3;
  dladmm::Solver<dladmm::Problem<double>> solver(param);
  const dladmm::Result result = solver.minimize(problem);
  std::cout << "dladmm " << dladmm::version_string << ": " << dladmm::to_string(result.status)
            << " after " << result.iterations << " iterations\n";
  return result.iterations == 3 ? 0 : 1;
}
