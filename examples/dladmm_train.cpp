// dladmm_train: trains a multilayer perceptron by dlADMM on Fashion-MNIST (default), IDX, CSV
// or synthetic data, or a graph convolutional network on a Planetoid citation graph (Cora and
// Citeseer are shipped), prints progress and a summary, and writes the history CSV and the model.
// Exit status: 0 done, 2 bad arguments or bad input data, 3 numerical failure, 128 + signal
// number when interrupted by SIGINT or SIGTERM (after saving the checkpoint, model and history).
#include <dladmm/callbacks.hpp>
#include <dladmm/checkpoint.hpp>
#include <dladmm/data/csv.hpp>
#include <dladmm/data/dataset.hpp>
#include <dladmm/data/idx.hpp>
#include <dladmm/data/planetoid.hpp>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>
#include <dladmm/model_file.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "train_processes.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
const char* const kScheduleForms =
    "reference|fixed|step:EVERY:FACTOR[:MAX]|balanced[:FACTOR[:UNTIL]]";

const char* const kUsageIntro = R"(usage: dladmm_train [options]

Trains a multilayer perceptron by dlADMM (ADMM without gradient descent).
With no options: Fashion-MNIST from the Debian package dataset-fashion-mnist,
784-1000-1000-10, 200 iterations, the reference implementation's settings.
With --data cora, citeseer or planetoid: a graph convolutional network on a
citation graph, its loss on the training nodes, with the graph defaults below.

)";

const char* const kExitStatus =
    R"(Exit status: 0 done, 2 bad arguments or data, 3 numerical failure,
130 / 143 interrupted by SIGINT / SIGTERM (after saving the checkpoint, model and history).
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
  std::string checkpoint, resume, save_model;
  std::vector<std::string> arguments;  // as given, for the resume message
  std::set<std::string> given;  // the options given, so that graph defaults apply to the rest
  int iterations = 200, threads = 0, eval_every = 1, checkpoint_every = 0;
  double rho = 1e-6, nu = -1, time_limit = 0, weight_decay = 0;
  double theta = 1, tau = 1;  // start curvatures of the W and a backtracking
  double relaxation = 1;
  std::string sweep = "backward-forward", preset = "paper";
  std::string product_precision = "scalar";
  bool raw_features = false;
  bool help = false;  // --help: print the usage and stop
  bool deterministic = false;
  unsigned long long seed = 13;

  /// True for the data sets that are graphs (a GCN is trained).
  bool graph() const { return data == "planetoid" || data == "cora" || data == "citeseer"; }
};

/// The defaults that apply when the data are a graph and the option is not given
/// (docs/USAGE.md, "Graphs"): the settings that reached the best validation accuracy on Cora
/// in a search over the solver's parameters (docs/RESULTS.md).
struct GraphDefaults {
  static constexpr const char* hidden = "128";
  static constexpr int iterations = 200;
  static constexpr double rho = 1e-3;
  static constexpr double nu = 0.3;
  static constexpr const char* schedule = "fixed";
  static constexpr double weight_decay = 3e-3;
};

/// A type as a value, for the generic lambdas of run().
template <typename T>
struct Type {
  using type = T;
};

/// The types a command-line choice selects among; adding one is adding it here.
template <typename... T>
struct Types {};
using Scalars = Types<float, double>;
using Activations = Types<dladmm::Relu, dladmm::LeakyRelu>;
using Losses = Types<dladmm::SoftmaxCrossEntropy, dladmm::SquaredError>;

/// The command-line name of a choice: the scalar type's, or the activation's or loss's own.
template <typename T>
std::string choice_name() {
  if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, double>)
    return "double";
  else
    return T::name();
}

template <typename... T>
std::vector<std::string> choice_names(Types<T...>) {
  return {choice_name<T>()...};
}

/// Returns f(Type<T>{}) for the T among the choices whose name is \p name.
template <typename T, typename... More, typename F>
int dispatch(Types<T, More...>, const std::string& name, F&& f) {
  if (name == choice_name<T>()) return f(Type<T>{});
  if constexpr (sizeof...(More) > 0)
    return dispatch(Types<More...>{}, name, std::forward<F>(f));
  else
    throw std::logic_error("no choice named '" + name + "'");  // parse() checked the names
}

long parse_integer(const std::string& option, const std::string& text, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max)
    throw InputError(option + ": expected an integer in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "], got '" + text + "'");
  return value;
}

double parse_non_negative(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0) || !std::isfinite(value))
    throw InputError(option + ": expected a number >= 0, got '" + text + "'");
  return value;
}

/// A number as the help text shows it (1e-3, not 0.001000).
std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

double parse_positive(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value > 0) || !std::isfinite(value))
    throw InputError(option + ": expected a positive number, got '" + text + "'");
  return value;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : sep) + part;
  return text;
}

