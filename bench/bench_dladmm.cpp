// Google Benchmark suite of dladmm (docs/PERFORMANCE.md): every block update of one dlADMM
// iteration, the whole iteration (Solver::step) with the quadratic and the exact W/a solver, and
// the plain Eigen matrix product that is the yardstick of the "efficiency" counter. Built with
// oneDNN on a processor with bf16 (ALGORITHM.md §11), it adds the quadratic iteration with bf16
// products (BM_Iteration<float>/quadratic_bf16, its efficiency against the bf16 product) and
// that product itself (BM_ProductBf16<float>).
//
// Every benchmark works on the 784-w-w-10 network (Fashion-MNIST input, two hidden ReLU layers
// of width w, 10 classes, softmax cross-entropy) trained on N synthetic samples, and is named
//   BM_<Family><scalar>[/<variant>]/width:<w>/samples:<N>[/large]/manual_time
// e.g. BM_Iteration<float>/quadratic/width:1000/samples:10000/large/manual_time. The sizes are
// a smoke size (64, 256), the width sweep w = 256..4096 at N = 500 and the sample sweep
// N = 2,500..40,000 at w = 1000 (784-1000-1000-10 at 10,000 samples is the reference network).
// Sizes whose quadratic iteration exceeds 100 GFLOP carry "/large" (filter them out with
// --benchmark_filter=-/large).
//
// Counters of every benchmark (per timed iteration; see docs/PERFORMANCE.md):
//   flops       FLOPs counted from the shapes (the formulas are in namespace flop below);
//   GFLOPs      flops / time, the achieved rate (1e9 FLOP/s);
//   efficiency  GFLOPs over the rate of Eigen's C = A B with A w x w and B w x N (the product
//               shape that dominates an iteration) measured in this process: median of 5;
//   backtracks  curvature raises of the W and a steps;
//   threads     Eigen::nbThreads() (OMP_NUM_THREADS sets it).
// Time is manual: only the update itself is timed (the whole iteration uses
// IterationInfo::seconds, the updates without the metrics, as dladmm_train reports).
#include <benchmark/benchmark.h>

#include <dladmm/data/graph.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/detail/updates.hpp>
#include <dladmm/dladmm.hpp>
#include <dladmm/version.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using dladmm::Index;
using dladmm::Matrix;
using dladmm::SubproblemSolver;
using dladmm::Vector;
namespace detail = dladmm::detail;

constexpr Index kInputs = 784;        // n_0: Fashion-MNIST pixels
constexpr Index kClasses = 10;        // n_L
constexpr std::uint64_t kSeed = 1;    // synthetic data
constexpr double kLargeFlops = 1e11;  // sizes whose quadratic iteration is above this are "large"

