// Model files: exact round trips, a trained network's predictions, refusal of damaged, foreign
// or mismatched files, atomic saves.
#include <catch2/catch.hpp>

#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>
#include <dladmm/model_file.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

#include "temp_dir.hpp"

using dladmm::Index;

namespace {

// A network with seeded normal weights and biases of both signs.
template <typename Scalar, typename Activation>
dladmm::Network<Scalar, Activation> random_network(const std::vector<Index>& sizes,
                                                   Activation activation, std::uint64_t seed) {
  dladmm::Network<Scalar, Activation> network(sizes, activation);
  dladmm::detail::NormalStream normal(seed);
  for (auto& layer : network.layers()) {
    for (Index i = 0; i < layer.W.size(); ++i) layer.W.data()[i] = Scalar(normal.normal());
    for (Index i = 0; i < layer.b.size(); ++i) layer.b.data()[i] = Scalar(normal.normal());
  }
  return network;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename Derived>
bool bit_identical(const Eigen::PlainObjectBase<Derived>& a,
                   const Eigen::PlainObjectBase<Derived>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(),
                     std::size_t(a.size()) * sizeof(typename Derived::Scalar)) == 0;
}

template <typename Scalar, typename Activation>
void require_same_network(const dladmm::Network<Scalar, Activation>& a,
                          const dladmm::Network<Scalar, Activation>& b) {
  REQUIRE(a.sizes() == b.sizes());
  CHECK(a.activation().parameter() == b.activation().parameter());
  for (Index l = 0; l < a.num_layers(); ++l) {
    INFO("layer " << l + 1);
    CHECK(bit_identical(a.layer(l).W, b.layer(l).W));
    CHECK(bit_identical(a.layer(l).b, b.layer(l).b));
  }
}

// The file's bytes with its content changed by \p edit and the trailer recomputed, so that the
// frame is valid and the reader's field checks are what refuse it.
template <typename Edit>
std::string reframed(const std::string& bytes, Edit edit) {
  std::string content = bytes.substr(0, bytes.size() - dladmm::detail::frame_trailer_bytes);
  edit(content);
  const std::uint64_t length = content.size();
  const std::uint32_t crc = dladmm::detail::crc32_of(0, content.data(), content.size());
  return content + std::string(reinterpret_cast<const char*>(&length), sizeof length) +
         std::string(reinterpret_cast<const char*>(&crc), sizeof crc);
}

template <typename T>
void put(std::string& bytes, std::size_t at, T value) {
  REQUIRE(at + sizeof value <= bytes.size());
  std::memcpy(&bytes[at], &value, sizeof value);
}

// Loading \p path as Scalar / Activation fails with a message naming the file and containing
// \p expected.
template <typename Scalar = float, typename Activation = dladmm::Relu>
void require_refused(const std::string& path, const std::string& expected) {
  INFO("expected: " << expected);
  REQUIRE_THROWS_AS((dladmm::load_model<Scalar, Activation>(path)), dladmm::ModelFileError);
  try {
    dladmm::load_model<Scalar, Activation>(path);
  } catch (const dladmm::ModelFileError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).rfind(path + ": ", 0) == 0);
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}

template <typename Scalar, typename Activation>
void check_round_trip(Activation activation) {
  INFO(Activation::name());
  TempDir dir;
  const std::vector<Index> sizes = {6, 9, 7, 3};
  const auto original = random_network<Scalar>(sizes, activation, 11);
  const std::string path = dir.file("net.model");
  dladmm::save_model(path, original);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  const auto loaded = dladmm::load_model<Scalar, Activation>(path);
  require_same_network(loaded, original);
  const auto data = dladmm::make_synthetic<Scalar>(6, 3, 300, 12);
  CHECK(bit_identical(loaded.forward(data.x), original.forward(data.x)));
  CHECK(loaded.predict(data.x) == original.predict(data.x));

  // The stream overload writes the same bytes, the documented fields and nothing more.
  std::ostringstream out;
  dladmm::save_model(out, "net", original);
  const std::string bytes = read_bytes(path);
  CHECK(out.str() == bytes);
  std::size_t expected = 8 + 4 + 4 + 4 + 4 + std::strlen(Activation::name()) + 8 + 8 +
                         8 * sizes.size() + dladmm::detail::frame_trailer_bytes;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l)
    expected += 4 * 8 + sizeof(Scalar) * std::size_t(sizes[l + 1] * sizes[l] + sizes[l + 1]);
  CHECK(bytes.size() == expected);
  std::istringstream in(out.str());
  require_same_network(dladmm::load_model<Scalar, Activation>(in, "net"), original);
}

