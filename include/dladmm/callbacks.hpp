/// \file callbacks.hpp
/// \brief Callbacks for Solver::minimize(): Evaluate, PrintProgress, ProgressBar, History (with
/// CSV output), EarlyStopping and TimeLimit. A callback is any object with some of the hooks
/// `begin(const Solver&)`, `iteration(const Solver&, IterationInfo&)` (returning bool: true
/// stops the run; or void) and `end(const Solver&, const Result&)`, found at compile time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "config.hpp"
#include "iteration_info.hpp"
#include "layer_map.hpp"
#include "network.hpp"
#include "status.hpp"

namespace dladmm {

/// \brief Evaluates the network on a held-out set every \p every iterations (and at the last)
/// and stores the mean loss and accuracy in IterationInfo::test_loss / test_accuracy. Put it
/// before the callbacks that print or record them.
///
/// The sums go through the problem's sample reduction (the forward pass takes the dense map):
/// in a data-parallel run each process may hold a slice of the held-out set, and every process
/// gets the figures of the whole set (and so takes the same decision, EarlyStopping's say);
/// a process holding all of it gets the same figures, up to rounding.
/// \tparam Scalar float or double.
template <typename Scalar>
class Evaluate {
 public:
  /// \param x held-out inputs n_0 x M and \param y targets n_L x M; both are referenced, not
  /// copied, and must outlive the run (temporaries are refused at compile time).
  /// \param every evaluate every this many iterations (>= 1).
  /// \throws std::invalid_argument if every < 1 or x and y disagree in samples.
  Evaluate(const Matrix<Scalar>& x, const Matrix<Scalar>& y, int every = 1)
      : m_x(x), m_y(y), m_every(every) {
    if (every < 1) throw std::invalid_argument("Evaluate: every must be >= 1");
    if (x.cols() != y.cols())
      throw std::invalid_argument("Evaluate: " + std::to_string(x.cols()) + " samples but " +
                                  std::to_string(y.cols()) + " target columns");
  }
  /// \brief Refused: the inputs would dangle (keep them in named variables).
  Evaluate(Matrix<Scalar>&&, const Matrix<Scalar>&, int = 1) = delete;
  /// \brief Refused: the targets would dangle (keep them in named variables).
  Evaluate(const Matrix<Scalar>&, Matrix<Scalar>&&, int = 1) = delete;
  /// \brief Refused: inputs and targets would dangle (keep them in named variables).
  Evaluate(Matrix<Scalar>&&, Matrix<Scalar>&&, int = 1) = delete;

  /// \brief Checks, before the first iteration, that the held-out set fits the network.
  /// \throws std::invalid_argument naming both shapes if x does not have n_0 rows or y n_L.
  template <typename SolverT>
  void begin(const SolverT& solver) {
    const auto& net = solver.problem()->network();
    if (m_x.rows() != net.inputs() || m_y.rows() != net.outputs())
      throw std::invalid_argument("Evaluate: the held-out set has " + std::to_string(m_x.rows()) +
                                  " features and " + std::to_string(m_y.rows()) +
                                  " target rows, the network takes " +
                                  std::to_string(net.inputs()) + " inputs and gives " +
                                  std::to_string(net.outputs()) + " outputs");
  }

  /// \brief Fills info.test_loss and info.test_accuracy every `every` iterations and at the
  /// last iteration.
  template <typename SolverT>
  void iteration(const SolverT& solver, IterationInfo& info) {
    const bool final_iteration = info.iteration >= solver.param().max_iterations;
    if (info.iteration % m_every != 0 && !final_iteration) return;
    const auto* problem = solver.problem();
    const Metrics m = problem->network().evaluate(problem->loss(), m_x, m_y, m_buffers, DenseMap(),
                                                  problem->reduction());
    info.test_loss = m.loss;
    info.test_accuracy = m.accuracy;
  }

 private:
  const Matrix<Scalar>& m_x;
  const Matrix<Scalar>& m_y;
  int m_every;
  ForwardWorkspace<Scalar> m_buffers;
};

/// \brief Evaluates the network on some columns of the training problem itself, every \p every
/// iterations (and at the last): a graph's validation and test nodes, whose forward pass needs
/// the whole graph through the problem's layer map. Fills IterationInfo::val_loss / val_accuracy
/// from the validation columns and test_loss / test_accuracy from the test columns (an empty
/// list leaves its figures NaN). Put it before the callbacks that print or record them.
/// \tparam Scalar float or double.
template <typename Scalar>
class EvaluateColumns {
 public:
  /// \param validation the validation columns; \param test the test columns (any order, kept
  /// sorted); \param every evaluate every this many iterations (>= 1).
  /// \throws std::invalid_argument if every < 1 or a list holds a duplicate.
  EvaluateColumns(std::vector<Index> validation, std::vector<Index> test, int every = 1)
      : m_validation(sorted(std::move(validation), "validation")),
        m_test(sorted(std::move(test), "test")),
        m_every(every) {
    if (every < 1) throw std::invalid_argument("EvaluateColumns: every must be >= 1");
  }

