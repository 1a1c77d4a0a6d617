// mpi_traffic: a PMPI interposer that counts what a program reduces over MPI. Preload it
// (LD_PRELOAD) into every process of an mpirun; at MPI_Finalize each process appends one line
// to the file named by DLADMM_MPI_TRAFFIC (or stderr):
//   rank R of P: C allreduce calls, B bytes, S seconds
// B counts the payload each call reduces (count x type size), which a ring allreduce sends and
// receives about twice per process; S is the wall time spent inside MPI_Allreduce. Used for the
// bytes per iteration and the communication time in docs/PERFORMANCE.md.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
long long g_calls = 0;
long long g_bytes = 0;
double g_seconds = 0;
}  // namespace

extern "C" int MPI_Allreduce(const void* send, void* receive, int count, MPI_Datatype type,
                             MPI_Op op, MPI_Comm communicator) {
  int size = 0;
  PMPI_Type_size(type, &size);
  const auto start = std::chrono::steady_clock::now();
  const int code = PMPI_Allreduce(send, receive, count, type, op, communicator);
  g_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++g_calls;
  g_bytes += static_cast<long long>(count) * size;
  return code;
}

extern "C" int MPI_Finalize() {
  int rank = 0, ranks = 1;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  PMPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const char* path = std::getenv("DLADMM_MPI_TRAFFIC");
  std::FILE* out = path ? std::fopen(path, "a") : nullptr;
  std::fprintf(out ? out : stderr,
               "rank %d of %d: %lld allreduce calls, %lld bytes, %.6f seconds\n", rank, ranks,
               g_calls, g_bytes, g_seconds);
  if (out) std::fclose(out);
  return PMPI_Finalize();
}
