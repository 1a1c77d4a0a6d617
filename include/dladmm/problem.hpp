/// \file problem.hpp
/// \brief Problem<Scalar, Activation, Loss, LayerMap, Reduction>: the training data, the model,
/// the per-sample ADMM variables, and the policies of the layer map and the sample reduction;
/// the augmented Lagrangian and the residuals (ALGORITHM.md §1.4).
#pragma once

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "config.hpp"
#include "detail/reduce.hpp"
#include "layer_map.hpp"
#include "loss.hpp"
#include "network.hpp"
#include "param.hpp"
#include "reduction.hpp"
#include "state.hpp"

namespace dladmm {

/// \brief The augmented Lagrangian and the squared residual of every layer.
struct Figures {
  /// L_rho = R(z_L; Y) + sum_l Omega(W_l) + (nu/2) sum_{l<L} (||r_l||^2 + ||a_l - f(z_l)||^2)
  ///         + <u, r_L> + (rho/2) ||r_L||^2.
  double augmented_lagrangian = std::numeric_limits<double>::quiet_NaN();
  /// ||r_l||^2 = ||z_l - W_l a_{l-1} - b_l 1^T||^2 for l = 1..L (index 0..L-1).
  std::vector<double> residuals;
};

/// \brief A full-batch training problem (ALGORITHM.md §1.3): data X (n_0 x N), targets Y
/// (n_L x N, one-hot for classification), the model (Network: W, b), the per-sample ADMM
/// variables (TrainingState: z, a and the dual u of the last layer's linear constraint), and
/// two policies: the layer map (how z_l depends on W_l and a_{l-1}) and the sample reduction
/// (how sums over samples are completed when the samples are split across processes).
///
/// The loss covers every column of z_L unless set_loss_columns() restricts it to some (the
/// labelled nodes of a semi-supervised graph problem, ALGORITHM.md §7); the constraints, the
/// dual and the residuals always cover every column.
/// \tparam ScalarT float or double.
/// \tparam ActivationT Relu or LeakyRelu.
/// \tparam LossT SoftmaxCrossEntropy or SquaredError.
/// \tparam LayerMapT DenseMap (the multilayer perceptron, default) or SparsePropagation.
/// \tparam ReductionT LocalSamples (every sample in this process, default).
template <typename ScalarT, typename ActivationT = Relu, typename LossT = SoftmaxCrossEntropy,
          typename LayerMapT = DenseMap, typename ReductionT = LocalSamples>
class Problem {
 public:
  using Scalar = ScalarT;                           ///< float or double.
  using Activation = ActivationT;                   ///< The hidden activation.
  using Loss = LossT;                               ///< The output loss.
  using LayerMap = LayerMapT;                       ///< The layer map.
  using Reduction = ReductionT;                     ///< The sample reduction.
  using NetworkType = Network<Scalar, Activation>;  ///< The model type.
  using State = TrainingState<Scalar>;              ///< The per-sample variables.

  /// \brief Sets up the problem. The variables stay zero until Solver::init().
  /// \param x inputs, n_0 x N (moved in: pass an rvalue to avoid a copy).
  /// \param y targets, n_L x N (moved in likewise).
  /// \param hidden widths n_1..n_{L-1} of the hidden layers (at least one).
  /// \param map the layer map (its sample count must be N).
  /// \param samples the sample reduction.
  /// \throws std::invalid_argument on empty data, mismatched sample counts or bad widths.
  Problem(Matrix<Scalar> x, Matrix<Scalar> y, const std::vector<Index>& hidden,
          Activation activation = Activation(), Loss loss = Loss(), LayerMap map = LayerMap(),
          Reduction samples = Reduction())
      : m_x(std::move(x)),
        m_y(std::move(y)),
        m_network(sizes(m_x, m_y, hidden), activation),
        m_loss(loss),
        m_map(std::move(map)),
        m_samples(std::move(samples)) {
    m_map.check_samples(m_x.cols(), "Problem");
    const auto& all = m_network.sizes();
    m_state.resize(std::vector<Index>(all.begin() + 1, all.end()), m_x.cols());
  }

