// Catch2's main for the MPI tests (dladmm_mpi_tests): every process runs every test case, in
// the same order, between MPI_Init and MPI_Finalize; the exit status is the worst of all
// processes', so mpirun fails if any process failed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = Catch::Session().run(argc, argv);
  MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}
