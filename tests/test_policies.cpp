// The two policies of a Problem: the layer map (DenseMap, SparsePropagation) and the sample
// reduction (LocalSamples); the model apart from the training state; the layering of the headers.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <cmath>
#include <random>
#include <sstream>
#include <type_traits>
#include <vector>

#include "random_matrix.hpp"
#include "same_run.hpp"

using dladmm::Index;
using dladmm::Matrix;
namespace detail = dladmm::detail;

namespace {

template <typename Scalar>
Eigen::SparseMatrix<Scalar> sparse_identity(Index n) {
  Eigen::SparseMatrix<Scalar> s(n, n);
  s.setIdentity();
  return s;
}

// A random sparse N x N matrix with about `per_column` entries per column and a unit diagonal.
template <typename Scalar>
Eigen::SparseMatrix<Scalar> random_sparse(Index n, int per_column, std::mt19937_64& rng) {
  std::vector<Eigen::Triplet<Scalar>> entries;
  std::uniform_int_distribution<Index> row(0, n - 1);
  std::uniform_real_distribution<double> value(-0.5, 0.5);
  for (Index j = 0; j < n; ++j) {
    entries.emplace_back(j, j, Scalar(1));
    for (int k = 0; k < per_column; ++k) entries.emplace_back(row(rng), j, Scalar(value(rng)));
  }
  Eigen::SparseMatrix<Scalar> s(n, n);
  s.setFromTriplets(entries.begin(), entries.end());
  return s;
}

// The sample reduction of a process whose samples are `copies` identical copies of its own:
// every sum over samples is `copies` times the local one. A problem with it must behave as one
// holding the copies side by side, which holds only if every sum over samples goes through the
// reduction and no sum over parameters does.
struct ReplicatedSamples : dladmm::SampleReductionBase<ReplicatedSamples> {
  int copies = 2;
  void sum(double* values, Index count) const {
    for (Index i = 0; i < count; ++i) values[i] *= copies;
  }
  double sum(double partial) const { return partial * copies; }
  template <typename Derived>
  void sum_entries(Eigen::PlainObjectBase<Derived>& partial) const {
    partial *= typename Derived::Scalar(copies);
  }
  bool all(bool local) const { return local; }
  Index total_samples(Index local) const { return local * copies; }
};

}  // namespace

TEMPLATE_TEST_CASE("S = I as a sparse layer map gives the dense map's results bit for bit",
                   "[policies]", float, double) {
  using Scalar = TestType;
  const auto data = dladmm::make_synthetic<Scalar>(10, 4, 300, 3);
  using Dense = dladmm::Problem<Scalar>;
  using Sparse = dladmm::Problem<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy,
                                 dladmm::SparsePropagation<Scalar>>;
  Dense dense(data.x, data.one_hot(), {16, 12});
  Sparse sparse(data.x, data.one_hot(), {16, 12}, {}, {},
                dladmm::SparsePropagation<Scalar>(sparse_identity<Scalar>(300)));
  dladmm::Param<Scalar> param;
  param.rho = Scalar(1e-2);
  param.rho_schedule = dladmm::RhoSchedule::Step;
  param.rho_step_every = 4;
  param.rho_max = Scalar(10);
  param.product_refresh_every = 5;
  param.max_iterations = 12;
  require_same_run(dense, sparse, param, [&](const auto& dense_solver, const auto& sparse_solver) {
    for (Index l = 0; l < dense.network().num_layers(); ++l)
      CHECK(dense_solver.product(l) == sparse_solver.product(l));
  });
  CHECK(dense.network().forward(data.x) == sparse.network().forward(data.x, sparse.layer_map()));
}

TEST_CASE("a sparse layer map refuses the exact solver and wrong sizes", "[policies]") {
  const auto data = dladmm::make_synthetic<double>(6, 3, 40, 1);
  using Sparse = dladmm::Problem<double, dladmm::Relu, dladmm::SoftmaxCrossEntropy,
                                 dladmm::SparsePropagation<double>>;
  CHECK_THROWS_WITH(Sparse(data.x, data.one_hot(), {5}, {}, {},
                           dladmm::SparsePropagation<double>(sparse_identity<double>(39))),
                    Catch::Contains("40 samples, but the propagation matrix S is 39 x 39"));
  CHECK_THROWS_WITH(dladmm::SparsePropagation<double>(Eigen::SparseMatrix<double>(4, 5)),
                    Catch::Contains("must be square"));
  Sparse problem(data.x, data.one_hot(), {5}, {}, {},
                 dladmm::SparsePropagation<double>(sparse_identity<double>(40)));
  dladmm::Param<double> param;
  param.solver = dladmm::SubproblemSolver::Exact;
  dladmm::Solver<Sparse> solver(param);
  CHECK_THROWS_WITH(solver.init(problem), Catch::Contains("solver Exact"));
}

