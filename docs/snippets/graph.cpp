// A graph convolutional network on a Planetoid citation graph: the propagation matrix as the
// layer map, the loss on the training nodes, validation and test figures from their nodes.
#include <dladmm/callbacks.hpp>
#include <dladmm/data/planetoid.hpp>
#include <dladmm/dladmm.hpp>

#include <iostream>
#include <string>
#include <utility>

int main(int argc, char** argv) {
  using Scalar = float;
  // A Planetoid folder (features.mtx, adjacency.mtx, labels.txt, train/val/test.txt, each
  // plain or .gz), such as the copy of Cora shipped in data/planetoid/cora.
  const std::string folder = argc > 1 ? argv[1] : "data/planetoid/cora";
  dladmm::Graph<Scalar> graph = dladmm::read_planetoid<Scalar>(folder);
  dladmm::normalize_feature_columns(graph.features);  // each node's features sum to 1

  // z_l = W_l a_{l-1} S + b_l with S = D^-1/2 (A + I) D^-1/2: the SparsePropagation layer map.
  using Map = dladmm::SparsePropagation<Scalar>;
  using Problem = dladmm::Problem<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy, Map>;
  const dladmm::Matrix<Scalar> y = graph.one_hot();  // a zero column for an unlabelled node
  Problem problem(std::move(graph.features), y, {128}, dladmm::Relu(),
                  dladmm::SoftmaxCrossEntropy(),
                  Map(dladmm::normalized_propagation(graph.adjacency)));
  problem.set_loss_columns(graph.train);  // semi-supervised: the loss on the training nodes

  // The graph defaults of dladmm_train (docs/USAGE.md, "Graphs").
  dladmm::Param<Scalar> param;
  param.rho = Scalar(1e-3);
  param.rho_schedule = dladmm::RhoSchedule::Fixed;
  param.nu_tied_to_rho = false;
  param.nu = Scalar(0.3);
  param.regularization = dladmm::Regularization::L2;
  param.lambda = Scalar(3e-3);
  param.max_iterations = 200;

  // Validation and test figures from a forward pass over the whole graph; stop once the
  // validation accuracy has not improved for 50 evaluations.
  dladmm::EvaluateColumns<Scalar> evaluate(graph.val, graph.test, /*every=*/1);
  dladmm::EarlyStopping stop(dladmm::Monitor::ValAccuracy, /*patience=*/50);
  dladmm::History history;
  dladmm::Solver<Problem> solver(param);
  const dladmm::Result result = solver.minimize(problem, evaluate, stop, history);

  // Predictions for every node need the graph too: pass the layer map to the forward pass.
  const dladmm::Labels predicted = problem.network().predict(problem.x(), problem.layer_map());
  std::cout << result.iterations << " iterations; validation accuracy " << result.last.val_accuracy
            << ", test accuracy " << result.last.test_accuracy << " (best validation at iteration "
            << stop.best_iteration << "); node 0 is in class " << predicted(0) << "\n";
  return 0;
}
