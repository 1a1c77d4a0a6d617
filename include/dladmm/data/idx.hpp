/// \file idx.hpp
/// \brief Readers for the IDX format of MNIST-like data sets, raw or gzip-compressed.
///
/// IDX files are big-endian. An image file starts with the magic number 0x00000803 (unsigned
/// bytes, 3 dimensions) followed by the image count, the rows and the columns; a label file
/// starts with 0x00000801 followed by the label count. Then come the unsigned bytes, one image
/// after the other in row-major pixel order. Files are read through zlib, which reads both
/// gzip-compressed and uncompressed files.
///
/// The readers are strict: a file must be a regular file, hold at least one item, hold exactly
/// the bytes its header declares (bytes after the declared data are rejected as trailing data),
/// and a gzip file must decompress without error (including its CRC check). Data are read in
/// chunks, so a small file that declares a huge count fails quickly with a truncation error
/// instead of allocating memory for the declared size.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "dataset.hpp"

namespace dladmm {

namespace detail {

/// \brief Deleter closing a zlib file handle.
struct GzFileCloser {
  /// \brief Closes the handle (if not null).
  /// \param file The handle to close.
  void operator()(gzFile file) const {
    if (file != nullptr) gzclose(file);
  }
};

/// \brief Owning zlib file handle.
using GzFilePtr = std::unique_ptr<std::remove_pointer_t<gzFile>, GzFileCloser>;

/// \brief Magic number of an IDX file of unsigned-byte images (3 dimensions).
inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803u;
/// \brief Magic number of an IDX file of unsigned-byte labels (1 dimension).
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801u;
/// \brief Largest accepted number of pixels per image (rows * cols).
inline constexpr std::uint64_t kIdxMaxPixels = std::uint64_t{1} << 24;

/// \brief Formats a 32-bit value as 0x%08x.
/// \param value The value.
/// \return E.g. "0x00000803".
inline std::string hex32(std::uint32_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += digits[(value >> shift) & 0xfu];
  return out;
}

/// \brief Sequential reader of a raw or gzip file that reports errors naming the function and
///        the file.
class GzReader {
 public:
  /// \brief Opens path for reading.
  /// \param where Name of the calling function, the prefix of every error message.
  /// \param path File to open; must be an existing regular file.
  /// \throws std::runtime_error if the file does not exist, is a directory or another non-regular
  ///         file, or cannot be opened.
  GzReader(const char* where, const std::string& path)
      : path_(path), prefix_(std::string(where) + ": " + path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found) fail("cannot open: no such file");
    if (ec) fail("cannot open: " + ec.message());
    if (status.type() == fs::file_type::directory) fail("cannot open: is a directory");
    // FIFOs and devices could block or never end; only regular files are read.
    if (status.type() != fs::file_type::regular) fail("cannot open: not a regular file");
    errno = 0;
    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_) {
      const int err = errno;
      fail(std::string("cannot open: ") + (err != 0 ? std::strerror(err) : "out of memory"));
    }
    gzbuffer(file_.get(), 1u << 17);
  }