  /// \brief Checks, before the first iteration, that every column is one of the problem's.
  /// \throws std::invalid_argument naming the list and the column otherwise.
  template <typename SolverT>
  void begin(const SolverT& solver) {
    const Index samples = solver.problem()->samples();
    for (const auto* list : {&m_validation, &m_test})
      if (!list->empty() && (list->front() < 0 || list->back() >= samples))
        throw std::invalid_argument(
            std::string("EvaluateColumns: ") + (list == &m_test ? "test" : "validation") +
            " column " + std::to_string(list->front() < 0 ? list->front() : list->back()) +
            " is outside the problem's " + std::to_string(samples) + " columns");
  }

  /// \brief Fills the validation and test figures every `every` iterations and at the last.
  template <typename SolverT>
  void iteration(const SolverT& solver, IterationInfo& info) {
    const bool final_iteration = info.iteration >= solver.param().max_iterations;
    if (info.iteration % m_every != 0 && !final_iteration) return;
    const auto& problem = *solver.problem();
    auto metrics = [&](const std::vector<Index>& columns) {
      return problem.network().evaluate_columns(problem.loss(), problem.x(), problem.y(), columns,
                                                m_buffers, problem.layer_map(),
                                                problem.reduction());
    };
    if (!m_validation.empty()) {
      const Metrics m = metrics(m_validation);
      info.val_loss = m.loss;
      info.val_accuracy = m.accuracy;
    }
    if (!m_test.empty()) {
      const Metrics m = metrics(m_test);
      info.test_loss = m.loss;
      info.test_accuracy = m.accuracy;
    }
  }

 private:
  static std::vector<Index> sorted(std::vector<Index> columns, const char* which) {
    std::sort(columns.begin(), columns.end());
    const auto twice = std::adjacent_find(columns.begin(), columns.end());
    if (twice != columns.end())
      throw std::invalid_argument(std::string("EvaluateColumns: ") + which + " column " +
                                  std::to_string(*twice) + " is given twice");
    return columns;
  }

  std::vector<Index> m_validation, m_test;
  int m_every;
  ForwardWorkspace<Scalar> m_buffers;
};

/// \brief Formats a figure for logs: NaN as "-", else 6 significant digits.
inline std::string format_figure(double value) {
  if (std::isnan(value)) return "-";
  std::ostringstream out;
  out << std::setprecision(6) << value;
  return out.str();
}

/// \brief Prints one line per iteration (iteration, objective, primal residual, rho, train,
/// validation if asked for, and test accuracy, seconds) to a stream, every \p every iterations,
/// and a summary at the end.
class PrintProgress {
 public:
  /// \param out the stream (default std::cout); \param every print every this many iterations;
  /// \param validation also print the validation accuracy (EvaluateColumns fills it).
  explicit PrintProgress(std::ostream& out = std::cout, int every = 1, bool validation = false)
      : m_out(out), m_every(every < 1 ? 1 : every), m_validation(validation) {}

  /// \brief Prints the column header.
  template <typename SolverT>
  void begin(const SolverT&) {
    m_out << "iter  objective      primal_res    rho        train_acc  "
          << (m_validation ? "val_acc    " : "") << "test_acc  seconds\n";
  }

  /// \brief Prints the line of this iteration.
  template <typename SolverT>
  void iteration(const SolverT&, IterationInfo& info) {
    if (info.iteration % m_every != 0) return;
    char line[256];
    char validation[32] = "";
    if (m_validation)
      std::snprintf(validation, sizeof validation, "%-9s  ",
                    format_figure(info.val_accuracy).c_str());
    std::snprintf(line, sizeof line, "%4d  %-13s  %-12s  %-9s  %-9s  %s%-8s  %.3f\n",
                  info.iteration, format_figure(info.objective).c_str(),
                  format_figure(info.primal_residual).c_str(), format_figure(info.rho).c_str(),
                  format_figure(info.train_accuracy).c_str(), validation,
                  format_figure(info.test_accuracy).c_str(), info.seconds);
    m_out << line << std::flush;
  }

