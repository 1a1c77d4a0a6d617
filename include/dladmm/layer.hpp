/// \file layer.hpp
/// \brief Layer<Scalar>: one layer's weights and its ADMM variables.
#pragma once

#include "config.hpp"

namespace dladmm {

/// \brief One fully connected layer l: weights W_l (n_l x n_{l-1}), bias b_l (n_l), and the
/// ADMM variables over the training set, z_l (pre-activation, n_l x N) and a_l (activation,
/// n_l x N; empty for the output layer).
template <typename Scalar>
struct Layer {
  Matrix<Scalar> W;  ///< Weights, n_l x n_{l-1}.
  Vector<Scalar> b;  ///< Bias, n_l.
  Matrix<Scalar> z;  ///< Pre-activation variable, n_l x N.
  Matrix<Scalar> a;  ///< Activation variable, n_l x N (empty for the last layer).

  /// \brief Number of units n_l.
  Index units() const { return W.rows(); }
  /// \brief Number of inputs n_{l-1}.
  Index inputs() const { return W.cols(); }
};

}  // namespace dladmm
