/// \file solver.hpp
/// \brief Solver<Problem>: dlADMM (ALGORITHM.md Algorithm 1): init(), step(), minimize().
///
/// Define DLADMM_NO_EXACT_SOLVER before including it to compile the exact (cubic) W and a
/// steps out of a translation unit that does not use them: its Solver then refuses
/// SubproblemSolver::Exact at init(), and the unit compiles in about two thirds of the time with
/// less compiler memory (docs/PERFORMANCE.md, "Compile time of a user's unit"). Every unit of a
/// program must agree.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "config.hpp"
#include "detail/bf16_product.hpp"
#include "detail/hooks.hpp"
#include "detail/product.hpp"
#include "detail/reduce.hpp"
#include "detail/updates.hpp"
#include "iteration_info.hpp"
#include "loss.hpp"
#include "network.hpp"
#include "param.hpp"
#include "problem.hpp"
#include "schedule.hpp"
#include "status.hpp"

namespace dladmm {

/// \brief Empty if Param::product_precision BFloat16 can run in this build on this processor
/// (a build with DLADMM_USE_ONEDNN, and AMX or AVX-512 BF16 as oneDNN reports it); otherwise
/// why not, the reason Solver::init() gives when it refuses the setting.
inline std::string bf16_unavailable_reason() { return detail::bf16_unavailable_reason(); }
/// \brief True if bf16 products run on AMX here; where they can run without it (AVX-512 BF16
/// alone) they measured slower than float products (docs/PERFORMANCE.md).
inline bool bf16_uses_amx() { return detail::bf16_uses_amx(); }

namespace detail {
struct SolverAccess;  // what checkpoint.hpp reads and restores; defined there
}  // namespace detail

/// \brief The dlADMM solver for a Problem (ALGORITHM.md §2): a backward pass over the layers,
/// a forward pass (unless Param::sweep is Sweep::Backward, ALGORITHM.md §10), then the dual
/// update. It holds the sweep's order, the rho schedule and the
/// buffers; the block updates are in detail/updates.hpp. The problem's layer map enters the
/// kept products, the W and a steps and the forward pass; its sample reduction completes every
/// sum over samples.
///
/// The solver refers to the problem passed to init() or minimize(); the problem must outlive
/// the solver's use of it. After init(), step() allocates no memory (Quadratic solver; the
/// first copy for Param::keep_last_finite is made by init(); with bf16 products, oneDNN's
/// primitive and memory handles and the kernel's small per-piece descriptors are the exception).
///
/// An iteration whose figures are NaN or infinite ends the run with Status::NumericalIssue.
/// With Param::keep_last_finite (the default) the problem's variables and iteration() are then
/// those of the last finite iteration, and info() holds the figures of the failed one.
/// \tparam ProblemT a Problem<Scalar, Activation, Loss, LayerMap, Reduction>.
template <typename ProblemT>
class Solver {
 public:
  using Problem = ProblemT;                  ///< The problem type.
  using Scalar = typename ProblemT::Scalar;  ///< float or double.

  /// \brief A solver with parameters \p param (copied; checked at init()).
  explicit Solver(const Param<Scalar>& param = Param<Scalar>()) : m_param(param) {}

  /// \brief The parameters.
  const Param<Scalar>& param() const { return m_param; }
  /// \brief Replaces the parameters; takes effect at the next init().
  void set_param(const Param<Scalar>& param) { m_param = param; }
  /// \brief The state after the last step (Running until something ends the run).
  Status status() const { return m_status; }
  /// \brief Iterations taken since init().
  int iteration() const { return m_iteration; }
  /// \brief The current rho.
  Scalar rho() const { return m_schedule ? m_schedule->rho : m_param.rho; }
  /// \brief The current nu (rho when tied).
  Scalar nu() const { return m_param.nu_tied_to_rho ? rho() : m_param.nu; }
  /// \brief The figures of the last iteration.
  const IterationInfo& info() const { return m_info; }
  /// \brief The problem being solved (null before init()).
  const Problem* problem() const { return m_problem; }
  /// \brief The schedule state (rho, theta, tau); null before init().
  const RhoScheduler<Scalar>* schedule() const { return m_schedule ? &*m_schedule : nullptr; }

