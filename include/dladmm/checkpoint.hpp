/// \file checkpoint.hpp
/// \brief save_checkpoint() and load_checkpoint(): the whole training state in a versioned,
/// checksummed binary file, written atomically; docs/RELIABILITY.md gives the format. One
/// description of the state, for_each_state_field(), serves the save, the load and the size
/// check.
#pragma once

#include <cstdint>
#include <istream>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "config.hpp"
#include "detail/binary_io.hpp"
#include "iteration_info.hpp"
#include "param.hpp"
#include "problem.hpp"
#include "schedule.hpp"
#include "solver.hpp"

namespace dladmm {

/// \brief A checkpoint could not be written, read or used. The message starts with the file's
/// name and says what is wrong.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// \brief The checkpoint format version this library writes and reads.
constexpr std::uint32_t checkpoint_format_version = 4;
/// \brief The oldest checkpoint format version this library reads (version 1 has no validation
/// figures; they read as NaN).
constexpr std::uint32_t checkpoint_oldest_format_version = 1;

namespace detail {

constexpr char checkpoint_magic[8] = {'D', 'L', 'A', 'D', 'M', 'M', 'C', 'K'};

using CheckpointReader = BinaryReader<CheckpointError>;

/// The solver's private state that a checkpoint saves and restores.
struct SolverAccess {
  template <typename SolverT>
  static auto& iteration(SolverT& solver) {
    return solver.m_iteration;
  }
  template <typename SolverT>
  static auto& schedule(SolverT& solver) {
    return *solver.m_schedule;
  }
  template <typename SolverT>
  static auto& last_figures(SolverT& solver) {
    return solver.m_info;
  }
  template <typename SolverT>
  static auto& products(SolverT& solver) {
    return solver.m_products;
  }
  /// Gives a fresh solver the parameters \p param, checked as init() checks them (no collective
  /// call: a process whose file holds bad parameters fails before the others attach).
  template <typename SolverT, typename Scalar>
  static void set_param(SolverT& solver, const Param<Scalar>& param) {
    solver.m_param = param;
    solver.check_param();
  }
  /// Attaches \p solver to \p problem and sizes its buffers, as init() does, without drawing
  /// or computing anything (collective with a data-parallel sample reduction).
  template <typename SolverT, typename ProblemT>
  static void attach(SolverT& solver, ProblemT& problem) {
    solver.attach(problem);
  }
  /// Completes a restored state: the mapped inputs, the figures' buffers and the copy for
  /// Param::keep_last_finite.
  template <typename SolverT>
  static void finish_restore(SolverT& solver) {
    const Index layers = solver.m_problem->network().num_layers();
    for (Index l = 1; l < layers; ++l) solver.propagate_input(l);
    solver.m_info.layer_residuals.resize(std::size_t(layers));  // record_figures writes them
    solver.m_restored = true;
    if (solver.m_data_finite)
      solver.keep_last_finite();
    else
      solver.m_status = Status::NumericalIssue;
  }
};

/// \brief Calls visit(name, field) for every part of the training state a checkpoint holds after
/// its header and parameters, in the file's order: the iteration counter, rho, theta, tau, the
/// Reference rule's loss window, the last iteration's figures, the history rows, then every
/// layer's W, b, z, a, the dual u, and the kept products. Fields before the first matrix are of
/// variable size; the matrices' shapes are known from the problem. Const or not, as \p solver
/// and \p problem are.
template <typename SolverT, typename ProblemT, typename Rows, typename Visitor>
void for_each_state_field(SolverT& solver, ProblemT& problem, Rows& rows, Visitor&& visit) {
  visit("iteration counter", SolverAccess::iteration(solver));
  auto& schedule = SolverAccess::schedule(solver);
  visit("rho", schedule.rho);
  visit("theta", schedule.theta);
  visit("tau", schedule.tau);
  visit("schedule losses", schedule.losses);
  visit("iteration figures", SolverAccess::last_figures(solver));
  visit("history rows", rows);
  auto& net = problem.network();
  auto& state = problem.state();
  for (Index l = 0; l < net.num_layers(); ++l) {
    const std::string layer = " of layer " + std::to_string(l + 1);
    visit("W" + layer, net.layer(l).W);
    visit("b" + layer, net.layer(l).b);
    visit("z" + layer, state.layer(l).z);
    visit("a" + layer, state.layer(l).a);
  }
  visit("u", state.u);
  auto& products = SolverAccess::products(solver);
  for (std::size_t l = 0; l < products.size(); ++l)
    visit("product of layer " + std::to_string(l + 1), products[l]);
}

/// True for the matrix and vector fields of the state.
template <typename T>
constexpr bool is_matrix_field = std::is_base_of<Eigen::PlainObjectBase<T>, T>::value;

inline void write_info(BinaryWriter& w, const IterationInfo& r) {
  w.value(std::int64_t(r.iteration));
  for (double v :
       {r.seconds, r.objective, r.primal_residual, r.dual_residual, r.rho, r.nu, r.train_loss,
        r.train_accuracy, r.test_loss, r.test_accuracy, r.val_loss, r.val_accuracy})
    w.value(v);
  for (int v : {r.weight_backtracks, r.activation_backtracks, r.backtrack_cap_hits,
                r.fista_iterations, r.fista_cap_hits})
    w.value(std::int64_t(v));
  w.value(std::uint64_t(r.layer_residuals.size()));
  for (double v : r.layer_residuals) w.value(v);
}

inline IterationInfo read_info(CheckpointReader& in) {
  IterationInfo r;
  r.iteration = int(in.value<std::int64_t>("iteration figures"));
  for (double* v : {&r.seconds, &r.objective, &r.primal_residual, &r.dual_residual, &r.rho, &r.nu,
                    &r.train_loss, &r.train_accuracy, &r.test_loss, &r.test_accuracy})
    *v = in.value<double>("iteration figures");
  if (in.version() >= 2)
    for (double* v : {&r.val_loss, &r.val_accuracy}) *v = in.value<double>("iteration figures");
  for (int* v : {&r.weight_backtracks, &r.activation_backtracks, &r.backtrack_cap_hits,
                 &r.fista_iterations, &r.fista_cap_hits})
    *v = int(in.value<std::int64_t>("iteration figures"));
  r.layer_residuals.resize(in.count("layer residuals", sizeof(double)));
  for (double& v : r.layer_residuals) v = in.value<double>("layer residuals");
  return r;
}

/// Writes one state field: the counter as a 64-bit integer, Scalar values as they are, lists
/// with a 64-bit count first, matrices with their shape.
struct StateWriter {
  BinaryWriter& out;
  template <typename T>
  void operator()(const std::string&, const T& field) {
    if constexpr (std::is_same<T, int>::value) {
      out.value(std::int64_t(field));
    } else if constexpr (std::is_floating_point<T>::value) {
      out.value(field);
    } else if constexpr (std::is_same<T, std::vector<double>>::value) {
      out.value(std::uint64_t(field.size()));
      for (double v : field) out.value(v);
    } else if constexpr (std::is_same<T, IterationInfo>::value) {
      write_info(out, field);
    } else if constexpr (std::is_same<T, std::vector<IterationInfo>>::value) {
      out.value(std::uint64_t(field.size()));
      for (const IterationInfo& row : field) write_info(out, row);
    } else {
      static_assert(is_matrix_field<T>, "a state field of unknown type");
      out.matrix(field);
    }
  }
};

/// First pass of a load: reads every field before the first matrix into its place (the fresh
/// solver and the row list) and adds up the bytes the matrices will take, which must equal the
/// bytes left, before anything in the problem is written.
struct StateScanner {
  CheckpointReader& in;
  std::uint64_t matrix_bytes = 0;
  bool seen_matrix = false;
  template <typename T>
  void operator()(const std::string& name, T& field) {
    if constexpr (is_matrix_field<T>) {
      seen_matrix = true;
      matrix_bytes += 2 * sizeof(std::int64_t) + sizeof(typename T::Scalar) *
                                                     std::uint64_t(field.rows()) *
                                                     std::uint64_t(field.cols());
      return;
    } else {
      if (seen_matrix) throw std::logic_error("checkpoint: " + name + " follows a matrix");
      if constexpr (std::is_same<T, int>::value) {
        const auto v = in.value<std::int64_t>(name.c_str());
        if (v < 0 || v > std::numeric_limits<int>::max())
          in.fail(name + " " + std::to_string(v) + " out of range");
        field = int(v);
      } else if constexpr (std::is_floating_point<T>::value) {
        field = in.value<T>(name.c_str());
      } else if constexpr (std::is_same<T, std::vector<double>>::value) {
        field.resize(in.count(name.c_str(), sizeof(double)));
        for (double& v : field) v = in.value<double>(name.c_str());
      } else if constexpr (std::is_same<T, IterationInfo>::value) {
        field = read_info(in);
      } else {
        static_assert(std::is_same<T, std::vector<IterationInfo>>::value,
                      "a state field of unknown type");
        field.clear();
        const std::uint64_t rows = in.count(name.c_str(), sizeof(std::int64_t));
        for (std::uint64_t i = 0; i < rows; ++i) field.push_back(read_info(in));
      }
    }
  }
};

/// Second pass of a load: reads the matrices (already sized) into their places.
struct MatrixReader {
  CheckpointReader& in;
  template <typename T>
  void operator()(const std::string& name, T& field) {
    if constexpr (is_matrix_field<T>) in.matrix_into(field, name);
  }
};

/// Writes one Param field: floating fields as Scalar, the rest as 64-bit integers.
template <typename Scalar, typename T>
void write_param_field(BinaryWriter& out, const char* name, const T& field) {
  out.text(name);
  if constexpr (std::is_floating_point<T>::value)
    out.value(Scalar(field));
  else
    out.value(std::int64_t(field));
}

template <typename Scalar, typename T>
void read_param_field(CheckpointReader& in, const char* name, T& field) {
  const std::string stored = in.text("parameter name");
  if (stored != name)
    in.fail("parameter '" + stored + "' where '" + name + "' was expected (corrupted)");
  if constexpr (std::is_floating_point<T>::value)
    field = T(in.value<Scalar>(name));
  else
    field = T(in.value<std::int64_t>(name));
}

/// The fingerprints (CRC-32) of a problem's data: of X with the layer map's matrix, if any, and
/// of Y with the loss columns, if restricted. For a dense map and a loss on every column they
/// are the CRC-32 of X and Y alone, as format version 1 stored them.
template <typename ProblemT>
std::pair<std::uint32_t, std::uint32_t> data_fingerprints(const ProblemT& problem) {
  std::uint32_t x_crc = crc32_of(problem.x());
  if constexpr (!ProblemT::LayerMap::identity) {
    const auto& s = problem.layer_map().matrix();  // compressed
    x_crc = crc32_of(x_crc, s.outerIndexPtr(),
                     std::size_t(s.outerSize() + 1) * sizeof(*s.outerIndexPtr()));
    x_crc =
        crc32_of(x_crc, s.innerIndexPtr(), std::size_t(s.nonZeros()) * sizeof(*s.innerIndexPtr()));
    x_crc = crc32_of(x_crc, s.valuePtr(), std::size_t(s.nonZeros()) * sizeof(*s.valuePtr()));
  }
  std::uint32_t y_crc = crc32_of(problem.y());
  const auto& columns = problem.loss_columns();
  if (!columns.empty()) y_crc = crc32_of(y_crc, columns.data(), columns.size() * sizeof(Index));
  return {x_crc, y_crc};
}

inline std::string shape_text(const std::vector<Index>& sizes) {
  std::string text;
  for (Index v : sizes) text += (text.empty() ? "" : "-") + std::to_string(v);
  return text;
}

}  // namespace detail

/// \brief The first Param field whose value differs between \p a and \p b (compared as stored
/// in a checkpoint), or an empty string if none does.
template <typename Scalar>
std::string first_param_difference(const Param<Scalar>& a, const Param<Scalar>& b) {
  std::vector<std::string> names;
  std::vector<std::string> values_a, values_b;
  auto collect = [&names](std::vector<std::string>& values) {
    return [&names, &values](const char* name, const auto& field) {
      std::ostringstream bytes;
      detail::BinaryWriter writer(bytes);
      detail::write_param_field<Scalar>(writer, name, field);
      if (names.size() <= values.size()) names.push_back(name);
      values.push_back(bytes.str());
    };
  };
  Param<Scalar>::for_each_field(a, collect(values_a));
  Param<Scalar>::for_each_field(b, collect(values_b));
  for (std::size_t i = 0; i < names.size(); ++i)
    if (values_a[i] != values_b[i]) return names[i];
  return "";
}

/// \brief Writes the complete training state of \p solver and its problem to \p out: network
/// shape, scalar type, activation, loss, a fingerprint (CRC-32) of the training data, every
/// Param value, then the fields of detail::for_each_state_field(): the iteration counter, the
/// rho schedule's state, the last iteration's figures, the history \p rows (if given), every W,
/// b, z, a, u and kept product.
/// \param rows the history's rows (History::rows), or null for none.
/// \throws CheckpointError if the solver has no problem or the state holds a NaN or an infinity.
template <typename ProblemT>
void save_checkpoint(std::ostream& out, const std::string& name, const Solver<ProblemT>& solver,
                     const std::vector<IterationInfo>* rows = nullptr) {
  using Scalar = typename ProblemT::Scalar;
  const ProblemT* problem = solver.problem();
  if (!problem || !solver.schedule())
    throw CheckpointError(name + ": nothing to save: the solver has not been initialised");
  const auto& net = problem->network();
  bool finite = problem->state().all_finite();
  for (const auto& layer : net.layers())
    finite = finite && layer.W.allFinite() && layer.b.allFinite();
  if (!finite) throw CheckpointError(name + ": not saved: the state holds a NaN or an infinity");

  detail::BinaryWriter w(out, detail::checkpoint_magic, checkpoint_format_version);
  detail::write_value_format<Scalar>(w);
  w.text(ProblemT::Activation::name());
  w.value(net.activation().parameter());
  w.text(ProblemT::Loss::name());
  w.value(std::uint64_t(net.sizes().size()));
  for (Index size : net.sizes()) w.value(std::int64_t(size));
  w.value(std::int64_t(problem->samples()));
  const auto fingerprints = detail::data_fingerprints(*problem);
  w.value(fingerprints.first);
  w.value(fingerprints.second);

  std::uint32_t fields = 0;
  Param<Scalar>::for_each_field(solver.param(), [&fields](const char*, const auto&) { ++fields; });
  w.value(fields);
  Param<Scalar>::for_each_field(solver.param(), [&w](const char* field_name, const auto& field) {
    detail::write_param_field<Scalar>(w, field_name, field);
  });

  const std::vector<IterationInfo> no_rows;
  detail::for_each_state_field(solver, *problem, rows ? *rows : no_rows, detail::StateWriter{w});
  w.finish();
  if (!out) throw CheckpointError(name + ": error while writing");
}

/// \brief Writes the checkpoint to \p path atomically: to `path.tmp`, flushed and synced to
/// disk, then renamed over \p path, so that a failed or interrupted save leaves any previous
/// checkpoint intact.
/// \throws CheckpointError naming the file if it cannot be written (nothing is replaced then).
template <typename ProblemT>
void save_checkpoint(const std::string& path, const Solver<ProblemT>& solver,
                     const std::vector<IterationInfo>* rows = nullptr) {
  detail::write_file_atomically<CheckpointError>(
      path, [&](std::ostream& out) { save_checkpoint(out, path, solver, rows); });
}

namespace detail {

/// \brief load_checkpoint(), calling \p agree() twice: after every check of the header against
/// the problem (before the solver is attached to the problem, which makes the sample
/// reduction's collective calls), and after every check of the state (before anything is
/// written). A split run agrees there on whether every process got so far
/// (load_split_checkpoint), so that a process that fails a check never leaves the others
/// waiting in a collective call.
template <typename ProblemT, typename Agree>
void load_checkpoint_in_stages(std::istream& in, const std::string& name, ProblemT& problem,
                               Solver<ProblemT>& solver, std::vector<IterationInfo>* rows,
                               Agree&& agree) {
  using Scalar = typename ProblemT::Scalar;
  detail::CheckpointReader r = detail::open_frame<CheckpointError>(
      in, name, detail::checkpoint_magic, checkpoint_format_version, "dladmm checkpoint",
      checkpoint_oldest_format_version);

  // The header, compared with the problem before anything is written.
  detail::check_value_format<Scalar>(r, "the problem is");
  const std::string activation = r.text("activation");
  const double activation_parameter = r.value<double>("activation parameter");
  const auto& net = problem.network();
  if (activation != ProblemT::Activation::name() ||
      activation_parameter != net.activation().parameter())
    r.fail("activation " + activation + " (" + std::to_string(activation_parameter) +
           "), the problem has " + ProblemT::Activation::name());
  const std::string loss = r.text("loss");
  if (loss != ProblemT::Loss::name())
    r.fail("loss " + loss + ", the problem has " + ProblemT::Loss::name());
  const std::uint64_t layers_plus_one = r.count("network sizes", sizeof(std::int64_t));
  std::vector<Index> sizes;
  for (std::uint64_t i = 0; i < layers_plus_one; ++i)
    sizes.push_back(Index(r.value<std::int64_t>("network sizes")));
  if (sizes != net.sizes())
    r.fail("network " + detail::shape_text(sizes) + ", the problem's is " +
           detail::shape_text(net.sizes()));
  const auto samples = r.value<std::int64_t>("sample count");
  if (samples != problem.samples())
    r.fail(std::to_string(samples) + " training samples, the problem has " +
           std::to_string(problem.samples()));
  const auto x_crc = r.value<std::uint32_t>("data fingerprint");
  const auto y_crc = r.value<std::uint32_t>("data fingerprint");
  const auto fingerprints = detail::data_fingerprints(problem);
  if (x_crc != fingerprints.first || y_crc != fingerprints.second)
    r.fail(
        "taken on different training data (the CRC-32 of X and the layer map's matrix, or of Y "
        "and the loss columns, differs)");

  std::uint32_t fields = 0;
  Param<Scalar>::for_each_field(solver.param(), [&fields](const char*, const auto&) { ++fields; });
  if (r.version() < 3)
    fields = Param<Scalar>::fields_before_version_3;  // the rest: defaults
  else if (r.version() < 4)
    fields = Param<Scalar>::fields_before_version_4;
  if (r.value<std::uint32_t>("parameter count") != fields) r.fail("wrong parameter count");
  Param<Scalar> param;
  std::uint32_t read = 0;
  Param<Scalar>::for_each_field(param, [&](const char* field_name, auto& field) {
    if (read++ < fields) detail::read_param_field<Scalar>(r, field_name, field);
  });
  param.max_iterations = solver.param().max_iterations;  // how far and how safely: the caller's
  param.keep_last_finite = solver.param().keep_last_finite;
  Solver<ProblemT> loaded;
  try {
    detail::SolverAccess::set_param(loaded, param);
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("invalid parameters: ") + e.what());
  }
  agree();
  detail::SolverAccess::attach(loaded, problem);  // sizes buffers, writes nothing

