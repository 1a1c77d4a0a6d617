/// \file csv.hpp
/// \brief Reader of numeric CSV files with one sample per row and one label column.
#pragma once

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../config.hpp"
#include "../detail/text.hpp"
#include "dataset.hpp"
#include "sample_slice.hpp"

namespace dladmm {

// The scoped enumerator LabelColumn::Index cannot clash with dladmm::Index, but GCC's -Wshadow
// still flags it.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
/// \brief Which field of each CSV row holds the label.
enum class LabelColumn {
  First,  ///< The first field.
  Last,   ///< The last field.
  Index   ///< The field at CsvOptions::label_index (0-based).
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/// \brief Options of read_csv().
struct CsvOptions {
  /// \brief Which field holds the label; every other field is a feature.
  LabelColumn label_column = LabelColumn::Last;
  /// \brief 0-based label field when label_column is LabelColumn::Index.
  Index label_index = 0;
  /// \brief Whether the first non-blank line is a header to skip.
  bool header = false;
  /// \brief Field separator (not a line break, digit, '.', '+' or '-').
  char delimiter = ',';
  /// \brief Number of classes; 0 means the largest label kept + 1 (then labels must be below
  ///        kCsvMaxInferredClasses).
  int num_classes = 0;
  /// \brief The data rows kept (all by default). Rows outside the part are not parsed (only the
  ///        first data row's layout is) and rows after it are not read; with more than one part
  ///        the file is read twice, first to count its data rows.
  SamplePart part;
};

/// \brief When CsvOptions::num_classes is 0, labels must be below this bound, so that a stray
///        huge label cannot make one_hot() allocate an absurd matrix. Set num_classes explicitly
///        to go beyond it.
inline constexpr int kCsvMaxInferredClasses = 1 << 16;

/// \brief Reads a numeric CSV file: one sample per row, one label column, every other column a
///        feature.
///
/// Accepted: LF or CRLF line endings, a missing or present final newline, a UTF-8 byte order
/// mark, blank lines (empty or only spaces/tabs; skipped anywhere), spaces or tabs around a
/// field. Numbers are parsed strictly (the whole field must be a number, e.g. "1", "-2.5e3",
/// "+.5"). Labels are non-negative integers; an integral decimal such as "3.0" is accepted.
/// Quoted fields are not supported. The header (when CsvOptions::header is set) is the first
/// non-blank line and is skipped without being parsed.
/// \tparam Scalar Floating-point type of the features.
/// \param path The file.
/// \param options Label column, header, delimiter and class count.
/// \return The data set: features x samples, with num_classes from the options or the largest
///         label + 1.
/// \throws std::invalid_argument if options.label_index < 0 (with LabelColumn::Index),
///         options.num_classes < 0, options.delimiter is unusable or options.part names no
///         slice.
/// \throws std::runtime_error, with a message naming the file and, for content errors, the line
///         (1-based) and column (1-based field position): cannot open (missing, directory, not
///         a regular file, unreadable), no data rows, a row with fewer than 2 fields, label_index
///         out of range, a ragged row, an empty or non-numeric field, a non-finite value, a
///         value out of range of Scalar, a label that is not a non-negative integer, a label
///         >= options.num_classes (or >= kCsvMaxInferredClasses when inferring), a read error.
template <typename Scalar>
Dataset<Scalar> read_csv(const std::string& path, const CsvOptions& options = {}) {
  const char delim = options.delimiter;
  if (delim == '\n' || delim == '\r' || delim == '\0' || (delim >= '0' && delim <= '9') ||
      delim == '.' || delim == '+' || delim == '-') {
    throw std::invalid_argument("read_csv: unusable delimiter (character code " +
                                std::to_string(static_cast<int>(delim)) + ")");
  }
  if (options.label_column == LabelColumn::Index && options.label_index < 0) {
    throw std::invalid_argument("read_csv: label_index must be non-negative, got " +
                                std::to_string(options.label_index));
  }
  if (options.num_classes < 0) {
    throw std::invalid_argument("read_csv: num_classes must be non-negative, got " +
                                std::to_string(options.num_classes));
  }
  (void)options.part.of(0);  // checks the part (slice_of's message)

  const std::string prefix = "read_csv: " + path + ": ";
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw std::runtime_error(prefix + "cannot open: no such file");
  }
  if (ec) throw std::runtime_error(prefix + "cannot open: " + ec.message());
  if (status.type() == fs::file_type::directory) {
    throw std::runtime_error(prefix + "cannot open: is a directory");
  }
  if (status.type() != fs::file_type::regular) {
    throw std::runtime_error(prefix + "cannot open: not a regular file");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw std::runtime_error(prefix +
                             "cannot open: " + (err != 0 ? std::strerror(err) : "unknown error"));
  }

  std::vector<Scalar> values;  // sample after sample: already the features x samples layout
  std::vector<int> labels;
  std::vector<std::string_view> fields;
  std::string line;
  long long line_no = 0;
  bool header_pending = options.header;
  Index expected_fields = -1;
  Index label_col = 0;
  int max_label = -1;

