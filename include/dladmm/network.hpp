/// \file network.hpp
/// \brief Network<Scalar, Activation>: the model (layer sizes, weights, biases and activation)
/// and its forward pass, used for prediction and metrics.
#pragma once

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "config.hpp"
#include "detail/product.hpp"
#include "layer.hpp"
#include "layer_map.hpp"
#include "reduction.hpp"

namespace dladmm {

/// \brief Mean loss per sample and accuracy of a forward pass on one data set.
struct Metrics {
  double loss = std::numeric_limits<double>::quiet_NaN();      ///< Mean loss per sample.
  double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< Fraction in [0, 1].
};

/// \brief Buffers for a chunked forward pass, so that repeated evaluation allocates once.
template <typename Scalar>
struct ForwardWorkspace {
  std::vector<Matrix<Scalar>> outputs;  ///< One buffer per layer, units x (up to) chunk.
  Matrix<Scalar> propagated;            ///< A layer's product before a layer map applies.
};

/// \brief The trained model: sizes n_0 (inputs), n_1..n_{L-1} (hidden), n_L (outputs), the
/// layers' weights and biases, and the hidden activation. It holds no per-sample state (the
/// ADMM variables are in TrainingState), so it is small enough to save for prediction
/// (model_file.hpp) and is the same on every process of a data-parallel run.
/// \tparam Scalar float or double.
/// \tparam Activation Relu or LeakyRelu.
template <typename Scalar, typename Activation = Relu>
class Network {
 public:
  /// \brief Buffers of the chunked forward pass.
  using ForwardWorkspace = dladmm::ForwardWorkspace<Scalar>;

  /// \brief Samples per chunk of the forward pass (bounds its memory).
  static constexpr Index chunk = 4096;

  /// \brief Creates a network with zero weights.
  /// \param sizes n_0, n_1, ..., n_L: at least three entries (one hidden layer), all >= 1.
  /// \param activation the hidden activation.
  /// \throws std::invalid_argument on fewer than three sizes or a size below 1.
  explicit Network(std::vector<Index> sizes, Activation activation = Activation())
      : m_sizes(std::move(sizes)), m_activation(activation) {
    if (m_sizes.size() < 3)
      throw std::invalid_argument("Network: need at least input, one hidden and output size, got " +
                                  std::to_string(m_sizes.size()) + " sizes");
    for (std::size_t l = 0; l < m_sizes.size(); ++l)
      if (m_sizes[l] < 1)
        throw std::invalid_argument("Network: size " + std::to_string(l) + " is " +
                                    std::to_string(m_sizes[l]) + ", must be >= 1");
    m_layers.resize(m_sizes.size() - 1);
    for (std::size_t l = 0; l < m_layers.size(); ++l) {
      m_layers[l].W.setZero(m_sizes[l + 1], m_sizes[l]);
      m_layers[l].b.setZero(m_sizes[l + 1]);
    }
  }

  /// \brief n_0, ..., n_L.
  const std::vector<Index>& sizes() const { return m_sizes; }
  /// \brief Number of weight layers L.
  Index num_layers() const { return Index(m_layers.size()); }
  /// \brief Number of inputs n_0.
  Index inputs() const { return m_sizes.front(); }
  /// \brief Number of outputs n_L.
  Index outputs() const { return m_sizes.back(); }
  /// \brief Width of the narrowest hidden layer.
  Index min_hidden_width() const {
    return *std::min_element(m_sizes.begin() + 1, m_sizes.end() - 1);
  }
  /// \brief Width of the widest layer after the input.
  Index max_width() const { return *std::max_element(m_sizes.begin() + 1, m_sizes.end()); }

  /// \brief The layers 1..L (index 0..L-1).
  std::vector<Layer<Scalar>>& layers() { return m_layers; }
  /// \brief The layers 1..L (index 0..L-1).
  const std::vector<Layer<Scalar>>& layers() const { return m_layers; }
  /// \brief Layer l + 1 of the paper (0-based index).
  Layer<Scalar>& layer(Index l) { return m_layers[std::size_t(l)]; }
  /// \brief Layer l + 1 of the paper (0-based index).
  const Layer<Scalar>& layer(Index l) const { return m_layers[std::size_t(l)]; }
  /// \brief The hidden activation.
  const Activation& activation() const { return m_activation; }

  /// \brief The output z_L = W_L f(... f(W_1 x + b_1) ...) + b_L of a plain forward pass with
  /// the weights only (not the ADMM variables), for every column of \p x; with a layer map,
  /// each layer's product W_l a_{l-1} goes through it (W_l a_{l-1} S for SparsePropagation).
  /// \throws std::invalid_argument if x has the wrong number of rows, or the map does not fit
  /// its columns.
  template <typename LayerMap = DenseMap>
  Matrix<Scalar> forward(const Eigen::Ref<const Matrix<Scalar>>& x,
                         const LayerMap& map = LayerMap()) const {
    check_inputs(x, "Network::forward");
    map.check_samples(x.cols(), "Network::forward");
    Matrix<Scalar> out(outputs(), x.cols());
    ForwardWorkspace ws;
    const Index step = LayerMap::columns_independent ? chunk : std::max<Index>(x.cols(), 1);
    for (Index start = 0; start < x.cols(); start += step) {
      const Index n = std::min(step, x.cols() - start);
      out.middleCols(start, n) = forward_chunk(x.middleCols(start, n), ws, map);
    }
    return out;
  }