  /// \brief Checks the parameters, initialises the problem's variables (ALGORITHM.md §9.2) from
  /// the seeded stream and allocates every buffer. The seeded stream is used here only: a run is
  /// determined by the data, the parameters and the seed.
  /// If the data hold a NaN or an infinity, W and b are drawn, z, a and u are set to zero and
  /// the status is NumericalIssue (step() then does nothing).
  /// \throws std::invalid_argument if a parameter is invalid or does not fit the layer map.
  void init(Problem& problem) {
    check_param();
    attach(problem);
    m_restored = false;
    auto& net = problem.network();
    auto& state = problem.state();
    const Index layers = net.num_layers();
    std::mt19937_64 rng(m_param.seed);
    std::normal_distribution<double> normal(0.0, double(m_param.init_stddev));
    auto draw = [&](auto& m) {
      for (Index k = 0; k < m.size(); ++k) m.data()[k] = Scalar(normal(rng));
    };
    for (Index l = 0; l < layers; ++l) {
      draw(net.layer(l).W);
      draw(net.layer(l).b);
    }
    state.u.setZero(net.outputs(), problem.samples());
    if (!m_data_finite) {  // keep the variables finite: nothing is computed from the data
      for (Index l = 0; l < layers; ++l) {
        state.layer(l).z.setZero(net.layer(l).units(), problem.samples());
        if (l + 1 < layers) state.layer(l).a.setZero(net.layer(l).units(), problem.samples());
      }
      m_status = Status::NumericalIssue;
      return;
    }
    for (Index l = 0; l < layers; ++l) {  // a forward pass through the kept products
      LayerState<Scalar>& layer = state.layer(l);
      compute_product(l);
      layer.z = m_products[std::size_t(l)].colwise() + net.layer(l).b;
      if (l + 1 < layers) {
        layer.a = layer.z.unaryExpr(net.activation());
        propagate_input(l + 1);
      }
    }
    if (m_param.initialization == Initialization::Reference)  // on the loss columns
      problem.scatter_loss_columns(
          (Scalar(2) * problem.loss_targets().array() - Scalar(1)).matrix().eval(),
          state.layer(layers - 1).z);
    keep_last_finite();
  }

  /// \brief Sets the iteration limit of minimize() and run() (for example to extend a resumed
  /// run). \throws std::invalid_argument unless \p max_iterations >= 1.
  void set_max_iterations(int max_iterations) {
    if (max_iterations < 1)
      throw std::invalid_argument("Solver::set_max_iterations: must be >= 1, got " +
                                  std::to_string(max_iterations));
    m_param.max_iterations = max_iterations;
  }