  // The data rows kept: counting them needs a first pass when the file is split into parts.
  SampleSlice keep{
      0, options.part.limit >= 0 ? options.part.limit : std::numeric_limits<Index>::max()};
  if (options.part.parts != 1) {
    Index rows = 0;
    bool header_left = options.header;
    for (long long number = 1; std::getline(in, line); ++number) {
      std::string_view text(line);
      if (number == 1 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
      if (header_left)
        header_left = false;
      else
        ++rows;
    }
    if (in.bad()) throw std::runtime_error(prefix + "read error");
    keep = options.part.of(rows);
    in.clear();
    in.seekg(0);
  }
  Index data_row = -1;  // index of the current data row

  auto where = [&](Index column) {
    return prefix + "line " + std::to_string(line_no) + ", column " + std::to_string(column + 1) +
           ": ";
  };

  while (std::getline(in, line)) {
    ++line_no;
    std::string_view text(line);
    if (line_no == 1 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    if (header_pending) {
      header_pending = false;
      continue;
    }
    ++data_row;
    const bool kept = data_row >= keep.first && data_row - keep.first < keep.count;
    if (!kept && expected_fields >= 0) {
      if (data_row >= keep.first) break;  // past the part: the rest is not read
      continue;
    }

    fields.clear();
    for (std::size_t start = 0;;) {
      const std::size_t stop = text.find(delim, start);
      if (stop == std::string_view::npos) {
        fields.push_back(text.substr(start));
        break;
      }
      fields.push_back(text.substr(start, stop - start));
      start = stop + 1;
    }
    const auto n_fields = static_cast<Index>(fields.size());

    if (expected_fields < 0) {  // first data row fixes the layout
      if (n_fields < 2) {
        throw std::runtime_error(prefix + "line " + std::to_string(line_no) + ": row has " +
                                 std::to_string(n_fields) +
                                 " field; need at least 2 (features and a label)");
      }
      switch (options.label_column) {
        case LabelColumn::First:
          label_col = 0;
          break;
        case LabelColumn::Last:
          label_col = n_fields - 1;
          break;
        case LabelColumn::Index:
          label_col = options.label_index;
          break;
      }
      if (label_col >= n_fields) {
        throw std::runtime_error(prefix + "line " + std::to_string(line_no) + ": label_index " +
                                 std::to_string(label_col) + " is out of range: row has " +
                                 std::to_string(n_fields) + " fields");
      }
      expected_fields = n_fields;
    } else if (n_fields != expected_fields) {
      throw std::runtime_error(prefix + "line " + std::to_string(line_no) + ": row has " +
                               std::to_string(n_fields) + " fields, expected " +
                               std::to_string(expected_fields));
    }

    if (!kept) continue;  // the layout came from this row; its values belong to another part
    for (Index c = 0; c < n_fields; ++c) {
      const std::string_view field = fields[static_cast<std::size_t>(c)];
      double value = 0.0;
      const detail::FieldParse result = detail::parse_field(field, value);
      if (c == label_col) {
        if (result != detail::FieldParse::Ok || value < 0.0 || value != std::floor(value) ||
            value > static_cast<double>(INT_MAX)) {
          throw std::runtime_error(where(c) + "label " + detail::quote_field(field) +
                                   " is not a non-negative integer");
        }
        const int label = static_cast<int>(value);
        if (options.num_classes > 0 && label >= options.num_classes) {
          throw std::runtime_error(where(c) + "label " + std::to_string(label) +
                                   " is out of range [0, " + std::to_string(options.num_classes) +
                                   ")");
        }
        if (options.num_classes == 0 && label >= kCsvMaxInferredClasses) {
          throw std::runtime_error(where(c) + "label " + std::to_string(label) +
                                   " is too large to infer num_classes (limit " +
                                   std::to_string(kCsvMaxInferredClasses - 1) +
                                   "; set CsvOptions::num_classes)");
        }
        labels.push_back(label);
        if (label > max_label) max_label = label;
        continue;
      }
      switch (result) {
        case detail::FieldParse::Ok:
          break;
        case detail::FieldParse::Empty:
          throw std::runtime_error(where(c) + "empty field");
        case detail::FieldParse::NotNumeric:
          throw std::runtime_error(where(c) + "non-numeric field " + detail::quote_field(field));
        case detail::FieldParse::NonFinite:
          throw std::runtime_error(where(c) + "non-finite value " + detail::quote_field(field));
        case detail::FieldParse::OutOfRange:
          throw std::runtime_error(where(c) + "value " + detail::quote_field(field) +
                                   " is out of range");
      }
      const auto scalar = static_cast<Scalar>(value);
      if (!std::isfinite(scalar)) {
        throw std::runtime_error(where(c) + "value " + detail::quote_field(field) +
                                 " is out of range of the scalar type");
      }
      values.push_back(scalar);
    }
  }
  if (in.bad()) throw std::runtime_error(prefix + "read error");
  if (labels.empty() && data_row < 0) throw std::runtime_error(prefix + "no data rows");
  if (labels.empty())
    throw std::runtime_error(prefix + "no data rows in part " + std::to_string(options.part.part) +
                             " of " + std::to_string(options.part.parts) + " (the file has " +
                             std::to_string(data_row + 1) + ")");

  Dataset<Scalar> data;
  const Index n = static_cast<Index>(labels.size());
  const Index features = expected_fields - 1;
  data.x = Eigen::Map<const Matrix<Scalar>>(values.data(), features, n);
  std::vector<Scalar>().swap(values);
  data.labels = Eigen::Map<const Labels>(labels.data(), n);
  data.num_classes = options.num_classes > 0 ? options.num_classes : max_label + 1;
  return data;
}

}  // namespace dladmm
