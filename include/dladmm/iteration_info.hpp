/// \file iteration_info.hpp
/// \brief IterationInfo (the figures of one dlADMM iteration) and Result (what a run returns):
/// what callbacks, histories and checkpoints read, without the solver.
#pragma once

#include <limits>
#include <vector>

#include "status.hpp"

namespace dladmm {

/// \brief The figures of one dlADMM iteration.
struct IterationInfo {
  static constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  int iteration = 0;       ///< 1-based iteration number.
  double seconds = 0;      ///< Wall time of the updates alone (no metrics).
  double objective = nan;  ///< The augmented Lagrangian L_rho after the iteration.
  /// ||r_L||^2 = ||z_L - W_L a_{L-1} - b_L 1^T||^2, the residual of the constraint u enforces.
  double primal_residual = nan;
  /// ||r_l||^2 = ||z_l - W_l a_{l-1} - b_l 1^T||^2 for l = 1..L (the hidden ones are penalised,
  /// not driven to zero).
  std::vector<double> layer_residuals;
  double dual_residual = nan;     ///< rho ||z_L^{k+1} - z_L^k||.
  double rho = nan;               ///< rho used in this iteration.
  double nu = nan;                ///< nu used in this iteration.
  int weight_backtracks = 0;      ///< Curvature raises of all W steps.
  int activation_backtracks = 0;  ///< Curvature raises of all a steps.
  int backtrack_cap_hits = 0;     ///< W or a steps that hit Param::max_backtracks (block kept).
  int fista_iterations = 0;       ///< FISTA steps of both z_L solves.
  int fista_cap_hits = 0;         ///< z_L solves that hit Param::fista_max_iterations.
  double train_loss = nan;        ///< Mean loss per sample of a forward pass on the training set.
  double train_accuracy = nan;    ///< Training accuracy of that forward pass.
  double test_loss = nan;         ///< Filled by an evaluation callback, if any.
  double test_accuracy = nan;     ///< Filled by an evaluation callback, if any.
  double val_loss = nan;          ///< Validation loss, filled by EvaluateColumns, if any.
  double val_accuracy = nan;      ///< Validation accuracy, filled by EvaluateColumns, if any.
};

/// \brief What Solver::minimize() and Solver::run() return. `iterations` is the solver's
/// iteration count since init() (a resumed run counts the saved iterations too); every other
/// count and time covers this call alone, whose iterations are `iterations_this_call`.
struct Result {
  Status status = Status::Running;  ///< How the run ended.
  int iterations = 0;               ///< Iterations since init() (including resumed ones).
  int iterations_this_call = 0;     ///< Iterations taken by this call of minimize() or run().
  double seconds = 0;               ///< Wall time of this call's updates (no metrics).
  IterationInfo last;               ///< Figures of the last iteration.
  int backtrack_cap_hits = 0;       ///< This call's W or a steps that hit Param::max_backtracks.
  int fista_cap_hits = 0;           ///< This call's z_L solves that hit the FISTA cap.
};

}  // namespace dladmm