  /// \brief One dlADMM iteration (ALGORITHM.md §2): backward pass, forward pass (not with
  /// Sweep::Backward), dual update, then the figures, the convergence test and the rho schedule.
  /// \return the iteration's figures.
  /// \throws std::logic_error if init() was not called.
  const IterationInfo& step() {
    if (!m_problem) throw std::logic_error("Solver::step: call init() first");
    if (m_loss_samples != m_problem->loss_samples())
      throw std::logic_error("Solver::step: the problem's loss columns changed after init()");
    if (m_status == Status::NumericalIssue) return m_info;
    const auto start = std::chrono::steady_clock::now();
    reset_counters();
    const Index last = m_problem->network().num_layers() - 1;
    m_previous_output = m_problem->state().layer(last).z;
    if (m_iteration > 0 && m_iteration % m_param.product_refresh_every == 0) refresh_products();

    // Backward pass: z_L, b_L, W_L, then a_l, z_l, b_l, W_l for l = L-1 down to 1.
    update_output(last, false);
    update_bias(last);
    update_weights(last);
    for (Index l = last - 1; l >= 0; --l) {
      update_activation(l);
      update_hidden_z(l);
      update_bias(l);
      update_weights(l);
    }
    // Forward pass (not with Sweep::Backward): W_l, b_l, z_l, a_l for l = 1 up to L-1, then
    // W_L, b_L, z_L (the z_L step over-relaxed if asked, ALGORITHM.md §10).
    if (m_param.sweep == Sweep::BackwardForward) {
      for (Index l = 0; l < last; ++l) {
        update_weights(l);
        update_bias(l);
        update_hidden_z(l);
        update_activation(l);
      }
      update_weights(last);
      update_bias(last);
      update_output(last, true);
    }
    update_dual(last);

    m_info.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++m_iteration;
    record_figures(last);
    evaluate_training_set();
    if (!figures_finite()) {
      m_status = Status::NumericalIssue;
      roll_back();
      return m_info;
    }
    test_convergence();
    m_schedule->update(m_iteration, m_info.train_loss, std::sqrt(m_info.primal_residual),
                       m_info.dual_residual);
    keep_last_finite();
    return m_info;
  }

  /// \brief init(), then run(): step() until convergence, the iteration limit, a numerical issue
  /// or a callback's stop. Callbacks may have any of the hooks `begin(const Solver&)`,
  /// `iteration(const Solver&, IterationInfo&)` (returning bool: true stops; or void) and
  /// `end(const Solver&, const Result&)`; they run in the order given.
  /// \throws std::logic_error if the solver holds a run restored by load_checkpoint():
  /// minimize() would start it again from scratch. Continue it with run() or run_for(), or call
  /// init() first to start anew on purpose.
  template <typename... Callbacks>
  Result minimize(Problem& problem, Callbacks&&... callbacks) {
    if (m_restored)
      throw std::logic_error(
          "Solver::minimize: this solver holds a run restored from a checkpoint at iteration " +
          std::to_string(m_iteration) +
          "; minimize() would start again from scratch: call run_for(n) or run() to continue "
          "it, or init() first to start anew");
    init(problem);
    return run(std::forward<Callbacks>(callbacks)...);
  }

  /// \brief run() for \p iterations more iterations: the iteration limit becomes iteration() +
  /// \p iterations (Param::max_iterations counts from init(), a resumed run included).
  /// \throws std::invalid_argument unless \p iterations >= 1; std::logic_error as run().
  template <typename... Callbacks>
  Result run_for(int iterations, Callbacks&&... callbacks) {
    if (iterations < 1)
      throw std::invalid_argument("Solver::run_for: iterations must be >= 1, got " +
                                  std::to_string(iterations));
    if (!m_problem)
      throw std::logic_error("Solver::run_for: call init() or load_checkpoint() first");
    set_max_iterations(m_iteration + iterations);
    return run(std::forward<Callbacks>(callbacks)...);
  }

  /// \brief step() from the current state (after init() or load_checkpoint()) until
  /// convergence, max_iterations in all, a numerical issue or a callback's stop; callbacks as
  /// minimize(). A run stopped by the iteration limit or a callback goes on; a converged or
  /// failed one stays as it is.
  /// \throws std::logic_error if neither init() nor load_checkpoint() was called.
  template <typename... Callbacks>
  Result run(Callbacks&&... callbacks) {
    if (!m_problem) throw std::logic_error("Solver::run: call init() or load_checkpoint() first");
    if (m_status == Status::IterationLimit || m_status == Status::StoppedByCallback)
      m_status = Status::Running;  // go on from where the last run() stopped
    (detail::call_begin(callbacks, *this), ...);
    Result result;
    while (m_status == Status::Running) {
      if (m_iteration >= m_param.max_iterations) {
        m_status = Status::IterationLimit;
        break;
      }
      step();
      ++result.iterations_this_call;
      result.seconds += m_info.seconds;
      result.backtrack_cap_hits += m_info.backtrack_cap_hits;
      result.fista_cap_hits += m_info.fista_cap_hits;
      bool stop = false;
      ((stop = detail::call_iteration(callbacks, *this, m_info) || stop), ...);
      if (m_status != Status::Running) break;
      if (stop) {
        m_status = Status::StoppedByCallback;
        break;
      }
    }
    result.status = m_status;
    result.iterations = m_iteration;
    result.last = m_info;
    (detail::call_end(callbacks, *this, result), ...);
    return result;
  }

