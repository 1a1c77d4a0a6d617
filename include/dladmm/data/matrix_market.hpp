/// \file matrix_market.hpp
/// \brief Reader of Matrix Market coordinate files (real, integer or pattern; general or
/// symmetric), raw or gzip-compressed, into an Eigen sparse matrix.
///
/// A file starts with the banner `%%MatrixMarket matrix coordinate FIELD SYMMETRY` (FIELD one of
/// real, integer, pattern; SYMMETRY general or symmetric; the words are case-insensitive), then
/// optional comment lines starting with '%', then the size line `rows cols entries`, then one
/// line per entry: `i j value` (1-based indices), or `i j` for a pattern matrix, whose entries are
/// 1. A symmetric matrix is square and stores its lower triangle (i >= j); the reader mirrors it.
/// Blank lines and comment lines are skipped anywhere after the banner; LF and CRLF line endings
/// are accepted, fields are separated by spaces or tabs.
///
/// The reader is strict, and every error is a std::runtime_error whose one-line message names
/// the calling function, the file, the line and the problem: a missing or malformed banner, the
/// array (dense) format, a complex or hermitian or skew-symmetric matrix, a malformed or
/// non-positive size line, a size beyond kMatrixMarketMaxDimension, an entry with too few or too
/// many fields, an index that is not an integer or lies outside [1, rows] or [1, cols], a value
/// that is not a number (or, in an integer matrix, not an integer), a NaN or infinite value or
/// one beyond the range of the scalar type, an entry above the diagonal of a symmetric matrix,
/// a repeated entry of a real or integer matrix (a pattern matrix merges repeats), fewer or
/// more entries than the size line declares. Entries are stored as they are read (at most
/// 65,536 are reserved ahead, whatever the size line declares), so a small file that declares
/// 10^12 entries fails with a truncation error and allocates nothing large.
#pragma once

#include <Eigen/SparseCore>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/gz_reader.hpp"
#include "../detail/text.hpp"

namespace dladmm {

/// \brief The type of the values of a Matrix Market coordinate file.
enum class MatrixMarketField {
  Real,     ///< `real`: floating-point values.
  Integer,  ///< `integer`: integer values.
  Pattern   ///< `pattern`: no values; every stored entry is 1.
};

/// \brief The symmetry of a Matrix Market coordinate file.
enum class MatrixMarketSymmetry {
  General,   ///< `general`: every entry is stored.
  Symmetric  ///< `symmetric`: square; the lower triangle (row >= column) is stored.
};

/// \brief The banner and size line of a Matrix Market coordinate file.
struct MatrixMarketHeader {
  /// \brief The type of the values.
  MatrixMarketField field = MatrixMarketField::Real;
  /// \brief Whether only the lower triangle is stored.
  MatrixMarketSymmetry symmetry = MatrixMarketSymmetry::General;
  /// \brief Number of rows (at least 1).
  Index rows = 0;
  /// \brief Number of columns (at least 1).
  Index cols = 0;
  /// \brief Number of entry lines the size line declares (not yet checked against the file).
  long long entries = 0;

  /// \brief The banner's words, e.g. "coordinate pattern symmetric", for messages.
  /// \return The format, field and symmetry.
  std::string format() const {
    const char* f = field == MatrixMarketField::Real      ? "real"
                    : field == MatrixMarketField::Integer ? "integer"
                                                          : "pattern";
    return std::string("coordinate ") + f +
           (symmetry == MatrixMarketSymmetry::General ? " general" : " symmetric");
  }
};

/// \brief Largest number of rows and of columns accepted (2^24 = 16,777,216), so that a size line
///        alone cannot make the reader allocate a huge matrix: a column-major
///        Eigen::SparseMatrix holds an index per column whatever its entries (64 MiB at the
///        limit).
inline constexpr Index kMatrixMarketMaxDimension = Index{1} << 24;

/// \brief Largest number of entry lines read (2^30 - 1), so that the entries of a symmetric
///        matrix and their mirror images fit Eigen's int indices.
inline constexpr long long kMatrixMarketMaxEntries = (1LL << 30) - 1;

/// \brief Reads a Matrix Market coordinate file in two steps: the constructor reads the banner
///        and the size line, so the caller can check the shape before read() reads the entries.
class MatrixMarketReader {
 public:
  /// \brief Opens the file and reads its banner, comments and size line.
  /// \param path The file, raw or gzip-compressed.
  /// \param where Name of the calling function, the prefix of every error message.
  /// \throws std::runtime_error if the file cannot be opened (missing, directory, not a regular
  ///         file, unreadable), is empty, or its banner or size line is missing or malformed (see
  ///         the file's description). The message names where, the file and the line.
  explicit MatrixMarketReader(const std::string& path, const char* where = "read_matrix_market")
      : in_(where, path) {
    read_banner();
    read_size_line();
  }

