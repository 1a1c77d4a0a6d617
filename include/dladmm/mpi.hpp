/// \file mpi.hpp
/// \brief MpiSamples: the sample reduction of a data-parallel run over MPI (ALGORITHM.md §8),
/// fast or deterministic (histories bit-identical for any process count), and slice_of() for
/// this process (data/sample_slice.hpp splits the samples into contiguous slices).
///
/// Not included by dladmm.hpp: only a program that includes this header needs MPI (its headers
/// and library, e.g. CMake's `find_package(MPI COMPONENTS CXX)` and `MPI::MPI_CXX`).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "data/sample_slice.hpp"
#include "detail/grid_sum.hpp"
#include "detail/parallel.hpp"
#include "detail/product.hpp"
#include "reduction.hpp"

namespace dladmm {

namespace detail {

/// \brief Throws std::runtime_error naming \p call and MPI's error string unless \p code is
/// MPI_SUCCESS.
inline void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  std::string message = std::string("dladmm: ") + call + " failed: ";
  if (MPI_Error_string(code, text, &length) == MPI_SUCCESS)
    message.append(text, std::size_t(length));
  else
    message += "MPI error code " + std::to_string(code);
  throw std::runtime_error(message);
}

/// \brief The MPI datatype of \p Scalar (float or double).
template <typename Scalar>
MPI_Datatype mpi_type() {
  static_assert(std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value,
                "MpiSamples: entries must be float or double");
  return std::is_same<Scalar, float>::value ? MPI_FLOAT : MPI_DOUBLE;
}

/// \brief Entries per MPI call, at most: MPI counts are int, so a larger array is summed in
/// pieces of this size.
inline constexpr Index mpi_max_count = Index(1) << 30;

}  // namespace detail

/// \brief The sample reduction of a data-parallel run over MPI: each process of the
/// communicator holds a slice of the samples (columns of X and Y; see slice_of()) and a full
/// copy of W and b, and every sum over samples is completed by an MPI_Allreduce over the
/// communicator, so that every process sees the same totals and takes the same decisions
/// (ALGORITHM.md §8). Use it as the last template argument of Problem:
/// `Problem<Scalar, Relu, SoftmaxCrossEntropy, DenseMap, MpiSamples>`.
///
/// The caller owns MPI: MPI_Init (or MPI_Init_thread) before the first MpiSamples is made,
/// MPI_Finalize after the last solver call that uses it. Every member except rank(), size() and
/// communicator() is collective: every process of the communicator must call it in the same
/// order, as the solver does when each process runs the same solver on its slice. Each process
/// must hold at least one sample (Problem refuses empty data).
///
/// Every MPI call's return code is checked, and a failure throws std::runtime_error with MPI's
/// error string. Under MPI's default error handler (MPI_ERRORS_ARE_FATAL on MPI_COMM_WORLD) an
/// MPI error aborts the job before the call returns; set MPI_ERRORS_RETURN on the communicator
/// (MPI_Comm_set_errhandler) for the error to reach this class instead.
///
/// With Summation::Fast (the default), the members are SampleReductionBase's (local products
/// and sums over all this process's columns) over sum() and sum_entries(): sums are combined
/// by MPI_SUM in the order the MPI library chooses, so a run agrees with the one-process run to
/// within the rounding of that other grouping, not bit for bit. Every process must receive the same
/// bits from a reduction, so that W and b stay identical everywhere: the MPI standard recommends
/// this without requiring it; Open MPI does it (tests/test_mpi.cpp checks W and b on every process
/// after every iteration).
///
/// With Summation::Deterministic, a run's history, W and b are bit-identical for any number of
/// processes (and threads), the one-process run included (ALGORITHM.md §8): the samples are
/// grouped in fixed blocks of block() samples, every process holds whole blocks (see
/// slice_of(); only the last block of all may be shorter), every product whose columns are
/// samples is computed block by block, and the per-block partial sums are combined exactly
/// (detail/grid_sum.hpp), so that no result depends on where the slices end. It costs two
/// MPI_Allreduce calls per sum instead of one, twice (double) or four times (float) the bytes
/// for the W gradient (and the exact W step's Gram matrix), and products in pieces of block()
/// columns. It supports the dense layer map and a loss over every column; the solver refuses
/// the rest at init().
/// Every process must still hold at least one sample, so there must be at least as many blocks
/// as processes.
class MpiSamples : public SampleReductionBase<MpiSamples> {
  using Base = SampleReductionBase<MpiSamples>;

