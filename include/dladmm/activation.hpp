/// \file activation.hpp
/// \brief Hidden-layer activations: the function f and the closed-form hidden z update.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>

namespace dladmm {

/// \brief The rectified linear unit f(x) = max(x, 0).
struct Relu {
  /// \brief f(x).
  template <typename Scalar>
  Scalar operator()(Scalar x) const {
    return std::max(x, Scalar(0));
  }

  /// \brief The minimiser of (z - m)^2 + (a - f(z))^2 over z (ALGORITHM.md §3.3): the better of
  /// the candidates min(m, 0) and max((m + a) / 2, 0); ties go to the non-positive candidate.
  /// \param m the pre-activation target W a_{l-1} + b.
  /// \param a the activation target.
  template <typename Scalar>
  Scalar z_update(Scalar m, Scalar a) const {
    const Scalar neg = std::min(m, Scalar(0));
    const Scalar pos = std::max((m + a) / Scalar(2), Scalar(0));
    const Scalar h_neg = (neg - m) * (neg - m) + a * a;
    const Scalar h_pos = (pos - m) * (pos - m) + (a - pos) * (a - pos);
    return h_neg > h_pos ? pos : neg;
  }

  /// \brief A short name for messages and logs.
  static const char* name() { return "relu"; }
  /// \brief The activation's parameter as stored in checkpoints and model files: 0 (none).
  double parameter() const { return 0; }
};

/// \brief The leaky rectified linear unit f(x) = max(x, alpha x), 0 <= alpha < 1.
struct LeakyRelu {
  /// \brief Slope on the negative side. Default 0.01.
  double alpha = 0.01;

  /// \brief Default slope 0.01.
  LeakyRelu() = default;
  /// \brief Slope \p slope; throws std::invalid_argument unless 0 <= slope < 1.
  explicit LeakyRelu(double slope) : alpha(slope) {
    if (!(slope >= 0 && slope < 1))
      throw std::invalid_argument("LeakyRelu: alpha must be in [0, 1), got " +
                                  std::to_string(slope));
  }

  /// \brief f(x).
  template <typename Scalar>
  Scalar operator()(Scalar x) const {
    return x > 0 ? x : Scalar(alpha) * x;
  }

  /// \brief The minimiser of (z - m)^2 + (a - f(z))^2 over z (ALGORITHM.md §3.3, leaky form):
  /// the better of min((m + alpha a) / (1 + alpha^2), 0) and max((m + a) / 2, 0); ties go to
  /// the non-positive candidate.
  template <typename Scalar>
  Scalar z_update(Scalar m, Scalar a) const {
    const Scalar s = Scalar(alpha);
    const Scalar neg = std::min((m + s * a) / (Scalar(1) + s * s), Scalar(0));
    const Scalar pos = std::max((m + a) / Scalar(2), Scalar(0));
    const Scalar h_neg = (neg - m) * (neg - m) + (a - s * neg) * (a - s * neg);
    const Scalar h_pos = (pos - m) * (pos - m) + (a - pos) * (a - pos);
    return h_neg > h_pos ? pos : neg;
  }

  /// \brief A short name for messages and logs.
  static const char* name() { return "leaky_relu"; }
  /// \brief The activation's parameter as stored in checkpoints and model files: the slope
  /// alpha.
  double parameter() const { return alpha; }
};

}  // namespace dladmm
