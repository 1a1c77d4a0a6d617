/// \file config.hpp
/// \brief Eigen includes, the matrix and vector aliases used everywhere, and DLADMM_ASSERT.
#pragma once

#include <Eigen/Dense>
#include <cassert>
#include <cstdint>

/// \brief Internal consistency check; compiled out with NDEBUG like `assert`.
#define DLADMM_ASSERT(cond) assert(cond)

namespace dladmm {

/// \brief Index type of every dimension (Eigen's).
using Index = Eigen::Index;

/// \brief Dense column-major matrix. Data are stored features x samples.
template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// \brief Dense column vector.
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// \brief Dense row vector.
template <typename Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

/// \brief Integer class labels, one per sample.
using Labels = Eigen::Matrix<int, Eigen::Dynamic, 1>;

}  // namespace dladmm
