/// \file param.hpp
/// \brief Param<Scalar>: every tunable of the solver, with its default and check().
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "schedule.hpp"

namespace dladmm {

/// \brief How the W and a blocks are solved (ALGORITHM.md §3.2, §3.5).
enum class SubproblemSolver {
  Quadratic,  ///< dlADMM: one quadratic-approximation step with backtracking (quadratic cost).
  Exact       ///< The closed-form minimiser through a linear solve (cubic cost), for comparison.
};

/// \brief How the variables are initialised (ALGORITHM.md §9.2).
enum class Initialization {
  Reference,  ///< W, b ~ N(0, init_stddev^2); hidden z, a by a forward pass; z_L = 2Y - 1; u = 0.
  Forward     ///< As Reference, but z_L = W_L a_{L-1} + b_L (a plain forward pass).
};

/// \brief The order of the block updates in one iteration (ALGORITHM.md §2, §10).
enum class Sweep {
  BackwardForward,  ///< Algorithm 1: a backward pass, a forward pass, then the dual step.
  Backward          ///< The backward pass alone, then the dual step (half the work).
};

/// \brief The precision of the large matrix products of the W and a steps (ALGORITHM.md §11).
enum class ProductPrecision {
  Scalar,   ///< The solver's scalar type, as every other computation.
  BFloat16  ///< bf16 inputs, float accumulation (oneDNN; Scalar float; AMX or AVX-512 BF16).
};

/// \brief Convex regulariser Omega(W) of every weight matrix, applied as a prox step (§3.1).
enum class Regularization {
  None,  ///< No regulariser (the reference implementation).
  L1,    ///< lambda * ||W||_1: soft-thresholding at lambda / c.
  L2     ///< (lambda / 2) * ||W||^2: W = (c W0 - G) / (c + lambda).
};

/// \brief All parameters of the dlADMM solver. Plain public fields with documented defaults;
/// call check() (the solver does) to validate them.
///
/// The defaults reproduce the reference implementation (ALGORITHM.md §4.1): nu tied to rho,
/// rho = 1e-6 with the adaptive rule, theta = tau = 1, doubling backtracking, FISTA with step 4,
/// 500 iterations and tolerance 1e-3, 200 iterations, N(0, 0.1^2) weights, z_L = 2Y - 1.
/// \tparam Scalar float or double.
template <typename Scalar>
struct Param {
  /// Initial ADMM penalty rho on the last layer's linear constraint. > 0. Default 1e-6.
  Scalar rho = Scalar(1e-6);
  /// If true (default), nu is always equal to the current rho, as in the reference code.
  bool nu_tied_to_rho = true;
  /// Penalty nu of the relaxed hidden-layer constraints when not tied to rho. > 0. Default 1e-6.
  Scalar nu = Scalar(1e-6);

  /// Initial curvature theta_0 of the W backtracking. > 0. Default 1.
  Scalar theta = Scalar(1);
  /// Initial curvature tau_0 of the a backtracking. > 0. Default 1.
  Scalar tau = Scalar(1);
  /// Factor by which backtracking raises the curvature per trial. > 1. Default 2.
  Scalar backtrack_factor = Scalar(2);
  /// Most curvature raises per W or a step; past it the block keeps its value and the cap hit is
  /// counted. In [1, 1000]. Default 60.
  int max_backtracks = 60;

  /// FISTA step eta for the cross-entropy z_L subproblem (§3.6). > 0. Default 4.
  Scalar fista_step = Scalar(4);
  /// Most FISTA iterations per z_L solve. >= 1. Default 500.
  int fista_max_iterations = 500;
  /// FISTA stops when the absolute change of its (summed) objective is below this. >= 0.
  /// Default 1e-3.
  Scalar fista_tolerance = Scalar(1e-3);

  /// Most dlADMM iterations minimize() takes. >= 1. Default 200.
  int max_iterations = 200;
  /// Converged when the root-mean-square entry of r_L = z_L - W_L a_{L-1} - b_L is at most this
  /// and the dual residual's is at most dual_tolerance. >= 0 (0 disables). Default 1e-6.
  Scalar primal_tolerance = Scalar(1e-6);
  /// Tolerance on the root-mean-square entry of rho (z_L^{k+1} - z_L^k). >= 0. Default 1e-6.
  Scalar dual_tolerance = Scalar(1e-6);

