// The whole iteration: descent, residuals, dual identity, accuracy, determinism, errors.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "descent.hpp"

using dladmm::Index;
using dladmm::Matrix;

namespace {

template <typename Scalar, typename Activation = dladmm::Relu,
          typename Loss = dladmm::SoftmaxCrossEntropy>
dladmm::Problem<Scalar, Activation, Loss> small_problem(std::vector<Index> hidden = {16, 12},
                                                        Index samples = 120,
                                                        std::uint64_t seed = 2) {
  const auto data = dladmm::make_synthetic<Scalar>(10, 4, samples, seed);
  return dladmm::Problem<Scalar, Activation, Loss>(data.x, data.one_hot(), hidden);
}

}  // namespace

TEMPLATE_TEST_CASE("augmented Lagrangian descends for rho = nu > 2H (cross-entropy)", "[solver]",
                   float, double) {
  check_sufficient_descent(small_problem<TestType>(), TestType(2));
  check_sufficient_descent(small_problem<TestType>({12, 10, 8}), TestType(2));
}

TEMPLATE_TEST_CASE("augmented Lagrangian descends for rho = nu > 2H (leaky ReLU and squared error)",
                   "[solver]", float, double) {
  check_sufficient_descent(
      small_problem<TestType, dladmm::LeakyRelu, dladmm::SoftmaxCrossEntropy>(), TestType(2));
  check_sufficient_descent(small_problem<TestType, dladmm::Relu, dladmm::SquaredError>(),
                           TestType(3));
}

TEMPLATE_TEST_CASE("after each dual update u = Y - softmax(z_L)", "[solver]", float, double) {
  using Scalar = TestType;
  auto problem = small_problem<Scalar>();
  auto param = descent_param<Scalar>(Scalar(1));
  param.fista_tolerance = 0;  // run FISTA to its cap: z_L solved to round-off
  param.fista_max_iterations = 3000;
  // With over-relaxation the identity holds only if the dual step uses the very point the
  // forward pass's z_L step was relaxed to: it fails if either uses another.
  SECTION("Algorithm 1") {}
  SECTION("over-relaxed, alpha = 1.6") { param.relaxation = Scalar(1.6); }
  SECTION("under-relaxed, alpha = 0.5") { param.relaxation = Scalar(0.5); }
  dladmm::Solver<decltype(problem)> solver(param);
  solver.init(problem);
  const double tol = std::is_same<Scalar, float>::value ? 1e-4 : 1e-9;
  for (int k = 0; k < 5; ++k) {
    solver.step();
    const auto& z = problem.state().layers.back().z;
    Matrix<Scalar> grad;
    problem.loss().template gradient<Scalar>(z, problem.y(), grad);
    CHECK((problem.u() + grad).cwiseAbs().maxCoeff() <= tol);
  }
}

TEMPLATE_TEST_CASE("kept products stay equal to W a", "[solver]", float, double) {
  using Scalar = TestType;
  auto problem = small_problem<Scalar>({20, 20});
  dladmm::Param<Scalar> param;
  param.product_refresh_every = 1000;  // only incremental updates
  SECTION("Algorithm 1") {}
  SECTION("the backward pass alone") { param.sweep = dladmm::Sweep::Backward; }
  dladmm::Solver<decltype(problem)> solver(param);
  solver.init(problem);
  for (int k = 0; k < 15; ++k) solver.step();
  const double tol = std::is_same<Scalar, float>::value ? 1e-4 : 1e-11;
  for (Index l = 0; l < problem.network().num_layers(); ++l) {
    const Matrix<Scalar> fresh = problem.network().layer(l).W * problem.input(l);
    CHECK((solver.product(l) - fresh).norm() <= Scalar(tol * (1 + fresh.norm())));
  }
}