  // The state: the fields before the matrices into the fresh solver, then, once the bytes left
  // are known to be exactly the matrices', the matrices into the problem and the solver.
  std::vector<IterationInfo> saved_rows;
  detail::StateScanner scan{r};
  detail::for_each_state_field(loaded, problem, saved_rows, scan);
  if (loaded.schedule()->losses.size() > 100000) r.fail("corrupted (schedule losses)");
  if (r.remaining() != scan.matrix_bytes)
    r.fail("corrupted (" + std::to_string(r.remaining()) + " bytes of variables, expected " +
           std::to_string(scan.matrix_bytes) + ")");
  agree();
  detail::for_each_state_field(loaded, problem, saved_rows, detail::MatrixReader{r});
  detail::SolverAccess::finish_restore(loaded);
  solver = std::move(loaded);
  if (rows) *rows = std::move(saved_rows);
}

}  // namespace detail

/// \brief Restores a checkpoint written by save_checkpoint() into \p problem and \p solver, so
/// that solver.run() continues exactly as the saved run would have (bit-identical figures and
/// state). The problem must hold the same training data (checked by CRC-32) and the same
/// network shape, scalar type, activation and loss; the solver takes the saved parameters
/// except max_iterations and keep_last_finite, which stay the caller's (they change neither the
/// iterates nor the figures). If \p rows is given, it receives the saved history rows (pass
/// &History::rows).
///
/// The whole stream is checked (magic number, version, byte order, length, CRC-32) and every
/// header field and size compared before any variable is written, so a refused checkpoint
/// changes nothing.
/// \param name the file's name, for messages.
/// \throws CheckpointError naming \p name and the mismatch or damage.
template <typename ProblemT>
void load_checkpoint(std::istream& in, const std::string& name, ProblemT& problem,
                     Solver<ProblemT>& solver, std::vector<IterationInfo>* rows = nullptr) {
  detail::load_checkpoint_in_stages(in, name, problem, solver, rows, [] {});
}

/// \brief Reads the checkpoint file \p path into \p problem and \p solver; see the stream
/// overload.
/// \throws CheckpointError naming \p path and what is wrong.
template <typename ProblemT>
void load_checkpoint(const std::string& path, ProblemT& problem, Solver<ProblemT>& solver,
                     std::vector<IterationInfo>* rows = nullptr) {
  std::ifstream in = detail::open_for_reading<CheckpointError>(path, "checkpoint");
  load_checkpoint(in, path, problem, solver, rows);
}

}  // namespace dladmm
