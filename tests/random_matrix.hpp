// Random matrices for the block and policy tests.
#pragma once

#include <dladmm/config.hpp>

#include <random>

/// A rows x cols matrix of independent N(0, scale^2) entries from \p rng.
template <typename Scalar>
dladmm::Matrix<Scalar> random_matrix(dladmm::Index rows, dladmm::Index cols, std::mt19937_64& rng,
                                     double scale = 1) {
  std::normal_distribution<double> normal(0.0, scale);
  dladmm::Matrix<Scalar> m(rows, cols);
  for (dladmm::Index k = 0; k < m.size(); ++k) m.data()[k] = Scalar(normal(rng));
  return m;
}
