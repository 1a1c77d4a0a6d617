// Split checkpoints (mpi_checkpoint.hpp) and the Standardizer over MpiSamples, under mpirun
// with 1, 2 and 3 processes (part of dladmm_mpi_tests). Every process calls the collective
// operations in the same order; pass or fail is decided on what all processes agree on.
#include <catch2/catch.hpp>

#include <dladmm/data/dataset.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>
#include <dladmm/mpi.hpp>
#include <dladmm/mpi_checkpoint.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using dladmm::Index;
using dladmm::Matrix;
using dladmm::MpiSamples;

namespace {

using SplitProblem =
    dladmm::Problem<float, dladmm::Relu, dladmm::SoftmaxCrossEntropy, dladmm::DenseMap, MpiSamples>;

// A folder every process sees, named by process 0 (a new one each time), and removed by it
// once every process is done with it.
struct SharedDir {
  const MpiSamples& samples;
  std::filesystem::path path;
  explicit SharedDir(const MpiSamples& s) : samples(s) {
    static int made = 0;
    char name[256] = {};
    if (samples.rank() == 0) {
      const auto dir =
          std::filesystem::temp_directory_path() /
          ("dladmm_mpi_checkpoint_" + std::to_string(::getpid()) + "_" + std::to_string(++made));
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      std::snprintf(name, sizeof name, "%s", dir.c_str());
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, samples.communicator());
    path = name;
  }
  ~SharedDir() {
    MPI_Barrier(samples.communicator());
    std::error_code ec;
    if (samples.rank() == 0) std::filesystem::remove_all(path, ec);
  }
  std::string file(const char* name) const { return (path / name).string(); }
};

dladmm::Param<float> small_param(int iterations) {
  dladmm::Param<float> param;
  param.rho = 1e-2f;
  param.max_iterations = iterations;
  return param;
}

// Each process's slice of a seeded synthetic set, as a problem over MpiSamples.
SplitProblem slice_problem(const MpiSamples& samples) {
  const Index total = 301;
  const auto data = dladmm::make_synthetic<float>(10, 4, total, 5);
  const dladmm::SampleSlice slice = dladmm::slice_of(total, samples);
  return SplitProblem(Matrix<float>(data.x.middleCols(slice.first, slice.count)),
                      Matrix<float>(data.one_hot().middleCols(slice.first, slice.count)), {8, 6},
                      dladmm::Relu(), dladmm::SoftmaxCrossEntropy(), dladmm::DenseMap(), samples);
}

// True on every process if every process's W and b equal the other network's bit for bit.
template <typename Net>
bool same_parameters(const MpiSamples& samples, const Net& a, const Net& b) {
  bool same = true;
  for (Index l = 0; l < a.num_layers(); ++l)
    same = same && a.layer(l).W == b.layer(l).W && a.layer(l).b == b.layer(l).b;
  return samples.all(same);
}

}  // namespace

TEST_CASE("a split checkpoint resumes bit for bit, and its manifest is committed last", "[mpi]") {
  const MpiSamples samples;
  const SharedDir dir(samples);
  const std::string path = dir.file("run.ckpt");

  SplitProblem whole_problem = slice_problem(samples);
  dladmm::Solver<SplitProblem> whole(small_param(9));
  whole.minimize(whole_problem);

  SplitProblem first_problem = slice_problem(samples);
  dladmm::Solver<SplitProblem> first(small_param(4));
  first.init(first_problem);
  for (int k = 0; k < 2; ++k) first.step();
  dladmm::save_split_checkpoint(path, first, nullptr, samples);
  for (int k = 0; k < 2; ++k) first.step();
  dladmm::save_split_checkpoint(path, first, nullptr, samples);

  // The manifest names the parts of iteration 4; those of iteration 2 are gone.
  std::ifstream manifest(path);
  std::string text((std::istreambuf_iterator<char>(manifest)), std::istreambuf_iterator<char>());
  CHECK(samples.all(text.find("\niteration 4\n") != std::string::npos));
  const std::string part2 =
      "run.ckpt.it2.part" + std::to_string(samples.rank()) + "of" + std::to_string(samples.size());
  const std::string part4 =
      "run.ckpt.it4.part" + std::to_string(samples.rank()) + "of" + std::to_string(samples.size());
  CHECK(samples.all(!std::filesystem::exists(dir.path / part2)));
  CHECK(samples.all(std::filesystem::exists(dir.path / part4)));

  SplitProblem resumed_problem = slice_problem(samples);
  dladmm::Solver<SplitProblem> resumed(small_param(9));
  dladmm::load_split_checkpoint(path, resumed_problem, resumed, nullptr, samples);
  CHECK(samples.all(resumed.iteration() == 4));
  resumed.run();
  CHECK(same_parameters(samples, resumed_problem.network(), whole_problem.network()));
}