 public:
  /// \brief How sums over samples are combined.
  enum class Summation {
    Fast,          ///< MPI_SUM of each process's partial sums: rounding follows the split.
    Deterministic  ///< Fixed blocks of samples, combined exactly: bit-identical for any split.
  };
  /// \brief Samples per block of the deterministic mode, unless the constructor is told.
  static constexpr Index default_block = 256;

  /// \brief A reduction over the processes of \p communicator (MPI_COMM_WORLD by default),
  /// fast or deterministic (\p summation), the latter in blocks of \p block samples.
  /// The communicator is not duplicated: it must stay valid while the reduction is used.
  /// \throws std::logic_error if MPI is not initialised (or already finalised);
  /// std::invalid_argument if \p communicator is MPI_COMM_NULL or \p block is not a positive
  /// multiple of 64 (which keeps every block's columns aligned in memory as in the one-process
  /// run); std::runtime_error if MPI cannot tell this process's rank or the communicator's size.
  explicit MpiSamples(MPI_Comm communicator = MPI_COMM_WORLD, Summation summation = Summation::Fast,
                      Index block = default_block)
      : m_communicator(communicator), m_summation(summation), m_block(block) {
    if (block < 64 || block % 64 != 0)
      throw std::invalid_argument(
          "MpiSamples: the block of samples must be a positive multiple "
          "of 64, got " +
          std::to_string(block));
    int initialized = 0, finalized = 0;
    detail::check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
    detail::check_mpi(MPI_Finalized(&finalized), "MPI_Finalized");
    if (!initialized || finalized)
      throw std::logic_error(
          "MpiSamples: MPI is not initialised: call MPI_Init before making the reduction, and "
          "MPI_Finalize only after the last use");
    if (communicator == MPI_COMM_NULL)
      throw std::invalid_argument("MpiSamples: the communicator is MPI_COMM_NULL");
    detail::check_mpi(MPI_Comm_rank(m_communicator, &m_rank), "MPI_Comm_rank");
    detail::check_mpi(MPI_Comm_size(m_communicator, &m_size), "MPI_Comm_size");
  }

  /// \brief The communicator the sums run over.
  MPI_Comm communicator() const { return m_communicator; }
  /// \brief This process's rank in the communicator, 0 .. size() - 1.
  int rank() const { return m_rank; }
  /// \brief The number of processes of the communicator.
  int size() const { return m_size; }
  /// \brief Fast or Deterministic.
  Summation summation() const { return m_summation; }
  /// \brief True in Summation::Deterministic.
  bool deterministic() const { return m_summation == Summation::Deterministic; }
  /// \brief Samples per block (used by the deterministic mode and its slice_of()).
  Index block() const { return m_block; }

  /// \brief Completes the partial sums \p values[0..count) in place: afterwards every process
  /// holds the sum over all processes of each entry. Collective.
  /// \throws std::runtime_error if MPI reports an error.
  void sum(double* values, Index count) const { allreduce_sum(values, count, MPI_DOUBLE); }

  /// \brief The sum of \p partial over all processes. Collective.
  /// \throws std::runtime_error if MPI reports an error.
  double sum(double partial) const {
    allreduce_sum(&partial, 1, MPI_DOUBLE);
    return partial;
  }

  /// \brief Completes the entrywise partial sums of a float or double matrix or vector in place
  /// (its storage is contiguous), summed in its own scalar type. Every process must pass the
  /// same shape. Collective.
  /// \throws std::runtime_error if MPI reports an error.
  template <typename Derived>
  void sum_entries(Eigen::PlainObjectBase<Derived>& partial) const {
    using Scalar = typename Derived::Scalar;
    allreduce_sum(partial.data(), partial.size(), detail::mpi_type<Scalar>());
  }