  /// \brief Inputs X, n_0 x N.
  const Matrix<Scalar>& x() const { return m_x; }
  /// \brief Targets Y, n_L x N.
  const Matrix<Scalar>& y() const { return m_y; }
  /// \brief Number of training samples N held here.
  Index samples() const { return m_x.cols(); }
  /// \brief The model: sizes, weights, biases, activation.
  NetworkType& network() { return m_network; }
  /// \brief The model: sizes, weights, biases, activation.
  const NetworkType& network() const { return m_network; }
  /// \brief The per-sample ADMM variables z, a, u.
  State& state() { return m_state; }
  /// \brief The per-sample ADMM variables z, a, u.
  const State& state() const { return m_state; }
  /// \brief The dual variable u, n_L x N.
  Matrix<Scalar>& u() { return m_state.u; }
  /// \brief The dual variable u, n_L x N.
  const Matrix<Scalar>& u() const { return m_state.u; }
  /// \brief The loss.
  const Loss& loss() const { return m_loss; }
  /// \brief The layer map.
  const LayerMap& layer_map() const { return m_map; }
  /// \brief The sample reduction.
  const Reduction& reduction() const { return m_samples; }

  /// \brief Restricts the loss R to the columns \p columns of z_L (the labelled samples, such
  /// as a graph's training nodes); the other columns of Y are then never read. Call it before
  /// Solver::init(). The columns are kept sorted.
  /// \throws std::invalid_argument if \p columns is empty or holds a duplicate or an index
  /// outside [0, N).
  void set_loss_columns(std::vector<Index> columns) {
    if (columns.empty())
      throw std::invalid_argument("Problem::set_loss_columns: no column (the loss needs one)");
    std::sort(columns.begin(), columns.end());
    if (columns.front() < 0 || columns.back() >= samples())
      throw std::invalid_argument(
          "Problem::set_loss_columns: column " +
          std::to_string(columns.front() < 0 ? columns.front() : columns.back()) +
          " is outside [0, " + std::to_string(samples()) + ")");
    const auto twice = std::adjacent_find(columns.begin(), columns.end());
    if (twice != columns.end())
      throw std::invalid_argument("Problem::set_loss_columns: column " + std::to_string(*twice) +
                                  " is given twice");
    m_loss_columns = std::move(columns);
    m_loss_targets.resize(m_y.rows(), loss_samples());
    gather_loss_columns(m_y, m_loss_targets);
  }
  /// \brief True unless set_loss_columns() restricted the loss.
  bool loss_on_every_column() const { return m_loss_columns.empty(); }
  /// \brief The columns the loss covers (sorted); empty when it covers every column.
  const std::vector<Index>& loss_columns() const { return m_loss_columns; }
  /// \brief Number of columns the loss covers.
  Index loss_samples() const {
    return loss_on_every_column() ? samples() : Index(m_loss_columns.size());
  }
  /// \brief The targets of the loss columns, n_L x loss_samples() (Y itself when the loss
  /// covers every column).
  const Matrix<Scalar>& loss_targets() const {
    return loss_on_every_column() ? m_y : m_loss_targets;
  }
  /// \brief Copies the loss columns of \p full (N columns) into \p out (loss_samples()
  /// columns, sized by the caller).
  template <typename Full, typename Out>
  void gather_loss_columns(const Full& full, Out& out) const {
    if (loss_on_every_column()) {
      out = full;
      return;
    }
    for (std::size_t k = 0; k < m_loss_columns.size(); ++k)
      out.col(Index(k)) = full.col(m_loss_columns[k]);
  }
  /// \brief Writes \p part (loss_samples() columns) into the loss columns of \p full.
  template <typename Part, typename Full>
  void scatter_loss_columns(const Part& part, Full& full) const {
    if (loss_on_every_column()) {
      full = part;
      return;
    }
    for (std::size_t k = 0; k < m_loss_columns.size(); ++k)
      full.col(m_loss_columns[k]) = part.col(Index(k));
  }

  /// \brief The input of layer l (0-based): X for l = 0, else a_{l-1}.
  const Matrix<Scalar>& input(Index l) const { return l == 0 ? m_x : m_state.layer(l - 1).a; }

  /// \brief Omega(W) summed over the layers (a sum over parameters: no reduction).
  double regularization(Regularization kind, Scalar lambda) const {
    double total = 0;
    for (const auto& layer : m_network.layers()) {
      if (kind == Regularization::L1) total += double(lambda) * double(layer.W.cwiseAbs().sum());
      if (kind == Regularization::L2) total += 0.5 * double(lambda) * detail::sum_squares(layer.W);
    }
    return total;
  }

  /// \brief Entries of the sums over samples that the augmented Lagrangian needs: 1 + 2 L.
  Index figure_sums() const { return 1 + 2 * m_network.num_layers(); }

