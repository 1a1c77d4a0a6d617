/// \file state.hpp
/// \brief TrainingState<Scalar>: the per-sample ADMM variables z, a and u.
#pragma once

#include <vector>

#include "config.hpp"

namespace dladmm {

/// \brief The ADMM variables of one layer over the training samples: z_l (pre-activation,
/// n_l x N) and a_l (activation, n_l x N; empty for the output layer).
template <typename Scalar>
struct LayerState {
  Matrix<Scalar> z;  ///< Pre-activation variable, n_l x N.
  Matrix<Scalar> a;  ///< Activation variable, n_l x N (empty for the last layer).
};

/// \brief The per-sample ADMM variables of a training run (ALGORITHM.md §1.4): z_l and a_l of
/// every layer and the dual u (n_L x N) of the last layer's constraint. Every column belongs to
/// one sample, so the state splits by sample (the model, Network, does not).
template <typename Scalar>
struct TrainingState {
  std::vector<LayerState<Scalar>> layers;  ///< Layers 1..L (index 0..L-1).
  Matrix<Scalar> u;                        ///< Dual variable, n_L x N.

  /// \brief Zero variables for layers of \p units units (n_1..n_L) over \p samples samples.
  void resize(const std::vector<Index>& units, Index samples) {
    layers.resize(units.size());
    for (std::size_t l = 0; l < units.size(); ++l) {
      layers[l].z.setZero(units[l], samples);
      if (l + 1 < units.size())
        layers[l].a.setZero(units[l], samples);
      else
        layers[l].a.resize(0, 0);
    }
    u.setZero(units.empty() ? 0 : units.back(), samples);
  }

  /// \brief Layer l + 1 of the paper (0-based index).
  LayerState<Scalar>& layer(Index l) { return layers[std::size_t(l)]; }
  /// \brief Layer l + 1 of the paper (0-based index).
  const LayerState<Scalar>& layer(Index l) const { return layers[std::size_t(l)]; }

  /// \brief True if no variable holds a NaN or an infinity.
  bool all_finite() const {
    bool finite = u.allFinite();
    for (const auto& layer : layers) finite = finite && layer.z.allFinite() && layer.a.allFinite();
    return finite;
  }
};

}  // namespace dladmm
