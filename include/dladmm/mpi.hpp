/// \file mpi.hpp
/// \brief MpiSamples: the sample reduction of a data-parallel run over MPI (ALGORITHM.md §8),
/// and slice_of() for this process (data/sample_slice.hpp splits the samples into contiguous
/// slices, one per process).
///
/// Not included by dladmm.hpp: only a program that includes this header needs MPI (its headers
/// and library, e.g. CMake's `find_package(MPI COMPONENTS CXX)` and `MPI::MPI_CXX`).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "config.hpp"
#include "data/sample_slice.hpp"

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
/// Sums are combined by MPI_SUM in the order the MPI library chooses, so a run agrees with the
/// one-process run to within the rounding of that other grouping, not bit for bit. Every process
/// must receive the same bits from a reduction, so that W and b stay identical everywhere: the
/// MPI standard recommends this without requiring it; Open MPI does it (tests/test_mpi.cpp
/// checks W and b on every process after every iteration).
class MpiSamples {
 public:
  /// \brief A reduction over the processes of \p communicator (MPI_COMM_WORLD by default).
  /// The communicator is not duplicated: it must stay valid while the reduction is used.
  /// \throws std::logic_error if MPI is not initialised (or already finalised);
  /// std::invalid_argument if \p communicator is MPI_COMM_NULL; std::runtime_error if MPI
  /// cannot tell this process's rank or the communicator's size.
  explicit MpiSamples(MPI_Comm communicator = MPI_COMM_WORLD) : m_communicator(communicator) {
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

 private:
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
  int m_rank = 0;
  int m_size = 1;
};

/// \brief slice_of(total, samples.size(), samples.rank()): this process's slice.
inline SampleSlice slice_of(Index total, const MpiSamples& samples) {
  return slice_of(total, samples.size(), samples.rank());
}

}  // namespace dladmm