TEMPLATE_TEST_CASE("the a step through a sparse map satisfies the backtracking condition",
                   "[policies]", float, double) {
  using Scalar = TestType;
  std::mt19937_64 rng(21);
  const dladmm::Relu f;
  const Index n = 7, next = 5, N = 60;
  const dladmm::SparsePropagation<Scalar> map(random_sparse<Scalar>(N, 3, rng));
  const Eigen::SparseMatrix<Scalar>& S = map.matrix();
  const double slack = std::is_same<Scalar, float>::value ? 1e-4 : 1e-10;
  for (Scalar beta : {Scalar(1e-2), Scalar(1), Scalar(20)}) {
    const Scalar nu = Scalar(0.5);
    const Matrix<Scalar> W = random_matrix<Scalar>(next, n, rng),
                         T = random_matrix<Scalar>(next, N, rng);
    const Matrix<Scalar> z = random_matrix<Scalar>(n, N, rng),
                         a0 = random_matrix<Scalar>(n, N, rng);
    const Matrix<Scalar> fz = z.unaryExpr(f);
    auto g = [&](const Matrix<Scalar>& a) {
      const Matrix<Scalar> was = W * a * S;
      return 0.5 * double(beta) * double((T - was).squaredNorm()) +
             0.5 * double(nu) * double((a - fz).squaredNorm());
    };
    // The gradient by the formula of ALGORITHM.md §7, independent of the map's code.
    const Matrix<Scalar> WaS = W * a0 * S;
    const Matrix<Scalar> G =
        beta * W.transpose() * (WaS - T) * Matrix<Scalar>(S.transpose()) + nu * (a0 - fz);
    Matrix<Scalar> a = a0, product = WaS, residual = T - product, grad(n, N), scratch(next, N);
    const detail::Backtracking<Scalar> bt{Scalar(1e-2), Scalar(2), 60};
    const auto report = detail::activation_step_quadratic(
        a, W, residual, product, z, f, grad, beta, nu, bt, map, scratch, dladmm::LocalSamples());
    REQUIRE_FALSE(report.hit_cap);
    const double c = double(bt.initial) * std::pow(2.0, report.backtracks);
    INFO("beta " << beta << " c " << c);
    CHECK((grad - G).norm() <= Scalar(slack * (1 + G.norm())));
    CHECK(g(a) <= g(a0) - double(G.squaredNorm()) / (2 * c) + slack * (1 + g(a0)));
    CHECK(g(a) <= g(a0));
    if (report.backtracks > 0) {  // the smallest accepted curvature
      const Matrix<Scalar> smaller = a0 - G / Scalar(c / 2);
      CHECK(g(smaller) > g(a0) - double(G.squaredNorm()) / c - slack * (1 + g(a0)));
    }
    const Matrix<Scalar> fresh = W * a * S;
    CHECK((product - fresh).norm() <= Scalar(slack * (1 + fresh.norm())));
  }
}

