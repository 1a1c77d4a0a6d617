/// \file dataset.hpp
/// \brief A labelled data set (features x samples), splitting, and per-feature standardization.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../reduction.hpp"

namespace dladmm {

namespace detail {

/// \brief Unbiased uniform draw from {0, ..., bound - 1} using raw 64-bit engine outputs.
///
/// Unlike std::uniform_int_distribution, the result is the same on every standard library, so
/// seeded shuffles are reproducible across platforms.
/// \param rng The engine to draw from.
/// \param bound Exclusive upper bound; must be >= 1.
/// \return A uniformly distributed value in [0, bound).
inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  DLADMM_ASSERT(bound >= 1);
  // Reject the top partial bucket so every residue is equally likely.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t draw = rng();
  while (draw >= limit) draw = rng();
  return draw % bound;
}

}  // namespace detail

/// \brief A labelled data set: one column of `x` and one entry of `labels` per sample.
/// \tparam Scalar Floating-point type of the features (float or double).
template <typename Scalar>
struct Dataset {
  /// \brief Features x samples; column j holds sample j.
  Matrix<Scalar> x;
  /// \brief Class of each sample, in [0, num_classes).
  Labels labels;
  /// \brief Number of classes (rows of one_hot()).
  int num_classes = 0;

  /// \brief Number of samples (columns of x).
  /// \return x.cols().
  Index samples() const { return x.cols(); }

  /// \brief Number of features (rows of x).
  /// \return x.rows().
  Index features() const { return x.rows(); }

  /// \brief Checks that the fields are consistent.
  /// \param where Name of the caller, used as the prefix of the error message.
  /// \throws std::invalid_argument if x.cols() != labels.size(), num_classes < 1, or a label is
  ///         outside [0, num_classes).
  void validate(const char* where) const {
    const std::string prefix = std::string(where) + ": ";
    if (x.cols() != labels.size()) {
      throw std::invalid_argument(prefix + "x has " + std::to_string(x.cols()) +
                                  " columns (samples) but labels has " +
                                  std::to_string(labels.size()) + " entries");
    }
    if (num_classes < 1) {
      throw std::invalid_argument(prefix + "num_classes must be at least 1, got " +
                                  std::to_string(num_classes));
    }
    for (Index j = 0; j < labels.size(); ++j) {
      if (labels(j) < 0 || labels(j) >= num_classes) {
        throw std::invalid_argument(prefix + "label " + std::to_string(labels(j)) + " of sample " +
                                    std::to_string(j) + " is outside [0, " +
                                    std::to_string(num_classes) + ")");
      }
    }
  }

  /// \brief One-hot encoding of the labels.
  /// \return A num_classes x samples matrix with a single 1 per column, at row labels(j).
  /// \throws std::invalid_argument if the data set is inconsistent (see validate()).
  Matrix<Scalar> one_hot() const {
    validate("Dataset::one_hot");
    Matrix<Scalar> y = Matrix<Scalar>::Zero(num_classes, labels.size());
    for (Index j = 0; j < labels.size(); ++j) y(labels(j), j) = Scalar(1);
    return y;
  }

  /// \brief The first min(n, samples()) samples, in order.
  /// \param n Number of samples wanted; values above samples() are clamped.
  /// \return A new data set with the same num_classes.
  /// \throws std::invalid_argument if n < 0 or the data set is inconsistent (see validate()).
  Dataset first(Index n) const {
    if (n < 0) {
      throw std::invalid_argument("Dataset::first: n must be non-negative, got " +
                                  std::to_string(n));
    }
    validate("Dataset::first");
    const Index m = std::min(n, samples());
    Dataset out;
    out.x = x.leftCols(m);
    out.labels = labels.head(m);
    out.num_classes = num_classes;
    return out;
  }