  /// \brief Prints the summary: status, iterations (in all, and in this call if fewer), this
  /// call's time, final accuracies and any cap hits.
  template <typename SolverT>
  void end(const SolverT&, const Result& result) {
    m_out << "status " << to_string(result.status) << ", " << result.iterations << " iterations";
    if (result.iterations_this_call != result.iterations)
      m_out << " (" << result.iterations_this_call << " in this run)";
    m_out << ", " << std::fixed << std::setprecision(2) << result.seconds
          << " s of updates, train accuracy " << format_figure(result.last.train_accuracy)
          << ", test accuracy " << format_figure(result.last.test_accuracy);
    if (result.backtrack_cap_hits > 0 || result.fista_cap_hits > 0)
      m_out << "; caps hit: " << result.backtrack_cap_hits << " backtracking, "
            << result.fista_cap_hits << " FISTA";
    m_out << "\n";
    m_out.unsetf(std::ios::floatfield);
  }

 private:
  std::ostream& m_out;
  int m_every;
  bool m_validation;
};

/// \brief A progress bar redrawn in place (carriage return) for terminals, with the current
/// objective and accuracies, then a summary line.
class ProgressBar {
 public:
  /// \param out the stream (default std::cerr); \param width characters of the bar.
  explicit ProgressBar(std::ostream& out = std::cerr, int width = 30)
      : m_out(out), m_width(width < 5 ? 5 : width) {}

  /// \brief Redraws the bar.
  template <typename SolverT>
  void iteration(const SolverT& solver, IterationInfo& info) {
    const int total = solver.param().max_iterations;
    const int filled = int(double(m_width) * info.iteration / total);
    std::string bar(std::size_t(filled), '=');
    bar.resize(std::size_t(m_width), ' ');
    m_out << "\r[" << bar << "] " << info.iteration << "/" << total << " obj "
          << format_figure(info.objective) << " train " << format_figure(info.train_accuracy)
          << " test " << format_figure(info.test_accuracy) << "   " << std::flush;
  }

  /// \brief Ends the bar's line and prints the summary.
  template <typename SolverT>
  void end(const SolverT& solver, const Result& result) {
    m_out << "\n";
    PrintProgress(m_out).end(solver, result);
  }

 private:
  std::ostream& m_out;
  int m_width;
};

/// \brief Records every iteration's figures; writes them as the history CSV of DESIGN.md.
class History {
 public:
  /// \brief Appends the iteration's figures.
  template <typename SolverT>
  void iteration(const SolverT&, IterationInfo& info) {
    rows.push_back(info);
  }

  /// \brief The CSV header: iteration,time_s,objective,primal_residual,rho,train_loss,
  /// train_accuracy,test_loss,test_accuracy, then dual_residual, nu, the backtracking and
  /// FISTA counts, r_1..r_L (squared residual of each layer), and val_loss,val_accuracy if a
  /// row has a validation figure (EvaluateColumns: graph runs).
  std::string csv_header() const {
    std::string header =
        "iteration,time_s,objective,primal_residual,rho,train_loss,train_accuracy,test_loss,"
        "test_accuracy,dual_residual,nu,weight_backtracks,activation_backtracks,"
        "backtrack_cap_hits,fista_iterations,fista_cap_hits";
    const std::size_t layers = rows.empty() ? 0 : rows.front().layer_residuals.size();
    for (std::size_t l = 0; l < layers; ++l) header += ",r" + std::to_string(l + 1);
    if (has_validation()) header += ",val_loss,val_accuracy";
    return header;
  }

  /// \brief True if a row has a validation loss or accuracy.
  bool has_validation() const {
    return std::any_of(rows.begin(), rows.end(), [](const IterationInfo& r) {
      return !std::isnan(r.val_loss) || !std::isnan(r.val_accuracy);
    });
  }

  /// \brief Writes the CSV to \p out: the header and one row per recorded iteration; NaN
  /// figures are written as empty fields.
  void write_csv(std::ostream& out) const {
    out << csv_header() << "\n" << std::setprecision(9);
    auto field = [&out](double v) {
      out << ',';
      if (!std::isnan(v)) out << v;
    };
    const bool validation = has_validation();
    for (const IterationInfo& r : rows) {
      out << r.iteration;
      for (double v : {r.seconds, r.objective, r.primal_residual, r.rho, r.train_loss,
                       r.train_accuracy, r.test_loss, r.test_accuracy, r.dual_residual, r.nu})
        field(v);
      out << ',' << r.weight_backtracks << ',' << r.activation_backtracks << ','
          << r.backtrack_cap_hits << ',' << r.fista_iterations << ',' << r.fista_cap_hits;
      for (double v : r.layer_residuals) field(v);
      if (validation)
        for (double v : {r.val_loss, r.val_accuracy}) field(v);
      out << "\n";
    }
  }

