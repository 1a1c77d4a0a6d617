/// \file checkpoint.hpp
/// \brief save_checkpoint() and load_checkpoint(): the whole training state in a versioned,
/// checksummed binary file, written atomically; docs/RELIABILITY.md gives the format.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#endif

#include "activation.hpp"
#include "callbacks.hpp"
#include "config.hpp"
#include "detail/binary_io.hpp"  // crc32_of
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
constexpr std::uint32_t checkpoint_format_version = 1;

namespace detail {

constexpr char checkpoint_magic[8] = {'D', 'L', 'A', 'D', 'M', 'M', 'C', 'K'};
constexpr std::uint32_t checkpoint_byte_order = 0x01020304;
constexpr std::size_t checkpoint_trailer_bytes = 12;  // u64 content length, u32 CRC-32

/// Writes the checkpoint's fields to a stream, keeping the running length and CRC-32.
class CheckpointWriter {
 public:
  explicit CheckpointWriter(std::ostream& out) : m_out(out) {}

  void bytes(const void* data, std::size_t count) {
    m_out.write(static_cast<const char*>(data), std::streamsize(count));
    m_crc = crc32_of(m_crc, data, count);
    m_length += count;
  }
  template <typename T>
  void value(T v) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    bytes(&v, sizeof v);
  }
  void text(const std::string& s) {
    value(std::uint32_t(s.size()));
    bytes(s.data(), s.size());
  }
  template <typename Derived>
  void matrix(const Eigen::PlainObjectBase<Derived>& m) {
    value(std::int64_t(m.rows()));
    value(std::int64_t(m.cols()));
    bytes(m.data(), std::size_t(m.size()) * sizeof(typename Derived::Scalar));
  }
  void info(const IterationInfo& r) {
    value(std::int64_t(r.iteration));
    for (double v : {r.seconds, r.objective, r.primal_residual, r.dual_residual, r.rho, r.nu,
                     r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy})
      value(v);
    for (int v : {r.weight_backtracks, r.activation_backtracks, r.backtrack_cap_hits,
                  r.fista_iterations, r.fista_cap_hits})
      value(std::int64_t(v));
    value(std::uint64_t(r.layer_residuals.size()));
    for (double v : r.layer_residuals) value(v);
  }
  /// The trailer: the length of everything before it and its CRC-32.
  void finish() {
    const std::uint64_t length = m_length;
    const std::uint32_t crc = m_crc;
    m_out.write(reinterpret_cast<const char*>(&length), sizeof length);
    m_out.write(reinterpret_cast<const char*>(&crc), sizeof crc);
  }

 private:
  std::ostream& m_out;
  std::uint32_t m_crc = 0;
  std::uint64_t m_length = 0;
};