TEMPLATE_TEST_CASE("a small synthetic problem reaches 90% training accuracy", "[solver]", float,
                   double) {
  using Scalar = TestType;
  const auto data = dladmm::make_synthetic<Scalar>(20, 5, 1000, 1);
  dladmm::Problem<Scalar> problem(data.x, data.one_hot(), {64, 64});
  dladmm::Param<Scalar> param;
  param.rho = 1;
  param.rho_schedule = dladmm::RhoSchedule::Fixed;
  param.max_iterations = 60;
  SECTION("Algorithm 1") {}
  SECTION("the backward pass alone") { param.sweep = dladmm::Sweep::Backward; }
  SECTION("over-relaxed") { param.relaxation = Scalar(1.6); }
  dladmm::Solver<dladmm::Problem<Scalar>> solver(param);
  const auto result = solver.minimize(problem);
  CHECK(result.status != dladmm::Status::NumericalIssue);
  CHECK(problem.network().accuracy(data.x, data.labels) >= 0.9);
  CHECK(result.last.train_accuracy == Approx(problem.network().accuracy(data.x, data.labels)));
}

TEMPLATE_TEST_CASE("the same seed gives bit-identical runs", "[solver]", float, double) {
  using Scalar = TestType;
  auto run = [](std::uint64_t seed) {
    auto problem = small_problem<Scalar>();
    dladmm::Param<Scalar> param;
    param.seed = seed;
    param.max_iterations = 8;
    dladmm::Solver<decltype(problem)> solver(param);
    dladmm::History history;
    solver.minimize(problem, history);
    std::ostringstream csv;
    for (auto& row : history.rows) row.seconds = 0;
    history.write_csv(csv);
    return std::make_pair(problem, csv.str());
  };
  const auto [first, first_csv] = run(5);
  const auto [second, second_csv] = run(5);
  const auto [other, other_csv] = run(6);
  CHECK(first_csv == second_csv);
  CHECK(first_csv != other_csv);
  for (Index l = 0; l < first.network().num_layers(); ++l) {
    CHECK(first.network().layer(l).W == second.network().layer(l).W);
    CHECK(first.state().layer(l).z == second.state().layer(l).z);
    CHECK(first.network().layer(l).W != other.network().layer(l).W);
  }
  CHECK(first.u() == second.u());
}

TEST_CASE("every invalid Param field throws naming the field", "[solver]") {
  using P = dladmm::Param<double>;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<const char*, std::function<void(P&)>>> cases = {
      {"rho", [](P& p) { p.rho = 0; }},
      {"rho", [&](P& p) { p.rho = nan; }},
      {"nu", [](P& p) { p.nu = -1; }},
      {"theta", [](P& p) { p.theta = 0; }},
      {"tau", [](P& p) { p.tau = -2; }},
      {"backtrack_factor", [](P& p) { p.backtrack_factor = 1; }},
      {"max_backtracks", [](P& p) { p.max_backtracks = 0; }},
      {"max_backtracks", [](P& p) { p.max_backtracks = 5000; }},
      {"fista_step", [](P& p) { p.fista_step = 0; }},
      {"fista_max_iterations", [](P& p) { p.fista_max_iterations = 0; }},
      {"fista_tolerance", [](P& p) { p.fista_tolerance = -1; }},
      {"max_iterations", [](P& p) { p.max_iterations = 0; }},
      {"primal_tolerance", [](P& p) { p.primal_tolerance = -1; }},
      {"dual_tolerance", [&](P& p) { p.dual_tolerance = nan; }},
      {"product_refresh_every", [](P& p) { p.product_refresh_every = 0; }},
      {"init_stddev", [](P& p) { p.init_stddev = 0; }},
      {"lambda", [](P& p) { p.lambda = -1; }},
      {"regularization",
       [](P& p) {
         p.solver = dladmm::SubproblemSolver::Exact;
         p.regularization = dladmm::Regularization::L1;
       }},
      {"rho_step_every", [](P& p) { p.rho_step_every = 0; }},
      {"rho_factor", [](P& p) { p.rho_factor = 1; }},
      {"rho_max", [](P& p) { p.rho_max = 1e-9; }},
      {"rho_patience", [](P& p) { p.rho_patience = 0; }},
      {"curvature_scale_min_width", [](P& p) { p.curvature_scale_min_width = -1; }},
      {"relaxation", [](P& p) { p.relaxation = 0; }},
      {"relaxation", [](P& p) { p.relaxation = 2; }},
      {"relaxation", [&](P& p) { p.relaxation = nan; }},
      {"rho_min", [](P& p) { p.rho_min = 0; }},
      {"rho_min",
       [](P& p) {
         p.rho_schedule = dladmm::RhoSchedule::Balanced;
         p.rho_min = 2 * p.rho;
       }},
      {"relaxation",
       [](P& p) {
         p.sweep = dladmm::Sweep::Backward;
         p.relaxation = 1.5;
       }},
      {"balance_ratio", [](P& p) { p.balance_ratio = 1; }},
      {"balance_until", [](P& p) { p.balance_until = -1; }},
  };
  CHECK_NOTHROW(P().check());
  for (const auto& [field, breaks] : cases) {
    P p;
    breaks(p);
    INFO("field " << field);
    CHECK_THROWS_WITH(p.check(), Catch::Contains(field));
    CHECK_THROWS_AS(p.check(), std::invalid_argument);
  }
  // A Fixed schedule ignores rho_max.
  P fixed;
  fixed.rho_schedule = dladmm::RhoSchedule::Fixed;
  fixed.rho = 5;
  CHECK_NOTHROW(fixed.check());
  // The solver checks at init().
  auto problem = small_problem<double>();
  P bad;
  bad.tau = 0;
  dladmm::Solver<decltype(problem)> solver(bad);
  CHECK_THROWS_WITH(solver.minimize(problem), Catch::Contains("tau"));
}

