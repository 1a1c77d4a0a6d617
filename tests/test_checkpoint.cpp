// Checkpoints: exact resume, refusal of damaged or mismatched files, atomic saves; the last
// finite state after a numerical failure; cap hits in the figures and the result.
#include <catch2/catch.hpp>

#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "same_run.hpp"
#include "temp_dir.hpp"

using dladmm::Index;

namespace {

template <typename Scalar>
dladmm::Problem<Scalar> make_problem(std::vector<Index> hidden = {12, 9}, std::uint64_t seed = 4) {
  const auto data = dladmm::make_synthetic<Scalar>(8, 3, 90, seed);
  return dladmm::Problem<Scalar>(data.x, data.one_hot(), hidden);
}

// Crosses a product refresh (every 5) and, for Step, a rho change (every 3).
template <typename Scalar>
dladmm::Param<Scalar> resume_param(dladmm::RhoSchedule schedule) {
  dladmm::Param<Scalar> p;
  p.rho = Scalar(1e-3);
  p.rho_schedule = schedule;
  p.rho_step_every = 3;
  p.rho_max = Scalar(1);
  p.product_refresh_every = 5;
  return p;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A checkpoint after 3 iterations of the float problem.
std::string saved_checkpoint(const TempDir& dir) {
  auto problem = make_problem<float>();
  dladmm::Param<float> param;
  param.max_iterations = 3;
  dladmm::Solver<dladmm::Problem<float>> solver(param);
  solver.minimize(problem);
  const std::string path = dir.file("run.ckpt");
  dladmm::save_checkpoint(path, solver);
  return path;
}

// Loading \p path into a fresh float problem fails with a message naming the file and
// containing \p expected, and leaves the problem's variables as they were.
void require_refused(const std::string& path, const std::string& expected,
                     std::vector<Index> hidden = {12, 9}, std::uint64_t data_seed = 4) {
  auto problem = make_problem<float>(hidden, data_seed);
  dladmm::Param<float> param;
  param.max_iterations = 2;
  dladmm::Solver<dladmm::Problem<float>> solver(param);
  solver.minimize(problem);  // some state that a refused load must not touch
  const auto before = problem;
  REQUIRE_THROWS_AS(dladmm::load_checkpoint(path, problem, solver), dladmm::CheckpointError);
  try {
    dladmm::load_checkpoint(path, problem, solver);
  } catch (const dladmm::CheckpointError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).rfind(path + ": ", 0) == 0);
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
  require_same_state(problem, before);
}

}  // namespace

TEMPLATE_TEST_CASE("K iterations, save, load, M more equal K + M in one go", "[checkpoint]", float,
                   double) {
  using Scalar = TestType;
  using ProblemT = dladmm::Problem<Scalar>;
  TempDir dir;
  for (auto schedule : {dladmm::RhoSchedule::Reference, dladmm::RhoSchedule::Step}) {
    const int k = 7, m = 6;
    auto param = resume_param<Scalar>(schedule);
    param.max_iterations = k + m;
    auto whole = make_problem<Scalar>();
    dladmm::Solver<ProblemT> whole_solver(param);
    dladmm::History whole_history;
    whole_solver.minimize(whole, whole_history);

    const std::string path = dir.file("resume.ckpt");
    {
      auto first = make_problem<Scalar>();
      param.max_iterations = k;
      dladmm::Solver<ProblemT> solver(param);
      dladmm::History history;
      solver.minimize(first, history);
      dladmm::save_checkpoint(path, solver, &history.rows);
    }
    auto resumed = make_problem<Scalar>();
    dladmm::Solver<ProblemT> solver;  // default Param: the checkpoint's replace them
    solver.set_max_iterations(k + m);
    dladmm::History history;
    dladmm::load_checkpoint(path, resumed, solver, &history.rows);
    CHECK(solver.iteration() == k);
    CHECK(dladmm::first_param_difference(solver.param(), whole_solver.param()) == "");
    const auto result = solver.run(history);
    CHECK(result.status == dladmm::Status::IterationLimit);
    CHECK(result.iterations == k + m);
    REQUIRE(history.rows.size() == std::size_t(k + m));
    CHECK(csv_without_time(history) == csv_without_time(whole_history));
    require_same_state(resumed, whole);
    for (Index l = 0; l < resumed.network().num_layers(); ++l)
      CHECK(solver.product(l) == whole_solver.product(l));
    CHECK(solver.rho() == whole_solver.rho());
    CHECK(solver.schedule()->theta == whole_solver.schedule()->theta);
    CHECK(solver.schedule()->losses == whole_solver.schedule()->losses);
  }
}