  /// \brief This process's part of the sums over samples of the augmented Lagrangian, given the
  /// products W_l a_{l-1} of every layer (after the layer map): sums[0] = R(z_L; Y) over the
  /// loss columns, then per layer l, sums[1 + 2l] = ||r_l||^2 and sums[2 + 2l] =
  /// ||a_l - f(z_l)||^2 for hidden layers or <u, r_L> for the last; over the columns
  /// [first, first + count) only if \p count >= 0 (the loss must then cover every column).
  /// \p loss_outputs (n_L x loss_samples()) receives the loss columns of z_L when the loss does
  /// not cover every column. Allocates nothing once \p loss_outputs has its size.
  /// \throws std::logic_error if a column range is given and the loss does not cover every
  /// column.
  template <typename ProductMatrix>
  void local_figure_sums(const std::vector<ProductMatrix>& products, Matrix<Scalar>& loss_outputs,
                         double* sums, Index first = 0, Index count = -1) const {
    const Index last = m_network.num_layers() - 1;
    if (count < 0) count = samples() - first;
    if (loss_on_every_column()) {
      sums[0] = m_loss.template value<Scalar>(m_state.layer(last).z.middleCols(first, count),
                                              m_y.middleCols(first, count));
    } else {
      if (first != 0 || count != samples())
        throw std::logic_error(
            "Problem::local_figure_sums: a column range needs a loss over every column");
      loss_outputs.resize(m_y.rows(), loss_samples());
      gather_loss_columns(m_state.layer(last).z, loss_outputs);
      sums[0] = m_loss.template value<Scalar>(loss_outputs, m_loss_targets);
    }
    const auto& activation = m_network.activation();
    for (Index l = 0; l <= last; ++l) {
      const LayerState<Scalar>& layer = m_state.layer(l);
      const auto z = layer.z.middleCols(first, count);
      const auto r = z - products[std::size_t(l)].middleCols(first, count) -
                     m_network.layer(l).b.replicate(1, count);
      sums[1 + 2 * l] = detail::sum_squares(r);
      sums[2 + 2 * l] =
          l < last ? detail::sum_squares(layer.a.middleCols(first, count) - z.unaryExpr(activation))
                   : detail::inner(m_state.u.middleCols(first, count), r);
    }
  }

  /// \brief The augmented Lagrangian L_rho from the completed sums of local_figure_sums() (and
  /// the regulariser, a sum over parameters). Writes ||r_l||^2 of every layer into
  /// \p residuals (sized L by the caller); allocates nothing.
  double augmented_lagrangian(const double* sums, Scalar rho, Scalar nu, Regularization kind,
                              Scalar lambda, std::vector<double>& residuals) const {
    const Index last = m_network.num_layers() - 1;
    double value = sums[0] + regularization(kind, lambda);
    for (Index l = 0; l <= last; ++l) {
      const double squares = sums[1 + 2 * l];
      residuals[std::size_t(l)] = squares;
      if (l < last)
        value += 0.5 * double(nu) * (squares + sums[2 + 2 * l]);
      else
        value += sums[2 + 2 * l] + 0.5 * double(rho) * squares;
    }
    return value;
  }

  /// \brief The augmented Lagrangian and residuals computed from scratch (allocates the
  /// products).
  Figures figures(Scalar rho, Scalar nu, Regularization kind = Regularization::None,
                  Scalar lambda = 0) const {
    std::vector<Matrix<Scalar>> products;
    for (Index l = 0; l < m_network.num_layers(); ++l) {
      Matrix<Scalar> product(m_network.layer(l).units(), samples());  // as the solver forms it
      m_samples.template sample_product<Scalar>(product, m_network.layer(l).W, input(l), 1);
      if constexpr (!LayerMap::identity) {
        Matrix<Scalar> mapped(product.rows(), product.cols());
        m_map.propagate(product, mapped);
        product = std::move(mapped);
      }
      products.push_back(std::move(product));
    }
    std::vector<double> sums(static_cast<std::size_t>(figure_sums()));
    Matrix<Scalar> loss_outputs;
    m_samples.sum_columns(sums.data(), figure_sums(), samples(),
                          [&](Index first, Index count, double* partial) {
                            local_figure_sums(products, loss_outputs, partial, first, count);
                          });
    Figures out;
    out.residuals.resize(products.size());
    out.augmented_lagrangian =
        augmented_lagrangian(sums.data(), rho, nu, kind, lambda, out.residuals);
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
      throw std::invalid_argument(
          "Problem: " + std::to_string(x.cols()) + " input samples but " +
          std::to_string(y.cols()) +
          " target columns (data are features x samples, one column per sample: a matrix with "
          "one row per sample must be transposed)");
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
  std::vector<Index> m_loss_columns;  // sorted; empty: every column
  Matrix<Scalar> m_loss_targets;      // Y's loss columns, when not every column
  NetworkType m_network;
  State m_state;
  Loss m_loss;
  LayerMap m_map;
  Reduction m_samples;
};

}  // namespace dladmm