/// \brief FLOP counts from the shapes. A multiply-add counts 2 FLOPs. Only the dense linear
/// algebra is counted (matrix products, Gram matrices, factorisations, triangular solves):
/// the elementwise work of a W or a step (coupling residual, sums of squares, the update itself)
/// is a few FLOPs per entry of an n x N matrix, a fraction ~1/n of its products, and is left
/// out. The blocks that are elementwise only (hidden z, b, dual, the FISTA z_L solve) get the
/// nominal per-entry counts below, so their GFLOP/s is comparable between sizes; they are
/// memory-bound, so their efficiency against a GEMM is small by nature.
namespace flop {

/// C (m x n) = A (m x k) B (k x n).
double gemm(double m, double k, double n) { return 2 * m * k * n; }

/// Quadratic W step of a layer with W n_out x n_in on N samples (detail::weight_step_quadratic,
/// no regulariser): the gradient beta R A^T and the step product G A, two products.
double weight_quadratic(double n_out, double n_in, double N) { return 2 * gemm(n_out, n_in, N); }

/// Exact W step (detail::weight_step_exact): the gradient R A^T (2 n_out n_in N), the Gram
/// matrix A A^T as a rank update of its lower triangle (n_in^2 N), its LDLT factorisation
/// (n_in^3 / 3), two triangular solves with n_out right-hand sides (2 n_in^2 n_out) and the
/// step product D A (2 n_out n_in N).
double weight_exact(double n_out, double n_in, double N) {
  return gemm(n_out, n_in, N) + n_in * n_in * N + n_in * n_in * n_in / 3 + 2 * n_in * n_in * n_out +
         gemm(n_out, n_in, N);
}

/// Quadratic a step of a layer of n units whose next layer has n_next units
/// (detail::activation_step_quadratic): the gradient W^T R and the step product W G.
double activation_quadratic(double n_next, double n, double N) { return 2 * gemm(n, n_next, N); }

/// Exact a step (detail::activation_step_exact): the gradient W^T R (2 n n_next N), the Gram
/// matrix W^T W as a rank update of its lower triangle (n^2 n_next), its LLT factorisation
/// (n^3 / 3), two triangular solves with N right-hand sides (2 n^2 N) and the product W D
/// (2 n_next n N).
double activation_exact(double n_next, double n, double N) {
  return gemm(n, n_next, N) + n * n * n_next + n * n * n / 3 + 2 * n * n * N + gemm(n_next, n, N);
}

/// Nominal FLOPs per entry of the elementwise blocks.
constexpr double kHiddenZPerEntry = 15;  // m = p + b; two candidates; two squared distances; pick
constexpr double kBiasPerEntry = 2;      // column sum of z - W a (hidden layer: no u)
constexpr double kDualPerEntry = 4;      // u += rho (z - (p + b))
constexpr double kTargetPerEntry = 3;    // m = p + b - u / rho, once per z_L solve
/// Per FISTA step and entry of z_L: softmax cross-entropy with its gradient (max, shift, exp,
/// sum, dot with y, normalise: 9), the proximal term (3), zeta (5) and the extrapolation (3).
constexpr double kFistaPerEntry = 20;

/// One Solver::step() on a network of layer sizes \p n (n_0..n_L) and \p N samples, without
/// the amortised product refresh and the FISTA steps (counted separately from what the solver
/// reports): every layer takes two W steps (backward and forward), every hidden layer two a
/// steps.
double iteration(const std::vector<Index>& n, double N, SubproblemSolver kind) {
  const bool exact = kind == SubproblemSolver::Exact;
  double total = 0;
  for (std::size_t l = 1; l < n.size(); ++l) {
    const double out = double(n[l]), in = double(n[l - 1]);
    total += 2 * (exact ? weight_exact(out, in, N) : weight_quadratic(out, in, N));
    if (l + 1 < n.size()) {
      const double next = double(n[l + 1]);
      total += 2 * (exact ? activation_exact(next, out, N) : activation_quadratic(next, out, N));
    }
  }
  return total;
}

/// The refresh of every kept product W_l a_{l-1} (every Param::product_refresh_every steps).
double refresh(const std::vector<Index>& n, double N) {
  double total = 0;
  for (std::size_t l = 1; l < n.size(); ++l) total += gemm(double(n[l]), double(n[l - 1]), N);
  return total;
}

/// \p steps FISTA steps on a C x N output.
double fista(double steps, double C, double N) { return kFistaPerEntry * steps * C * N; }

/// An n x N operand times the sparse S with \p nnz entries (the layer map of a GCN).
double sparse(double n, double nnz) { return 2 * n * nnz; }

/// One Solver::step() of a graph network (ALGORITHM.md §7.3), as iteration() but with the
/// products of the a steps through S: r S^T, W^T (r S^T), W G, (W G) S, then a S.
double graph_iteration(const std::vector<Index>& n, double N, double nnz) {
  double total = 0;
  for (std::size_t l = 1; l < n.size(); ++l) {
    const double out = double(n[l]), in = double(n[l - 1]);
    total += 2 * weight_quadratic(out, in, N);
    if (l + 1 < n.size()) {
      const double next = double(n[l + 1]);
      total += 2 * (activation_quadratic(next, out, N) + 2 * sparse(next, nnz) + sparse(out, nnz));
    }
  }
  return total;
}

}  // namespace flop

std::vector<Index> network_sizes(Index width) { return {kInputs, width, width, kClasses}; }

bool is_large(Index width, Index samples) {
  return flop::iteration(network_sizes(width), double(samples), SubproblemSolver::Quadratic) >
         kLargeFlops;
}

using Clock = std::chrono::steady_clock;

