#include <catch2/catch.hpp>

#include "gzip_file.hpp"
#include "temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dladmm/data/idx.hpp"

using Catch::Contains;
using dladmm::Index;
using dladmm::Labels;
using dladmm::Matrix;

namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

void put_u32(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<unsigned char>(v >> 24));
  b.push_back(static_cast<unsigned char>(v >> 16));
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}

/// Pixel k of image j: a fixed pseudo-random byte (incompressible enough for the gzip tests).
unsigned char pixel(std::uint32_t j, std::uint32_t k) {
  std::uint32_t h = j * 2654435761u ^ (k + 0x9e3779b9u) * 40503u;
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  return static_cast<unsigned char>(h);
}

Bytes image_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  Bytes b;
  put_u32(b, 0x00000803u);
  put_u32(b, count);
  put_u32(b, rows);
  put_u32(b, cols);
  for (std::uint32_t j = 0; j < count; ++j) {
    for (std::uint32_t k = 0; k < rows * cols; ++k) b.push_back(pixel(j, k));
  }
  return b;
}

Bytes label_file(const std::vector<int>& labels) {
  Bytes b;
  put_u32(b, 0x00000801u);
  put_u32(b, static_cast<std::uint32_t>(labels.size()));
  for (int l : labels) b.push_back(static_cast<unsigned char>(l));
  return b;
}

void write_raw(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(out.good());
}