  /// \brief The kept product W_l a_{l-1} of layer l (after the layer map), for tests and
  /// diagnostics.
  const Matrix<Scalar>& product(Index l) const { return m_products[std::size_t(l)]; }
  /// \brief Every kept product W_l a_{l-1}: part of the state a checkpoint saves, since the
  /// incremental updates make them differ from a fresh product by rounding.
  const std::vector<Matrix<Scalar>>& products() const { return m_products; }

 private:
  friend struct detail::SolverAccess;
  using Map = Eigen::Map<Matrix<Scalar>>;
  using LayerMap = typename Problem::LayerMap;

  Map scratch(Vector<Scalar>& buffer, Index rows) {
    return Map(buffer.data(), rows, m_problem->samples());
  }
  const typename Problem::Reduction& samples() const { return m_problem->reduction(); }
  Scalar beta(Index l) const {  // weight of layer l's coupling term
    return l == m_problem->network().num_layers() - 1 ? rho() : nu();
  }
  const Matrix<Scalar>* dual_term(Index l) const {  // u enters only the last layer's coupling
    return l == m_problem->network().num_layers() - 1 ? &m_problem->u() : nullptr;
  }
  detail::Backtracking<Scalar> backtracking(Scalar initial) const {
    return {initial, m_param.backtrack_factor, m_param.max_backtracks};
  }
  void count(const detail::BlockReport& report, int& backtracks) {
    backtracks += report.backtracks;
    m_info.backtrack_cap_hits += report.hit_cap;
  }
  // The input of layer l as its W step sees it: a_{l-1} (X for l = 0), or a_{l-1} S.
  const Matrix<Scalar>& mapped_input(Index l) const {
    if constexpr (LayerMap::identity)
      return m_problem->input(l);
    else
      return m_mapped_inputs[std::size_t(l)];
  }
  // Recomputes a_{l-1} S after a_{l-1} changed (nothing to do for the dense map).
  void propagate_input(Index l) {
    if constexpr (!LayerMap::identity)
      m_problem->layer_map().propagate(m_problem->input(l), m_mapped_inputs[std::size_t(l)]);
    (void)l;
  }
  // The kept product of layer l from scratch: W_l a_{l-1}, or W_l (a_{l-1} S).
  void compute_product(Index l) {
    samples().template sample_product<Scalar>(
        m_products[std::size_t(l)], m_problem->network().layer(l).W, mapped_input(l), Scalar(1));
  }

  void check_param() const {
    m_param.check();
    if (bf16_products()) {
      const std::string reason = detail::bf16_unavailable_reason();
      if (!reason.empty())
        throw std::invalid_argument("Param::check: product_precision BFloat16: " + reason);
    }
#ifdef DLADMM_NO_EXACT_SOLVER
    if (m_param.solver == SubproblemSolver::Exact)
      throw std::invalid_argument(
          "Param::check: solver Exact was compiled out (DLADMM_NO_EXACT_SOLVER is defined): use "
          "Quadratic, or build without the definition");
#endif
    if (!LayerMap::identity && m_param.solver == SubproblemSolver::Exact)
      throw std::invalid_argument(
          std::string("Param::check: solver Exact has no closed-form a step with the layer map ") +
          LayerMap::name() + ": use Quadratic");
  }

