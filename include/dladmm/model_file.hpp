/// \file model_file.hpp
/// \brief save_model() and load_model(): a trained network (sizes, activation, every W and b)
/// in a small versioned, checksummed binary file, for prediction without the training state;
/// docs/RELIABILITY.md gives the format.
#pragma once

#include <cstdint>
#include <istream>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "activation.hpp"
#include "config.hpp"
#include "detail/binary_io.hpp"
#include "network.hpp"

namespace dladmm {

/// \brief A model file could not be written, read or used. The message starts with the file's
/// name and says what is wrong.
struct ModelFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// \brief The model file format version this library writes and reads.
constexpr std::uint32_t model_format_version = 1;

namespace detail {

constexpr char model_magic[8] = {'D', 'L', 'A', 'D', 'M', 'M', 'M', 'D'};
/// Largest layer size a model file may hold; anything above is taken for damage.
constexpr std::int64_t model_max_size = std::numeric_limits<std::int32_t>::max();

/// The activation stored as \p name with \p parameter, as the program's type \p Activation.
template <typename Activation>
Activation model_activation(BinaryReader<ModelFileError>& r, const std::string& name,
                            double parameter) {
  if (name != Activation::name())
    r.fail("activation " + name + ", the program asked for " + Activation::name());
  Activation activation;
  if constexpr (std::is_constructible<Activation, double>::value) {
    try {
      activation = Activation(parameter);
    } catch (const std::invalid_argument& e) {
      r.fail(std::string("corrupted (") + e.what() + ")");
    }
  }
  if (!(activation.parameter() == parameter))
    r.fail("corrupted (activation " + name + " with parameter " + std::to_string(parameter) + ")");
  return activation;
}

/// The number (from 1) of the first layer whose W or b holds a NaN or an infinity, or 0.
template <typename Scalar, typename Activation>
Index non_finite_layer(const Network<Scalar, Activation>& network) {
  for (Index l = 0; l < network.num_layers(); ++l)
    if (!network.layer(l).W.allFinite() || !network.layer(l).b.allFinite()) return l + 1;
  return 0;
}

}  // namespace detail

/// \brief Writes \p network (sizes, activation and its parameter, every W and b) to \p out as
/// a model file (docs/RELIABILITY.md gives the format). The training state (z, a, u, the
/// parameters) is not part of it.
/// \tparam Scalar float or double: the values are stored as they are.
/// \tparam Activation Relu or LeakyRelu.
/// \param name the file's name, for messages.
/// \throws ModelFileError naming \p name if the network holds a NaN or an infinity (nothing is
/// written then) or the stream fails.
template <typename Scalar, typename Activation>
void save_model(std::ostream& out, const std::string& name,
                const Network<Scalar, Activation>& network) {
  if (const Index l = detail::non_finite_layer(network))
    throw ModelFileError(name + ": not saved: layer " + std::to_string(l) +
                         " holds a NaN or an infinity");
  detail::BinaryWriter w(out, detail::model_magic, model_format_version);
  detail::write_value_format<Scalar>(w);
  w.text(Activation::name());
  w.value(network.activation().parameter());
  w.value(std::uint64_t(network.sizes().size()));
  for (Index size : network.sizes()) w.value(std::int64_t(size));
  for (const auto& layer : network.layers()) {
    w.matrix(layer.W);
    w.matrix(layer.b);
  }
  w.finish();
  if (!out) throw ModelFileError(name + ": error while writing");
}

/// \brief Writes \p network to the model file \p path atomically: to `path.tmp`, flushed and
/// synced to disk, then renamed over \p path, so that a failed or interrupted save leaves any
/// previous file intact.
/// \throws ModelFileError naming \p path if the network holds a NaN or an infinity or the file
/// cannot be written (nothing is replaced then).
template <typename Scalar, typename Activation>
void save_model(const std::string& path, const Network<Scalar, Activation>& network) {
  detail::write_file_atomically<ModelFileError>(
      path, [&](std::ostream& out) { save_model(out, path, network); });
}

/// \brief Reads a network written by save_model(); its forward() and predict() give
/// bit-identical results to those of the saved network.
///
/// The whole stream is checked first (magic number, version, length, CRC-32), then every
/// header field. There is no conversion: the file must hold \p Scalar values and the
/// activation \p Activation (a leaky slope is taken from the file). Nothing is allocated
/// beyond what the remaining bytes can hold.
/// \tparam Scalar float or double, as saved.
/// \tparam Activation Relu or LeakyRelu, as saved.
/// \param name the file's name, for messages.
/// \throws ModelFileError naming \p name and what is wrong: not a model file, another format
/// version or byte order, another scalar type or activation, bad sizes, a matrix of the wrong
/// shape, a NaN or an infinity (save_model() never writes one), trailing bytes, truncation or
/// damage.
template <typename Scalar, typename Activation = Relu>
Network<Scalar, Activation> load_model(std::istream& in, const std::string& name) {
  auto r = detail::open_frame<ModelFileError>(in, name, detail::model_magic, model_format_version,
                                              "dladmm model file");
  detail::check_value_format<Scalar>(r, "the program asked for");
  const std::string activation_name = r.text("activation");
  const double parameter = r.value<double>("activation parameter");
  const auto activation = detail::model_activation<Activation>(r, activation_name, parameter);

  const std::uint64_t count = r.count("network sizes", sizeof(std::int64_t));
  if (count < 3)
    r.fail("corrupted (" + std::to_string(count) +
           " network sizes, need at least 3: input, hidden, output)");
  std::vector<Index> sizes;
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto size = r.value<std::int64_t>("network sizes");
    if (size < 1 || size > detail::model_max_size)
      r.fail("corrupted (network size " + std::to_string(i) + " is " + std::to_string(size) +
             ", must be in [1, " + std::to_string(detail::model_max_size) + "])");
    sizes.push_back(Index(size));
  }
  // Every matrix's size is known now: refuse a file too short for them before allocating.
  std::uint64_t left = r.remaining();
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::uint64_t dims = 4 * sizeof(std::int64_t);  // of W and b
    const auto units = std::uint64_t(sizes[l + 1]);
    const std::uint64_t entries = units * std::uint64_t(sizes[l]) + units;  // < 2^63
    if (left < dims || entries > (left - dims) / sizeof(Scalar))
      r.fail("truncated or corrupted (" + std::to_string(r.remaining()) +
             " bytes left, too few for the weights of layer " + std::to_string(l + 1) + ")");
    left -= dims + entries * sizeof(Scalar);
  }

  Network<Scalar, Activation> network(sizes, activation);
  for (Index l = 0; l < network.num_layers(); ++l) {
    const std::string layer = " of layer " + std::to_string(l + 1);
    r.matrix_into(network.layer(l).W, "W" + layer);
    r.matrix_into(network.layer(l).b, "b" + layer);
  }
  if (const Index l = detail::non_finite_layer(network))
    r.fail("corrupted (layer " + std::to_string(l) + " holds a NaN or an infinity)");
  if (r.remaining() != 0)
    r.fail("corrupted (" + std::to_string(r.remaining()) + " trailing bytes after the last layer)");
  return network;
}

/// \brief Reads the model file \p path; see the stream overload.
/// \throws ModelFileError naming \p path and what is wrong (also if it is missing, a directory
/// or unreadable).
template <typename Scalar, typename Activation = Relu>
Network<Scalar, Activation> load_model(const std::string& path) {
  auto in = detail::open_for_reading<ModelFileError>(path, "model");
  return load_model<Scalar, Activation>(in, path);
}

}  // namespace dladmm