Bytes read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename Scalar>
void check_images(const Matrix<Scalar>& x, std::uint32_t count, std::uint32_t rows,
                  std::uint32_t cols, Scalar scale) {
  REQUIRE(x.rows() == static_cast<Index>(rows * cols));
  REQUIRE(x.cols() == static_cast<Index>(count));
  for (std::uint32_t j = 0; j < count; ++j) {
    for (std::uint32_t k = 0; k < rows * cols; ++k) {
      REQUIRE(x(k, j) == static_cast<Scalar>(pixel(j, k)) * scale);
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("read_idx_images reads raw and gzip files exactly", "[data][idx]", float,
                   double) {
  TempDir dir;
  const Bytes bytes = image_file(7, 3, 5);
  write_raw(dir.file("img"), bytes);
  write_gz(dir.file("img.gz"), bytes);

  const TestType unit = TestType(1) / TestType(255);
  for (const char* name : {"img", "img.gz"}) {
    const Matrix<TestType> x = dladmm::read_idx_images<TestType>(dir.file(name));
    check_images<TestType>(x, 7, 3, 5, unit);
    CHECK(x.minCoeff() >= TestType(0));
    CHECK(x.maxCoeff() <= TestType(1));
    const Matrix<TestType> raw = dladmm::read_idx_images<TestType>(dir.file(name), TestType(1));
    check_images<TestType>(raw, 7, 3, 5, TestType(1));
    const Matrix<TestType> half = dladmm::read_idx_images<TestType>(dir.file(name), TestType(0.5));
    check_images<TestType>(half, 7, 3, 5, TestType(0.5));
  }
  // Row-major pixel order: pixel (r, c) of image j is row r * cols + c.
  const Matrix<TestType> x = dladmm::read_idx_images<TestType>(dir.file("img"), TestType(1));
  CHECK(x(1 * 5 + 2, 4) == static_cast<TestType>(bytes[16 + 4 * 15 + 1 * 5 + 2]));

  REQUIRE_THROWS_AS(
      dladmm::read_idx_images<TestType>(dir.file("img"), std::numeric_limits<TestType>::infinity()),
      std::invalid_argument);
}

TEST_CASE("read_idx_images handles a larger gzip file in several chunks", "[data][idx]") {
  TempDir dir;
  const Bytes bytes = image_file(3000, 28, 28);  // 2.35 MB, several zlib buffers
  write_gz(dir.file("big.gz"), bytes);
  const Matrix<float> x = dladmm::read_idx_images<float>(dir.file("big.gz"), 1.0f);
  check_images<float>(x, 3000, 28, 28, 1.0f);
}

TEST_CASE("read_idx_labels reads raw and gzip files", "[data][idx]") {
  TempDir dir;
  const std::vector<int> values = {0, 9, 3, 255, 7, 1};
  write_raw(dir.file("lab"), label_file(values));
  write_gz(dir.file("lab.gz"), label_file(values));
  for (const char* name : {"lab", "lab.gz"}) {
    const Labels labels = dladmm::read_idx_labels(dir.file(name));
    REQUIRE(labels.size() == 6);
    for (Index i = 0; i < 6; ++i) CHECK(labels(i) == values[static_cast<std::size_t>(i)]);
  }
}

TEMPLATE_TEST_CASE("read_idx pairs images with labels", "[data][idx]", float, double) {
  TempDir dir;
  write_gz(dir.file("img.gz"), image_file(5, 2, 2));
  write_raw(dir.file("lab"), label_file({3, 0, 6, 2, 6}));

  const dladmm::Dataset<TestType> d =
      dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab"));
  CHECK(d.num_classes == 7);
  CHECK(d.samples() == 5);
  CHECK(d.features() == 4);
  check_images<TestType>(d.x, 5, 2, 2, TestType(1) / TestType(255));
  CHECK(d.labels(2) == 6);
  CHECK_NOTHROW(d.validate("test"));

  const dladmm::Dataset<TestType> scaled =
      dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab"), TestType(2));
  check_images<TestType>(scaled.x, 5, 2, 2, TestType(2));

  const dladmm::Dataset<TestType> ten =
      dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab"), 10);
  CHECK(ten.num_classes == 10);
  check_images<TestType>(ten.x, 5, 2, 2, TestType(1) / TestType(255));

  REQUIRE_THROWS_AS(dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab"), 6),
                    std::runtime_error);
  REQUIRE_THROWS_WITH(
      dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab"), 6),
      Contains(dir.file("lab")) && Contains("sample 2 has label 6") && Contains("[0, 6)"));
  REQUIRE_THROWS_AS(dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab"), 0),
                    std::invalid_argument);

  write_raw(dir.file("lab4"), label_file({1, 2, 3, 4}));
  REQUIRE_THROWS_AS(dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab4")),
                    std::runtime_error);
  REQUIRE_THROWS_WITH(dladmm::read_idx<TestType>(dir.file("img.gz"), dir.file("lab4")),
                      Contains("read_idx") && Contains(dir.file("img.gz")) &&
                          Contains("5 images") && Contains(dir.file("lab4")) &&
                          Contains("4 labels"));
}

TEST_CASE("read_idx_* report unopenable files", "[data][idx]") {
  TempDir dir;
  const std::string missing = dir.file("nope");
  REQUIRE_THROWS_AS(dladmm::read_idx_images<float>(missing), std::runtime_error);
  REQUIRE_THROWS_WITH(
      dladmm::read_idx_images<float>(missing),
      Contains("read_idx_images") && Contains(missing) && Contains("cannot open: no such file"));
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(missing),
                      Contains("read_idx_labels") && Contains(missing) && Contains("cannot open"));
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(dir.str()),
                      Contains(dir.str()) && Contains("cannot open: is a directory"));
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(dir.str()), Contains("is a directory"));

  // Permission denied cannot be produced when running as root; test it only when it applies.
  const std::string locked = dir.file("locked");
  write_raw(locked, label_file({1}));
  fs::permissions(locked, fs::perms::none);
  if (!std::ifstream(locked).is_open()) {
    REQUIRE_THROWS_WITH(dladmm::read_idx_labels(locked),
                        Contains(locked) && Contains("cannot open: Permission denied"));
  }
}