  /// \brief Shuffles the samples with a seeded std::mt19937_64 and splits them in two.
  ///
  /// The validation part receives round(validation_fraction * samples()) samples, but never all
  /// of them (at least one sample stays in the training part when samples() >= 1). Both parts
  /// keep the shuffled order. The result depends only on the data, the fraction and the seed
  /// (the shuffle does not use std::uniform_int_distribution, so it is the same on every
  /// standard library).
  /// \param validation_fraction Share of samples put in the validation part, in [0, 1).
  /// \param seed Seed of the shuffle.
  /// \return The pair (training, validation), both with the same num_classes.
  /// \throws std::invalid_argument if validation_fraction is not in [0, 1) or the data set is
  ///         inconsistent (see validate()).
  std::pair<Dataset, Dataset> split(double validation_fraction, std::uint64_t seed) const {
    if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) {
      throw std::invalid_argument("Dataset::split: validation_fraction must be in [0, 1), got " +
                                  std::to_string(validation_fraction));
    }
    validate("Dataset::split");
    const Index n = samples();
    std::vector<Index> order(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    std::mt19937_64 rng(seed);
    for (Index i = n - 1; i > 0; --i) {  // Fisher-Yates
      const auto j =
          static_cast<Index>(detail::uniform_below(rng, static_cast<std::uint64_t>(i + 1)));
      std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
    Index n_val = static_cast<Index>(std::llround(validation_fraction * static_cast<double>(n)));
    if (n >= 1) n_val = std::min(n_val, n - 1);
    const Index n_train = n - n_val;

    auto gather = [&](Index begin, Index count) {
      Dataset part;
      part.x.resize(x.rows(), count);
      part.labels.resize(count);
      part.num_classes = num_classes;
      for (Index k = 0; k < count; ++k) {
        const Index src = order[static_cast<std::size_t>(begin + k)];
        part.x.col(k) = x.col(src);
        part.labels(k) = labels(src);
      }
      return part;
    };
    // Validation takes the head of the shuffled order, training the rest.
    Dataset validation = gather(0, n_val);
    Dataset training = gather(n_val, n_train);
    return {std::move(training), std::move(validation)};
  }
};

/// \brief Per-feature standardization: subtracts the mean and divides by the standard deviation.
///
/// Fit it on the training features and apply the same transform to every split.
/// \tparam Scalar Floating-point type of the features (float or double).
template <typename Scalar>
struct Standardizer {
  /// \brief Mean of each feature (row) of the fitted matrix.
  Vector<Scalar> mean;
  /// \brief Population standard deviation of each feature; 1 where it was below 1e-8.
  Vector<Scalar> stddev;

  /// \brief Computes the per-feature mean and standard deviation of x (features x samples).
  ///
  /// Sums are accumulated in double. A feature whose standard deviation is below 1e-8 (e.g. a
  /// constant pixel) gets stddev 1, so apply() maps it to 0 instead of dividing by ~0.
  /// \param x Features x samples; needs at least one sample and only finite values.
  /// \param samples The sample reduction (reduction.hpp): with the samples split over processes
  ///        (MpiSamples), each passes its slice and every process gets the same standardizer,
  ///        that of all the samples. Collective then; every process must hold a sample.
  /// \return The fitted standardizer.
  /// \throws std::invalid_argument if x has no columns or contains a NaN or infinity (in some
  ///         process: every process throws).
  template <typename Reduction = LocalSamples>
  static Standardizer fit(const Matrix<Scalar>& x, const Reduction& samples = Reduction()) {
    const bool finite = x.allFinite();
    if (!samples.all(x.cols() >= 1)) {
      throw std::invalid_argument("Standardizer::fit: x has no samples (0 columns)");
    }
    if (!samples.all(finite)) {
      throw std::invalid_argument("Standardizer::fit: x contains NaN or infinite values");
    }
    Standardizer s;
    s.mean.resize(x.rows());
    s.stddev.resize(x.rows());
    const double n = static_cast<double>(samples.total_samples(x.cols()));
    std::vector<double> sums(static_cast<std::size_t>(x.rows()), 0.0);
    for (Index i = 0; i < x.rows(); ++i)
      for (Index j = 0; j < x.cols(); ++j) sums[std::size_t(i)] += static_cast<double>(x(i, j));
    samples.sum(sums.data(), x.rows());
    for (Index i = 0; i < x.rows(); ++i) {
      const double mu = sums[std::size_t(i)] / n;
      double sq = 0.0;
      for (Index j = 0; j < x.cols(); ++j) {
        const double d = static_cast<double>(x(i, j)) - mu;
        sq += d * d;
      }
      sums[std::size_t(i)] = sq;
      s.mean(i) = static_cast<Scalar>(mu);
    }
    samples.sum(sums.data(), x.rows());
    for (Index i = 0; i < x.rows(); ++i) {
      const double sd = std::sqrt(sums[std::size_t(i)] / n);
      s.stddev(i) = sd < 1e-8 ? Scalar(1) : static_cast<Scalar>(sd);
    }
    return s;
  }

  /// \brief Standardizes x in place: x(i, j) = (x(i, j) - mean(i)) / stddev(i).
  /// \param x Features x samples, with as many rows as the fitted matrix.
  /// \throws std::invalid_argument if x.rows() differs from the number of fitted features, or
  ///         if mean and stddev have different sizes.
  void apply(Matrix<Scalar>& x) const {
    if (mean.size() != stddev.size()) {
      throw std::invalid_argument("Standardizer::apply: mean has " + std::to_string(mean.size()) +
                                  " entries but stddev has " + std::to_string(stddev.size()));
    }
    if (x.rows() != mean.size()) {
      throw std::invalid_argument("Standardizer::apply: x has " + std::to_string(x.rows()) +
                                  " features (rows) but the standardizer was fitted on " +
                                  std::to_string(mean.size()));
    }
    x.colwise() -= mean;
    x.array().colwise() /= stddev.array();
  }
};

}  // namespace dladmm
