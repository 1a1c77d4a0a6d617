// Graph convolutional networks (ALGORITHM.md §7): the layer map z = W a S + b with a propagation
// matrix S of a small random graph, and a loss on the labelled columns only. Each block against
// brute force, the descent property over whole iterations, and the masked loss's properties.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/detail/updates.hpp>
#include <dladmm/dladmm.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <type_traits>
#include <vector>

#include "descent.hpp"
#include "random_matrix.hpp"
#include "same_run.hpp"

using dladmm::Index;
using dladmm::Matrix;
namespace detail = dladmm::detail;

namespace {

template <typename Scalar>
using GraphProblem = dladmm::Problem<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy,
                                     dladmm::SparsePropagation<Scalar>>;

template <typename Scalar>
double slack(double magnitude) {
  return (std::is_same<Scalar, float>::value ? 1e-4 : 1e-10) * (1 + std::abs(magnitude));
}

// A random undirected graph on n nodes with about `edges` edges, and its propagation matrix
// D^-1/2 (A + I) D^-1/2 computed densely, apart from the library's code. With node classes
// given, an edge joins two nodes of the same class (as citations mostly do).
template <typename Scalar>
Eigen::SparseMatrix<Scalar> random_graph_propagation(Index n, int edges, std::mt19937_64& rng,
                                                     const std::vector<Index>& classes = {}) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(n, n);
  std::uniform_int_distribution<Index> node(0, n - 1);
  for (int e = 0; e < edges;) {
    const Index i = node(rng), j = node(rng);
    if (i == j || (!classes.empty() && classes[std::size_t(i)] != classes[std::size_t(j)]))
      continue;
    a(i, j) = a(j, i) = 1;
    ++e;
  }
  const Eigen::VectorXd scale = a.rowwise().sum().cwiseSqrt().cwiseInverse();
  const Eigen::MatrixXd s = scale.asDiagonal() * a * scale.asDiagonal();
  return s.cast<Scalar>().sparseView();
}

// A graph problem: n nodes of `features` random features in `classes` classes (a class's mean
// feature vector plus noise), labels on the first `labelled` nodes of a random order.
template <typename Scalar>
struct GraphCase {
  Matrix<Scalar> x, y;
  Eigen::SparseMatrix<Scalar> s;
  std::vector<Index> labelled, others;
};

template <typename Scalar>
GraphCase<Scalar> make_graph_case(Index n = 80, Index features = 12, Index classes = 3,
                                  Index labelled = 20, std::uint64_t seed = 5) {
  std::mt19937_64 rng(seed);
  GraphCase<Scalar> out;
  std::vector<Index> node_class(static_cast<std::size_t>(n));
  std::uniform_int_distribution<Index> pick(0, classes - 1);
  for (Index& c : node_class) c = pick(rng);
  out.s = random_graph_propagation<Scalar>(n, int(2 * n), rng, node_class);
  const Matrix<Scalar> means = random_matrix<Scalar>(features, classes, rng);
  out.x = random_matrix<Scalar>(features, n, rng);  // noise as large as the class signal
  out.y.setZero(classes, n);
  for (Index j = 0; j < n; ++j) {
    out.x.col(j) += means.col(node_class[std::size_t(j)]);
    out.y(node_class[std::size_t(j)], j) = 1;
  }
  std::vector<Index> order(static_cast<std::size_t>(n));
  for (Index j = 0; j < n; ++j) order[std::size_t(j)] = j;
  std::shuffle(order.begin(), order.end(), rng);
  out.labelled.assign(order.begin(), order.begin() + labelled);
  out.others.assign(order.begin() + labelled, order.end());
  std::sort(out.labelled.begin(), out.labelled.end());
  std::sort(out.others.begin(), out.others.end());
  return out;
}

template <typename Scalar>
GraphProblem<Scalar> make_problem(const GraphCase<Scalar>& c, std::vector<Index> hidden = {10}) {
  GraphProblem<Scalar> problem(c.x, c.y, hidden, {}, {}, dladmm::SparsePropagation<Scalar>(c.s));
  problem.set_loss_columns(c.labelled);
  return problem;
}

}  // namespace

