/// \file reduction.hpp
/// \brief Sample reductions: how a sum over the training samples is completed when the samples
/// are split (ALGORITHM.md §8). LocalSamples, the default, holds every sample in this process.
#pragma once

#include "config.hpp"

namespace dladmm {

/// \brief The sample reduction of a problem whose samples are all in this process: every sum
/// over samples is complete already, so each operation does nothing and costs nothing.
///
/// A sample reduction is any type with these members; the solver routes through them every sum
/// over samples (the W gradient R A^T, the backtracking norms of sample-wide blocks, the b column
/// sums, FISTA's stopping sums, the objective and residuals, the training metrics, the
/// finiteness of the data) and no sum over parameters (regularisers, the norm of a W gradient).
/// A data-parallel reduction sums the partial results of every process, so that each process
/// sees the same totals and takes the same decisions.
struct LocalSamples {
  /// \brief Completes the partial sums \p values[0..count) in place.
  void sum(double* values, Index count) const {
    (void)values;
    (void)count;
  }
  /// \brief Completes a partial sum.
  double sum(double partial) const { return partial; }
  /// \brief Completes the entrywise partial sums of a contiguous matrix or vector in place.
  template <typename Derived>
  void sum_entries(Eigen::PlainObjectBase<Derived>& partial) const {
    (void)partial;
  }
  /// \brief True if \p local is true in every process.
  bool all(bool local) const { return local; }
  /// \brief The number of samples in all processes, given this process's count.
  Index total_samples(Index local) const { return local; }
};

}  // namespace dladmm