  /// Recompute the cached products W_l a_{l-1} from scratch every this many iterations (the
  /// solver otherwise updates them incrementally, which lets rounding drift). >= 1. Default 20.
  int product_refresh_every = 20;
  /// Compute the training loss and accuracy (a forward pass) after every iteration. The
  /// Reference rho schedule needs the loss and turns this on by itself. Default true.
  bool evaluate_training_set = true;
  /// Keep a copy of every W, b, z, a and u after each finite iteration, so that an iteration
  /// whose figures are NaN or infinite rolls the problem back to the last finite state before
  /// the run stops with NumericalIssue. Costs one more copy of those variables in memory and a
  /// copy per iteration. If false, a failed iteration leaves its values in place. Default true.
  bool keep_last_finite = true;

  /// Seed of the one random stream used for initialisation. Default 13.
  std::uint64_t seed = 13;
  /// Initialisation of z_L (see Initialization). Default Reference.
  Initialization initialization = Initialization::Reference;
  /// Standard deviation of the initial W and b entries. > 0. Default 0.1.
  Scalar init_stddev = Scalar(0.1);

  /// W and a solver. Default Quadratic (dlADMM).
  SubproblemSolver solver = SubproblemSolver::Quadratic;
  /// Regulariser of W. Default None. The Exact solver supports None and L2 only.
  Regularization regularization = Regularization::None;
  /// Regularisation weight lambda. >= 0. Default 0.
  Scalar lambda = Scalar(0);

  /// Order of the block updates. Default BackwardForward (Algorithm 1).
  Sweep sweep = Sweep::BackwardForward;
  /// Precision of the W and a steps' products W gradient, step product, W^T r and W G, when
  /// every dimension is at least 64 (ALGORITHM.md §11): BFloat16 rounds their inputs to bf16
  /// and accumulates in float, several times faster where the processor has AMX. Needs Scalar
  /// float, the Quadratic solver, a build with oneDNN (DLADMM_USE_ONEDNN) and a processor with
  /// AMX or AVX-512 BF16: the solver refuses it otherwise. Everything else stays in Scalar.
  /// Default Scalar.
  ProductPrecision product_precision = ProductPrecision::Scalar;
  /// Over-relaxation alpha of the forward pass's z_L step and the dual step (OSQP's alpha;
  /// ALGORITHM.md §10): W_L a_{L-1} + b_L is replaced there by alpha (W_L a_{L-1} + b_L) +
  /// (1 - alpha) z_L. In (0, 2); 1 (none) with the Backward sweep. Default 1.
  Scalar relaxation = Scalar(1);

  /// Rho schedule. Default Reference (the reference code's adaptive rule).
  RhoSchedule rho_schedule = RhoSchedule::Reference;
  /// Step schedule: multiply rho every this many iterations. >= 1. Default 100 (the paper).
  int rho_step_every = 100;
  /// Step, Reference and Balanced schedules: factor applied to rho when it is raised (Balanced:
  /// or lowered). > 1. Default 10.
  Scalar rho_factor = Scalar(10);
  /// Balanced schedule: rho is never lowered below this. > 0, <= rho. Default 1e-8.
  Scalar rho_min = Scalar(1e-8);
  /// Balanced schedule: rho is multiplied by rho_factor when the primal residual exceeds this
  /// times the dual one, and divided by it in the opposite case. > 1. Default 10 (Boyd et al.).
  Scalar balance_ratio = Scalar(10);
  /// Balanced schedule: rho stays fixed after this iteration, so that the tail of the run is
  /// ADMM with a fixed penalty (ALGORITHM.md §10). >= 0; 0: rho is never frozen. Default 0.
  int balance_until = 0;
  /// Step, Reference and Balanced schedules: rho is never raised above this. >= rho unless the
  /// schedule is Fixed. Default 0.1 (the reference code's cap).
  Scalar rho_max = Scalar(0.1);
  /// Reference schedule: rho rises after the training loss rose this many times in a row.
  /// In [1, 100000]. Default 3.
  int rho_patience = 3;
  /// Reference schedule: when rho rises and every hidden layer is at least this wide, theta and
  /// tau are multiplied by rho_factor too. >= 0. Default 100.
  int curvature_scale_min_width = 100;