  /// \brief Reads up to size bytes, stopping early only at the end of the data.
  /// \param data Destination of at least size bytes.
  /// \param size Number of bytes wanted.
  /// \return Number of bytes read (less than size at the end of the data).
  /// \throws std::runtime_error if zlib reports an error (corrupted or truncated gzip data, or an
  ///         I/O error).
  std::size_t read(unsigned char* data, std::size_t size) {
    std::size_t total = 0;
    while (total < size) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - total, 1u << 20));
      const int got = gzread(file_.get(), data + total, chunk);
      if (got < 0) check_error(true);
      if (got <= 0) break;
      total += static_cast<std::size_t>(got);
      if (static_cast<unsigned>(got) < chunk) break;
    }
    if (total < size) check_error(false);
    return total;
  }

  /// \brief Reads a big-endian 32-bit word of the header.
  /// \param header_size Total header size, for the truncation message.
  /// \param consumed Bytes of the header already read, for the truncation message.
  /// \return The value.
  /// \throws std::runtime_error if the file ends first or zlib reports an error.
  std::uint32_t read_u32(std::size_t header_size, std::size_t consumed) {
    unsigned char b[4];
    const std::size_t got = read(b, 4);
    if (got < 4) {
      if (consumed + got == 0) fail("empty file");
      fail("truncated header: expected " + std::to_string(header_size) + " bytes, got " +
           std::to_string(consumed + got));
    }
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
  }

  /// \brief Reads exactly size bytes of payload, growing the buffer in chunks so a false size in
  ///        a header cannot cause a huge allocation, then checks that nothing follows.
  /// \param size Declared payload size in bytes.
  /// \param header_size Header size, for the messages.
  /// \return The payload.
  /// \throws std::runtime_error on truncation, trailing data or a zlib error.
  std::vector<unsigned char> read_payload(std::uint64_t size, std::size_t header_size) {
    constexpr std::uint64_t kChunk = std::uint64_t{1} << 22;  // 4 MiB
    std::vector<unsigned char> buffer;
    buffer.reserve(static_cast<std::size_t>(std::min(size, kChunk)));
    std::uint64_t have = 0;
    while (have < size) {
      const std::uint64_t want = std::min(size - have, kChunk);
      buffer.resize(static_cast<std::size_t>(have + want));
      const std::size_t got = read(buffer.data() + have, static_cast<std::size_t>(want));
      have += got;
      if (got < want) {
        fail("truncated data: header declares " + std::to_string(size) + " data bytes, file has " +
             std::to_string(have) + " (expected " + std::to_string(header_size + size) +
             " bytes in total, got " + std::to_string(header_size + have) + ")");
      }
    }
    unsigned char extra = 0;
    // Reading past the data also makes zlib verify the gzip trailer (CRC and length).
    if (read(&extra, 1) != 0) {
      fail("trailing data after the " + std::to_string(header_size + size) +
           " bytes declared by the header");
    }
    return buffer;
  }

  /// \brief Throws std::runtime_error with the function, the file and the message.
  /// \param message What went wrong.
  /// \throws std::runtime_error always.
  [[noreturn]] void fail(const std::string& message) const {
    throw std::runtime_error(prefix_ + ": " + message);
  }

 private:
  /// \brief Throws if zlib reports an error (or unconditionally when force is set).
  /// \param force Whether gzread returned -1, which is an error even if gzerror says Z_OK.
  /// \throws std::runtime_error naming the zlib or I/O error.
  void check_error(bool force) const {
    int errnum = Z_OK;
    const char* message = gzerror(file_.get(), &errnum);
    if (errnum == Z_ERRNO) {
      const int err = errno;
      fail(std::string("read error: ") + (err != 0 ? std::strerror(err) : "unknown I/O error"));
    }
    if (errnum != Z_OK || force) {
      std::string text = message != nullptr ? message : "";
      // zlib prefixes its messages with the path, which ours already names.
      if (text.compare(0, path_.size() + 2, path_ + ": ") == 0) text.erase(0, path_.size() + 2);
      if (text.empty()) text = "unknown zlib error";
      fail("unreadable gzip data (" + text + ")");
    }
  }

  std::string path_;
  std::string prefix_;
  GzFilePtr file_;
};

/// \brief Header of an IDX image file.
struct IdxImagesHeader {
  std::uint32_t count = 0;  ///< Number of images.
  std::uint32_t rows = 0;   ///< Rows of each image.
  std::uint32_t cols = 0;   ///< Columns of each image.
};

}  // namespace detail