  /// \brief Writes the CSV to \p path atomically: to a temporary file beside it, then renamed,
  /// so that a reader never sees a half-written file.
  /// \throws std::runtime_error naming the file if it cannot be written.
  void write_csv(const std::string& path) const {
    const std::string temporary = path + ".tmp";
    {
      std::ofstream out(temporary, std::ios::trunc);
      if (!out) throw std::runtime_error("History::write_csv: cannot write " + temporary);
      write_csv(out);
      out.flush();
      if (!out) {
        std::remove(temporary.c_str());
        throw std::runtime_error("History::write_csv: error while writing " + temporary);
      }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      std::remove(temporary.c_str());
      throw std::runtime_error("History::write_csv: cannot rename " + temporary + " to " + path);
    }
  }

  std::vector<IterationInfo> rows;  ///< One entry per iteration.
};

/// \brief Which figure EarlyStopping watches.
enum class Monitor {
  TestAccuracy,  ///< IterationInfo::test_accuracy (higher is better).
  TestLoss,      ///< IterationInfo::test_loss (lower is better).
  TrainLoss,     ///< IterationInfo::train_loss (lower is better).
  ValAccuracy,   ///< IterationInfo::val_accuracy (higher is better; EvaluateColumns).
  ValLoss        ///< IterationInfo::val_loss (lower is better; EvaluateColumns).
};

/// \brief Stops the run when the monitored figure has not improved for \p patience
/// evaluations (iterations where it is not NaN).
class EarlyStopping {
 public:
  /// \param monitor the figure; \param patience evaluations without improvement (>= 1);
  /// \param min_delta the smallest change that counts as an improvement (>= 0).
  /// \throws std::invalid_argument on patience < 1 or min_delta < 0.
  explicit EarlyStopping(Monitor monitor = Monitor::TestAccuracy, int patience = 10,
                         double min_delta = 0)
      : m_monitor(monitor), m_patience(patience), m_min_delta(min_delta) {
    if (patience < 1) throw std::invalid_argument("EarlyStopping: patience must be >= 1");
    if (!(min_delta >= 0)) throw std::invalid_argument("EarlyStopping: min_delta must be >= 0");
  }

  /// \brief True (stop) once `patience` evaluations passed without improvement.
  template <typename SolverT>
  bool iteration(const SolverT&, IterationInfo& info) {
    double value = m_monitor == Monitor::TestAccuracy  ? -info.test_accuracy
                   : m_monitor == Monitor::TestLoss    ? info.test_loss
                   : m_monitor == Monitor::ValAccuracy ? -info.val_accuracy
                   : m_monitor == Monitor::ValLoss     ? info.val_loss
                                                       : info.train_loss;
    if (std::isnan(value)) return false;
    if (value < m_best - m_min_delta) {
      m_best = value;
      best_iteration = info.iteration;
      m_waited = 0;
      return false;
    }
    return ++m_waited >= m_patience;
  }

  int best_iteration = 0;  ///< Iteration of the best figure so far.

 private:
  Monitor m_monitor;
  int m_patience;
  double m_min_delta;
  double m_best = std::numeric_limits<double>::infinity();
  int m_waited = 0;
};

/// \brief Stops the run once \p seconds of wall time have passed since the run began. In a
/// data-parallel run the clocks of the processes differ: the run stops when the time is up in
/// any process (through the problem's sample reduction), so all stop at the same iteration.
class TimeLimit {
 public:
  /// \throws std::invalid_argument unless seconds > 0.
  explicit TimeLimit(double seconds) : m_seconds(seconds) {
    if (!(seconds > 0)) throw std::invalid_argument("TimeLimit: seconds must be > 0");
  }
  /// \brief Starts the clock.
  template <typename SolverT>
  void begin(const SolverT&) {
    m_start = std::chrono::steady_clock::now();
  }
  /// \brief True (stop) once the time is up (in any process of a data-parallel run).
  template <typename SolverT>
  bool iteration(const SolverT& solver, IterationInfo&) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    return !solver.problem()->reduction().all(elapsed < m_seconds);
  }

 private:
  double m_seconds;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

}  // namespace dladmm