  // What a deterministic sample reduction (ALGORITHM.md §8) cannot keep bit-identical for any
  // split: a layer map (it mixes samples of different processes) and a loss over some columns
  // (its compacted columns do not fall in the reduction's blocks). The same on every process:
  // every process throws.
  void check_deterministic(const Problem& problem) const {
    if (!problem.reduction().deterministic()) return;
    if (bf16_products())
      throw std::invalid_argument(
          "Solver::init: bf16 products (Param::product_precision) are not supported by a "
          "deterministic sample reduction: use the reduction's fast mode");
    if (!LayerMap::identity)
      throw std::invalid_argument(std::string("Solver::init: the layer map ") + LayerMap::name() +
                                  " is not supported by a deterministic sample reduction: use "
                                  "the dense map, or the reduction's fast mode");
    if (!problem.loss_on_every_column())
      throw std::invalid_argument(
          "Solver::init: a loss over some columns (set_loss_columns) is not supported by a "
          "deterministic sample reduction: use the reduction's fast mode");
  }

  // W_l (ALGORITHM.md §3.5), expanded at the current W_l.
  void update_weights(Index l) {
    Layer<Scalar>& layer = m_problem->network().layer(l);
    const LayerState<Scalar>& vars = m_problem->state().layer(l);
    Matrix<Scalar>& product = m_products[std::size_t(l)];
    Map residual = scratch(m_residual, layer.units());
    detail::constraint_residual(residual, vars.z, product, layer.b, dual_term(l), rho());
    Matrix<Scalar>& grad = m_weight_grad[std::size_t(l)];
#ifndef DLADMM_NO_EXACT_SOLVER
    if (m_param.solver == SubproblemSolver::Exact) {
      detail::weight_step_exact(layer.W, mapped_input(l), residual, product, grad, beta(l),
                                m_param.regularization, m_param.lambda, samples());
      return;
    }
#endif
    count(detail::weight_step_quadratic(layer.W, mapped_input(l), residual, product, grad,
                                        m_weight_trial[std::size_t(l)], beta(l),
                                        backtracking(m_schedule->theta), m_param.regularization,
                                        m_param.lambda, samples(), bf16()),
          m_info.weight_backtracks);
  }

  // a_l (ALGORITHM.md §3.2), coupled to layer l+1's current W, b, z.
  void update_activation(Index l) {
    auto& net = m_problem->network();
    LayerState<Scalar>& vars = m_problem->state().layer(l);
    const Layer<Scalar>& next = net.layer(l + 1);
    Matrix<Scalar>& product = m_products[std::size_t(l + 1)];
    Map residual = scratch(m_residual, next.units());
    Map grad = scratch(m_gradient, vars.a.rows());
    detail::constraint_residual(residual, m_problem->state().layer(l + 1).z, product, next.b,
                                dual_term(l + 1), rho());
#ifndef DLADMM_NO_EXACT_SOLVER
    if (m_param.solver == SubproblemSolver::Exact) {
      detail::activation_step_exact(vars.a, next.W, residual, product, vars.z, net.activation(),
                                    grad, beta(l + 1), nu(), samples());
      propagate_input(l + 1);
      return;
    }
#endif
    Map propagated = scratch(m_propagated, next.units());
    count(detail::activation_step_quadratic(
              vars.a, next.W, residual, product, vars.z, net.activation(), grad, beta(l + 1), nu(),
              backtracking(m_schedule->tau), m_problem->layer_map(), propagated, samples(), bf16()),
          m_info.activation_backtracks);
    propagate_input(l + 1);
  }

  // Hidden z_l (ALGORITHM.md §3.3).
  void update_hidden_z(Index l) {
    LayerState<Scalar>& vars = m_problem->state().layer(l);
    detail::hidden_z_step(vars.z, m_products[std::size_t(l)], m_problem->network().layer(l).b,
                          vars.a, m_problem->network().activation());
  }