TEST_CASE("read_idx_* reject malformed headers", "[data][idx]") {
  TempDir dir;
  const std::string path = dir.file("bad");

  write_raw(path, {});
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains(path) && Contains("empty file"));
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(path), Contains(path) && Contains("empty file"));

  Bytes header = image_file(1, 2, 2);
  header.resize(10);
  write_raw(path, header);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains(path) && Contains("truncated header: expected 16 bytes, got 10"));
  write_raw(path, {0, 0, 8, 1, 0, 0});
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(path),
                      Contains("truncated header: expected 8 bytes, got 6"));

  // A label file given as images and vice versa.
  write_raw(path, label_file({1, 2}));
  REQUIRE_THROWS_AS(dladmm::read_idx_images<double>(path), std::runtime_error);
  REQUIRE_THROWS_WITH(
      dladmm::read_idx_images<double>(path),
      Contains("read_idx_images: " + path + ": bad magic number 0x00000801, expected 0x00000803"));
  write_raw(path, image_file(1, 1, 1));
  REQUIRE_THROWS_WITH(
      dladmm::read_idx_labels(path),
      Contains("read_idx_labels: " + path + ": bad magic number 0x00000803, expected 0x00000801"));
  write_raw(path, Bytes{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains("bad magic number 0x504b0304"));

  write_raw(path, image_file(0, 2, 2));
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains(path) && Contains("declares zero images"));
  write_raw(path, label_file({}));
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(path),
                      Contains(path) && Contains("declares zero labels"));

  write_raw(path, image_file(1, 0, 5));
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains(path) && Contains("bad image dimensions 0 x 5") &&
                          Contains("between 1 and 16777216"));
  Bytes wide;
  put_u32(wide, 0x00000803u);
  put_u32(wide, 1);
  put_u32(wide, 4097);
  put_u32(wide, 4096);
  write_raw(path, wide);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains("bad image dimensions 4097 x 4096"));
  Bytes overflow;  // 0xffffffff^2 must not wrap around to a small value
  put_u32(overflow, 0x00000803u);
  put_u32(overflow, 1);
  put_u32(overflow, 0xffffffffu);
  put_u32(overflow, 0xffffffffu);
  write_raw(path, overflow);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains("bad image dimensions 4294967295 x 4294967295"));
}

TEST_CASE("read_idx_* detect truncated data and trailing data", "[data][idx]") {
  TempDir dir;
  const std::string path = dir.file("f");
  Bytes images = image_file(2, 2, 3);  // 16 + 12 bytes
  images.resize(26);
  write_raw(path, images);
  REQUIRE_THROWS_AS(dladmm::read_idx_images<float>(path), std::runtime_error);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(path),
                      Contains(path) && Contains("truncated data") &&
                          Contains("declares 12 data bytes, file has 10") &&
                          Contains("expected 28 bytes in total, got 26"));
  write_gz(path + ".gz", images);  // the same truncation inside a valid gzip stream
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(path + ".gz"),
                      Contains(path + ".gz") && Contains("expected 28 bytes in total, got 26"));

  Bytes labels = label_file({1, 2, 3, 4});
  labels.pop_back();
  write_raw(path, labels);
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(path),
                      Contains(path) && Contains("expected 12 bytes in total, got 11"));

  Bytes trailing = label_file({1, 2, 3});
  trailing.push_back(0);
  write_raw(path, trailing);
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(path),
                      Contains(path) && Contains("trailing data after the 11 bytes"));
  Bytes trailing_images = image_file(1, 2, 2);
  trailing_images.insert(trailing_images.end(), {1, 2, 3});
  write_gz(path + ".gz", trailing_images);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(path + ".gz"),
                      Contains(path + ".gz") && Contains("trailing data after the 20 bytes"));
}

TEST_CASE("read_idx_* with huge declared sizes in tiny files fail fast", "[data][idx]") {
  TempDir dir;
  const std::string path = dir.file("huge");
  const auto start = std::chrono::steady_clock::now();

  Bytes images;  // declares 2^32 - 1 images of 4096 x 4096 pixels: 2^56 bytes
  put_u32(images, 0x00000803u);
  put_u32(images, 0xffffffffu);
  put_u32(images, 4096);
  put_u32(images, 4096);
  write_raw(path, images);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains(path) && Contains("truncated data") && Contains("file has 0") &&
                          Contains("got 16)"));
  write_gz(path + ".gz", images);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path + ".gz"), Contains("truncated data"));

  Bytes one_pixel;  // 2^32 - 1 images of 1 pixel, with 3 pixels present
  put_u32(one_pixel, 0x00000803u);
  put_u32(one_pixel, 0xffffffffu);
  put_u32(one_pixel, 1);
  put_u32(one_pixel, 1);
  one_pixel.insert(one_pixel.end(), {1, 2, 3});
  write_raw(path, one_pixel);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<double>(path),
                      Contains("declares 4294967295 data bytes, file has 3"));

  Bytes labels;
  put_u32(labels, 0x00000801u);
  put_u32(labels, 0xffffffffu);
  write_raw(path, labels);
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(path),
                      Contains("declares 4294967295 data bytes, file has 0"));

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 5.0);
}