/// Reads the checkpoint's fields, refusing any count or size the remaining bytes cannot hold.
class CheckpointReader {
 public:
  CheckpointReader(std::istream& in, std::string name, std::uint64_t content_length)
      : m_in(in), m_name(std::move(name)), m_remaining(content_length) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw CheckpointError(m_name + ": " + what);
  }
  void bytes(void* data, std::size_t count, const char* what) {
    if (count > m_remaining) fail(std::string("truncated or corrupted (") + what + ")");
    m_in.read(static_cast<char*>(data), std::streamsize(count));
    if (std::size_t(m_in.gcount()) != count) fail(std::string("cannot read ") + what);
    m_remaining -= count;
  }
  template <typename T>
  T value(const char* what) {
    T v;
    bytes(&v, sizeof v, what);
    return v;
  }
  std::string text(const char* what) {
    const auto size = value<std::uint32_t>(what);
    if (size > 256)
      fail(std::string("corrupted (") + what + " is " + std::to_string(size) + " bytes long)");
    std::string s(size, '\0');
    bytes(s.data(), size, what);
    return s;
  }
  /// A count of items of \p item_bytes each, which must fit in the remaining bytes.
  std::uint64_t count(const char* what, std::size_t item_bytes) {
    const auto n = value<std::uint64_t>(what);
    if (n > m_remaining / std::max<std::size_t>(item_bytes, 1))
      fail(std::string("truncated or corrupted (") + what + " = " + std::to_string(n) + ")");
    return n;
  }
  /// Reads a matrix into \p m, which must already have the stored shape.
  template <typename Derived>
  void matrix_into(Eigen::PlainObjectBase<Derived>& m, const std::string& what) {
    const auto rows = value<std::int64_t>(what.c_str());
    const auto cols = value<std::int64_t>(what.c_str());
    if (rows != m.rows() || cols != m.cols())
      fail(what + " is " + std::to_string(rows) + " x " + std::to_string(cols) + ", expected " +
           std::to_string(m.rows()) + " x " + std::to_string(m.cols()));
    bytes(m.data(), std::size_t(m.size()) * sizeof(typename Derived::Scalar), what.c_str());
  }
  IterationInfo info() {
    IterationInfo r;
    r.iteration = int(value<std::int64_t>("iteration figures"));
    for (double* v : {&r.seconds, &r.objective, &r.primal_residual, &r.dual_residual, &r.rho, &r.nu,
                      &r.train_loss, &r.train_accuracy, &r.test_loss, &r.test_accuracy})
      *v = value<double>("iteration figures");
    for (int* v : {&r.weight_backtracks, &r.activation_backtracks, &r.backtrack_cap_hits,
                   &r.fista_iterations, &r.fista_cap_hits})
      *v = int(value<std::int64_t>("iteration figures"));
    r.layer_residuals.resize(count("layer residuals", sizeof(double)));
    for (double& v : r.layer_residuals) v = value<double>("layer residuals");
    return r;
  }
  std::uint64_t remaining() const { return m_remaining; }

 private:
  std::istream& m_in;
  std::string m_name;
  std::uint64_t m_remaining;
};