/// Wall time of f() in seconds.
template <typename F>
double timed(F&& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Totals of a timed benchmark loop.
struct LoopTotals {
  double seconds = 0;     ///< Wall time of every timed call.
  double backtracks = 0;  ///< Curvature raises reported by the calls (block steps).
};

/// Runs the benchmark loop timing f() by hand (manual time). If f returns a
/// detail::BlockReport, its backtracks are added up too.
template <typename F>
LoopTotals time_each(benchmark::State& state, F&& f) {
  LoopTotals totals;
  for (auto _ : state) {
    const double s = timed([&] {
      if constexpr (std::is_same<decltype(f()), detail::BlockReport>::value)
        totals.backtracks += f().backtracks;
      else
        f();
    });
    state.SetIterationTime(s);
    totals.seconds += s;
  }
  return totals;
}

#ifdef DLADMM_USE_OPENBLAS
extern "C" char* openblas_get_corename();
#endif

/// C.noalias() = A * B, Eigen's plain product on every thread. With DLADMM_USE_OPENBLAS it is
/// one OpenBLAS call, given the thread count for its duration (the library keeps OpenBLAS on one
/// thread per call and splits products itself).
template <typename Scalar>
void plain_product(Matrix<Scalar>& C, const Matrix<Scalar>& A, const Matrix<Scalar>& B) {
#ifdef DLADMM_USE_OPENBLAS
  dladmm::detail::use_one_blas_thread_per_call();
  openblas_set_num_threads(Eigen::nbThreads());
  C.noalias() = A * B;
  openblas_set_num_threads(1);
#else
  C.noalias() = A * B;
#endif
}

/// FLOP/s of \p product, \p flops FLOPs per call: median of 5 runs after a warm-up, a small
/// product repeated within a run so that the run lasts at least 20 ms.
template <typename F>
double median_rate(double flops, F&& product) {
  const double once = timed(product);  // warm-up
  const int repeat = int(std::clamp(std::ceil(2e-2 / std::max(once, 1e-9)), 1.0, 1e4));
  std::vector<double> seconds;
  for (int run = 0; run < 5; ++run)
    seconds.push_back(timed([&] {
                        for (int r = 0; r < repeat; ++r) product();
                      }) /
                      repeat);
  std::nth_element(seconds.begin(), seconds.begin() + 2, seconds.end());
  return flops / seconds[2];
}

/// FLOP/s of Eigen's C.noalias() = A * B with A m x k, B k x n (median_rate()), measured once
/// per shape, scalar type and thread count and cached.
template <typename Scalar>
double gemm_rate(Index m, Index k, Index n) {
  static std::map<std::tuple<Index, Index, Index, int>, double> cache;
  const auto key = std::make_tuple(m, k, n, Eigen::nbThreads());
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  Matrix<Scalar> A = Matrix<Scalar>::Random(m, k), B = Matrix<Scalar>::Random(k, n), C(m, n);
  const double rate =
      median_rate(flop::gemm(double(m), double(k), double(n)), [&] { plain_product(C, A, B); });
  benchmark::DoNotOptimize(C.data());
  cache.emplace(key, rate);
  return rate;
}

/// FLOP/s of the bf16 product detail::Bf16Products::multiply (bf16 inputs, float sums; the
/// rounding of both operands included) of A m x k by B k x n, measured and cached as
/// gemm_rate(): the yardstick of the bf16 iteration's efficiency.
double bf16_product_rate(Index m, Index k, Index n) {
  static std::map<std::tuple<Index, Index, Index, int>, double> cache;
  const auto key = std::make_tuple(m, k, n, Eigen::nbThreads());
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  Matrix<float> A = Matrix<float>::Random(m, k), B = Matrix<float>::Random(k, n), C(m, n);
  detail::Bf16Products bf16;
  bf16.reserve(A.size(), B.size());
  const double rate = median_rate(flop::gemm(double(m), double(k), double(n)),
                                  [&] { bf16.multiply(C, A, B, 1.0f, detail::Transposed::None); });
  benchmark::DoNotOptimize(C.data());
  cache.emplace(key, rate);
  return rate;
}

/// Sets the common counters from the totals of the timed loop.
void set_counters(benchmark::State& state, double flops, double seconds, double backtracks,
                  double reference_rate) {
  const double iterations = double(std::max<benchmark::IterationCount>(state.iterations(), 1));
  const double rate = seconds > 0 ? flops / seconds : 0;
  state.counters["flops"] = flops / iterations;
  state.counters["GFLOPs"] = rate / 1e9;
  state.counters["efficiency"] = reference_rate > 0 ? rate / reference_rate : 0;
  state.counters["backtracks"] = backtracks / iterations;
  state.counters["threads"] = Eigen::nbThreads();
}

template <typename Scalar>
using Problem = dladmm::Problem<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy>;

/// Synthetic inputs (784 x N) and one-hot targets (10 x N); the last N asked for is kept.
template <typename Scalar>
struct Data {
  Index samples = 0;
  Matrix<Scalar> x, y;
};

template <typename Scalar>
const Data<Scalar>& data(Index samples) {
  static Data<Scalar> cached;
  if (cached.samples != samples) {
    cached = Data<Scalar>();  // free the old set first
    const dladmm::Dataset<Scalar> set =
        dladmm::make_synthetic<Scalar>(kInputs, int(kClasses), samples, kSeed);
    cached.x = set.x;
    cached.y = set.one_hot();
    cached.samples = samples;
  }
  return cached;
}

/// The state the block benchmarks start from: a 784-w-w-10 problem after Solver::init() and one
/// quadratic Solver::step() with the default (reference) parameters. (Right after init() the
/// hidden couplings are exact, so the W and a gradients would be zero.) The last size asked for
/// is kept, so the block benchmarks of one size share it.
template <typename Scalar>
const Problem<Scalar>& prepared(Index width, Index samples) {
  static std::unique_ptr<Problem<Scalar>> problem;
  static Index cached_width = 0, cached_samples = 0;
  if (!problem || cached_width != width || cached_samples != samples) {
    problem.reset();
    const Data<Scalar>& set = data<Scalar>(samples);
    problem = std::make_unique<Problem<Scalar>>(set.x, set.y, std::vector<Index>{width, width});
    dladmm::Solver<Problem<Scalar>> solver{dladmm::Param<Scalar>()};
    solver.init(*problem);
    solver.step();
    cached_width = width;
    cached_samples = samples;
  }
  return *problem;
}

/// The penalties and backtracking settings of the default Param (the reference start).
template <typename Scalar>
struct Penalties {
  dladmm::Param<Scalar> param;
  Scalar rho = param.rho;
  Scalar nu = param.nu_tied_to_rho ? param.rho : param.nu;
  detail::Backtracking<Scalar> theta{param.theta, param.backtrack_factor, param.max_backtracks};
  detail::Backtracking<Scalar> tau{param.tau, param.backtrack_factor, param.max_backtracks};
  dladmm::OutputSolve<Scalar> solve{param.fista_step, param.fista_max_iterations,
                                    param.fista_tolerance};
};

template <typename Scalar>
const Matrix<Scalar>* no_dual() {
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Block updates. Each times what the solver's update_* does for one block: the coupling
// residual (for W and a) and the step. The W, b and hidden z steps act on the hidden layer 2
// (W_2 is w x w, its input a_1 is w x N); the a step on a_1 (coupled to W_2); z_L and u on the
// 10 x N output.

/// W_2 step (ALGORITHM.md §3.5); repeated steps keep descending the same block.
template <typename Scalar>
void BM_WeightStep(benchmark::State& state, SubproblemSolver kind, Index width, Index samples) {
  const Problem<Scalar>& problem = prepared<Scalar>(width, samples);
  const Penalties<Scalar> pen;
  const dladmm::Layer<Scalar>& layer = problem.network().layer(1);
  const Matrix<Scalar>& A = problem.input(1);
  const Matrix<Scalar>& z = problem.state().layer(1).z;
  Matrix<Scalar> W = layer.W, grad(W.rows(), W.cols()), trial, product(W.rows(), samples);
  product.noalias() = W * A;
  Vector<Scalar> buffer(W.rows() * samples);
  Eigen::Map<Matrix<Scalar>> residual(buffer.data(), W.rows(), samples);
  const double reference = gemm_rate<Scalar>(width, width, samples);
  const dladmm::LocalSamples local;

  const LoopTotals totals = time_each(state, [&] {
    detail::constraint_residual(residual, z, product, layer.b, no_dual<Scalar>(), pen.rho);
    if (kind == SubproblemSolver::Exact)
      return detail::weight_step_exact(W, A, residual, product, grad, pen.nu,
                                       dladmm::Regularization::None, Scalar(0), local);
    return detail::weight_step_quadratic(W, A, residual, product, grad, trial, pen.nu, pen.theta,
                                         dladmm::Regularization::None, Scalar(0), local);
  });
  benchmark::DoNotOptimize(W.data());
  const double per_step =
      kind == SubproblemSolver::Exact
          ? flop::weight_exact(double(W.rows()), double(W.cols()), double(samples))
          : flop::weight_quadratic(double(W.rows()), double(W.cols()), double(samples));
  set_counters(state, per_step * double(state.iterations()), totals.seconds, totals.backtracks,
               reference);
}

/// a_1 step (ALGORITHM.md §3.2), coupled to layer 2.
template <typename Scalar>
void BM_ActivationStep(benchmark::State& state, SubproblemSolver kind, Index width, Index samples) {
  const Problem<Scalar>& problem = prepared<Scalar>(width, samples);
  const Penalties<Scalar> pen;
  const auto& net = problem.network();
  const dladmm::Layer<Scalar>& layer = net.layer(0);
  const dladmm::Layer<Scalar>& next = net.layer(1);
  const dladmm::LayerState<Scalar>& vars = problem.state().layer(0);
  const Matrix<Scalar>& next_z = problem.state().layer(1).z;
  Matrix<Scalar> a = vars.a, product(next.units(), samples);
  product.noalias() = next.W * a;
  Vector<Scalar> residual_buffer(next.units() * samples), grad_buffer(layer.units() * samples);
  Eigen::Map<Matrix<Scalar>> residual(residual_buffer.data(), next.units(), samples);
  Eigen::Map<Matrix<Scalar>> grad(grad_buffer.data(), layer.units(), samples);
  const double reference = gemm_rate<Scalar>(width, width, samples);
  const dladmm::DenseMap dense;
  const dladmm::LocalSamples local;

  const LoopTotals totals = time_each(state, [&] {
    detail::constraint_residual(residual, next_z, product, next.b, no_dual<Scalar>(), pen.rho);
    if (kind == SubproblemSolver::Exact)
      return detail::activation_step_exact(a, next.W, residual, product, vars.z, net.activation(),
                                           grad, pen.nu, pen.nu);
    return detail::activation_step_quadratic(a, next.W, residual, product, vars.z, net.activation(),
                                             grad, pen.nu, pen.nu, pen.tau, dense, residual, local);
  });
  benchmark::DoNotOptimize(a.data());
  const double n_next = double(next.units()), n = double(layer.units()), N = double(samples);
  const double per_step = kind == SubproblemSolver::Exact
                              ? flop::activation_exact(n_next, n, N)
                              : flop::activation_quadratic(n_next, n, N);
  set_counters(state, per_step * double(state.iterations()), totals.seconds, totals.backtracks,
               reference);
}

/// Hidden z_2 step (ALGORITHM.md §3.3), elementwise.
template <typename Scalar>
void BM_HiddenZStep(benchmark::State& state, Index width, Index samples) {
  const Problem<Scalar>& problem = prepared<Scalar>(width, samples);
  const auto& net = problem.network();
  const dladmm::Layer<Scalar>& layer = net.layer(1);
  const dladmm::LayerState<Scalar>& vars = problem.state().layer(1);
  Matrix<Scalar> z = vars.z, product(layer.units(), samples);
  product.noalias() = layer.W * problem.input(1);
  const double reference = gemm_rate<Scalar>(width, width, samples);

  const double seconds = time_each(state, [&] {
                           detail::hidden_z_step(z, product, layer.b, vars.a, net.activation());
                         }).seconds;
  benchmark::DoNotOptimize(z.data());
  const double per_step = flop::kHiddenZPerEntry * double(z.size());
  set_counters(state, per_step * double(state.iterations()), seconds, 0, reference);
}

/// b_2 step (ALGORITHM.md §3.4): column mean, elementwise.
template <typename Scalar>
void BM_BiasStep(benchmark::State& state, Index width, Index samples) {
  const Problem<Scalar>& problem = prepared<Scalar>(width, samples);
  const Penalties<Scalar> pen;
  const dladmm::Layer<Scalar>& layer = problem.network().layer(1);
  const Matrix<Scalar>& z = problem.state().layer(1).z;
  Vector<Scalar> b = layer.b;
  Matrix<Scalar> product(layer.units(), samples);
  product.noalias() = layer.W * problem.input(1);
  const double reference = gemm_rate<Scalar>(width, width, samples);
  const dladmm::LocalSamples local;
  detail::BiasWorkspace ws;
  ws.resize(b.size());

  const double seconds = time_each(state, [&] {
                           detail::bias_step(b, z, product, no_dual<Scalar>(), pen.rho, local, ws);
                         }).seconds;
  benchmark::DoNotOptimize(b.data());
  const double per_step = flop::kBiasPerEntry * double(z.size());
  set_counters(state, per_step * double(state.iterations()), seconds, 0, reference);
}

/// z_L step (ALGORITHM.md §3.6): the target m, then FISTA with the reference constants (step 4,
/// at most 500 steps, tolerance 1e-3) on the cross-entropy. Every solve starts from the
/// reference initialisation z_L = 2Y - 1 (the reset is not timed), since a z_L that FISTA has
/// just converged on would stop it after one step. Counter fista_iterations: steps per solve.
template <typename Scalar>
void BM_OutputStep(benchmark::State& state, Index width, Index samples) {
  const Problem<Scalar>& problem = prepared<Scalar>(width, samples);
  const Penalties<Scalar> pen;
  const dladmm::Layer<Scalar>& layer = problem.network().layer(2);
  const Matrix<Scalar> start = Scalar(2) * problem.y().array() - Scalar(1);
  Matrix<Scalar> z = start, m(layer.units(), samples), product(layer.units(), samples);
  product.noalias() = layer.W * problem.input(2);
  dladmm::SoftmaxCrossEntropy::Workspace<Scalar> ws;
  ws.resize(layer.units(), samples);
  const double reference = gemm_rate<Scalar>(width, width, samples);

  double seconds = 0, steps = 0;
  for (auto _ : state) {
    z = start;
    dladmm::OutputReport report;
    const double s = timed([&] {
      dladmm::detail::output_target(m, product, layer.b, problem.u(), pen.rho);
      report = problem.loss().update_output(z, problem.y(), m, pen.rho, pen.solve, ws);
    });
    state.SetIterationTime(s);
    seconds += s;
    steps += report.iterations;
  }
  benchmark::DoNotOptimize(z.data());
  const double C = double(layer.units()), N = double(samples);
  const double flops =
      flop::kTargetPerEntry * C * N * double(state.iterations()) + flop::fista(steps, C, N);
  set_counters(state, flops, seconds, 0, reference);
  state.counters["fista_iterations"] =
      steps / double(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

/// Dual step (ALGORITHM.md §3.7), elementwise on 10 x N.
template <typename Scalar>
void BM_DualStep(benchmark::State& state, Index width, Index samples) {
  const Problem<Scalar>& problem = prepared<Scalar>(width, samples);
  const Penalties<Scalar> pen;
  const dladmm::Layer<Scalar>& layer = problem.network().layer(2);
  Matrix<Scalar> u = problem.u(), product(layer.units(), samples);
  product.noalias() = layer.W * problem.input(2);
  const double reference = gemm_rate<Scalar>(width, width, samples);

  const Matrix<Scalar>& z = problem.state().layer(2).z;
  const double seconds =
      time_each(state, [&] { detail::dual_step(u, z, product, layer.b, pen.rho); }).seconds;
  benchmark::DoNotOptimize(u.data());
  const double per_step = flop::kDualPerEntry * double(u.size());
  set_counters(state, per_step * double(state.iterations()), seconds, 0, reference);
}

// ---------------------------------------------------------------------------------------------
// Whole iteration and the GEMM yardstick.

/// Solver::step() after init(), default (reference) parameters with the quadratic or the exact
/// W/a solver, and the given product precision (with BFloat16 the efficiency is against
/// bf16_product_rate()); the time is IterationInfo::seconds (updates only). Successive timed
/// iterations are successive dlADMM iterations from init(). Extra counters per iteration:
/// weight_backtracks, activation_backtracks, fista_iterations.
template <typename Scalar>
void BM_Iteration(benchmark::State& state, SubproblemSolver kind, Index width, Index samples,
                  dladmm::ProductPrecision precision = dladmm::ProductPrecision::Scalar) {
  const Data<Scalar>& set = data<Scalar>(samples);
  Problem<Scalar> problem(set.x, set.y, std::vector<Index>{width, width});
  dladmm::Param<Scalar> param;
  param.solver = kind;
  param.product_precision = precision;
  dladmm::Solver<Problem<Scalar>> solver(param);
  solver.init(problem);
  const double reference = precision == dladmm::ProductPrecision::BFloat16
                               ? bf16_product_rate(width, width, samples)
                               : gemm_rate<Scalar>(width, width, samples);

  double seconds = 0, weight_backtracks = 0, activation_backtracks = 0, fista_steps = 0;
  double refreshes = 0;
  for (auto _ : state) {
    if (solver.status() == dladmm::Status::NumericalIssue) solver.init(problem);  // not timed
    const int done = solver.iteration();
    if (done > 0 && done % param.product_refresh_every == 0) ++refreshes;
    const dladmm::IterationInfo& info = solver.step();
    state.SetIterationTime(info.seconds);
    seconds += info.seconds;
    weight_backtracks += info.weight_backtracks;
    activation_backtracks += info.activation_backtracks;
    fista_steps += info.fista_iterations;
  }
  const std::vector<Index> sizes = network_sizes(width);
  const double iterations = double(std::max<benchmark::IterationCount>(state.iterations(), 1));
  const double N = double(samples);
  // The W and a steps of every iteration, the product refreshes that happened, and the FISTA
  // steps the solver reported (the other elementwise blocks are not counted).
  const double flops = flop::iteration(sizes, N, kind) * double(state.iterations()) +
                       flop::refresh(sizes, N) * refreshes +
                       flop::fista(fista_steps, double(kClasses), N);
  set_counters(state, flops, seconds, weight_backtracks + activation_backtracks, reference);
  state.counters["weight_backtracks"] = weight_backtracks / iterations;
  state.counters["activation_backtracks"] = activation_backtracks / iterations;
  state.counters["fista_iterations"] = fista_steps / iterations;
}

/// A synthetic graph at the scale of a public data set (the data themselves cannot be
/// downloaded here): N nodes, F binary features at the given density, undirected random edges,
/// C classes, 20 labelled nodes per class; a GCN F-128-C (ALGORITHM.md §7).
struct GraphScale {
  const char* name;
  Index nodes, features, edges, classes;
  double feature_density;
};

/// Solver::step() of the GCN on a GraphScale graph, the graph defaults of dladmm_train (rho
/// 1e-3, the step schedule); time and counters as BM_Iteration, FLOPs from
/// flop::graph_iteration (ALGORITHM.md §7.3) with the FISTA steps on the labelled columns.
template <typename Scalar>
void BM_GraphIteration(benchmark::State& state, GraphScale scale) {
  using GraphProblem = dladmm::Problem<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy,
                                       dladmm::SparsePropagation<Scalar>>;
  const Index N = scale.nodes, hidden = 128;
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<Index> node(0, N - 1);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Eigen::Triplet<Scalar>> edges;
  for (Index e = 0; e < scale.edges; ++e) {
    const Index i = node(rng), j = node(rng);
    if (i == j) continue;
    edges.emplace_back(i, j, Scalar(1));
    edges.emplace_back(j, i, Scalar(1));
  }
  Eigen::SparseMatrix<Scalar> adjacency(N, N);
  adjacency.setFromTriplets(edges.begin(), edges.end(), [](Scalar, Scalar) { return Scalar(1); });
  Matrix<Scalar> x = Matrix<Scalar>::Zero(scale.features, N),
                 y = Matrix<Scalar>::Zero(scale.classes, N);
  for (Index j = 0; j < N; ++j) {
    for (Index i = 0; i < scale.features; ++i)
      if (unit(rng) < scale.feature_density) x(i, j) = 1;
    y(Index(unit(rng) * double(scale.classes)), j) = 1;
  }
  dladmm::normalize_feature_columns(x);
  dladmm::SparsePropagation<Scalar> map(dladmm::normalized_propagation<Scalar>(adjacency));
  const double nnz = double(map.matrix().nonZeros());
  GraphProblem problem(std::move(x), std::move(y), std::vector<Index>{hidden}, {}, {},
                       std::move(map));
  std::vector<Index> labelled;
  for (Index j = 0; j < 20 * scale.classes; ++j) labelled.push_back(j * (N / (20 * scale.classes)));
  problem.set_loss_columns(labelled);
  dladmm::Param<Scalar> param;
  param.rho = Scalar(1e-3);
  param.rho_schedule = dladmm::RhoSchedule::Step;
  param.rho_step_every = 50;
  param.rho_max = Scalar(1);
  dladmm::Solver<GraphProblem> solver(param);
  solver.init(problem);
  const double reference = gemm_rate<Scalar>(hidden, scale.features, N);

  double seconds = 0, backtracks = 0, fista_steps = 0, refreshes = 0;
  for (auto _ : state) {
    const int done = solver.iteration();
    if (done > 0 && done % param.product_refresh_every == 0) ++refreshes;
    const dladmm::IterationInfo& info = solver.step();
    state.SetIterationTime(info.seconds);
    seconds += info.seconds;
    backtracks += info.weight_backtracks + info.activation_backtracks;
    fista_steps += info.fista_iterations;
  }
  const std::vector<Index> sizes{scale.features, hidden, scale.classes};
  const double flops = flop::graph_iteration(sizes, double(N), nnz) * double(state.iterations()) +
                       flop::refresh(sizes, double(N)) * refreshes +
                       flop::fista(fista_steps, double(scale.classes), double(labelled.size()));
  set_counters(state, flops, seconds, backtracks, reference);
  state.counters["nnz_S"] = nnz;
  state.counters["fista_iterations"] =
      fista_steps / double(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

/// C.noalias() = A * B with A w x w and B w x N: the yardstick of every efficiency counter.
template <typename Scalar>
void BM_Gemm(benchmark::State& state, Index width, Index samples) {
  Matrix<Scalar> A = Matrix<Scalar>::Random(width, width);
  Matrix<Scalar> B = Matrix<Scalar>::Random(width, samples), C(width, samples);
  const double reference = gemm_rate<Scalar>(width, width, samples);
  const double seconds = time_each(state, [&] { plain_product(C, A, B); }).seconds;
  benchmark::DoNotOptimize(C.data());
  const double per_product = flop::gemm(double(width), double(width), double(samples));
  set_counters(state, per_product * double(state.iterations()), seconds, 0, reference);
}

/// Bf16Products::multiply of A w x w by B w x N (the bf16 yardstick), as BM_Gemm times Eigen's.
void BM_ProductBf16(benchmark::State& state, Index width, Index samples) {
  Matrix<float> A = Matrix<float>::Random(width, width), B = Matrix<float>::Random(width, samples);
  Matrix<float> C(width, samples);
  detail::Bf16Products bf16;
  bf16.reserve(A.size(), B.size());
  const double reference = bf16_product_rate(width, width, samples);
  const double seconds =
      time_each(state, [&] { bf16.multiply(C, A, B, 1.0f, detail::Transposed::None); }).seconds;
  benchmark::DoNotOptimize(C.data());
  const double per_product = flop::gemm(double(width), double(width), double(samples));
  set_counters(state, per_product * double(state.iterations()), seconds, 0, reference);
}

// ---------------------------------------------------------------------------------------------
// Registration.

struct Size {
  Index width, samples;
};

/// The smoke size, the width sweep at 500 samples and the sample sweep at width 1000.
std::vector<Size> sizes() {
  std::vector<Size> out{{64, 256}};
  for (Index w : {256, 512, 1024, 2048, 4096}) out.push_back({w, 500});
  for (Index n : {2500, 5000, 10000, 20000, 40000}) out.push_back({1000, n});
  return out;
}

template <typename Fn>
void add(const std::string& family, const std::string& scalar, const std::string& variant,
         Size size, Fn fn) {
  std::string name = family + "<" + scalar + ">";
  if (!variant.empty()) name += "/" + variant;
  name += "/width:" + std::to_string(size.width) + "/samples:" + std::to_string(size.samples);
  if (is_large(size.width, size.samples)) name += "/large";
  benchmark::RegisterBenchmark(name.c_str(), fn)
      ->UseManualTime()
      ->Unit(size.width * size.samples < 100000 ? benchmark::kMicrosecond
                                                : benchmark::kMillisecond);
}

const char* solver_name(SubproblemSolver kind) {
  return kind == SubproblemSolver::Exact ? "exact" : "quadratic";
}

/// Registers every family at every size, size by size (the block benchmarks of one size then
/// share one prepared problem).
template <typename Scalar>
void register_all(const std::string& scalar) {
  for (const Size size : sizes()) {
    const Index w = size.width, N = size.samples;
    add("BM_Gemm", scalar, "", size, [=](benchmark::State& s) { BM_Gemm<Scalar>(s, w, N); });
    for (SubproblemSolver kind : {SubproblemSolver::Quadratic, SubproblemSolver::Exact})
      add("BM_Iteration", scalar, solver_name(kind), size,
          [=](benchmark::State& s) { BM_Iteration<Scalar>(s, kind, w, N); });
    // bf16 products, where this build and processor run them (ALGORITHM.md §11), and the bf16
    // product that is their yardstick.
    if (std::is_same<Scalar, float>::value && dladmm::bf16_unavailable_reason().empty()) {
      add("BM_Iteration", scalar, "quadratic_bf16", size, [=](benchmark::State& s) {
        BM_Iteration<Scalar>(s, SubproblemSolver::Quadratic, w, N,
                             dladmm::ProductPrecision::BFloat16);
      });
      add("BM_ProductBf16", scalar, "", size,
          [=](benchmark::State& s) { BM_ProductBf16(s, w, N); });
    }
    for (SubproblemSolver kind : {SubproblemSolver::Quadratic, SubproblemSolver::Exact}) {
      add("BM_WeightStep", scalar, solver_name(kind), size,
          [=](benchmark::State& s) { BM_WeightStep<Scalar>(s, kind, w, N); });
      add("BM_ActivationStep", scalar, solver_name(kind), size,
          [=](benchmark::State& s) { BM_ActivationStep<Scalar>(s, kind, w, N); });
    }
    add("BM_HiddenZStep", scalar, "", size,
        [=](benchmark::State& s) { BM_HiddenZStep<Scalar>(s, w, N); });
    add("BM_BiasStep", scalar, "", size,
        [=](benchmark::State& s) { BM_BiasStep<Scalar>(s, w, N); });
    add("BM_OutputStep", scalar, "fista", size,
        [=](benchmark::State& s) { BM_OutputStep<Scalar>(s, w, N); });
    add("BM_DualStep", scalar, "", size,
        [=](benchmark::State& s) { BM_DualStep<Scalar>(s, w, N); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* omp = std::getenv("OMP_NUM_THREADS");
  benchmark::AddCustomContext("dladmm_version", std::to_string(DLADMM_VERSION_MAJOR) + "." +
                                                    std::to_string(DLADMM_VERSION_MINOR) + "." +
                                                    std::to_string(DLADMM_VERSION_PATCH));
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::AddCustomContext("OMP_NUM_THREADS", omp ? omp : "unset");
#ifdef DLADMM_USE_OPENBLAS
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("products", std::string("OpenBLAS, core ") + openblas_get_corename() +
                                              ", OPENBLAS_CORETYPE " +
                                              (coretype ? coretype : "unset"));
#else
  benchmark::AddCustomContext("products", "Eigen");
#endif
  benchmark::AddCustomContext("bf16_products", dladmm::bf16_unavailable_reason().empty()
                                                   ? "oneDNN"
                                                   : dladmm::bf16_unavailable_reason());
  register_all<float>("float");
  register_all<double>("double");
  // GCN iterations at the scale of PubMed and Coauthor-Physics (synthetic graphs: the sets
  // cannot be downloaded here); the efficiency's yardstick is W_1 (X S): 128 x F times F x N.
  for (GraphScale scale : {GraphScale{"pubmed", 19717, 500, 44324, 3, 0.1},
                           GraphScale{"coauthor_physics", 34493, 8415, 247962, 5, 0.004}})
    benchmark::RegisterBenchmark(
        (std::string("BM_GraphIteration<float>/") + scale.name + "/large").c_str(),
        [scale](benchmark::State& s) { BM_GraphIteration<float>(s, scale); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
