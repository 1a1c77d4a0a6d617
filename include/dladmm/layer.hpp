/// \file layer.hpp
/// \brief Layer<Scalar>: one layer's parameters, the weights and the bias.
#pragma once

#include "config.hpp"

namespace dladmm {

/// \brief The parameters of layer l: weights W_l (n_l x n_{l-1}) and bias b_l (n_l). They are
/// the model: what prediction needs and what every process of a data-parallel run holds alike.
/// The per-sample ADMM variables of the layer are in TrainingState.
template <typename Scalar>
struct Layer {
  Matrix<Scalar> W;  ///< Weights, n_l x n_{l-1}.
  Vector<Scalar> b;  ///< Bias, n_l.

  /// \brief Number of units n_l.
  Index units() const { return W.rows(); }
  /// \brief Number of inputs n_{l-1}.
  Index inputs() const { return W.cols(); }
};

}  // namespace dladmm