TEMPLATE_TEST_CASE("graph W step through P = a S satisfies the backtracking condition", "[graph]",
                   float, double) {
  using Scalar = TestType;
  std::mt19937_64 rng(31);
  const auto s = random_graph_propagation<Scalar>(50, 90, rng);
  for (Scalar beta : {Scalar(1e-2), Scalar(2), Scalar(40)}) {
    const Matrix<Scalar> a = random_matrix<Scalar>(6, 50, rng),
                         W0 = random_matrix<Scalar>(4, 6, rng),
                         T = random_matrix<Scalar>(4, 50, rng);
    const Matrix<Scalar> P = a * s;  // the propagated input the solver keeps
    auto phi = [&](const Matrix<Scalar>& w) {
      return 0.5 * double(beta) * double((T - w * a * s).squaredNorm());
    };
    const Matrix<Scalar> G = beta * (W0 * a * s - T) * (a * s).transpose();  // §7, brute force
    Matrix<Scalar> W = W0, product = W0 * P, residual = T - product, grad(4, 6), trial;
    const detail::Backtracking<Scalar> bt{Scalar(1e-3), Scalar(2), 60};
    const auto report = detail::weight_step_quadratic(W, P, residual, product, grad, trial, beta,
                                                      bt, dladmm::Regularization::None, Scalar(0),
                                                      dladmm::LocalSamples());
    REQUIRE_FALSE(report.hit_cap);
    const double c = double(bt.initial) * std::pow(2.0, report.backtracks);
    INFO("beta " << beta << " c " << c);
    CHECK((grad - G).norm() <= Scalar(slack<Scalar>(G.norm())));
    CHECK(phi(W) <= phi(W0) - double(G.squaredNorm()) / (2 * c) + slack<Scalar>(phi(W0)));
    if (report.backtracks > 0) {  // the smallest accepted curvature
      const Matrix<Scalar> smaller = W0 - G / Scalar(c / 2);
      CHECK(phi(smaller) > phi(W0) - double(G.squaredNorm()) / c - slack<Scalar>(phi(W0)));
    }
    CHECK((product - W * a * s).norm() <= Scalar(slack<Scalar>(product.norm())));
  }
}

TEMPLATE_TEST_CASE("graph b step is the exact minimiser over every column", "[graph]", float,
                   double) {
  using Scalar = TestType;
  std::mt19937_64 rng(32);
  const auto s = random_graph_propagation<Scalar>(40, 70, rng);
  const Matrix<Scalar> z = random_matrix<Scalar>(5, 40, rng), u = random_matrix<Scalar>(5, 40, rng);
  const Matrix<Scalar> product =
      random_matrix<Scalar>(5, 7, rng) * random_matrix<Scalar>(7, 40, rng) * s;
  const Scalar rho = Scalar(0.7);
  dladmm::Vector<Scalar> b = dladmm::Vector<Scalar>::Zero(5);
  detail::BiasWorkspace ws;
  ws.resize(5);
  detail::bias_step(b, z, product, &u, rho, dladmm::LocalSamples(), ws);
  auto phi = [&](const dladmm::Vector<Scalar>& v) {
    return double((z - product - v.replicate(1, 40) + u / rho).squaredNorm());
  };
  const double best = phi(b);
  for (Index i = 0; i < 5; ++i)
    for (Scalar h : {Scalar(-1e-2), Scalar(1e-2)}) {
      dladmm::Vector<Scalar> moved = b;
      moved(i) += h;
      CHECK(phi(moved) >= best - slack<Scalar>(best));
    }
}

TEMPLATE_TEST_CASE("graph iterations descend at rho = nu = 2 with the loss on labelled nodes",
                   "[graph]", float, double) {
  using Scalar = TestType;
  for (const std::vector<Index>& hidden : {std::vector<Index>{10}, std::vector<Index>{10, 8}}) {
    INFO("hidden layers " << hidden.size());
    check_sufficient_descent(make_problem(make_graph_case<Scalar>(), hidden), Scalar(2), 30);
  }
}

