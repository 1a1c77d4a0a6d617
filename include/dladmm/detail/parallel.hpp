/// \file detail/parallel.hpp
/// \brief Column-block loops over n x N matrices, run on OpenMP threads when available. The
/// blocks do not depend on the thread count, and sums combine the per-block partials in a fixed
/// order, so results are bit-identical for any number of threads. Not API.
#pragma once

#include <algorithm>
#include <array>

#include "../config.hpp"

// A parallel for loop if the local bool `parallel` is true.
#ifdef _OPENMP
#define DLADMM_PARALLEL_FOR_IF_PARALLEL _Pragma("omp parallel for schedule(static) if(parallel)")
#else
#define DLADMM_PARALLEL_FOR_IF_PARALLEL
#endif

namespace dladmm::detail {

/// \brief Number of column blocks of every parallel loop (fixed: determinism).
inline constexpr int column_blocks = 64;

/// \brief Matrices with fewer entries are looped over on one thread: starting threads would
/// cost more than the loop (and much more on a loaded machine).
inline constexpr Index parallel_min_entries = Index(1) << 16;

/// \brief Calls f(first_column, column_count) on fixed column blocks covering [0, cols) of a
/// rows x cols matrix, in parallel if it is large.
template <typename F>
void for_column_blocks(Index rows, Index cols, F&& f) {
  const Index size = (cols + column_blocks - 1) / column_blocks;
  const bool parallel = rows * cols >= parallel_min_entries;
  DLADMM_PARALLEL_FOR_IF_PARALLEL
  for (int k = 0; k < column_blocks; ++k) {
    const Index first = Index(k) * size;
    if (first < cols) f(first, std::min(size, cols - first));
  }
}

/// \brief Sum over the column blocks of a rows x cols matrix of f(first_column, column_count)
/// (a double), computed in parallel if it is large and combined in block order.
template <typename F>
double sum_column_blocks(Index rows, Index cols, F&& f) {
  std::array<double, column_blocks> partial{};
  const Index size = (cols + column_blocks - 1) / column_blocks;
  const bool parallel = rows * cols >= parallel_min_entries;
  DLADMM_PARALLEL_FOR_IF_PARALLEL
  for (int k = 0; k < column_blocks; ++k) {
    const Index first = Index(k) * size;
    partial[std::size_t(k)] = first < cols ? f(first, std::min(size, cols - first)) : 0.0;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace dladmm::detail