  /// \brief The predicted class (argmax of the output) of every column of \p x.
  template <typename LayerMap = DenseMap>
  Labels predict(const Eigen::Ref<const Matrix<Scalar>>& x,
                 const LayerMap& map = LayerMap()) const {
    const Matrix<Scalar> out = forward(x, map);
    Labels labels(out.cols());
    for (Index j = 0; j < out.cols(); ++j) out.col(j).maxCoeff(&labels[j]);
    return labels;
  }

  /// \brief Class probabilities: the softmax of each column of forward() (the model of the
  /// SoftmaxCrossEntropy loss), n_L x N, every column summing to 1.
  /// \throws std::invalid_argument as forward().
  template <typename LayerMap = DenseMap>
  Matrix<Scalar> predict_proba(const Eigen::Ref<const Matrix<Scalar>>& x,
                               const LayerMap& map = LayerMap()) const {
    Matrix<Scalar> out = forward(x, map);
    for (Index j = 0; j < out.cols(); ++j) {
      auto column = out.col(j).array();
      column = (column - column.maxCoeff()).exp();
      column /= column.sum();
    }
    return out;
  }

  /// \brief Fraction of the columns of \p x whose predicted class equals \p labels.
  /// \throws std::invalid_argument if the sizes disagree.
  double accuracy(const Eigen::Ref<const Matrix<Scalar>>& x, const Labels& labels) const {
    if (labels.size() != x.cols())
      throw std::invalid_argument("Network::accuracy: " + std::to_string(x.cols()) +
                                  " samples but " + std::to_string(labels.size()) + " labels");
    if (x.cols() == 0) return std::numeric_limits<double>::quiet_NaN();
    return double((predict(x).array() == labels.array()).count()) / double(x.cols());
  }

  /// \brief Mean loss per sample and accuracy (argmax of output against argmax of target) of a
  /// forward pass on \p x with targets \p y (n_L x N, one-hot for classification).
  /// \param ws buffers reused between calls (no allocation once they have grown).
  /// \param map the layer map of the forward pass (see forward()).
  /// \param samples completes the sums over samples when the samples are split.
  /// \throws std::invalid_argument on mismatched dimensions.
  template <typename Loss, typename LayerMap = DenseMap, typename Reduction = LocalSamples>
  Metrics evaluate(const Loss& loss, const Eigen::Ref<const Matrix<Scalar>>& x,
                   const Eigen::Ref<const Matrix<Scalar>>& y, ForwardWorkspace& ws,
                   const LayerMap& map = LayerMap(), const Reduction& samples = Reduction()) const {
    check_targets(x, y, "Network::evaluate", map);
    return evaluate_over(loss, x, y, nullptr, ws, map, samples);
  }

  /// \brief evaluate() over some columns only: a forward pass on every column of \p x (a
  /// graph's layer map mixes them), then the mean loss and accuracy of the columns \p columns
  /// (a graph's training, validation or test nodes), which must be sorted, distinct and in
  /// [0, N). An empty list gives NaN figures.
  /// \throws std::invalid_argument on mismatched dimensions or a bad column list.
  template <typename Loss, typename LayerMap = DenseMap, typename Reduction = LocalSamples>
  Metrics evaluate_columns(const Loss& loss, const Eigen::Ref<const Matrix<Scalar>>& x,
                           const Eigen::Ref<const Matrix<Scalar>>& y,
                           const std::vector<Index>& columns, ForwardWorkspace& ws,
                           const LayerMap& map = LayerMap(),
                           const Reduction& samples = Reduction()) const {
    check_targets(x, y, "Network::evaluate_columns", map);
    for (std::size_t k = 0; k < columns.size(); ++k)
      if (columns[k] < 0 || columns[k] >= x.cols() || (k > 0 && columns[k] <= columns[k - 1]))
        throw std::invalid_argument(
            "Network::evaluate_columns: the columns must be sorted, distinct and in [0, " +
            std::to_string(x.cols()) + "); entry " + std::to_string(k) + " is " +
            std::to_string(columns[k]));
    return evaluate_over(loss, x, y, &columns, ws, map, samples);
  }

  /// \brief evaluate() with its own buffers.
  template <typename Loss>
  Metrics evaluate(const Loss& loss, const Eigen::Ref<const Matrix<Scalar>>& x,
                   const Eigen::Ref<const Matrix<Scalar>>& y) const {
    ForwardWorkspace ws;
    return evaluate(loss, x, y, ws);
  }

 private:
  void check_inputs(const Eigen::Ref<const Matrix<Scalar>>& x, const char* where) const {
    if (x.rows() != inputs())
      throw std::invalid_argument(std::string(where) + ": input has " + std::to_string(x.rows()) +
                                  " rows, the network expects " + std::to_string(inputs()));
  }

