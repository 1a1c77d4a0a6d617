// dladmm_train: trains a multilayer perceptron by dlADMM on Fashion-MNIST (default), IDX, CSV
// or synthetic data, prints progress and a summary, and writes the history CSV.
// Exit status: 0 done, 2 bad arguments or bad input data, 3 numerical failure, 128 + signal
// number when interrupted by SIGINT or SIGTERM (after saving the checkpoint and history).
#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/data/csv.hpp>
#include <dladmm/data/dataset.hpp>
#include <dladmm/data/idx.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

const char* const kUsage = R"(usage: dladmm_train [options]

Trains a multilayer perceptron by dlADMM (ADMM without gradient descent).
With no options: Fashion-MNIST from the Debian package dataset-fashion-mnist,
784-1000-1000-10, 200 iterations, the reference implementation's settings.

Data:
  --data fashion-mnist|idx|csv|synthetic     default fashion-mnist
  --data-dir DIR                             folder with the four IDX files (.gz or raw)
  --train-images F --train-labels F --test-images F --test-labels F   (--data idx)
  --train F [--test F] [--label-column first|last|N] [--header]       (--data csv)
  --train-limit N  --test-limit N            use only the first N samples
  --standardize                              standardise features (train statistics)
Network and problem:
  --hidden 1000,1000                         hidden layer widths
  --activation relu|leaky_relu               default relu
  --loss cross_entropy|squared               default cross_entropy
Solver:
  --iterations K                             total iterations (default 200)
  --rho R                                    initial rho (default 1e-6)
  --nu V                                     nu (default: tied to rho)
  --rho-schedule reference|fixed|step:EVERY:FACTOR[:MAX]   default reference
  --solver quadratic|exact                   exact = cubic closed-form W and a updates
  --init reference|forward                   z_L = 2Y-1 (reference) or a forward pass
  --no-rollback                              keep no copy of the variables for rolling back
                                             a NaN iteration (saves one copy of W, b, z, a, u)
  --scalar float|double  --threads T  --seed S
Output:
  --history FILE.csv                         per-iteration figures (written as it goes)
  --checkpoint FILE                          save the whole state at the end, on SIGINT or
                                             SIGTERM, on a numerical failure (the last
                                             finite state) and every --checkpoint-every K
  --checkpoint-every K                       iterations (default 0: only then)
  --resume FILE                              continue a saved run: give the same options
                                             as the saved run (--iterations may be larger)
  --eval-every K                             test-set evaluation period (default 1)
  --time-limit SECONDS                       stop after this much wall time
  --quiet                                    no progress output
  --help
Exit status: 0 done, 2 bad arguments or data, 3 numerical failure,
130 / 143 interrupted by SIGINT / SIGTERM (after saving the checkpoint and history).
)";

/// A bad command line or bad input: one line on stderr, exit 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string data = "fashion-mnist", data_dir = kFashionMnistDir;
  std::string train_images, train_labels, test_images, test_labels, train_csv, test_csv;
  std::string label_column = "last";
  bool header = false, standardize = false, quiet = false, rollback = true;
  long train_limit = -1, test_limit = -1;
  std::vector<dladmm::Index> hidden{1000, 1000};
  std::string activation = "relu", loss = "cross_entropy", schedule = "reference";
  std::string solver = "quadratic", init = "reference", scalar = "float", history;
  std::string checkpoint, resume;
  std::vector<std::string> arguments;  // as given, for the resume message
  int iterations = 200, threads = 0, eval_every = 1, checkpoint_every = 0;
  double rho = 1e-6, nu = -1, time_limit = 0;
  unsigned long long seed = 13;
};

long parse_integer(const std::string& option, const std::string& text, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max)
    throw InputError(option + ": expected an integer in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "], got '" + text + "'");
  return value;
}

double parse_positive(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value > 0) || !std::isfinite(value))
    throw InputError(option + ": expected a positive number, got '" + text + "'");
  return value;
}

std::string one_of(const std::string& option, const std::string& text,
                   std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (text == c) return text;
    list += std::string(list.empty() ? "" : "|") + c;
  }
  throw InputError(option + ": expected " + list + ", got '" + text + "'");
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.push_back("");
  return parts;
}