TEST_CASE("every sum over samples goes through the sample reduction", "[policies]") {
  // Two copies of 150 samples through ReplicatedSamples, against the 300 columns side by side.
  const auto data = dladmm::make_synthetic<double>(10, 4, 150, 5);
  const Matrix<double> y = data.one_hot();
  Matrix<double> x2(data.x.rows(), 300), y2(y.rows(), 300);
  x2 << data.x, data.x;
  y2 << y, y;
  using Replicated = dladmm::Problem<double, dladmm::Relu, dladmm::SoftmaxCrossEntropy,
                                     dladmm::DenseMap, ReplicatedSamples>;
  for (auto solver_kind : {dladmm::SubproblemSolver::Quadratic, dladmm::SubproblemSolver::Exact}) {
    INFO("solver " << int(solver_kind));
    Replicated halves(data.x, y, {16, 12});
    dladmm::Problem<double> whole(x2, y2, {16, 12});
    dladmm::Param<double> param;
    param.rho = 1e-2;
    param.rho_schedule = dladmm::RhoSchedule::Step;
    param.rho_step_every = 3;
    param.rho_max = 10;
    param.solver = solver_kind;
    param.max_iterations = 9;
    dladmm::Solver<Replicated> halves_solver(param);
    dladmm::Solver<dladmm::Problem<double>> whole_solver(param);
    dladmm::History halves_history, whole_history;
    halves_solver.minimize(halves, halves_history);
    whole_solver.minimize(whole, whole_history);
    REQUIRE(halves_history.rows.size() == whole_history.rows.size());
    for (std::size_t k = 0; k < whole_history.rows.size(); ++k) {
      const auto &h = halves_history.rows[k], &w = whole_history.rows[k];
      INFO("iteration " << w.iteration);
      CHECK(h.objective == Approx(w.objective).epsilon(1e-9));
      CHECK(h.primal_residual == Approx(w.primal_residual).epsilon(1e-9));
      CHECK(h.dual_residual == Approx(w.dual_residual).epsilon(1e-9).margin(1e-12));
      CHECK(h.train_loss == Approx(w.train_loss).epsilon(1e-9));
      CHECK(h.train_accuracy == w.train_accuracy);
      CHECK(h.weight_backtracks == w.weight_backtracks);
      CHECK(h.activation_backtracks == w.activation_backtracks);
      CHECK(h.fista_iterations == w.fista_iterations);
    }
    for (Index l = 0; l < whole.network().num_layers(); ++l) {
      const auto &hw = halves.network().layer(l).W, &ww = whole.network().layer(l).W;
      CHECK((hw - ww).norm() <= 1e-9 * (1 + ww.norm()));
      const auto &hb = halves.network().layer(l).b, &wb = whole.network().layer(l).b;
      CHECK((hb - wb).norm() <= 1e-9 * (1 + wb.norm()));
    }
  }
}

TEST_CASE("the model is apart from the training state", "[policies]") {
  // The model holds W and b only: its size does not grow with the samples.
  static_assert(
      sizeof(dladmm::Layer<float>) == sizeof(dladmm::Matrix<float>) + sizeof(dladmm::Vector<float>),
      "Layer holds W and b only");
  const auto data = dladmm::make_synthetic<float>(10, 4, 500, 3);
  dladmm::Problem<float> problem(data.x, data.one_hot(), {8});
  CHECK(problem.state().layer(0).z.cols() == 500);
  CHECK(problem.state().layer(0).a.cols() == 500);
  CHECK(problem.state().layer(1).a.size() == 0);
  CHECK(problem.u().rows() == 4);
  // A copy of the network is the model alone and predicts as the problem's does.
  dladmm::Solver<dladmm::Problem<float>> solver;
  solver.set_max_iterations(3);
  solver.minimize(problem);
  const dladmm::Network<float> model = problem.network();
  CHECK(model.predict(data.x) == problem.network().predict(data.x));
}

TEST_CASE("Evaluate refuses temporaries it would keep references to", "[policies]") {
  using Eval = dladmm::Evaluate<double>;
  static_assert(std::is_constructible<Eval, const Matrix<double>&, const Matrix<double>&>::value,
                "named matrices are taken");
  static_assert(!std::is_constructible<Eval, Matrix<double>, const Matrix<double>&>::value,
                "a temporary input would dangle");
  static_assert(!std::is_constructible<Eval, const Matrix<double>&, Matrix<double>>::value,
                "a temporary target would dangle");
  static_assert(!std::is_constructible<Eval, Matrix<double>, Matrix<double>, int>::value,
                "temporaries would dangle");
  const Matrix<double> x(3, 4), y(2, 5);
  CHECK_THROWS_WITH(Eval(x, y), Catch::Contains("4 samples but 5 target columns"));
}

TEST_CASE("Result separates the run's iteration count from this call's figures", "[policies]") {
  const auto data = dladmm::make_synthetic<double>(10, 4, 120, 3);
  dladmm::Problem<double> problem(data.x, data.one_hot(), {8});
  dladmm::Param<double> param;
  param.max_iterations = 4;
  param.theta = param.tau = 1e-20;  // every step hits the backtracking cap
  param.max_backtracks = 1;
  dladmm::Solver<dladmm::Problem<double>> solver(param);
  const dladmm::Result first = solver.minimize(problem);
  CHECK(first.iterations == 4);
  CHECK(first.iterations_this_call == 4);
  REQUIRE(first.backtrack_cap_hits > 0);
  solver.set_max_iterations(6);
  const dladmm::Result second = solver.run();
  CHECK(second.iterations == 6);
  CHECK(second.iterations_this_call == 2);
  // Cap hits and seconds cover this call: two iterations hit as often as two of the first four.
  CHECK(second.backtrack_cap_hits < first.backtrack_cap_hits);
  std::ostringstream out;
  dladmm::PrintProgress(out).end(solver, second);
  CHECK(out.str().find("6 iterations (2 in this run)") != std::string::npos);
}