  /// \brief The paper's configuration: the defaults above, as the reference implementation
  /// runs it (docs/RESULTS.md §1).
  static Param paper() { return Param(); }

  /// \brief The fastest settings to a given test accuracy found for the perceptron
  /// (docs/RESULTS.md §5): the paper's configuration with the backward pass alone
  /// (Sweep::Backward), which halves the work of an iteration and, on Fashion-MNIST, takes
  /// about as many iterations to a given accuracy. Like the paper's rho = 1e-6, it does not
  /// satisfy the convergence theorem's rho > 2H (ALGORITHM.md §10).
  static Param fast() {
    Param p;
    p.sweep = Sweep::Backward;
    return p;
  }

  /// \brief The settings of the rho schedule (RhoScheduler) these parameters give, for a
  /// network whose narrowest hidden layer has \p min_hidden_width units.
  ScheduleSettings<Scalar> schedule_settings(Index min_hidden_width) const {
    ScheduleSettings<Scalar> s;
    s.kind = rho_schedule;
    s.rho = rho;
    s.theta = theta;
    s.tau = tau;
    s.step_every = rho_step_every;
    s.factor = rho_factor;
    s.max = rho_max;
    s.patience = rho_patience;
    s.scale_curvature = min_hidden_width >= curvature_scale_min_width;
    s.min = rho_min;
    s.balance_ratio = balance_ratio;
    s.balance_until = balance_until;
    return s;
  }

  /// \brief Calls `visit(name, field)` for every field of \p self (a Param or const Param), in
  /// declaration order. Checkpoints save, load and compare the parameters through it.
  template <typename Self, typename Visitor>
  static void for_each_field(Self& self, Visitor&& visit) {
    visit("rho", self.rho);
    visit("nu_tied_to_rho", self.nu_tied_to_rho);
    visit("nu", self.nu);
    visit("theta", self.theta);
    visit("tau", self.tau);
    visit("backtrack_factor", self.backtrack_factor);
    visit("max_backtracks", self.max_backtracks);
    visit("fista_step", self.fista_step);
    visit("fista_max_iterations", self.fista_max_iterations);
    visit("fista_tolerance", self.fista_tolerance);
    visit("max_iterations", self.max_iterations);
    visit("primal_tolerance", self.primal_tolerance);
    visit("dual_tolerance", self.dual_tolerance);
    visit("product_refresh_every", self.product_refresh_every);
    visit("evaluate_training_set", self.evaluate_training_set);
    visit("keep_last_finite", self.keep_last_finite);
    visit("seed", self.seed);
    visit("initialization", self.initialization);
    visit("init_stddev", self.init_stddev);
    visit("solver", self.solver);
    visit("regularization", self.regularization);
    visit("lambda", self.lambda);
    visit("rho_schedule", self.rho_schedule);
    visit("rho_step_every", self.rho_step_every);
    visit("rho_factor", self.rho_factor);
    visit("rho_max", self.rho_max);
    visit("rho_patience", self.rho_patience);
    visit("curvature_scale_min_width", self.curvature_scale_min_width);
    // Checkpoint format version 3 added the fields below; older files hold the ones above.
    visit("sweep", self.sweep);
    visit("relaxation", self.relaxation);
    visit("rho_min", self.rho_min);
    visit("balance_ratio", self.balance_ratio);
    visit("balance_until", self.balance_until);
    // Checkpoint format version 4 added the field below.
    visit("product_precision", self.product_precision);
  }

  /// \brief How many fields for_each_field() visits before the ones checkpoint format version
  /// 3 added (the parameters of a version 1 or 2 checkpoint).
  static constexpr int fields_before_version_3 = 28;
  /// \brief How many fields for_each_field() visits before the one checkpoint format version 4
  /// added (the parameters of a version 3 checkpoint).
  static constexpr int fields_before_version_4 = 33;