TEST_CASE(
    "a split checkpoint with a part missing, of another process count or of one process "
    "is refused on every process, by name",
    "[mpi]") {
  const MpiSamples samples;
  const SharedDir dir(samples);
  const std::string path = dir.file("run.ckpt");
  SplitProblem problem = slice_problem(samples);
  dladmm::Solver<SplitProblem> solver(small_param(3));
  solver.init(problem);
  solver.step();
  dladmm::save_split_checkpoint(path, solver, nullptr, samples);

  auto refusal = [&](const std::string& file) {  // the message, or "" if it loaded
    SplitProblem fresh = slice_problem(samples);
    dladmm::Solver<SplitProblem> other(small_param(3));
    try {
      dladmm::load_split_checkpoint(file, fresh, other, nullptr, samples);
    } catch (const dladmm::FailedElsewhere& e) {
      return "elsewhere: " + std::string(e.what());
    } catch (const dladmm::CheckpointError& e) {
      return std::string(e.what());
    }
    return std::string();
  };

  // The last process's part is missing: it names the file, the others say another failed.
  const int last = samples.size() - 1;
  if (samples.rank() == last)
    std::filesystem::remove(dir.path / ("run.ckpt.it1.part" + std::to_string(last) + "of" +
                                        std::to_string(samples.size())));
  MPI_Barrier(samples.communicator());
  const std::string missing = refusal(path);
  CHECK(samples.all(samples.rank() == last ? missing.find("cannot open") != std::string::npos
                                           : missing.find("elsewhere: ") == 0 &&
                                                 missing.find("another process could not resume") !=
                                                     std::string::npos));

  // A manifest written by another number of processes.
  if (samples.rank() == 0) {
    std::ofstream out(dir.file("other.ckpt"));
    const int other = samples.size() + 1;
    out << "dladmm split checkpoint 1\nprocesses " << other << "\niteration 1\n";
    for (int r = 0; r < other; ++r)
      out << "part " << r << " other.ckpt.it1.part" << r << "of" << other << "\n";
  }
  MPI_Barrier(samples.communicator());
  CHECK(samples.all(refusal(dir.file("other.ckpt"))
                        .find("written by " + std::to_string(samples.size() + 1) +
                              " processes, but this run has " + std::to_string(samples.size())) !=
                    std::string::npos));

  // A one-process checkpoint, and a damaged manifest.
  dladmm::Problem<float, dladmm::Relu, dladmm::SoftmaxCrossEntropy> local(
      Matrix<float>::Random(10, 20), Matrix<float>::Zero(4, 20), {8, 6});
  dladmm::Solver<decltype(local)> local_solver(small_param(2));
  local_solver.init(local);
  if (samples.rank() == 0) {
    dladmm::save_checkpoint(dir.file("one.ckpt"), local_solver);
    std::ofstream(dir.file("damaged.ckpt")) << "dladmm split checkpoint 1\nprocesses two\n";
  }
  MPI_Barrier(samples.communicator());
  CHECK(samples.all(refusal(dir.file("one.ckpt")).find("a checkpoint of a one-process run") !=
                    std::string::npos));
  CHECK(
      samples.all(refusal(dir.file("damaged.ckpt")).find("damaged manifest") != std::string::npos));
}

TEST_CASE("Standardizer::fit over MpiSamples gives every process the standardizer of all samples",
          "[mpi]") {
  const MpiSamples samples;
  const Index total = 301;
  const auto data = dladmm::make_synthetic<double>(7, 3, total, 9);
  const dladmm::SampleSlice slice = dladmm::slice_of(total, samples);
  const Matrix<double> mine = data.x.middleCols(slice.first, slice.count);
  const auto split = dladmm::Standardizer<double>::fit(mine, samples);
  const auto whole = dladmm::Standardizer<double>::fit(data.x);
  // The sums are grouped otherwise: equal within rounding, not bit for bit.
  CHECK(samples.all(((split.mean - whole.mean).array().abs() <= 1e-12).all()));
  CHECK(samples.all(((split.stddev - whole.stddev).array().abs() <= 1e-12).all()));
  // A NaN in one process's slice: every process refuses.
  Matrix<double> poisoned = mine;
  if (samples.rank() == samples.size() - 1) poisoned(0, 0) = std::nan("");
  bool refused = false;
  try {
    dladmm::Standardizer<double>::fit(poisoned, samples);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CHECK(samples.all(refused));
}