TEMPLATE_TEST_CASE("NaN or Inf in the data ends the run with NumericalIssue", "[solver]", float,
                   double) {
  using Scalar = TestType;
  for (Scalar poison :
       {std::numeric_limits<Scalar>::quiet_NaN(), std::numeric_limits<Scalar>::infinity()}) {
    auto data = dladmm::make_synthetic<Scalar>(10, 3, 50, 1);
    data.x(3, 7) = poison;
    dladmm::Problem<Scalar> problem(data.x, data.one_hot(), {8});
    dladmm::Solver<dladmm::Problem<Scalar>> solver;
    const auto result = solver.minimize(problem);
    CHECK(result.status == dladmm::Status::NumericalIssue);
    CHECK(result.iterations == 0);
  }
}

TEMPLATE_TEST_CASE("an absurd rho ends with NumericalIssue and no crash", "[solver]", float,
                   double) {
  using Scalar = TestType;
  auto problem = small_problem<Scalar>();
  dladmm::Param<Scalar> param;
  param.rho = std::numeric_limits<Scalar>::max() / 4;
  param.rho_schedule = dladmm::RhoSchedule::Fixed;
  param.max_iterations = 5;
  dladmm::Solver<decltype(problem)> solver(param);
  const auto result = solver.minimize(problem);
  CHECK(result.status == dladmm::Status::NumericalIssue);
}

TEST_CASE("mismatched dimensions throw with a clear message", "[solver]") {
  const Matrix<double> x = Matrix<double>::Ones(4, 10), y = Matrix<double>::Ones(3, 9);
  CHECK_THROWS_WITH((dladmm::Problem<double>(x, y, {5})),
                    Catch::Contains("10 input samples but 9 target columns") &&
                        Catch::Contains("features x samples"));
  CHECK_THROWS_AS((dladmm::Problem<double>(x, Matrix<double>::Ones(3, 10), {})),
                  std::invalid_argument);
  CHECK_THROWS_WITH((dladmm::Problem<double>(x, Matrix<double>::Ones(3, 10), {5, 0})),
                    Catch::Contains("hidden layer 2"));
  CHECK_THROWS_AS((dladmm::Problem<double>(Matrix<double>(0, 0), Matrix<double>(3, 0), {5})),
                  std::invalid_argument);
  dladmm::Problem<double> problem(x, Matrix<double>::Ones(3, 10), {5});
  CHECK_THROWS_WITH(problem.network().forward(Matrix<double>::Ones(5, 2)),
                    Catch::Contains("input has 5 rows, the network expects 4"));
  CHECK_THROWS_AS(problem.network().accuracy(x, dladmm::Labels::Zero(3)), std::invalid_argument);
  CHECK_THROWS_AS(dladmm::Evaluate<double>(x, y), std::invalid_argument);
}

