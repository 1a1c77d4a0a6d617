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

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/gz_reader.hpp"
#include "dataset.hpp"
#include "sample_slice.hpp"

namespace dladmm {

namespace detail {

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

/// \brief Header of an IDX image file.
struct IdxImagesHeader {
  std::uint32_t count = 0;  ///< Number of images.
  std::uint32_t rows = 0;   ///< Rows of each image.
  std::uint32_t cols = 0;   ///< Columns of each image.
};

}  // namespace detail

namespace detail {

/// \brief read_idx_images() keeping \p part, and the file's image count in \p total.
template <typename Scalar>
Matrix<Scalar> read_idx_images_part(const std::string& path, Scalar scale, const SamplePart& part,
                                    Index& total) {
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
  total = static_cast<Index>(h.count);
  const SampleSlice slice = part.of(total);
  const std::vector<unsigned char> bytes =
      in.read_payload_part(pixels * h.count, kHeader, pixels * std::uint64_t(slice.first),
                           pixels * std::uint64_t(slice.count));
  Matrix<Scalar> x(static_cast<Index>(pixels), slice.count);
  Scalar* out = x.data();
  for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<Scalar>(bytes[i]) * scale;
  return x;
}

}  // namespace detail

/// \brief Reads an IDX image file (magic 0x00000803), raw or gzip-compressed.
/// \tparam Scalar Floating-point type of the result.
/// \param path The file.
/// \param scale Factor applied to every byte (the default maps 0..255 to [0, 1]).
/// \return A (rows * cols) x kept matrix; column j is kept image j in row-major pixel order.
/// \throws std::invalid_argument if scale is not finite.
/// \throws std::runtime_error if the file cannot be opened (missing, directory, unreadable), is
///         empty, has a truncated header, a bad magic number, zero images, zero or more than
///         2^24 pixels per image, fewer data bytes than declared, bytes after the declared data,
///         or unreadable gzip data. Every message names the function and the file.
/// \throws std::invalid_argument if \p part names no slice (as slice_of()).
/// \param part the images kept (SamplePart; all by default): the others are checked (the file's
///        size) but not converted.
template <typename Scalar>
Matrix<Scalar> read_idx_images(const std::string& path, Scalar scale = Scalar(1) / Scalar(255),
                               const SamplePart& part = {}) {
  Index total = 0;
  return detail::read_idx_images_part<Scalar>(path, scale, part, total);
}

namespace detail {

/// \brief read_idx_labels() keeping \p part, and the file's label count in \p total.
inline Labels read_idx_labels_part(const std::string& path, const SamplePart& part, Index& total) {
  detail::GzReader in("read_idx_labels", path);
  constexpr std::size_t kHeader = 8;
  const std::uint32_t magic = in.read_u32(kHeader, 0);
  if (magic != detail::kIdxLabelsMagic) {
    in.fail("bad magic number " + detail::hex32(magic) + ", expected " +
            detail::hex32(detail::kIdxLabelsMagic) + " (unsigned-byte labels)");
  }
  const std::uint32_t count = in.read_u32(kHeader, 4);
  if (count == 0) in.fail("header declares zero labels");
  total = static_cast<Index>(count);
  const SampleSlice slice = part.of(total);
  const std::vector<unsigned char> bytes =
      in.read_payload_part(count, kHeader, std::uint64_t(slice.first), std::uint64_t(slice.count));
  Labels labels(slice.count);
  for (std::size_t i = 0; i < bytes.size(); ++i) labels(static_cast<Index>(i)) = bytes[i];
  return labels;
}

}  // namespace detail

/// \brief Reads an IDX label file (magic 0x00000801), raw or gzip-compressed.
/// \param path The file.
/// \return One label (0..255) per item.
/// \throws std::runtime_error if the file cannot be opened (missing, directory, unreadable), is
///         empty, has a truncated header, a bad magic number, zero labels, fewer data bytes than
///         declared, bytes after the declared data, or unreadable gzip data. Every message names
///         the function and the file.
/// \param part the labels kept (SamplePart; all by default).
/// \throws std::invalid_argument if \p part names no slice (as slice_of()).
inline Labels read_idx_labels(const std::string& path, const SamplePart& part = {}) {
  Index total = 0;
  return detail::read_idx_labels_part(path, part, total);
}

namespace detail {

/// \brief Reads labels then images, keeping \p part, and checks that the files' counts agree.
/// \tparam Scalar Floating-point type of the features.
/// \param where Name of the public function, for messages.
/// \param images Image file.
/// \param labels Label file.
/// \param scale Pixel scale.
/// \param part The samples kept.
/// \param first Set to the index in the files of the first sample kept.
/// \return The data set with num_classes unset (0).
/// \throws std::runtime_error as read_idx_images/read_idx_labels, or if the counts differ.
template <typename Scalar>
Dataset<Scalar> read_idx_pair(const char* where, const std::string& images,
                              const std::string& labels, Scalar scale, const SamplePart& part,
                              Index& first) {
  Dataset<Scalar> data;
  Index label_count = 0, image_count = 0;
  data.labels = read_idx_labels_part(labels, part, label_count);
  data.x = read_idx_images_part<Scalar>(images, scale, part, image_count);
  if (image_count != label_count) {
    throw std::runtime_error(std::string(where) + ": image count and label count differ: " +
                             images + " has " + std::to_string(image_count) + " images but " +
                             labels + " has " + std::to_string(label_count) + " labels");
  }
  first = part.of(label_count).first;
  return data;
}

}  // namespace detail

/// \brief Reads an IDX image file and the matching IDX label file into a data set.
///
/// num_classes is the largest label kept + 1. Note: with Scalar = float, pass a float scale (e.g.
/// 0.5f); a double literal is ambiguous with the overload taking num_classes.
/// \tparam Scalar Floating-point type of the features.
/// \param images Image file (magic 0x00000803), raw or gzip.
/// \param labels Label file (magic 0x00000801), raw or gzip.
/// \param scale Factor applied to every pixel byte.
/// \param part The samples kept (SamplePart; all by default).
/// \return The data set (features = rows * cols, one column per image kept).
/// \throws std::invalid_argument if scale is not finite or \p part names no slice.
/// \throws std::runtime_error on any error of read_idx_images() or read_idx_labels(), or if the
///         two files hold different counts (the message names both files and both counts).
template <typename Scalar>
Dataset<Scalar> read_idx(const std::string& images, const std::string& labels,
                         Scalar scale = Scalar(1) / Scalar(255), const SamplePart& part = {}) {
  Index first = 0;
  Dataset<Scalar> data =
      detail::read_idx_pair<Scalar>("read_idx", images, labels, scale, part, first);
  data.num_classes = data.labels.maxCoeff() + 1;
  return data;
}

/// \brief Reads an IDX image file and the matching IDX label file, with a known class count.
/// \tparam Scalar Floating-point type of the features.
/// \param images Image file (magic 0x00000803), raw or gzip.
/// \param labels Label file (magic 0x00000801), raw or gzip.
/// \param num_classes Number of classes; every label must be in [0, num_classes).
/// \param scale Factor applied to every pixel byte.
/// \param part The samples kept (SamplePart; all by default); only their labels are checked.
/// \return The data set with the given num_classes.
/// \throws std::invalid_argument if num_classes < 1, scale is not finite or \p part names no
///         slice.
/// \throws std::runtime_error on any error of the two-file read_idx(), or if a label is out of
///         range (the message names the label file, the sample's index in it and the label).
template <typename Scalar>
Dataset<Scalar> read_idx(const std::string& images, const std::string& labels, int num_classes,
                         Scalar scale = Scalar(1) / Scalar(255), const SamplePart& part = {}) {
  if (num_classes < 1) {
    throw std::invalid_argument("read_idx: num_classes must be at least 1, got " +
                                std::to_string(num_classes));
  }
  Index first = 0;
  Dataset<Scalar> data =
      detail::read_idx_pair<Scalar>("read_idx", images, labels, scale, part, first);
  for (Index j = 0; j < data.labels.size(); ++j) {
    if (data.labels(j) >= num_classes) {
      throw std::runtime_error("read_idx: " + labels + ": sample " + std::to_string(first + j) +
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
/// \param train_part The training samples kept (SamplePart; all by default).
/// \param test_part The test samples kept (SamplePart; all by default).
/// \return The pair (training set, test set).
/// \throws std::invalid_argument if scale is not finite.
/// \throws std::runtime_error if dir does not exist or is not a directory, if one of the four files
/// is missing
///         (the message names it), or on any error of read_idx().
template <typename Scalar>
std::pair<Dataset<Scalar>, Dataset<Scalar>> read_idx_folder(const std::string& dir,
                                                            Scalar scale = Scalar(1) / Scalar(255),
                                                            const SamplePart& train_part = {},
                                                            const SamplePart& test_part = {}) {
  detail::require_directory("read_idx_folder", dir);
  auto locate = [&](const char* base) {
    std::string path = detail::find_gz_or_plain(dir, base);
    if (path.empty()) {
      throw std::runtime_error("read_idx_folder: " + dir + ": missing " + base + " (or " + base +
                               ".gz)");
    }
    return path;
  };
  const std::string train_images = locate("train-images-idx3-ubyte");
  const std::string train_labels = locate("train-labels-idx1-ubyte");
  const std::string test_images = locate("t10k-images-idx3-ubyte");
  const std::string test_labels = locate("t10k-labels-idx1-ubyte");
  constexpr int kClasses = 10;
  Dataset<Scalar> train = read_idx<Scalar>(train_images, train_labels, kClasses, scale, train_part);
  Dataset<Scalar> test = read_idx<Scalar>(test_images, test_labels, kClasses, scale, test_part);
  return {std::move(train), std::move(test)};
}

}  // namespace dladmm
