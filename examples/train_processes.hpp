// The processes of a dladmm_train run. Started by an MPI launcher (mpirun, srun), the program
// starts MPI and every process of MPI_COMM_WORLD trains on its slice of the samples; otherwise
// (or when built without MPI) it is one process and MPI is not touched. Part of the program,
// not of the library.
#pragma once

#include <dladmm/reduction.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef DLADMM_TRAIN_MPI
#include <dladmm/mpi.hpp>
#include <dladmm/mpi_checkpoint.hpp>
#endif

namespace train {

/// The run stops with this exit status; its message has been printed (by one process).
struct Stopped {
  int status;
};

#ifdef DLADMM_TRAIN_MPI
/// True if an MPI launcher started this process (Open MPI's mpirun, MPICH's and Intel MPI's
/// Hydra, and PMIx launchers such as Slurm's srun --mpi=pmix set these).
inline bool started_by_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

/// The sample reduction of dladmm_train: MpiSamples over MPI_COMM_WORLD when MPI runs, else
/// LocalSamples (one type, so the solver is compiled once). Every member forwards to the one in
/// use.
struct TrainSamples {
  const dladmm::MpiSamples* mpi = nullptr;  ///< Null when MPI does not run.
  dladmm::LocalSamples local;

  template <typename F>
  decltype(auto) with(F&& f) const {
    return mpi ? f(*mpi) : f(local);
  }
  void sum(double* values, dladmm::Index count) const {
    with([&](const auto& r) { r.sum(values, count); });
  }
  double sum(double partial) const {
    return with([&](const auto& r) { return r.sum(partial); });
  }
  template <typename Derived>
  void sum_entries(Eigen::PlainObjectBase<Derived>& partial) const {
    with([&](const auto& r) { r.sum_entries(partial); });
  }
  bool all(bool local_value) const {
    return with([&](const auto& r) { return r.all(local_value); });
  }
  dladmm::Index total_samples(dladmm::Index count) const {
    return with([&](const auto& r) { return r.total_samples(count); });
  }
  bool deterministic() const {
    return with([](const auto& r) { return r.deterministic(); });
  }
  void check_samples(dladmm::Index samples, const char* where) const {
    with([&](const auto& r) { r.check_samples(samples, where); });
  }
  template <typename F>
  double sum_columns(dladmm::Index rows, dladmm::Index cols, F&& f) const {
    return with([&](const auto& r) { return r.sum_columns(rows, cols, f); });
  }
  template <typename F>
  void sum_columns(double* values, dladmm::Index count, dladmm::Index cols, F&& f) const {
    with([&](const auto& r) { r.sum_columns(values, count, cols, f); });
  }
  template <typename Scalar>
  void sample_product(dladmm::detail::View<Scalar> dst,
                      const dladmm::detail::ConstView<Scalar>& lhs,
                      const dladmm::detail::ConstView<Scalar>& rhs, Scalar alpha,
                      dladmm::detail::Transposed transposed = dladmm::detail::Transposed::None,
                      dladmm::detail::Bf16Products* bf16 = nullptr) const {
    with([&](const auto& r) { r.sample_product(dst, lhs, rhs, alpha, transposed, bf16); });
  }
  template <typename F>
  void column_ranges(dladmm::Index cols, F&& f) const {
    with([&](const auto& r) { r.column_ranges(cols, f); });
  }
  template <typename Scalar>
  void sum_gram(dladmm::Matrix<Scalar>& dst, const dladmm::detail::ConstView<Scalar>& a,
                Scalar alpha) const {
    with([&](const auto& r) { r.sum_gram(dst, a, alpha); });
  }
  template <typename Scalar>
  void sum_product(dladmm::Matrix<Scalar>& dst, const dladmm::detail::ConstView<Scalar>& lhs,
                   const dladmm::detail::ConstView<Scalar>& rhs, Scalar alpha,
                   dladmm::detail::Bf16Products* bf16 = nullptr) const {
    with([&](const auto& r) { r.sum_product(dst, lhs, rhs, alpha, bf16); });
  }
};
#else
using TrainSamples = dladmm::LocalSamples;
#endif

/// The processes of the run: MPI is started (and finalised at the end) only when a launcher
/// started this process.
class Processes {
 public:
  Processes(int& argc, char**& argv) {
#ifdef DLADMM_TRAIN_MPI
    if (!started_by_mpi_launcher()) return;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      std::cerr << "dladmm_train: MPI_Init_thread failed\n";
      std::exit(2);
    }
    m_mpi = std::make_unique<dladmm::MpiSamples>(MPI_COMM_WORLD);
    m_rank = m_mpi->rank();
    m_size = m_mpi->size();
#else
    (void)argc;
    (void)argv;
#endif
  }
  ~Processes() {
#ifdef DLADMM_TRAIN_MPI
    if (m_mpi) {
      m_mpi.reset();
      MPI_Finalize();
    }
#endif
  }
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  int rank() const { return m_rank; }
  int size() const { return m_size; }
  /// True when the samples are split over more than one process.
  bool split() const { return m_size > 1; }
  /// True when an MPI launcher started the run (even with one process).
  bool launched() const {
#ifdef DLADMM_TRAIN_MPI
    return m_mpi != nullptr;
#else
    return false;
#endif
  }
  /// True for the process that prints and writes the history and the model.
  bool leader() const { return m_rank == 0; }
  /// The sample reduction for the problem.
  TrainSamples samples() const {
#ifdef DLADMM_TRAIN_MPI
    TrainSamples samples;
    samples.mpi = m_mpi.get();
    return samples;
#else
    return {};
#endif
  }
#ifdef DLADMM_TRAIN_MPI
  /// The MPI reduction, or null when MPI does not run.
  const dladmm::MpiSamples* mpi() const { return m_mpi.get(); }
#endif
  /// Makes the sums over samples deterministic (MpiSamples' deterministic mode: results
  /// bit-identical for any process count). Needs MPI: false if it does not run.
  bool make_deterministic() {
#ifdef DLADMM_TRAIN_MPI
    if (!m_mpi) return false;
    m_mpi = std::make_unique<dladmm::MpiSamples>(MPI_COMM_WORLD,
                                                 dladmm::MpiSamples::Summation::Deterministic);
    return true;
#else
    return false;
#endif
  }
  /// The samples a slice must hold whole blocks of (1: any count).
  dladmm::Index block() const {
#ifdef DLADMM_TRAIN_MPI
    if (m_mpi && m_mpi->deterministic()) return m_mpi->block();
#endif
    return 1;
  }

