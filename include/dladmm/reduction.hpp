/// \file reduction.hpp
/// \brief Sample reductions: how a sum over the training samples is completed when the samples
/// are split (ALGORITHM.md §8). LocalSamples, the default, holds every sample in this process.
#pragma once

#include "config.hpp"
#include "detail/bf16_product.hpp"
#include "detail/parallel.hpp"

namespace dladmm {

/// \brief The members of a sample reduction that follow from its sum() and sum_entries():
/// derive a reduction from SampleReductionBase<itself> (CRTP) to get them. A reduction may
/// define its own instead (MpiSamples's deterministic mode does, to group the samples in fixed
/// blocks); these compute over all of this process's columns at once, as the solver did before
/// they existed, and then complete the sums with the derived type's sum() and sum_entries().
template <typename Derived>
struct SampleReductionBase {
  /// \brief False: sums are grouped by the columns each process holds (a deterministic
  /// MpiSamples says true, and the solver then refuses what it cannot keep deterministic).
  bool deterministic() const { return false; }
  /// \brief Checks that this process's \p samples fit the reduction (here: any count does).
  void check_samples(Index samples, const char* where) const {
    (void)samples;
    (void)where;
  }
  /// \brief The sum over samples of f(first, count), a double computed from the columns
  /// [first, first + count) of \p rows x \p cols matrices: detail::sum_column_blocks, then
  /// sum(). \p f may run on several threads at once, on disjoint columns.
  template <typename F>
  double sum_columns(Index rows, Index cols, F&& f) const {
    return self().sum(detail::sum_column_blocks(rows, cols, f));
  }
  /// \brief The sums over samples of \p count figures: f(first, n, partial) writes into
  /// partial[0..count) the figures of the columns [first, first + n); here f(0, cols, values),
  /// then sum(values, count). \p f runs on the calling thread.
  template <typename F>
  void sum_columns(double* values, Index count, Index cols, F&& f) const {
    f(Index(0), cols, values);
    self().sum(values, count);
  }
  /// \brief dst = alpha op(lhs) op(rhs), a product whose output columns are samples (the
  /// columns of rhs; \p transposed is None or Lhs): detail::multiply, or with bf16 inputs by
  /// \p bf16 if given (detail::multiply_routed).
  template <typename Scalar>
  void sample_product(detail::View<Scalar> dst, const detail::ConstView<Scalar>& lhs,
                      const detail::ConstView<Scalar>& rhs, Scalar alpha,
                      detail::Transposed transposed = detail::Transposed::None,
                      detail::Bf16Products* bf16 = nullptr) const {
    detail::multiply_routed<Scalar>(dst, lhs, rhs, alpha, transposed, bf16);
  }
  /// \brief Calls f(first, count) on column ranges covering [0, cols) of matrices whose
  /// columns are samples, for per-column work whose rounding may follow the range (a solve
  /// with many right-hand sides); here f(0, cols). \p f runs on the calling thread.
  template <typename F>
  void column_ranges(Index cols, F&& f) const {
    f(Index(0), cols);
  }
  /// \brief The lower triangle of dst = alpha A A^T (A's columns are samples), summed over
  /// samples: a rank update of the zeroed \p dst, then sum_entries() (the strict upper
  /// triangle stays zero).
  template <typename Scalar>
  void sum_gram(Matrix<Scalar>& dst, const detail::ConstView<Scalar>& a, Scalar alpha) const {
    dst.setZero();
    dst.template selfadjointView<Eigen::Lower>().rankUpdate(a, alpha);
    self().sum_entries(dst);
  }
  /// \brief dst = alpha lhs rhs^T, a product whose depth is the samples (the columns of lhs
  /// and rhs), summed over samples: detail::multiply (with bf16 inputs by \p bf16 if given),
  /// then sum_entries().
  template <typename Scalar>
  void sum_product(Matrix<Scalar>& dst, const detail::ConstView<Scalar>& lhs,
                   const detail::ConstView<Scalar>& rhs, Scalar alpha,
                   detail::Bf16Products* bf16 = nullptr) const {
    detail::multiply_routed<Scalar>(dst, lhs, rhs, alpha, detail::Transposed::Rhs, bf16);
    self().sum_entries(dst);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

/// \brief The sample reduction of a problem whose samples are all in this process: every sum
/// over samples is complete already, so each operation does nothing and costs nothing.
///
/// A sample reduction is any type with these members (the ones of SampleReductionBase
/// included); the solver routes through them every sum over samples (the W gradient R A^T, the
/// backtracking norms of sample-wide blocks, the b column sums, FISTA's stopping sums, the
/// objective and residuals, the training metrics, the finiteness of the data), every product
/// whose columns are samples, and no sum over parameters (regularisers, the norm of a W
/// gradient). A data-parallel reduction sums the partial results of every process, so that each
/// process sees the same totals and takes the same decisions.
struct LocalSamples : SampleReductionBase<LocalSamples> {
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
