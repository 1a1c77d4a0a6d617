/// \file problem.hpp
/// \brief Problem<Scalar, Activation, Loss>: the training data, the network with its ADMM
/// variables and the dual u; the augmented Lagrangian and the residuals (ALGORITHM.md §1.4).
#pragma once

#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "config.hpp"
#include "detail/reduce.hpp"
#include "loss.hpp"
#include "network.hpp"
#include "param.hpp"

namespace dladmm {

/// \brief The augmented Lagrangian and the squared residual of every layer.
struct Figures {
  /// L_rho = R(z_L; Y) + sum_l Omega(W_l) + (nu/2) sum_{l<L} (||r_l||^2 + ||a_l - f(z_l)||^2)
  ///         + <u, r_L> + (rho/2) ||r_L||^2.
  double augmented_lagrangian = std::numeric_limits<double>::quiet_NaN();
  /// ||r_l||^2 = ||z_l - W_l a_{l-1} - b_l 1^T||^2 for l = 1..L (index 0..L-1).
  std::vector<double> residuals;
};

/// \brief A full-batch MLP training problem (ALGORITHM.md §1.3): data X (n_0 x N), targets Y
/// (n_L x N, one-hot for classification), the network with its variables W, b, z, a, and the
/// dual u (n_L x N) of the last layer's linear constraint.
/// \tparam ScalarT float or double.
/// \tparam ActivationT Relu or LeakyRelu.
/// \tparam LossT SoftmaxCrossEntropy or SquaredError.
template <typename ScalarT, typename ActivationT = Relu, typename LossT = SoftmaxCrossEntropy>
class Problem {
 public:
  using Scalar = ScalarT;                           ///< float or double.
  using Activation = ActivationT;                   ///< The hidden activation.
  using Loss = LossT;                               ///< The output loss.
  using NetworkType = Network<Scalar, Activation>;  ///< The network type.

  /// \brief Sets up the problem. The variables stay zero until Solver::init().
  /// \param x inputs, n_0 x N (moved in: pass an rvalue to avoid a copy).
  /// \param y targets, n_L x N.
  /// \param hidden widths n_1..n_{L-1} of the hidden layers (at least one).
  /// \throws std::invalid_argument on empty data, mismatched sample counts or bad widths.
  Problem(Matrix<Scalar> x, Matrix<Scalar> y, const std::vector<Index>& hidden,
          Activation activation = Activation(), Loss loss = Loss())
      : m_x(std::move(x)),
        m_y(std::move(y)),
        m_network(sizes(m_x, m_y, hidden), activation),
        m_loss(loss) {
    m_u.setZero(m_y.rows(), m_y.cols());
  }

  /// \brief Inputs X, n_0 x N.
  const Matrix<Scalar>& x() const { return m_x; }
  /// \brief Targets Y, n_L x N.
  const Matrix<Scalar>& y() const { return m_y; }
  /// \brief Number of training samples N.
  Index samples() const { return m_x.cols(); }
  /// \brief The network: weights and ADMM variables.
  NetworkType& network() { return m_network; }
  /// \brief The network: weights and ADMM variables.
  const NetworkType& network() const { return m_network; }
  /// \brief The dual variable u, n_L x N.
  Matrix<Scalar>& u() { return m_u; }
  /// \brief The dual variable u, n_L x N.
  const Matrix<Scalar>& u() const { return m_u; }
  /// \brief The loss.
  const Loss& loss() const { return m_loss; }

  /// \brief The input of layer l (0-based): X for l = 0, else a_{l-1}.
  const Matrix<Scalar>& input(Index l) const { return l == 0 ? m_x : m_network.layer(l - 1).a; }

  /// \brief Omega(W) summed over the layers.
  double regularization(Regularization kind, Scalar lambda) const {
    double total = 0;
    for (const auto& layer : m_network.layers()) {
      if (kind == Regularization::L1) total += double(lambda) * double(layer.W.cwiseAbs().sum());
      if (kind == Regularization::L2) total += 0.5 * double(lambda) * detail::sum_squares(layer.W);
    }
    return total;
  }

  /// \brief The augmented Lagrangian L_rho, given the products W_l a_{l-1} of every layer (the
  /// solver keeps them; figures() computes them from scratch). Writes ||r_l||^2 of every layer
  /// into \p residuals (sized L by the caller); allocates nothing.
  template <typename ProductMatrix>
  double augmented_lagrangian(const std::vector<ProductMatrix>& products, Scalar rho, Scalar nu,
                              Regularization kind, Scalar lambda,
                              std::vector<double>& residuals) const {
    const Index last = m_network.num_layers() - 1;
    double value =
        m_loss.template value<Scalar>(m_network.layer(last).z, m_y) + regularization(kind, lambda);
    const auto& activation = m_network.activation();
    for (Index l = 0; l <= last; ++l) {
      const Layer<Scalar>& layer = m_network.layer(l);
      const auto r = layer.z - products[std::size_t(l)] - layer.b.replicate(1, samples());
      const double squares = detail::sum_squares(r);
      residuals[std::size_t(l)] = squares;
      if (l < last)
        value += 0.5 * double(nu) *
                 (squares + detail::sum_squares(layer.a - layer.z.unaryExpr(activation)));
      else
        value += detail::inner(m_u, r) + 0.5 * double(rho) * squares;
    }
    return value;
  }

  /// \brief The augmented Lagrangian and residuals computed from scratch (allocates the
  /// products W_l a_{l-1}).
  Figures figures(Scalar rho, Scalar nu, Regularization kind = Regularization::None,
                  Scalar lambda = 0) const {
    std::vector<Matrix<Scalar>> products;
    for (Index l = 0; l < m_network.num_layers(); ++l)
      products.push_back(m_network.layer(l).W * input(l));
    Figures out;
    out.residuals.resize(products.size());
    out.augmented_lagrangian = augmented_lagrangian(products, rho, nu, kind, lambda, out.residuals);
    return out;
  }

 private:
  static std::vector<Index> sizes(const Matrix<Scalar>& x, const Matrix<Scalar>& y,
                                  const std::vector<Index>& hidden) {
    if (x.rows() < 1 || x.cols() < 1)
      throw std::invalid_argument("Problem: the input has " + std::to_string(x.rows()) + " x " +
                                  std::to_string(x.cols()) + " entries, need at least 1 x 1");
    if (y.rows() < 1)
      throw std::invalid_argument("Problem: the targets have no rows (need n_L >= 1)");
    if (y.cols() != x.cols())
      throw std::invalid_argument("Problem: " + std::to_string(x.cols()) + " input samples but " +
                                  std::to_string(y.cols()) + " target columns");
    if (hidden.empty()) throw std::invalid_argument("Problem: need at least one hidden layer");
    std::vector<Index> all{x.rows()};
    for (std::size_t l = 0; l < hidden.size(); ++l) {
      if (hidden[l] < 1)
        throw std::invalid_argument("Problem: hidden layer " + std::to_string(l + 1) +
                                    " has width " + std::to_string(hidden[l]) + ", must be >= 1");
      all.push_back(hidden[l]);
    }
    all.push_back(y.rows());
    return all;
  }

  Matrix<Scalar> m_x, m_y;
  NetworkType m_network;
  Matrix<Scalar> m_u;
  Loss m_loss;
};

}  // namespace dladmm
