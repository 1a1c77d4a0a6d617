/// \file status.hpp
/// \brief How a run ended.
#pragma once

namespace dladmm {

/// \brief Outcome of Solver::minimize() (and the solver's state after step()).
enum class Status {
  Running,            ///< Not finished: more iterations may be taken.
  Converged,          ///< Primal and dual residuals fell below their tolerances.
  IterationLimit,     ///< Param::max_iterations iterations were taken.
  StoppedByCallback,  ///< A callback's hook returned true.
  NumericalIssue      ///< A figure became NaN or infinite (or the data were not finite).
};

/// \brief A short lowercase name of the status ("converged", "iteration_limit", ...).
inline const char* to_string(Status status) {
  switch (status) {
    case Status::Running:
      return "running";
    case Status::Converged:
      return "converged";
    case Status::IterationLimit:
      return "iteration_limit";
    case Status::StoppedByCallback:
      return "stopped_by_callback";
    case Status::NumericalIssue:
      return "numerical_issue";
  }
  return "unknown";
}

}  // namespace dladmm