  /// \brief The banner and size line.
  /// \return The header.
  const MatrixMarketHeader& header() const { return header_; }

  /// \brief Reads the entries (once) into a sparse matrix: a symmetric matrix mirrored, a
  ///        pattern matrix with value 1 and repeated entries merged.
  /// \tparam Scalar Floating-point type of the values.
  /// \return The header's rows x cols matrix, compressed.
  /// \throws std::logic_error if called twice.
  /// \throws std::runtime_error on a malformed entry, a repeated entry of a real or integer
  ///         matrix, or fewer or more entries than the size line declares (see the file's
  ///         description). The message names where, the file and, for one entry, the line.
  template <typename Scalar>
  Eigen::SparseMatrix<Scalar> read() {
    if (entries_read_) throw std::logic_error("MatrixMarketReader::read called twice");
    entries_read_ = true;
    using Triplet = Eigen::Triplet<Scalar, typename Eigen::SparseMatrix<Scalar>::StorageIndex>;
    std::vector<Triplet> entries;
    // Never the declared count: the file may hold far fewer entries than it says.
    entries.reserve(static_cast<std::size_t>(std::min(header_.entries, 1LL << 16)));
    const bool pattern = header_.field == MatrixMarketField::Pattern;
    const std::size_t fields = pattern ? 2 : 3;
    std::string_view line;
    std::string_view tokens[4];
    long long count = 0;
    while (in_.next(line)) {
      if (skippable(line)) continue;
      if (count == header_.entries) {
        in_.fail_line("more entries than the " + std::to_string(header_.entries) +
                      " the size line declares");
      }
      if (count == kMatrixMarketMaxEntries) {
        in_.fail_line("more than " + std::to_string(kMatrixMarketMaxEntries) +
                      " entries, the limit of this reader");
      }
      const std::size_t n = detail::split_blanks(line, tokens, fields + 1);
      if (n < fields) {
        in_.fail_line(std::to_string(n) + (n == 1 ? " field" : " fields") + ", expected " +
                      std::to_string(fields) + (pattern ? " (row column)" : " (row column value)"));
      }
      if (n > fields) {
        in_.fail_line("unexpected " + detail::quote_field(tokens[fields]) + " after the entry (" +
                      std::to_string(fields) + " fields expected)");
      }
      const Index i = index(tokens[0], "row", header_.rows);
      const Index j = index(tokens[1], "column", header_.cols);
      if (header_.symmetry == MatrixMarketSymmetry::Symmetric && j > i) {
        in_.fail_line("entry (" + std::to_string(i) + ", " + std::to_string(j) +
                      ") lies above the diagonal; a symmetric file stores the lower triangle "
                      "(row >= column)");
      }
      const Scalar v = pattern ? Scalar(1) : parse_value<Scalar>(tokens[2]);
      entries.emplace_back(i - 1, j - 1, v);
      ++count;
    }
    if (count < header_.entries) {
      in_.fail("truncated: the size line declares " + std::to_string(header_.entries) +
               " entries, the file holds " + std::to_string(count));
    }
    return assemble<Scalar>(std::move(entries));
  }

  /// \brief Throws std::runtime_error naming the calling function, the file and the message.
  /// \param message What went wrong.
  /// \throws std::runtime_error always.
  [[noreturn]] void fail(const std::string& message) const { in_.fail(message); }

 private:
  // Blank lines and comments are skipped after the banner.
  static bool skippable(std::string_view line) {
    const std::string_view text = detail::trim_blanks(line);
    return text.empty() || text.front() == '%';
  }