std::string one_of(const std::string& option, const std::string& text,
                   const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  throw InputError(option + ": expected " + join(choices, "|") + ", got '" + text + "'");
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

using Text = const std::string&;

/// One command-line option: its name, the placeholder of its value (empty for a flag), its
/// help text and default (shown by --help), and the action that parses the value (given the
/// option's name for the error messages) and stores it in Options.
struct OptionSpec {
  std::string name, value, help, default_value;
  std::function<void(Options& o, Text option, Text value)> set;
};

struct OptionGroup {
  std::string heading;
  std::vector<OptionSpec> options;
};

/// An option whose value is stored as given in \p field (whose initial value is the default).
OptionSpec string_option(std::string name, std::string value, std::string help,
                         std::string Options::*field) {
  return {std::move(name), std::move(value), std::move(help), Options().*field,
          [field](Options& o, Text, Text text) { o.*field = text; }};
}

/// An option whose value is one of \p choices, stored in \p field (whose initial value is the
/// default).
OptionSpec choice_option(std::string name, std::string Options::*field,
                         std::vector<std::string> choices, std::string help) {
  std::string value = join(choices, "|");
  return {std::move(name), std::move(value), std::move(help), Options().*field,
          [field, choices](Options& o, Text option, Text text) {
            o.*field = one_of(option, text, choices);
          }};
}

/// An option whose value is an integer in [1, \p max], stored in \p field.
OptionSpec count_option(std::string name, std::string value, std::string help,
                        std::string default_value, int Options::*field, long max = 1 << 30) {
  return {std::move(name), std::move(value), std::move(help), std::move(default_value),
          [field, max](Options& o, Text option, Text text) {
            o.*field = int(parse_integer(option, text, 1, max));
          }};
}

/// An option without a value that sets \p field to \p value.
OptionSpec flag_option(std::string name, std::string help, bool Options::*field, bool value) {
  return {std::move(name), "", std::move(help), "",
          [field, value](Options& o, Text, Text) { o.*field = value; }};
}

std::string usage();

/// Every option of dladmm_train, in the order of --help.
const std::vector<OptionGroup>& option_table() {
  static const std::vector<OptionGroup> table{
      {"Data",
       {choice_option("--data", &Options::data,
                      {"fashion-mnist", "idx", "csv", "synthetic", "planetoid", "cora", "citeseer"},
                      "planetoid: a graph in --data-dir; cora, citeseer: the shipped copies"),
        string_option("--data-dir", "DIR",
                      "folder with the four IDX files (.gz or raw), or a Planetoid folder "
                      "(features.mtx, adjacency.mtx, labels.txt, train.txt, val.txt, test.txt; "
                      "each may be .gz)",
                      &Options::data_dir),
        string_option("--train-images", "F", "training images (--data idx)",
                      &Options::train_images),
        string_option("--train-labels", "F", "training labels (--data idx)",
                      &Options::train_labels),
        string_option("--test-images", "F", "test images (--data idx)", &Options::test_images),
        string_option("--test-labels", "F", "test labels (--data idx)", &Options::test_labels),
        string_option("--train", "F", "training set (--data csv)", &Options::train_csv),
        string_option("--test", "F", "test set (--data csv; optional)", &Options::test_csv),
        {"--label-column", "first|last|N", "--data csv: the labels' field, N counted from 0",
         "last",
         [](Options& o, Text option, Text v) {
           if (v != "first" && v != "last") parse_integer(option, v, 0, 1 << 20);
           o.label_column = v;
         }},
        flag_option("--header", "the first row is a header (--data csv)", &Options::header, true),
        {"--train-limit", "N", "use only the first N training samples", "all; synthetic: 2000",
         [](Options& o, Text option, Text v) {
           o.train_limit = parse_integer(option, v, 1, 1L << 40);
         }},
        {"--test-limit", "N", "use only the first N test samples", "all; synthetic: 500",
         [](Options& o, Text option, Text v) {
           o.test_limit = parse_integer(option, v, 0, 1L << 40);
         }},
        flag_option("--standardize", "standardise features (train statistics)",
                    &Options::standardize, true),
        flag_option("--raw-features",
                    "graphs: keep the features as read (by default each node's features are "
                    "scaled to sum 1)",
                    &Options::raw_features, true)}},
      {"Network and problem",
       {{"--hidden", "W,W,...", "hidden layer widths",
         std::string("1000,1000; graphs: ") + GraphDefaults::hidden,
         [](Options& o, Text option, Text v) {
           o.hidden.clear();
           for (const std::string& w : split(v, ','))
             o.hidden.push_back(parse_integer(option, w, 1, 1 << 20));
           if (o.hidden.empty()) throw InputError(option + ": need at least one width");
         }},
        choice_option("--activation", &Options::activation, choice_names(Activations{}), ""),
        choice_option("--loss", &Options::loss, choice_names(Losses{}), "")}},
      {"Solver",
       {choice_option("--preset", &Options::preset, {"paper", "fast"},
                      "paper = the paper's configuration; fast = Param::fast(), the fastest to "
                      "accuracy found (docs/RESULTS.md); options given override it"),
        count_option("--iterations", "K", "total iterations: a resumed run goes on to K",
                     "200; graphs: " + std::to_string(GraphDefaults::iterations),
                     &Options::iterations),
        {"--rho", "R", "initial rho", "1e-6; graphs: " + format_number(GraphDefaults::rho),
         [](Options& o, Text option, Text v) { o.rho = parse_positive(option, v); }},
        {"--nu", "V", "nu", "tied to rho; graphs: " + format_number(GraphDefaults::nu),
         [](Options& o, Text option, Text v) { o.nu = parse_positive(option, v); }},
        {"--rho-schedule", kScheduleForms, "",
         std::string("reference; graphs: ") + GraphDefaults::schedule,
         [](Options& o, Text, Text v) { o.schedule = v; }},
        {"--theta", "C", "start curvature theta_0 of the W backtracking", "1",
         [](Options& o, Text option, Text v) { o.theta = parse_positive(option, v); }},
        {"--tau", "C", "start curvature tau_0 of the a backtracking", "1",
         [](Options& o, Text option, Text v) { o.tau = parse_positive(option, v); }},
        {"--relaxation", "ALPHA", "over-relaxation of the last z_L and the dual step, in (0, 2)",
         "1", [](Options& o, Text option, Text v) { o.relaxation = parse_positive(option, v); }},
        choice_option("--sweep", &Options::sweep, {"backward-forward", "backward"},
                      "backward = the backward pass alone (half the work per iteration)"),
        choice_option("--product-precision", &Options::product_precision, {"scalar", "bf16"},
                      "bf16 = the W and a steps' large products with bf16 inputs and float "
                      "sums (needs --scalar float, a build with oneDNN and AMX or AVX-512 BF16)"),
        {"--weight-decay", "L", "L2 regularisation (L/2)||W||^2 of every layer",
         "0; graphs: " + format_number(GraphDefaults::weight_decay),
         [](Options& o, Text option, Text v) { o.weight_decay = parse_non_negative(option, v); }},
        choice_option("--solver", &Options::solver, {"quadratic", "exact"},
                      "exact = cubic closed-form W and a updates"),
        choice_option("--init", &Options::init, {"reference", "forward"},
                      "z_L = 2Y-1 (reference) or a forward pass"),
        flag_option(
            "--no-rollback",
            "keep no copy of the variables for rolling back a NaN iteration (saves one copy of W, "
            "b, z, a, u)",
            &Options::rollback, false),
        choice_option("--scalar", &Options::scalar, choice_names(Scalars{}), ""),
        count_option("--threads", "T", "threads of OpenMP and Eigen (per process)",
                     "OpenMP's choice", &Options::threads, 1024),
        flag_option("--deterministic",
                    "under mpirun: sums over samples in fixed blocks, combined exactly, so that "
                    "results are bit-identical for any number of processes",
                    &Options::deterministic, true),
        {"--seed", "S", "seed of the initialisation and of synthetic data", "13",
         [](Options& o, Text option, Text v) {
           o.seed = (unsigned long long)parse_integer(option, v, 0, 1L << 62);
         }}}},
      {"Output",
       {string_option("--history", "FILE.csv", "per-iteration figures (written as it goes)",
                      &Options::history),
        string_option(
            "--checkpoint", "FILE",
            "save the whole state at the end, on SIGINT or SIGTERM, on a numerical failure (the "
            "last finite state) and every --checkpoint-every K iterations",
            &Options::checkpoint),
        count_option("--checkpoint-every", "K", "also save it every K iterations", "0, never",
                     &Options::checkpoint_every),
        string_option(
            "--resume", "FILE",
            "continue a saved run: give the same options as the saved run (--iterations may be "
            "larger)",
            &Options::resume),
        string_option(
            "--save-model", "FILE",
            "save the trained network (W, b, sizes, activation) at the end, on SIGINT or SIGTERM "
            "and on a numerical failure (the last finite one; none with --no-rollback)",
            &Options::save_model),
        count_option("--eval-every", "K", "test-set evaluation period", "1", &Options::eval_every),
        {"--time-limit", "SECONDS", "stop after this much wall time", "",
         [](Options& o, Text option, Text v) { o.time_limit = parse_positive(option, v); }},
        flag_option("--quiet", "no progress output", &Options::quiet, true),
        {"--help", "", "this text (also -h)", "", [](Options& o, Text, Text) { o.help = true; }}}}};
  return table;
}

/// The --help text: the options of the table under their headings, help in a column.
std::string usage() {
  constexpr std::size_t column = 45, width = 96;
  std::string text = kUsageIntro;
  for (const OptionGroup& group : option_table()) {
    text += group.heading + ":\n";
    for (const OptionSpec& spec : group.options) {
      std::string line = "  " + spec.name + (spec.value.empty() ? "" : " " + spec.value);
      std::string help = spec.help;
      if (!spec.default_value.empty())
        help = help.empty() ? "default: " + spec.default_value
                            : help + " (default: " + spec.default_value + ")";
      if (line.size() >= column - 1) {  // the help goes on the next line
        text += line + "\n";
        line.clear();
      }
      line.resize(column - 1, ' ');
      for (const std::string& word : split(help, ' ')) {
        if (line.size() + 1 + word.size() > width) {
          text += line + "\n";
          line.assign(column - 1, ' ');
        }
        line += " " + word;
      }
      text += line + "\n";
    }
  }
  return text + kExitStatus;
}

const OptionSpec* find_option(const std::string& name) {
  for (const OptionGroup& group : option_table())
    for (const OptionSpec& spec : group.options)
      if (spec.name == name) return &spec;
  return nullptr;
}

/// Fills the options not given with the graph defaults.
void apply_graph_defaults(Options& o) {
  if (!o.given.count("--hidden")) {
    o.hidden.clear();
    for (const std::string& w : split(GraphDefaults::hidden, ',')) o.hidden.push_back(std::stol(w));
  }
  if (!o.given.count("--iterations")) o.iterations = GraphDefaults::iterations;
  if (!o.given.count("--rho")) o.rho = GraphDefaults::rho;
  if (!o.given.count("--nu")) o.nu = GraphDefaults::nu;
  if (!o.given.count("--rho-schedule")) o.schedule = GraphDefaults::schedule;
  if (!o.given.count("--weight-decay")) o.weight_decay = GraphDefaults::weight_decay;
}

Options parse(int argc, char** argv) {
  Options o;
  o.arguments.assign(argv + 1, argv + argc);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = std::strcmp(argv[i], "-h") == 0 ? "--help" : argv[i];
    const OptionSpec* spec = find_option(arg);
    if (!spec && arg.rfind("--", 0) != 0) throw InputError("unexpected argument '" + arg + "'");
    if (!spec) throw InputError("unknown option '" + arg + "' (see --help)");
    std::string value;
    if (!spec->value.empty()) {
      if (i + 1 >= argc) throw InputError(arg + ": missing value");
      value = argv[++i];
    }
    spec->set(o, arg, value);
    if (o.help) return o;
    o.given.insert(arg);
  }
  if (o.graph()) apply_graph_defaults(o);
  if (o.checkpoint_every > 0 && o.checkpoint.empty())
    throw InputError("--checkpoint-every needs --checkpoint FILE");
  if (!o.history.empty()) check_writable("--history", o.history);
  if (!o.checkpoint.empty()) check_writable("--checkpoint", o.checkpoint);
  if (!o.save_model.empty()) check_writable("--save-model", o.save_model);
  if (o.data == "idx" && (o.train_images.empty() || o.train_labels.empty() ||
                          o.test_images.empty() || o.test_labels.empty()))
    throw InputError(
        "--data idx needs --train-images, --train-labels, --test-images and "
        "--test-labels");
  if (o.data == "csv" && o.train_csv.empty()) throw InputError("--data csv needs --train FILE");
  if (o.data == "planetoid" && !o.given.count("--data-dir"))
    throw InputError("--data planetoid needs --data-dir DIR (a Planetoid folder)");
  if ((o.data == "cora" || o.data == "citeseer") && o.given.count("--data-dir"))
    throw InputError(
        "--data " + o.data +
        " reads the shipped copy: for another folder give --data planetoid --data-dir DIR");
  for (const char* option : {"--train-limit", "--test-limit", "--standardize"})
    if (o.graph() && o.given.count(option))
      throw InputError(std::string(option) + ": not for graphs (--data " + o.data +
                       "), whose nodes are all used and whose splits are fixed");
  if (!o.graph() && o.raw_features) throw InputError("--raw-features: for graphs only");
  if (o.graph() && o.preset != "paper")
    throw InputError("--preset " + o.preset +
                     ": for the perceptron; graphs have their own defaults (docs/USAGE.md)");
  if (o.product_precision == "bf16") {
    const std::string reason = dladmm::bf16_unavailable_reason();
    if (!reason.empty()) throw InputError("--product-precision bf16: " + reason);
    if (o.scalar != "float") throw InputError("--product-precision bf16: needs --scalar float");
    if (o.solver != "quadratic")
      throw InputError("--product-precision bf16: for --solver quadratic only");
    if (o.deterministic)
      throw InputError(
          "--product-precision bf16: not with --deterministic (its sums are in the "
          "scalar type)");
  }
  if (o.graph() && o.deterministic)
    throw InputError("--deterministic: not for graphs, which are not split over processes");
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
  } else if (parts.size() <= 3 && parts[0] == "balanced") {
    p.rho_schedule = dladmm::RhoSchedule::Balanced;
    p.rho_factor = Scalar(2);
    if (parts.size() >= 2) {
      const double factor = parse_positive("--rho-schedule FACTOR", parts[1]);
      if (!(factor > 1)) throw InputError("--rho-schedule FACTOR: must be > 1");
      p.rho_factor = Scalar(factor);
    }
    if (parts.size() == 3)
      p.balance_until = int(parse_integer("--rho-schedule UNTIL", parts[2], 0, 1 << 30));
    p.rho_min = std::min(p.rho_min, p.rho);
  } else {
    throw InputError(std::string("--rho-schedule: expected ") + kScheduleForms + ", got '" +
                     o.schedule + "'");
  }
}