/// Writes one Param field: floating fields as Scalar, the rest as 64-bit integers.
template <typename Scalar, typename T>
void write_param_field(CheckpointWriter& out, const char* name, const T& field) {
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
      detail::CheckpointWriter writer(bytes);
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
/// Param value, the iteration counter, the rho schedule's state, every W, b, z, a, u and kept
/// product, the last iteration's figures and, if \p history is given, its rows.
/// \throws CheckpointError if the solver has no problem or the state holds a NaN or an infinity.
template <typename ProblemT>
void save_checkpoint(std::ostream& out, const std::string& name, const Solver<ProblemT>& solver,
                     const History* history = nullptr) {
  using Scalar = typename ProblemT::Scalar;
  const ProblemT* problem = solver.problem();
  if (!problem || !solver.schedule())
    throw CheckpointError(name + ": nothing to save: the solver has not been initialised");
  const auto& net = problem->network();
  bool finite = problem->u().allFinite();
  for (const auto& layer : net.layers())
    finite = finite && layer.W.allFinite() && layer.b.allFinite() && layer.z.allFinite() &&
             layer.a.allFinite();
  if (!finite) throw CheckpointError(name + ": not saved: the state holds a NaN or an infinity");

  detail::CheckpointWriter w(out);
  w.bytes(detail::checkpoint_magic, sizeof detail::checkpoint_magic);
  w.value(checkpoint_format_version);
  w.value(detail::checkpoint_byte_order);
  w.value(std::uint32_t(sizeof(Scalar)));
  w.text(ProblemT::Activation::name());
  w.value(net.activation().parameter());
  w.text(ProblemT::Loss::name());
  w.value(std::uint64_t(net.sizes().size()));
  for (Index size : net.sizes()) w.value(std::int64_t(size));
  w.value(std::int64_t(problem->samples()));
  w.value(detail::crc32_of(problem->x()));
  w.value(detail::crc32_of(problem->y()));

  std::uint32_t fields = 0;
  Param<Scalar>::for_each_field(solver.param(), [&fields](const char*, const auto&) { ++fields; });
  w.value(fields);
  Param<Scalar>::for_each_field(solver.param(), [&w](const char* field_name, const auto& field) {
    detail::write_param_field<Scalar>(w, field_name, field);
  });

  w.value(std::int64_t(solver.iteration()));
  const RhoScheduler<Scalar>& schedule = *solver.schedule();
  for (Scalar v : {schedule.rho, schedule.theta, schedule.tau}) w.value(v);
  w.value(std::uint64_t(schedule.losses.size()));
  for (double v : schedule.losses) w.value(v);
  w.info(solver.info());
  const std::size_t rows = history ? history->rows.size() : 0;
  w.value(std::uint64_t(rows));
  for (std::size_t i = 0; i < rows; ++i) w.info(history->rows[i]);

  for (const auto& layer : net.layers()) {
    w.matrix(layer.W);
    w.matrix(layer.b);
    w.matrix(layer.z);
    w.matrix(layer.a);
  }
  w.matrix(problem->u());
  for (const auto& product : solver.products()) w.matrix(product);
  w.finish();
  if (!out) throw CheckpointError(name + ": error while writing");
}

/// \brief Writes the checkpoint to \p path atomically: to `path.tmp`, flushed and synced to
/// disk, then renamed over \p path, so that a failed or interrupted save leaves any previous
/// checkpoint intact.
/// \throws CheckpointError naming the file if it cannot be written (nothing is replaced then).
template <typename ProblemT>
void save_checkpoint(const std::string& path, const Solver<ProblemT>& solver,
                     const History* history = nullptr) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw CheckpointError(path + ": cannot create " + temporary);
    try {
      save_checkpoint(out, path, solver, history);
      out.flush();
    } catch (...) {
      out.close();
      std::remove(temporary.c_str());
      throw;
    }
    out.close();
    bool ok = !out.fail();
#if defined(__unix__) || defined(__APPLE__)
    const int fd = ::open(temporary.c_str(), O_RDONLY);  // fsync covers the file, not the fd
    ok = ok && fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
#endif
    if (!ok) {
      std::remove(temporary.c_str());
      throw CheckpointError(path + ": error while writing " + temporary + " (disk full?)");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw CheckpointError(path + ": cannot rename " + temporary + " to it");
  }
#if defined(__unix__) || defined(__APPLE__)
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dir = ::open(folder.c_str(), O_RDONLY);
  if (dir >= 0) {  // make the rename itself durable
    ::fsync(dir);
    ::close(dir);
  }
#endif
}

