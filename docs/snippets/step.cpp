// Driving single iterations with init() and step(), and reading the figures of each.
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <iostream>

int main() {
  const auto data = dladmm::make_synthetic<double>(10, 3, 500, /*seed=*/2);
  dladmm::Problem<double> problem(data.x, data.one_hot(), {32});

  dladmm::Param<double> param;
  param.rho = 2;  // rho = nu = 2 > 2H: the augmented Lagrangian descends
  param.rho_schedule = dladmm::RhoSchedule::Fixed;

  dladmm::Solver<dladmm::Problem<double>> solver(param);
  solver.init(problem);
  for (int k = 0; k < 20 && solver.status() == dladmm::Status::Running; ++k) {
    const dladmm::IterationInfo& info = solver.step();
    std::cout << info.iteration << ": L_rho " << info.objective << ", r_L " << info.primal_residual
              << ", dual " << info.dual_residual << ", W/a backtracks " << info.weight_backtracks
              << "/" << info.activation_backtracks << ", FISTA steps " << info.fista_iterations
              << "\n";
  }
  // Predictions of the trained weights on any data.
  const dladmm::Labels predicted = problem.network().predict(data.x);
  std::cout << "first prediction " << predicted[0] << ", accuracy "
            << problem.network().accuracy(data.x, data.labels) << "\n";
  return 0;
}