TEST_CASE("Param::for_each_field visits every field once", "[checkpoint]") {
  // Changing one field at a time must be seen as a difference in that field and no other.
  dladmm::Param<double> base;
  std::vector<std::string> names;
  dladmm::Param<double>::for_each_field(
      base, [&](const char* name, const auto&) { names.push_back(name); });
  REQUIRE(names.size() == 34);
  // The fields a version 1 or 2 checkpoint holds come first, then those of version 3.
  CHECK(names[dladmm::Param<double>::fields_before_version_3 - 1] == "curvature_scale_min_width");
  CHECK(names[dladmm::Param<double>::fields_before_version_4 - 1] == "balance_until");
  for (std::size_t i = 0; i < names.size(); ++i) {
    dladmm::Param<double> changed = base;
    std::size_t j = 0;
    dladmm::Param<double>::for_each_field(changed, [&](const char*, auto& field) {
      using T = std::decay_t<decltype(field)>;
      if (j++ != i) return;
      if constexpr (std::is_same<T, bool>::value)
        field = !field;
      else if constexpr (std::is_enum<T>::value)
        field = T(int(field) == 0 ? 1 : 0);
      else
        field = T(field + 1);
    });
    CHECK(dladmm::first_param_difference(base, changed) == names[i]);
  }
  CHECK(dladmm::first_param_difference(base, base) == "");
}

TEST_CASE("damaged or mismatched checkpoints are refused and change nothing", "[checkpoint]") {
  TempDir dir;
  const std::string good = saved_checkpoint(dir);
  const std::string bytes = read_bytes(good);
  REQUIRE(bytes.size() > 200);

  SECTION("truncated") {
    for (std::size_t keep :
         {std::size_t(0), std::size_t(5), std::size_t(30), bytes.size() / 2, bytes.size() - 1})
      require_refused(dir.write("cut.ckpt", bytes.substr(0, keep)),
                      keep < 8 ? "not a dladmm checkpoint" : "truncated");
  }
  SECTION("one flipped byte") {
    std::string damaged = bytes;
    damaged[bytes.size() / 2] = char(damaged[bytes.size() / 2] ^ 0x40);
    require_refused(dir.write("flip.ckpt", damaged), "CRC-32 mismatch");
  }
  SECTION("wrong magic number") {
    std::string damaged = bytes;
    damaged[0] = 'X';
    require_refused(dir.write("magic.ckpt", damaged), "not a dladmm checkpoint");
    require_refused(dir.write("text.ckpt", "hello, world\n"), "not a dladmm checkpoint");
  }
  SECTION("other format version") {
    std::string damaged = bytes;
    damaged[8] = char(99);
    require_refused(dir.write("version.ckpt", damaged), "format version 99");
  }
  SECTION("other network shape") { require_refused(good, "network 8-12-9-3", {12, 10}); }
  SECTION("other training data") { require_refused(good, "different training data", {12, 9}, 5); }
  SECTION("other scalar type") {
    auto problem = make_problem<double>();
    dladmm::Solver<dladmm::Problem<double>> solver;
    CHECK_THROWS_WITH(dladmm::load_checkpoint(good, problem, solver),
                      Catch::Contains("holds float values, the problem is double"));
  }
  SECTION("missing file and directory") {
    require_refused(dir.file("none.ckpt"), "cannot open");
    require_refused(dir.str(), "is a directory");
  }
}