/// \brief Restores a checkpoint written by save_checkpoint() into \p problem and \p solver, so
/// that solver.run() continues exactly as the saved run would have (bit-identical figures and
/// state). The problem must hold the same training data (checked by CRC-32) and the same
/// network shape, scalar type, activation and loss; the solver takes the saved parameters
/// except max_iterations and keep_last_finite. If \p history is given, it receives the saved rows.
///
/// The whole stream is checked (magic number, version, byte order, length, CRC-32) and every
/// header field compared before any variable is written, so a refused checkpoint changes
/// nothing.
/// \param name the file's name, for messages.
/// \throws CheckpointError naming \p name and the mismatch or damage.
template <typename ProblemT>
void load_checkpoint(std::istream& in, const std::string& name, ProblemT& problem,
                     Solver<ProblemT>& solver, History* history = nullptr) {
  using Scalar = typename ProblemT::Scalar;
  // Pass 1: magic, version, length and checksum of the whole stream.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (!in || size < 0) throw CheckpointError(name + ": cannot read");
  const std::uint64_t file_bytes = std::uint64_t(size);
  char magic[sizeof detail::checkpoint_magic] = {};
  std::uint32_t version = 0;
  if (file_bytes >= sizeof magic) in.read(magic, sizeof magic);
  if (file_bytes < sizeof magic || std::memcmp(magic, detail::checkpoint_magic, sizeof magic) != 0)
    throw CheckpointError(name + ": not a dladmm checkpoint (wrong magic number)");
  if (file_bytes >= sizeof magic + sizeof version)
    in.read(reinterpret_cast<char*>(&version), sizeof version);
  else
    throw CheckpointError(name + ": truncated (" + std::to_string(file_bytes) + " bytes)");
  if (version != checkpoint_format_version)
    throw CheckpointError(name + ": format version " + std::to_string(version) +
                          ", this library reads version " +
                          std::to_string(checkpoint_format_version));
  const std::uint64_t header_bytes = sizeof magic + sizeof version;
  if (file_bytes < header_bytes + detail::checkpoint_trailer_bytes)
    throw CheckpointError(name + ": truncated (" + std::to_string(file_bytes) + " bytes)");
  std::uint64_t stored_length = 0;
  std::uint32_t stored_crc = 0;
  in.seekg(std::streamoff(file_bytes - detail::checkpoint_trailer_bytes), std::ios::beg);
  in.read(reinterpret_cast<char*>(&stored_length), sizeof stored_length);
  in.read(reinterpret_cast<char*>(&stored_crc), sizeof stored_crc);
  const std::uint64_t content_bytes = file_bytes - detail::checkpoint_trailer_bytes;
  if (!in || stored_length != content_bytes)
    throw CheckpointError(name + ": truncated or corrupted (" + std::to_string(file_bytes) +
                          " bytes; the trailer does not match the length)");
  in.seekg(0, std::ios::beg);
  std::uint32_t crc = 0;
  std::vector<char> chunk(std::size_t(std::min<std::uint64_t>(content_bytes, 1 << 20)) + 1);
  for (std::uint64_t left = content_bytes; left > 0;) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(left, chunk.size()));
    in.read(chunk.data(), std::streamsize(n));
    if (std::size_t(in.gcount()) != n) throw CheckpointError(name + ": cannot read");
    crc = detail::crc32_of(crc, chunk.data(), n);
    left -= n;
  }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // let a fuzzer reach the parser below
  if (crc != stored_crc) throw CheckpointError(name + ": corrupted (CRC-32 mismatch)");