/// Refuses an output path that cannot be written, before any data are loaded.
void check_writable(const std::string& option, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(option + " " + path + ": is a directory");
  const std::string probe = path + ".tmp";
  const bool existed = std::filesystem::exists(probe, ec);
  errno = 0;
  std::ofstream out(probe, std::ios::app);
  const int error = errno;
  const bool ok = bool(out);
  out.close();
  if (ok && !existed) std::remove(probe.c_str());
  if (!ok)
    throw InputError(option + " " + path + ": cannot write (" +
                     (error ? std::strerror(error) : "unknown error") + ")");
}

Options parse(int argc, char** argv) {
  Options o;
  o.arguments.assign(argv + 1, argv + argc);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (arg == "--header") {
      o.header = true;
      continue;
    }
    if (arg == "--standardize") {
      o.standardize = true;
      continue;
    }
    if (arg == "--no-rollback") {
      o.rollback = false;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw InputError("unexpected argument '" + arg + "'");
    static const char* const with_value[] = {
        "--data",         "--data-dir",     "--train-images", "--train-labels",
        "--test-images",  "--test-labels",  "--train",        "--test",
        "--label-column", "--train-limit",  "--test-limit",   "--hidden",
        "--activation",   "--loss",         "--iterations",   "--rho",
        "--nu",           "--rho-schedule", "--solver",       "--init",
        "--scalar",       "--threads",      "--seed",         "--history",
        "--eval-every",   "--time-limit",   "--checkpoint",   "--checkpoint-every",
        "--resume"};
    if (std::find(std::begin(with_value), std::end(with_value), arg) == std::end(with_value))
      throw InputError("unknown option '" + arg + "' (see --help)");
    if (i + 1 >= argc) throw InputError(arg + ": missing value");
    const std::string value = argv[++i];
    if (arg == "--data")
      o.data = one_of(arg, value, {"fashion-mnist", "idx", "csv", "synthetic"});
    else if (arg == "--data-dir")
      o.data_dir = value;
    else if (arg == "--train-images")
      o.train_images = value;
    else if (arg == "--train-labels")
      o.train_labels = value;
    else if (arg == "--test-images")
      o.test_images = value;
    else if (arg == "--test-labels")
      o.test_labels = value;
    else if (arg == "--train")
      o.train_csv = value;
    else if (arg == "--test")
      o.test_csv = value;
    else if (arg == "--label-column") {
      if (value != "first" && value != "last") parse_integer(arg, value, 0, 1 << 20);
      o.label_column = value;
    } else if (arg == "--train-limit")
      o.train_limit = parse_integer(arg, value, 1, 1L << 40);
    else if (arg == "--test-limit")
      o.test_limit = parse_integer(arg, value, 0, 1L << 40);
    else if (arg == "--hidden") {
      o.hidden.clear();
      for (const std::string& w : split(value, ','))
        o.hidden.push_back(parse_integer(arg, w, 1, 1 << 20));
      if (o.hidden.empty()) throw InputError(arg + ": need at least one width");
    } else if (arg == "--activation")
      o.activation = one_of(arg, value, {"relu", "leaky_relu"});
    else if (arg == "--loss")
      o.loss = one_of(arg, value, {"cross_entropy", "squared"});
    else if (arg == "--iterations")
      o.iterations = int(parse_integer(arg, value, 1, 1 << 30));
    else if (arg == "--rho")
      o.rho = parse_positive(arg, value);
    else if (arg == "--nu")
      o.nu = parse_positive(arg, value);
    else if (arg == "--rho-schedule")
      o.schedule = value;
    else if (arg == "--solver")
      o.solver = one_of(arg, value, {"quadratic", "exact"});
    else if (arg == "--init")
      o.init = one_of(arg, value, {"reference", "forward"});
    else if (arg == "--scalar")
      o.scalar = one_of(arg, value, {"float", "double"});
    else if (arg == "--threads")
      o.threads = int(parse_integer(arg, value, 1, 1024));
    else if (arg == "--seed")
      o.seed = (unsigned long long)parse_integer(arg, value, 0, 1L << 62);
    else if (arg == "--history")
      o.history = value;
    else if (arg == "--eval-every")
      o.eval_every = int(parse_integer(arg, value, 1, 1 << 30));
    else if (arg == "--time-limit")
      o.time_limit = parse_positive(arg, value);
    else if (arg == "--checkpoint")
      o.checkpoint = value;
    else if (arg == "--checkpoint-every")
      o.checkpoint_every = int(parse_integer(arg, value, 1, 1 << 30));
    else  // --resume
      o.resume = value;
  }
  if (o.checkpoint_every > 0 && o.checkpoint.empty())
    throw InputError("--checkpoint-every needs --checkpoint FILE");
  if (!o.history.empty()) check_writable("--history", o.history);
  if (!o.checkpoint.empty()) check_writable("--checkpoint", o.checkpoint);
  if (o.data == "idx" && (o.train_images.empty() || o.train_labels.empty() ||
                          o.test_images.empty() || o.test_labels.empty()))
    throw InputError(
        "--data idx needs --train-images, --train-labels, --test-images and "
        "--test-labels");
  if (o.data == "csv" && o.train_csv.empty()) throw InputError("--data csv needs --train FILE");
  return o;
}