  /// \brief Throws std::invalid_argument naming the first invalid field and its valid range.
  void check() const {
    require(std::isfinite(rho) && rho > 0, "rho", "must be finite and > 0");
    require(std::isfinite(nu) && nu > 0, "nu", "must be finite and > 0");
    require(std::isfinite(theta) && theta > 0, "theta", "must be finite and > 0");
    require(std::isfinite(tau) && tau > 0, "tau", "must be finite and > 0");
    require(std::isfinite(backtrack_factor) && backtrack_factor > 1, "backtrack_factor",
            "must be finite and > 1");
    require(max_backtracks >= 1 && max_backtracks <= 1000, "max_backtracks",
            "must be in [1, 1000]");
    require(std::isfinite(fista_step) && fista_step > 0, "fista_step", "must be finite and > 0");
    require(fista_max_iterations >= 1, "fista_max_iterations", "must be >= 1");
    require(std::isfinite(fista_tolerance) && fista_tolerance >= 0, "fista_tolerance",
            "must be finite and >= 0");
    require(max_iterations >= 1, "max_iterations", "must be >= 1");
    require(std::isfinite(primal_tolerance) && primal_tolerance >= 0, "primal_tolerance",
            "must be finite and >= 0");
    require(std::isfinite(dual_tolerance) && dual_tolerance >= 0, "dual_tolerance",
            "must be finite and >= 0");
    require(product_refresh_every >= 1, "product_refresh_every", "must be >= 1");
    require(std::isfinite(init_stddev) && init_stddev > 0, "init_stddev", "must be finite and > 0");
    require(std::isfinite(lambda) && lambda >= 0, "lambda", "must be finite and >= 0");
    require(!(solver == SubproblemSolver::Exact && regularization == Regularization::L1),
            "regularization", "L1 has no closed form: use None or L2 with the Exact solver");
    require(rho_step_every >= 1, "rho_step_every", "must be >= 1");
    require(std::isfinite(rho_factor) && rho_factor > 1, "rho_factor", "must be finite and > 1");
    require(std::isfinite(rho_max) && (rho_schedule == RhoSchedule::Fixed || rho_max >= rho),
            "rho_max", "must be finite and >= rho (unless rho_schedule is Fixed)");
    require(rho_patience >= 1 && rho_patience <= 100000, "rho_patience", "must be in [1, 100000]");
    require(std::isfinite(relaxation) && relaxation > 0 && relaxation < 2, "relaxation",
            "must be in (0, 2)");
    require(relaxation == Scalar(1) || sweep == Sweep::BackwardForward, "relaxation",
            "must be 1 with the Backward sweep (it relaxes the forward pass's last z_L step)");
    require(std::isfinite(rho_min) && rho_min > 0 &&
                (rho_schedule != RhoSchedule::Balanced || rho_min <= rho),
            "rho_min", "must be finite, > 0 and (with the Balanced schedule) <= rho");
    require(std::isfinite(balance_ratio) && balance_ratio > 1, "balance_ratio",
            "must be finite and > 1");
    require(balance_until >= 0, "balance_until", "must be >= 0");
    require(curvature_scale_min_width >= 0, "curvature_scale_min_width", "must be >= 0");
    require(product_precision == ProductPrecision::Scalar ||
                product_precision == ProductPrecision::BFloat16,
            "product_precision", "must be Scalar or BFloat16");
    require(product_precision == ProductPrecision::Scalar || std::is_same<Scalar, float>::value,
            "product_precision", "BFloat16 needs Scalar float");
    require(product_precision == ProductPrecision::Scalar || solver == SubproblemSolver::Quadratic,
            "product_precision", "BFloat16 applies to the Quadratic solver's steps only");
  }

 private:
  static void require(bool ok, const char* field, const char* range) {
    if (!ok) throw std::invalid_argument(std::string("Param::check: ") + field + " " + range);
  }
};

}  // namespace dladmm