/// \brief Reads an IDX image file (magic 0x00000803), raw or gzip-compressed.
/// \tparam Scalar Floating-point type of the result.
/// \param path The file.
/// \param scale Factor applied to every byte (the default maps 0..255 to [0, 1]).
/// \return A (rows * cols) x count matrix; column j is image j in row-major pixel order.
/// \throws std::invalid_argument if scale is not finite.
/// \throws std::runtime_error if the file cannot be opened (missing, directory, unreadable), is
///         empty, has a truncated header, a bad magic number, zero images, zero or more than
///         2^24 pixels per image, fewer data bytes than declared, bytes after the declared data,
///         or unreadable gzip data. Every message names the function and the file.
template <typename Scalar>
Matrix<Scalar> read_idx_images(const std::string& path, Scalar scale = Scalar(1) / Scalar(255)) {
  if (!std::isfinite(scale)) {
    throw std::invalid_argument("read_idx_images: " + path + ": scale must be finite");
  }
  detail::GzReader in("read_idx_images", path);
  constexpr std::size_t kHeader = 16;
  const std::uint32_t magic = in.read_u32(kHeader, 0);
  if (magic != detail::kIdxImagesMagic) {
    in.fail("bad magic number " + detail::hex32(magic) + ", expected " +
            detail::hex32(detail::kIdxImagesMagic) + " (unsigned-byte images)");
  }
  detail::IdxImagesHeader h;
  h.count = in.read_u32(kHeader, 4);
  h.rows = in.read_u32(kHeader, 8);
  h.cols = in.read_u32(kHeader, 12);
  if (h.count == 0) in.fail("header declares zero images");
  const std::uint64_t pixels = std::uint64_t{h.rows} * std::uint64_t{h.cols};
  if (pixels < 1 || pixels > detail::kIdxMaxPixels) {
    in.fail("bad image dimensions " + std::to_string(h.rows) + " x " + std::to_string(h.cols) +
            " (rows * cols must be between 1 and " + std::to_string(detail::kIdxMaxPixels) + ")");
  }
  const std::vector<unsigned char> bytes = in.read_payload(pixels * h.count, kHeader);
  Matrix<Scalar> x(static_cast<Index>(pixels), static_cast<Index>(h.count));
  Scalar* out = x.data();
  for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<Scalar>(bytes[i]) * scale;
  return x;
}

/// \brief Reads an IDX label file (magic 0x00000801), raw or gzip-compressed.
/// \param path The file.
/// \return One label (0..255) per item.
/// \throws std::runtime_error if the file cannot be opened (missing, directory, unreadable), is
///         empty, has a truncated header, a bad magic number, zero labels, fewer data bytes than
///         declared, bytes after the declared data, or unreadable gzip data. Every message names
///         the function and the file.
inline Labels read_idx_labels(const std::string& path) {
  detail::GzReader in("read_idx_labels", path);
  constexpr std::size_t kHeader = 8;
  const std::uint32_t magic = in.read_u32(kHeader, 0);
  if (magic != detail::kIdxLabelsMagic) {
    in.fail("bad magic number " + detail::hex32(magic) + ", expected " +
            detail::hex32(detail::kIdxLabelsMagic) + " (unsigned-byte labels)");
  }
  const std::uint32_t count = in.read_u32(kHeader, 4);
  if (count == 0) in.fail("header declares zero labels");
  const std::vector<unsigned char> bytes = in.read_payload(count, kHeader);
  Labels labels(static_cast<Index>(count));
  for (std::size_t i = 0; i < bytes.size(); ++i) labels(static_cast<Index>(i)) = bytes[i];
  return labels;
}

namespace detail {

/// \brief Reads labels then images and checks that the counts agree.
/// \tparam Scalar Floating-point type of the features.
/// \param where Name of the public function, for messages.
/// \param images Image file.
/// \param labels Label file.
/// \param scale Pixel scale.
/// \return The data set with num_classes unset (0).
/// \throws std::runtime_error as read_idx_images/read_idx_labels, or if the counts differ.
template <typename Scalar>
Dataset<Scalar> read_idx_pair(const char* where, const std::string& images,
                              const std::string& labels, Scalar scale) {
  Dataset<Scalar> data;
  data.labels = read_idx_labels(labels);
  data.x = read_idx_images<Scalar>(images, scale);
  if (data.x.cols() != data.labels.size()) {
    throw std::runtime_error(std::string(where) + ": image count and label count differ: " +
                             images + " has " + std::to_string(data.x.cols()) + " images but " +
                             labels + " has " + std::to_string(data.labels.size()) + " labels");
  }
  return data;
}

}  // namespace detail

