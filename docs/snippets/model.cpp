// A trained model: save the network alone, load it in another program and predict.
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <iostream>

int main() {
  using dladmm::Labels;
  const auto all = dladmm::make_synthetic<float>(10, 3, 1000, /*seed=*/4);
  const auto [train, test] = all.split(0.2, /*seed=*/4);

  {  // Training: then save the network only (sizes, activation, W, b), atomically.
    dladmm::Problem<float> problem(train.x, train.one_hot(), {32});
    dladmm::Param<float> param;
    param.max_iterations = 20;
    dladmm::Solver<dladmm::Problem<float>> solver(param);
    solver.minimize(problem);
    dladmm::save_model("model.bin", problem.network());
  }

  // Prediction, here or in another program: no training data or training state needed.
  const dladmm::Matrix<float>& x = test.x;
  try {
    auto net = dladmm::load_model<float, dladmm::Relu>("model.bin");
    Labels predicted = net.predict(x);
    std::cout << "first prediction " << predicted[0] << ", test accuracy "
              << net.accuracy(x, test.labels) << "\n";
  } catch (const dladmm::ModelFileError& e) {  // missing, damaged, other scalar type, ...
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