  // b_l (ALGORITHM.md §3.4).
  void update_bias(Index l) {
    detail::bias_step(m_problem->network().layer(l).b, m_problem->state().layer(l).z,
                      m_products[std::size_t(l)], dual_term(l), rho(), samples(), m_bias_ws);
  }

  // z_L (ALGORITHM.md §3.6): m = W_L a_{L-1} + b_L - u / rho, computed once per solve. When
  // the loss covers some columns only (ALGORITHM.md §7), the others take their minimiser m and
  // the loss's solve runs on the loss columns, gathered. Over-relaxation (ALGORITHM.md §10)
  // applies to the forward pass's z_L step (\p relax): it keeps the z_L it starts from for the
  // dual step.
  void update_output(Index last, bool relax) {
    const Problem& problem = *m_problem;
    Matrix<Scalar>& z = m_problem->state().layer(last).z;
    const Matrix<Scalar>* relaxed_from = nullptr;
    if (relax && relaxed()) {
      m_relaxed_from = z;
      relaxed_from = &m_relaxed_from;
    }
    detail::output_target(m_output_target, m_products[std::size_t(last)],
                          problem.network().layer(last).b, problem.u(), rho(), m_param.relaxation,
                          relaxed_from);
    const OutputSolve<Scalar> solve{m_param.fista_step, m_param.fista_max_iterations,
                                    m_param.fista_tolerance};
    OutputReport report;
    if (problem.loss_on_every_column()) {
      report = problem.loss().update_output(z, problem.y(), m_output_target, rho(), solve,
                                            m_output_ws, samples());
    } else {
      problem.gather_loss_columns(z, m_loss_outputs);  // the warm start
      problem.gather_loss_columns(m_output_target, m_loss_output_target);
      report =
          problem.loss().update_output(m_loss_outputs, problem.loss_targets(), m_loss_output_target,
                                       rho(), solve, m_output_ws, samples());
      z = m_output_target;
      problem.scatter_loss_columns(m_loss_outputs, z);
    }
    m_info.fista_iterations += report.iterations;
    m_info.fista_cap_hits += report.hit_cap;
  }

  // u (ALGORITHM.md §3.7).
  void update_dual(Index last) {
    detail::dual_step(m_problem->u(), m_problem->state().layer(last).z,
                      m_products[std::size_t(last)], m_problem->network().layer(last).b, rho(),
                      m_param.relaxation, relaxed() ? &m_relaxed_from : nullptr);
  }
  bool relaxed() const { return m_param.relaxation != Scalar(1); }
  bool bf16_products() const { return m_param.product_precision == ProductPrecision::BFloat16; }
  // The bf16 product kernel of the W and a steps, or null (products in Scalar).
  detail::Bf16Products* bf16() { return m_bf16 ? &*m_bf16 : nullptr; }

  // Recomputes every kept product from scratch (bounds the drift of the incremental updates).
  void refresh_products() {
    for (Index l = 0; l < m_problem->network().num_layers(); ++l) compute_product(l);
  }

  void reset_counters() {
    m_info.weight_backtracks = m_info.activation_backtracks = m_info.backtrack_cap_hits = 0;
    m_info.fista_iterations = m_info.fista_cap_hits = 0;
    m_info.train_loss = m_info.train_accuracy = IterationInfo::nan;
    m_info.test_loss = m_info.test_accuracy = IterationInfo::nan;
  }