  template <typename LayerMap>
  void check_targets(const Eigen::Ref<const Matrix<Scalar>>& x,
                     const Eigen::Ref<const Matrix<Scalar>>& y, const char* where,
                     const LayerMap& map) const {
    check_inputs(x, where);
    map.check_samples(x.cols(), where);
    if (y.rows() != outputs() || y.cols() != x.cols())
      throw std::invalid_argument(std::string(where) + ": targets are " + std::to_string(y.rows()) +
                                  " x " + std::to_string(y.cols()) + ", expected " +
                                  std::to_string(outputs()) + " x " + std::to_string(x.cols()));
  }

  // The metrics of the columns listed in \p columns (sorted), or of every column if null. The
  // sample reduction chooses the column ranges the figures are summed over (all the columns,
  // or its own blocks) and completes the sums.
  template <typename Loss, typename LayerMap, typename Reduction>
  Metrics evaluate_over(const Loss& loss, const Eigen::Ref<const Matrix<Scalar>>& x,
                        const Eigen::Ref<const Matrix<Scalar>>& y,
                        const std::vector<Index>* columns, ForwardWorkspace& ws,
                        const LayerMap& map, const Reduction& samples) const {
    samples.check_samples(x.cols(), "Network::evaluate");
    double sums[3];  // loss, correct, counted: one reduction
    samples.sum_columns(sums, 3, x.cols(), [&](Index first, Index cols, double* partial) {
      double total = 0;
      Index correct = 0, counted = 0;
      // the first listed column not yet counted
      std::size_t next =
          columns ? std::size_t(std::lower_bound(columns->begin(), columns->end(), first) -
                                columns->begin())
                  : 0;
      const Index step = LayerMap::columns_independent ? chunk : std::max<Index>(cols, 1);
      for (Index start = first; start < first + cols; start += step) {
        const Index n = std::min(step, first + cols - start);
        const auto out = forward_chunk(x.middleCols(start, n), ws, map);
        auto count = [&](Index j) {  // column j of the chunk
          Index predicted = 0, target = 0;
          out.col(j).maxCoeff(&predicted);
          y.col(start + j).maxCoeff(&target);
          correct += predicted == target;
          ++counted;
        };
        if (!columns) {
          total += loss.template value<Scalar>(out, y.middleCols(start, n));
          for (Index j = 0; j < n; ++j) count(j);
          continue;
        }
        for (; next < columns->size() && (*columns)[next] < start + n; ++next) {
          const Index j = (*columns)[next] - start;
          total += loss.template value<Scalar>(out.col(j), y.col(start + j));
          count(j);
        }
      }
      partial[0] = total;
      partial[1] = double(correct);
      partial[2] = double(counted);
    });
    Metrics metrics;
    if (sums[2] == 0) return metrics;
    metrics.loss = sums[0] / sums[2];
    metrics.accuracy = sums[1] / sums[2];
    return metrics;
  }

  // Forward pass of the columns of x (at most `chunk` unless the map mixes columns); returns a
  // view of the output in ws. Allocates only the first time a workspace is used.
  template <typename LayerMap>
  Eigen::Map<const Matrix<Scalar>> forward_chunk(const Eigen::Ref<const Matrix<Scalar>>& x,
                                                 ForwardWorkspace& ws, const LayerMap& map) const {
    const Index n = x.cols();
    ws.outputs.resize(m_layers.size());
    for (std::size_t l = 0; l < m_layers.size(); ++l) {
      const Layer<Scalar>& layer = m_layers[l];
      Matrix<Scalar>& buffer = ws.outputs[l];
      if (buffer.rows() != layer.units() || buffer.cols() < n) buffer.resize(layer.units(), n);
      Eigen::Map<Matrix<Scalar>> out(buffer.data(), layer.units(), n);
      Matrix<Scalar>& product = LayerMap::identity ? buffer : ws.propagated;
      if (product.rows() != layer.units() || product.cols() < n) product.resize(layer.units(), n);
      Eigen::Map<Matrix<Scalar>> unmapped(product.data(), layer.units(), n);
      if (l == 0)
        detail::multiply<Scalar>(unmapped, layer.W, x, Scalar(1));
      else
        detail::multiply<Scalar>(
            unmapped, layer.W,
            Eigen::Map<const Matrix<Scalar>>(ws.outputs[l - 1].data(), m_layers[l - 1].units(), n),
            Scalar(1));
      if constexpr (!LayerMap::identity) map.propagate(unmapped, out);
      out.colwise() += layer.b;
      if (l + 1 < m_layers.size())
        out = out.unaryExpr([this](Scalar v) { return m_activation(v); });
    }
    return Eigen::Map<const Matrix<Scalar>>(ws.outputs.back().data(), outputs(), n);
  }

  std::vector<Index> m_sizes;
  std::vector<Layer<Scalar>> m_layers;
  Activation m_activation;
};

}  // namespace dladmm