  /// The largest \p value over the processes.
  long long max(long long value) const {
#ifdef DLADMM_TRAIN_MPI
    if (m_mpi)
      dladmm::detail::check_mpi(
          MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_LONG_LONG, MPI_MAX, m_mpi->communicator()),
          "MPI_Allreduce (max)");
#endif
    return value;
  }
  /// The smallest \p value over the processes.
  long long min(long long value) const { return -max(-value); }

  /// Ends every process at once with \p status: for a failure some processes may not share
  /// (an exception in the middle of an iteration), where waiting for the others could hang.
  [[noreturn]] void abort(int status) const {
#ifdef DLADMM_TRAIN_MPI
    if (m_mpi) MPI_Abort(MPI_COMM_WORLD, status);
#endif
    std::exit(status);
  }

 private:
#ifdef DLADMM_TRAIN_MPI
  std::unique_ptr<dladmm::MpiSamples> m_mpi;  // null when MPI does not run
#endif
  int m_rank = 0;
  int m_size = 1;
};

#ifdef DLADMM_TRAIN_MPI
using dladmm::FailedElsewhere;
#else
/// Never thrown without MPI.
struct FailedElsewhere : std::runtime_error {
  using std::runtime_error::runtime_error;
};
#endif

/// Runs \p step on every process, then agrees on its outcome: if it threw on some process,
/// one process prints the error (the first that failed for a reason of its own rather than
/// because another failed) and every process throws Stopped with exit status 2. \p step must
/// make no collective call that a failing process could leave unmatched, except operations
/// that agree themselves (they throw FailedElsewhere on the processes that did not fail).
template <typename Step>
void agree(const Processes& processes, Step&& step) {
  int status = 0;
  bool own = false;  // failed for a reason of its own
  std::string message;
  try {
    step();
  } catch (const FailedElsewhere& e) {
    status = 2;
    message = e.what();
  } catch (const std::bad_alloc&) {
    status = 2;
    own = true;
    message = "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    status = 2;
    own = true;
    message = e.what();
  }
  if (processes.max(status) == 0) return;
  const long long first_own = processes.min(own ? processes.rank() : processes.size());
  if (processes.rank() == (first_own < processes.size() ? first_own : 0)) {
    std::cerr << "dladmm_train: ";
    if (processes.split())
      std::cerr << "process " << processes.rank() << " of " << processes.size() << ": ";
    std::cerr << message << "\n";
  }
  throw Stopped{2};
}

}  // namespace train