TEMPLATE_TEST_CASE("after each dual update u = -grad R on labelled nodes and 0 elsewhere",
                   "[graph]", float, double) {
  // The z_L block: on the labelled columns FISTA's solve is optimal, so u = -grad R(z_L) there;
  // on the others z_L = W P + b - u / rho exactly, so the dual update leaves u = 0 and r_L = 0.
  using Scalar = TestType;
  const auto c = make_graph_case<Scalar>();
  auto problem = make_problem(c);
  auto param = descent_param<Scalar>(Scalar(1), 5);
  param.fista_tolerance = 0;  // run FISTA to its cap: z_L solved to round-off
  param.fista_max_iterations = 3000;
  dladmm::Solver<GraphProblem<Scalar>> solver(param);
  solver.init(problem);
  const double tol = std::is_same<Scalar, float>::value ? 1e-4 : 1e-9;
  const Index last = problem.network().num_layers() - 1;
  for (int k = 0; k < 5; ++k) {
    solver.step();
    const Matrix<Scalar>& z = problem.state().layer(last).z;
    Matrix<Scalar> labelled_z(z.rows(), Index(c.labelled.size())), grad;
    problem.gather_loss_columns(z, labelled_z);
    problem.loss().template gradient<Scalar>(labelled_z, problem.loss_targets(), grad);
    Matrix<Scalar> labelled_u(z.rows(), Index(c.labelled.size()));
    problem.gather_loss_columns(problem.u(), labelled_u);
    CHECK((labelled_u + grad).cwiseAbs().maxCoeff() <= tol);
    const Matrix<Scalar> residual =
        z - solver.product(last) - problem.network().layer(last).b.replicate(1, z.cols());
    for (Index j : c.others) {
      INFO("unlabelled column " << j);
      CHECK(problem.u().col(j).cwiseAbs().maxCoeff() <= tol);
      CHECK(residual.col(j).cwiseAbs().maxCoeff() <= tol);
    }
  }
}

TEMPLATE_TEST_CASE("targets of unlabelled nodes are never read", "[graph]", float, double) {
  using Scalar = TestType;
  const auto c = make_graph_case<Scalar>();
  auto changed = c;
  for (Index j : changed.others) changed.y.col(j).setConstant(Scalar(7));  // garbage, finite
  auto param = descent_param<Scalar>(Scalar(1e-2), 8);
  param.rho_schedule = dladmm::RhoSchedule::Step;
  param.rho_step_every = 3;
  param.rho_max = Scalar(1);
  auto a = make_problem(c), b = make_problem(changed);
  require_same_run(a, b, param);
}

TEMPLATE_TEST_CASE("a loss on every column listed gives the unrestricted loss's run bit for bit",
                   "[graph]", float, double) {
  using Scalar = TestType;
  const auto c = make_graph_case<Scalar>();
  GraphProblem<Scalar> every(c.x, c.y, {10}, {}, {}, dladmm::SparsePropagation<Scalar>(c.s));
  GraphProblem<Scalar> listed(c.x, c.y, {10}, {}, {}, dladmm::SparsePropagation<Scalar>(c.s));
  std::vector<Index> all(static_cast<std::size_t>(c.x.cols()));
  for (Index j = 0; j < c.x.cols(); ++j) all[std::size_t(j)] = c.x.cols() - 1 - j;  // any order
  listed.set_loss_columns(all);
  REQUIRE_FALSE(listed.loss_on_every_column());
  auto param = descent_param<Scalar>(Scalar(1e-2), 10);
  param.rho_schedule = dladmm::RhoSchedule::Reference;
  require_same_run(every, listed, param);
}

TEST_CASE("loss columns and evaluated columns are checked", "[graph]") {
  const auto c = make_graph_case<double>();
  GraphProblem<double> problem(c.x, c.y, {10}, {}, {}, dladmm::SparsePropagation<double>(c.s));
  CHECK_THROWS_WITH(problem.set_loss_columns({}), Catch::Contains("no column"));
  CHECK_THROWS_WITH(problem.set_loss_columns({3, 80}),
                    Catch::Contains("column 80 is outside [0, 80)"));
  CHECK_THROWS_WITH(problem.set_loss_columns({-1, 3}), Catch::Contains("column -1 is outside"));
  CHECK_THROWS_WITH(problem.set_loss_columns({4, 2, 4}),
                    Catch::Contains("column 4 is given twice"));
  CHECK(problem.loss_on_every_column());  // a refused list changes nothing

  problem.set_loss_columns(c.labelled);
  dladmm::Solver<GraphProblem<double>> solver;
  solver.init(problem);
  problem.set_loss_columns({0, 1});
  CHECK_THROWS_WITH(solver.step(), Catch::Contains("loss columns changed after init()"));

  CHECK_THROWS_WITH(dladmm::EvaluateColumns<double>({1, 1}, {}), Catch::Contains("given twice"));
  dladmm::EvaluateColumns<double> outside({1, 2}, {5, 99});
  problem.set_loss_columns(c.labelled);
  CHECK_THROWS_WITH(solver.minimize(problem, outside),
                    Catch::Contains("test column 99 is outside the problem's 80 columns"));
  dladmm::ForwardWorkspace<double> ws;
  CHECK_THROWS_WITH(
      problem.network().evaluate_columns(problem.loss(), c.x, c.y, {3, 2}, ws, problem.layer_map()),
      Catch::Contains("sorted, distinct"));
}