TEST_CASE("read_idx_* report corrupted gzip data", "[data][idx]") {
  TempDir dir;
  const Bytes bytes = image_file(200, 10, 10);  // 20 KB of pseudo-random pixels
  write_gz(dir.file("ok.gz"), bytes);
  const Bytes gz = read_raw(dir.file("ok.gz"));
  REQUIRE(gz.size() > 1000);

  // Garbage in the deflate stream.
  Bytes body = gz;
  for (std::size_t i = 20; i < 60; ++i) body[i] = static_cast<unsigned char>(0xff - body[i]);
  write_raw(dir.file("body.gz"), body);
  REQUIRE_THROWS_AS(dladmm::read_idx_images<float>(dir.file("body.gz")), std::runtime_error);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(dir.file("body.gz")),
                      Contains(dir.file("body.gz")) && Contains("unreadable gzip data"));

  // A wrong CRC in the trailer: the data decompress but the check fails.
  Bytes crc = gz;
  crc[crc.size() - 8] ^= 0x55;
  write_raw(dir.file("crc.gz"), crc);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(dir.file("crc.gz")),
                      Contains(dir.file("crc.gz")) && Contains("unreadable gzip data") &&
                          Contains("incorrect data check"));

  // A gzip stream cut in the middle.
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  write_raw(dir.file("cut.gz"), cut);
  REQUIRE_THROWS_WITH(dladmm::read_idx_images<float>(dir.file("cut.gz")),
                      Contains(dir.file("cut.gz")) && Contains("unreadable gzip data"));

  // Same for labels.
  write_gz(dir.file("lab.gz"), label_file(std::vector<int>(5000, 3)));
  Bytes lab = read_raw(dir.file("lab.gz"));
  lab.resize(lab.size() - 4);
  write_raw(dir.file("labcut.gz"), lab);
  REQUIRE_THROWS_WITH(dladmm::read_idx_labels(dir.file("labcut.gz")),
                      Contains(dir.file("labcut.gz")) && Contains("unreadable gzip data"));
}

TEMPLATE_TEST_CASE("read_idx_folder finds the four MNIST files", "[data][idx]", float, double) {
  TempDir dir;
  write_gz(dir.file("train-images-idx3-ubyte.gz"), image_file(6, 2, 3));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), label_file({0, 1, 2, 3, 4, 5}));
  // Both raw and .gz test images: the .gz one (4 images) wins over the raw one (3 images).
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"), image_file(4, 2, 3));
  write_raw(dir.file("t10k-images-idx3-ubyte"), image_file(3, 2, 3));
  write_raw(dir.file("t10k-labels-idx1-ubyte"), label_file({9, 8, 7, 6}));

  const auto [train, test] = dladmm::read_idx_folder<TestType>(dir.str());
  CHECK(train.samples() == 6);
  CHECK(test.samples() == 4);
  CHECK(train.num_classes == 10);
  CHECK(test.num_classes == 10);
  check_images<TestType>(train.x, 6, 2, 3, TestType(1) / TestType(255));
  check_images<TestType>(test.x, 4, 2, 3, TestType(1) / TestType(255));
  CHECK(test.labels(0) == 9);

  const auto [train1, test1] = dladmm::read_idx_folder<TestType>(dir.str(), TestType(1));
  check_images<TestType>(train1.x, 6, 2, 3, TestType(1));

  fs::remove(dir.file("t10k-labels-idx1-ubyte"));
  REQUIRE_THROWS_AS(dladmm::read_idx_folder<TestType>(dir.str()), std::runtime_error);
  REQUIRE_THROWS_WITH(dladmm::read_idx_folder<TestType>(dir.str()),
                      Contains("read_idx_folder") && Contains(dir.str()) &&
                          Contains("missing t10k-labels-idx1-ubyte"));

  REQUIRE_THROWS_WITH(dladmm::read_idx_folder<TestType>(dir.file("absent")),
                      Contains(dir.file("absent")) && Contains("does not exist"));
  REQUIRE_THROWS_WITH(dladmm::read_idx_folder<TestType>(dir.file("train-images-idx3-ubyte.gz")),
                      Contains("train-images-idx3-ubyte.gz") && Contains("is not a directory"));

  // A label above 9 is rejected because the folder reader fixes 10 classes.
  write_raw(dir.file("t10k-labels-idx1-ubyte"), label_file({9, 8, 10, 6}));
  REQUIRE_THROWS_WITH(dladmm::read_idx_folder<TestType>(dir.str()),
                      Contains("t10k-labels-idx1-ubyte") && Contains("sample 2 has label 10"));
}