  /// \brief True if \p local is true in every process (MPI_LAND). Collective.
  /// \throws std::runtime_error if MPI reports an error.
  bool all(bool local) const {
    int value = local ? 1 : 0;
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_LAND, m_communicator),
                      "MPI_Allreduce (all)");
    return value != 0;
  }

  /// \brief The number of samples in all processes, given this process's count \p local.
  /// Collective.
  /// \throws std::runtime_error if MPI reports an error.
  Index total_samples(Index local) const {
    std::int64_t value = local;
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_SUM, m_communicator),
                      "MPI_Allreduce (total_samples)");
    return Index(value);
  }

  /// \brief In deterministic mode, checks that every process holds whole blocks of samples
  /// but at most one (the last block of all, shorter); otherwise does nothing. Collective in
  /// deterministic mode: every process throws, or none.
  /// \throws std::invalid_argument naming \p where if the slices do not fit the blocks;
  /// std::runtime_error if MPI reports an error.
  void check_samples(Index samples, const char* where) const {
    if (!deterministic()) return;
    int partial = samples % m_block != 0 ? 1 : 0;
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &partial, 1, MPI_INT, MPI_SUM, m_communicator),
                      "MPI_Allreduce (check_samples)");
    if (partial > 1)
      throw std::invalid_argument(
          std::string(where) + ": deterministic MpiSamples needs slices of whole blocks of " +
          std::to_string(m_block) + " samples, but " + std::to_string(partial) +
          " processes hold a partial block (only the last block may be; use slice_of(total, "
          "samples))");
  }

  /// \brief The sum over the samples of every process of f(first, count), a double computed
  /// from this process's columns [first, first + count) of \p rows x \p cols matrices (\p f
  /// may run on several threads at once, on disjoint columns). Fast: detail::sum_column_blocks,
  /// then MPI_SUM. Deterministic: f on each block, the partials combined exactly. Collective.
  /// \throws std::runtime_error if MPI reports an error.
  template <typename F>
  double sum_columns(Index rows, Index cols, F&& f) const {
    if (!deterministic()) return Base::sum_columns(rows, cols, f);
    const Index blocks = block_count(cols);
    m_partials.assign(std::size_t(blocks), 0.0);
    const bool parallel = rows * cols >= detail::parallel_min_entries;
    DLADMM_PARALLEL_FOR_IF_PARALLEL
    for (Index k = 0; k < blocks; ++k)
      m_partials[std::size_t(k)] = f(k * m_block, std::min(m_block, cols - k * m_block));
    double value = 0;
    combine(&value, 1, blocks);
    return value;
  }

  /// \brief The sums over the samples of every process of \p count figures:
  /// f(first, n, partial) writes into partial[0..count) the figures of this process's columns
  /// [first, first + n) of matrices of \p cols columns; \p values receives the totals. Fast:
  /// f(0, cols, values), then MPI_SUM. Deterministic: f on each block in turn (on the calling
  /// thread), the partials combined exactly. Collective.
  /// \throws std::runtime_error if MPI reports an error.
  template <typename F>
  void sum_columns(double* values, Index count, Index cols, F&& f) const {
    if (!deterministic()) return Base::sum_columns(values, count, cols, f);
    const Index blocks = block_count(cols);
    m_partials.assign(std::size_t(blocks * count), 0.0);
    for (Index k = 0; k < blocks; ++k)
      f(k * m_block, std::min(m_block, cols - k * m_block), m_partials.data() + k * count);
    combine(values, count, blocks);
  }

  /// \brief dst = alpha op(lhs) op(rhs), a product whose output columns are this process's
  /// samples (the columns of rhs; \p transposed is None or Lhs). Fast: detail::multiply, or
  /// with bf16 inputs by \p bf16 if given.
  /// Deterministic: one piece per block, so that every column is computed as in any split.
  /// Not collective.
  /// \throws std::logic_error if \p transposed is Rhs, or \p bf16 is given in the
  /// deterministic mode.
  template <typename Scalar>
  void sample_product(detail::View<Scalar> dst, const detail::ConstView<Scalar>& lhs,
                      const detail::ConstView<Scalar>& rhs, Scalar alpha,
                      detail::Transposed transposed = detail::Transposed::None,
                      detail::Bf16Products* bf16 = nullptr) const {
    if (!deterministic())
      return Base::sample_product<Scalar>(dst, lhs, rhs, alpha, transposed, bf16);
    refuse_bf16(bf16, "sample_product");
    if (transposed == detail::Transposed::Rhs)
      throw std::logic_error("MpiSamples::sample_product: the samples are rhs's columns");
    detail::use_one_blas_thread_per_call();
    const Index blocks = block_count(dst.cols());
#ifdef _OPENMP
    const int threads = Eigen::nbThreads();
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (Index k = 0; k < blocks; ++k) {
      const Index first = k * m_block, count = std::min(m_block, dst.cols() - first);
      detail::multiply_piece<Scalar>(dst.middleCols(first, count), lhs,
                                     detail::ConstView<Scalar>(rhs.middleCols(first, count)), alpha,
                                     transposed);
    }
  }

  /// \brief Calls f(first, count) on column ranges covering this process's \p cols columns,
  /// in turn on the calling thread: all at once (fast) or one block each (deterministic; for
  /// per-column work whose rounding may follow the range, as the exact a step's solve). Not
  /// collective.
  template <typename F>
  void column_ranges(Index cols, F&& f) const {
    if (!deterministic()) return Base::column_ranges(cols, f);
    for (Index first = 0; first < cols; first += m_block) f(first, std::min(m_block, cols - first));
  }

  /// \brief The lower triangle of dst = alpha A A^T summed over the samples of every process
  /// (A's columns; the exact W step's Gram matrix), the strict upper triangle zero. Fast: a rank
  /// update, then MPI_SUM in Scalar. Deterministic: the rank update of each block, added on the
  /// grid of the bound |alpha| max_k max_i ||A_k(i,:)||^2 as sum_product() does. Collective.
  /// \throws std::runtime_error if MPI reports an error.
  template <typename Scalar>
  void sum_gram(Matrix<Scalar>& dst, const detail::ConstView<Scalar>& a, Scalar alpha) const {
    if (!deterministic()) return Base::sum_gram<Scalar>(dst, a, alpha);
    const Index cols = a.cols(), blocks = block_count(cols);
    double bounds[2] = {0, double(blocks)};
    for (Index first = 0; first < cols; first += m_block) {
      const double bound = std::abs(double(alpha)) * largest_row_squares(a.middleCols(
                                                         first, std::min(m_block, cols - first)));
      bounds[0] = std::max(bounds[0], detail::magnitude(bound));
    }
    Matrix<Scalar>& piece = piece_buffer<Scalar>();
    piece.resize(dst.rows(), dst.cols());
    add_blocks(dst, bounds, cols, [&](Index first, Index count) {
      piece.setZero();
      piece.template selfadjointView<Eigen::Lower>().rankUpdate(a.middleCols(first, count), alpha);
      return piece.data();
    });
  }

  /// \brief dst = alpha lhs rhs^T summed over the samples of every process (the columns of
  /// lhs and rhs; the W gradient). Fast: detail::multiply (with bf16 inputs by \p bf16 if
  /// given), then MPI_SUM in Scalar.
  /// Deterministic: the product of each block, its entries added on the grid of a bound from
  /// Cauchy-Schwarz (|alpha| times the largest row norms of the blocks of lhs and rhs), summed
  /// in double over the processes and rounded to Scalar once. Collective.
  /// \throws std::runtime_error if MPI reports an error; std::logic_error if \p bf16 is given
  /// in the deterministic mode.
  template <typename Scalar>
  void sum_product(Matrix<Scalar>& dst, const detail::ConstView<Scalar>& lhs,
                   const detail::ConstView<Scalar>& rhs, Scalar alpha,
                   detail::Bf16Products* bf16 = nullptr) const {
    if (!deterministic()) return Base::sum_product<Scalar>(dst, lhs, rhs, alpha, bf16);
    refuse_bf16(bf16, "sum_product");
    const Index cols = lhs.cols(), blocks = block_count(cols);
    double bounds[2] = {0, double(blocks)};
    for (Index k = 0; k < blocks; ++k) {
      const Index first = k * m_block, count = std::min(m_block, cols - first);
      const double bound = std::abs(double(alpha)) *
                           std::sqrt(largest_row_squares(lhs.middleCols(first, count))) *
                           std::sqrt(largest_row_squares(rhs.middleCols(first, count)));
      bounds[0] = std::max(bounds[0], detail::magnitude(bound));
    }
    Matrix<Scalar>& piece = piece_buffer<Scalar>();
    piece.resize(dst.rows(), dst.cols());
    add_blocks(dst, bounds, cols, [&](Index first, Index count) {
      detail::multiply<Scalar>(piece, detail::ConstView<Scalar>(lhs.middleCols(first, count)),
                               detail::ConstView<Scalar>(rhs.middleCols(first, count)), alpha,
                               detail::Transposed::Rhs);
      return piece.data();
    });
  }

 private:
  Index block_count(Index cols) const { return (cols + m_block - 1) / m_block; }

  // The deterministic mode computes in Scalar only (the solver refuses bf16 products with it).
  static void refuse_bf16(const detail::Bf16Products* bf16, const char* where) {
    if (bf16)
      throw std::logic_error(std::string("MpiSamples::") + where +
                             ": bf16 products are not supported by the deterministic mode");
  }

  // dst = the sum over the blocks of every process of the matrices that block(first, count)
  // points to (dst's shape), for the blocks of this process's \p cols columns, each added on
  // the grid of bounds[0] (a bound on their entries here; bounds[1] = the number of blocks
  // here): MPI_MAX of the bounds, grid sums in double, MPI_SUM, one rounding to Scalar.
  template <typename Scalar, typename Block>
  void add_blocks(Matrix<Scalar>& dst, double* bounds, Index cols, Block&& block) const {
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, bounds, 2, MPI_DOUBLE, MPI_MAX, m_communicator),
                      "MPI_Allreduce (bound)");
    const detail::Grid grid = detail::Grid::of(bounds[0], std::max(1.0, bounds[1] * m_size));
    const Index size = dst.size();
    m_sums.assign(std::size_t(2 * size), 0.0);
    double* hi = m_sums.data();
    double* lo = hi + size;
    for (Index first = 0; first < cols; first += m_block)
      grid.add(block(first, std::min(m_block, cols - first)), size, hi, lo);
    allreduce_sum(m_sums.data(), 2 * size, MPI_DOUBLE);
    for (Index e = 0; e < size; ++e) dst.data()[e] = Scalar(hi[e] + lo[e]);
  }

  // The largest sum of squares of a row of m (in double, column by column).
  template <typename Block>
  double largest_row_squares(const Block& m) const {
    m_rows.assign(std::size_t(m.rows()), 0.0);
    for (Index j = 0; j < m.cols(); ++j)
      for (Index i = 0; i < m.rows(); ++i) m_rows[std::size_t(i)] += double(m(i, j)) * m(i, j);
    double largest = 0;
    for (double r : m_rows) largest = std::max(largest, detail::magnitude(r));
    return largest;
  }

  // values[i] = the sum over the blocks of every process of m_partials[k * count + i]: each
  // figure's terms are added on the grid of its largest term over every process (MPI_MAX), and
  // the grid sums are added over the processes (MPI_SUM, exact).
  void combine(double* values, Index count, Index blocks) const {
    m_bounds.assign(std::size_t(count + 1), 0.0);
    for (Index k = 0; k < blocks; ++k)
      for (Index i = 0; i < count; ++i)
        m_bounds[std::size_t(i)] = std::max(
            m_bounds[std::size_t(i)], detail::magnitude(m_partials[std::size_t(k * count + i)]));
    m_bounds[std::size_t(count)] = double(blocks);
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, m_bounds.data(), int(count + 1), MPI_DOUBLE,
                                    MPI_MAX, m_communicator),
                      "MPI_Allreduce (bounds)");
    const double terms = std::max(1.0, m_bounds[std::size_t(count)] * m_size);
    m_sums.assign(std::size_t(2 * count), 0.0);
    for (Index i = 0; i < count; ++i) {
      const detail::Grid grid = detail::Grid::of(m_bounds[std::size_t(i)], terms);
      for (Index k = 0; k < blocks; ++k)
        grid.add(m_partials[std::size_t(k * count + i)], m_sums[std::size_t(i)],
                 m_sums[std::size_t(count + i)]);
    }
    allreduce_sum(m_sums.data(), 2 * count, MPI_DOUBLE);
    for (Index i = 0; i < count; ++i)
      values[i] = m_sums[std::size_t(i)] + m_sums[std::size_t(count + i)];
  }

  template <typename Scalar>
  Matrix<Scalar>& piece_buffer() const {
    if constexpr (std::is_same<Scalar, float>::value)
      return m_float_piece;
    else
      return m_double_piece;
  }

  template <typename T>
  void allreduce_sum(T* values, Index count, MPI_Datatype type) const {
    for (Index first = 0; first < count; first += detail::mpi_max_count) {
      const int n = int(std::min(detail::mpi_max_count, count - first));
      detail::check_mpi(
          MPI_Allreduce(MPI_IN_PLACE, values + first, n, type, MPI_SUM, m_communicator),
          "MPI_Allreduce (sum)");
    }
  }

  MPI_Comm m_communicator;
  Summation m_summation = Summation::Fast;
  Index m_block = default_block;
  int m_rank = 0;
  int m_size = 1;
  // Buffers of the deterministic mode (reused: no allocation once grown).
  mutable std::vector<double> m_partials, m_bounds, m_sums, m_rows;
  mutable Matrix<float> m_float_piece;
  mutable Matrix<double> m_double_piece;
};

/// \brief This process's slice of \p total samples: slice_of(total, samples.size(),
/// samples.rank()), or in deterministic mode slice_of(total, samples.size(), samples.rank(),
/// samples.block()) (whole blocks, as that mode needs).
inline SampleSlice slice_of(Index total, const MpiSamples& samples) {
  return samples.deterministic() ? slice_of(total, samples.size(), samples.rank(), samples.block())
                                 : slice_of(total, samples.size(), samples.rank());
}

}  // namespace dladmm