/// Reads this process's slices of the training and test sets (all of them on one process):
/// every process reads only its slice's samples. Makes no collective call.
template <typename Scalar>
std::pair<dladmm::Dataset<Scalar>, dladmm::Dataset<Scalar>> load_slices(
    const Options& o, const train::Processes& processes) {
  using dladmm::Dataset;
  const dladmm::SamplePart train_part{processes.rank(), processes.size(),
                                      o.train_limit > 0 ? o.train_limit : -1, processes.block()};
  const dladmm::SamplePart test_part{processes.rank(), processes.size(),
                                     o.test_limit >= 0 ? o.test_limit : -1, processes.block()};
  std::pair<Dataset<Scalar>, Dataset<Scalar>> sets;
  if (o.data == "fashion-mnist") {
    std::error_code ec;
    if (o.data_dir == kFashionMnistDir && !std::filesystem::exists(o.data_dir, ec))
      throw InputError(std::string("Fashion-MNIST not found in ") + kFashionMnistDir +
                       ": install it with 'apt-get install dataset-fashion-mnist' or pass "
                       "--data-dir DIR");
    sets =
        dladmm::read_idx_folder<Scalar>(o.data_dir, Scalar(1) / Scalar(255), train_part, test_part);
  } else if (o.data == "idx") {
    const Scalar scale = Scalar(1) / Scalar(255);
    sets.first = dladmm::read_idx<Scalar>(o.train_images, o.train_labels, 10, scale, train_part);
    sets.second = dladmm::read_idx<Scalar>(o.test_images, o.test_labels, 10, scale, test_part);
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
    csv.part = train_part;
    sets.first = dladmm::read_csv<Scalar>(o.train_csv, csv);
    if (!o.test_csv.empty()) {
      csv.part = test_part;
      // One process knows the class count here (a split run agrees on it in load()).
      if (!processes.split()) csv.num_classes = sets.first.num_classes;
      sets.second = dladmm::read_csv<Scalar>(o.test_csv, csv);
    }
  } else {  // synthetic: one generated set split into train and test
    const long train = o.train_limit > 0 ? o.train_limit : 2000;
    const long test = o.test_limit >= 0 ? o.test_limit : 500;
    const auto all = dladmm::make_synthetic<Scalar>(20, 5, train + test, o.seed);
    sets = all.split(double(test) / double(train + test), o.seed);
    for (auto [set, part] :
         {std::pair{&sets.first, train_part}, std::pair{&sets.second, test_part}}) {
      const dladmm::SampleSlice slice = part.of(set->samples());
      set->x = dladmm::Matrix<Scalar>(set->x.middleCols(slice.first, slice.count));
      set->labels = dladmm::Labels(set->labels.segment(slice.first, slice.count));
    }
  }
  return sets;
}