template <typename Scalar>
void apply_schedule(const Options& o, dladmm::Param<Scalar>& p) {
  const std::vector<std::string> parts = split(o.schedule, ':');
  if (o.schedule == "reference") {
    p.rho_schedule = dladmm::RhoSchedule::Reference;
  } else if (o.schedule == "fixed") {
    p.rho_schedule = dladmm::RhoSchedule::Fixed;
  } else if (parts.size() >= 3 && parts.size() <= 4 && parts[0] == "step") {
    p.rho_schedule = dladmm::RhoSchedule::Step;
    p.rho_step_every = int(parse_integer("--rho-schedule EVERY", parts[1], 1, 1 << 30));
    const double factor = parse_positive("--rho-schedule FACTOR", parts[2]);
    if (!(factor > 1)) throw InputError("--rho-schedule FACTOR: must be > 1");
    p.rho_factor = Scalar(factor);
    p.rho_max = parts.size() == 4 ? Scalar(parse_positive("--rho-schedule MAX", parts[3]))
                                  : std::numeric_limits<Scalar>::max();
  } else {
    throw InputError("--rho-schedule: expected reference|fixed|step:EVERY:FACTOR[:MAX], got '" +
                     o.schedule + "'");
  }
}

template <typename Scalar>
std::pair<dladmm::Dataset<Scalar>, dladmm::Dataset<Scalar>> load(const Options& o) {
  using dladmm::Dataset;
  std::pair<Dataset<Scalar>, Dataset<Scalar>> sets;
  if (o.data == "fashion-mnist") {
    std::error_code ec;
    if (o.data_dir == kFashionMnistDir && !std::filesystem::exists(o.data_dir, ec))
      throw InputError(std::string("Fashion-MNIST not found in ") + kFashionMnistDir +
                       ": install it with 'apt-get install dataset-fashion-mnist' or pass "
                       "--data-dir DIR");
    sets = dladmm::read_idx_folder<Scalar>(o.data_dir);
  } else if (o.data == "idx") {
    sets.first = dladmm::read_idx<Scalar>(o.train_images, o.train_labels, 10);
    sets.second = dladmm::read_idx<Scalar>(o.test_images, o.test_labels, 10);
  } else if (o.data == "csv") {
    dladmm::CsvOptions csv;
    csv.header = o.header;
    if (o.label_column == "first")
      csv.label_column = dladmm::LabelColumn::First;
    else if (o.label_column == "last")
      csv.label_column = dladmm::LabelColumn::Last;
    else {
      csv.label_column = dladmm::LabelColumn::Index;
      csv.label_index = std::stol(o.label_column);
    }
    sets.first = dladmm::read_csv<Scalar>(o.train_csv, csv);
    if (!o.test_csv.empty()) {
      csv.num_classes = sets.first.num_classes;
      sets.second = dladmm::read_csv<Scalar>(o.test_csv, csv);
      if (sets.second.features() != sets.first.features())
        throw InputError(o.test_csv + ": " + std::to_string(sets.second.features()) +
                         " features, but " + o.train_csv + " has " +
                         std::to_string(sets.first.features()));
    }
  } else {  // synthetic: one generated set split into train and test
    const long train = o.train_limit > 0 ? o.train_limit : 2000;
    const long test = o.test_limit >= 0 ? o.test_limit : 500;
    const auto all = dladmm::make_synthetic<Scalar>(20, 5, train + test, o.seed);
    sets = all.split(double(test) / double(train + test), o.seed);
  }
  if (o.train_limit > 0) sets.first = sets.first.first(o.train_limit);
  if (o.test_limit >= 0 && sets.second.samples() > 0) sets.second = sets.second.first(o.test_limit);
  if (o.standardize) {
    const auto standardizer = dladmm::Standardizer<Scalar>::fit(sets.first.x);
    standardizer.apply(sets.first.x);
    if (sets.second.samples() > 0) standardizer.apply(sets.second.x);
  }
  return sets;
}