TEMPLATE_TEST_CASE("step schedule and reference rule raise rho as specified", "[solver]", float,
                   double) {
  using Scalar = TestType;
  dladmm::Param<Scalar> p;
  p.rho_schedule = dladmm::RhoSchedule::Step;
  p.rho = Scalar(1e-4);
  p.rho_step_every = 3;
  p.rho_factor = 10;
  p.rho_max = Scalar(1e-2);
  dladmm::RhoScheduler<Scalar> step(p.schedule_settings(100));
  std::vector<Scalar> seen;
  for (int k = 1; k <= 9; ++k) {
    step.update(k, 0);
    seen.push_back(step.rho);
  }
  CHECK(seen[1] == Scalar(1e-4));
  CHECK(seen[2] == Approx(1e-3));
  CHECK(seen[5] == Approx(1e-2));
  CHECK(seen[8] == Approx(1e-2));  // capped

  p.rho_schedule = dladmm::RhoSchedule::Reference;
  p.rho = Scalar(1e-6);
  p.rho_max = Scalar(0.1);
  dladmm::RhoScheduler<Scalar> wide(p.schedule_settings(100)), narrow(p.schedule_settings(50));
  for (double loss : {1.0, 0.9, 0.95, 0.97}) {  // two rises: not yet
    wide.update(0, loss);
    narrow.update(0, loss);
  }
  CHECK(wide.rho == Scalar(1e-6));
  wide.update(0, 0.99);  // third rise in a row
  narrow.update(0, 0.99);
  CHECK(wide.rho == Approx(1e-5));
  CHECK(wide.theta == Approx(10));
  CHECK(wide.tau == Approx(10));
  CHECK(narrow.rho == Approx(1e-5));
  CHECK(narrow.theta == Scalar(1));  // below the width threshold
}

TEST_CASE("the presets: paper() is the defaults, fast() the backward sweep on them", "[solver]") {
  using P = dladmm::Param<float>;
  CHECK(dladmm::first_param_difference(P::paper(), P()).empty());
  P fast = P::fast();
  CHECK_NOTHROW(fast.check());
  CHECK(fast.sweep == dladmm::Sweep::Backward);
  CHECK(dladmm::first_param_difference(fast, P()) == "sweep");
  fast.sweep = dladmm::Sweep::BackwardForward;
  CHECK(dladmm::first_param_difference(fast, P()).empty());
}

TEMPLATE_TEST_CASE("balanced schedule moves rho toward balanced residuals, within its bounds",
                   "[solver]", float, double) {
  using Scalar = TestType;
  dladmm::Param<Scalar> p;
  p.rho_schedule = dladmm::RhoSchedule::Balanced;
  p.rho = Scalar(1e-4);
  p.rho_factor = 2;
  p.rho_min = Scalar(2.5e-5);
  p.rho_max = Scalar(4e-4);
  p.theta = p.tau = Scalar(1);
  dladmm::RhoScheduler<Scalar> s(p.schedule_settings(100));
  CHECK_FALSE(s.needs_training_loss());
  CHECK_FALSE(s.update(1, 0, 10, 2));  // ratio 5 < 10: balanced enough
  CHECK(s.rho == Scalar(1e-4));
  CHECK(s.update(2, 0, 100, 1));  // primal 100 times the dual: rho doubles, theta and tau too
  CHECK(s.rho == Approx(2e-4));
  CHECK(s.theta == Approx(2));
  CHECK(s.tau == Approx(2));
  CHECK(s.update(3, 0, 100, 1));
  CHECK_FALSE(s.update(4, 0, 100, 1));  // at rho_max
  CHECK(s.rho == Approx(4e-4));
  for (int k = 5; k <= 8; ++k) s.update(k, 0, 1, 100);  // the dual dominates: halve, to rho_min
  CHECK(s.rho == Approx(2.5e-5));
  CHECK(s.theta == Approx(0.25));

  dladmm::RhoScheduler<Scalar> narrow(p.schedule_settings(50));  // below the width threshold
  narrow.update(1, 0, 100, 1);
  CHECK(narrow.rho == Approx(2e-4));
  CHECK(narrow.theta == Scalar(1));

  p.balance_until = 2;  // frozen from iteration 3 on: the tail is ADMM with a fixed penalty
  dladmm::RhoScheduler<Scalar> frozen(p.schedule_settings(100));
  CHECK(frozen.update(2, 0, 100, 1));
  CHECK_FALSE(frozen.update(3, 0, 100, 1));
  CHECK(frozen.rho == Approx(2e-4));
}