/// \brief Reads an IDX image file and the matching IDX label file into a data set.
///
/// num_classes is the largest label + 1. Note: with Scalar = float, pass a float scale (e.g.
/// 0.5f); a double literal is ambiguous with the overload taking num_classes.
/// \tparam Scalar Floating-point type of the features.
/// \param images Image file (magic 0x00000803), raw or gzip.
/// \param labels Label file (magic 0x00000801), raw or gzip.
/// \param scale Factor applied to every pixel byte.
/// \return The data set (features = rows * cols, one column per image).
/// \throws std::invalid_argument if scale is not finite.
/// \throws std::runtime_error on any error of read_idx_images() or read_idx_labels(), or if the
///         two files hold different counts (the message names both files and both counts).
template <typename Scalar>
Dataset<Scalar> read_idx(const std::string& images, const std::string& labels,
                         Scalar scale = Scalar(1) / Scalar(255)) {
  Dataset<Scalar> data = detail::read_idx_pair<Scalar>("read_idx", images, labels, scale);
  data.num_classes = data.labels.maxCoeff() + 1;
  return data;
}

/// \brief Reads an IDX image file and the matching IDX label file, with a known class count.
/// \tparam Scalar Floating-point type of the features.
/// \param images Image file (magic 0x00000803), raw or gzip.
/// \param labels Label file (magic 0x00000801), raw or gzip.
/// \param num_classes Number of classes; every label must be in [0, num_classes).
/// \param scale Factor applied to every pixel byte.
/// \return The data set with the given num_classes.
/// \throws std::invalid_argument if num_classes < 1 or scale is not finite.
/// \throws std::runtime_error on any error of the two-file read_idx(), or if a label is out of
///         range (the message names the label file, the sample index and the label).
template <typename Scalar>
Dataset<Scalar> read_idx(const std::string& images, const std::string& labels, int num_classes,
                         Scalar scale = Scalar(1) / Scalar(255)) {
  if (num_classes < 1) {
    throw std::invalid_argument("read_idx: num_classes must be at least 1, got " +
                                std::to_string(num_classes));
  }
  Dataset<Scalar> data = detail::read_idx_pair<Scalar>("read_idx", images, labels, scale);
  for (Index j = 0; j < data.labels.size(); ++j) {
    if (data.labels(j) >= num_classes) {
      throw std::runtime_error("read_idx: " + labels + ": sample " + std::to_string(j) +
                               " has label " + std::to_string(data.labels(j)) + ", outside [0, " +
                               std::to_string(num_classes) + ")");
    }
  }
  data.num_classes = num_classes;
  return data;
}

/// \brief Reads the MNIST-layout files of a folder: train-images-idx3-ubyte,
///        train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each with
///        or without a .gz suffix (the .gz file is preferred when both exist).
///
/// Both data sets get 10 classes (MNIST, Fashion-MNIST, KMNIST).
/// \tparam Scalar Floating-point type of the features.
/// \param dir The folder.
/// \param scale Factor applied to every pixel byte.
/// \return The pair (training set, test set).
/// \throws std::invalid_argument if scale is not finite.
/// \throws std::runtime_error if dir does not exist or is not a directory, if one of the four files
/// is missing
///         (the message names it), or on any error of read_idx().
template <typename Scalar>
std::pair<Dataset<Scalar>, Dataset<Scalar>> read_idx_folder(const std::string& dir,
                                                            Scalar scale = Scalar(1) /
                                                                           Scalar(255)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw std::runtime_error("read_idx_folder: " + dir + ": does not exist");
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("read_idx_folder: " + dir + ": is not a directory");
  auto locate = [&](const char* base) {
    const fs::path plain = fs::path(dir) / base;
    fs::path gz = plain;
    gz += ".gz";
    std::error_code e;
    if (fs::exists(gz, e)) return gz.string();
    if (fs::exists(plain, e)) return plain.string();
    throw std::runtime_error("read_idx_folder: " + dir + ": missing " + base + " (or " + base +
                             ".gz)");
  };
  const std::string train_images = locate("train-images-idx3-ubyte");
  const std::string train_labels = locate("train-labels-idx1-ubyte");
  const std::string test_images = locate("t10k-images-idx3-ubyte");
  const std::string test_labels = locate("t10k-labels-idx1-ubyte");
  constexpr int kClasses = 10;
  Dataset<Scalar> train = read_idx<Scalar>(train_images, train_labels, kClasses, scale);
  Dataset<Scalar> test = read_idx<Scalar>(test_images, test_labels, kClasses, scale);
  return {std::move(train), std::move(test)};
}

}  // namespace dladmm