/// Reads the training and test sets, each process its slices, and makes them agree: the same
/// class count and features on every process (CSV labels infer the count from all slices), the
/// test set's features those of the training set, and standardized with the moments of all
/// the training samples (--standardize). Collective.
template <typename Scalar>
std::pair<dladmm::Dataset<Scalar>, dladmm::Dataset<Scalar>> load(
    const Options& o, const train::Processes& processes) {
  std::pair<dladmm::Dataset<Scalar>, dladmm::Dataset<Scalar>> sets;
  train::agree(processes, [&] { sets = load_slices<Scalar>(o, processes); });
  auto& train_set = sets.first;  // not a structured binding: lambdas capture these
  auto& test_set = sets.second;
  const bool has_test = processes.max(test_set.samples()) > 0;
  train::agree(processes, [&] {
    const long long classes = processes.max(train_set.num_classes);
    const long long features = processes.max(train_set.features());
    if (processes.min(train_set.features()) != features)
      throw InputError("the processes' slices of the training set have different feature counts");
    const dladmm::Index total = processes.samples().total_samples(train_set.samples());
    if (processes.min(train_set.samples()) < 1)
      throw InputError(std::to_string(total) + " training samples cannot be split over " +
                       std::to_string(processes.size()) + " processes: each needs at least one");
    train_set.num_classes = int(classes);
    if (has_test) {
      const long long test_features = processes.max(test_set.features());
      if (test_features != features)
        throw InputError((o.test_csv.empty() ? "the test set" : o.test_csv) + ": " +
                         std::to_string(test_features) + " features, but " +
                         (o.train_csv.empty() ? "the training set" : o.train_csv) + " has " +
                         std::to_string(features));
      if (processes.max(test_set.num_classes) > classes)
        throw InputError("test set has " + std::to_string(processes.max(test_set.num_classes)) +
                         " classes, training set " + std::to_string(classes));
      test_set.num_classes = int(classes);
      if (test_set.samples() == 0) test_set.x.resize(features, 0);
    }
  });
  if (o.standardize) {
    const auto standardizer = dladmm::Standardizer<Scalar>::fit(train_set.x, processes.samples());
    standardizer.apply(train_set.x);
    if (has_test) standardizer.apply(test_set.x);
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

/// Saves the checkpoint: one file, or on a split run every process's part and the manifest.
template <typename SolverT>
void save_checkpoint(const Options& o, const train::Processes& processes, const SolverT& solver,
                     const dladmm::History& history) {
  const dladmm::History kept = history_until(history, solver);
#ifdef DLADMM_TRAIN_MPI
  if (processes.split()) {
    dladmm::save_split_checkpoint(o.checkpoint, solver, &kept.rows, *processes.mpi());
    return;
  }
#endif
  (void)processes;
  dladmm::save_checkpoint(o.checkpoint, solver, &kept.rows);
}

/// During the run: writes the history CSV (atomically; process 0) and the checkpoint every K
/// iterations, warning instead of stopping if a file cannot be written; stops the run when a
/// signal asked (on a split run: when it reached any process, so that all stop together).
struct RunOutputs {
  const Options* o;
  const train::Processes* processes;
  dladmm::History* history;
  bool warned = false;
  int stop_signal = 0;  ///< The signal every process stopped for, or 0.
  template <typename SolverT>
  bool iteration(const SolverT& solver, dladmm::IterationInfo& info) {
    try {
      if (!o->history.empty() && processes->leader()) history->write_csv(o->history);
    } catch (const std::exception& e) {
      warn(e.what());
    }
    if (o->checkpoint_every > 0 && solver.status() == dladmm::Status::Running &&
        info.iteration % o->checkpoint_every == 0) {
      try {
        save_checkpoint(*o, *processes, solver, *history);
      } catch (const train::FailedElsewhere&) {
        // the process that failed warns
      } catch (const std::exception& e) {
        warn(e.what());
      }
    }
    stop_signal = int(processes->max(g_stop_signal));
    return stop_signal != 0;
  }
  void warn(const std::string& what) {
    if (!warned) std::cerr << "dladmm_train: warning: " << what << " (the run goes on)\n";
    warned = true;
  }
};

/// The command line that resumes this run from \p checkpoint.
std::string resume_command(const Options& o, const train::Processes& processes) {
  std::string command = processes.split()
                            ? "mpirun -np " + std::to_string(processes.size()) + " dladmm_train"
                            : "dladmm_train";
  for (std::size_t i = 0; i < o.arguments.size(); ++i) {
    if (o.arguments[i] == "--resume") {
      ++i;
      continue;
    }
    command += " " + o.arguments[i];
  }
  return command + " --resume " + o.checkpoint;
}

/// The solver's parameters as the options give them.
template <typename Scalar>
dladmm::Param<Scalar> make_param(const Options& o) {
  using Param = dladmm::Param<Scalar>;
  Param param = o.preset == "fast" ? Param::fast() : Param::paper();
  param.max_iterations = o.iterations;
  param.rho = Scalar(o.rho);
  if (o.nu > 0) {
    param.nu_tied_to_rho = false;
    param.nu = Scalar(o.nu);
  }
  // The options a preset sets apply only when given.
  if (o.given.count("--theta")) param.theta = Scalar(o.theta);
  if (o.given.count("--tau")) param.tau = Scalar(o.tau);
  if (o.given.count("--relaxation")) param.relaxation = Scalar(o.relaxation);
  if (o.product_precision == "bf16") param.product_precision = dladmm::ProductPrecision::BFloat16;
  if (o.given.count("--sweep"))
    param.sweep = o.sweep == "backward" ? dladmm::Sweep::Backward : dladmm::Sweep::BackwardForward;
  apply_schedule(o, param);
  param.solver =
      o.solver == "exact" ? dladmm::SubproblemSolver::Exact : dladmm::SubproblemSolver::Quadratic;
  param.initialization =
      o.init == "forward" ? dladmm::Initialization::Forward : dladmm::Initialization::Reference;
  if (o.weight_decay > 0) {
    param.regularization = dladmm::Regularization::L2;
    param.lambda = Scalar(o.weight_decay);
  }
  param.seed = o.seed;
  param.keep_last_finite = o.rollback;
  param.check();
  return param;
}

/// The network's sizes as text: 784-1000-1000-10.
std::string shape_text(const std::vector<dladmm::Index>& sizes) {
  std::string text;
  for (auto size : sizes) text += (text.empty() ? "" : "-") + std::to_string(size);
  return text;
}

/// Prints the iteration of the best validation accuracy (the first, if tied) with its test
/// accuracy: the usual model selection on a graph's public split.
void print_best_validation(const dladmm::History& history) {
  const dladmm::IterationInfo* best = nullptr;
  for (const auto& row : history.rows)
    if (!std::isnan(row.val_accuracy) && (!best || row.val_accuracy > best->val_accuracy))
      best = &row;
  if (best)
    std::cout << "dladmm_train: best validation accuracy " << best->val_accuracy << " at iteration "
              << best->iteration << ", test accuracy there "
              << dladmm::format_figure(best->test_accuracy) << "\n";
}

/// Trains \p problem (resumed from --resume if given) with \p evaluate filling the held-out
/// figures (if \p held_out), prints progress and the summary, writes the history, checkpoint
/// and model, and returns the exit status. \p data describes the data for the first line.
template <typename ProblemT, typename Evaluation>
int train(const Options& o, const train::Processes& processes, ProblemT& problem,
          Evaluation& evaluate, bool held_out, const std::string& data) {
  using Scalar = typename ProblemT::Scalar;
  using Loss = typename ProblemT::Loss;
  const dladmm::Param<Scalar> param = make_param<Scalar>(o);
  dladmm::Solver<ProblemT> solver(param);
  dladmm::History history;
  if (!o.resume.empty())
    train::agree(processes, [&] {
#ifdef DLADMM_TRAIN_MPI
      if (processes.split())
        dladmm::load_split_checkpoint(o.resume, problem, solver, &history.rows, *processes.mpi());
      else
#endif
        dladmm::load_checkpoint(o.resume, problem, solver, &history.rows);
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
    });

  RunOutputs outputs{&o, &processes, &history};
  const double limit = o.time_limit > 0 ? o.time_limit : 1e300;
  dladmm::TimeLimit time_limit(limit);
  std::ostringstream sink;
  const bool speaks = !o.quiet && processes.leader();  // one process prints
  // A launcher's output is a pipe or a log, even when mpirun gives the process a terminal.
  const bool terminal = isatty(STDOUT_FILENO) && !processes.launched();
  std::ostream& out = speaks ? std::cout : static_cast<std::ostream&>(sink);
  dladmm::PrintProgress lines(out, 1, o.graph());
  dladmm::ProgressBar bar(out);

  if (speaks)
    std::cout << "dladmm_train: " << data << ", network " << shape_text(problem.network().sizes())
              << ", " << o.scalar << ", " << ProblemT::Activation::name() << ", " << Loss::name()
              << ", preset " << o.preset << ", solver " << o.solver
              << (o.product_precision != "bf16" ? ""
                  : dladmm::bf16_uses_amx()     ? ", bf16 products (AMX)"
                                                : ", bf16 products (AVX-512 BF16, no AMX)")
              << ", rho " << o.rho << " (" << o.schedule << ")"
              << (o.nu > 0 ? ", nu " + format_number(o.nu) : "")
              << (o.weight_decay > 0 ? ", weight decay " + format_number(o.weight_decay) : "")
              << (o.resume.empty() ? ""
                                   : ", resumed at iteration " + std::to_string(solver.iteration()))
              << "\n";
  if (speaks && o.product_precision == "bf16" && !dladmm::bf16_uses_amx())
    std::cout << "dladmm_train: this processor has no AMX: bf16 products run on AVX-512 BF16, "
                 "which measured slower than float products (docs/PERFORMANCE.md)\n";
  if (speaks && solver.rho() <= Scalar(2 * Loss::lipschitz))
    std::cout << "dladmm_train: rho " << solver.rho() << " is at most 2H = " << 2 * Loss::lipschitz
              << ", below the regime where the objective provably falls: expect it to rise and "
                 "the primal residual to stay large until rho grows (docs/USAGE.md, \"Getting "
                 "good results\")\n";
  auto go = [&](auto&... callbacks) {
    return o.resume.empty() ? solver.minimize(problem, callbacks...) : solver.run(callbacks...);
  };
  dladmm::Result result;
  if (held_out)
    result = terminal ? go(evaluate, history, outputs, time_limit, bar)
                      : go(evaluate, history, outputs, time_limit, lines);
  else
    result =
        terminal ? go(history, outputs, time_limit, bar) : go(history, outputs, time_limit, lines);
  if (speaks && o.graph()) print_best_validation(history);

  const bool failed = result.status == dladmm::Status::NumericalIssue;
  const bool poisoned = failed && !param.keep_last_finite;  // the variables hold the NaN
  const bool model_saved = !o.save_model.empty() && !poisoned;
  train::agree(processes, [&] {
    if (!o.history.empty() && processes.leader()) history.write_csv(o.history);
  });
  if (!o.checkpoint.empty() && !poisoned)
    train::agree(processes, [&] { save_checkpoint(o, processes, solver, history); });
  train::agree(processes, [&] {
    if (model_saved && processes.leader()) dladmm::save_model(o.save_model, problem.network());
  });
  if (!processes.leader())  // the same status as process 0's, which says why
    return outputs.stop_signal != 0 ? 128 + outputs.stop_signal : failed ? 3 : 0;
  const std::string model_message = model_saved ? ", model saved in " + o.save_model : "";
  const int stop_signal = outputs.stop_signal;
  if (stop_signal != 0) {
    std::cerr << "dladmm_train: stopped by " << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
              << " after iteration " << solver.iteration() << model_message << "; "
              << (o.checkpoint.empty() ? "no --checkpoint was given, so the run cannot be resumed"
                                       : "resume with: " + resume_command(o, processes))
              << "\n";
    return 128 + stop_signal;
  }
  if (failed) {
    // With the rollback, iteration() is the last finite one and the failed one comes next.
    const int failed_iteration = poisoned ? result.iterations : result.iterations + 1;
    std::cerr << "dladmm_train: numerical failure (a figure became NaN or infinite) in iteration "
              << failed_iteration;
    if (poisoned) {
      std::vector<std::string> unsaved;
      if (!o.checkpoint.empty()) unsaved.push_back("checkpoint");
      if (!o.save_model.empty()) unsaved.push_back("model");
      std::cerr << "; with --no-rollback the variables keep it"
                << (unsaved.empty() ? "" : ", so no " + join(unsaved, " or ") + " was saved");
    } else {
      std::cerr << "; the state is that of iteration " << result.iterations
                << (o.checkpoint.empty() ? "" : ", saved in " + o.checkpoint) << model_message;
    }
    std::cerr << "\n";
    return 3;
  }
  if (model_saved && !o.quiet) std::cout << "dladmm_train: model saved in " << o.save_model << "\n";
  return 0;
}

/// Trains a multilayer perceptron on a training and a test set (this process's slices; load()
/// made them agree).
template <typename Scalar, typename Activation, typename Loss>
int train_perceptron(const Options& o, const train::Processes& processes,
                     dladmm::Dataset<Scalar> train_set, const dladmm::Dataset<Scalar>& test_set) {
  using ProblemT = dladmm::Problem<Scalar, Activation, Loss, dladmm::DenseMap, train::TrainSamples>;
  const train::TrainSamples samples = processes.samples();
  const dladmm::Index train_total = samples.total_samples(train_set.samples());
  const dladmm::Index test_total = samples.total_samples(test_set.samples());
  const dladmm::Matrix<Scalar> y = train_set.one_hot();
  const dladmm::Matrix<Scalar> test_y =
      test_set.samples() > 0 ? test_set.one_hot() : dladmm::Matrix<Scalar>(y.rows(), 0);
  const std::string data =
      std::to_string(train_total) + " training and " + std::to_string(test_total) +
      " test samples" +
      (processes.split() ? " split over " + std::to_string(processes.size()) + " processes" : "");
  std::unique_ptr<ProblemT> problem;
  train::agree(processes, [&] {
    problem = std::make_unique<ProblemT>(std::move(train_set.x), y, o.hidden, Activation(), Loss(),
                                         dladmm::DenseMap(), samples);
  });
  dladmm::Evaluate<Scalar> evaluate(test_set.x, test_y, o.eval_every);
  return train(o, processes, *problem, evaluate, test_total > 0, data);
}

/// The folder of a shipped graph (cora, citeseer): in the source tree the program was built
/// from, else where `make install` put it.
std::string shipped_graph_dir(const std::string& name) {
  std::error_code ec;
  for (const char* root : {DLADMM_SOURCE_DATA_DIR, DLADMM_INSTALLED_DATA_DIR}) {
    const std::string dir = std::string(root) + "/planetoid/" + name;
    if (std::filesystem::is_directory(dir, ec)) return dir;
  }
  throw InputError("--data " + name + ": the shipped copy is in neither " + DLADMM_SOURCE_DATA_DIR +
                   "/planetoid nor " + DLADMM_INSTALLED_DATA_DIR +
                   "/planetoid; give --data planetoid --data-dir DIR");
}

/// Trains a graph convolutional network on a Planetoid graph: the loss on the training nodes,
/// the validation and test figures from its validation and test nodes.
template <typename Scalar, typename Activation, typename Loss>
int train_graph(const Options& o, const train::Processes& processes, dladmm::Graph<Scalar> graph,
                const std::string& dir) {
  using ProblemT = dladmm::Problem<Scalar, Activation, Loss, dladmm::SparsePropagation<Scalar>>;
  if (!o.raw_features) dladmm::normalize_feature_columns(graph.features);
  const std::string data = dir + ": " + std::to_string(graph.features.cols()) + " nodes (" +
                           std::to_string(graph.train.size()) + " training, " +
                           std::to_string(graph.val.size()) + " validation, " +
                           std::to_string(graph.test.size()) + " test)";
  const dladmm::Matrix<Scalar> y = graph.one_hot();
  ProblemT problem(
      std::move(graph.features), y, o.hidden, Activation(), Loss(),
      dladmm::SparsePropagation<Scalar>(dladmm::normalized_propagation<Scalar>(graph.adjacency)));
  problem.set_loss_columns(graph.train);
  dladmm::EvaluateColumns<Scalar> evaluate(graph.val, graph.test, o.eval_every);
  return train(o, processes, problem, evaluate, true, data);
}

/// Loads the data and trains with the scalar type, activation and loss the options name.
int run(const Options& o, const train::Processes& processes) {
  return dispatch(Scalars{}, o.scalar, [&](auto scalar) {
    using Scalar = typename decltype(scalar)::type;
    if (o.graph()) {
      std::string dir;
      dladmm::Graph<Scalar> graph;
      train::agree(processes, [&] {
        if (processes.split())  // S couples the columns: a slice would need its neighbours'
          throw InputError("--data " + o.data + ": graphs are not split over processes (the " +
                           "propagation couples every node's neighbours); run on one process");
        dir = o.data == "planetoid" ? o.data_dir : shipped_graph_dir(o.data);
        graph = dladmm::read_planetoid<Scalar>(dir);
      });
      return dispatch(Activations{}, o.activation, [&](auto activation) {
        return dispatch(Losses{}, o.loss, [&](auto loss) {
          using Activation = typename decltype(activation)::type;
          using Loss = typename decltype(loss)::type;
          return train_graph<Scalar, Activation, Loss>(o, processes, std::move(graph), dir);
        });
      });
    }
    auto sets = load<Scalar>(o, processes);
    return dispatch(Activations{}, o.activation, [&](auto activation) {
      return dispatch(Losses{}, o.loss, [&](auto loss) {
        using Activation = typename decltype(activation)::type;
        using Loss = typename decltype(loss)::type;
        return train_perceptron<Scalar, Activation, Loss>(o, processes, std::move(sets.first),
                                                          sets.second);
      });
    });
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  train::Processes processes(argc, argv);  // MPI, when started by an MPI launcher
  try {
    Options o;
    train::agree(processes, [&] {
      o = parse(argc, argv);
      if (o.deterministic && !processes.make_deterministic())
        throw InputError(
            "--deterministic: run under mpirun (with -np 1 for one process): the mode is "
            "MpiSamples'");
    });
    if (o.help) {
      if (processes.leader()) std::cout << usage();
      return 0;
    }
#ifdef _OPENMP
    if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
    if (o.threads > 0) Eigen::setNbThreads(o.threads);  // per process
    return run(o, processes);
  } catch (const train::Stopped& stopped) {
    return stopped.status;  // one process said why
  } catch (const std::exception& e) {
    // Some processes may be waiting for this one in a collective call: end them all.
    std::cerr << "dladmm_train: ";
    if (processes.split())
      std::cerr << "process " << processes.rank() << " of " << processes.size() << ": ";
    if (dynamic_cast<const std::bad_alloc*>(&e))
      std::cerr << "out of memory (std::bad_alloc)\n";
    else
      std::cerr << e.what() << "\n";
    if (processes.split()) processes.abort(2);
    return 2;
  }
}