  // The objective, the layer residuals and the dual residual, completed over the samples in
  // one reduction.
  void record_figures(Index last) {
    const Problem& problem = *m_problem;
    m_info.iteration = m_iteration;
    m_info.rho = double(rho());
    m_info.nu = double(nu());
    const Index count = Index(m_figure_sums.size());
    const Matrix<Scalar>& z = problem.state().layer(last).z;
    samples().sum_columns(
        m_figure_sums.data(), count, problem.samples(), [&](Index first, Index n, double* sums) {
          problem.local_figure_sums(m_products, m_loss_outputs, sums, first, n);
          sums[count - 1] =
              detail::sum_squares(z.middleCols(first, n) - m_previous_output.middleCols(first, n));
        });
    m_info.objective =
        problem.augmented_lagrangian(m_figure_sums.data(), rho(), nu(), m_param.regularization,
                                     m_param.lambda, m_info.layer_residuals);
    m_info.primal_residual = m_info.layer_residuals.back();
    m_info.dual_residual = double(rho()) * std::sqrt(m_figure_sums.back());
  }

  // Training loss and accuracy of a forward pass on the loss columns, if asked for (the
  // Reference rule needs them).
  void evaluate_training_set() {
    if (!m_param.evaluate_training_set && !m_schedule->needs_training_loss()) return;
    const Problem& problem = *m_problem;
    const auto& net = problem.network();
    const Metrics train =
        problem.loss_on_every_column()
            ? net.evaluate(problem.loss(), problem.x(), problem.y(), m_forward, problem.layer_map(),
                           samples())
            : net.evaluate_columns(problem.loss(), problem.x(), problem.y(), problem.loss_columns(),
                                   m_forward, problem.layer_map(), samples());
    m_info.train_loss = train.loss;
    m_info.train_accuracy = train.accuracy;
  }

  // The figures are sums over every sample, so every process of a split run agrees on this.
  bool figures_finite() const {
    bool finite = std::isfinite(m_info.objective) && std::isfinite(m_info.dual_residual);
    for (double r : m_info.layer_residuals) finite = finite && std::isfinite(r);
    return finite;
  }

  // Converged when the RMS of r_L and of rho (z_L^{k+1} - z_L^k) are within their tolerances.
  void test_convergence() {
    const double entries =
        double(m_problem->y().rows()) * double(samples().total_samples(m_problem->samples()));
    if (std::sqrt(m_info.primal_residual / entries) <= double(m_param.primal_tolerance) &&
        m_info.dual_residual / std::sqrt(entries) <= double(m_param.dual_tolerance))
      m_status = Status::Converged;
  }

  // Points the solver at the problem and sizes every buffer; draws and computes nothing.
  void attach(Problem& problem) {
    check_deterministic(problem);
    problem.reduction().check_samples(problem.samples(), "Solver::init");
    m_problem = &problem;
    m_iteration = 0;
    m_status = Status::Running;
    auto& net = problem.network();
    const Index layers = net.num_layers(), n = problem.samples();
    m_schedule.emplace(m_param.schedule_settings(net.min_hidden_width()));
    m_data_finite = problem.reduction().all(problem.x().allFinite() && problem.y().allFinite());
    m_products.resize(std::size_t(layers));
    for (Index l = 0; l < layers; ++l) m_products[std::size_t(l)].resize(net.layer(l).units(), n);
    if constexpr (!LayerMap::identity) {
      m_mapped_inputs.resize(std::size_t(layers));
      for (Index l = 0; l < layers; ++l)
        m_mapped_inputs[std::size_t(l)].resize(net.layer(l).inputs(), n);
      if (m_data_finite) problem.layer_map().propagate(problem.x(), m_mapped_inputs[0]);
      m_propagated.resize(net.max_width() * n);
    }
    m_residual.resize(net.max_width() * n);  // every step's rows are a layer's units
    m_gradient.resize(net.max_width() * n);
    m_weight_grad.resize(std::size_t(layers));
    m_weight_trial.resize(std::size_t(layers));
    for (Index l = 0; l < layers; ++l) {
      m_weight_grad[std::size_t(l)].resize(net.layer(l).units(), net.layer(l).inputs());
      if (m_param.regularization == Regularization::L1)
        m_weight_trial[std::size_t(l)].resize(net.layer(l).units(), net.layer(l).inputs());
    }
    m_output_target.resize(net.outputs(), n);
    m_previous_output.resize(net.outputs(), n);
    if (relaxed()) m_relaxed_from.resize(net.outputs(), n);
    m_bf16.reset();
    if (bf16_products()) {  // operands: W or its gradient, or a layer's input, residual or gradient
      Index largest = std::max(net.max_width(), net.inputs()) * n;
      for (Index l = 0; l < layers; ++l)
        largest = std::max(largest, net.layer(l).units() * net.layer(l).inputs());
      m_bf16.emplace();
      m_bf16->reserve(largest, largest);
    }
    m_loss_samples = problem.loss_samples();
    if (!problem.loss_on_every_column()) {
      m_loss_outputs.resize(net.outputs(), m_loss_samples);
      m_loss_output_target.resize(net.outputs(), m_loss_samples);
    }
    m_output_ws.resize(net.outputs(), problem.loss_samples());
    m_bias_ws.resize(net.max_width());
    m_figure_sums.assign(std::size_t(problem.figure_sums() + 1), 0.0);  // + the dual residual
    m_info = IterationInfo();
    m_info.layer_residuals.resize(std::size_t(layers));
    if (m_data_finite && (m_param.evaluate_training_set || m_schedule->needs_training_loss()))
      net.evaluate(problem.loss(), problem.x(), problem.y(), m_forward, problem.layer_map(),
                   problem.reduction());  // sizes the buffers (as evaluate_columns needs them)
    m_last_finite_layers.clear();
    m_last_finite_state = TrainingState<Scalar>();
  }