/// The signal (SIGINT or SIGTERM) that asked the run to stop, or 0.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int signal) {
  if (g_stop_signal != 0) std::_Exit(128 + signal);  // a second signal: stop at once
  g_stop_signal = signal;
}

/// The history rows up to the solver's iteration (a failed iteration's row is dropped).
template <typename SolverT>
dladmm::History history_until(const dladmm::History& history, const SolverT& solver) {
  dladmm::History kept;
  const std::size_t rows = std::min(history.rows.size(), std::size_t(solver.iteration()));
  kept.rows.assign(history.rows.begin(), history.rows.begin() + std::ptrdiff_t(rows));
  return kept;
}

/// During the run: writes the history CSV (atomically) and the checkpoint every K iterations,
/// warning instead of stopping if a file cannot be written; stops the run when a signal asked.
struct RunOutputs {
  const Options* o;
  dladmm::History* history;
  bool warned = false;
  template <typename SolverT>
  bool iteration(const SolverT& solver, dladmm::IterationInfo& info) {
    try {
      if (!o->history.empty()) history->write_csv(o->history);
      if (o->checkpoint_every > 0 && solver.status() == dladmm::Status::Running &&
          info.iteration % o->checkpoint_every == 0) {
        const dladmm::History kept = history_until(*history, solver);
        dladmm::save_checkpoint(o->checkpoint, solver, &kept.rows);
      }
    } catch (const std::exception& e) {
      if (!warned) std::cerr << "dladmm_train: warning: " << e.what() << " (the run goes on)\n";
      warned = true;
    }
    return g_stop_signal != 0;
  }
};

/// The command line that resumes this run from \p checkpoint.
std::string resume_command(const Options& o) {
  std::string command = "dladmm_train";
  for (std::size_t i = 0; i < o.arguments.size(); ++i) {
    if (o.arguments[i] == "--resume") {
      ++i;
      continue;
    }
    command += " " + o.arguments[i];
  }
  return command + " --resume " + o.checkpoint;
}