  static bool equal_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
      if (std::tolower(static_cast<unsigned char>(a[k])) !=
          std::tolower(static_cast<unsigned char>(b[k]))) {
        return false;
      }
    }
    return true;
  }

  void read_banner() {
    std::string_view line;
    if (!in_.next(line)) in_.fail("empty file");
    constexpr std::string_view kBanner = "%%MatrixMarket";
    std::string_view tokens[6];
    const std::size_t n = detail::split_blanks(line, tokens, 6);
    if (n == 0 || !equal_nocase(tokens[0], kBanner)) {
      in_.fail_line(
          "missing banner: a Matrix Market file starts with '%%MatrixMarket matrix "
          "coordinate real|integer|pattern general|symmetric'");
    }
    if (n != 5) {
      in_.fail_line("malformed banner: " + std::to_string(n - 1) +
                    " words after %%MatrixMarket, expected 4 (matrix coordinate FIELD SYMMETRY)");
    }
    if (!equal_nocase(tokens[1], "matrix")) {
      in_.fail_line("unsupported object " + detail::quote_field(tokens[1]) +
                    "; only 'matrix' is read");
    }
    if (equal_nocase(tokens[2], "array")) {
      in_.fail_line("the array (dense) format is not supported; only 'coordinate' is read");
    }
    if (!equal_nocase(tokens[2], "coordinate")) {
      in_.fail_line("unknown format " + detail::quote_field(tokens[2]) + "; expected 'coordinate'");
    }
    if (equal_nocase(tokens[3], "real")) {
      header_.field = MatrixMarketField::Real;
    } else if (equal_nocase(tokens[3], "integer")) {
      header_.field = MatrixMarketField::Integer;
    } else if (equal_nocase(tokens[3], "pattern")) {
      header_.field = MatrixMarketField::Pattern;
    } else if (equal_nocase(tokens[3], "complex")) {
      in_.fail_line("complex matrices are not supported; expected real, integer or pattern");
    } else {
      in_.fail_line("unknown field " + detail::quote_field(tokens[3]) +
                    "; expected real, integer or pattern");
    }
    if (equal_nocase(tokens[4], "general")) {
      header_.symmetry = MatrixMarketSymmetry::General;
    } else if (equal_nocase(tokens[4], "symmetric")) {
      header_.symmetry = MatrixMarketSymmetry::Symmetric;
    } else if (equal_nocase(tokens[4], "skew-symmetric") || equal_nocase(tokens[4], "hermitian")) {
      in_.fail_line(detail::quote_field(tokens[4]) +
                    " matrices are not supported; expected general or symmetric");
    } else {
      in_.fail_line("unknown symmetry " + detail::quote_field(tokens[4]) +
                    "; expected general or symmetric");
    }
  }

  void read_size_line() {
    std::string_view line;
    bool found = false;
    while (in_.next(line)) {
      if (!skippable(line)) {
        found = true;
        break;
      }
    }
    if (!found) in_.fail("missing size line (rows columns entries) after the banner");
    std::string_view tokens[4];
    const std::size_t n = detail::split_blanks(line, tokens, 4);
    if (n != 3) {
      in_.fail_line("malformed size line: " + std::to_string(n) + (n == 1 ? " field" : " fields") +
                    ", expected 3 (rows columns entries)");
    }
    header_.rows = dimension(tokens[0], "rows");
    header_.cols = dimension(tokens[1], "columns");
    long long entries = 0;
    const detail::IntegerParse parsed = detail::parse_integer(tokens[2], entries);
    if (parsed == detail::IntegerParse::NotInteger || tokens[2].front() == '-') {
      in_.fail_line("malformed size line: entries " + detail::quote_field(tokens[2]) +
                    " is not a non-negative integer");
    }
    if (parsed == detail::IntegerParse::OutOfRange) {
      in_.fail_line("malformed size line: entries " + detail::quote_field(tokens[2]) +
                    " is out of range");
    }
    header_.entries = entries;
    if (header_.symmetry == MatrixMarketSymmetry::Symmetric && header_.rows != header_.cols) {
      in_.fail_line("a symmetric matrix must be square, the size line says " +
                    std::to_string(header_.rows) + " x " + std::to_string(header_.cols));
    }
  }

  Index dimension(std::string_view token, const char* what) {
    long long value = 0;
    const detail::IntegerParse parsed = detail::parse_integer(token, value);
    if (parsed == detail::IntegerParse::NotInteger || token.front() == '-' ||
        (parsed == detail::IntegerParse::Ok && value == 0)) {
      in_.fail_line(std::string("malformed size line: ") + what + " " + detail::quote_field(token) +
                    " is not a positive integer");
    }
    if (parsed == detail::IntegerParse::OutOfRange || value > kMatrixMarketMaxDimension) {
      in_.fail_line(std::string("size line: ") + what + " " + detail::quote_field(token) +
                    " exceeds the limit of " + std::to_string(kMatrixMarketMaxDimension));
    }
    return static_cast<Index>(value);
  }

  Index index(std::string_view token, const char* what, Index bound) {
    long long value = 0;
    const detail::IntegerParse parsed = detail::parse_integer(token, value);
    if (parsed == detail::IntegerParse::NotInteger) {
      in_.fail_line(std::string(what) + " index " + detail::quote_field(token) +
                    " is not an integer");
    }
    if (parsed == detail::IntegerParse::OutOfRange || value < 1 || value > bound) {
      in_.fail_line(std::string(what) + " index " + detail::quote_field(token) +
                    " is out of range [1, " + std::to_string(bound) + "] (indices are 1-based)");
    }
    return static_cast<Index>(value);
  }

  template <typename Scalar>
  Scalar parse_value(std::string_view token) {
    double number = 0.0;
    if (header_.field == MatrixMarketField::Integer) {
      long long integer = 0;
      const detail::IntegerParse parsed = detail::parse_integer(token, integer);
      if (parsed == detail::IntegerParse::NotInteger) {
        in_.fail_line("value " + detail::quote_field(token) +
                      " is not an integer (the banner says integer)");
      }
      if (parsed == detail::IntegerParse::OutOfRange) {
        in_.fail_line("value " + detail::quote_field(token) + " is out of range");
      }
      number = static_cast<double>(integer);
    } else {
      switch (detail::parse_field(token, number)) {
        case detail::FieldParse::Ok:
          break;
        case detail::FieldParse::Empty:
        case detail::FieldParse::NotNumeric:
          in_.fail_line("value " + detail::quote_field(token) + " is not a number");
        case detail::FieldParse::NonFinite:
          in_.fail_line("value " + detail::quote_field(token) + " is not finite");
        case detail::FieldParse::OutOfRange:
          in_.fail_line("value " + detail::quote_field(token) + " is out of range");
      }
    }
    const auto scalar = static_cast<Scalar>(number);
    if (!std::isfinite(scalar)) {
      in_.fail_line("value " + detail::quote_field(token) + " is out of range of the scalar type");
    }
    return scalar;
  }

  // Sorts the entries, merges (pattern) or refuses (real, integer) repeats, mirrors a symmetric
  // matrix and fills the compressed column storage directly: one pass over the columns, so
  // that a matrix with many columns and few entries costs little beyond its column index.
  template <typename Scalar, typename Triplet>
  Eigen::SparseMatrix<Scalar> assemble(std::vector<Triplet> entries) {
    auto before = [](const Triplet& a, const Triplet& b) {
      return a.col() != b.col() ? a.col() < b.col() : a.row() < b.row();
    };
    auto same = [](const Triplet& a, const Triplet& b) {
      return a.col() == b.col() && a.row() == b.row();
    };
    std::sort(entries.begin(), entries.end(), before);
    const auto repeat = std::adjacent_find(entries.begin(), entries.end(), same);
    if (repeat != entries.end()) {
      if (header_.field != MatrixMarketField::Pattern) {
        in_.fail("entry (" + std::to_string(repeat->row() + 1) + ", " +
                 std::to_string(repeat->col() + 1) + ") is given more than once");
      }
      entries.erase(std::unique(entries.begin(), entries.end(), same), entries.end());
    }
    if (header_.symmetry == MatrixMarketSymmetry::Symmetric) {
      const std::size_t stored = entries.size();
      for (std::size_t k = 0; k < stored; ++k) {
        const Triplet t = entries[k];
        if (t.row() != t.col()) entries.emplace_back(t.col(), t.row(), t.value());
      }
      std::sort(entries.begin(), entries.end(), before);
    }
    Eigen::SparseMatrix<Scalar> matrix(header_.rows, header_.cols);  // compressed, empty
    matrix.resizeNonZeros(static_cast<Index>(entries.size()));
    auto* outer = matrix.outerIndexPtr();  // cols + 1 entries, all 0
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const Triplet& t = entries[k];
      ++outer[t.col() + 1];
      matrix.innerIndexPtr()[k] = t.row();
      matrix.valuePtr()[k] = t.value();
    }
    for (Index j = 0; j < header_.cols; ++j) outer[j + 1] += outer[j];
    return matrix;
  }

  detail::GzLineReader in_;
  MatrixMarketHeader header_;
  bool entries_read_ = false;
};

/// \brief Reads a Matrix Market coordinate file (see the description of matrix_market.hpp).
/// \tparam Scalar Floating-point type of the values.
/// \param path The file, raw or gzip-compressed.
/// \param header If not null, receives the banner and size line.
/// \return The rows x cols sparse matrix: symmetric files mirrored, pattern entries 1.
/// \throws std::runtime_error as MatrixMarketReader's constructor and read(): the message names
///         the function read_matrix_market, the file and the problem.
template <typename Scalar>
Eigen::SparseMatrix<Scalar> read_matrix_market(const std::string& path,
                                               MatrixMarketHeader* header = nullptr) {
  MatrixMarketReader reader(path);
  if (header != nullptr) *header = reader.header();
  return reader.read<Scalar>();
}

}  // namespace dladmm