TEST_CASE("a failed save leaves the previous checkpoint intact", "[checkpoint]") {
  TempDir dir;
  const std::string path = saved_checkpoint(dir);
  const std::string before = read_bytes(path);

  // A state holding NaN is never saved.
  auto problem = make_problem<float>();
  dladmm::Param<float> param;
  param.max_iterations = 2;
  param.keep_last_finite = false;
  dladmm::Solver<dladmm::Problem<float>> solver(param);
  solver.minimize(problem);
  problem.state().layer(0).z(1, 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(dladmm::save_checkpoint(path, solver), Catch::Contains("NaN"));
  CHECK(read_bytes(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  // An unwritable place is reported with the file's name.
  const std::string nowhere = dir.file("missing/dir/run.ckpt");
  problem.state().layer(0).z(1, 1) = 0;
  CHECK_THROWS_WITH(dladmm::save_checkpoint(nowhere, solver), Catch::Contains(nowhere));
  CHECK_FALSE(std::filesystem::exists(nowhere));

  // A solver that never ran has nothing to save.
  dladmm::Solver<dladmm::Problem<float>> fresh;
  CHECK_THROWS_WITH(dladmm::save_checkpoint(path, fresh), Catch::Contains("not been initialised"));
  CHECK(read_bytes(path) == before);
}

TEMPLATE_TEST_CASE("a numerical failure rolls back to the last finite iteration", "[checkpoint]",
                   float, double) {
  using Scalar = TestType;
  using ProblemT = dladmm::Problem<Scalar>;
  // rho jumps by a factor that overflows after iteration 3.
  dladmm::Param<Scalar> param;
  param.rho = Scalar(1e-3);
  param.rho_schedule = dladmm::RhoSchedule::Step;
  param.rho_step_every = 3;
  param.rho_factor = std::numeric_limits<Scalar>::max() / 4;
  param.rho_max = std::numeric_limits<Scalar>::max();
  param.max_iterations = 10;

  auto failed = make_problem<Scalar>();
  dladmm::Solver<ProblemT> solver(param);
  dladmm::History history;
  const auto result = solver.minimize(failed, history);
  REQUIRE(result.status == dladmm::Status::NumericalIssue);
  CHECK(result.iterations == 3);
  CHECK(solver.iteration() == 3);
  CHECK(solver.info().iteration == 4);  // the failed iteration's figures
  CHECK_FALSE(std::isfinite(solver.info().objective));
  REQUIRE(history.rows.size() == 4);

  auto three = make_problem<Scalar>();
  param.max_iterations = 3;
  dladmm::Solver<ProblemT> reference(param);
  reference.minimize(three);
  require_same_state(failed, three);

  // The rolled-back state can be saved and resumed.
  TempDir dir;
  dladmm::save_checkpoint(dir.file("last.ckpt"), solver);

  // Without keep_last_finite the failed values stay, and cannot be saved.
  param.max_iterations = 10;
  param.keep_last_finite = false;
  auto poisoned = make_problem<Scalar>();
  dladmm::Solver<ProblemT> unguarded(param);
  CHECK(unguarded.minimize(poisoned).status == dladmm::Status::NumericalIssue);
  bool finite = poisoned.u().allFinite();
  for (const auto& layer : poisoned.state().layers) finite = finite && layer.z.allFinite();
  CHECK_FALSE(finite);
  CHECK_THROWS_AS(dladmm::save_checkpoint(dir.file("bad.ckpt"), unguarded),
                  dladmm::CheckpointError);
}

TEMPLATE_TEST_CASE("poisoned data leave every variable finite", "[checkpoint]", float, double) {
  using Scalar = TestType;
  auto data = dladmm::make_synthetic<Scalar>(8, 3, 40, 1);
  data.x(2, 5) = std::numeric_limits<Scalar>::quiet_NaN();
  dladmm::Problem<Scalar> problem(data.x, data.one_hot(), {6});
  dladmm::Solver<dladmm::Problem<Scalar>> solver;
  const auto result = solver.minimize(problem);
  CHECK(result.status == dladmm::Status::NumericalIssue);
  CHECK(result.iterations == 0);
  for (const auto& layer : problem.network().layers()) CHECK(layer.W.allFinite());
  CHECK(problem.state().all_finite());
  CHECK(problem.u().allFinite());
}

TEMPLATE_TEST_CASE("hitting a backtracking or FISTA cap shows in the figures and the result",
                   "[checkpoint]", float, double) {
  using Scalar = TestType;
  auto problem = make_problem<Scalar>();
  dladmm::Param<Scalar> param;
  param.max_iterations = 3;
  param.fista_max_iterations = 1;
  param.fista_tolerance = 0;
  param.theta = param.tau = Scalar(1e-20);  // far below the curvature needed
  param.max_backtracks = 2;
  dladmm::Solver<dladmm::Problem<Scalar>> solver(param);
  dladmm::History history;
  const auto result = solver.minimize(problem, history);
  int backtrack_hits = 0, fista_hits = 0;
  for (const auto& row : history.rows) {
    CHECK(row.backtrack_cap_hits > 0);
    CHECK(row.fista_cap_hits == 2);  // both z_L solves of every iteration
    backtrack_hits += row.backtrack_cap_hits;
    fista_hits += row.fista_cap_hits;
  }
  CHECK(result.backtrack_cap_hits == backtrack_hits);
  CHECK(result.fista_cap_hits == fista_hits);
  std::ostringstream csv;
  history.write_csv(csv);
  CHECK(csv.str().find("backtrack_cap_hits") != std::string::npos);
}

TEST_CASE("checkpoints written by format versions 1 and 3 still load and resume", "[checkpoint]") {
  // tests/data/checkpoint_v1_float.ckpt: `dladmm_train --data synthetic --train-limit 200
  // --hidden 6 --iterations 3 --checkpoint FILE` as built before the model and the training
  // state were separated (format version 1, unchanged since); checkpoint_v3_float.ckpt: the
  // same command as built before Param::product_precision (format version 3).
  const std::string version = GENERATE(as<std::string>(), "1", "3");
  const std::string path =
      std::string(DLADMM_TEST_DATA_DIR) + "/checkpoint_v" + version + "_float.ckpt";
  INFO(path);
  auto problem_of = [] {  // dladmm_train's synthetic set: 200 training and 500 test samples
    const auto all = dladmm::make_synthetic<float>(20, 5, 700, 13);
    const auto sets = all.split(500.0 / 700.0, 13);
    return dladmm::Problem<float>(sets.first.x, sets.first.one_hot(), {6});
  };
  auto loaded = problem_of();
  dladmm::Solver<dladmm::Problem<float>> solver;
  solver.set_max_iterations(5);
  dladmm::History history;
  dladmm::load_checkpoint(path, loaded, solver, &history.rows);
  CHECK(solver.iteration() == 3);
  REQUIRE(history.rows.size() == 3);
  CHECK(history.rows.back().iteration == 3);

  // The same run recomputed here: the loaded state is that of iteration 3 (within rounding, as
  // the file may come from another build).
  auto recomputed = problem_of();
  dladmm::Param<float> param = solver.param();
  param.max_iterations = 3;
  dladmm::Solver<dladmm::Problem<float>> fresh(param);
  fresh.minimize(recomputed);
  auto close = [](const auto& a, const auto& b) {
    return (a - b).norm() <= 1e-4f * (1 + b.norm());
  };
  for (Index l = 0; l < loaded.network().num_layers(); ++l) {
    INFO("layer " << l + 1);
    CHECK(close(loaded.network().layer(l).W, recomputed.network().layer(l).W));
    CHECK(close(loaded.network().layer(l).b, recomputed.network().layer(l).b));
    CHECK(close(loaded.state().layer(l).z, recomputed.state().layer(l).z));
    CHECK(close(loaded.state().layer(l).a, recomputed.state().layer(l).a));
    CHECK(close(solver.product(l), fresh.product(l)));
  }
  CHECK(close(loaded.u(), recomputed.u()));
  CHECK(history.rows.back().objective == Approx(fresh.info().objective).epsilon(1e-4));

  // And it runs on.
  const auto result = solver.run(history);
  CHECK(result.iterations == 5);
  CHECK(result.iterations_this_call == 2);
  CHECK(history.rows.size() == 5);
  CHECK(std::isfinite(history.rows.back().objective));
}

namespace {

dladmm::Problem<double> resume_problem() {
  const auto data = dladmm::make_synthetic<double>(8, 3, 150, 6);
  return dladmm::Problem<double>(data.x, data.one_hot(), {10});
}

}  // namespace

TEST_CASE("run_for continues a restored run by n iterations; minimize refuses to restart it",
          "[checkpoint]") {
  TempDir dir;
  dladmm::Param<double> param;
  param.max_iterations = 4;
  auto first = resume_problem();
  dladmm::Solver<dladmm::Problem<double>> saver(param);
  dladmm::History saved;
  saver.minimize(first, saved);
  dladmm::save_checkpoint(dir.file("run.ckpt"), saver, &saved.rows);

  auto whole = resume_problem();
  param.max_iterations = 7;
  dladmm::Solver<dladmm::Problem<double>> uninterrupted(param);
  dladmm::History whole_history;
  uninterrupted.minimize(whole, whole_history);

  auto resumed = resume_problem();
  dladmm::Solver<dladmm::Problem<double>> solver;  // the default limit, 200, plays no part
  dladmm::History history;
  dladmm::load_checkpoint(dir.file("run.ckpt"), resumed, solver, &history.rows);
  CHECK_THROWS_WITH(solver.minimize(resumed), Catch::Contains("restored from a checkpoint at "
                                                              "iteration 4") &&
                                                  Catch::Contains("run_for"));
  CHECK(solver.iteration() == 4);  // the refusal changed nothing
  CHECK_THROWS_AS(solver.run_for(0), std::invalid_argument);
  const dladmm::Result result = solver.run_for(3, history);
  CHECK(result.iterations == 7);
  CHECK(result.iterations_this_call == 3);
  CHECK(result.status == dladmm::Status::IterationLimit);
  CHECK(csv_without_time(history) == csv_without_time(whole_history));
  require_same_state(resumed, whole);
  // Two more, and init() first makes a fresh start deliberate.
  CHECK(solver.run_for(2).iterations == 9);
  solver.init(resumed);
  CHECK(solver.iteration() == 0);
  solver.set_max_iterations(2);
  CHECK(solver.minimize(resumed).iterations == 2);
}