template <typename Scalar, typename Activation, typename Loss>
int train(const Options& o, dladmm::Dataset<Scalar> train_set,
          const dladmm::Dataset<Scalar>& test_set) {
  using ProblemT = dladmm::Problem<Scalar, Activation, Loss>;
  dladmm::Param<Scalar> param;
  param.max_iterations = o.iterations;
  param.rho = Scalar(o.rho);
  if (o.nu > 0) {
    param.nu_tied_to_rho = false;
    param.nu = Scalar(o.nu);
  }
  apply_schedule(o, param);
  param.solver =
      o.solver == "exact" ? dladmm::SubproblemSolver::Exact : dladmm::SubproblemSolver::Quadratic;
  param.initialization =
      o.init == "forward" ? dladmm::Initialization::Forward : dladmm::Initialization::Reference;
  param.seed = o.seed;
  param.keep_last_finite = o.rollback;
  param.check();

  const dladmm::Matrix<Scalar> y = train_set.one_hot();
  const dladmm::Matrix<Scalar> test_y =
      test_set.samples() > 0 ? test_set.one_hot() : dladmm::Matrix<Scalar>(y.rows(), 0);
  if (test_set.samples() > 0 && test_set.num_classes != train_set.num_classes)
    throw InputError("test set has " + std::to_string(test_set.num_classes) +
                     " classes, training set " + std::to_string(train_set.num_classes));
  ProblemT problem(std::move(train_set.x), y, o.hidden);
  dladmm::Solver<ProblemT> solver(param);
  dladmm::History history;
  if (!o.resume.empty()) {
    try {
      dladmm::load_checkpoint(o.resume, problem, solver, &history.rows);
    } catch (const dladmm::CheckpointError& e) {
      throw InputError(e.what());
    }
    dladmm::Param<Scalar> saved = solver.param();
    saved.max_iterations = param.max_iterations;
    saved.keep_last_finite = param.keep_last_finite;
    const std::string field = dladmm::first_param_difference(saved, param);
    if (!field.empty())
      throw InputError(o.resume + ": saved with another " + field +
                       " than these options give: pass the options of the saved run");
    if (solver.iteration() >= o.iterations)
      throw InputError("--iterations " + std::to_string(o.iterations) + ": " + o.resume +
                       " is already at iteration " + std::to_string(solver.iteration()));
  }

  dladmm::Evaluate<Scalar> evaluate(test_set.x, test_y, o.eval_every);
  RunOutputs outputs{&o, &history};
  const double limit = o.time_limit > 0 ? o.time_limit : 1e300;
  dladmm::TimeLimit time_limit(limit);
  std::ostringstream sink;
  const bool terminal = isatty(STDOUT_FILENO);
  dladmm::PrintProgress lines(o.quiet ? static_cast<std::ostream&>(sink) : std::cout);
  dladmm::ProgressBar bar(o.quiet ? static_cast<std::ostream&>(sink) : std::cout);

  if (!o.quiet)
    std::cout << "dladmm_train: " << problem.x().cols() << " training and " << test_set.samples()
              << " test samples, network " << problem.x().rows() << "-" <<
        [&] {
          std::string s;
          for (auto w : o.hidden) s += std::to_string(w) + "-";
          return s;
        }() << y.rows()
              << ", " << o.scalar << ", " << Activation::name() << ", " << Loss::name()
              << ", solver " << o.solver << ", rho " << o.rho << " (" << o.schedule << ")"
              << (o.resume.empty() ? ""
                                   : ", resumed at iteration " + std::to_string(solver.iteration()))
              << "\n";
  auto go = [&](auto&... callbacks) {
    return o.resume.empty() ? solver.minimize(problem, callbacks...) : solver.run(callbacks...);
  };
  dladmm::Result result;
  if (test_set.samples() > 0)
    result = terminal ? go(evaluate, history, outputs, time_limit, bar)
                      : go(evaluate, history, outputs, time_limit, lines);
  else
    result =
        terminal ? go(history, outputs, time_limit, bar) : go(history, outputs, time_limit, lines);

  if (!o.history.empty()) history.write_csv(o.history);
  const bool failed = result.status == dladmm::Status::NumericalIssue;
  const bool poisoned = failed && !param.keep_last_finite;  // the variables hold the NaN
  if (!o.checkpoint.empty() && !poisoned) {
    const dladmm::History kept = history_until(history, solver);
    dladmm::save_checkpoint(o.checkpoint, solver, &kept.rows);
  }
  if (g_stop_signal != 0) {
    std::cerr << "dladmm_train: stopped by " << (g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
              << " after iteration " << solver.iteration() << "; "
              << (o.checkpoint.empty() ? "no --checkpoint was given, so the run cannot be resumed"
                                       : "resume with: " + resume_command(o))
              << "\n";
    return 128 + g_stop_signal;
  }
  if (failed) {
    // With the rollback, iteration() is the last finite one and the failed one comes next.
    const int failed_iteration = poisoned ? result.iterations : result.iterations + 1;
    std::cerr << "dladmm_train: numerical failure (a figure became NaN or infinite) in iteration "
              << failed_iteration;
    if (poisoned)
      std::cerr << "; with --no-rollback the variables keep it"
                << (o.checkpoint.empty() ? "" : ", so no checkpoint was saved");
    else
      std::cerr << "; the state is that of iteration " << result.iterations
                << (o.checkpoint.empty() ? "" : ", saved in " + o.checkpoint);
    std::cerr << "\n";
    return 3;
  }
  return 0;
}

template <typename Scalar>
int run(const Options& o) {
  auto [train_set, test_set] = load<Scalar>(o);
  const bool leaky = o.activation == "leaky_relu", squared = o.loss == "squared";
  if (leaky && squared)
    return train<Scalar, dladmm::LeakyRelu, dladmm::SquaredError>(o, std::move(train_set),
                                                                  test_set);
  if (leaky)
    return train<Scalar, dladmm::LeakyRelu, dladmm::SoftmaxCrossEntropy>(o, std::move(train_set),
                                                                         test_set);
  if (squared)
    return train<Scalar, dladmm::Relu, dladmm::SquaredError>(o, std::move(train_set), test_set);
  return train<Scalar, dladmm::Relu, dladmm::SoftmaxCrossEntropy>(o, std::move(train_set),
                                                                  test_set);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  try {
    const Options o = parse(argc, argv);
#ifdef _OPENMP
    if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
    if (o.threads > 0) Eigen::setNbThreads(o.threads);
    return o.scalar == "double" ? run<double>(o) : run<float>(o);
  } catch (const std::exception& e) {
    std::cerr << "dladmm_train: " << e.what() << "\n";
    return 2;
  }
}