TEMPLATE_TEST_CASE("callbacks see every iteration and can stop the run", "[solver]", float,
                   double) {
  using Scalar = TestType;
  auto problem = small_problem<Scalar>();
  struct StopAtThree {
    int begun = 0, seen = 0, ended = 0;
    void begin(const dladmm::Solver<dladmm::Problem<Scalar>>&) { ++begun; }
    bool iteration(const dladmm::Solver<dladmm::Problem<Scalar>>&, dladmm::IterationInfo& info) {
      ++seen;
      return info.iteration == 3;
    }
    void end(const dladmm::Solver<dladmm::Problem<Scalar>>&, const dladmm::Result&) { ++ended; }
  } stop;
  dladmm::History history;
  std::ostringstream printed;
  dladmm::PrintProgress print(printed);
  dladmm::Solver<dladmm::Problem<Scalar>> solver;
  const auto result = solver.minimize(problem, history, stop, print);
  CHECK(result.status == dladmm::Status::StoppedByCallback);
  CHECK(result.iterations == 3);
  CHECK(stop.begun == 1);
  CHECK(stop.seen == 3);
  CHECK(stop.ended == 1);
  CHECK(history.rows.size() == 3);
  CHECK(printed.str().find("stopped_by_callback") != std::string::npos);
  // The iteration limit.
  dladmm::Param<Scalar> param;
  param.max_iterations = 4;
  dladmm::Solver<dladmm::Problem<Scalar>> limited(param);
  CHECK(limited.minimize(problem).status == dladmm::Status::IterationLimit);
  CHECK(limited.iteration() == 4);
}

TEMPLATE_TEST_CASE("the exact solver runs the same sweep", "[solver]", float, double) {
  using Scalar = TestType;
  auto problem = small_problem<Scalar>();
  auto param = descent_param<Scalar>(Scalar(2));
  param.solver = dladmm::SubproblemSolver::Exact;
  param.max_iterations = 15;
  dladmm::Solver<decltype(problem)> solver(param);
  dladmm::History history;
  const auto result = solver.minimize(problem, history);
  CHECK(result.status == dladmm::Status::IterationLimit);
  const double tol = std::is_same<Scalar, float>::value ? 1e-4 : 1e-9;
  for (std::size_t k = 1; k < history.rows.size(); ++k)
    CHECK(history.rows[k].objective <=
          history.rows[k - 1].objective + tol * (1 + std::abs(history.rows[k - 1].objective)));
}

namespace {

dladmm::Problem<double> usage_problem() {
  const auto data = dladmm::make_synthetic<double>(8, 3, 150, 6);
  return dladmm::Problem<double>(data.x, data.one_hot(), {10});
}

}  // namespace

TEST_CASE("predict_proba gives each column's softmax", "[solver]") {
  auto problem = usage_problem();
  dladmm::Solver<dladmm::Problem<double>> solver;
  solver.set_max_iterations(5);
  solver.minimize(problem);
  const auto& net = problem.network();
  const Matrix<double> logits = net.forward(problem.x());
  const Matrix<double> proba = net.predict_proba(problem.x());
  const dladmm::Labels labels = net.predict(problem.x());
  REQUIRE(proba.rows() == 3);
  REQUIRE(proba.cols() == problem.samples());
  for (Index j = 0; j < proba.cols(); ++j) {
    CHECK(std::abs(proba.col(j).sum() - 1.0) <= 1e-12);
    CHECK(proba.col(j).minCoeff() >= 0);
    Index best = 0;
    proba.col(j).maxCoeff(&best);
    CHECK(best == labels[j]);
    const Eigen::ArrayXd e = logits.col(j).array().exp();
    CHECK((proba.col(j).array() - e / e.sum()).abs().maxCoeff() <= 1e-12);
  }
}

TEST_CASE("a held-out set of the wrong width is refused before the first iteration", "[solver]") {
  auto problem = usage_problem();
  const auto other = dladmm::make_synthetic<double>(9, 3, 20, 1);  // 9 features, not 8
  const Matrix<double> x = other.x, y = other.one_hot();
  dladmm::Evaluate<double> evaluate(x, y);
  dladmm::Solver<dladmm::Problem<double>> solver;
  CHECK_THROWS_WITH(solver.minimize(problem, evaluate),
                    Catch::Contains("9 features") && Catch::Contains("takes 8 inputs"));
  CHECK(solver.iteration() == 0);
}