  // Copies the variables (Param::keep_last_finite); allocates only on the first call.
  void keep_last_finite() {
    if (!m_param.keep_last_finite) return;
    m_last_finite_layers = m_problem->network().layers();
    m_last_finite_state = m_problem->state();
  }

  // After a non-finite iteration: back to the last finite variables and iteration count (the
  // figures of the failed iteration stay in info(); the schedule was not updated).
  void roll_back() {
    if (!m_param.keep_last_finite) return;
    m_problem->network().layers() = m_last_finite_layers;
    m_problem->state() = m_last_finite_state;
    for (Index l = 1; l < m_problem->network().num_layers(); ++l) propagate_input(l);
    refresh_products();
    --m_iteration;
  }

  Param<Scalar> m_param;
  Problem* m_problem = nullptr;
  Status m_status = Status::Running;
  int m_iteration = 0;
  bool m_data_finite = true;
  bool m_restored = false;  // restored by load_checkpoint(): minimize() would discard the run
  std::optional<RhoScheduler<Scalar>> m_schedule;
  std::vector<Matrix<Scalar>> m_products;  // W_l a_{l-1} (S), kept current by every W and a step
  std::vector<Matrix<Scalar>> m_mapped_inputs;      // a_{l-1} S: layer maps other than the identity
  std::vector<Layer<Scalar>> m_last_finite_layers;  // Param::keep_last_finite
  TrainingState<Scalar> m_last_finite_state;
  Vector<Scalar> m_residual, m_gradient, m_propagated;  // widest x N scratch, viewed through Map
  std::vector<Matrix<Scalar>> m_weight_grad, m_weight_trial;
  Matrix<Scalar> m_output_target, m_previous_output;
  Matrix<Scalar> m_relaxed_from;               // z_L before the last z_L step, with over-relaxation
  std::optional<detail::Bf16Products> m_bf16;  // Param::product_precision BFloat16
  Index m_loss_samples = 0;                    // the problem's, when attached
  Matrix<Scalar> m_loss_outputs, m_loss_output_target;  // z_L and m on the loss columns
  detail::BiasWorkspace m_bias_ws;
  std::vector<double> m_figure_sums;  // the sums over samples of the figures
  typename Problem::Loss::template Workspace<Scalar> m_output_ws;
  typename Problem::NetworkType::ForwardWorkspace m_forward;
  IterationInfo m_info;
};

}  // namespace dladmm