template <typename Scalar, typename Activation>
void check_trained_model(Activation activation) {
  INFO(Activation::name());
  const auto all = dladmm::make_synthetic<Scalar>(10, 3, 800, 5);
  const auto [train, test] = all.split(0.25, 5);
  using ProblemT = dladmm::Problem<Scalar, Activation>;
  ProblemT problem(train.x, train.one_hot(), {16}, activation);
  dladmm::Param<Scalar> param;
  param.max_iterations = 4;
  dladmm::Solver<ProblemT> solver(param);
  solver.minimize(problem);
  const auto& trained = problem.network();
  REQUIRE(trained.layer(0).W.cwiseAbs().maxCoeff() > 0);  // training moved the weights

  TempDir dir;
  const std::string path = dir.file("trained.model");
  dladmm::save_model(path, trained);
  const auto loaded = dladmm::load_model<Scalar, Activation>(path);
  require_same_network(loaded, trained);
  CHECK(loaded.predict(test.x) == trained.predict(test.x));
  CHECK(bit_identical(loaded.forward(test.x), trained.forward(test.x)));
  CHECK(loaded.accuracy(test.x, test.labels) == trained.accuracy(test.x, test.labels));
  // Much smaller than the N-wide training state.
  CHECK(read_bytes(path).size() < std::size_t(train.samples()) * 16 * sizeof(Scalar));
}

}  // namespace

TEMPLATE_TEST_CASE("save_model then load_model gives the same network", "[model_file]", float,
                   double) {
  check_round_trip<TestType>(dladmm::Relu());
  check_round_trip<TestType>(dladmm::LeakyRelu(0.2));
}

TEST_CASE("a model saved from a trained problem predicts as its network", "[model_file]") {
  // One trained case: the round trips above cover double and the leaky slope.
  check_trained_model<float>(dladmm::Relu());
}

