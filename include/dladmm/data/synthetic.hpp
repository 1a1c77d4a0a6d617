/// \file synthetic.hpp
/// \brief Seeded synthetic classification data: each class is a mixture of two Gaussian blobs.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "../config.hpp"
#include "dataset.hpp"

namespace dladmm {

namespace detail {

/// \brief Standard normal draws from a std::mt19937_64 by the Box-Muller transform.
///
/// Uses only raw engine outputs (not std::normal_distribution, whose algorithm differs between
/// standard libraries), so the stream is the same everywhere up to the rounding of std::log,
/// std::sqrt, std::cos and std::sin.
class NormalStream {
 public:
  /// \brief Starts a stream.
  /// \param seed Seed of the engine.
  explicit NormalStream(std::uint64_t seed) : rng_(seed) {}

  /// \brief Uniform double in [0, 1) with 53 random bits.
  /// \return The draw.
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  /// \brief One raw 64-bit draw of the underlying engine.
  /// \return The draw.
  std::uint64_t bits() { return rng_(); }

  /// \brief Standard normal draw.
  /// \return The draw.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace detail

/// \brief Makes a seeded synthetic classification data set of Gaussian blobs.
///
/// Each class c is an equal mixture of two unit-variance Gaussian blobs centred at a_c + m_c
/// and a_c - m_c, where m_c has N(0, s^2) coordinates with s = 2 * separation / sqrt(features)
/// (so |m_c| is about 2 * separation noise standard deviations) and the class offset a_c has
/// N(0, (0.4 s)^2) coordinates. The two blobs of a class lie on opposite sides of a_c, so the
/// classes are far from linearly separable (a linear classifier reaches roughly 55-90%
/// accuracy), while with the default separation nearly every sample is closest to its own
/// blob's centre (over 99% for features = 20 and up to 10 classes), so a small ReLU network can
/// fit it. Sample j has label j % classes (classes are balanced and interleaved) and a blob
/// picked at random. Finally every value is divided by sqrt(1 + 1.16 s^2), which makes the
/// per-feature variance about 1.
///
/// Everything is drawn, in double, from one std::mt19937_64 stream seeded with seed (class
/// centres first, then the samples in order) and cast to Scalar at the end, so float and double
/// data agree up to rounding, and the same arguments always give the same data.
/// \tparam Scalar Floating-point type of the features.
/// \param features Number of features (rows of x), at least 1.
/// \param classes Number of classes, at least 2.
/// \param samples Number of samples (columns of x), at least 1.
/// \param seed Seed of the random stream.
/// \param separation Scale of the distances between blob centres in units of the noise standard
///        deviation; finite and non-negative (0 gives pure noise).
/// \return The data set with num_classes = classes.
/// \throws std::invalid_argument if features < 1, classes < 2, samples < 1, features * samples
///         overflows Index, or separation is negative or not finite.
template <typename Scalar>
Dataset<Scalar> make_synthetic(Index features, int classes, Index samples, std::uint64_t seed,
                               double separation = 3.0) {
  if (features < 1) {
    throw std::invalid_argument("make_synthetic: features must be at least 1, got " +
                                std::to_string(features));
  }
  if (classes < 2) {
    throw std::invalid_argument("make_synthetic: classes must be at least 2, got " +
                                std::to_string(classes));
  }
  if (samples < 1) {
    throw std::invalid_argument("make_synthetic: samples must be at least 1, got " +
                                std::to_string(samples));
  }
  if (features > std::numeric_limits<Index>::max() / samples) {
    throw std::invalid_argument("make_synthetic: features * samples overflows (" +
                                std::to_string(features) + " x " + std::to_string(samples) + ")");
  }
  if (!(separation >= 0.0) || !std::isfinite(separation)) {
    throw std::invalid_argument("make_synthetic: separation must be finite and non-negative, got " +
                                std::to_string(separation));
  }

  detail::NormalStream stream(seed);
  const double s = 2.0 * separation / std::sqrt(static_cast<double>(features));
  constexpr double kOffset = 0.4;
  // Centres: column 2c is a_c + m_c, column 2c + 1 is a_c - m_c.
  Eigen::MatrixXd centers(features, 2 * static_cast<Index>(classes));
  Eigen::VectorXd m(features);
  Eigen::VectorXd a(features);
  for (int c = 0; c < classes; ++c) {
    for (Index i = 0; i < features; ++i) m(i) = s * stream.normal();
    for (Index i = 0; i < features; ++i) a(i) = kOffset * s * stream.normal();
    centers.col(2 * c) = a + m;
    centers.col(2 * c + 1) = a - m;
  }
  const double normalize = 1.0 / std::sqrt(1.0 + (1.0 + kOffset * kOffset) * s * s);

  Dataset<Scalar> data;
  data.x.resize(features, samples);
  data.labels.resize(samples);
  data.num_classes = classes;
  for (Index j = 0; j < samples; ++j) {
    const int label = static_cast<int>(j % classes);
    const Index blob = 2 * static_cast<Index>(label) + static_cast<Index>(stream.bits() >> 63);
    data.labels(j) = label;
    for (Index i = 0; i < features; ++i) {
      data.x(i, j) = static_cast<Scalar>(normalize * (centers(i, blob) + stream.normal()));
    }
  }
  return data;
}

}  // namespace dladmm