TEMPLATE_TEST_CASE("read_idx keeps one part: the parts of every split make up the whole file",
                   "[data][idx][part]", float, double) {
  TempDir dir;
  const std::vector<int> labels{3, 0, 6, 2, 6, 1, 5, 4, 0, 2, 9};
  const auto count = static_cast<std::uint32_t>(labels.size());
  write_raw(dir.file("img"), image_file(count, 3, 2));
  write_gz(dir.file("img.gz"), image_file(count, 3, 2));
  write_raw(dir.file("lab"), label_file(labels));
  const auto whole = dladmm::read_idx<TestType>(dir.file("img"), dir.file("lab"), 10);
  for (const char* images : {"img", "img.gz"})  // raw files are read from the part on
    for (Index limit : {Index(-1), Index(7)})
      for (int parts = 1; parts <= 4; ++parts) {
        Index next = 0;  // the parts cover the samples kept in order, without overlap
        for (int part = 0; part < parts; ++part) {
          const dladmm::SamplePart keep{part, parts, limit};
          const auto d = dladmm::read_idx<TestType>(dir.file(images), dir.file("lab"), 10,
                                                    TestType(1) / TestType(255), keep);
          const dladmm::SampleSlice slice = keep.of(count);
          REQUIRE(slice.first == next);
          REQUIRE(d.samples() == slice.count);
          CHECK(d.x == whole.x.middleCols(slice.first, slice.count));
          CHECK(d.labels == whole.labels.segment(slice.first, slice.count));
          next += slice.count;
        }
        CHECK(next == (limit >= 0 ? limit : Index(count)));
      }
}

TEST_CASE("read_idx with a part checks the whole file and names samples by their index in it",
          "[data][idx][part]") {
  TempDir dir;
  write_raw(dir.file("img"), image_file(6, 2, 2));
  write_raw(dir.file("lab"), label_file({0, 1, 2, 3, 4, 7}));
  const dladmm::SamplePart last{1, 2, -1};  // samples 3, 4, 5
  CHECK_THROWS_WITH(dladmm::read_idx<float>(dir.file("img"), dir.file("lab"), 6, 1.0f, last),
                    Contains("sample 5 has label 7"));
  CHECK_NOTHROW(dladmm::read_idx<float>(dir.file("img"), dir.file("lab"), 6, 1.0f,
                                        dladmm::SamplePart{0, 2, -1}));
  // A truncated or overlong file is refused by every part, raw or gzip.
  Bytes short_file = image_file(6, 2, 2);
  short_file.resize(short_file.size() - 3);
  write_raw(dir.file("short"), short_file);
  write_gz(dir.file("short.gz"), short_file);
  Bytes long_file = image_file(6, 2, 2);
  long_file.push_back(1);
  write_raw(dir.file("long"), long_file);
  write_gz(dir.file("long.gz"), long_file);
  for (int part = 0; part < 2; ++part) {
    const dladmm::SamplePart keep{part, 2, -1};
    for (const char* name : {"short", "short.gz"})
      CHECK_THROWS_WITH(dladmm::read_idx_images<float>(dir.file(name), 1.0f, keep),
                        Contains("truncated data: header declares 24 data bytes, file has 21"));
    for (const char* name : {"long", "long.gz"})
      CHECK_THROWS_WITH(dladmm::read_idx_images<float>(dir.file(name), 1.0f, keep),
                        Contains("trailing data after the 40 bytes"));
  }
  CHECK_THROWS_AS(
      dladmm::read_idx_images<float>(dir.file("img"), 1.0f, dladmm::SamplePart{2, 2, -1}),
      std::invalid_argument);
}