TEMPLATE_TEST_CASE("validation and test figures of a graph run", "[graph]", float, double) {
  using Scalar = TestType;
  const auto c = make_graph_case<Scalar>(120, 12, 3, 30, 9);
  auto problem = make_problem(c);
  const std::vector<Index> validation(c.others.begin(), c.others.begin() + 40),
      test(c.others.begin() + 40, c.others.end());
  dladmm::Param<Scalar> param;
  param.rho = Scalar(1e-2);
  param.rho_schedule = dladmm::RhoSchedule::Fixed;
  param.max_iterations = 30;
  dladmm::Solver<GraphProblem<Scalar>> solver(param);
  dladmm::EvaluateColumns<Scalar> evaluate(validation, test);
  dladmm::History history;
  solver.minimize(problem, evaluate, history);
  const auto& last = history.rows.back();
  // The figures are those of the columns named, from a forward pass over the whole graph.
  const Matrix<Scalar> out = problem.network().forward(c.x, problem.layer_map());
  auto accuracy = [&](const std::vector<Index>& columns) {
    Index right = 0;
    for (Index j : columns) {
      Index predicted = 0, target = 0;
      out.col(j).maxCoeff(&predicted);
      c.y.col(j).maxCoeff(&target);
      right += predicted == target;
    }
    return double(right) / double(columns.size());
  };
  CHECK(last.val_accuracy == Approx(accuracy(validation)));
  CHECK(last.test_accuracy == Approx(accuracy(test)));
  CHECK(last.train_accuracy == Approx(accuracy(c.labelled)));
  CHECK(last.train_accuracy >= 0.9);  // the well-separated classes are learnt
  CHECK(last.test_accuracy >= 0.8);
  std::ostringstream csv;
  history.write_csv(csv);
  CHECK(csv.str().substr(0, csv.str().find('\n')).find(",val_loss,val_accuracy") !=
        std::string::npos);
}

TEST_CASE("a graph run resumes bit for bit; another graph or labelled set is refused", "[graph]") {
  using Scalar = float;
  const auto c = make_graph_case<Scalar>(120, 12, 3, 30, 9);
  const std::vector<Index> validation(c.others.begin(), c.others.begin() + 40), test;
  auto param = descent_param<Scalar>(Scalar(1e-2), 12);
  param.rho_schedule = dladmm::RhoSchedule::Step;
  param.rho_step_every = 4;
  param.product_refresh_every = 5;
  auto whole = make_problem(c);
  dladmm::Solver<GraphProblem<Scalar>> whole_solver(param);
  dladmm::EvaluateColumns<Scalar> whole_evaluate(validation, test);
  dladmm::History whole_history;
  whole_solver.minimize(whole, whole_evaluate, whole_history);

  std::stringstream saved;
  {
    auto first = make_problem(c);
    auto first_param = param;
    first_param.max_iterations = 7;
    dladmm::Solver<GraphProblem<Scalar>> solver(first_param);
    dladmm::EvaluateColumns<Scalar> evaluate(validation, test);
    dladmm::History history;
    solver.minimize(first, evaluate, history);
    dladmm::save_checkpoint(saved, "graph.ckpt", solver, &history.rows);
  }
  auto resumed = make_problem(c);
  dladmm::Solver<GraphProblem<Scalar>> solver;
  solver.set_max_iterations(12);
  dladmm::History history;
  dladmm::load_checkpoint(saved, "graph.ckpt", resumed, solver, &history.rows);
  dladmm::EvaluateColumns<Scalar> evaluate(validation, test);
  solver.run(evaluate, history);
  REQUIRE(history.rows.size() == 12);
  CHECK(!std::isnan(history.rows[3].val_accuracy));  // the saved rows keep their figures
  CHECK(csv_without_time(history) == csv_without_time(whole_history));
  require_same_state(resumed, whole);

  // The fingerprint covers the graph and the labelled columns, not only X and Y.
  auto other_labels = make_problem(c);
  other_labels.set_loss_columns({c.labelled.begin(), c.labelled.end() - 1});
  auto other_graph_case = c;
  other_graph_case.s = make_graph_case<Scalar>(120, 12, 3, 30, 10).s;
  auto other_graph = make_problem(other_graph_case);
  for (auto* problem : {&other_labels, &other_graph}) {
    saved.clear();
    dladmm::Solver<GraphProblem<Scalar>> refused;
    CHECK_THROWS_WITH(dladmm::load_checkpoint(saved, "graph.ckpt", *problem, refused),
                      Catch::Contains("graph.ckpt: taken on different training data"));
  }
}