TEST_CASE("damaged, foreign or mismatched model files are refused", "[model_file]") {
  TempDir dir;
  const std::vector<Index> sizes = {6, 9, 3};
  const std::string good = dir.file("good.model");
  dladmm::save_model(good, random_network<float>(sizes, dladmm::Relu(), 3));
  const std::string bytes = read_bytes(good);
  // Offsets of the fields after the name "relu" (docs/RELIABILITY.md).
  const std::size_t parameter_at = 24 + std::strlen(dladmm::Relu::name());
  const std::size_t count_at = parameter_at + 8, sizes_at = count_at + 8;
  const std::size_t first_w_at = sizes_at + 8 * sizes.size();

  SECTION("missing file, directory, not a model file") {
    require_refused(dir.file("none.model"), "cannot open");
    require_refused(dir.str(), "is a directory");
    std::string checkpoint_magic = bytes;
    checkpoint_magic.replace(0, 8, "DLADMMCK");
    const std::pair<const char*, std::string> foreign[] = {{"empty.model", ""},
                                                           {"short.model", bytes.substr(0, 5)},
                                                           {"text.model", "hello, world\n"},
                                                           {"checkpoint.model", checkpoint_magic}};
    for (const auto& [name, content] : foreign)
      require_refused(dir.write(name, content), "not a dladmm model file");
  }
  SECTION("truncated") {
    for (std::size_t keep :
         {std::size_t(10), std::size_t(20), std::size_t(40), bytes.size() / 2, bytes.size() - 1}) {
      INFO("first " << keep << " bytes");
      require_refused(dir.write("cut.model", bytes.substr(0, keep)), "truncated");
    }
  }
  SECTION("one flipped byte") {
    for (std::size_t at : {std::size_t(17), first_w_at + 20, bytes.size() / 2, bytes.size() - 1}) {
      INFO("byte " << at);
      std::string damaged = bytes;
      damaged[at] = char(damaged[at] ^ 0x40);
      require_refused(dir.write("flip.model", damaged), "CRC-32 mismatch");
    }
  }
  SECTION("other format version") {
    std::string damaged = bytes;
    put(damaged, 8, std::uint32_t(dladmm::model_format_version + 1));
    require_refused(dir.write("version.model", damaged),
                    "format version " + std::to_string(dladmm::model_format_version + 1));
  }
  SECTION("other byte order") {
    const auto damaged = reframed(bytes, [](std::string& c) { put(c, 12, 0x04030201u); });
    require_refused(dir.write("order.model", damaged), "other byte order");
  }
  SECTION("other scalar type or activation") {
    require_refused<double>(good, "holds float values, the program asked for double");
    require_refused<float, dladmm::LeakyRelu>(good,
                                              "activation relu, the program asked for leaky_relu");
    const std::string leaky = dir.file("leaky.model");
    dladmm::save_model(leaky, random_network<double>(sizes, dladmm::LeakyRelu(0.2), 3));
    require_refused<float, dladmm::LeakyRelu>(leaky,
                                              "holds double values, the program asked for float");
    require_refused<double, dladmm::Relu>(leaky,
                                          "activation leaky_relu, the program asked for relu");
    CHECK(dladmm::load_model<double, dladmm::LeakyRelu>(leaky).activation().alpha == 0.2);
  }
  SECTION("bad activation parameter") {
    require_refused(dir.write("relu_parameter.model",
                              reframed(bytes, [&](std::string& c) { put(c, parameter_at, 0.5); })),
                    "activation relu with parameter 0.5");
    const std::string leaky = dir.file("leaky.model");
    dladmm::save_model(leaky, random_network<float>(sizes, dladmm::LeakyRelu(0.2), 3));
    const std::size_t slope_at = 24 + std::strlen(dladmm::LeakyRelu::name());
    for (double slope : {1.5, -0.1, std::numeric_limits<double>::quiet_NaN()}) {
      INFO("slope " << slope);
      require_refused<float, dladmm::LeakyRelu>(
          dir.write("slope.model",
                    reframed(read_bytes(leaky), [&](std::string& c) { put(c, slope_at, slope); })),
          "alpha must be in [0, 1)");
    }
  }
  SECTION("bad sizes") {
    auto with = [&](auto edit) { return dir.write("sizes.model", reframed(bytes, edit)); };
    require_refused(with([&](std::string& c) { put(c, count_at, std::uint64_t(2)); }),
                    "2 network sizes, need at least 3");
    require_refused(with([&](std::string& c) { put(c, count_at, std::uint64_t(1) << 60); }),
                    "network sizes = " + std::to_string(std::uint64_t(1) << 60));
    require_refused(with([&](std::string& c) { put(c, sizes_at + 8, std::int64_t(0)); }),
                    "network size 1 is 0");
    require_refused(with([&](std::string& c) { put(c, sizes_at, std::int64_t(-3)); }),
                    "network size 0 is -3");
    require_refused(with([&](std::string& c) { put(c, sizes_at + 16, std::int64_t(1) << 40); }),
                    "network size 2 is " + std::to_string(std::int64_t(1) << 40));
    // Sizes within range whose weights the file cannot hold: refused before any allocation.
    require_refused(with([&](std::string& c) { put(c, sizes_at + 8, std::int64_t(1) << 30); }),
                    "too few for the weights of layer 1");
  }
  SECTION("a matrix of the wrong shape") {
    // W of layer 1 stored as 6 x 9 (its transpose): the same number of entries.
    const auto damaged = reframed(bytes, [&](std::string& c) {
      put(c, first_w_at, std::int64_t(sizes[0]));
      put(c, first_w_at + 8, std::int64_t(sizes[1]));
    });
    require_refused(dir.write("shape.model", damaged), "W of layer 1 is 6 x 9, expected 9 x 6");
  }
  SECTION("a NaN or an infinity") {
    for (float bad :
         {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
      INFO("value " << bad);
      // The last entry of b of layer 2, the last field before the trailer.
      const auto damaged = reframed(bytes, [&](std::string& c) { put(c, c.size() - 4, bad); });
      require_refused(dir.write("nan.model", damaged), "layer 2 holds a NaN or an infinity");
    }
  }
  SECTION("trailing bytes") {
    const auto damaged = reframed(bytes, [](std::string& c) { c += std::string(8, '\0'); });
    require_refused(dir.write("trailing.model", damaged), "8 trailing bytes");
  }
}

TEST_CASE("a failed model save leaves the previous file intact", "[model_file]") {
  TempDir dir;
  const std::string path = dir.file("net.model");
  auto network = random_network<float>({5, 4, 2}, dladmm::Relu(), 8);
  dladmm::save_model(path, network);
  const std::string before = read_bytes(path);
  REQUIRE(!before.empty());

  // A network holding NaN or infinity is never saved, not even to a stream.
  network.layer(1).W(1, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(dladmm::save_model(path, network),
                    Catch::StartsWith(path + ": ") && Catch::Contains("NaN"));
  CHECK(read_bytes(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  network.layer(1).W(1, 2) = 0;
  network.layer(0).b(3) = std::numeric_limits<float>::infinity();
  std::ostringstream out;
  CHECK_THROWS_AS(dladmm::save_model(out, "stream", network), dladmm::ModelFileError);
  CHECK(out.str().empty());
  CHECK_THROWS_WITH(dladmm::save_model(path, network), Catch::Contains("infinity"));
  CHECK(read_bytes(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  // An unwritable place is reported with the file's name.
  network.layer(0).b(3) = 0;
  const std::string nowhere = dir.file("missing/dir/net.model");
  CHECK_THROWS_WITH(dladmm::save_model(nowhere, network), Catch::StartsWith(nowhere + ": "));
  CHECK_FALSE(std::filesystem::exists(nowhere));
  CHECK_FALSE(std::filesystem::exists(nowhere + ".tmp"));
  CHECK(read_bytes(path) == before);
}