#endif

  // Pass 2: the header, compared with the problem and solver before anything is written.
  in.seekg(std::streamoff(header_bytes), std::ios::beg);
  detail::CheckpointReader r(in, name, content_bytes - header_bytes);
  if (r.value<std::uint32_t>("byte order") != detail::checkpoint_byte_order)
    r.fail("written on a machine of the other byte order");
  const auto scalar_bytes = r.value<std::uint32_t>("scalar type");
  if (scalar_bytes != sizeof(Scalar))
    r.fail(std::string("holds ") +
           (scalar_bytes == 4   ? "float"
            : scalar_bytes == 8 ? "double"
                                : "unknown") +
           " values, the problem is " + (sizeof(Scalar) == 4 ? "float" : "double"));
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
  auto shape = [](const std::vector<Index>& s) {
    std::string text;
    for (Index v : s) text += (text.empty() ? "" : "-") + std::to_string(v);
    return text;
  };
  if (sizes != net.sizes())
    r.fail("network " + shape(sizes) + ", the problem's is " + shape(net.sizes()));
  const auto samples = r.value<std::int64_t>("sample count");
  if (samples != problem.samples())
    r.fail(std::to_string(samples) + " training samples, the problem has " +
           std::to_string(problem.samples()));
  const auto x_crc = r.value<std::uint32_t>("data fingerprint");
  const auto y_crc = r.value<std::uint32_t>("data fingerprint");
  if (x_crc != detail::crc32_of(problem.x()) || y_crc != detail::crc32_of(problem.y()))
    r.fail("taken on different training data (the CRC-32 of X or Y differs)");

  std::uint32_t fields = 0;
  Param<Scalar>::for_each_field(solver.param(), [&fields](const char*, const auto&) { ++fields; });
  if (r.value<std::uint32_t>("parameter count") != fields) r.fail("wrong parameter count");
  Param<Scalar> param;
  Param<Scalar>::for_each_field(param, [&r](const char* field_name, auto& field) {
    detail::read_param_field<Scalar>(r, field_name, field);
  });
  try {
    param.check();
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("invalid parameters: ") + e.what());
  }

  const auto iteration = r.value<std::int64_t>("iteration counter");
  if (iteration < 0 || iteration > std::numeric_limits<int>::max())
    r.fail("iteration counter " + std::to_string(iteration) + " out of range");
  RhoScheduler<Scalar> schedule(param, net.min_hidden_width());
  schedule.rho = r.value<Scalar>("rho");
  schedule.theta = r.value<Scalar>("theta");
  schedule.tau = r.value<Scalar>("tau");
  schedule.losses.resize(r.count("schedule losses", sizeof(double)));
  for (double& v : schedule.losses) v = r.value<double>("schedule losses");
  const IterationInfo last = r.info();
  const std::uint64_t rows = r.count("history rows", sizeof(std::int64_t));
  std::vector<IterationInfo> saved_rows;
  for (std::uint64_t i = 0; i < rows; ++i) saved_rows.push_back(r.info());

  // Every matrix's size is known now: refuse a stream too short for them before writing.
  std::uint64_t matrix_bytes = 0;
  const std::uint64_t dims = 2 * sizeof(std::int64_t);
  const auto n = std::uint64_t(problem.samples());
  for (Index l = 0; l < net.num_layers(); ++l) {
    const auto units = std::uint64_t(net.layer(l).units());
    const bool hidden = l + 1 < net.num_layers();
    matrix_bytes += 4 * dims + sizeof(Scalar) * (units * std::uint64_t(net.layer(l).inputs()) +
                                                 units + units * n + (hidden ? units * n : 0));
  }
  matrix_bytes += dims + sizeof(Scalar) * std::uint64_t(net.outputs()) * n;  // u
  for (const auto& layer : net.layers())
    matrix_bytes += dims + sizeof(Scalar) * std::uint64_t(layer.units()) * n;  // products
  if (r.remaining() != matrix_bytes)
    r.fail("corrupted (" + std::to_string(r.remaining()) + " bytes of variables, expected " +
           std::to_string(matrix_bytes) + ")");

  // Write: the variables, then the solver's state.
  auto& layers = problem.network().layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::string layer_name = " of layer " + std::to_string(l + 1);
    const Index units = layers[l].units();
    layers[l].z.resize(units, problem.samples());
    layers[l].a.resize(l + 1 < layers.size() ? units : 0,
                       l + 1 < layers.size() ? problem.samples() : 0);
    r.matrix_into(layers[l].W, "W" + layer_name);
    r.matrix_into(layers[l].b, "b" + layer_name);
    r.matrix_into(layers[l].z, "z" + layer_name);
    r.matrix_into(layers[l].a, "a" + layer_name);
  }
  problem.u().resize(net.outputs(), problem.samples());
  r.matrix_into(problem.u(), "u");
  std::vector<Matrix<Scalar>> products(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    products[l].resize(layers[l].units(), problem.samples());
    r.matrix_into(products[l], "product of layer " + std::to_string(l + 1));
  }
  solver.resume(problem, param, int(iteration), schedule, std::move(products), last);
  if (history) history->rows = std::move(saved_rows);
}

/// \brief Reads the checkpoint file \p path into \p problem and \p solver; see the stream
/// overload.
/// \throws CheckpointError naming \p path and what is wrong.
template <typename ProblemT>
void load_checkpoint(const std::string& path, ProblemT& problem, Solver<ProblemT>& solver,
                     History* history = nullptr) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw CheckpointError(path + ": is a directory, not a checkpoint file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path + ": cannot open (missing or unreadable)");
  load_checkpoint(in, path, problem, solver, history);
}

}  // namespace dladmm
