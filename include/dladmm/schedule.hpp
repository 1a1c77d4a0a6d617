/// \file schedule.hpp
/// \brief RhoScheduler: the rho schedules Fixed, Step, Reference and Balanced (ALGORITHM.md
/// §4.1, §4.2, §10) and the backtracking start values theta and tau that the Reference and
/// Balanced rules scale with rho.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "config.hpp"

namespace dladmm {

/// \brief How rho changes between iterations (ALGORITHM.md §4.1, §4.2).
enum class RhoSchedule {
  Fixed,      ///< rho stays at its initial value.
  Step,       ///< rho *= rho_step_factor every rho_step_every iterations, up to rho_max.
  Reference,  ///< The reference implementation's adaptive rule (§4.2).
  Balanced    ///< Residual balancing (Boyd et al. 2011, §3.4.1; ALGORITHM.md §10).
};

/// \brief What a RhoScheduler needs: the schedule, the start values and the rule's constants
/// (Param::schedule_settings() fills them from the solver's parameters).
template <typename Scalar>
struct ScheduleSettings {
  RhoSchedule kind = RhoSchedule::Reference;  ///< The schedule.
  Scalar rho = Scalar(1e-6);                  ///< Initial rho.
  Scalar theta = Scalar(1);                   ///< Initial start curvature of the W steps.
  Scalar tau = Scalar(1);                     ///< Initial start curvature of the a steps.
  int step_every = 100;                       ///< Step: raise rho every this many iterations.
  Scalar factor = Scalar(10);  ///< Step, Reference: factor of each raise; Balanced: of each move.
  Scalar max = Scalar(0.1);    ///< Step, Reference, Balanced: cap on rho.
  int patience = 3;  ///< Reference: raise after the training loss rose this many times running.
  bool scale_curvature = true;        ///< Reference, Balanced: theta and tau follow rho.
  Scalar min = Scalar(1e-8);          ///< Balanced: floor of rho.
  Scalar balance_ratio = Scalar(10);  ///< Balanced: the residual ratio that moves rho.
  int balance_until = 0;  ///< Balanced: rho stays fixed after this iteration (0: never fixed).
};

/// \brief The penalty rho and the curvature starts theta, tau as they change over a run.
/// Plain state that a checkpoint can save and restore.
/// \tparam Scalar float or double.
template <typename Scalar>
class RhoScheduler {
 public:
  /// \brief Starts from settings.rho, settings.theta and settings.tau.
  explicit RhoScheduler(const ScheduleSettings<Scalar>& settings)
      : rho(settings.rho),
        theta(settings.theta),
        tau(settings.tau),
        m_kind(settings.kind),
        m_every(settings.step_every),
        m_factor(settings.factor),
        m_max(settings.max),
        m_patience(settings.patience),
        m_scale_curvature(settings.scale_curvature),
        m_min(settings.min),
        m_balance_ratio(settings.balance_ratio),
        m_balance_until(settings.balance_until) {
    losses.reserve(std::size_t(m_patience) + 2);
  }

  /// \brief True if update() needs the training loss (the Reference rule).
  bool needs_training_loss() const { return m_kind == RhoSchedule::Reference; }

  /// \brief Applies the schedule after iteration \p iteration (1-based) with training loss
  /// \p training_loss (mean per sample; read only by the Reference rule), primal residual
  /// \p primal = ||r_L|| and dual residual \p dual = rho ||z_L^{k+1} - z_L^k|| (read only by the
  /// Balanced rule).
  /// \return true if rho changed.
  bool update(int iteration, double training_loss, double primal = 0, double dual = 0) {
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
      case RhoSchedule::Balanced:
        if (m_balance_until > 0 && iteration > m_balance_until) return false;
        if (primal > m_balance_ratio * dual) return scale(m_factor);
        if (dual > m_balance_ratio * primal) return scale(Scalar(1) / m_factor);
        return false;
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

  // Balanced: rho times \p by within [min, max]; theta and tau follow by the factor rho moved
  // (unlike raise(), nothing moves once rho sits at a bound).
  bool scale(Scalar by) {
    const Scalar before = rho;
    rho = std::clamp(rho * by, m_min, m_max);
    if (rho == before) return false;
    if (m_scale_curvature) {
      theta *= rho / before;
      tau *= rho / before;
    }
    return true;
  }

  RhoSchedule m_kind;
  int m_every;
  Scalar m_factor, m_max;
  int m_patience;
  bool m_scale_curvature;
  Scalar m_min, m_balance_ratio;
  int m_balance_until;
};

}  // namespace dladmm
