// Training: a problem, parameters, a solver with callbacks, results and the history CSV.
#include <dladmm/callbacks.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <iostream>
#include <utility>

int main() {
  using Scalar = float;
  const auto all = dladmm::make_synthetic<Scalar>(20, 5, 3000, /*seed=*/3);
  auto [train, test] = all.split(0.2, /*seed=*/3);
  const dladmm::Matrix<Scalar> test_y = test.one_hot();

  // The problem owns the data, the model and the training state. std::move hands the inputs
  // over without a copy (passing train.x as it is would copy it: the set held twice).
  using Problem = dladmm::Problem<Scalar, dladmm::LeakyRelu, dladmm::SoftmaxCrossEntropy>;
  dladmm::Matrix<Scalar> train_y = train.one_hot();
  Problem problem(std::move(train.x), std::move(train_y), {128, 64}, dladmm::LeakyRelu(0.05));

  // Parameters: the paper's step schedule for rho with nu fixed, 100 iterations.
  dladmm::Param<Scalar> param;
  param.nu_tied_to_rho = false;
  param.nu = 1;
  param.rho = 1;
  param.rho_schedule = dladmm::RhoSchedule::Step;
  param.rho_step_every = 25;
  param.rho_factor = 2;
  param.rho_max = 8;
  param.max_iterations = 100;
  param.check();  // throws std::invalid_argument naming a bad field

  // Callbacks run in the order given: evaluate first, so the others see the test figures.
  dladmm::Evaluate<Scalar> evaluate(test.x, test_y, /*every=*/5);
  dladmm::EarlyStopping early_stop(dladmm::Monitor::TestAccuracy, /*patience=*/4);
  dladmm::TimeLimit time_limit(/*seconds=*/600);
  dladmm::History history;
  dladmm::PrintProgress print(std::cout, /*every=*/10);

  dladmm::Solver<Problem> solver(param);
  const dladmm::Result result =
      solver.minimize(problem, evaluate, early_stop, time_limit, history, print);

  // Results: status, iterations, time, and the last iteration's figures.
  std::cout << dladmm::to_string(result.status) << " after " << result.iterations
            << " iterations; objective " << result.last.objective << ", primal residual "
            << result.last.primal_residual << ", test accuracy "
            << problem.network().accuracy(test.x, test.labels) << "\n";

  // Saving figures: the history CSV (written atomically).
  history.write_csv("train_history.csv");
  return result.status == dladmm::Status::NumericalIssue ? 1 : 0;
}
