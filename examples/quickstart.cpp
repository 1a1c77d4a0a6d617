// Trains a 20-64-64-5 network by dlADMM on seeded synthetic data and prints its accuracy.
#include <dladmm/callbacks.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <iostream>

int main() {
  using Scalar = double;
  // 2,000 samples with 20 features in 5 classes; columns are samples.
  const dladmm::Dataset<Scalar> data = dladmm::make_synthetic<Scalar>(20, 5, 2000, /*seed=*/1);

  // Two hidden ReLU layers of 64 units, softmax cross-entropy on one-hot labels.
  using Problem = dladmm::Problem<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy>;
  Problem problem(data.x, data.one_hot(), {64, 64});

  dladmm::Param<Scalar> param;
  param.rho = 2;  // rho = nu = 2, fixed: inside the proven regime rho > 2H = 1
  param.rho_schedule = dladmm::RhoSchedule::Fixed;
  param.max_iterations = 50;

  dladmm::Solver<Problem> solver(param);
  dladmm::PrintProgress print(std::cout, /*every=*/10);
  const dladmm::Result result = solver.minimize(problem, print);

  std::cout << "training accuracy " << problem.network().accuracy(data.x, data.labels) << " after "
            << result.iterations << " iterations (" << dladmm::to_string(result.status) << ")\n";
  return result.status == dladmm::Status::NumericalIssue ? 1 : 0;
}
