/// \file schedule.hpp
/// \brief RhoScheduler: the rho schedules Fixed, Step and Reference (ALGORITHM.md §4.1, §4.2)
/// and the backtracking start values theta and tau that the Reference rule scales with rho.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "config.hpp"
#include "param.hpp"

namespace dladmm {

/// \brief The penalty rho and the curvature starts theta, tau as they change over a run.
/// Plain state that a checkpoint can save and restore.
/// \tparam Scalar float or double.
template <typename Scalar>
class RhoScheduler {
 public:
  /// \brief Starts from param.rho, param.theta and param.tau.
  /// \param min_hidden_width the narrowest hidden layer (the Reference rule scales theta and
  /// tau only if it is at least param.curvature_scale_min_width).
  RhoScheduler(const Param<Scalar>& param, Index min_hidden_width)
      : rho(param.rho),
        theta(param.theta),
        tau(param.tau),
        m_kind(param.rho_schedule),
        m_every(param.rho_step_every),
        m_factor(param.rho_factor),
        m_max(param.rho_max),
        m_patience(param.rho_patience),
        m_scale_curvature(min_hidden_width >= param.curvature_scale_min_width) {
    losses.reserve(std::size_t(m_patience) + 2);
  }

  /// \brief True if update() needs the training loss (the Reference rule).
  bool needs_training_loss() const { return m_kind == RhoSchedule::Reference; }

  /// \brief Applies the schedule after iteration \p iteration (1-based) with training loss
  /// \p training_loss (mean per sample; read only by the Reference rule).
  /// \return true if rho changed.
  bool update(int iteration, double training_loss) {
    switch (m_kind) {
      case RhoSchedule::Fixed:
        return false;
      case RhoSchedule::Step:
        if (iteration % m_every != 0) return false;
        return raise(false);
      case RhoSchedule::Reference: {
        losses.push_back(training_loss);
        if (losses.size() > std::size_t(m_patience) + 1) losses.erase(losses.begin());
        if (losses.size() <= std::size_t(m_patience)) return false;
        for (std::size_t i = 1; i < losses.size(); ++i)
          if (!(losses[i] > losses[i - 1])) return false;
        return raise(m_scale_curvature);
      }
    }
    return false;
  }

  Scalar rho;                  ///< The current rho.
  Scalar theta;                ///< The current start theta_0 of the W backtracking.
  Scalar tau;                  ///< The current start tau_0 of the a backtracking.
  std::vector<double> losses;  ///< Reference rule: the last patience + 1 training losses.

 private:
  // The reference code raises rho (capped) and, for wide networks, theta and tau, every time
  // the rule fires, even once rho sits at its cap.
  bool raise(bool scale_curvature) {
    const Scalar before = rho;
    rho = std::min(rho * m_factor, m_max);
    if (scale_curvature) {
      theta *= m_factor;
      tau *= m_factor;
    }
    return rho != before;
  }

  RhoSchedule m_kind;
  int m_every;
  Scalar m_factor, m_max;
  int m_patience;
  bool m_scale_curvature;
};

}  // namespace dladmm
